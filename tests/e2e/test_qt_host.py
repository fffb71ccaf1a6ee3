"""Windows inside a Qt application (issue 14, part 1): a real PySide6 `QApplication` whose GLib
event dispatcher owns GLib's default main context, and real windows under the session's Xvfb.

Each scenario runs in a fresh interpreter (this file, run as a script): a process has one GUI
and one Qt application. Qt draws offscreen (its xcb plugin needs libraries CI may lack); GTK
and WebKit use the Xvfb display. The scenario prints one JSON line last.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import qtscenario

HERE = Path(__file__)

#: The page: records the events it gets, from before its bridge was ready on.
PAGE = """<!doctype html><p>qt host</p><script>
window.got = [];
auroraview.on("early", (payload) => window.got.push(payload));
</script>"""


def run_scenario(name: str, *, timeout: float = 60) -> dict[str, Any]:
    return qtscenario.run_scenario(HERE, name, platform="offscreen", timeout=timeout)


@pytest.fixture(autouse=True)
def need_qt(display: str) -> None:
    qtscenario.require_qt()


def check_opened_in_host(r: dict[str, Any]) -> None:
    # Qt's GLib dispatcher owns the default context on the main thread: we run on its loop.
    assert "Glib" in r["dispatcher"], r
    assert r["main_owns_context"] is True
    assert r["mode"] == "host"
    assert r["eval"] == 42
    # Emitted right after show(block=False) returned, before the page's bridge was ready.
    assert r["got"] == [{"n": 1}, {"n": 2}]
    assert r["closed"] is True
    # No thread of ours, nor one started from it (a new thread inherits its creator's name).
    assert r["gui_threads"] == [], "no auroraview-gui thread: the host's loop runs the windows"
    # Opening runs on Qt's loop (GTK, WebKit's first start): bounded, not a wait on another thread.
    assert r["max_gap_ms"] < 1000, r


@pytest.mark.parametrize("when", ["after_exec", "before_exec"])
def test_a_window_opens_from_the_qt_main_thread(when: str) -> None:
    r = run_scenario(f"main_{when}")
    check_opened_in_host(r)
    assert r["opened_on_main"] is True
    assert r["snapshot_served_by"] == "custom-protocol"
    # The longest stall of Qt's loop while the window opened (a 5 ms timer's largest gap).
    print(
        f"\nqt host ({when}): show(block=False) took {r['open_ms']:.1f} ms; "
        f"longest Qt loop stall while opening {r['max_gap_ms']:.1f} ms"
    )


def test_a_window_opens_from_a_worker_thread_while_qt_runs() -> None:
    r = run_scenario("worker")
    check_opened_in_host(r)
    assert r["opened_on_main"] is False
    print(f"\nqt host (worker): longest Qt loop stall while opening {r['max_gap_ms']:.1f} ms")


def test_a_qt_loop_that_never_runs_is_reported_not_waited_for() -> None:
    started = time.monotonic()
    r = run_scenario("no_loop")
    assert r["error"] == "GuiUnavailable", r
    assert "owned by another thread" in r["message"] and "QApplication.exec()" in r["message"], r["message"]
    assert 9.0 <= r["waited_s"] <= 15.0, r
    assert time.monotonic() - started < 40
    assert r["gui_threads"] == []


def test_a_blocking_show_on_the_qt_main_thread_is_refused() -> None:
    r = run_scenario("blocking")
    assert r["error"] == "RuntimeError", r
    assert "show(block=False)" in r["message"], r["message"]
    assert r["mode"] is None  # refused before anything started


def test_without_qt_our_own_gui_thread_runs_the_windows() -> None:
    r = run_scenario("standalone")
    assert r["main_owns_context"] is False
    assert r["mode"] == "own"
    # Ours, and threads GLib and WebKit started from it (a new thread inherits its creator's name).
    assert "auroraview-gui" in r["gui_threads"]
    assert r["eval"] == 42
    assert r["got"] == [{"n": 1}, {"n": 2}]
    assert r["closed"] is True


# -- the scenarios (run in a fresh interpreter) ----------------------------------------------


def gui_threads() -> list[str]:
    names = []
    for comm in Path("/proc/self/task").glob("*/comm"):
        try:
            name = comm.read_text().strip()
        except OSError:  # the thread ended meanwhile
            continue
        if name == "auroraview-gui":
            names.append(name)
    return names


class Ticker:
    """A Qt timer ticking every 5 ms; `max_gap` is the longest time between ticks since `reset`."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.last: float | None = None
        self.max_gap = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last, self.max_gap = None, 0.0
        self.timer.start()


def poll(condition: Any, then: Any, *, timeout: float = 20.0, what: str = "") -> None:
    """On Qt's loop: call `then()` once `condition()` holds (checked every 10 ms)."""
    from PySide6.QtCore import QTimer

    deadline = time.monotonic() + timeout

    def check() -> None:
        if condition():
            then()
        elif time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        else:
            QTimer.singleShot(10, check)

    QTimer.singleShot(10, check)


async def page_checks(view: Any) -> dict[str, Any]:
    import asyncio

    value = await view.eval_js("6 * 7")
    got: list[Any] = []
    for _ in range(200):
        got = await view.eval_js("window.got")
        if len(got) >= 2:
            break
        await asyncio.sleep(0.05)
    return {"eval": value, "got": got}


