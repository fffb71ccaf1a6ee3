"""A view inside a Qt window (issue 14, part 2): the example host app (examples/qt_host: a Qt
main window with the panel in a dock) driven in a real PySide6 application on Qt's xcb
platform and real WebKitGTK, under the session's Xvfb; plus ready events and a plain X11
parent window.

Each scenario runs in a fresh interpreter (this file, run as a script): a process has one GUI
and one Qt application. The scenario drives Qt's loop itself (`pump`), as a host would run
it, and prints one JSON line last.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import qtscenario

HERE = Path(__file__)
ROOT = HERE.parents[2]
SHOTS = Path(os.environ.get("AURORAVIEW_SHOTS", "/tmp/auroraview-shots"))

#: The example's colours: the page's background and the host's window (Qt's default palette).
PANEL_RGB = (0x1D, 0x35, 0x57)


def run_scenario(name: str, *, timeout: float = 240) -> dict[str, Any]:
    return qtscenario.run_scenario(HERE, name, platform="xcb", timeout=timeout)


@pytest.fixture(autouse=True)
def need_qt(display: str) -> None:
    qtscenario.require_qt("xdotool", "xwininfo")


def test_the_example_host_app_docks_a_working_panel() -> None:
    r = run_scenario("dock")
    # The page is drawn inside the Qt window, in the dock's area (a screenshot of the screen).
    assert r["panel_pixel"] == list(PANEL_RGB), r
    assert r["host_pixel"] != list(PANEL_RGB), r
    # The view's native window is a descendant of the Qt main window's.
    assert r["embedded_under_host"] is True, r
    # The page's button called the main-thread command: it ran on the Qt main thread and
    # changed the Qt label; the page shows the command's reply.
    assert r["status"] == "baking", r
    assert r["status_threads"] == ["MainThread"], r
    assert r["reply"] == "host shows: baking", r
    # The host's line edit emits events the page shows.
    assert r["host_text"] == "from the host", r
    # Keyboard input typed into the embedded page (clicked, then real X key events).
    # The host resized its window: the page followed the panel's new size.
    assert r["resized_view"] == r["resized_panel"] != r["size_before"], r
    assert r["typed"] == "typed by a user", r
    # It keeps the keyboard when the pointer leaves it, gives it back on a click in the host,
    # and takes it when the host moves the focus to the panel (Tab).
    assert r["typed_pointer_away"] == "typed by a user!", r
    assert r["host_typed"] == "xy" and r["page_after_host_typed"] == "typed by a user!", r
    assert r["typed_after_tab"] == "typed by a user!z", r
    # The bridge listens from DOMContentLoaded; `loaded` is the page's load event.
    assert r["stages"][:2] == ["created", "shown"] and sorted(r["stages"][2:]) == ["bridge", "loaded"], r
    print(
        f"\nqt dock: panel open (WebViewWidget) {r['open_ms']:.0f} ms, to bridge ready {r['ready_ms']:.0f} ms; "
        f"longest Qt loop stall while opening {r['open_stall_ms']:.0f} ms; screenshot {r['shot']}"
    )


def test_dock_cycles_and_panel_lifecycles_leak_nothing_and_never_stall_qt() -> None:
    r = run_scenario("cycles", timeout=400)
    n = r["cycles"]
    assert n == 100
    # Float, re-dock, hide, show: the panel stays alive and working, Qt's loop never stalls.
    assert r["alive_after_dock_cycles"] is True and r["eval_after_dock_cycles"] == 42, r
    assert r["pixel_after_dock_cycles"] == list(PANEL_RGB), r
    assert r["same_document"] == "yes", "re-docking must not reload the page"
    assert r["dock_cycle_max_stall_ms"] < 100, r
    # Panels made and destroyed with their dock: each view closed when Qt destroyed it, and
    # nothing stays behind (X windows, threads, WebKit processes, our live views).
    assert r["closed_by_destroy"] == n, r
    # Closed from the host's side (close_view) or from Python: `closed` fires, the widget is empty.
    assert r["closed_signal_close_view"] is True and r["closed_signal_view_close"] is True, r
    assert r["emit_after_destroy"] is False, r
    assert r["eval_after_destroy"] == "WindowClosed", r
    assert r["live_views"] == 0, r
    assert r["x_windows_after"] <= r["x_windows_before"], r
    assert r["threads_after"] <= r["threads_before"] + 1, r  # a GLib pool thread may come and go
    assert r["web_processes_after"] <= r["web_processes_before"], r
    assert r["panel_cycle_max_stall_ms"] < 100, r
    # Opening (to a ready bridge) and closing are bounded: each well under a few seconds.
    assert r["panel_open_ms_max"] < 5000 and r["panel_close_ms_max"] < 2000, r
    print(
        f"\nqt dock cycles ({n} each): float/dock/hide/show longest Qt stall {r['dock_cycle_max_stall_ms']:.0f} ms; "
        f"panel create+destroy {r['panel_cycle_ms']:.0f} ms a cycle, longest Qt stall {r['panel_cycle_max_stall_ms']:.0f} ms; "
        f"X windows {r['x_windows_before']}->{r['x_windows_after']}, threads {r['threads_before']}->{r['threads_after']}, "
        f"WebKit processes {r['web_processes_before']}->{r['web_processes_after']}; panel open to bridge ready "
        f"median {r['panel_open_ms_median']:.0f} ms (max {r['panel_open_ms_max']:.0f}), close after the host "
        f"destroyed it median {r['panel_close_ms_median']:.0f} ms (max {r['panel_close_ms_max']:.0f})"
    )


def test_events_emitted_while_the_page_loads_all_arrive_in_a_qt_host() -> None:
    r = run_scenario("during_load")
    # A thread emitted numbered events from before show() until after the bridge was
    # ready; the page (its listener registered by its script while it loads) got each once,
    # in order, and the event emitted when Python heard of the page's `load` event.
    assert r["emitted"] > 0 and r["got"] == list(range(r["emitted"])), r
    assert r["during_load"] is True, r
    assert r["stages"][:2] == ["created", "shown"] and sorted(r["stages"][2:]) == ["bridge", "loaded"], r


def test_a_busy_qt_main_thread_holds_the_pages_messages_and_loses_none() -> None:
    r = run_scenario("busy")
    # 50 calls made while a main-thread handler held Qt's loop for 1 s, and 100 events
    # emitted meanwhile: each arrived once, in order, after it (as dcc.md says).
    assert r["block_result"] == "done", r
    assert r["echoed"] == list(range(50)), r
    assert r["emitted"] == 100 and r["ticks"] == list(range(100)), r
    assert r["echoes_after_block"] is True and r["emitted_during_block"] is True, r


def test_a_plain_x11_parent_window_hosts_the_view() -> None:
    r = run_scenario("x11_parent")
    assert r["parent_of_view"] == r["parent"], r
    assert r["initial_size"] == [400, 300], r
    assert r["followed_size"] == [520, 360], r
    assert r["eval"] == 42, r
    assert r["closed_with_parent"] is True, r
    assert r["bad_parent_error"] == "WindowError" and "no X11 window" in r["bad_parent_message"], r


def test_a_pyqt6_host_docks_a_working_panel_too() -> None:
    qtscenario.require_qt(binding="PyQt6")
    r = run_scenario("pyqt6")
    assert r["binding"] == "PyQt6" and r["pyside6_loaded"] is False, r
    assert r["status"] == "from pyqt6" and r["reply"] == "from pyqt6" and r["on_main"] == [True], r
    assert r["pixel"] == list(PANEL_RGB) and r["embedded_under_host"] is True, r
    assert r["alive_after_float"] is True, r
    assert r["emit_after_destroy"] is False and r["eval_after_destroy"] == "WindowClosed", r


def test_the_readme_qt_panel_runs_as_written(tmp_path: Path) -> None:
    import re

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    snippet = next(b for b in blocks if "WebViewWidget(view)" in b)
    assert snippet.rstrip().endswith("app.exec()"), snippet
    # The user presses the page's button; then the script ends the loop it runs.
    driver = f"""
