"""One server node sharing its topics through a broker, for tests/python/test_topics_broker.py.

    python tests/python/broker_node.py --broker redis://127.0.0.1:6379/0 --prefix t1 [--port 0]
        [--token T] [--history 1000] [--small-history 5] [--max-outbound-bytes N]

Serves an `App(commands, broker=..., broker_prefix=...)` on a loopback port and prints one
JSON line when it listens: ``{"port", "token", "pid"}``. Topics: ``feed`` (declared, any JSON,
any client may subscribe and publish, ``--history`` kept), ``small`` (the same with
``--small-history`` kept), and any other valid name (``open_topics``). Commands (exposed to
every client) let a test look inside: ``node.status`` (``App.broker_status()``, the server's
stats), ``node.publish`` (``App.publish`` from the node itself: the offset, or the error's
class name and message). SIGTERM closes the server and the app; SIGKILL is the test's way to
crash it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any

from auroraview import App, Commands


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--prefix", default="auroraview")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=None)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--small-history", type=int, default=5)
    parser.add_argument("--max-outbound-bytes", type=int, default=8 * 1024 * 1024)
    args = parser.parse_args()

    commands = Commands(open_topics=True)
    commands.topic("feed", Any, subscribe=True, publish=True, history=args.history, history_bytes=256 * 1024 * 1024)
    commands.topic("small", Any, subscribe=True, publish=True, history=args.small_history)
    app = App(commands, broker=args.broker, broker_prefix=args.prefix)
    server: list[Any] = []

    @commands.command("node.status")
    def status() -> dict[str, Any]:
        """The broker link and the server's counters."""
        return {"pid": os.getpid(), "broker": app.broker_status(), "server": server[0].stats()["server"]}

    @commands.command("node.publish")
    def publish(topic: str, data: Any) -> dict[str, Any]:
        """`App.publish` on this node: the offset, or the error it raised."""
        try:
            return {"offset": app.publish(topic, data)}
        except Exception as exc:  # noqa: BLE001 - the test looks at what it was
            return {"error": type(exc).__name__, "message": str(exc)}

    srv = app.serve(
        "127.0.0.1",
        args.port,
        token=args.token,
        expose="all",
        max_outbound_bytes=args.max_outbound_bytes,
    )
    server.append(srv)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=srv.close, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(json.dumps({"port": srv.port, "token": srv.token, "pid": os.getpid()}), flush=True)
    srv.serve_forever()
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
