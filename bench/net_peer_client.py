"""The load generator of bench/net.py for the peer: ipc-framework 1.1.2's own Python client
(``FrameworkClient``) against its own server (bench/net_server.py peer), in a process of its
own.

    python bench/net_peer_client.py '{"port": PORT, "server_pid": PID, ...}'

One JSON argument (see ``DEFAULTS``), one JSON line on stdout, the same measurements as
bench/net_client.mjs where its client allows them:

- seq_sync: ``send_request`` one at a time (its blocking call: it polls for the reply every
            10 ms).
- seq:      ``send_request_async`` with a callback setting a ``threading.Event``, one at a
            time (its fastest way to wait for one reply).
- pipe:     ``window`` chains of ``send_request_async`` on one connection: each callback
            (run on the client's receive thread) sends the chain's next request.
- conns:    ``conns`` clients (a socket and a receive thread each) connected first, then one
            chain each.

Every request is a REQUEST on channel ``noop`` with ``{"connection_id": ...}`` as payload:
the server's handler needs it to find the connection to answer (see net_server.py).

``send_request_async`` sends the request before it registers the callback, so a reply that
arrives in between is filed under ``pending_responses`` (where ``send_request`` looks) and
the callback never runs: the caller would wait forever. Such replies are counted
(``stranded``), picked up from ``pending_responses`` by the waiting thread, and their chain
goes on.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import statistics
import sys
import threading
import time
from typing import Any

from ipc_framework import FrameworkClient
from net_common import Timed, pct

DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "server_pid": 0,
    "warmup": 20,
    "seq_sync": 50,
    "seq": 2000,
    "pipe": 20000,
    "window": 256,
    "conns": 100,
    "per_conn": 100,
    "only": ["seq_sync", "seq", "pipe", "conns"],
}
opt = {**DEFAULTS, **json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")}
CHANNEL = "noop"


def timed(fn: Any) -> tuple[Any, float, dict[str, float]]:
    with Timed(opt["server_pid"]) as t:
        out = fn()
    return out, t.wall_s, t.cpu


def disconnect(clients: list[FrameworkClient]) -> None:
    """Its ``disconnect`` closes the socket and joins the receive thread for up to 1 s, but a
    ``recv`` blocked in that thread is not woken by ``close`` on Linux: shut the sockets down
    first, or closing 100 clients takes 100 s."""
    with contextlib.redirect_stdout(io.StringIO()):
        for c in clients:
            with contextlib.suppress(OSError, AttributeError):
                c.socket.shutdown(socket.SHUT_RDWR)  # None once closed: AttributeError
        for c in clients:
            c.disconnect()


def connect() -> FrameworkClient:
    client = FrameworkClient("bench", host=opt["host"], port=opt["port"])
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Connected to IPC server as ..."
        if not client.connect():
            raise SystemExit("net_peer_client: cannot connect to the ipc-framework server")
    return client


class Counter:
    """Replies received, whichever way they came back."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = 0
        self.stranded = 0


def take_stranded(client: FrameworkClient) -> int:
    """Replies filed under pending_responses because they beat their callback's registration."""
    with client._response_lock:
        n = len(client.pending_responses)
        client.pending_responses.clear()
    return n


def seq_sync(client: FrameworkClient, n: int) -> dict[str, Any]:
    payload = {"connection_id": client.connection_id}
    samples: list[float] = []
    lost = 0

    def run() -> None:
        nonlocal lost
        for _ in range(n):
            t0 = time.perf_counter_ns()
            if client.send_request(CHANNEL, payload) is None:
                lost += 1
            samples.append((time.perf_counter_ns() - t0) / 1000)

    _, wall, cpu = timed(run)
    return {"n": n, "median_us": statistics.median(samples), "p99_us": pct(samples, 0.99), "lost": lost, "wall_s": wall, "cpu": cpu}


def seq(client: FrameworkClient, n: int) -> dict[str, Any]:
    payload = {"connection_id": client.connection_id}
    samples: list[float] = []
    stranded = 0
    event = threading.Event()

    def on_reply(_message: Any) -> None:
        event.set()

    def one() -> float:
        nonlocal stranded
        event.clear()
        t0 = time.perf_counter_ns()
        mid = client.send_request_async(CHANNEL, payload, on_reply)
        while not event.wait(0.005):
            with client._response_lock:
                if client.pending_responses.pop(mid, None) is not None:
                    stranded += 1
                    break
        return (time.perf_counter_ns() - t0) / 1000

    for _ in range(opt["warmup"]):
        one()
    stranded = 0
    _, wall, cpu = timed(lambda: [samples.append(one()) for _ in range(n)])
    return {"n": n, "median_us": statistics.median(samples), "p99_us": pct(samples, 0.99), "stranded": stranded, "wall_s": wall, "cpu": cpu}


def chains(clients: list[FrameworkClient], in_flight: int, total: int) -> int:
    """``total`` requests over ``clients``, ``in_flight`` at a time on each; returns how many
    replies were stranded (and picked up here)."""
    counter = Counter()
    sent = 0
    sent_lock = threading.Lock()
    finished = threading.Event()

    def claim() -> bool:
        nonlocal sent
        with sent_lock:
            if sent >= total:
                return False
            sent += 1
            return True

    def replied(client: FrameworkClient, payload: dict[str, str]) -> None:
        with counter.lock:
            counter.done += 1
            if counter.done == total:
                finished.set()
        if claim():
            client.send_request_async(CHANNEL, payload, lambda _m: replied(client, payload))

    for client in clients:
        payload = {"connection_id": client.connection_id}
        for _ in range(in_flight):
            if claim():
                client.send_request_async(CHANNEL, payload, lambda _m, c=client, p=payload: replied(c, p))
    while not finished.wait(0.02):
        for client in clients:
            n = take_stranded(client)
            with counter.lock:
                counter.stranded += n
            payload = {"connection_id": client.connection_id}
            for _ in range(n):
                replied(client, payload)
    return counter.stranded


def pipe(client: FrameworkClient) -> dict[str, Any]:
    chains([client], opt["window"], min(opt["pipe"], 1000))  # warm-up
    stranded, wall, cpu = timed(lambda: chains([client], opt["window"], opt["pipe"]))
    return {"n": opt["pipe"], "window": opt["window"], "per_s": opt["pipe"] / wall, "stranded": stranded, "wall_s": wall, "cpu": cpu}


def conns() -> dict[str, Any]:
    clients: list[FrameworkClient] = []
    try:
        for _ in range(opt["conns"]):
            clients.append(connect())
        chains(clients, 1, opt["conns"] * 5)  # warm-up
        total = opt["conns"] * opt["per_conn"]
        stranded, wall, cpu = timed(lambda: chains(clients, 1, total))
        return {"n": total, "conns": opt["conns"], "per_s": total / wall, "stranded": stranded, "wall_s": wall, "cpu": cpu}
    finally:
        disconnect(clients)


def main() -> None:
    result: dict[str, Any] = {"client": "ipc-framework", "threads_switch_interval_s": sys.getswitchinterval()}
    client = connect()
    try:
        if "seq_sync" in opt["only"]:
            result["seq_sync"] = seq_sync(client, opt["seq_sync"])
        if "seq" in opt["only"]:
            result["seq"] = seq(client, opt["seq"])
        if "pipe" in opt["only"]:
            result["pipe"] = pipe(client)
    finally:
        disconnect([client])
    if "conns" in opt["only"]:
        result["conns"] = conns()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
