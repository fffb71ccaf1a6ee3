"""Topics across server processes through a real broker (docs/topics.md, "Across processes";
RELIABILITY.md cases 31-33),
for Redis and for NATS JetStream: each test starts the broker on a free loopback port (in a
temporary folder) and server nodes (tests/python/broker_node.py, each a process of its own),
and connects Python network clients (`auroraview.client`) to them, directly or through a
small TCP proxy standing in for a load balancer (it can switch upstream, cut every
connection, and refuse new ones for a while).

Needs ``redis-server`` and ``nats-server`` (the Debian packages): a test whose broker is not
installed is skipped, unless the environment variable ``CI`` is set (then it fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from auroraview import InvokeError
from auroraview.client import AsyncClient, Publication, PublishResult, RecoveryInfo, connect_async

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).parents[2]
NODE = Path(__file__).with_name("broker_node.py")

#: Where Debian puts the brokers, besides PATH (nats-server is in /usr/sbin).
SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/usr/sbin", "/usr/local/bin"])
BINARIES = {"redis": "redis-server", "nats": "nats-server"}
#: What each broker logs once it accepts clients.
READY = {"redis": b"Ready to accept connections", "nats": b"Server is ready"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the brokers ----------------------------------------------------------------------------


class Broker:
    """redis-server or nats-server on a free loopback port, its data and log in ``folder``;
    ``kill`` and ``start`` again keep the port (and, for NATS, the JetStream store)."""

    def __init__(self, kind: str, binary: str, folder: Path) -> None:
        self.kind = kind
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.log_path = folder / f"{kind}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        if self.kind == "redis":
            return f"redis://127.0.0.1:{self.port}/0"
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "redis":
            return [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        return [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.folder / "jetstream")]

    def start(self, timeout: float = 20.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "running already"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while self.log_path.read_bytes().count(READY[self.kind]) < self.starts:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                text = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.kind} did not start on port {self.port}:\n{text}")
            time.sleep(0.02)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        _stop(self.proc, sig)

    def close(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def _binary(kind: str) -> str:
    found = shutil.which(BINARIES[kind], path=SEARCH)
    if found is None:
        why = f"{BINARIES[kind]} is not installed (apt-get install {BINARIES[kind]})"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return found


@pytest.fixture(params=["redis", "nats"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    kind: str = request.param
    b = Broker(kind, _binary(kind), tmp_path)
    try:
        b.start()
        yield b
    finally:
        b.close()


# -- the server nodes -----------------------------------------------------------------------


class Node:
    """A server process of tests/python/broker_node.py."""

    def __init__(self, proc: subprocess.Popen[bytes], ready: dict[str, Any], log: Path) -> None:
        self.proc = proc
        self.port: int = ready["port"]
        self.token: str = ready["token"]
        self.log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    async def call(self, method: str, params: Any = None) -> Any:
        async with await connect_async(self.url, timeout=5) as client:
            return await client.call(method, params, timeout=10)

    async def status(self) -> dict[str, Any]:
        return await self.call("node.status")

    async def wait_broker(self, up: bool, timeout: float = 20.0) -> dict[str, Any]:
        """Poll ``node.status`` until the node reports the broker ``up`` (or not)."""
        deadline = time.monotonic() + timeout
        while True:
            st = (await self.status())["broker"]
            if st["up"] is up:
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"node {self.port}: the broker is still {'down' if up else 'up'}: {st}")
            await asyncio.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        _stop(self.proc, sig)


class Cluster:
    """Starts nodes on one broker (one key prefix per test, one token for all, so that the
    proxy can send a client to any of them); stops every one it started."""

    def __init__(self, broker: Broker, folder: Path) -> None:
        self.broker = broker
        self.folder = folder
        self.prefix = "t" + secrets.token_hex(6)
        self.token = secrets.token_urlsafe(24)
        self.nodes: list[Node] = []
        self._files: list[IO[bytes]] = []

    def start(self, *args: str) -> Node:
        log = self.folder / f"node{len(self.nodes)}.log"
        cmd = [sys.executable, str(NODE), "--broker", self.broker.url, "--prefix", self.prefix, f"--token={self.token}"]
        with open(log, "ab") as err:
            proc = subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE, stderr=err, cwd=ROOT, start_new_session=True)
        assert proc.stdout is not None
        self._files.append(proc.stdout)
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else b""
        if not line:
            _stop(proc, signal.SIGKILL)
            raise RuntimeError(f"the node did not start:\n{log.read_text(errors='replace')[-3000:]}")
        node = Node(proc, json.loads(line), log)
        self.nodes.append(node)
        return node

    async def start_up(self, count: int, *args: str) -> list[Node]:
        """``count`` nodes, once each has linked to the broker."""
        nodes = [self.start(*args) for _ in range(count)]
        for node in nodes:
            await node.wait_broker(True)
        return nodes

    def close(self) -> None:
        for node in self.nodes:
            _stop(node.proc, signal.SIGKILL)
        for f in self._files:
            f.close()


@pytest.fixture
def cluster(broker: Broker, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(broker, tmp_path)
    try:
        yield c
    finally:
        c.close()


# -- a load balancer ------------------------------------------------------------------------


class Proxy:
    """A TCP proxy on a loopback port to one upstream port at a time: ``switch`` sends new
    connections elsewhere, ``cut`` aborts every open one (as a network failure would: no close
    frame), ``paused`` refuses new ones (accepted and aborted at once)."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.paused = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self, token: str) -> str:
        return f"http://127.0.0.1:{self.port}/?token={token}"

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.paused:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._open.update(pair)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(1 << 16):
                    dst.write(data)
                    await dst.drain()
            except (OSError, RuntimeError):
                pass
            finally:
                for w in pair:
                    w.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open.difference_update(pair)

    def cut(self) -> None:
        for w in list(self._open):
            w.transport.abort()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def proxy_to(node: Node) -> AsyncGenerator[Proxy]:
    p = Proxy(node.port)
    await p.start()
    try:
        yield p
    finally:
        await p.close()


