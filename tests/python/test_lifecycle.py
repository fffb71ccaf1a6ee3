"""Lifecycle: cancellation, timeouts, shutdown with calls in flight, clean interpreter exit,
no leaked threads (RELIABILITY.md cases 9, 10, 13)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from auroraview import Commands, InvokeError
from auroraview.testing import TestClient


def make(log: list[str]) -> Commands:
    commands = Commands()

    @commands.command()
    async def hang(tag: str) -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            log.append(f"cancelled:{tag}")
            raise
        finally:
            log.append(f"finally:{tag}")
        return "never"

    @commands.command(timeout=0.2)
    async def too_slow() -> str:
        try:
            await asyncio.sleep(3600)
        finally:
            log.append("finally:too_slow")
        return "never"

    @commands.command(timeout=1.0)
    async def in_time() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    @commands.command()
    def quick() -> int:
        return 1

    return commands


async def test_handler_timeout_replies_at_the_limit_and_cancels_the_task() -> None:
    log: list[str] = []
    async with TestClient(make(log)) as client:
        started = time.perf_counter()
        with pytest.raises(InvokeError) as info:
            await client.call("too_slow")
        elapsed = time.perf_counter() - started
        assert info.value.code == "timeout"
        assert 0.18 <= elapsed <= 0.3, elapsed
        await asyncio.sleep(0.01)
        assert log == ["finally:too_slow"]
        assert await client.call("in_time") == "ok"
        stats = client.stats()
        assert stats["timeouts"] == 1 and stats["late_results"] == 0


async def test_caller_cancel_reaches_the_handler_with_one_reply() -> None:
    log: list[str] = []
    async with TestClient(make(log)) as client:
        task = asyncio.ensure_future(client.call("hang", {"tag": "a"}))
        await asyncio.sleep(0.01)
        started = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        while "finally:a" not in log:
            await asyncio.sleep(0.001)
        assert time.perf_counter() - started < 0.1
        assert log == ["cancelled:a", "finally:a"]
        stats = client.stats()
        assert stats["cancelled"] == 1 and stats["late_results"] == 0
        assert client.runtime.core.in_flight == 0


async def test_client_side_timeout_sends_cancel() -> None:
    log: list[str] = []
    async with TestClient(make(log)) as client:
        with pytest.raises(InvokeError) as info:
            await client.call("hang", {"tag": "b"}, timeout=0.05)
        assert info.value.code == "timeout"
        while "finally:b" not in log:
            await asyncio.sleep(0.001)
        assert "cancelled:b" in log


async def test_stop_answers_calls_in_flight_shutting_down() -> None:
    log: list[str] = []
    baseline = threading.active_count()
    client = TestClient(make(log))
    await client.__aenter__()
    assert await client.call("quick") == 1
    calls = [asyncio.ensure_future(client.call("hang", {"tag": str(i)})) for i in range(20)]
    await asyncio.sleep(0.01)
    await client.aclose()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, InvokeError) and r.code == "shutting_down" for r in results), results
    assert sorted(log) == sorted([f"cancelled:{i}" for i in range(20)] + [f"finally:{i}" for i in range(20)])
    assert threading.active_count() == baseline
    with pytest.raises(RuntimeError, match="not open"):
        await client.call("quick")


def test_interpreter_exit_with_calls_in_flight_is_clean() -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from auroraview import Commands
        from auroraview.testing import TestClient

        commands = Commands()

        @commands.command()
        async def hang() -> None:
            await asyncio.sleep(3600)

        @commands.command()
        def sync_hang() -> None:
            import time
            time.sleep(0.3)

        async def main():
            client = TestClient(commands)
            await client.__aenter__()
            calls = []
            for _ in range(50):
                calls.append(asyncio.ensure_future(client.call("hang")))
                calls.append(asyncio.ensure_future(client.call("sync_hang")))
            await asyncio.sleep(0.05)
            await client.aclose()
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert all(r.code == "shutting_down" for r in results), results
            print("closed")

        asyncio.run(main())
        """
    )
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "dev", "-c", script], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "closed"
    assert "Event loop is closed" not in proc.stderr
    assert "Traceback" not in proc.stderr and "never retrieved" not in proc.stderr, proc.stderr
    assert time.perf_counter() - started < 5


def test_exit_without_closing_the_client_does_not_hang_or_abort() -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from auroraview import Commands
        from auroraview.testing import TestClient

        commands = Commands()

        @commands.command()
        async def hang() -> None:
            await asyncio.sleep(3600)

        async def main():
            client = TestClient(commands)
            await client.__aenter__()
            pending = asyncio.ensure_future(client.call("hang"))
            pending.add_done_callback(lambda t: t.cancelled() or t.exception())
            await asyncio.sleep(0.05)

        asyncio.run(main())
        print("exited")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "exited"
    assert "Event loop is closed" not in proc.stderr
