"""Child processes (`auroraview.children`): real child programs (tests/python/children/)
spawned by a `ChildManager`, connecting back to the fake server of netfake.py and, once it
exists, to the real one. Every process and server a test starts is gone when it ends."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netfake import FakeApp, wait_until

import auroraview
from auroraview import App, Commands
from auroraview import children as children_module
from auroraview.children import (
    ENV_CHILD_ID,
    ENV_PARENT_TOKEN,
    ENV_PARENT_URL,
    ChildContext,
    ChildManager,
    NotAChildError,
)

HERE = Path(__file__).resolve().parent
CHILD = str(HERE / "children" / "child.py")
PARENT = str(HERE / "children" / "parent.py")

has_server = hasattr(App, "serve") and hasattr(auroraview._core, "Server")
needs_server = pytest.mark.skipif(not has_server, reason="server not built yet")


def child_argv(mode: str, *args: str) -> list[str]:
    return [sys.executable, CHILD, mode, *args]


def real_app() -> App:
    commands = Commands()

    @commands.command("parent.add")
    def add(a: int, b: int) -> int:
        return a + b

    return App(commands)


@pytest.fixture(params=["fake", pytest.param("real", marks=needs_server)])
def app(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: Any = FakeApp({"parent.add": lambda a, b: a + b}) if request.param == "fake" else real_app()
    yield made
    made.close()


@pytest.fixture
def manager(app: Any) -> Iterator[ChildManager]:
    m = ChildManager(app)
    yield m
    m.close()
    assert m.children() == []


class Inbox:
    """Messages from children, and their exits, as the manager reports them."""

    def __init__(self, manager: ChildManager) -> None:
        self.messages: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        self.exits: queue.Queue[tuple[str, int]] = queue.Queue()
        manager.on_child_message(lambda child_id, event, data: self.messages.put((child_id, event, data)))
        manager.on_child_exit(lambda child_id, code: self.exits.put((child_id, code)))

    def next(self, event: str | None = None, timeout: float = 10.0) -> tuple[str, str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            msg = self.messages.get(timeout=max(deadline - time.monotonic(), 0.001))
            if event is None or msg[1] == event:
                return msg


def need_messages(app: Any) -> None:
    """Events from children reach the manager through the app's event tap."""
    if not hasattr(app, "_add_event_tap"):
        pytest.skip("App has no _add_event_tap yet (the hook ChildManager needs for on_child_message)")


def tokens_of(app: Any) -> set[str]:
    return set(app.servers[0].tokens) if isinstance(app, FakeApp) else set()


# -- spawning -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "a b", "x" * 65, "../x", "é", "a/b"])
def test_invalid_child_ids_are_refused(bad: str) -> None:
    m = ChildManager(FakeApp())
    try:
        with pytest.raises(ValueError, match="child id"):
            m.spawn(bad, child_argv("idle"))
        with pytest.raises(TypeError, match="argv"):
            m.spawn("ok", "python child.py")
    finally:
        m.close()


def test_the_manager_serves_on_loopback_and_closes_its_server() -> None:
    app = FakeApp()
    m = ChildManager(app)
    m.spawn("a.b_c-1", child_argv("idle"))
    assert app.serve_calls == [{"host": "127.0.0.1", "port": 0, "expose": "declared"}]
    m.close()
    assert app.servers[0].closed
    with pytest.raises(RuntimeError, match="closed"):
        m.spawn("again", child_argv("idle"))
    m.close()  # idempotent


def test_duplicate_ids_are_refused_while_running(manager: ChildManager) -> None:
    child = manager.spawn("dup", child_argv("idle"))
    with pytest.raises(ValueError, match="already running"):
        manager.spawn("dup", child_argv("idle"))
    assert manager.terminate("dup") == -signal.SIGTERM
    assert child.returncode == -signal.SIGTERM and not child.running
    # Gone: the id is free again.
    manager.spawn("dup", child_argv("idle"))
    assert [c.id for c in manager.children()] == ["dup"]


