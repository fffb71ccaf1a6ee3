"""One server of the network benchmark (bench/net.py), in a process of its own so that the
load generator does not share its GIL.

    python bench/net_server.py ours [SPIN_US] | floor | peer

Prints one JSON line (where to connect, and this process's pid), then serves until its
stdin closes (the driver exiting, however it exits, closes it) or SIGINT/SIGTERM.

- ours:  ``App(commands, spin_us=SPIN_US).serve(expose="all")`` with two no-op commands,
         ``noop`` (async) and ``noop_sync`` (sync: runs in the app's thread pool).
- floor: ``auroraview._core.EchoServer``: a bare axum WebSocket echo on the same stack.
- peer:  ipc-framework 1.1.2's ``FrameworkServer``, a channel ``noop`` whose REQUEST handler
         answers ``message.create_response(None)`` to the connection named in the payload
         (the pattern of its documentation: the handler gets the message, not the connection).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def ours(spin_us: int | None) -> tuple[dict[str, Any], Callable[[], None]]:
    from auroraview import App, Commands

    commands = Commands()

    @commands.command()
    async def noop() -> None:
        return None

    @commands.command()
    def noop_sync() -> None:
        return None

    app = App(commands) if spin_us is None else App(commands, spin_us=spin_us)
    srv = app.serve(expose="all")
    return {"url": srv.ws_url, "token": srv.token}, srv.close


def floor() -> tuple[dict[str, Any], Callable[[], None]]:
    from auroraview._core import EchoServer

    echo = EchoServer("127.0.0.1", 0)
    return {"url": f"ws://127.0.0.1:{echo.port}/", "token": None}, echo.close


def peer() -> tuple[dict[str, Any], Callable[[], None]]:
    from ipc_framework import FrameworkServer, MessageType

    server = FrameworkServer(host="127.0.0.1", port=0, max_connections=1024)
    channel = server.create_application("bench").create_channel("noop")

    def handle(message: Any) -> None:
        conn = server.connection_manager.get_connection(message.payload.get("connection_id"))
        server.send_to_connection(conn, message.create_response(None))

    channel.set_handler(MessageType.REQUEST, handle)
    server.start()
    assert server.server_socket is not None
    return {"host": "127.0.0.1", "port": server.server_socket.getsockname()[1]}, server.stop


def main() -> None:
    kind = sys.argv[1]
    # ipc-framework prints a line when it starts, per connection, and its errors, on stdout:
    # keep them out of the driver's pipe, on stderr (which the driver sends to a log file).
    out, sys.stdout = sys.stdout, sys.stderr
    if kind == "ours":
        info, close = ours(int(sys.argv[2]) if len(sys.argv) > 2 else None)
    elif kind == "floor":
        info, close = floor()
    elif kind == "peer":
        info, close = peer()
    else:
        raise SystemExit(f"unknown server {kind!r}")
    print(json.dumps({**info, "pid": os.getpid()}), file=out, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.stdin.read()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        close()


if __name__ == "__main__":
    main()
