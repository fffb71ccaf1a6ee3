"""A mutational fuzzer of the wire decoder, through the real router and runtime (RELIABILITY.md
case 1: "a fuzz run of the decoder finds 0 panics; the next call succeeds").

Valid frames (call, event, cancel, ready, hello, ping, pong; nested params, unicode, big
numbers) are mutated — bit flips, byte insertions and deletions, truncation, splicing two
frames, duplicated keys, wrong types for each field, deep nesting, strings near the size
limit, invalid UTF-8, lone surrogate escapes — and each result is sent on an in-process
connection of an app (`Core.connect`, the connection `TestClient` itself uses: the same Rust
decoder and router as a window's page), followed at once by a valid call that must be
answered correctly. Every call the router accepts or answers gets exactly one reply, never
`internal` (a panic while routing would show as one, or as a crash), only the documented
codes; the router's counters must agree with what was sent.

Deterministic: the seed is printed; ``AURORAVIEW_FUZZ_SEED`` and ``AURORAVIEW_FUZZ_N``
override the seed and the number of inputs. src/protocol/fuzz.rs runs the same kinds of
mutations through the decoder alone, 200,000 of them.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import time
from typing import Any

from pydantic_core import from_json

from auroraview import App, Commands
from auroraview.testing import TestClient

SEED = int(os.environ.get("AURORAVIEW_FUZZ_SEED", "20261130"))
N = int(os.environ.get("AURORAVIEW_FUZZ_N", "30000"))
#: A smaller size limit than the default 32 MiB, so frames near it are cheap to build.
MAX_BYTES = 64 * 1024
#: Inputs sent (each followed by its probe) before the replies are collected.
BATCH = 128

KEY = "k2Yx9_aB-c3Dq7Lm0PzR4s"
CORPUS: list[bytes] = [
    s.encode()
    for s in (
        r'{"type":"call","id":1,"method":"echo","params":{"text":"hi"}}',
        r'{"type":"call","id":"c-7","method":"echo_any","params":{"value":{"old_name":"a","new_name":"b"}}}',
        r'{"type":"call","id":2,"method":"echo_any","params":{"value":{"a":[1,2.5,-3e10,null,true,{"b":[[]]}],"é":"ünï\u00e9\ud83d\ude00","n":9007199254740991}}}',
        r'{"type":"call","id":3,"method":"echo","params":["positional"]}',
        r'{"type":"call","id":4,"method":"noop"}',
        r'{"type":"call","id":5,"method":"echo_any","params":{"value":[9007199254740993,-1e400,1e-400]}}',
        r'{"type":"call","id":6,"method":"nope.__class__","params":{}}',
        r'{"type":"event","event":"note","detail":{"x":[1,{"y":"z"}],"q":"\"\\\/\b\f\n\r\t"}}',
        r'{"type":"event","event":"ping"}',
        r'{"type":"cancel","id":1}',
        r'{"type":"ready"}',
        f'{{"type":"hello","key":"{KEY}"}}',
        f'{{"type":"call","key":"{KEY}","id":7,"method":"echo","params":{{"text":"keyed"}}}}',
        r'{"type":"ping"}',
        r'{"type":"pong"}',
        ' {\n\t"type" : "call" , "id" : 8 , "method" : "echo" , "params" : { "text" : "\u2028</script>" } } ',
    )
]
FIELDS = ["type", "id", "method", "params", "event", "detail", "key"]
VALUES = [
    "1", "-1", "0", "1.5", "1e3", "9007199254740992", "-99999999999999999999999", '""', '"x"', '"call"',
    '"event"', '"hello"', r'"\ud800"', r'"\udc00\ud800"', "null", "true", "false", "[]", "{}", "[1,[2,[3]]]",
    '{"id":1}', "NaN", "Infinity", "-", r'"\u0000"', r'"\uZZZZ"', '"' + "i" * 200 + '"',
]  # fmt: skip
BYTES = b'{}[]",:\\u0123456789abcdefABCDEF-+.eE \t\n\rnultrfas'
SNIPPETS = [
    rb"\ud800", rb"\udfff", rb"\uDBFF\uDC00", rb"\\ud800", rb"\u", b"\\", b"\xff", b"\xc0\xaf",
    b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", "\ufffd".encode(), "é".encode(), "\U0001f600".encode(),
    b"\0", b'"id":7,', b'"type":"call",', b'"method":"echo",',
]  # fmt: skip

#: What the router and runtime may answer a mutated call with. Never `internal`.
DOCUMENTED = {"invalid_message", "payload_too_large", "method_not_found", "invalid_params", "cancelled"}


def field_value(b: bytes, field: str) -> tuple[int, int] | None:
    """The span of the value of the first ``"field":`` in ``b`` (roughly: enough to mutate)."""
    needle = f'"{field}":'.encode()
    at = b.find(needle)
    if at < 0:
        return None
    start = i = at + len(needle)
    depth, in_str = 0, False
    while i < len(b):
        c = b[i]
        if in_str and c == 0x5C:  # backslash
            i += 1
        elif c == 0x22:
            in_str = not in_str
        elif not in_str and c in b"{[":
            depth += 1
        elif not in_str and c in b"}]":
            if depth == 0:
                break
            depth -= 1
        elif not in_str and c == 0x2C and depth == 0:
            break
        i += 1
    return start, min(i, len(b))


def mutate(rng: random.Random, frame: bytes, other: bytes) -> bytes:
    b = bytearray(frame)
    for _ in range(rng.randint(1, 3)):
        n = len(b)
        op = rng.randrange(13)
        if op == 0 and n:
            b[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1:
            b.insert(rng.randint(0, n), rng.choice(BYTES))
        elif op == 2 and n:
            i = rng.randrange(n)
            del b[i : i + rng.randint(1, 8)]
        elif op == 3:
            del b[rng.randint(0, n) :]
        elif op == 4:  # splice two frames
            b = b[: rng.randint(0, n)] + other[rng.randint(0, len(other)) :]
        elif op == 5:  # a duplicated key, with another value
            at = b.find(b"{") + 1
            b[at:at] = f'"{rng.choice(FIELDS)}":{rng.choice(VALUES)},'.encode()
        elif op == 6:  # a wrong type (or value) for one field
            span = field_value(bytes(b), rng.choice(FIELDS))
            if span:
                b[span[0] : span[1]] = rng.choice(VALUES).encode()
        elif op == 7:  # nesting around the depth limit (64), or far past it
            depth = rng.choice([60, 62, 63, 64, 65, 100, 5000, 100_000])
            opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
            value = (opener * depth + "1" + closer * depth).encode()
            span = field_value(bytes(b), rng.choice(["params", "detail"]))
            if span:
                b[span[0] : span[1]] = value
            else:
                b = bytearray(b'{"type":"call","id":9,"method":"echo_any","params":{"value":' + value + b"}}")
        elif op == 8:  # a string that lands the frame just under, at or over the size limit
            span = field_value(bytes(b), "params") or field_value(bytes(b), "detail")
            if span:
                filler = rng.choice(["x", "é", "\\n", "\\ud800"])
                pad = MAX_BYTES - 8 + rng.randrange(16) - (n - (span[1] - span[0])) - 2
                reps = max(0, pad // len(filler.encode()))
                b[span[0] : span[1]] = b'"' + (filler * reps).encode() + b'"'
        elif op in (9, 10):
            i = rng.randint(0, n)
            b[i:i] = rng.choice(SNIPPETS)
        elif op == 11 and n > 1:
            i, j = rng.randrange(n), rng.randrange(n)
            b[i], b[j] = b[j], b[i]
        else:  # a lone surrogate escape inside a string
            quotes = [i for i, c in enumerate(b) if c == 0x22][:8]
            if quotes:
                q = rng.choice(quotes)
                b[q + 1 : q + 1] = ("\\u" + rng.choice(["d800", "DBFF", "dc00", "dFfF", "d83d", "de00"])).encode()
    return bytes(b)


def make_commands(events: list[Any]) -> Commands:
    commands = Commands()

    # Async handlers only: they finish on the loop, so no result races a cancel between two
    # sends, and the counters below are exact.
    @commands.command("echo")
    async def echo(text: str) -> str:
        return text

    @commands.command("echo_any")
    async def echo_any(value: Any) -> Any:
        return value

    @commands.command("noop")
    async def noop() -> None:
        return None

    @commands.on("note")
    async def note(detail: Any) -> None:
        events.append(detail)

    return commands


async def test_mutated_frames_never_break_the_router() -> None:
    print(f"wire fuzz: seed {SEED} (AURORAVIEW_FUZZ_SEED), {N} inputs (AURORAVIEW_FUZZ_N)")
    rng = random.Random(SEED)
    app = App(make_commands([]), limits={"max_message_bytes": MAX_BYTES})
    receipts: collections.Counter[str] = collections.Counter()
    codes: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    async with TestClient(app):
        conn = app.core.connect()
        before = app.core.stats()
        expected: collections.Counter[Any] = collections.Counter()  # reply frames owed, by id
        probes: dict[str, str] = {}
        inputs: dict[Any, list[bytes]] = collections.defaultdict(list)  # for failure messages
        sent = 0
        for start in range(0, N, BATCH):
            for i in range(start, min(start + BATCH, N)):
                data = mutate(rng, rng.choice(CORPUS), rng.choice(CORPUS))
                kind, call_id = conn.send(data)
                receipts[kind] += 1
                if kind in ("accepted", "replied"):
                    expected[call_id] += 1
                    inputs[call_id].append(data)
                probe = f"probe-{i}"
                kind, _ = conn.send(f'{{"type":"call","id":"{probe}","method":"echo","params":{{"text":"{i}"}}}}'.encode())
                assert kind == "accepted", f"input {i} (seed {SEED}): the call after {data!r} was {kind}"
                probes[probe] = str(i)
                sent += 2
            deadline = time.monotonic() + 10
            while probes or expected:
                frames = conn.take(4096)
                if not frames:
                    assert time.monotonic() < deadline, f"seed {SEED}: no reply for {list(probes)[:5]} {list(expected)[:5]}"
                    await asyncio.sleep(0.0005)
                    continue
                for frame in frames:
                    msg = from_json(frame)
                    if msg["type"] != "call_result":
                        continue
                    call_id = msg["id"]
                    if isinstance(call_id, str) and call_id in probes:
                        assert msg["ok"] and msg["result"] == probes.pop(call_id), f"seed {SEED}: {msg}"
                        continue
                    assert expected[call_id] > 0, f"seed {SEED}: an extra reply {msg} (inputs {inputs[call_id]})"
                    expected[call_id] -= 1
                    if not expected[call_id]:
                        del expected[call_id]
                    if not msg["ok"]:
                        code = msg["error"]["code"]
                        codes[code] += 1
                        assert code in DOCUMENTED, f"seed {SEED}: {msg} for one of {inputs[call_id]!r}"
                    else:
                        codes["ok"] += 1
            inputs.clear()
        assert app.core.in_flight == 0
        after = app.core.stats()
        conn.close()
    d = {k: after[k] - before[k] for k in after}
    elapsed = time.monotonic() - started
    print(f"wire fuzz: {elapsed:.1f} s, receipts {dict(receipts)}, reply codes {dict(codes)}")
    print(f"wire fuzz: counters {({k: v for k, v in d.items() if v})}")
    assert d["panics"] == 0
    assert d["received"] == sent
    assert d["calls_accepted"] == receipts["accepted"] + N  # the probes too
    assert d["events_received"] == receipts["event"]
    # Dropped: undecodable with no id to answer (counted `dropped`) or a duplicate id in flight.
    assert receipts["dropped"] == d["dropped"] + d["duplicate_ids"]
    # Every refusal (by the decoder, or of an unknown method) is counted once: answered with
    # its id, dropped for want of one, or dropped because its id is a call's in flight (a
    # reply would settle that call: RELIABILITY.md case 28), counted with the duplicate ids.
    refusals = d["invalid_messages"] + d["too_large"] + d["method_not_found"]
    answered = codes["invalid_message"] + codes["payload_too_large"] + codes["method_not_found"]
    assert 0 <= refusals - answered - d["dropped"] <= d["duplicate_ids"]
    assert receipts["cancel"] == d["unknown_cancels"] + d["cancelled"] == d["unknown_cancels"] + codes["cancelled"]
    assert receipts["refused"] == d["refused_key"] == 0  # an in-process connection has no key
    # The mix stays meaningful.
    assert receipts["dropped"] > N // 20 and receipts["accepted"] > N // 50 and codes["invalid_message"] > N // 50
