"""Faults and misuse around a real window's lifetime (RELIABILITY.md cases 26, 27; issue 10):
`SystemExit` in a handler exits the program with its code after closing the window, a sync
handler that never returns does not hold up the exit after its window closed, Ctrl-C during
`show()` exits without a chained traceback, and lifecycle misuse raises a clear error."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from auroraview import WebView, WindowClosed

READY_PAGE = '<!doctype html><p>faults</p><script>window.addEventListener("auroraviewready", () => { %s });</script>'


def env() -> dict[str, str]:
    """This environment (with the session's DISPLAY), quiet about accessibility and D-Bus."""
    return {**os.environ, "NO_AT_BRIDGE": "1", "DBUS_SESSION_BUS_ADDRESS": "disabled:"}


def spawn(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )


def wait_line(proc: subprocess.Popen[str], want: str, timeout: float = 30) -> float:
    """Read stdout until a line equal to ``want``; returns when it came (perf_counter)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.strip() == want:
            return time.perf_counter()
    proc.kill()
    _, err = proc.communicate()
    raise AssertionError(f"no {want!r} line; stderr: {err}")


# -- SystemExit / KeyboardInterrupt in a handler (case 27) -------------------------------------


@pytest.mark.parametrize(
    "handler",
    [
        "def bye() -> None:\n    sys.exit(3)",
        "async def bye() -> None:\n    raise SystemExit(3)",
        "async def bye() -> None:\n    await asyncio.sleep(0.01)\n    sys.exit(3)",
    ],
    ids=["sync", "async_before_await", "async_after_await"],
)
def test_system_exit_in_a_handler_closes_the_window_and_exits_with_its_code(display: str, handler: str) -> None:
    script = f"""
import asyncio, sys
from auroraview import WebView
view = WebView(title="exit", html='''{READY_PAGE % 'auroraview.call("bye");'}''')

@view.command()
{handler}

view.on_close(lambda: print("closed", flush=True))
view.show()
print("show returned", flush=True)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=env())
    assert proc.returncode == 3, (proc.returncode, proc.stderr)
    # The window closed cleanly, then show() raised SystemExit(3): nothing after it ran.
    lines = proc.stdout.splitlines()
    assert "closed" in lines and "show returned" not in lines, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr


