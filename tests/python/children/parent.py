"""A parent program for tests/python/test_children.py: serves an app (the fake server, or
the real one), spawns ``child.py watch MARKER [HEARTBEAT]``, prints the child's pid once
it is connected, then waits to be killed (or stopped) by the test.

    parent.py fake|real MARKER [HEARTBEAT]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # netfake

from netfake import FakeApp, wait_until  # noqa: E402

from auroraview import App, Commands  # noqa: E402
from auroraview.children import ChildManager  # noqa: E402


def main() -> int:
    kind, marker, *heartbeat = sys.argv[1:]
    app: Any = FakeApp() if kind == "fake" else App(Commands())
    manager = ChildManager(app)
    child = manager.spawn("watcher", [sys.executable, str(HERE / "child.py"), "watch", marker, *heartbeat])
    if not wait_until(child.is_connected, timeout=10):
        print("child did not connect", flush=True)
        manager.close()
        return 1
    print(child.pid, flush=True)
    time.sleep(60)
    manager.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