# -- what subscribers were told, and publishers got ----------------------------------------------


class Seen:
    """One subscriber's log, in the order it was told: ``("msg", epoch, offset, data)`` and
    ``("recovery", info)``."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.count = 0

    def handler(self, data: Any, publication: Publication) -> None:
        self.log.append(("msg", publication.epoch, publication.offset, data))
        self.count += 1

    def on_recovery(self, info: RecoveryInfo) -> None:
        self.log.append(("recovery", info))

    @property
    def msgs(self) -> list[tuple[str, int, Any]]:
        return [(e[1], e[2], e[3]) for e in self.log if e[0] == "msg"]

    @property
    def offsets(self) -> list[int]:
        return [e[2] for e in self.log if e[0] == "msg"]

    @property
    def data(self) -> list[Any]:
        return [e[3] for e in self.log if e[0] == "msg"]

    @property
    def recoveries(self) -> list[RecoveryInfo]:
        return [e[1] for e in self.log if e[0] == "recovery"]


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.01)


class Publisher:
    """Publishes ``[name, i]`` for i = 0, 1, ... on a topic through one client, ``window`` at a
    time, recording each outcome: ``ok[i]`` (a `PublishResult`) or ``failed[i]`` (the error
    code). While the client reconnects it waits rather than fail on purpose."""

    def __init__(self, client: AsyncClient, name: str, topic: str = "feed") -> None:
        self.client = client
        self.name = name
        self.topic = topic
        self.ok: dict[int, PublishResult] = {}
        self.failed: dict[int, str] = {}
        self.stop = asyncio.Event()

    async def run(self, count: int | None = None, window: int = 16, pace: float = 0.0) -> None:
        next_i = 0

        async def worker() -> None:
            nonlocal next_i
            while not self.stop.is_set() and (count is None or next_i < count):
                i, next_i = next_i, next_i + 1
                while not self.client.connected and not self.client.closed and not self.stop.is_set():
                    await asyncio.sleep(0.005)
                try:
                    self.ok[i] = await self.client.publish(self.topic, [self.name, i], timeout=30)
                except InvokeError as exc:
                    self.failed[i] = exc.code
                if pace:
                    await asyncio.sleep(pace)

        await asyncio.gather(*(worker() for _ in range(window)))


def _codes(pubs: list[Publisher]) -> dict[str, int]:
    """How many publishes failed, by error code."""
    return dict(Counter(code for p in pubs for code in p.failed.values()))


def run_all(*aws: Awaitable[Any]) -> Awaitable[list[Any]]:
    return asyncio.gather(*aws)


# -- 1. order and exactly once, 100,000 messages over 3 nodes ----------------------------------

TOTAL = int(os.environ.get("AURORAVIEW_BROKER_MESSAGES", "100000"))


async def test_100_000_messages_over_3_nodes_reach_every_subscriber_once_in_one_order(
    broker: Broker, cluster: Cluster
) -> None:
    """A publisher and a subscriber on each of 3 nodes, 300 publishes in flight per publisher:
    every subscriber gets offsets 1..N consecutively, the same payloads in the same order, no
    duplicate and no gap notice; each publish's answer names the offset its payload has.
    (AURORAVIEW_BROKER_MESSAGES=N runs fewer.)"""
    nodes = await cluster.start_up(3)
    subscribers = [await connect_async(n.url) for n in nodes]
    publishers = [await connect_async(n.url) for n in nodes]
    try:
        seen = [Seen() for _ in subscribers]
        subs = [await c.subscribe("feed", s.handler, on_recovery=s.on_recovery) for c, s in zip(subscribers, seen)]
        assert {(sub.epoch, sub.offset) for sub in subs} == {(subs[0].epoch, 0)}
        shares = [TOTAL // 3 + (1 if k < TOTAL % 3 else 0) for k in range(3)]
        pubs = [Publisher(c, f"p{k}") for k, c in enumerate(publishers)]
        started = time.monotonic()
        await run_all(*(p.run(n, window=300) for p, n in zip(pubs, shares)))
        published = time.monotonic() - started
        await until(
            lambda: all(s.count >= TOTAL for s in seen),
            timeout=90,
            what=f"every message delivered: {[s.count for s in seen]} of {TOTAL}; failed: {_codes(pubs)}",
        )
        delivered = time.monotonic() - started
        print(
            f"\n{broker.kind}: {TOTAL} messages over 3 nodes: published in {published:.1f} s, delivered to 3 subscribers in {delivered:.1f} s"
        )
        assert _codes(pubs) == {}
        epoch = subs[0].epoch
        for s in seen:
            assert s.recoveries == []
            assert s.offsets == list(range(1, TOTAL + 1)), "consecutive, none twice"
            assert {e for e, _, _ in s.msgs} == {epoch}
        order = seen[0].data
        assert seen[1].data == order and seen[2].data == order, "one order on every node"
        # Every publish's answer names the offset its message has, and nothing else is there.
        assert len({r.offset for p in pubs for r in p.ok.values()}) == TOTAL
        for p in pubs:
            for i, r in p.ok.items():
                assert r.epoch == epoch and order[r.offset - 1] == [p.name, i]
        for c in subscribers:
            assert c.stats().duplicates == 0 and c.stats().unmatched == 0
    finally:
        for c in subscribers + publishers:
            await c.close()


async def test_one_connection_s_publishes_take_offsets_in_the_order_it_sent_them(broker: Broker, cluster: Cluster) -> None:
    """1,000 publishes written back to back on one connection (none waiting for its answer)
    get increasing offsets in the order they were sent, and reach a subscriber on another
    node in that order: a process hands its publishes to the broker in order (one publisher
    task), even with many in flight."""
    from websockets.asyncio.client import connect

    a, b = await cluster.start_up(2)
    watcher = await connect_async(b.url)
    try:
        seen = Seen()
        await watcher.subscribe("feed", seen.handler, on_recovery=seen.on_recovery)
        url = f"ws://127.0.0.1:{a.port}/__auroraview/ws"
        n = 1000
        async with connect(url, additional_headers={"Authorization": f"Bearer {a.token}"}, max_size=None) as ws:
            assert json.loads(await ws.recv())["type"] == "welcome"
            for i in range(n):
                call = {"type": "call", "id": i + 1, "method": "auroraview.publish", "params": {"topic": "feed", "data": i}}
                await ws.send(json.dumps(call))
            offsets: dict[int, int] = {}
            while len(offsets) < n:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame["type"] == "call_result":
                    assert frame["ok"], frame
                    offsets[frame["id"] - 1] = frame["result"]["offset"]
        assert [offsets[i] for i in range(n)] == sorted(offsets.values()), "offsets follow the sending order"
        await until(lambda: seen.count >= n, what=f"{n} delivered at node b")
        assert seen.data == list(range(n)) and seen.recoveries == []
    finally:
        await watcher.close()


# -- 2. a client cut off mid-stream recovers exactly the gap -----------------------------------


def _break_socket(client: AsyncClient) -> None:
    """Cut the client's TCP connection without a close frame (as a network failure would)."""
    client._ws.transport.abort()  # pyright: ignore[reportPrivateUsage]