def scenario_main(when: str) -> None:
    """Open from the Qt main thread (inside the running loop, or before it runs)."""
    import asyncio
    import threading

    from PySide6.QtCore import QAbstractEventDispatcher, QTimer
    from PySide6.QtWidgets import QApplication

    from auroraview import WebView, _core

    app = QApplication([])
    result: dict[str, Any] = {
        "dispatcher": QAbstractEventDispatcher.instance().metaObject().className(),
        "main_owns_context": _core.gui_context_owned(),
    }
    ticker = Ticker()
    view = WebView(title="qt host", html=PAGE)

    def open_view() -> None:
        ticker.start()
        started = time.perf_counter()
        view.show(block=False)
        result["open_ms"] = (time.perf_counter() - started) * 1000
        result["opened_on_main"] = threading.current_thread() is threading.main_thread()
        view.emit("early", {"n": 1})
        view.emit("early", {"n": 2})
        assert view.app.loop is not None
        checks = asyncio.run_coroutine_threadsafe(page_checks(view), view.app.loop)
        poll(checks.done, lambda: checked(checks.result()), what="the page checks")

    def checked(found: dict[str, Any]) -> None:
        result["max_gap_ms"] = ticker.max_gap * 1000
        result.update(found)
        # Read on the GUI thread, which is this one: the wait must run the loop that answers.
        result["snapshot_served_by"] = view.security_snapshot().get("served_by")
        result["mode"] = _core.gui_mode()
        result["gui_threads"] = gui_threads()
        view.close()
        poll(lambda: view.wait_closed(0), finished, what="the window to close")

    def finished() -> None:
        result["closed"] = not view.is_open
        app.quit()

    if when == "before_exec":
        open_view()
    else:
        QTimer.singleShot(0, open_view)
    app.exec()
    print(json.dumps(result), flush=True)


def scenario_worker() -> None:
    """Open from a Python worker thread while Qt's loop runs on the main thread."""
    import asyncio
    import threading

    from PySide6.QtCore import QAbstractEventDispatcher, QTimer
    from PySide6.QtWidgets import QApplication

    from auroraview import WebView, _core

    app = QApplication([])
    result: dict[str, Any] = {
        "dispatcher": QAbstractEventDispatcher.instance().metaObject().className(),
        "main_owns_context": _core.gui_context_owned(),
    }
    ticker = Ticker()
    done = threading.Event()

    def work() -> None:
        try:
            view = WebView(title="qt host", html=PAGE)
            result["worker_owns_context"] = _core.gui_context_owned()
            view.show(block=False)
            result["opened_on_main"] = threading.current_thread() is threading.main_thread()
            view.emit("early", {"n": 1})
            view.emit("early", {"n": 2})
            assert view.app.loop is not None
            result.update(asyncio.run_coroutine_threadsafe(page_checks(view), view.app.loop).result(20))
            result["max_gap_ms"] = ticker.max_gap * 1000
            result["mode"] = _core.gui_mode()
            result["gui_threads"] = gui_threads()
            view.close()
            result["closed"] = view.wait_closed(10)
        except BaseException as exc:  # noqa: BLE001 - reported in the JSON
            result["error"] = repr(exc)
        finally:
            done.set()

    def start() -> None:
        ticker.start()
        threading.Thread(target=work, name="worker").start()
        poll(done.is_set, app.quit, timeout=40, what="the worker")

    QTimer.singleShot(0, start)
    app.exec()
    print(json.dumps(result), flush=True)


def scenario_no_loop() -> None:
    """A QApplication whose loop never runs: opening from a worker fails clearly, in bounded time."""
    import threading

    from PySide6.QtWidgets import QApplication

    from auroraview import WebView

    app = QApplication([])
    result: dict[str, Any] = {}

    def work() -> None:
        started = time.monotonic()
        try:
            WebView(title="qt host", html=PAGE).show(block=False)
            result["error"] = None
        except Exception as exc:  # noqa: BLE001 - reported in the JSON
            result["error"] = type(exc).__name__
            result["message"] = str(exc)
        result["waited_s"] = time.monotonic() - started

    worker = threading.Thread(target=work, name="worker")
    worker.start()
    worker.join(30)
    result["worker_done"] = not worker.is_alive()
    result["gui_threads"] = gui_threads()
    del app
    print(json.dumps(result), flush=True)


def scenario_blocking() -> None:
    """A blocking show() on the Qt main thread would stop the loop that draws the window."""
    from PySide6.QtWidgets import QApplication

    from auroraview import WebView, _core

    app = QApplication([])
    result: dict[str, Any] = {"error": None}
    try:
        WebView(title="qt host", html=PAGE).show()
    except Exception as exc:  # noqa: BLE001 - reported in the JSON
        result["error"] = type(exc).__name__
        result["message"] = str(exc)
    result["mode"] = _core.gui_mode()
    del app
    print(json.dumps(result), flush=True)


def scenario_standalone() -> None:
    """No Qt: our own GUI thread, as before."""
    import asyncio

    from auroraview import WebView, _core

    result: dict[str, Any] = {"main_owns_context": _core.gui_context_owned()}
    view = WebView(title="standalone", html=PAGE)
    view.show(block=False)
    view.emit("early", {"n": 1})
    view.emit("early", {"n": 2})
    assert view.app.loop is not None
    result.update(asyncio.run_coroutine_threadsafe(page_checks(view), view.app.loop).result(20))
    result["mode"] = _core.gui_mode()
    result["gui_threads"] = gui_threads()
    view.close()
    result["closed"] = view.wait_closed(10)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    scenario = sys.argv[1]
    if scenario.startswith("main_"):
        scenario_main(scenario.removeprefix("main_"))
    else:
        scenarios = {
            "worker": scenario_worker,
            "no_loop": scenario_no_loop,
            "blocking": scenario_blocking,
            "standalone": scenario_standalone,
        }
        scenarios[scenario]()
