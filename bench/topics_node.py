"""One server process of the topics benchmark (bench/topics.py).

    python bench/topics_node.py [BROKER_URL PREFIX]

Serves an app with open topics (``App(..., broker=BROKER_URL)`` when given), which the
bench's clients subscribe and publish to, and ``broker_up()``. Prints one JSON
line (where to connect, the token, the pid), then serves until its stdin closes or SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from auroraview import App, Commands


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else None
    prefix = sys.argv[2] if len(sys.argv) > 2 else "bench"
    commands = Commands(open_topics=True)

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
