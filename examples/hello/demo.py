"""Drive the hello app through the real Rust IPC core and print the wire exchange.

    make demo            # or: .venv/bin/python examples/hello/demo.py

The native window arrives with the window host; until then this shows the same messages a
page would send and receive, routed by the same router.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from app import commands

from auroraview.testing import TestClient

SCRIPT = [
    {"type": "call", "id": 1, "method": "greet", "params": {"name": "Ada"}},
    {"type": "call", "id": 2, "method": "greet", "params": ["Ada"]},
    {"type": "call", "id": 3, "method": "api.rename_object", "params": {"old_name": "cube1", "new_name": "hero"}},
    {"type": "call", "id": 4, "method": "api.rename_object", "params": {"old_name": "hero", "new_name": "light1"}},
    {"type": "call", "id": 5, "method": "greet", "params": {"name": ""}},
    {"type": "call", "id": 6, "method": "__class__"},
    {"type": "event", "event": "export_scene", "detail": {"path": "/tmp/scene.fbx"}},
]


async def main() -> None:
    seen = 0
    async with TestClient(commands) as client:
        for msg in SCRIPT:
            text = json.dumps(msg)
            print(f"page → host  {text}")
            reply = await client.send_raw(text)
            if reply is not None:
                print(f"host → page  {reply}")
            for event in client.events[seen:]:
                print(f"host → page  {json.dumps({'type': 'event', 'event': event.name, 'payload': event.payload})}")
                seen += 1
            print()
        stats = client.stats()
    print(f"router: {stats['calls_accepted']} calls accepted, {stats['method_not_found']} unknown, {stats['dropped']} dropped")


if __name__ == "__main__":
    asyncio.run(main())
