"""auroraview topics benchmark: one publisher, 1,000 subscribers.

    python bench/topics.py [--subs N] [--burst N] [--rounds N] [--no-brokers]
    python bench/run.py              # runs this after the network table (skip with --no-topics)

Rows (each the median of ``--rounds`` rounds):

- one node: one server process (bench/topics_node.py, topics in memory), ``--subs``
  WebSocket subscribers; one client publishes ``--burst`` messages of ~100 bytes, sent at
  once (pipelined ``auroraview.publish`` calls): deliveries/s from the first send to the last
  delivery; then ``--paced`` messages at ``--rate``/s: publish-to-delivery latency (the
  sender's clock in each message, read by the subscriber: one process, one clock);
- three nodes through Redis / through NATS: the same, the subscribers spread over three
  server processes linked to one broker (``App(broker=...)``), the publisher connected to
  the first;
- the floor, per broker: the broker alone, measured in the same run: the same number of
  raw subscribers (TCP, SUBSCRIBE / SUB) on the broker itself, one raw publisher sending
  the same JSON pipelined; deliveries/s from the first send to the last arrival.

All subscribers are one Node process (bench/topics_client.mjs), for ours and the floors
alike. redis-server and nats-server are started here on free loopback ports (Debian's
packages; rows whose server is missing are skipped with a note) and stopped at the end.
Nothing is asserted: the targets (issue 12) are printed with a verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NODE_SCRIPT = HERE / "topics_node.py"
CLIENT = HERE / "topics_client.mjs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


@contextlib.contextmanager
def broker(kind: str, work: Path) -> Iterator[tuple[str, int] | None]:
    """A broker server on a free port: (URL, port), or None when it is not installed."""
    exe = shutil.which("redis-server" if kind == "redis" else "nats-server")
    if exe is None:
        yield None
        return
    port = free_port()
    if kind == "redis":
        argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(work)]
        url = f"redis://127.0.0.1:{port}/0"
    else:
        store = work / "nats"
        store.mkdir(exist_ok=True)
        argv = [exe, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
        url = f"nats://127.0.0.1:{port}"
    log = (work / f"{kind}.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port)
        yield url, port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def nodes(count: int, broker_url: str | None, prefix: str, work: Path) -> Iterator[list[dict[str, Any]]]:
    procs: list[subprocess.Popen[str]] = []
    infos: list[dict[str, Any]] = []
    try:
        for i in range(count):
            argv = [sys.executable, str(NODE_SCRIPT)] + ([broker_url, prefix] if broker_url else [])
            err = (work / f"node-{prefix}-{i}.log").open("w")
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
            procs.append(proc)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"node {i} did not start: see {err.name}")
            infos.append(json.loads(line))
        if broker_url:
            time.sleep(0.5)  # the broker links come up in the background
        yield infos
    finally:
        for proc in procs:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def client(config: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    out = subprocess.run(["node", str(CLIENT), json.dumps(config)], capture_output=True, text=True, timeout=timeout)
    lines = out.stdout.strip().splitlines()
    if not lines:
        return {"error": out.stderr.strip()[-2000:] or f"exit {out.returncode}"}
    return json.loads(lines[-1])


def rate(result: dict[str, Any]) -> float | None:
    b = result.get("burst")
    return None if not b or b["seconds"] <= 0 else b["deliveries"] / b["seconds"]


def measure(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {}
    base = {"subs": args.subs, "burst": args.burst, "paced": args.paced, "rate": args.rate, "size": args.size, "batch": args.batch}
    with tempfile.TemporaryDirectory(prefix="av-topics-bench-") as tmp:
        work = Path(tmp)
        for r in range(args.rounds):
            with nodes(1, None, "one", work) as infos:
                results.setdefault("one", []).append(client({**base, "mode": "ours", "topic": f"bench/one{r}", "nodes": infos}))
            if args.no_brokers:
                continue
            for kind in ("redis", "nats"):
                with broker(kind, work) as linked:
                    if linked is None:
                        results.setdefault(kind, []).append({"error": f"{kind} server not installed"})
                        continue
                    url, port = linked
                    with nodes(3, url, f"b{r}", work) as infos:
                        results.setdefault(kind, []).append(
                            client({**base, "mode": "ours", "topic": f"bench/{kind}{r}", "nodes": infos})
                        )
                    floor = client({**base, "mode": kind, "host": "127.0.0.1", "port": port, "topic": f"floor/{kind}{r}"})
                    results.setdefault(f"{kind}_floor", []).append(floor)
    return results


def med(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "—"
    if unit == "ms":
        return f"{v:.2f} ms"
    return f"{v:,.0f}{unit}"


def table(args: argparse.Namespace, results: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = [
        f"topics: 1 publisher → {args.subs:,} subscribers, ~{args.size + 40}-byte messages; burst {args.burst} messages, "
        f"paced {args.paced} at {args.rate}/s; median of {args.rounds} round(s)",
        "",
        "| row | deliveries/s | p50 | p99 | floor (broker alone) | ratio | target |",
        "|---|---|---|---|---|---|---|",
    ]
    errors: list[str] = []
    for key, name in (("one", "one node (in memory)"), ("redis", "3 nodes through Redis"), ("nats", "3 nodes through NATS")):
        runs = results.get(key, [])
        errors += [f"{name}: {r['error']}" for r in runs if "error" in r]
        ok = [r for r in runs if "error" not in r]
        ours = med([rate(r) for r in ok])
        p50 = med([r["paced"]["p50_ms"] for r in ok])
        p99 = med([r["paced"]["p99_ms"] for r in ok])
        bad = sum(r["order_errors"] for r in ok)
        if key == "one":
            verdict = "≥ 100,000/s: " + ("met" if ours and ours >= 100_000 else "not met")
            lines.append(f"| {name} | {fmt(ours)} | {fmt(p50, 'ms')} | {fmt(p99, 'ms')} | | | {verdict} |")
        else:
            floors = [r for r in results.get(f"{key}_floor", []) if "error" not in r]
            errors += [f"{key} floor: {r['error']}" for r in results.get(f"{key}_floor", []) if "error" in r]
            floor = med([rate(r) for r in floors])
            ratio = None if not ours or not floor else ours / floor
            verdict = "≥ 0.50× floor: " + ("met" if ratio and ratio >= 0.5 else "not met")
            lines.append(
                f"| {name} | {fmt(ours)} | {fmt(p50, 'ms')} | {fmt(p99, 'ms')} | {fmt(floor)} | "
                f"{'—' if ratio is None else f'{ratio:.2f}×'} | {verdict} |"
            )
        if bad:
            errors.append(f"{name}: {bad} deliveries out of order")
    lines.append("")
    lines.append("deliveries/s: burst phase (publish call to last delivery); p50/p99: paced phase, publish to delivery.")
    lines += [f"error: {e}" for e in errors]
    return lines


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subs", type=int, default=1000)
    ap.add_argument("--burst", type=int, default=300, help="messages published as fast as possible")
    ap.add_argument("--paced", type=int, default=200, help="messages published at --rate for the latency")
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--size", type=int, default=64, help="padding bytes per message")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-brokers", action="store_true", help="the one-node row only")
    ap.add_argument("--no-batch", dest="batch", action="store_false", help="subscribers do not offer auroraview.batch (one message per WebSocket message)")
    ap.add_argument("--json", action="store_true", help="also print every round's raw results")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = measure(args)
    if args.json:
        print(json.dumps(results, indent=1))
    print("\n".join(table(args, results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