async def _raw_subscribe(node: Node, params: dict[str, Any], count: int) -> tuple[dict[str, Any], list[int]]:
    """A bare connection (a client process started afresh, which kept its position):
    subscribe with ``params``, then read ``count`` publications' offsets."""
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{node.port}/__auroraview/ws"
    async with connect(url, additional_headers={"Authorization": f"Bearer {node.token}"}, max_size=None) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"
        await ws.send(json.dumps({"type": "call", "id": 1, "method": "auroraview.subscribe", "params": params}))
        answer: dict[str, Any] = {}
        offsets: list[int] = []
        while len(offsets) < count or not answer:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame["type"] == "call_result":
                assert "error" not in frame, frame
                answer = frame["result"]
            elif frame["type"] == "publication":
                assert answer, "a publication before the subscription's answer"
                offsets.append(frame["offset"])
        return answer, offsets


async def test_a_client_cut_off_mid_stream_recovers_exactly_the_gap(broker: Broker, cluster: Cluster) -> None:
    """A subscriber on node a loses its connection (no close frame) while a client of node b
    publishes; it stays away until 300 more were published, then reconnects: told
    `recovered: true` right after the last message it had, then exactly the gap and the rest,
    each once. A client started afresh at node b with a position it kept gets the same.
    The history holds every message: how many are published before the client is back depends
    on its reconnect backoff (full jitter, up to 10 s), and with the default 1,000 a slow return
    was a gap too long to recover (`recovered: false`, which the next test covers), not a fault."""
    a, b = await cluster.start_up(2, "--history", "100000")
    writer = await connect_async(b.url)
    try:
        async with proxy_to(a) as lb:
            client = await connect_async(lb.url(cluster.token), reconnect=True)
            try:
                seen = Seen()
                sub = await client.subscribe("feed", seen.handler, on_recovery=seen.on_recovery)
                pub = Publisher(writer, "w")
                total = 3000
                publishing = asyncio.ensure_future(pub.run(total, window=4, pace=0.001))
                await until(lambda: seen.count >= 500, what="the first 500")
                lb.paused = True
                lb.cut()
                await until(lambda: not client.connected)
                away = len(pub.ok)
                await until(lambda: len(pub.ok) >= away + 300, what="300 published while it is away")
                lb.paused = False
                await publishing
                assert pub.failed == {} and len(pub.ok) == total
                await until(lambda: seen.count >= total, timeout=20, what=f"all {total}")
                [info] = seen.recoveries
                assert info.recovered and info.epoch == sub.epoch and info.reason is None
                assert info.offset <= away + 4 < total - 300, "a gap of 300 at least was recovered"
                # Told right after the last message it had, then exactly the rest, in order.
                position = seen.log.index(("recovery", info))
                assert info.offset == position and seen.log[position - 1][2] == info.offset
                assert seen.offsets == list(range(1, total + 1))
                assert client.stats().reconnects == 1
            finally:
                await client.close()
        # A client started afresh at the other node with the position it kept: the rest.
        answer, rest = await _raw_subscribe(b, {"topic": "feed", "since": {"epoch": sub.epoch, "offset": 2500}}, 500)
        assert answer == {"epoch": sub.epoch, "offset": total, "recovered": True}
        assert rest == list(range(2501, total + 1))
    finally:
        await writer.close()


