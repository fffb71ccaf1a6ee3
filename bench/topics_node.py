"""One server process of the topics benchmark (bench/topics.py).

    python bench/topics_node.py [BROKER_URL PREFIX]

Serves an app with open topics (``App(..., broker=BROKER_URL)`` when given) and one
command, ``blast(topic, n, size, rate)``: the app publishes ``n`` messages on ``topic``
(``{"t": ms since 1970, "i": i, "pad": "x" * size}``), as fast as it can (``rate`` 0) or
``rate`` per second, then answers how many it published and how many failed. Prints one JSON
line (where to connect, the token, the pid), then serves until its stdin closes or SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

from auroraview import App, Commands, TopicsUnavailable


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else None
    prefix = sys.argv[2] if len(sys.argv) > 2 else "bench"
    commands = Commands(open_topics=True)

    @commands.command()
    def blast(topic: str, n: int, size: int = 64, rate: float = 0) -> dict[str, Any]:
        pad = "x" * size
        failed = 0
        start = time.perf_counter()
        for i in range(n):
            if rate > 0:
                wait = start + i / rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            try:
                app.publish(topic, {"t": time.time() * 1000, "i": i, "pad": pad})
            except TopicsUnavailable:
                failed += 1
        return {"published": n - failed, "failed": failed, "seconds": time.perf_counter() - start}

    @commands.command()
    def broker_up() -> bool:
        status = app.broker_status()
        return status is None or bool(status["up"])

    app = App(commands) if broker is None else App(commands, broker=broker, broker_prefix=prefix)
    srv = app.serve(expose="all", max_outbound_bytes=64 * 1024 * 1024)
    print(json.dumps({"url": srv.ws_url, "token": srv.token, "pid": os.getpid()}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.stdin.read()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        srv.close()
        app.close()


if __name__ == "__main__":
    main()
