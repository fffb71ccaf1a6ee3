"""Streams and channels from a real window's page (docs/streams.md; issue 11): the injected
bridge's `stream()` and `call(..., {onItem})` against the real router and runtime."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from harness import kill_renderers, until

from auroraview import STREAM_WINDOW, Channel, Commands, PageFault, WebView

PAGE = """<!doctype html><meta charset="utf-8"><script>
const report = (name, data) => auroraview.call("report", {name, data});
const scenarios = {
  async order(n) {
    let expected = 0, bad = null;
    for await (const x of auroraview.stream("count", {n})) {
      if (x !== expected && bad === null) bad = {at: expected, got: x};
      expected++;
    }
    return {count: expected, bad};
  },
  async stalled() {
    const it = auroraview.stream("forever")[Symbol.asyncIterator]();
    const first = await it.next();
    await auroraview.call("wait_go");          // Python looks at what the generator produced
    await it.return();                          // what `break` does
    return first.value.done;
  },
  async broken() {
    for await (const p of auroraview.stream("forever")) {
      if (p.done === 10) { await auroraview.call("mark"); break; }
    }
    return true;
  },
  async aborted() {
    const ctl = new AbortController();
    try {
      for await (const p of auroraview.stream("forever", undefined, {signal: ctl.signal})) {
        if (p.done === 5) { await auroraview.call("mark"); ctl.abort(); }
      }
      return "not aborted";
    } catch (e) { return {name: e.name, code: e.code}; }
  },
  async failing() {
    const got = [];
    try { for await (const x of auroraview.stream("fails_after", {n: 3})) got.push(x); }
    catch (e) { return {got, name: e.name, code: e.code, message: e.message, data: e.data}; }
    return {got};
  },
  async channel() {
    const log = [];
    const result = await auroraview.call("export", {path: "/x"}, {onItem: (p) => log.push(p.done)});
    log.push(result);
    return log;
  },
  async cancel_many(n) {
    const ctls = [], calls = [];
    for (let i = 0; i < n; i++) {
      const c = new AbortController(); ctls.push(c);
      calls.push(auroraview.call("hang", {i}, {signal: c.signal}).then(() => "resolved", (e) => e.code));
    }
    await auroraview.call("wait_started", {n});
    for (const c of ctls) c.abort();
    const codes = await Promise.all(calls);
    return {cancelled: codes.filter((c) => c === "cancelled").length, stats: auroraview.stats()};
  },
  async killed_mid_stream() {
    const it = auroraview.stream("forever")[Symbol.asyncIterator]();
    await it.next();
    await auroraview.call("mark");              // reading no further: the stream stays in flight
    await new Promise(() => {});
  },
  async reload_mid_stream() {
    const it = auroraview.stream("forever")[Symbol.asyncIterator]();
    await it.next();
    location.reload();
    await new Promise(() => {});
  },
};
addEventListener("auroraviewready", () => {
  auroraview.on("run", async ({name, arg}) => {
    try { await report(name, {ok: true, value: await scenarios[name](arg)}); }
    catch (e) { await report(name, {ok: false, value: String(e && e.stack || e)}); }
  });
  auroraview.call("page_ready");
});
</script>"""


class Harness:
    def __init__(self) -> None:
        self.commands = Commands()
        self.reports: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.ready: asyncio.Queue[None] = asyncio.Queue()
        self.finally_at: list[tuple[str, float]] = []
        self.produced = 0
        self.marks: list[float] = []
        self.go = asyncio.Event()
        self.hanging: set[int] = set()
        self.hang_cancelled = 0
        c = self.commands

        @c.command()
        async def page_ready() -> None:
            self.ready.put_nowait(None)

        @c.command()
        async def report(name: str, data: Any) -> None:
            self.reports.put_nowait((name, data))

        @c.command()
        async def mark() -> None:
            self.marks.append(time.monotonic())

        @c.command()
        async def wait_go() -> None:
            await self.go.wait()

        @c.command()
        def count(n: int) -> Iterator[int]:
            yield from range(n)

        @c.command()
        async def forever() -> AsyncIterator[dict[str, int]]:
            try:
                i = 0
                while True:
                    i += 1
                    self.produced = i
                    yield {"done": i}
                    await asyncio.sleep(0)
            finally:
                self.finally_at.append(("forever", time.monotonic()))

        @c.command()
        async def fails_after(n: int) -> AsyncIterator[int]:
            for i in range(n):
                yield i
            raise ValueError("it broke")

        @c.command()
        async def export(path: str, progress: Channel[dict[str, int]]) -> str:
            for done in range(1, 4):
                await progress.send({"done": done})
            return path

        @c.command()
        async def hang(i: int) -> None:
            self.hanging.add(i)
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.hang_cancelled += 1
                raise

        @c.command()
        async def wait_started(n: int) -> None:
            while len(self.hanging) < n:
                await asyncio.sleep(0.005)

        self.view = WebView("streams", html=PAGE, commands=c)

    async def run(self, name: str, arg: Any = None, timeout: float = 60) -> Any:
        self.view.emit("run", {"name": name, "arg": arg})
        got, data = await asyncio.wait_for(self.reports.get(), timeout)
        assert got == name
        assert data["ok"], data["value"]
        return data["value"]

    async def wait_finally(self, n: int, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.finally_at) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        assert len(self.finally_at) >= n, "the generator's finally did not run"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness()
    task = asyncio.ensure_future(harness.view.run_async())
    try:
        await asyncio.wait_for(harness.ready.get(), 30)
        yield harness
    finally:
        harness.view.close()
        await asyncio.wait_for(task, 10)


async def test_streams_and_channels_in_a_real_window(h: Harness) -> None:
    # 100,000 items, in order, none lost or duplicated (a sync generator in the pool).
    assert await h.run("order", 100_000, timeout=120) == {"count": 100_000, "bad": None}

    # A page that stops reading holds the generator at the window.
    h.go.clear()
    task = asyncio.ensure_future(h.run("stalled"))
    await asyncio.sleep(0.5)
    assert 1 <= h.produced <= STREAM_WINDOW + 1
    h.go.set()
    assert await task == 1
    await h.wait_finally(1)

    # `break` closes the generator: its finally runs within 100 ms.
    h.marks.clear()
    assert await h.run("broken") is True
    await h.wait_finally(2)
    assert h.finally_at[1][1] - h.marks[0] < 0.1

    # An AbortSignal: the loop throws `cancelled`, the generator is closed.
    h.marks.clear()
    assert await h.run("aborted") == {"name": "AbortError", "code": "cancelled"}
    await h.wait_finally(3)
    assert h.finally_at[2][1] - h.marks[0] < 0.1

    # An error after items: the items, then the structured error.
    failing = await h.run("failing")
    assert failing["got"] == [0, 1, 2]
    assert (failing["name"], failing["code"], failing["message"]) == ("ValueError", "internal", "it broke")

    # A channel's items arrive before its result.
    assert await h.run("channel") == [1, 2, 3, "/x"]

    # 1,000 calls in flight cancelled at once: one terminal reply each, every handler stopped.
    many = await h.run("cancel_many", 1000)
    assert many["cancelled"] == 1000
    assert many["stats"]["pending"] == 0
    for _ in range(200):
        if h.hang_cancelled == 1000:
            break
        await asyncio.sleep(0.01)
    assert h.hang_cancelled == 1000
    core = h.view.app.core
    assert core.in_flight == 0
    assert core.stats()["late_results"] == 0


async def test_reloading_the_page_ends_its_streams(h: Harness) -> None:
    h.view.emit("run", {"name": "reload_mid_stream", "arg": None})
    await asyncio.wait_for(h.ready.get(), 30)  # the reloaded page is back
    await h.wait_finally(1, timeout=5)
    assert h.view.app.core.in_flight == 0


async def test_a_killed_renderer_ends_its_streams_and_the_page_reloads(h: Harness) -> None:
    # RELIABILITY.md case 24: the dead page's connection is disconnected, which closes the
    # generators of its streams as it cancels its calls.
    faults: list[PageFault] = []
    h.view.on_fault(faults.append)
    h.view.emit("run", {"name": "killed_mid_stream", "arg": None})
    await until(lambda: h.marks, 10, "the page to read the stream's first item")
    assert h.view.app.core.in_flight == 1 and not h.finally_at
    killed = time.monotonic()
    assert kill_renderers() >= 1
    await h.wait_finally(1, timeout=2)
    assert h.finally_at[0][1] - killed < 2
    assert h.view.app.core.in_flight == 0
    await until(lambda: faults, 5, "the crash to be reported")
    assert (faults[0].kind, faults[0].reloading) == ("crashed", True)
    # Reloaded by default: the new page is back and streams again.
    await asyncio.wait_for(h.ready.get(), 30)
    assert await h.run("order", 10) == {"count": 10, "bad": None}