# -- 3. a gap longer than the history: recovered false -----------------------------------------


async def test_a_gap_longer_than_the_history_is_recovered_false_with_a_reason(broker: Broker, cluster: Cluster) -> None:
    """Topic `small` keeps 5 messages: a subscriber away while 20 were published is told
    `recovered: false` with a reason, at the newest offset, before the messages after it."""
    a, b = await cluster.start_up(2, "--small-history", "5")
    writer = await connect_async(b.url)
    try:
        async with proxy_to(a) as lb:
            client = await connect_async(lb.url(cluster.token), reconnect=True)
            try:
                seen = Seen()
                sub = await client.subscribe("small", seen.handler, on_recovery=seen.on_recovery)
                for i in range(3):
                    await writer.publish("small", i)
                await until(lambda: seen.count == 3)
                lb.paused = True
                lb.cut()
                await until(lambda: not client.connected)
                results = [await writer.publish("small", i) for i in range(3, 23)]  # twenty: five are kept
                assert results[-1] == PublishResult(sub.epoch, 23)
                lb.paused = False
                await until(lambda: len(seen.recoveries) == 1, timeout=20, what="told after the reconnection")
                [info] = seen.recoveries
                assert not info.recovered and info.reason, info
                assert (info.epoch, info.offset) == (sub.epoch, 23), "messages follow from the newest"
                await writer.publish("small", 23)
                await until(lambda: seen.count == 4)
                assert seen.log == [
                    *(("msg", sub.epoch, i + 1, i) for i in range(3)),
                    ("recovery", info),
                    ("msg", sub.epoch, 24, 23),
                ]
            finally:
                await client.close()
        # The same at the other node, on the wire.
        answer, _ = await _raw_subscribe(b, {"topic": "small", "since": {"epoch": sub.epoch, "offset": 3}}, 0)
        assert answer["recovered"] is False and answer["offset"] == 24 and "history" in answer["reason"], answer
    finally:
        await writer.close()


