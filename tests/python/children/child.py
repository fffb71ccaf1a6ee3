"""A child program for tests/python/test_children.py, spawned by a `ChildManager`.

child.py echo            say "ready", echo every parent message back as "echo", call the
                         parent's "parent.add", exit 0 on "quit"
child.py late            like echo, but registers its handler 0.5 s after "ready"
child.py idle            say "ready", then wait (to be killed)
child.py stubborn        ignore SIGTERM, say "ready", wait
child.py watch MARKER [HEARTBEAT]
                         say "ready", write "parent-exit <code>" to MARKER when the parent
                         goes away, then exit 3 (HEARTBEAT: this child's ping interval)
child.py standalone      not started by a parent: print what ChildContext says, exit 0
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

from auroraview.children import ENV_PARENT_TOKEN, ChildContext, NotAChildError


def main() -> int:
    mode = sys.argv[1]
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    quit_ = threading.Event()
    heartbeat = float(sys.argv[3]) if mode == "watch" and len(sys.argv) > 3 else None
    with ChildContext(timeout=2.0, heartbeat=heartbeat) as ctx:
        if mode == "standalone":
            ctx.emit_to_parent("nobody", 1)
            try:
                ctx.call("x")
            except NotAChildError:
                print("standalone ok", ctx.is_child, ctx.child_id, ctx.wait_closed(0), flush=True)
            return 0

        def handle(event: str, data: Any) -> None:
            if event == "quit":
                quit_.set()
            elif event == "call":
                ctx.emit_to_parent("called", ctx.call("parent.add", data))
            else:
                ctx.emit_to_parent("echo", {"event": event, "data": data})

        if mode == "watch":
            marker = sys.argv[2]

            @ctx.on_parent_exit
            def gone() -> None:
                client = ctx.client
                with open(marker + ".tmp", "w") as f:
                    f.write(f"parent-exit {client.close_code if client else None}")
                os.replace(marker + ".tmp", marker)  # the test sees the marker whole or not at all
                quit_.set()

        if mode != "late":
            ctx.on_parent_message(handle)
        ctx.emit_to_parent(
            "ready",
            {"id": ctx.child_id, "pid": os.getpid(), "token_in_env": ENV_PARENT_TOKEN in os.environ, "argv": sys.argv},
        )
        if mode == "late":
            time.sleep(0.5)
            ctx.on_parent_message(handle)
        quit_.wait(30)
    return 3 if mode == "watch" else 0


if __name__ == "__main__":
    sys.exit(main())