def test_a_program_that_cannot_start_revokes_its_token() -> None:
    app = FakeApp()
    m = ChildManager(app)
    try:
        with pytest.raises(FileNotFoundError):
            m.spawn("nope", ["/nonexistent/program"])
        assert tokens_of(app) == {app.servers[0].token}
        assert m.children() == []
    finally:
        m.close()
        app.close()


# -- messages -----------------------------------------------------------------------------


def test_a_child_connects_messages_calls_and_exits(app: Any, manager: ChildManager) -> None:
    need_messages(app)
    inbox = Inbox(manager)
    child = manager.spawn("worker-1", child_argv("echo"))
    _, _, ready = inbox.next("ready")
    assert ready["id"] == "worker-1" and ready["pid"] == child.pid
    assert ready["token_in_env"] is False  # the child removed it: its own children do not inherit it
    assert not any(len(a) >= 22 and a in tokens_of(app) for a in ready["argv"])  # never on the command line
    assert child.is_connected() and manager.get("worker-1") is child

    assert manager.send_to_child("worker-1", "parent:command", {"action": "refresh"}) == 1
    assert inbox.next("echo") == ("worker-1", "echo", {"event": "parent:command", "data": {"action": "refresh"}})
    child.send("call", {"a": 2, "b": 3})  # the child calls the parent's command
    assert inbox.next("called") == ("worker-1", "called", 5)

    manager.send_to_child("worker-1", "quit")
    assert inbox.exits.get(timeout=10) == ("worker-1", 0)
    assert child.wait(5) == 0 and child.returncode == 0
    assert manager.children() == [] and manager.get("worker-1") is None
    assert wait_until(lambda: not child.is_connected(), 5)
    if isinstance(app, FakeApp):
        assert tokens_of(app) == {app.servers[0].token}  # its token was revoked
    with pytest.raises(KeyError, match="worker-1"):
        manager.send_to_child("worker-1", "late")


def test_messages_sent_before_the_child_has_a_handler_are_kept(app: Any, manager: ChildManager) -> None:
    need_messages(app)
    inbox = Inbox(manager)
    manager.spawn("late", child_argv("late"))
    inbox.next("ready")
    for i in range(3):
        manager.send_to_child("late", "early", i)  # its handler comes 0.5 s after "ready"
    assert [inbox.next("echo")[2]["data"] for _ in range(3)] == [0, 1, 2]


def test_broadcast_reaches_every_child(app: Any, manager: ChildManager) -> None:
    need_messages(app)
    inbox = Inbox(manager)
    for name in ("a", "b"):
        manager.spawn(name, child_argv("echo"))
    assert {inbox.next("ready")[0] for _ in range(2)} == {"a", "b"}
    assert manager.broadcast("parent:notification", {"message": "Settings changed"}) == 2
    echoes = {inbox.next("echo")[0] for _ in range(2)}
    assert echoes == {"a", "b"}


# -- exits ----------------------------------------------------------------------------------


def test_a_child_killed_with_sigkill_is_noticed_at_once(app: Any, manager: ChildManager) -> None:
    exits: queue.Queue[tuple[str, int]] = queue.Queue()
    manager.on_child_exit(lambda child_id, code: exits.put((child_id, code)))
    child = manager.spawn("victim", child_argv("idle"))
    assert wait_until(child.is_connected, 10)
    if isinstance(app, FakeApp):
        assert len(tokens_of(app)) == 2
    started = time.monotonic()
    os.kill(child.pid, signal.SIGKILL)
    assert exits.get(timeout=2) == ("victim", -signal.SIGKILL)
    assert time.monotonic() - started < 2
    assert manager.children() == [] and child.returncode == -signal.SIGKILL
    assert wait_until(lambda: not child.is_connected(), 2)
    if isinstance(app, FakeApp):
        assert len(tokens_of(app)) == 1