import json, sys
sys.path.insert(0, {str(HERE.parent)!r})
from test_qt_dock import on_loop, pump
pump(app, until=lambda: view.reached("bridge"), what="the bridge")
on_loop(app, view, view.eval_js("document.getElementById('bake').click()"))
pump(app, until=lambda: status.text() == "baking", what="the main-thread command")
print(json.dumps({{"status": status.text()}}))
"""
    script = tmp_path / "readme_qt.py"
    script.write_text(snippet.rstrip().removesuffix("app.exec()") + driver)
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "NO_AT_BRIDGE": "1", "DBUS_SESSION_BUS_ADDRESS": "disabled:"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"status": "baking"}


# -- the scenarios (run in a fresh interpreter) ----------------------------------------------


def pump(app: Any, seconds: float = 0.0, until: Callable[[], bool] | None = None, what: str = "") -> None:
    """Run Qt's loop (and with it ours) for `seconds`, or until `until()` (20 s at most):
    a nested `QEventLoop`, which sleeps in poll when nothing is ready, as a host's loop does
    (calling `processEvents` back to back would not: a due Qt timer outranks WebKit's
    lower-priority GLib sources at every iteration, and they starve)."""
    QEventLoop, QTimer = qt("QtCore").QEventLoop, qt("QtCore").QTimer  # Qt's class names

    deadline = time.monotonic() + (seconds if until is None else 20.0)
    loop = QEventLoop()
    while True:
        if until is not None and until():
            return
        left = deadline - time.monotonic()
        if left <= 0:
            break
        QTimer.singleShot(max(1, min(10, int(left * 1000))), loop.quit)
        loop.exec()
    if until is not None:
        raise SystemExit(f"timed out waiting for {what}: {live_stages()}")


def qt(module: str) -> Any:
    """`module` (QtCore, QtGui...) of the Qt binding the scenario imported (PySide6 or PyQt6)."""
    import importlib

    binding = "PyQt6" if "PyQt6.QtCore" in sys.modules else "PySide6"
    return importlib.import_module(f"{binding}.{module}")


def on_loop(app: Any, view: Any, coro: Any) -> Any:
    """Run `coro` on the view's app loop while Qt's loop runs here; its result."""
    home = view.app.loop
    if home is None:  # the view closed (and its app has nothing open): nothing of it runs on a loop
        return asyncio.run(coro)
    fut = asyncio.run_coroutine_threadsafe(coro, home)
    pump(app, until=fut.done, what="a coroutine on the app's loop")
    return fut.result()


class Ticker:
    """A Qt timer ticking every 2 ms; `max_gap` is the longest time between ticks since `reset`."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(2)
        self.timer.timeout.connect(self._tick)
        self.last: float | None = None
        self.max_gap = 0.0
        #: What the test was doing when the longest gap began (`doing`).
        self.worst = ""
        self.now_doing = ""
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None and now - self.last > self.max_gap:
            self.max_gap, self.worst = now - self.last, self.now_doing
        self.last = now

    def doing(self, what: str) -> None:
        self.now_doing = what

    def reset(self) -> None:
        self.last, self.max_gap, self.worst = None, 0.0, ""