def test_keyboard_interrupt_in_a_handler_interrupts_show(display: str) -> None:
    script = f"""
from auroraview import WebView
view = WebView(title="interrupt", html='''{READY_PAGE % 'auroraview.call("stop");'}''')

@view.command()
def stop() -> None:
    raise KeyboardInterrupt

view.on_close(lambda: print("closed", flush=True))
try:
    view.show()
except KeyboardInterrupt:
    print("show raised KeyboardInterrupt", flush=True)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["closed", "show raised KeyboardInterrupt"]


# -- a stuck sync handler when the window closes (case 26) --------------------------------------


def test_a_stuck_sync_handler_does_not_hold_up_exit_after_the_window_closed(display: str) -> None:
    grace = 1.0
    proc = spawn(
        f"""
        import asyncio, threading
        from auroraview import App, Commands, WebView
        commands = Commands()
        app = App(commands, shutdown_grace={grace})
        view = WebView(title="stuck", html='''{READY_PAGE % 'auroraview.call("stuck"); auroraview.call("page_ready");'}''', app=app)

        @commands.command()
        def stuck() -> None:
            threading.Event().wait()

        @commands.command()
        async def page_ready() -> None:
            await asyncio.sleep(0.2)  # the stuck call is running by now
            print("closing", flush=True)
            view.close()

        view.show()
        print("show returned", flush=True)
        """
    )
    closing = wait_line(proc, "closing")
    try:
        _, err = proc.communicate(timeout=grace + 10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"the process did not exit after its window closed: {err}") from None
    elapsed = time.perf_counter() - closing
    assert proc.returncode == 0, err
    assert elapsed <= grace + 1, elapsed
    assert "'stuck'" in err and "abandon" in err, err
    assert "Traceback" not in err, err


# -- Ctrl-C during show() (issue 10) -----------------------------------------------------------


def test_ctrl_c_during_show_exits_promptly_without_a_chained_traceback(display: str) -> None:
    proc = spawn(
        f"""
        from auroraview import WebView
        view = WebView(title="ctrl-c", html='''{READY_PAGE % 'auroraview.call("page_ready");'}''')

        @view.command()
        def page_ready() -> None:
            print("open", flush=True)

        @view.command()
        async def busy() -> None:
            import asyncio
            await asyncio.sleep(3600)

        view.on_close(lambda: print("closed", flush=True))
        view.show()
        print("show returned", flush=True)
        """
    )
    wait_line(proc, "open")
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"Ctrl-C did not end the process: {err}") from None
    assert time.perf_counter() - sent < 5
    # show() raises KeyboardInterrupt once the window has closed; uncaught, Python exits as
    # interrupted by SIGINT (-2 here, status 130 in a shell).
    assert proc.returncode == -signal.SIGINT, (proc.returncode, err)
    assert out.splitlines() == ["closed"], out
    assert err.count("Traceback") <= 1 and "During handling" not in err, err
    assert err.rstrip().endswith("KeyboardInterrupt"), err


# -- misuse is an error, not silence (issue 10) ------------------------------------------------


def test_showing_an_open_window_again_is_an_error(display: str) -> None:
    view = WebView(title="twice", html="<p>twice</p>")
    view.show(block=False)
    try:
        with pytest.raises(RuntimeError, match="already open"):
            view.show(block=False)
        with pytest.raises(RuntimeError, match="already open"):
            view.show()

        async def run_again() -> None:
            await view.run_async()

        with pytest.raises(RuntimeError, match="already open"):
            asyncio.run(run_again())
        assert view.is_open
    finally:
        view.close()
        assert view.wait_closed(10)


def test_a_closed_window_cannot_be_shown_again(display: str) -> None:
    view = WebView(title="closed", html="<p>closed</p>")
    view.show(block=False)
    view.close()
    assert view.wait_closed(10)
    for show in (lambda: view.show(block=False), view.show, lambda: asyncio.run(view.run_async())):
        with pytest.raises(RuntimeError, match=r"was closed.*create a new WebView"):
            show()
    assert not view.is_open
    view.close()  # closing again stays harmless


def test_close_before_show_is_an_error_at_show(display: str) -> None:
    view = WebView(title="early", html="<p>early</p>")
    view.close()
    with pytest.raises(RuntimeError, match=r"was closed.*create a new WebView"):
        view.show(block=False)
    assert not view.is_open

    async def main() -> None:
        other = WebView(title="early2", html="<p>early</p>")
        other.close()
        with pytest.raises(RuntimeError, match=r"was closed.*create a new WebView"):
            await other.run_async()

    asyncio.run(main())


def test_system_exit_in_a_handler_is_raised_by_wait_closed_after_show_without_blocking(display: str) -> None:
    view = WebView(title="host", html=READY_PAGE % 'auroraview.call("quit", {code: 7});')

    @view.command()
    def quit(code: int) -> None:
        sys.exit(code)

    view.show(block=False)
    with pytest.raises(SystemExit) as info:
        view.wait_closed(20)
    assert info.value.code == 7
    assert not view.is_open
    assert view.wait_closed(1)  # raised once


def test_wait_closed_on_a_window_never_shown_is_an_error(display: str) -> None:
    # It returned True at once, as if a window had been shown and closed.
    view = WebView(title="unshown", html="<p>unshown</p>")
    with pytest.raises(RuntimeError, match=r"never shown.*show\(block=False\)"):
        view.wait_closed(5)
    view.close()  # closed before it was ever shown: still nothing to wait for
    with pytest.raises(RuntimeError, match=r"never shown"):
        view.wait_closed(5)


def test_wait_open_after_close_raises_window_closed_at_once(display: str) -> None:
    # It waited its whole timeout, then raised TimeoutError("the window did not open").
    shown = WebView(title="shown", html="<p>shown</p>")
    shown.show(block=False)
    shown.close()
    assert shown.wait_closed(10)
    never = WebView(title="never", html="<p>never</p>")
    never.close()

    async def main() -> None:
        for view in (shown, never):
            started = time.monotonic()
            with pytest.raises(WindowClosed, match="was closed"):
                await view.wait_open(timeout=5)
            assert time.monotonic() - started < 1

    asyncio.run(main())


def test_emit_on_a_closed_window_returns_false_and_warns_once(
    display: str, caplog: pytest.LogCaptureFixture
) -> None:
    # It was accepted silently: held for a page that would never connect.
    view = WebView(title="emit", html="<p>emit</p>")
    view.show(block=False)
    assert view.emit("tick", 0) is True
    # A background producer racing the close: never raises, and learns from the return value.
    results: list[bool] = []
    errors: list[BaseException] = []

    def produce() -> None:
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                ok = view.emit("tick", len(results))
                results.append(ok)
                if not ok:
                    return
                time.sleep(0.001)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    with caplog.at_level(logging.WARNING, logger="auroraview"):
        producer = threading.Thread(target=produce)
        producer.start()
        time.sleep(0.05)
        view.close()
        producer.join(10)
        assert view.wait_closed(10)
        held = view.app.core.held
        assert view.emit("tick", -1) is False
        assert view.emit("tick", -2) is False
    assert not errors and results and results[-1] is False
    assert view.app.core.held == held, "nothing held for a closed window"
    warned = [r for r in caplog.records if "closed" in r.getMessage() and "emit" in r.getMessage()]
    assert len(warned) == 1, [r.getMessage() for r in caplog.records]
    assert "'tick'" in warned[0].getMessage()