async def test_a_node_that_falls_behind_by_more_than_the_history_still_delivers_everything(
    broker: Broker, cluster: Cluster
) -> None:
    """Node a is stopped (SIGSTOP) while node b publishes 2,000 messages to topic `small`,
    which keeps 5: once a runs again, its subscriber gets every one, in order, and is told of
    no gap. The history bounds what a *subscriber* can recover after a reconnection, not how
    far a node may fall behind the broker (on NATS, the stream a node reads holds up to 100,000
    messages whatever the history; on Redis, the node's subscription is buffered by Redis)."""
    a, b = await cluster.start_up(2, "--small-history", "5")
    reader, writer = await connect_async(a.url), await connect_async(b.url)
    try:
        seen = Seen()
        await reader.subscribe("small", seen.handler, on_recovery=seen.on_recovery)
        for i in range(3):
            await writer.publish("small", i)
        await until(lambda: seen.count == 3)
        a.proc.send_signal(signal.SIGSTOP)
        try:
            for start in range(3, 2003, 100):
                await asyncio.gather(*(writer.publish("small", i) for i in range(start, start + 100)))
        finally:
            a.proc.send_signal(signal.SIGCONT)
        await until(lambda: seen.count >= 2003 or seen.recoveries != [], timeout=30, what=f"delivered {seen.count} of 2003")
        assert seen.recoveries == [], "told of a gap: the node lost what it had not read yet"
        assert seen.offsets == list(range(1, 2004)) and seen.data == list(range(2003))
    finally:
        await reader.close()
        await writer.close()


# -- 4. a node killed while clients publish: they move to another and recover ------------------


