"""The contract document, typed events and the `auroraview` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from auroraview import Commands, InvokeException
from auroraview.cli import main
from auroraview.contract import CONTRACT_VERSION, build_contract
from auroraview.testing import TestClient

HERE = Path(__file__).parent


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auroraview", *args], capture_output=True, text=True, cwd=HERE, timeout=60)


def test_contract_describes_commands_events_and_errors() -> None:
    from contract_app.api import commands

    c = build_contract(commands)
    assert c["protocol_version"] == 1 and c["contract_version"] == CONTRACT_VERSION == 5
    [rename] = c["commands"]
    assert rename["name"] == "rename" and rename["doc"] == "Rename a node." and rename["errors"] == ["NameTaken"]
    params = rename["params"]
    assert params["required"] == ["node_id", "new_name"] and params["additionalProperties"] is False
    assert params["properties"]["when"]["anyOf"][0] == {"type": "string", "format": "date-time"}
    assert rename["result"] == {"$ref": "#/$defs/Node"}
    node = c["$defs"]["Node"]
    assert node["description"] == "A scene node." and node["properties"]["name"]["description"] == "Unique in the scene"
    assert node["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}  # recursive
    events = {e["name"]: e for e in c["events"]}
    assert events["selection_changed"]["direction"] == "to_page"
    assert events["selection_changed"]["payload"] == {"$ref": "#/$defs/Selection"}
    assert events["export_scene"]["direction"] == "to_host" and events["export_scene"]["payload"] == {"type": "string"}
    [err] = c["errors"]
    assert err["name"] == "NameTaken" and err["code"] == "name_taken" and err["data"] == {"$ref": "#/$defs/FieldError"}
    assert json.dumps(build_contract(commands)) == json.dumps(c)  # deterministic


class Update(BaseModel):
    node: str
    visible: bool = True


def test_contract_lists_topics_sorted_with_both_shapes_and_what_clients_may_do() -> None:
    from auroraview import Rule

    commands = Commands()

    @commands.command()
    def get(u: Update) -> Update:
        return u

    before = build_contract(commands)["$defs"]
    commands.topic("scene/updates", Update, publish=Rule(transports=("network",)), doc="Changes.")
    commands.topic("audit", int, subscribe=False, publish=False)
    c = build_contract(commands)
    assert [t["name"] for t in c["topics"]] == ["audit", "scene/updates"]
    audit, scene = c["topics"]
    assert audit == {
        "name": "audit",
        "doc": None,
        "payload": {"type": "integer"},
        "publish_payload": {"type": "integer"},
        "subscribe": False,
        "publish": False,
    }
    assert scene["payload"] == {"$ref": "#/$defs/Update"} and scene["publish_payload"] == {"$ref": "#/$defs/UpdateInput"}
    assert scene["subscribe"] is True and scene["publish"] is True and scene["doc"] == "Changes."
    assert c["$defs"]["Update"]["required"] == ["node", "visible"]  # what subscribers receive: always present
    assert c["$defs"]["UpdateInput"]["required"] == ["node"]  # what a publish must have
    assert {k: v for k, v in c["$defs"].items() if k in before} == before  # no type renamed
    assert build_contract(Commands())["topics"] == []


def test_emit_checks_declared_payloads() -> None:
    class Sel(BaseModel):
        ids: list[int]

    commands = Commands()
    commands.declare_event("sel", Sel)
    commands.emit("sel", Sel(ids=[1]))
    commands.emit("sel", {"ids": [2]})  # validated into a Sel
    with pytest.raises(ValidationError):
        commands.emit("sel", {"ids": "nope"})
    with pytest.raises(ValueError, match="already declared"):
        commands.declare_event("sel", Sel, direction="to_host")


async def test_declared_error_code_and_data_reach_the_caller() -> None:
    from contract_app.api import commands

    async with TestClient(commands) as client:
        with pytest.raises(Exception) as info:
            await client.call("rename", {"node_id": 1, "new_name": "x"})
    assert (info.value.name, info.value.code, info.value.data) == ("NameTaken", "name_taken", {"field": "new_name"})  # type: ignore[attr-defined]


def test_errors_must_be_invoke_exceptions() -> None:
    commands = Commands()
    with pytest.raises(TypeError, match="InvokeException subclasses"):
        commands.add(lambda: None, "x", errors=[ValueError])
    assert InvokeException("m").code == "handler_error"


def test_cli_prints_the_contract_for_a_registry_or_a_webview() -> None:
    for target in ("contract_app.api:commands", "contract_app.api:view"):
        proc = run_cli("schema", target)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["commands"][0]["name"] == "rename"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nope.module:x", "cannot import module 'nope.module'"),
        ("contract_app.api:missing", "has no attribute 'missing'"),
        ("contract_app.api:not_a_registry", "is a int, not an auroraview App, Commands registry or WebView"),
        ("contract_app.api", "expected MODULE:OBJECT"),
    ],
)
def test_cli_errors_say_what_and_where(target: str, message: str) -> None:
    proc = run_cli("schema", target)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_console_script_entry_point(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    assert main(["schema", "contract_app.api:commands"]) == 0
    assert '"name": "rename"' in capsys.readouterr().out
