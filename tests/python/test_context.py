"""`CallContext`: a handler parameter the runtime fills, outside the params (issue 11's "call
context"): the caller's identity, the deadline, and cancellation, for sync and async handlers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from auroraview import App, CallContext, Commands, InvokeError, WebView, connect
from auroraview.contract import build_contract
from auroraview.testing import TestClient


def test_the_context_parameter_is_not_part_of_the_params() -> None:
    commands = Commands()

    @commands.command()
    def greet(name: str, ctx: CallContext) -> str:
        return name

    schema = json.dumps(build_contract(commands))
    assert '"name"' in schema and "ctx" not in schema and "CallContext" not in schema


def test_a_context_parameter_must_be_one_keyword_parameter_without_default() -> None:
    commands = Commands()
    with pytest.raises(TypeError, match="are all CallContext"):

        @commands.command()
        def two(a: CallContext, b: CallContext) -> None: ...

    with pytest.raises(TypeError, match="takes no default"):

        @commands.command()
        def defaulted(ctx: CallContext = None) -> None: ...  # type: ignore[assignment]

    with pytest.raises(TypeError, match="passable by keyword"):

        @commands.command()
        def positional(ctx: CallContext, /) -> None: ...


async def test_it_names_the_caller_and_the_deadline_for_sync_and_async_handlers() -> None:
    commands = Commands()
    seen: list[CallContext] = []

    @commands.command(timeout=5)
    async def who(ctx: CallContext) -> str:
        seen.append(ctx)
        return ctx.transport

    @commands.command()
    def who_sync(tag: str, ctx: CallContext) -> str:
        seen.append(ctx)
        assert threading.current_thread() is not threading.main_thread()
        return tag

    view = WebView("ctx", html="<p>x</p>", commands=commands)
    async with TestClient(view) as client:
        assert await client.call("who") == "in_process"
        assert await client.call("who_sync", {"tag": "t"}) == "t"
        conn = client.connection
    a, s = seen
    assert (a.method, a.conn, a.transport, a.window) == ("who", conn, "in_process", view.label)
    assert a.deadline is not None and 4.0 < (a.deadline - time.monotonic()) + 0.5 <= 5.5
    assert s.method == "who_sync" and s.deadline is None and s.remaining is None
    assert not a.cancelled and not s.cancelled


async def test_a_cancelled_call_sets_the_flag_a_sync_handler_can_wait_on() -> None:
    commands = Commands()
    saw: dict[str, Any] = {}
    started = threading.Event()

    @commands.command()
    def long_job(ctx: CallContext) -> str:
        started.set()
        saw["cancelled"] = ctx.wait_cancelled(10)
        return "done"

    @commands.command(timeout=0.2)
    async def slow(ctx: CallContext) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            saw["async"] = ctx.cancelled
            raise

    async with TestClient(commands) as client:
        call = asyncio.ensure_future(client.call("long_job"))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        call.cancel()  # the test client sends `cancel`
        with pytest.raises(asyncio.CancelledError):
            await call
        for _ in range(500):
            if "cancelled" in saw:
                break
            await asyncio.sleep(0.01)
        assert saw["cancelled"] is True
        with pytest.raises(InvokeError) as err:
            await client.call("slow")
        assert err.value.code == "timeout"
        for _ in range(100):
            if "async" in saw:
                break
            await asyncio.sleep(0.01)
        assert saw["async"] is True


def test_over_the_network_it_names_the_transport_and_origin() -> None:
    app = App(Commands())

    @app.commands.command(transports=("network",))
    def whoami(ctx: CallContext) -> dict[str, Any]:
        return {"transport": ctx.transport, "origin": ctx.origin, "window": ctx.window}

    server = app.serve()
    try:
        with connect(server.ws_url, server.token) as client:
            assert client.call("whoami") == {"transport": "network", "origin": None, "window": None}
    finally:
        server.close()
        app.close()