def test_terminate_escalates_to_sigkill(manager: ChildManager) -> None:
    child = manager.spawn("stubborn", child_argv("stubborn"))
    assert wait_until(child.is_connected, 10)  # it has installed its SIGTERM handler by then
    started = time.monotonic()
    assert manager.terminate("stubborn", timeout=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 3
    assert manager.terminate("stubborn") is None  # no such child any more


def test_close_terminates_every_child(app: Any) -> None:
    m = ChildManager(app)
    exits: list[tuple[str, int]] = []
    m.on_child_exit(lambda child_id, code: exits.append((child_id, code)))
    kids = [m.spawn(f"k{i}", child_argv("idle")) for i in range(3)]
    m.close(timeout=2)
    assert sorted(exits) == [(f"k{i}", -signal.SIGTERM) for i in range(3)]
    assert all(k.process.poll() is not None for k in kids)


def test_an_exit_callback_may_terminate_other_children(manager: ChildManager) -> None:
    manager.on_child_exit(lambda child_id, code: manager.terminate("other") if child_id == "first" else None)
    first = manager.spawn("first", child_argv("idle"))
    other = manager.spawn("other", child_argv("idle"))
    os.kill(first.pid, signal.SIGKILL)
    assert other.wait(5) == -signal.SIGTERM
    assert manager.children() == []


# -- the child's side -------------------------------------------------------------------


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("kind", ["fake", pytest.param("real", marks=needs_server)])
def test_a_parent_killed_with_sigkill_is_noticed_by_its_child(kind: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    parent = subprocess.Popen([sys.executable, PARENT, kind, str(marker)], stdout=subprocess.PIPE, text=True)
    child_pid = 0
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        started = time.monotonic()
        parent.kill()
        parent.wait(5)
        assert wait_until(marker.exists, 3), "the child did not notice its parent die"
        assert time.monotonic() - started < 3
        assert marker.read_text() == "parent-exit 1006"  # the connection was lost, no close frame
    finally:
        parent.kill()
        parent.wait(5)
        if parent.stdout is not None:
            parent.stdout.close()
        if child_pid:
            wait_until(lambda: not _alive(child_pid), 3)
            _kill(child_pid)


@pytest.mark.parametrize("kind", ["fake", pytest.param("real", marks=needs_server)])
def test_a_frozen_parent_is_caught_by_the_heartbeat(kind: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    # The child pings every 0.2 s and gives up 2 s (its timeout) after the last frame.
    parent = subprocess.Popen([sys.executable, PARENT, kind, str(marker), "0.2"], stdout=subprocess.PIPE, text=True)
    child_pid = 0
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        started = time.monotonic()
        os.kill(parent.pid, signal.SIGSTOP)
        assert wait_until(marker.exists, 6), "the child did not notice its parent freeze"
        assert 1.5 < time.monotonic() - started < 6
        assert marker.read_text() == "parent-exit 4002"
    finally:
        parent.kill()  # SIGKILL ends a stopped process too
        parent.wait(5)
        if parent.stdout is not None:
            parent.stdout.close()
        if child_pid:
            wait_until(lambda: not _alive(child_pid), 3)
            _kill(child_pid)


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaps yet, as an orphan may stay in a container, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_outside_a_parent_the_context_is_inert() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORAVIEW_")}
    out = subprocess.run(child_argv("standalone"), env=env, capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout == "standalone ok False None True\n"


def test_in_this_process_the_context_is_inert(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_PARENT_URL, ENV_PARENT_TOKEN, ENV_CHILD_ID):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(children_module, "_env_read", False)
    monkeypatch.setattr(children_module, "_env", None)
    got: list[Any] = []
    with ChildContext() as ctx:
        assert not ctx.is_child and ctx.child_id is None and ctx.client is None and not ctx.connected
        ctx.emit_to_parent("x", 1)
        ctx.on_parent_message(lambda e, d: got.append(e))
        ctx.on_parent_exit(lambda: got.append("exit"))
        assert ctx.wait_closed(0)
        with pytest.raises(NotAChildError, match="not started by an AuroraView parent"):
            ctx.call("anything")
        assert "not a child" in repr(ctx)
    assert got == []


def test_a_token_without_the_rest_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(children_module, "_env_read", False)
    monkeypatch.setattr(children_module, "_env", None)
    monkeypatch.delenv(ENV_PARENT_URL, raising=False)
    monkeypatch.setenv(ENV_PARENT_TOKEN, "t" * 43)
    with pytest.raises(RuntimeError, match=r"not started by ChildManager\.spawn"):
        ChildContext()
    assert ENV_PARENT_TOKEN not in os.environ  # read once, and removed
