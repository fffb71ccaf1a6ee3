"""What ipc-framework 1.1.2's request/response does besides the happy path (the peer of
bench/net.py). Not a benchmark and not run by it: a few seconds of checks, one line each.

    python bench/net_peer_probe.py

Its server and clients run in this process (behaviour, not speed, is checked here).
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from typing import Any

from ipc_framework import FrameworkClient, FrameworkServer, MessageType


def quiet() -> contextlib.AbstractContextManager[Any]:
    return contextlib.redirect_stdout(io.StringIO())


def main() -> None:
    server = FrameworkServer(host="127.0.0.1", port=0)
    channel = server.create_application("probe").create_channel("api")
    server_log = io.StringIO()

    def handle(message: Any) -> None:
        action = message.payload.get("action")
        if action == "fail":
            raise RuntimeError("handler failed")
        if action == "slow":
            time.sleep(0.5)
        conn = server.connection_manager.get_connection(message.payload.get("connection_id"))
        server.send_to_connection(conn, message.create_response({"for": message.message_id}))

    channel.set_handler(MessageType.REQUEST, handle)
    with quiet():
        server.start()
    assert server.server_socket is not None
    port = server.server_socket.getsockname()[1]

    def client() -> FrameworkClient:
        c = FrameworkClient("probe", host="127.0.0.1", port=port)
        with quiet():
            assert c.connect()
        return c

    a, b = client(), client()

    # 0. Transport.
    assert a.socket is not None
    nodelay = a.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    print(f"transport: TCP, 4-byte length then JSON in two sendall() calls, TCP_NODELAY={nodelay} (Nagle on)")

    # 1. The happy path, and its latency.
    t0 = time.perf_counter()
    reply = a.send_request("api", {"connection_id": a.connection_id})
    print(f"own connection_id in the payload: reply {'received' if reply else 'MISSING'} in {(time.perf_counter() - t0) * 1000:,.0f} ms")

    # 2. Who gets the reply: the connection the *payload* names, not the sender.
    with contextlib.redirect_stdout(server_log):
        t0 = time.perf_counter()
        reply = a.send_request("api", {"connection_id": b.connection_id}, timeout=0.5)
    waited = time.perf_counter() - t0
    time.sleep(0.2)
    print(
        f"B's connection_id in A's request: A got {'a reply' if reply else 'nothing'} "
        f"(gave up after {waited:,.1f} s); B holds {len(b.pending_responses)} reply it never asked for"
    )

    # 3. No connection_id: the handler has no way to find the caller.
    with contextlib.redirect_stdout(server_log):
        t0 = time.perf_counter()
        reply = a.send_request("api", {}, timeout=0.5)
    print(f"no connection_id in the payload: {'reply' if reply else 'no reply'}; the caller waits its whole timeout ({time.perf_counter() - t0:,.1f} s) and gets None")

    # 4. A handler that raises: logged on the server's stdout, nothing sent back.
    with contextlib.redirect_stdout(server_log):
        t0 = time.perf_counter()
        reply = a.send_request("api", {"connection_id": a.connection_id, "action": "fail"}, timeout=1.0)
        waited = time.perf_counter() - t0
        got = threading.Event()
        a.send_request_async("api", {"connection_id": a.connection_id, "action": "fail"}, lambda _m: got.set())
        called = got.wait(1.0)
    print(
        f"handler raises: send_request returns {reply!r} after its whole timeout ({waited:,.1f} s), "
        f"like a slow server; send_request_async's callback {'ran' if called else 'never runs (no error, no timeout)'}, "
        f"{len(a.response_handlers)} callback(s) left registered"
    )

    # 5. One server-wide lock around every handler: a slow handler stalls every connection.
    with quiet():
        slow = threading.Thread(target=lambda: b.send_request("api", {"connection_id": b.connection_id, "action": "slow"}, timeout=2))
        slow.start()
        time.sleep(0.05)
        t0 = time.perf_counter()
        reply = a.send_request("api", {"connection_id": a.connection_id}, timeout=2)
        slow.join()
    print(f"a 0.5 s handler on connection B: a no-op on connection A took {(time.perf_counter() - t0) * 1000:,.0f} ms (route_message holds the server's lock)")

    # 6. send_request_async registers its callback after sending: a reply that wins the race
    #    is filed for send_request and the callback never runs. GIL contention widens it.
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            sum(range(100))

    spinners = [threading.Thread(target=busy, daemon=True) for _ in range(4)]
    for t in spinners:
        t.start()
    stranded, n = 0, 40
    event = threading.Event()
    for _ in range(n):
        event.clear()
        mid = a.send_request_async("api", {"connection_id": a.connection_id}, lambda _m: event.set())
        while not event.wait(0.3):
            with a._response_lock:
                if a.pending_responses.pop(mid, None) is not None:
                    stranded += 1
                    break
    stop.set()
    print(f"send_request_async with 4 busy threads in the client: {stranded} of {n} replies arrived before their callback was registered (callback never ran)")

    # 7. Late replies are kept forever.
    print(f"replies left in pending_responses (never collected, never expired): A {len(a.pending_responses)}, B {len(b.pending_responses)}")

    lines = [line for line in server_log.getvalue().splitlines() if line.strip()]
    print(f"server printed (its only error report): {lines[:3]}")
    with quiet():
        for c in (a, b):
            with contextlib.suppress(OSError, AttributeError):
                c.socket.shutdown(socket.SHUT_RDWR)
            c.disconnect()
        server.stop()


if __name__ == "__main__":
    main()
