"""Topics over the network transport (docs/topics.md, "Slow consumers"): a subscriber that stops
reading is cut off with 4008 while the others keep getting everything in order and the
publisher never waits; reconnecting, it recovers exactly what it missed from history."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from test_server import call, hello, wait_for
from websockets.exceptions import ConnectionClosed

from auroraview import App, Commands


def test_a_slow_subscriber_is_cut_off_the_others_keep_everything_and_it_recovers_the_gap() -> None:
    commands = Commands()
    commands.topic("feed", dict[str, Any], history=20_000, history_bytes=64 * 1024 * 1024)
    app = App(commands)
    srv = app.serve(max_outbound_bytes=256 * 1024)
    try:
        slow = hello(srv, max_size=None)
        fast = hello(srv, max_size=None)
        sub = call(slow, "auroraview.subscribe", {"topic": "feed"})["result"]
        assert call(fast, "auroraview.subscribe", {"topic": "feed"}, id=2)["result"]["offset"] == 0
        got: list[int] = []
        done = threading.Event()

        def read_fast() -> None:
            while len(got) < 5000:
                frame = json.loads(fast.recv(timeout=20))
                if frame["type"] == "publication":
                    got.append(frame["offset"])
            done.set()

        reader = threading.Thread(target=read_fast)
        reader.start()
        # 5,000 messages of 1 KB: 5 MB, twenty times what the slow one may have queued.
        pad = "x" * 1000
        for i in range(5000):
            assert app.publish("feed", {"i": i, "pad": pad}) == i + 1
            if i % 50 == 49:
                time.sleep(0.01)  # the reader's pace (it shares the GIL): it keeps up, the other reads nothing
        assert done.wait(30), f"the reading subscriber got {len(got)} of 5000"
        reader.join()
        assert got == list(range(1, 5001)), "in order, none lost, none twice"
        wait_for(lambda: srv.stats()["server"]["slow_consumers"] == 1, timeout=20)
        # What the slow one had read before it was cut off: a prefix, then the close.
        seen: list[int] = []
        try:
            while True:
                frame = json.loads(slow.recv(timeout=5))
                if frame["type"] == "publication":
                    seen.append(frame["offset"])
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 4008
        assert seen == list(range(1, len(seen) + 1)) and len(seen) < 5000
        # It reconnects and resumes: exactly the rest, in order.
        again = hello(srv, max_size=None)
        r = call(again, "auroraview.subscribe", {"topic": "feed", "since": {"epoch": sub["epoch"], "offset": len(seen)}})
        assert r["result"] == {"epoch": sub["epoch"], "offset": 5000, "recovered": True}
        rest: list[int] = []
        while len(rest) < 5000 - len(seen):
            frame = json.loads(again.recv(timeout=10))
            if frame["type"] == "publication":
                rest.append(frame["offset"])
        assert rest == list(range(len(seen) + 1, 5001))
        for ws in (again, fast):
            ws.close()
    finally:
        srv.close()
        app.close()
