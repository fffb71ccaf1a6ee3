"""The e2e page harness: a window showing tests/e2e/page with the commands its scenarios
call; it runs a scenario and returns what the page reported. Also the helpers several e2e
files share: a plain HTTP server, this process's WebKit children, and polling a condition."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from auroraview import Commands, InvokeException, WebView

PAGE = Path(__file__).parent / "page"


class Vec(BaseModel):
    x: float
    y: float


class Harness:
    """A window showing tests/e2e/page with the commands its scenarios call."""

    def __init__(self, **webview_kwargs: Any) -> None:
        self.commands = Commands()
        self.log: list[str] = []
        self.page_events: list[int] = []
        self.reports: dict[str, asyncio.Future[Any]] = {}
        self.ready: asyncio.Queue[str] = asyncio.Queue()
        self.view = WebView(title="e2e", assets=PAGE, commands=self.commands, **webview_kwargs)
        self._register()
        self._task: asyncio.Task[None] | None = None

    def _register(self) -> None:
        c, h = self.commands, self

        @c.command()
        async def page_ready(url: str) -> None:
            h.ready.put_nowait(url)

        @c.command()
        async def report(name: str, ok: bool, data: Any = None) -> None:
            fut = h.reports.get(name)
            if fut is not None and not fut.done():
                fut.set_result(data if ok else AssertionError(f"scenario {name} failed in the page: {data}"))

        @c.command()
        async def echo(value: Any) -> Any:
            return value

        @c.command()
        async def add(a: int, b: int) -> int:
            return a + b

        @c.command()
        def mul(a: int, b: int) -> int:
            assert threading.current_thread() is not threading.main_thread()
            return a * b

        @c.command()
        async def move(v: Vec) -> Vec:
            return Vec(x=v.x + 1, y=v.y + 1)

        @c.command()
        async def nothing() -> None:
            return None

        @c.command()
        async def nap(ms: float) -> float:
            await asyncio.sleep(ms / 1000)
            return ms

        @c.command()
        async def fail(kind: str) -> None:
            if kind == "invoke":
                raise InvokeException("name taken", code="name_taken", data={"field": "new_name"})
            raise KeyError("secret")

        @c.command(timeout=0.2)
        async def too_slow() -> None:
            try:
                await asyncio.sleep(30)
            finally:
                h.log.append("too_slow:finally")

        @c.command()
        async def hang(tag: str) -> None:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                h.log.append(f"cancelled:{tag}")
                raise

        @c.command()
        async def start_ticks(count: int) -> None:
            for i in range(count):
                h.view.emit("tick", {"seq": i})

        @c.on("from_page")
        def from_page(detail: dict[str, int]) -> None:
            h.page_events.append(detail["seq"])

        @c.command()
        async def count_page_events(expected: int) -> dict[str, Any]:
            for _ in range(500):
                if len(h.page_events) >= expected:
                    break
                await asyncio.sleep(0.01)
            return {"received": len(h.page_events), "inOrder": h.page_events == list(range(expected))}

        @c.command()
        async def emit_tricky(value: Any) -> None:
            h.view.emit('tricky "</script>', value)

        class Api:
            def get_data(self) -> dict[str, Any]:
                return {"items": [1, 2, 3]}

            async def save(self, path: str) -> bool:
                return path == "/tmp/x"

        self.view.bind_api(Api())

        class Tools:
            def shout(self, text: str) -> str:
                return text.upper()

        self.view.bind_api(Tools(), namespace="tools")

        @c.command()
        async def emit_update(value: int) -> None:
            h.view.emit("update_data", {"value": value})

    async def open(self) -> str:
        self._task = asyncio.ensure_future(self.view.run_async())
        return await self.wait_ready()

    async def wait_ready(self, timeout: float = 20) -> str:
        getter = asyncio.ensure_future(self.ready.get())
        done, _ = await asyncio.wait({getter, self._task} if self._task else {getter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            if self._task is not None and self._task.done():
                self._task.result()  # raises the window's error
            raise TimeoutError("the page never reported ready")
        return getter.result()

    async def run(self, name: str, timeout: float = 20, **args: Any) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.reports[name] = fut
        self.view.emit("run", {"name": name, "args": args})
        result = await asyncio.wait_for(fut, timeout)
        if isinstance(result, AssertionError):
            raise result
        return result

    async def close(self) -> None:
        self.view.close()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)


@contextmanager
def http_server(folder: Path) -> Iterator[str]:
    """Serve `folder` over plain HTTP on 127.0.0.1 (a dev server, or another origin);
    yields its origin, `http://127.0.0.1:PORT`."""

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(folder), **kw)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def children(name: str) -> list[int]:
    """This process's child processes whose name starts with `name`."""
    me, found = os.getpid(), list[int]()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if int(rest.split()[1]) == me and comm.startswith(name):
            found.append(int(entry))
    return found


def kill_renderers() -> int:
    """SIGKILL every WebKit web process of this process (only the test's window is open)."""
    pids = children("WebKitWebProces")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return len(pids)


async def until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)
