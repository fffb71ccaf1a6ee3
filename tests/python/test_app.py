"""One app per registry: its router and runtime are shared by every transport; connection
identity; event targets; the one rule for events emitted before anyone is connected; and
the API fixes found by trying the project as a new user would."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from auroraview import App, AuroraViewError, Commands, InvokeError, InvokeException, WebView
from auroraview.testing import TestClient


def registry() -> Commands:
    commands = Commands()

    @commands.command()
    async def ping() -> str:
        return "pong"

    return commands


def test_a_registry_has_exactly_one_app() -> None:
    commands = registry()
    app = commands.app
    assert commands.app is app and app.commands is commands
    with pytest.raises(ValueError, match="already has an App"):
        App(commands)
    explicit = App(registry(), spin_us=0)
    assert explicit.commands.app is explicit


async def test_clients_of_one_registry_share_one_router_and_runtime() -> None:
    commands = registry()
    async with TestClient(commands) as a, TestClient(commands.app) as b:
        assert a.app is b.app is commands.app
        assert a.runtime is b.runtime
        assert a.connection != b.connection
        ids = [c["id"] for c in commands.app.connections()]
        assert ids == sorted([a.connection, b.connection])
        info = commands.app.connection_info(a.connection)
        assert info == {"id": a.connection, "transport": "in_process", "window": None, "origin": None, "peer": None}
    assert commands.app.runtime is None, "the last transport to leave stops the runtime"
    assert commands.app.connections() == []


async def test_the_runtime_restarts_on_the_next_loop() -> None:
    commands = registry()
    async with TestClient(commands) as client:
        assert await client.call("ping") == "pong"

    def in_another_loop() -> Any:
        async def go() -> Any:
            async with TestClient(commands) as client:
                return await client.call("ping")

        return asyncio.run(go())

    assert await asyncio.to_thread(in_another_loop) == "pong"


async def test_events_emitted_before_anyone_connects_wait_for_the_first_connection() -> None:
    commands = registry()
    for i in range(3):
        assert commands.emit("early", i) == 0
    async with TestClient(commands) as first, TestClient(commands) as second:
        assert [e.payload for e in first.events] == [0, 1, 2]
        assert second.events == [], "held events go to the first connection only"
        assert commands.emit("later", 9) == 2


async def test_past_the_bound_held_events_are_dropped_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    app = App(registry(), limits={"max_backlog_events": 2})
    with caplog.at_level(logging.WARNING, logger="auroraview"):
        for i in range(5):
            app.emit("early", i)
    warnings = [r for r in caplog.records if "max_backlog_events" in r.getMessage()]
    assert len(warnings) == 1
    assert app.stats()["held_dropped"] == 3
    async with TestClient(app) as client:
        assert [e.payload for e in client.events] == [3, 4]


async def test_event_targets() -> None:
    commands = registry()
    view = WebView("panel", label="panel", commands=commands)
    async with TestClient(commands) as plain, TestClient(view) as page:
        assert commands.app.connection_info(page.connection)["window"] == "panel"  # type: ignore[index]
        assert commands.app.emit("all", 1) == 2
        assert commands.app.emit("one", 2, to=plain.connection) == 1
        assert commands.app.emit("window", 3, to=view) == 1
        view.emit("window", 4)
        assert commands.app.emit("transport", 5, to=("transport", "in_process")) == 2
        assert commands.app.emit("gone", 6, to=10_000) == 0
        assert [(e.name, e.payload) for e in plain.events] == [("all", 1), ("one", 2), ("transport", 5)]
        assert [(e.name, e.payload) for e in page.events] == [("all", 1), ("window", 3), ("window", 4), ("transport", 5)]
        assert commands.app.stats()["events_unrouted"] == 1
        with pytest.raises(ValueError, match="unknown transport"):
            commands.app.emit("x", to=("transport", "pigeon"))
        with pytest.raises(TypeError, match="event target"):
            commands.app.emit("x", to=object())  # type: ignore[arg-type]


async def test_a_handler_can_learn_who_called_from_the_connection() -> None:
    commands = Commands()
    app = App(commands)

    @commands.command()
    async def whoami() -> str:
        # The call context (issue: streams) will hand handlers their connection; until then
        # the identity is there for every connection the app knows.
        return ",".join(sorted(str(c["transport"]) for c in app.connections()))

    async with TestClient(app) as client:
        assert await client.call("whoami") == "in_process"


def test_bind_api_is_all_or_nothing_and_never_evaluates_properties() -> None:
    commands = Commands()
    evaluated: list[str] = []

    class Tools:
        @property
        def expensive(self) -> int:
            evaluated.append("expensive")
            raise RuntimeError("a property getter must not run")

        def ok(self, x: int) -> int:
            return x

        def broken(self, *args: Any) -> None:  # *args cannot become a command
            pass

    with pytest.raises(TypeError, match="broken"):
        commands.bind_api(Tools(), namespace="tools")
    assert len(commands) == 0, "nothing registered when one method fails"
    assert evaluated == []

    class Good:
        @property
        def expensive(self) -> int:
            evaluated.append("expensive")
            raise RuntimeError("a property getter must not run")

        def ok(self, x: int) -> int:
            return x

        @staticmethod
        def static(x: int) -> int:
            return -x

    assert commands.bind_api(Good(), namespace="tools") == ["tools.ok", "tools.static"]
    assert evaluated == []
    with pytest.raises(ValueError, match="already registered"):
        commands.bind_api(Good(), namespace="tools")
    assert len(commands) == 2


async def test_on_works_as_a_call_and_as_a_decorator() -> None:
    commands = Commands()
    view = WebView("t", commands=commands)
    got: list[Any] = []

    def handler(detail: int) -> None:
        got.append(detail)

    assert view.on("a", handler) is handler
    assert commands.on("b", handler) is handler

    @view.on("c")
    def decorated(detail: int) -> None:
        got.append(-detail)

    async with TestClient(commands) as client:
        for name, value in (("a", 1), ("b", 2), ("c", 3)):
            await client.send_event(name, value)
    assert got == [1, 2, -3]


async def test_webview_command_forwards_errors_and_keeps_the_function() -> None:
    class NameTaken(InvokeException):
        code = "name_taken"

    view = WebView("t")

    @view.command(errors=[NameTaken])
    async def rename(name: str) -> str:
        raise NameTaken("taken", data={"name": name})

    assert rename.__name__ == "rename"
    cmd = view.commands.get("rename")
    assert cmd is not None and cmd.errors == (NameTaken,)
    async with TestClient(view) as client:
        with pytest.raises(InvokeError) as info:
            await client.call("rename", {"name": "x"})
    assert (info.value.code, info.value.data) == ("name_taken", {"name": "x"})
    assert isinstance(info.value, AuroraViewError)


def test_a_url_given_as_the_title_is_an_error() -> None:
    with pytest.raises(ValueError, match="pass url="):
        WebView("http://localhost:5173")
    assert WebView("Outliner", url="http://localhost:5173").url == "http://localhost:5173"
    assert WebView("Outliner: http (draft)").title == "Outliner: http (draft)"


def test_window_settings_conflicting_with_the_app_are_errors() -> None:
    app = App(registry(), sync_workers=4)
    assert WebView("t", app=app, sync_workers=4).app is app
    with pytest.raises(ValueError, match="sync_workers"):
        _ = WebView("t", app=app, sync_workers=8).app
    with pytest.raises(ValueError, match="different registries"):
        WebView("t", app=app, commands=Commands())


def test_the_cli_takes_an_app_as_well(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from auroraview.cli import load_registry

    (tmp_path / "app_module.py").write_text(
        "from auroraview import App, Commands\n"
        "commands = Commands()\n"
        "@commands.command()\n"
        "def ping() -> str:\n"
        "    return 'pong'\n"
        "app = App(commands)\n"
    )
    monkeypatch.chdir(tmp_path)
    registry = load_registry("app_module:app")
    assert "ping" in registry


def test_transports_coming_and_going_at_once_never_meet_a_retired_loop() -> None:
    """The app's background thread ends when its last transport leaves; a transport
    attaching from another thread at that moment must get a live loop (the old one, kept,
    or a new one), never a stopped one it would wait on forever or a closed one."""
    import threading

    app = registry().app
    before = {t.ident for t in threading.enumerate() if t.name == "auroraview-app"}
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            for _ in range(150):
                app.serve().close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=churn, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not [t for t in threads if t.is_alive()], "a transport waited forever on a retired loop"
    assert errors == []
    assert app.runtime is None

    async def ping() -> Any:
        async with TestClient(app) as client:
            return await client.call("ping")

    assert asyncio.run(ping()) == "pong"
    for _ in range(100):
        if {t.ident for t in threading.enumerate() if t.name == "auroraview-app"} <= before:
            break
        threading.Event().wait(0.02)
    assert {t.ident for t in threading.enumerate() if t.name == "auroraview-app"} <= before, "a loop thread leaked"


def _loop_threads() -> set[int | None]:
    import threading

    return {t.ident for t in threading.enumerate() if t.name == "auroraview-app"}


def _until(cond: Any, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_hold_on_the_loop_is_let_go_even_when_its_work_is_cancelled_before_it_starts() -> None:
    import threading

    app = registry().app
    before = _loop_threads()
    home = app._hold_loop(start=True)
    assert home is not None
    gate = threading.Event()
    home.call_soon_threadsafe(gate.wait, 10)  # the loop is busy: the work below cannot start yet
    work = app._run_held(home, asyncio.sleep(0))
    app._let_go()
    assert work.cancel()
    gate.set()
    assert _until(lambda: _loop_threads() <= before), "the app's loop thread stayed (a hold was never let go)"


async def test_a_test_client_cancelled_while_attaching_elsewhere_leaves_nothing_attached() -> None:
    import threading

    app = registry().app
    before = _loop_threads()
    server = await asyncio.to_thread(app.serve)  # the app's handlers now run on its own thread
    home = app.loop
    assert home is not None
    gate = threading.Event()
    home.call_soon_threadsafe(gate.wait, 10)
    entering = asyncio.ensure_future(TestClient(app).__aenter__())
    await asyncio.sleep(0.05)
    entering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await entering
    gate.set()
    await asyncio.to_thread(server.close)
    # The attach ran after its caller gave up: undone, so the last transport's leaving
    # stopped the runtime and ended the thread.
    assert await asyncio.to_thread(_until, lambda: app.runtime is None and _loop_threads() <= before)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the SystemExit, on purpose
def test_an_app_whose_loop_thread_died_starts_a_new_one() -> None:
    import threading

    app = registry().app
    home = app._hold_loop(start=True)
    assert home is not None

    def die() -> None:
        raise SystemExit  # escapes run_forever: the thread ends, the loop is closed

    dying: list[threading.Thread] = []
    home.call_soon_threadsafe(lambda: dying.append(threading.current_thread()))
    home.call_soon_threadsafe(die)
    assert _until(home.is_closed)
    dying[0].join(10)  # its SystemExit is reported now, to this test, not to a later one
    assert not dying[0].is_alive()
    app._let_go()  # no error: the dead loop is forgotten
    app.serve().close()  # a new thread serves (it raised "Event loop is closed" before)