def pixel(app: Any, widget: Any) -> list[int]:
    """The screen's colour at the centre of `widget` (a grab of the root window)."""
    QColor = qt("QtGui").QColor  # Qt's class name

    image = app.primaryScreen().grabWindow(0).toImage()
    at = widget.mapToGlobal(widget.rect().center())
    color = QColor(image.pixel(at.x(), at.y()))
    return [color.red(), color.green(), color.blue()]


def x_parent(xid: int) -> int:
    out = subprocess.run(["xwininfo", "-children", "-id", str(xid)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Parent window id:" in line:
            return int(line.split()[3], 16)
    raise SystemExit(f"xwininfo: no parent for {xid:#x}:\n{out}")


def x_ancestors(xid: int) -> list[int]:
    chain = []
    while xid:
        xid = x_parent(xid)
        chain.append(xid)
    return chain


def x_size(xid: int) -> list[int]:
    out = subprocess.run(["xwininfo", "-id", str(xid)], capture_output=True, text=True).stdout
    size = {
        k.strip(): int(v)
        for k, v in (ln.split(":") for ln in out.splitlines() if ln.strip().startswith(("Width:", "Height:")))
    }
    return [size["Width"], size["Height"]]


def x_windows() -> int:
    """Top-level windows on the display (every client's)."""
    out = subprocess.run(["xwininfo", "-root", "-children"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if line.strip().startswith("0x"))


def web_processes() -> int:
    me, count = str(os.getpid()), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            comm = (stat.parent / "comm").read_text().strip()
        except OSError:
            continue
        if fields[1] == me and comm.startswith("WebKit"):
            count += 1
    return count


def threads() -> int:
    return len(list(Path("/proc/self/task").iterdir()))


def stages_reached(view: Any, order: list[str]) -> Callable[[], None]:
    def check() -> None:
        for stage in ("created", "shown", "loaded", "bridge"):
            if stage not in order and view.reached(stage):
                order.append(stage)

    return check


def load_example() -> Any:
    sys.path.insert(0, str(ROOT / "examples" / "qt_host"))
    import app as example  # pyright: ignore[reportMissingImports]

    return example


def scenario_dock() -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    example = load_example()
    app = QApplication([])
    ticker = Ticker()
    started = time.perf_counter()
    window = example.HostWindow()
    open_ms = (time.perf_counter() - started) * 1000
    open_stall = ticker.max_gap
    window.show()
    view, panel = window.view, window.panel
    order: list[str] = []
    check = stages_reached(view, order)
    pump(app, until=lambda: (check(), view.reached("bridge") and view.reached("shown"))[1], what="the bridge")
    ready_ms = (time.perf_counter() - started) * 1000
    pump(app, 0.5)
    check()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "qt-dock.png"
    app.primaryScreen().grabWindow(0).save(str(shot))
    result: dict[str, Any] = {
        "open_ms": open_ms,
        "open_stall_ms": open_stall * 1000,
        "ready_ms": ready_ms,
        "stages": order,
        "shot": str(shot),
        "panel_pixel": pixel(app, panel),
        "host_pixel": pixel(app, window.status),
        "embedded_under_host": int(window.winId()) in x_ancestors(view.native_id),
    }
    # The host resizes its window: the embedded page follows the panel's size.
    before = x_size(view.native_id)
    window.resize(1200, 720)
    target = [panel.width(), panel.height()]
    for _ in range(100):
        pump(app, 0.02)
        target = [panel.width(), panel.height()]
        if x_size(view.native_id) == target:
            break
    result.update(resized_view=x_size(view.native_id), resized_panel=target, size_before=before)
    # The page's button calls the main-thread command.
    threads_seen: list[str] = []
    original = window.status.setText

    def record(text: str) -> None:
        threads_seen.append(threading.current_thread().name)
        original(text)

    window.status.setText = record
    on_loop(app, view, view.eval_js("document.getElementById('send').click()"))
    pump(app, until=lambda: window.status.text() == "baking", what="the status")
    reply = ""
    for _ in range(200):
        reply = on_loop(app, view, view.eval_js("document.getElementById('reply').textContent"))
        if reply:
            break
        pump(app, 0.02)
    result.update(status=window.status.text(), status_threads=threads_seen, reply=reply)
    # The host emits.
    window.entry.setText("from the host")
    host_text = ""
    for _ in range(200):
        host_text = on_loop(app, view, view.eval_js("document.getElementById('host').textContent"))
        if host_text == "from the host":
            break
        pump(app, 0.02)
    result["host_text"] = host_text
    # Keyboard: click into the page's input, select what is there, type (real X events).
    box = on_loop(
        app,
        view,
        view.eval_js(
            "(() => { const r = document.getElementById('text').getBoundingClientRect(); return [r.x + 5, r.y + r.height / 2]; })()"
        ),
    )
    at = panel.mapToGlobal(panel.rect().topLeft())
    subprocess.run(
        ["xdotool", "mousemove", str(at.x() + int(box[0])), str(at.y() + int(box[1])), "click", "1"], check=True
    )
    pump(app, 0.3)
    subprocess.run(["xdotool", "key", "ctrl+a", "BackSpace"], check=True)
    subprocess.run(["xdotool", "type", "--delay", "5", "typed by a user"], check=True)
    typed = ""
    for _ in range(200):
        pump(app, 0.02)
        typed = on_loop(app, view, view.eval_js("document.getElementById('text').value"))
        if typed == "typed by a user":
            break
    result["typed"] = typed

    def page_value(expect: str) -> str:
        value = ""
        for _ in range(100):
            pump(app, 0.02)
            value = on_loop(app, view, view.eval_js("document.getElementById('text').value"))
            if value == expect:
                break
        return value

    # The pointer leaves the panel: the page keeps the keyboard (it took the X focus on
    # the click; without it, X would send the keys to the host, whose window is focused).
    away = window.status.mapToGlobal(window.status.rect().center())
    subprocess.run(["xdotool", "mousemove", str(away.x()), str(away.y())], check=True)
    pump(app, 0.2)
    subprocess.run(["xdotool", "type", "--delay", "5", "!"], check=True)
    result["typed_pointer_away"] = page_value("typed by a user!")
    # A click in the host's line edit gives the keyboard back to the host.
    entry = window.entry.mapToGlobal(window.entry.rect().center())
    subprocess.run(["xdotool", "mousemove", str(entry.x()), str(entry.y()), "click", "1"], check=True)
    pump(app, 0.3)
    window.entry.clear()
    subprocess.run(["xdotool", "type", "--delay", "5", "xy"], check=True)
    pump(app, until=lambda: window.entry.text() == "xy", what="keys in the host's line edit")
    result["host_typed"] = window.entry.text()
    result["page_after_host_typed"] = page_value("typed by a user!")
    # Focus moved to the panel by the host (as Tab does), the pointer elsewhere: the page types.
    window.panel.setFocus()
    pump(app, 0.3)
    subprocess.run(["xdotool", "type", "--delay", "5", "z"], check=True)
    result["typed_after_tab"] = page_value("typed by a user!z")
    window.close()
    window.deleteLater()
    pump(app, until=lambda: not view.is_open, what="the view to close with its host")
    return result


def scenario_cycles() -> dict[str, Any]:
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication, QDockWidget

    from auroraview import WebView, WindowClosed
    from auroraview.qt import WebViewWidget
    from auroraview.webview import _live

    example = load_example()
    app = QApplication([])
    window = example.HostWindow()
    window.show()
    view, dock = window.view, window.dock
    pump(app, until=lambda: view.reached("bridge"), what="the bridge")
    ticker = Ticker()
    n = int(os.environ.get("CYCLES", "100"))
    on_loop(app, view, view.eval_js("window.sameDocument = 'yes'"))  # gone if the page reloaded
    pump(app, 0.2)
    ticker.reset()
    for i in range(n):
        ticker.doing(f"cycle {i}: setFloating({i % 2 == 0})")
        dock.setFloating(i % 2 == 0)
        pump(app, 0.01)
        ticker.doing(f"cycle {i}: hide")
        dock.hide()
        pump(app, 0.01)
        ticker.doing(f"cycle {i}: show")
        dock.show()
        pump(app, 0.01)
    dock.setFloating(False)
    pump(app, 0.2)
    result: dict[str, Any] = {"cycles": n, "dock_cycle_max_stall_ms": ticker.max_gap * 1000}
    result["dock_cycle_max_stall_during"] = ticker.worst
    result["alive_after_dock_cycles"] = window.panel.is_alive
    result["eval_after_dock_cycles"] = on_loop(app, view, view.eval_js("6 * 7"))
    result["pixel_after_dock_cycles"] = pixel(app, window.panel)
    result["same_document"] = on_loop(app, view, view.eval_js("window.sameDocument"))
    # Panels made and destroyed with their dock widget.
    signals: list[str] = []
    window.panel.closed.connect(lambda: signals.append("close_view"))
    window.removeDockWidget(dock)
    window.panel.close_view()
    pump(app, until=lambda: not view.is_open and bool(signals), what="the first panel to close, and say so")
    result["closed_signal_close_view"] = signals == ["close_view"] and not window.panel.is_alive
    dock.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # A panel whose view is closed from Python (not by the host): the widget says so, empty.
    closing_view = WebView("closing", html="<p>closing</p>")
    closing = WebViewWidget(closing_view)
    closing.closed.connect(lambda: signals.append("view.close"))
    closing.show()
    pump(app, until=lambda: closing_view.reached("bridge"), what="a panel to close from Python")
    alive_before = closing.is_alive
    closing_view.close()
    pump(app, until=lambda: "view.close" in signals, what="the closed signal")
    result["closed_signal_view_close"] = alive_before and not closing.is_alive and closing.layout().count() == 0
    closing.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    pump(app, 0.5)
    x_before, threads_before, web_before = x_windows(), threads(), web_processes()
    closed_by_destroy = 0
    ticker.reset()
    started = time.perf_counter()
    last: Any = None
    open_ms: list[float] = []
    close_ms: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        panel_view = WebView("panel", html="<p style='background:#123'>panel</p>")
        widget = WebViewWidget(panel_view)
        holder = QDockWidget("panel", window)
        holder.setWidget(widget)
        window.addDockWidget(example.Qt.DockWidgetArea.LeftDockWidgetArea, holder)
        pump(app, until=lambda v=panel_view: v.reached("bridge") and v.reached("shown"), what="a panel")
        t1 = time.perf_counter()
        holder.deleteLater()  # the host destroys the dock: the view goes with it
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        pump(app, until=lambda v=panel_view: not v.is_open, what="a panel to close")
        open_ms.append((t1 - t0) * 1000)
        close_ms.append((time.perf_counter() - t1) * 1000)
        closed_by_destroy += 1
        last = panel_view
    cycle_ms = (time.perf_counter() - started) * 1000 / n
    open_ms.sort()
    close_ms.sort()
    result.update(
        panel_open_ms_median=open_ms[n // 2],
        panel_open_ms_max=open_ms[-1],
        panel_close_ms_median=close_ms[n // 2],
        panel_close_ms_max=close_ms[-1],
    )
    result["panel_cycle_max_stall_ms"] = ticker.max_gap * 1000
    result["panel_cycle_ms"] = cycle_ms
    result["closed_by_destroy"] = closed_by_destroy
    threads_after = threads()  # before the checks below, which may start a thread of their own
    result["emit_after_destroy"] = last.emit("late", 1)
    try:
        on_loop(app, last, last.eval_js("1"))
        result["eval_after_destroy"] = "no error"
    except WindowClosed:
        result["eval_after_destroy"] = "WindowClosed"
    pump(app, 1.0)  # WebKit's processes of the last panels exit
    for _ in range(50):
        if web_processes() <= web_before:
            break
        pump(app, 0.1)
    result.update(
        x_windows_before=x_before,
        x_windows_after=x_windows(),
        threads_before=threads_before,
        threads_after=threads_after,
        web_processes_before=web_before,
        web_processes_after=web_processes(),
        live_views=len(_live),
        python_threads=[t.name for t in threading.enumerate()],  # for a failure's message
    )
    return result


def scenario_during_load() -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    from auroraview import Commands, WebView

    app = QApplication([])
    page = """<!doctype html><p>load</p><script>
    window.got = []; window.duringLoad = false;
    auroraview.on("n", (n) => window.got.push(n));
    auroraview.on("during_load", () => { window.duringLoad = true; });
    window.addEventListener("load", () => auroraview.send_event("page_load", {}));
    </script>"""
    commands = Commands()
    view = WebView("load", html=page, commands=commands)

    @commands.on("page_load")
    def page_load(_: dict[str, Any]) -> None:
        view.emit("during_load", True)

    emitted = 0
    stop = threading.Event()

    def emitter() -> None:
        nonlocal emitted
        while not stop.is_set():
            view.emit("n", emitted)
            emitted += 1
            time.sleep(0.001)

    thread = threading.Thread(target=emitter)
    thread.start()
    time.sleep(0.02)
    view.show(block=False)
    order: list[str] = []
    check = stages_reached(view, order)
    pump(app, until=lambda: (check(), view.reached("bridge") and view.reached("loaded"))[1], what="the page")
    pump(app, 0.2)
    stop.set()
    thread.join()
    got: list[int] = []
    for _ in range(200):
        got = on_loop(app, view, view.eval_js("window.got"))
        if len(got) >= emitted:
            break
        pump(app, 0.02)
    during = on_loop(app, view, view.eval_js("window.duringLoad"))
    view.close()
    pump(app, until=lambda: not view.is_open, what="the close")
    return {"emitted": emitted, "got": got, "during_load": during, "stages": order}


def scenario_busy() -> dict[str, Any]:
    """The Qt main thread busy for a second in a main-thread handler: the page's other calls
    and the events Python emits meanwhile wait for it, then all arrive, in order."""
    from PySide6.QtWidgets import QApplication

    from auroraview import Commands, QtExecutor, WebView

    app = QApplication([])
    page = """<!doctype html><p>busy</p><script>
    window.echoed = []; window.ticks = []; window.done = false;
    auroraview.on("tick", (n) => window.ticks.push(n));
    window.run = async () => {
      const blocked = auroraview.call("block", { seconds: 1.0 });
      await new Promise((r) => setTimeout(r, 100));  // the main thread is busy by now
      const echoes = [];
      for (let i = 0; i < 50; i++) echoes.push(auroraview.call("echo", { n: i }).then((n) => window.echoed.push(n)));
      await Promise.all(echoes);
      window.blockResult = await blocked;
      window.done = true;
    };
    </script>"""
    commands = Commands()
    busy = threading.Event()
    block_ended: list[float] = []
    echo_times: list[float] = []
    emit_times: list[float] = []

    @commands.command(thread="main")
    def block(seconds: float) -> str:
        busy.set()
        time.sleep(seconds)  # a long host operation: Qt's loop, and the window, wait
        block_ended.append(time.perf_counter())
        return "done"

    @commands.command()
    async def echo(n: int) -> int:
        echo_times.append(time.perf_counter())
        return n

    view = WebView("busy", html=page, commands=commands, main_thread=QtExecutor())
    view.show(block=False)
    pump(app, until=lambda: view.reached("bridge"), what="the bridge")
    emitted = 0

    def emitter() -> None:  # Python emits while the main thread is busy
        nonlocal emitted
        busy.wait(10)
        for n in range(100):
            view.emit("tick", n)
            emit_times.append(time.perf_counter())
            emitted += 1
            time.sleep(0.005)

    thread = threading.Thread(target=emitter)
    thread.start()
    on_loop(app, view, view.eval_js("window.run(); 1"))
    pump(app, until=lambda: on_loop(app, view, view.eval_js("window.done")) is True, what="the page's calls")
    thread.join()
    pump(app, 0.3)
    result = {
        "echoed": on_loop(app, view, view.eval_js("window.echoed")),
        "block_result": on_loop(app, view, view.eval_js("window.blockResult")),
        "ticks": on_loop(app, view, view.eval_js("window.ticks")),
        "emitted": emitted,
        # The page's calls reached Python only once the main thread was free again; the
        # events were all emitted while it was busy.
        "echoes_after_block": min(echo_times) >= block_ended[0],
        "emitted_during_block": max(emit_times) < block_ended[0],
    }
    view.close()
    pump(app, until=lambda: not view.is_open, what="the close")
    return result


def scenario_x11_parent() -> dict[str, Any]:
    from auroraview import WebView, WindowError

    xlib = ctypes.CDLL("libX11.so.6")
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XDefaultRootWindow.restype = ctypes.c_ulong
    xlib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    xlib.XCreateSimpleWindow.restype = ctypes.c_ulong
    xlib.XCreateSimpleWindow.argtypes = (
        [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_int] * 2 + [ctypes.c_uint] * 3 + [ctypes.c_ulong] * 2
    )
    for fn in ("XMapWindow", "XDestroyWindow"):
        getattr(xlib, fn).argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    xlib.XResizeWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_uint, ctypes.c_uint]
    xlib.XFlush.argtypes = [ctypes.c_void_p]
    xlib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    display = xlib.XOpenDisplay(None)
    parent = xlib.XCreateSimpleWindow(display, xlib.XDefaultRootWindow(display), 0, 0, 400, 300, 0, 0, 0xFFFFFF)
    xlib.XMapWindow(display, parent)
    xlib.XSync(display, 0)
    result: dict[str, Any] = {"parent": parent}
    view = WebView("child", html="<p>in a host's window</p>", parent=parent)
    view.show(block=False)

    async def ready_and_eval() -> Any:
        await view.wait_ready("bridge")
        return await view.eval_js("6 * 7")

    home = view.app.loop
    assert home is not None, "the view is not open"
    result["eval"] = asyncio.run_coroutine_threadsafe(ready_and_eval(), home).result(20)
    result["parent_of_view"] = x_parent(view.native_id)
    deadline = time.monotonic() + 5
    while x_size(view.native_id) != [400, 300] and time.monotonic() < deadline:
        time.sleep(0.02)
    result["initial_size"] = x_size(view.native_id)
    xlib.XResizeWindow(display, parent, 520, 360)
    xlib.XSync(display, 0)
    deadline = time.monotonic() + 5
    while x_size(view.native_id) != [520, 360] and time.monotonic() < deadline:
        time.sleep(0.02)
    result["followed_size"] = x_size(view.native_id)
    xlib.XDestroyWindow(display, parent)
    xlib.XSync(display, 0)
    result["closed_with_parent"] = view.wait_closed(5)
    try:
        WebView("orphan", html="<p>x</p>", parent=0x3FFFFFF).show(block=False)
        result["bad_parent_error"] = "none"
    except WindowError as exc:
        result["bad_parent_error"] = type(exc).__name__
        result["bad_parent_message"] = str(exc)
    return result


def scenario_pyqt6() -> dict[str, Any]:
    """A PyQt6 host (no PySide6 imported): the panel docked, its page calling a main-thread
    command through `QtExecutor`, drawn inside the window, closed when the host destroys it."""
    from PyQt6.QtCore import QCoreApplication, QEvent, Qt
    from PyQt6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow

    import auroraview.qt
    from auroraview import Commands, QtExecutor, WebView, WindowClosed
    from auroraview.qt import WebViewWidget

    app = QApplication([])
    window = QMainWindow()
    window.resize(900, 600)
    status = QLabel("idle")
    window.setCentralWidget(status)
    commands = Commands()
    on_main: list[bool] = []

    @commands.command(thread="main")
    def set_status(text: str) -> str:
        on_main.append(threading.current_thread() is threading.main_thread())
        status.setText(text)
        return status.text()

    page = """<!doctype html><body style="margin:0;background:#1d3557"><script>
    window.reply = null;
    auroraview.call("set_status", { text: "from pyqt6" }).then((r) => { window.reply = r; });
    </script></body>"""
    view = WebView("pyqt6", html=page, commands=commands, main_thread=QtExecutor())
    widget = WebViewWidget(view)
    widget.setMinimumWidth(400)
    dock = QDockWidget("panel", window)
    dock.setWidget(widget)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.show()
    pump(app, until=lambda: status.text() == "from pyqt6", what="the page's main-thread call")
    pump(app, 0.3)
    result: dict[str, Any] = {"binding": auroraview.qt._BINDING, "pyside6_loaded": "PySide6" in sys.modules}
    result.update(status=status.text(), on_main=on_main, pixel=pixel(app, widget))
    result["reply"] = on_loop(app, view, view.eval_js("window.reply"))
    result["embedded_under_host"] = int(window.winId()) in x_ancestors(view.native_id)
    signals: list[int] = []
    widget.closed.connect(lambda: signals.append(1))
    dock.setFloating(True)
    pump(app, 0.2)
    dock.setFloating(False)
    pump(app, 0.2)
    result["alive_after_float"] = widget.is_alive
    dock.deleteLater()  # the host destroys the dock: the view goes with it
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    pump(app, until=lambda: not view.is_open, what="the panel to close with its dock")
    result["emit_after_destroy"] = view.emit("late", 1)
    try:
        on_loop(app, view, view.eval_js("1"))
        result["eval_after_destroy"] = "no error"
    except WindowClosed:
        result["eval_after_destroy"] = "WindowClosed"
    window.close()
    return result


def live_stages() -> list[tuple[str, dict[str, bool]]]:
    """The stages each open view reached (for a timeout's message)."""
    from auroraview.webview import _live

    return [(v.label, {s: v.reached(s) for s in ("created", "shown", "loaded", "bridge")}) for v in _live]


if __name__ == "__main__":
    outcome = globals()[f"scenario_{sys.argv[1]}"]()
    sys.stdout.flush()
    print(json.dumps(outcome))
    sys.stdout.flush()
    os._exit(0)  # the scenario checked its own cleanup; skip interpreter teardown races
