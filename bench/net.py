"""auroraview network benchmark: one command, one table.

    python bench/net.py [--quick] [--rounds N] [--spin-us N]
    python bench/run.py              # runs this last (skip with --no-net)

No-op calls over WebSocket on loopback — sequential latency (median, p99), calls/s on one
connection with 256 in flight, calls/s over 100 connections with one in flight each — for:

- ours:  `App(commands).serve(expose="all")` (the Rust server, the router, the async `noop`
         handler on the app's asyncio loop), in a process of its own (net_server.py);
- floor: `auroraview._core.EchoServer`, a bare axum WebSocket echo on the same stack, sent the
         same call frames and echoing them back, in a process of its own;
- peer:  ipc-framework 1.1.2 (PyPI) with its own Python server and client, the same no-op
         request answered with a response (its transport: TCP with a 4-byte length prefix).

Ours and the floor are driven by one Node client (net_client.mjs, the `ws` package, raw
frames, the same code for both), the peer by its own client (net_peer_client.py). Extra rows:
ours through `@auroraview/sdk`, through `auroraview.client` (Python, as the peer's client
is), with a sync handler, and the sequential latency of ours and the floor again with every
CPU kept out of its idle state by idle-priority busy loops (on a VM, waking an idle vCPU costs
tens of µs, which the floor pays on every round trip and ours mostly avoids by spinning).
Every figure is the median of `--rounds` rounds; each round runs every target once (in a
rotated order) against servers started once. Nothing is asserted: the targets (issue) are
printed with a verdict. CPU per call is read from /proc and getrusage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVER = HERE / "net_server.py"
NODE_CLIENT = HERE / "net_client.mjs"
PEER_CLIENT = HERE / "net_peer_client.py"
PY_CLIENT = HERE / "net_py_client.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# name → (budgets, quick budgets). Ours and the floor get the same budgets; the peer's are
# smaller because each of its round trips takes ~90 ms when it is not pipelined (Nagle and
# delayed ACKs: it writes a message in two sends without TCP_NODELAY). Its pipelined rate
# flips between ~3k/s (the window moving in lock-step with those stalls) and ~15k/s from
# one run to the next, so it gets enough pipelined calls to average over some.
BUDGETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "node": (
        {"warmup": 500, "seq": 5000, "pipe": 50_000, "window": 256, "conns": 100, "per_conn": 500},
        {"warmup": 200, "seq": 2000, "pipe": 10_000, "window": 256, "conns": 100, "per_conn": 100},
    ),
    "py": (
        {"warmup": 200, "seq": 2000, "pipe": 20_000, "window": 256, "conns": 100, "per_conn": 200},
        {"warmup": 100, "seq": 500, "pipe": 5000, "window": 256, "conns": 100, "per_conn": 50},
    ),
    "peer": (
        {"warmup": 5, "seq_sync": 20, "seq": 40, "pipe": 20_000, "window": 256, "conns": 100, "per_conn": 50},
        {"warmup": 3, "seq_sync": 10, "seq": 20, "pipe": 10_000, "window": 256, "conns": 100, "per_conn": 10},
    ),
}


# -- processes -------------------------------------------------------------------------------


class Servers:
    """The servers, each in its own process, stopped however the run ends: their stdin is a
    pipe from this process (closed on exit, even a crash) and they get SIGTERM, then SIGKILL."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.info: dict[str, dict[str, Any]] = {}

    def start(self, name: str, *argv: str) -> None:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - owned by the process
        proc = subprocess.Popen(
            [sys.executable, str(SERVER), *argv],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT,
        )
        log.close()
        self.procs[name] = proc

    def ready(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        proc = self.procs[name]
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                raise RuntimeError(f"server {name}: not ready within {timeout:g} s (log: {self.log_dir / name}.log)")
        line = proc.stdout.readline()
        if not line:
            tail = (self.log_dir / f"{name}.log").read_text()[-2000:]
            raise RuntimeError(f"server {name} exited ({proc.wait()}):\n{tail}")
        self.info[name] = json.loads(line)
        return self.info[name]

    def cpu_s(self, name: str) -> float | None:
        """The server's CPU so far (user + system), from /proc."""
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return None
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK
        return None

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    assert proc.stdin is not None
                    proc.stdin.close()
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def run_client(argv: list[str], config: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One load generator run; its JSON result (subprocess.run kills it on timeout or Ctrl-C)."""
    out = subprocess.run([*argv, json.dumps(config)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{Path(argv[-1]).name} exited {out.returncode}: {out.stderr.strip()[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# Busy at idle priority until killed, or until the benchmark is gone (then it is reparented).
SPINNER = """
import os
parent = os.getppid()
try:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
except (AttributeError, OSError):
    os.nice(19)
while os.getppid() == parent:
    for _ in range(100_000):
        pass
"""


SPINNERS_CPU: list[float] = []  # CPU the spinners used (not the benchmark's own work)


def proc_cpu_s(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    return 0.0


@contextlib.contextmanager
def awake_cpus() -> Iterator[None]:
    """One idle-priority busy loop per CPU for the duration of the block, then killed."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", SPINNER], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        time.sleep(0.2)
        yield
    finally:
        SPINNERS_CPU.append(sum(proc_cpu_s(p.pid) for p in spinners))
        for p in spinners:
            p.kill()
        for p in spinners:
            p.wait()


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C does, so the servers are stopped."""
    if hasattr(signal, "SIGTERM") and threading_is_main():
        old = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, old)
    else:
        yield


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


# -- the machine -----------------------------------------------------------------------------


def cpu_totals() -> tuple[float, float, float]:
    """(busy, steal, all) seconds of every CPU since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK, sum(fields[:8]) / CLK_TCK


def proc_snapshot() -> dict[int, tuple[str, str, float]]:
    """{pid: (start time, name, CPU s incl. reaped children)} of every process but this one."""
    snap = {}
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            text = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        head, tail = text.rsplit(")", 1)
        f = tail.split()
        snap[int(d)] = (f[19], head.split("(", 1)[1], sum(int(x) for x in f[11:15]) / CLK_TCK)
    return snap


def others_cpu(before: dict[int, tuple[str, str, float]], after: dict[int, tuple[str, str, float]]) -> tuple[float, list[tuple[str, float]]]:
    """CPU other processes used between two snapshots (a process's reaped children count in
    its own figure, so short-lived ones are not missed), and the biggest users by name."""
    by_name: dict[str, float] = {}
    for pid, (start, name, cpu) in after.items():
        prev = before.get(pid)
        used = cpu - prev[2] if prev is not None and prev[0] == start else cpu
        if used > 0:
            by_name[name] = by_name.get(name, 0.0) + used
    top = sorted(by_name.items(), key=lambda kv: -kv[1])[:3]
    return sum(by_name.values()), top


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


# -- the run ---------------------------------------------------------------------------------


Target = tuple[str, str, Callable[[], list[str]], Callable[[], dict[str, Any]]]


def measure(args: argparse.Namespace, log_dir: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str], dict[str, Any]]:
    """Every target `args.rounds` times: {target: [result per round]}, errors, CPU context."""
    q = 1 if args.quick else 0
    node = ["node", str(NODE_CLIENT)]
    servers = Servers(log_dir)
    errors: dict[str, str] = {}
    results: dict[str, list[dict[str, Any]]] = {}
    SPINNERS_CPU.clear()
    busy0, steal0, all0 = cpu_totals()
    self0 = os.times()
    procs0 = proc_snapshot()
    try:
        servers.start("floor", "floor")
        servers.start("ours", "ours", *([] if args.spin_us is None else [str(args.spin_us)]))
        have_peer = True
        try:
            import ipc_framework  # noqa: F401
        except ImportError:
            have_peer = False
            errors["peer"] = "ipc-framework is not installed: pip install -r bench/requirements.txt"
        if have_peer:
            servers.start("peer", "peer")
        for name in list(servers.procs):
            try:
                servers.ready(name)
            except RuntimeError as exc:
                errors[name] = str(exc)

        def ws(name: str, **extra: Any) -> Callable[[], dict[str, Any]]:
            def config() -> dict[str, Any]:
                info = servers.info[name]
                budgets = BUDGETS["py" if extra.get("_py") else "node"][q]
                conf = {**budgets, "url": info["url"], "token": info["token"], "server_pid": info["pid"], "clk_tck": CLK_TCK}
                conf.update({k: v for k, v in extra.items() if not k.startswith("_")})
                return conf

            return config

        def peer_config() -> dict[str, Any]:
            info = servers.info["peer"]
            return {**BUDGETS["peer"][q], "host": info["host"], "port": info["port"], "server_pid": info["pid"]}

        targets: list[Target] = [
            ("floor", "floor", lambda: node, ws("floor")),
            ("ours", "ours", lambda: node, ws("ours")),
            ("peer", "peer", lambda: [sys.executable, str(PEER_CLIENT)], peer_config),
        ]
        if args.extras:
            targets += [
                ("ours_sync", "ours", lambda: node, ws("ours", method="noop_sync")),
                ("ours_sdk", "ours", lambda: node, ws("ours", client="sdk")),
                ("ours_py", "ours", lambda: [sys.executable, str(PY_CLIENT)], ws("ours", _py=True)),
            ]
        started = time.monotonic()
        for r in range(args.rounds):
            if r and args.deadline and time.monotonic() - started > args.deadline:
                errors["rounds"] = f"stopped after {r} of {args.rounds} rounds: past the --deadline of {args.deadline:g} s"
                break
            shift = r % len(targets)
            for key, server, argv, config in targets[shift:] + targets[:shift]:
                if server in errors or key in errors:
                    continue
                try:
                    res = run_client(argv(), config(), timeout=args.client_timeout)
                except (RuntimeError, OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
                    errors[key] = str(exc)
                    continue
                results.setdefault(key, []).append(res)
            if args.awake:
                # The same sequential runs with every CPU kept out of its idle state by
                # SCHED_IDLE spinners (they run only when nothing else wants the CPU): what is
                # left is the transport's own latency, without the wake-ups of idle vCPUs.
                with awake_cpus():
                    for key, server in (("floor_awake", "floor"), ("ours_awake", "ours")):
                        if server in errors or key in errors:
                            continue
                        try:
                            res = run_client(node, {**ws(server)(), "only": ["seq"]}, timeout=args.client_timeout)
                        except (RuntimeError, OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
                            errors[key] = str(exc)
                            continue
                        results.setdefault(key, []).append(res)
        server_cpu = {name: servers.cpu_s(name) for name in servers.procs}
    finally:
        servers.close()
    busy1, steal1, all1 = cpu_totals()
    self1 = os.times()
    others, top = others_cpu(procs0, proc_snapshot())
    ours_cpu = (self1.user - self0.user + self1.system - self0.system
                + self1.children_user - self0.children_user + self1.children_system - self0.children_system)
    context = {
        "wall_s": (all1 - all0) / max(1, os.cpu_count() or 1),
        "busy_s": busy1 - busy0,
        "steal_s": steal1 - steal0,
        "ours_cpu_s": ours_cpu - sum(SPINNERS_CPU),  # this process + its waited children (clients and servers)
        "spinners_cpu_s": sum(SPINNERS_CPU),
        "server_cpu_s": server_cpu,
        "others_cpu_s": others,
        "others_top": top,
    }
    return results, errors, context


# -- the table -------------------------------------------------------------------------------


def med(results: dict[str, list[dict[str, Any]]], key: str, *path: str) -> float | None:
    vals = []
    for res in results.get(key, []):
        v: Any = res
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(float(v))
    return statistics.median(vals) if vals else None


def spread(results: dict[str, list[dict[str, Any]]], key: str, *path: str) -> tuple[float, float] | None:
    vals = []
    for res in results.get(key, []):
        v: Any = res
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(float(v))
    return (min(vals), max(vals)) if len(vals) > 1 else None


def _cpu(ph: dict[str, Any], side: str) -> tuple[float, float | None] | None:
    """(total CPU s, user share or None) of one phase on one side."""
    c = ph.get("cpu", {})
    u, s = c.get(f"{side}_user_s"), c.get(f"{side}_sys_s")
    if u is None or s is None:
        return None
    total = c.get(f"{side}_exec_s", u + s)
    # The split comes from 10 ms ticks: only worth showing over a few of them.
    return total, (u / (u + s) if u + s >= 5 / CLK_TCK else None)


def cpu_cell(results: dict[str, list[dict[str, Any]]], key: str, phase: str, side: str) -> tuple[float | None, str]:
    """Median over rounds of CPU µs per call of `side` ("server"/"client"), and its cell text
    with the user/system split in brackets."""
    totals, users = [], []
    for res in results.get(key, []):
        ph = res.get(phase)
        got = _cpu(ph, side) if ph else None
        if got is None:
            continue
        totals.append(got[0] / ph["n"] * 1e6)
        if got[1] is not None:
            users.append(got[1])
    if not totals:
        return None, "—"
    t = statistics.median(totals)
    split = f" ({t * statistics.median(users):,.0f}+{t * (1 - statistics.median(users)):,.0f})" if users else ""
    return t, fmt(t, "µs") + split


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "µs":
        return f"{v:,.0f} µs" if v >= 100 else f"{v:,.1f} µs"
    if unit == "/s":
        return f"{v:,.0f}/s"
    return f"{v:,.1f} {unit}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0 or a == 0:
        return "—"
    r = a / b
    if r < 0.1:
        return f"1/{b / a:,.0f}"
    return f"{r:,.2f}×" if r < 100 else f"{r:,.0f}×"


def short(v: float) -> str:
    return f"{v / 1000:,.1f}k" if v >= 10_000 else f"{v:,.0f}"


def rng(s: tuple[float, float] | None) -> str:
    return f"{short(s[0])}-{short(s[1])}" if s else "—"


def table(args: argparse.Namespace, results: dict[str, list[dict[str, Any]]], errors: dict[str, str], context: dict[str, Any]) -> list[str]:
    b_node = BUDGETS["node"][1 if args.quick else 0]
    b_peer = BUDGETS["peer"][1 if args.quick else 0]
    window = b_node["window"]
    rows: list[tuple[str, ...]] = []

    def cpu_row(name: str, ours_key: str, phase: str, side: str) -> None:
        (o, ot), (f, ft), (p, pt) = (cpu_cell(results, k, phase, side) for k in (ours_key, "floor", "peer"))
        rows.append((name, ot, ft, ratio(o, f), pt, ratio(o, p), ""))

    def fig_row(name: str, key: str, path: tuple[str, ...], unit: str, peer_path: tuple[str, ...] | None = None, spreads: bool = True) -> None:
        peer_path = peer_path or path
        o, f, p = med(results, key, *path), med(results, "floor", *path), med(results, "peer", *peer_path)
        sp = [rng(spread(results, key, *path))]
        if spreads:
            sp += [rng(spread(results, "floor", *path)), rng(spread(results, "peer", *peer_path))]
        rows.append((name, fmt(o, unit), fmt(f, unit), ratio(o, f), fmt(p, unit), ratio(o, p), " · ".join(sp)))

    conns = b_node["conns"]
    fig_row("ws no-op latency median (async handler)", "ours", ("seq", "median_us"), "µs")
    fig_row("ws no-op latency p99", "ours", ("seq", "p99_us"), "µs")
    if "ours_awake" in results or "floor_awake" in results:
        for what, field in (("median", "median_us"), ("p99", "p99_us")):
            o, f = med(results, "ours_awake", "seq", field), med(results, "floor_awake", "seq", field)
            rows.append((f"  same, idle CPUs kept awake: {what}", fmt(o, "µs"), fmt(f, "µs"), ratio(o, f), "", "",
                         " · ".join([rng(spread(results, "ours_awake", "seq", field)), rng(spread(results, "floor_awake", "seq", field))])))
    fig_row(f"calls/s, 1 connection, {window} in flight", "ours", ("pipe", "per_s"), "/s")
    fig_row(f"calls/s, {conns} connections, 1 in flight each", "ours", ("conns", "per_s"), "/s")
    p_sync = med(results, "peer", "seq_sync", "median_us")
    rows.append(("  peer: its blocking send_request, median", "", "", "", fmt(p_sync, "µs"),
                 ratio(med(results, "ours", "seq", "median_us"), p_sync), "— · — · " + rng(spread(results, "peer", "seq_sync", "median_us"))))
    for phase, label in (("seq", "sequential"), ("pipe", "pipelined"), ("conns", f"{conns} conns")):
        cpu_row(f"server CPU µs/call (usr+sys), {label}", "ours", phase, "server")
    for phase, label in (("seq", "sequential"), ("pipe", "pipelined"), ("conns", f"{conns} conns")):
        cpu_row(f"client CPU µs/call (usr+sys), {label}", "ours", phase, "client")
    if args.extras:
        for key, label in (("ours_sync", "sync handler (thread pool)"), ("ours_sdk", "via @auroraview/sdk"), ("ours_py", "via auroraview.client (Python)")):
            if key not in results:
                continue
            fig_row(f"{label}: latency median", key, ("seq", "median_us"), "µs", spreads=False)
            fig_row(f"{label}: calls/s, {window} in flight", key, ("pipe", "per_s"), "/s", spreads=False)
            fig_row(f"{label}: calls/s, {conns} conns", key, ("conns", "per_s"), "/s", spreads=False)

    head = ("measure", "ours", "floor", "ours/floor", "peer", "ours/peer", "rounds' min-max: ours · floor · peer")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = []
    from auroraview import __version__ as av_version

    n_rounds = max((len(v) for v in results.values()), default=0)
    lines.append(
        f"auroraview {av_version} · network (WebSocket, loopback) · median of {n_rounds} round(s) · "
        f"Python {platform.python_version()} · {_node_version(results)} · ipc-framework {_peer_version()}"
    )
    lines.append(
        f"{os.cpu_count()} CPUs ({cpu_model()}) · server and load generator share them · "
        f"spin_us={'default' if args.spin_us is None else args.spin_us}"
    )
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    lines.append("")
    lines += verdicts(results)
    lines.append("")
    lines.append(
        f"ours, floor: one Node client (bench/net_client.mjs, `ws`, raw frames), {b_node['seq']:,} sequential calls, "
        f"{b_node['pipe']:,} pipelined, {b_node['conns']} × {b_node['per_conn']:,} over connections; the floor echoes the call frame."
    )
    lines.append(
        f"peer: its own client and server (TCP + 4-byte length prefix, not WebSocket); {b_peer['seq']} sequential calls "
        f"(send_request_async + Event; {b_peer['seq_sync']} with send_request), {b_peer['pipe']:,} pipelined (callback chains), "
        f"{b_peer['conns']} clients × {b_peer['per_conn']} (a thread each)."
    )
    stranded = sum(int(res.get(ph, {}).get("stranded", 0)) for res in results.get("peer", []) for ph in ("seq", "pipe", "conns"))
    lost = sum(int(res.get("seq_sync", {}).get("lost", 0)) for res in results.get("peer", []))
    if "peer" in results:
        lines.append(f"peer replies that missed their callback (filed as if for send_request; picked up by the bench): {stranded}; send_request timeouts: {lost}")
    cpu = context
    top = ", ".join(f"{name} {sec:,.1f} s" for name, sec in cpu["others_top"] if sec >= 0.05)
    lines.append(
        f"CPU context: {cpu['wall_s']:,.1f} s run; this benchmark's processes used {cpu['ours_cpu_s']:,.1f} s of CPU "
        f"(+ {cpu['spinners_cpu_s']:,.1f} s of idle-priority spinning), "
        f"other processes {cpu['others_cpu_s']:,.1f} s ({cpu['others_cpu_s'] / max(cpu['wall_s'], 1e-9) * 100:,.0f}% of one CPU"
        f"{'; ' + top if top else ''}), steal {cpu['steal_s']:,.1f} s; load average now {loadavg()}."
    )
    lines.append(
        "CPU per call: server = its threads' run time (/proc/PID/task/*/sched), client = getrusage; "
        "(user+sys) split from 10 ms ticks, shown when there are enough of them."
    )
    for key, msg in errors.items():
        lines.append(f"not measured: {key}: {msg}")
    return lines


def verdicts(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    out = []
    o, f = med(results, "ours", "seq", "median_us"), med(results, "floor", "seq", "median_us")
    if o is not None and f is not None:
        met = "met" if o <= 1.5 * f else "NOT met"
        out.append(f"target: median latency ≤ 1.5× the floor — {met}: {o:,.0f} µs vs {f:,.0f} µs = {o / f:.2f}×")
    else:
        out.append("target: median latency ≤ 1.5× the floor — not measured")
    oa, fa = med(results, "ours_awake", "seq", "median_us"), med(results, "floor_awake", "seq", "median_us")
    if oa is not None and fa is not None:
        met = "met" if oa <= 1.5 * fa else "NOT met"
        out.append(f"        with idle CPUs kept awake (no vCPU wake-up in the floor's figure) — {met}: {oa:,.0f} µs vs {fa:,.0f} µs = {oa / fa:.2f}×")
    for phase, label in (("pipe", "1 connection, pipelined"), ("conns", "100 connections")):
        o, p = med(results, "ours", phase, "per_s"), med(results, "peer", phase, "per_s")
        if o is None or p is None:
            out.append(f"target: calls/s ≥ 10× the ipc-framework peer ({label}) — not measured")
            continue
        met = "met" if o >= 10 * p else "NOT met"
        sp = spread(results, "peer", phase, "per_s")
        best = ""
        if sp and sp[1] > p * 1.2:
            met_best = "met" if o >= 10 * sp[1] else "NOT met"
            best = f"; against the peer's best round ({sp[1]:,.0f}/s): {o / sp[1]:,.1f}×, {met_best}"
        out.append(f"target: calls/s ≥ 10× the ipc-framework peer ({label}) — {met}: {o:,.0f}/s vs {p:,.0f}/s = {o / p:,.1f}×{best}")
    return out


def _node_version(results: dict[str, list[dict[str, Any]]]) -> str:
    for res in results.get("ours", []) + results.get("floor", []):
        if "node" in res:
            return f"Node {res['node'].lstrip('v')}"
    return "Node ?"


def _peer_version() -> str:
    try:
        from importlib.metadata import version

        return version("ipc-framework")
    except Exception:  # noqa: BLE001
        return "not installed"


# -- entry -----------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run, CI-sized budgets (under a minute)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per target (default 5, quick 2)")
    ap.add_argument("--spin-us", type=int, default=None, help="App(spin_us=...) of our server (default: the App's default)")
    ap.add_argument("--no-extras", dest="extras", action="store_false", help="skip the SDK, Python-client and sync-handler rows")
    ap.add_argument("--no-awake", dest="awake", action="store_false", help="skip the latency rows with idle CPUs kept awake")
    ap.add_argument("--client-timeout", type=float, default=None, help="seconds per load-generator run before it is killed")
    ap.add_argument("--deadline", type=float, default=None, help="start no new round after this many seconds (default: quick 25, else none)")
    ap.add_argument("--json", metavar="PATH", help="also write the raw results there")
    args = ap.parse_args(argv)
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.client_timeout is None:
        args.client_timeout = 20.0 if args.quick else 180.0
    if args.deadline is None and args.quick:
        args.deadline = 25.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="auroraview-bench-net-") as tmp, sigterm_as_exit():
        try:
            results, errors, context = measure(args, Path(tmp))
        except KeyboardInterrupt:
            print("bench/net.py: interrupted; servers stopped", file=sys.stderr)
            return 130
        if errors:  # the servers' logs go with the temporary directory: show them first
            for log in Path(tmp).glob("*.log"):
                if log.stat().st_size:
                    print(f"--- {log.name} (tail)\n{log.read_text()[-1500:]}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "errors": errors, "context": context}, indent=1))
    print("\n".join(table(args, results, errors, context)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
