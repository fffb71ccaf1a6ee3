"""Registration: introspection happens at decoration time, and mistakes are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from auroraview import Commands, WebView


def test_missing_annotation_is_a_type_error_naming_function_and_parameter() -> None:
    commands = Commands()
    with pytest.raises(TypeError) as info:

        @commands.command()
        async def rename(old_name: str, new_name) -> None:  # type: ignore[no-untyped-def]
            ...

    message = str(info.value)
    assert "rename" in message and "'new_name'" in message and "no type annotation" in message
    assert "rename" not in commands


def test_var_args_are_refused() -> None:
    commands = Commands()
    with pytest.raises(TypeError, match=r"\*args/\*\*kwargs"):
        commands.add(lambda *items: None, "f")


def test_string_annotations_are_resolved() -> None:
    # This module uses `from __future__ import annotations`: every annotation is a string.
    commands = Commands()

    @commands.command()
    def f(a: int, b: list[str] | None = None) -> dict[str, int]:
        return {}

    cmd = commands.get("f")
    assert cmd is not None
    assert cmd.validator.validate_json(b'{"a":"3"}') == ((), {"a": 3, "b": None})


def test_unresolvable_annotation_is_a_clear_type_error() -> None:
    commands = Commands()
    with pytest.raises(TypeError, match=r"cannot resolve its type annotations.*NoSuchType"):

        @commands.command()
        def f(a: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
            ...


class Opaque:
    """Not something pydantic knows how to validate."""


def test_unsupported_type_is_a_type_error_at_registration() -> None:
    commands = Commands()
    with pytest.raises(TypeError, match=r"test_registry\.test_unsupported.*g: its signature cannot be turned into a pydantic schema"):

        @commands.command()
        def g(x: Opaque) -> None: ...


def test_wire_names_default_to_the_function_name_or_are_chosen() -> None:
    commands = Commands()

    @commands.command()
    async def plain() -> None: ...

    @commands.command("api.custom")
    async def other() -> None: ...

    @commands.command
    def bare() -> None: ...

    assert {c.name for c in commands} == {"plain", "api.custom", "bare"}
    assert commands.get("api.custom").is_async  # type: ignore[union-attr]
    assert not commands.get("bare").is_async  # type: ignore[union-attr]


def test_duplicate_and_invalid_names_are_refused() -> None:
    commands = Commands()
    commands.add(lambda: None, "x")
    with pytest.raises(ValueError, match="already registered"):
        commands.add(lambda: None, "x")
    for bad in ["", "x" * 300, "é" * 129, 5]:
        with pytest.raises(ValueError, match="non-empty string"):
            commands.add(lambda: None, bad)  # type: ignore[arg-type]


def test_bind_call_as_decorator_and_direct() -> None:
    view = WebView(title="t")

    @view.bind_call("api.get_hierarchy")
    def get_hierarchy(root: str | None = None) -> dict[str, object]:
        return {"children": [], "root": root}

    def rename(old: str, new: str) -> bool:
        return True

    assert view.bind_call("api.rename", rename) is rename
    assert {c.name for c in view.commands} == {"api.get_hierarchy", "api.rename"}


def test_bind_api_exposes_public_methods_only() -> None:
    class MyAPI:
        def get_data(self) -> dict[str, list[int]]:
            return {"items": [1, 2, 3]}

        def save_file(self, path: str = "", content: str = "") -> dict[str, object]:
            return {"ok": True, "path": path}

        def _private(self) -> None: ...

        @staticmethod
        def helper(x: int) -> int:
            return x

        value = 3

    commands = Commands()
    names = commands.bind_api(MyAPI(), namespace="api")
    assert names == ["api.get_data", "api.helper", "api.save_file"]
    with pytest.raises(ValueError, match="no public methods"):
        commands.bind_api(object(), namespace="empty")


def test_event_handlers_take_at_most_one_parameter() -> None:
    commands = Commands()
    with pytest.raises(TypeError, match="at most one positional parameter"):

        @commands.on("e")
        def two(a: int, b: int) -> None: ...

    @commands.on("e")
    def unannotated(detail):  # type: ignore[no-untyped-def]
        ...

    @commands.on("e")
    async def none() -> None: ...

    assert len(commands.handlers("e")) == 2


def test_timeout_must_be_positive() -> None:
    commands = Commands()
    with pytest.raises(ValueError, match="timeout"):
        commands.add(lambda: None, "t", timeout=0)


def test_webview_rejects_url_and_html_together() -> None:
    with pytest.raises(ValueError, match="either url=, html= or assets="):
        WebView(url="http://x", html="<p>")
    with pytest.raises(ValueError, match="is not a folder"):
        WebView(assets="/definitely/not/a/folder")


def test_a_window_registers_commands_with_every_argument_commands_takes() -> None:
    view = WebView("t", html="<p></p>")

    @view.command("window.ping", timeout=1.0, transports=["window"], origins=["auroraview://localhost"])
    def ping(count: int) -> int:
        return count

    assert ping(3) == 3  # the function itself, unchanged
    cmd = view.commands.get("window.ping")
    assert cmd is not None and cmd.transports == ("window",) and cmd.origins == ("auroraview://localhost",)


async def test_an_assets_folder_without_index_html_is_a_clear_error_when_the_window_opens(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("")
    view = WebView("t", assets=tmp_path)  # made at import, before a build: no error yet
    with pytest.raises(FileNotFoundError) as info:
        view.show()
    with pytest.raises(FileNotFoundError):
        await view.run_async()
    message = str(info.value)
    assert str(tmp_path) in message and "no index.html" in message and "npm run build" in message
    (tmp_path / "index.html").write_text("<p></p>")
    view._check_can_open()  # pyright: ignore[reportPrivateUsage]  # the check passes once it is there