async def test_a_node_killed_while_clients_publish_its_clients_move_to_another_and_recover(
    broker: Broker, cluster: Cluster
) -> None:
    """A subscriber and a publisher reach node a through the balancer, another pair nodes c
    and b directly; node a is SIGKILLed mid-run. Its clients reconnect through the balancer to
    node b and resubscribe: `recovered: true`, and both subscribers end with the same
    consecutive offsets, each message once; publishes in flight at the kill fail with
    `disconnected` (and their message is there at most once)."""
    a, b, c = await cluster.start_up(3, "--history", "100000")
    async with proxy_to(a) as lb:
        via_lb = [await connect_async(lb.url(cluster.token), reconnect=True) for _ in range(2)]
        direct = [await connect_async(c.url), await connect_async(b.url)]
        clients = via_lb + direct
        try:
            seen = [Seen(), Seen()]  # one through the balancer (on a, then b), one on c
            subs = [
                await cl.subscribe("feed", s.handler, on_recovery=s.on_recovery)
                for cl, s in zip([via_lb[0], direct[0]], seen)
            ]
            pubs = [Publisher(via_lb[1], "lb"), Publisher(direct[1], "b")]
            each = 3000
            running = [asyncio.ensure_future(p.run(each, window=8, pace=0.002)) for p in pubs]
            await until(lambda: seen[1].count >= 1000, timeout=20)
            lb.upstream = b.port  # new connections go to b; a dies with the ones it has
            a.kill(signal.SIGKILL)
            await run_all(*running)
            end = await direct[1].publish("feed", "end")
            await until(
                lambda: all(s.data[-1:] == ["end"] for s in seen), timeout=30, what="the last message everywhere"
            )
            epoch = subs[0].epoch
            for s in seen:
                assert s.offsets == list(range(1, end.offset + 1)), "none lost, none twice"
                assert {e for e, _, _ in s.msgs} == {epoch}
            assert seen[0].data == seen[1].data
            [info] = seen[0].recoveries
            assert info.recovered and info.epoch == epoch
            assert seen[1].recoveries == []
            assert via_lb[0].stats().reconnects == 1 and via_lb[1].stats().reconnects == 1
            # Every publish answered is there once, where its answer said; one that failed
            # (in flight when the node died: `disconnected`) is there at most once.
            order = seen[0].data
            for p in pubs:
                for i, r in p.ok.items():
                    assert r.epoch == epoch and order[r.offset - 1] == [p.name, i]
                assert set(p.failed.values()) <= {"disconnected"}, p.failed
                assert len(p.ok) + len(p.failed) == each
            assert len(pubs[1].failed) == 0
            assert len(order) == len({json.dumps(d) for d in order})
            assert len(order) >= sum(len(p.ok) for p in pubs) + 1
        finally:
            for cl in clients:
                await cl.close()


# -- 5. the broker stopped and restarted mid-run ------------------------------------------------


def _missing_without_notice(seen: Seen, pubs: list[Publisher]) -> list[tuple[str, int, Any]]:
    """The publishes answered with an offset that this subscriber neither got nor was told
    it may have missed (a `recovered: false` notice between the messages around it)."""
    index = {(e[1], e[2]): n for n, e in enumerate(seen.log) if e[0] == "msg"}
    data_at = {(e[1], e[2]): e[3] for e in seen.log if e[0] == "msg"}
    silent: list[tuple[str, int, Any]] = []
    for p in pubs:
        for i, r in p.ok.items():
            key = (r.epoch, r.offset)
            if key in index:
                assert data_at[key] == [p.name, i], (key, data_at[key], [p.name, i])
                continue
            before = [n for (e, o), n in index.items() if e == r.epoch and o < r.offset]
            start = max(before) if before else -1
            after = [n for n in index.values() if n > start]
            stop = min(after) if after else len(seen.log)
            told = any(e[0] == "recovery" and not e[1].recovered for e in seen.log[start + 1 : stop])
            if not told:
                silent.append((r.epoch, r.offset, [p.name, i]))
    return silent


