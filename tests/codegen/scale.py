"""A large registry for the scale check: 100 commands over 1,200 models (2,400 shapes: each
has defaults, so input and output differ), with the features real API models use: field
descriptions, open enums, discriminated unions, models nested several levels deep.

    python tests/codegen/measure_scale.py    # generator time, tsc --strict time
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, Field, create_model

from auroraview import Commands

commands = Commands()
MODELS: list[type[BaseModel]] = []
PER_COMMAND = 12

for i in range(1200):
    fields: dict[str, Any] = {
        "id": (int, ...),
        "kind": (Literal[f"k{i}"], f"k{i}"),
        "name": (str, Field("", description=f"The name of item {i}.")),
        "tags": (list[str], []),
        "size": (Optional[Union[str, Literal["small", "medium", "large"]]], None),
        "meta": (dict[str, Union[int, str]], {}),
    }
    if i >= 10:
        fields["parent"] = (Optional[MODELS[i // 10]], None)
        fields["children"] = (list[MODELS[i // 10 + 1]], [])
    MODELS.append(create_model(f"Model{i}", __module__=f"scale.group{i % 7}", **fields))

for j in range(100):
    group = MODELS[j * PER_COMMAND : (j + 1) * PER_COMMAND]
    event = Annotated[Union[tuple(group)], Field(discriminator="kind")]  # type: ignore[valid-type]

    async def handler(item: Any, cursor: Optional[str] = None) -> Any:
        return []

    handler.__annotations__ = {"item": group[0], "cursor": Optional[str], "return": list[event]}
    commands.add(handler, f"group{j}.list_items")