async def test_a_broker_killed_and_restarted_mid_run_loses_nothing_silently(broker: Broker, cluster: Cluster) -> None:
    """Clients of two nodes publish and subscribe while the broker is SIGKILLed and started
    again on its port. Both nodes report it down (`broker_status()`, with an error) and up
    again; publishes meanwhile fail with `unavailable` (`TopicsUnavailable` from `App.publish`).
    Every publish answered with an offset reached every subscriber, or the subscriber was told
    `recovered: false` where it is missing; none twice. Redis (no persistence) comes back
    empty: a new epoch, reported. NATS keeps its file store: the same history, nothing
    missed."""
    a, b = await cluster.start_up(2)
    clients = [await connect_async(n.url) for n in (a, b, a, b)]
    try:
        seen = [Seen(), Seen()]
        subs = [await cl.subscribe("feed", s.handler, on_recovery=s.on_recovery) for cl, s in zip(clients, seen)]
        pubs = [Publisher(clients[2], "a"), Publisher(clients[3], "b")]
        running = [asyncio.ensure_future(p.run(None, window=4, pace=0.002)) for p in pubs]
        await until(lambda: sum(len(p.ok) for p in pubs) >= 300, timeout=20)
        broker.kill(signal.SIGKILL)
        for node in (a, b):
            down = await node.wait_broker(False)
            assert down["outages"] >= 1 and down["last_error"], down
        await until(lambda: sum(v == "unavailable" for p in pubs for v in p.failed.values()) >= 10, timeout=20)
        refused = await a.call("node.publish", {"topic": "feed", "data": "from the node"})
        assert refused["error"] == "TopicsUnavailable", refused
        broker.start()
        for node in (a, b):
            await node.wait_broker(True)
        ok_before = sum(len(p.ok) for p in pubs)
        await until(lambda: sum(len(p.ok) for p in pubs) >= ok_before + 300, timeout=20, what="publishing again")
        for p in pubs:
            p.stop.set()
        await run_all(*running)
        end = await clients[3].publish("feed", "end")
        await until(lambda: all(s.data[-1:] == ["end"] for s in seen), timeout=10, what="the last message everywhere")
        codes = {code for p in pubs for code in p.failed.values()}
        assert codes == {"unavailable"}, codes
        for s in seen:
            assert _missing_without_notice(s, pubs) == []
            msgs = s.msgs
            assert len({(e, o) for e, o, _ in msgs}) == len(msgs), "none twice"
            assert len({json.dumps(d) for _, _, d in msgs}) == len(msgs), "none twice"
        if broker.kind == "redis":
            # Redis kept nothing (no persistence): a new history, and every subscriber told.
            assert end.epoch != subs[0].epoch
            for s in seen:
                assert any(not info.recovered for info in s.recoveries)
        else:
            # JetStream kept its stream on disk: the same history, bridged, nothing missed.
            assert end.epoch == subs[0].epoch
            for s in seen:
                assert s.recoveries == []
                assert s.offsets == list(range(1, end.offset + 1))
    finally:
        for cl in clients:
            await cl.close()


# -- 6. a slow subscriber is cut off, the others keep their rate --------------------------------


async def test_a_slow_subscriber_is_cut_off_while_the_others_keep_their_rate(broker: Broker, cluster: Cluster) -> None:
    """Node a queues at most 256 KiB per connection: a subscriber there that reads nothing is
    disconnected with 4008 (counted as `slow_consumers`) while subscribers on nodes a and b get
    all 5 MB in order, as fast as the publisher goes; it then recovers the rest from history at
    node b."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    a, b = await cluster.start_up(2, "--history", "20000", "--max-outbound-bytes", str(256 * 1024))
    fast = [await connect_async(a.url), await connect_async(b.url)]
    writer = await connect_async(b.url)
    url = f"ws://127.0.0.1:{a.port}/__auroraview/ws"
    slow = await connect(url, additional_headers={"Authorization": f"Bearer {a.token}"}, max_size=None, max_queue=4)
    try:
        assert json.loads(await slow.recv())["type"] == "welcome"
        await slow.send(
            json.dumps({"type": "call", "id": 1, "method": "auroraview.subscribe", "params": {"topic": "feed"}})
        )
        answer = json.loads(await slow.recv())
        epoch = answer["result"]["epoch"]
        seen = [Seen(), Seen()]
        for cl, s in zip(fast, seen):
            await cl.subscribe("feed", s.handler, on_recovery=s.on_recovery)
        # 5,000 messages of 1 KB: 5 MB, twenty times what the slow one may have queued; it
        # reads nothing meanwhile. The publisher goes 100 at a time, each batch once the fast
        # subscribers have it: they share this process's loop with it, and on a loaded machine
        # a batch of 250 left one of them 256 KiB behind, so it was cut off too (CI, once).
        pad = "x" * 1000
        total, batch = 5000, 100
        results: list[PublishResult] = []
        for chunk in range(0, total, batch):
            results += await run_all(*(writer.publish("feed", {"i": i, "pad": pad}) for i in range(chunk, chunk + batch)))
            await until(lambda n=chunk + batch: all(s.count >= n for s in seen), timeout=30, what="the fast subscribers")
        assert sorted(r.offset for r in results) == list(range(1, total + 1))
        for s in seen:
            assert s.offsets == list(range(1, total + 1)) and s.recoveries == []
        deadline = time.monotonic() + 20
        while (await a.status())["server"]["slow_consumers"] < 1:
            assert time.monotonic() < deadline, "the slow subscriber was not cut off"
            await asyncio.sleep(0.05)
        assert (await b.status())["server"]["slow_consumers"] == 0
        got: list[int] = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frame = json.loads(await asyncio.wait_for(slow.recv(), 10))
                if frame["type"] == "publication":
                    got.append(frame["offset"])
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
        assert got == list(range(1, len(got) + 1)) and len(got) < total
        # It comes back (at the other node) and recovers the rest from history.
        answer2, rest = await _raw_subscribe(
            b, {"topic": "feed", "since": {"epoch": epoch, "offset": len(got)}}, total - len(got)
        )
        assert answer2 == {"epoch": epoch, "offset": total, "recovered": True}
        assert rest == list(range(len(got) + 1, total + 1))
    finally:
        await slow.close()
        for cl in [*fast, writer]:
            await cl.close()


# -- after the broker returns: soon, and with the right names -----------------------------------


async def _publish_retrying(client: AsyncClient, data: Any, timeout: float = 20.0) -> PublishResult:
    """Publish ``data``, again while it fails with ``unavailable`` (the broker coming back)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await client.publish("feed", data)
        except InvokeError as exc:
            if exc.code != "unavailable" or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_deliveries_resume_within_seconds_of_the_broker_s_return(broker: Broker, cluster: Cluster) -> None:
    """After a restart, NATS may have forgotten a node's ordered consumer: the node follows
    again at once rather than when async-nats misses a heartbeat (about 15 s)."""
    a, b = await cluster.start_up(2)
    reader, writer = await connect_async(b.url), await connect_async(a.url)
    try:
        seen = Seen()
        await reader.subscribe("feed", seen.handler, on_recovery=seen.on_recovery)
        for i in range(5):
            await writer.publish("feed", i)
        await until(lambda: seen.count == 5)
        broker.kill(signal.SIGKILL)
        for node in (a, b):
            await node.wait_broker(False)
        broker.start()
        for node in (a, b):
            await node.wait_broker(True)
        await _publish_retrying(writer, "again")
        answered = time.monotonic()
        with contextlib.suppress(AssertionError):
            await until(lambda: seen.data[-1:] == ["again"], timeout=5)
        lag = time.monotonic() - answered
        assert seen.data[-1:] == ["again"], f"not delivered {lag:.1f} s after its publish was answered"
    finally:
        await reader.close()
        await writer.close()


@pytest.mark.parametrize("broker", ["nats"], indirect=True)
async def test_a_nats_server_that_lost_its_storage_is_a_new_history_publishes_name_it(
    broker: Broker, cluster: Cluster
) -> None:
    """Redis without persistence always comes back empty (the restart test covers it); NATS
    does when its store is gone: a new stream, so a new epoch, which subscribers are told of
    and which publishes' answers name."""
    a, b = await cluster.start_up(2)
    reader, writer = await connect_async(b.url), await connect_async(a.url)  # a only publishes
    try:
        seen = Seen()
        sub = await reader.subscribe("feed", seen.handler, on_recovery=seen.on_recovery)
        for i in range(5):
            await writer.publish("feed", i)
        await until(lambda: seen.count == 5)
        broker.kill(signal.SIGKILL)
        for node in (a, b):
            await node.wait_broker(False)
        shutil.rmtree(broker.folder / "jetstream")
        broker.start()
        for node in (a, b):
            await node.wait_broker(True)
        results = [await _publish_retrying(writer, f"after {i}") for i in range(3)]
        await until(lambda: seen.data[-1:] == ["after 2"], timeout=10, what="the new messages")
        [info] = seen.recoveries
        assert not info.recovered and info.epoch != sub.epoch
        new = [(e, o) for e, o, d in seen.msgs if isinstance(d, str)]
        assert [(r.epoch, r.offset) for r in results] == new
    finally:
        await reader.close()
        await writer.close()
