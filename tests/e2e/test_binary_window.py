"""Raw binary from a real window's page (docs/binary.md; issue 11): `bytes` params and results
through the custom protocol's call endpoint, intact both ways (SHA-256 checked on each side),
nested in models, from an `assets=` page and a `url=` page; a forged or missing key is
refused before any handler runs; the host's memory for a 100 MiB echo stays bounded."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import http_server
from pydantic import BaseModel

from auroraview import Commands, WebView

MIB = 1024 * 1024

SCRIPT = """
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
const sha = async (bytes) => hex(await crypto.subtle.digest("SHA-256", bytes));
const random = (n) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
};
const frame = (json, blobs) => {
  const text = new TextEncoder().encode(json);
  const total = 9 + 4 * blobs.length + text.length + blobs.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(total), view = new DataView(out.buffer);
  view.setUint32(1, text.length, true); view.setUint32(5, blobs.length, true);
  blobs.forEach((b, i) => view.setUint32(9 + 4 * i, b.length, true));
  let at = 9 + 4 * blobs.length; out.set(text, at); at += text.length;
  for (const b of blobs) { out.set(b, at); at += b.length; }
  return out;
};
const scenarios = {
  async integrity(sizes) {
    const out = [];
    for (const n of sizes) {
      const data = random(n);
      if (n > 0) data[0] = 0x89;  // not UTF-8
      const up = await auroraview.call("checksum", {data}, {binary: true});
      const echoed = await auroraview.call("echo", {data});  // detected: a Uint8Array in the params
      const made = await auroraview.call("make", {n}, {binary: true});
      out.push({
        n,
        up: up === await sha(data),
        echo: echoed instanceof Uint8Array && echoed.length === n && await sha(echoed) === await sha(data),
        down: made.data instanceof Uint8Array && made.data.length === n && await sha(made.data) === made.sha256,
      });
    }
    return out;
  },
  async nested() {
    const a = new Uint8Array([0, 255, 0x89, 0x50]), b = new Uint8Array(0), c = random(1000);
    const got = await auroraview.call("pack", {bundle: {name: "x", parts: [{label: "a", data: a}, {label: "b", data: b}], extra: c}}, {binary: true});
    return {
      names: got.parts.map((p) => p.label),
      sizes: got.parts.map((p) => p.data.length),
      same: await sha(got.extra) === await sha(c) && got.parts[0].data.join(",") === "0,255,137,80",
      digest: got.digest,
    };
  },
  async forged() {
    const body = frame('{"type":"call","id":"forged","method":"counted","params":{"data":{"$bin":0}}}', [new Uint8Array([1, 2, 3])]);
    const url = "auroraview://localhost/__auroraview/call";
    const statuses = [];
    const wrong = "0123456789abcdef0123456789abcdef";
    for (const headers of [
      {}, {"X-AuroraView-Key": wrong}, {"X-AuroraView-Key": ""},
      // Parts of a large frame (upload.rs) need the key as much as a whole frame does.
      {"X-AuroraView-Upload": "1;more"}, {"X-AuroraView-Key": wrong, "X-AuroraView-Upload": "1;last"},
    ]) {
      try { statuses.push((await fetch(url, {method: "POST", headers, body})).status); }
      catch (e) { statuses.push("blocked: " + e); }
    }
    try { statuses.push((await fetch(url)).status); } catch (e) { statuses.push("blocked: " + e); }
    // The page's own typed call still works after the forgeries.
    const ok = await auroraview.call("counted", {data: new Uint8Array([9])});
    return {statuses, ok};
  },
  async big_echo(n) {
    const data = random(n);
    const echoed = await auroraview.call("echo", {data});
    return echoed.length === n && await sha(echoed) === await sha(data);
  },
};
addEventListener("auroraviewready", () => {
  auroraview.on("run", async ({name, arg}) => {
    try { await auroraview.call("report", {name, data: {ok: true, value: await scenarios[name](arg)}}); }
    catch (e) { await auroraview.call("report", {name, data: {ok: false, value: String(e && e.stack || e)}}); }
  });
  auroraview.call("page_ready", {origin: location.origin});
});
"""

PAGE = f'<!doctype html><meta charset="utf-8"><title>binary</title><script>{SCRIPT}</script>'


class Made(BaseModel):
    data: bytes
    sha256: str


class Part(BaseModel):
    label: str
    data: bytes


class Bundle(BaseModel):
    name: str
    parts: list[Part]
    extra: bytes


class Packed(BaseModel):
    parts: list[Part]
    extra: bytes
    digest: str


class Harness:
    def __init__(self, **content: Any) -> None:
        self.commands = Commands()
        self.reports: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.ready: asyncio.Queue[str] = asyncio.Queue()
        self.counted: list[int] = []
        c = self.commands

        @c.command()
        async def page_ready(origin: str) -> None:
            self.ready.put_nowait(origin)

        @c.command()
        async def report(name: str, data: Any) -> None:
            self.reports.put_nowait((name, data))

        @c.command()
        def checksum(data: bytes) -> str:
            return hashlib.sha256(data).hexdigest()

        @c.command()
        async def echo(data: bytes) -> bytes:
            return data

        @c.command()
        def make(n: int) -> Made:
            data = os.urandom(n)
            if n:
                data = b"\xff" + data[1:]  # not UTF-8
            return Made(data=data, sha256=hashlib.sha256(data).hexdigest())

        @c.command()
        async def pack(bundle: Bundle) -> Packed:
            digest = hashlib.sha256(b"".join(p.data for p in bundle.parts) + bundle.extra).hexdigest()
            return Packed(parts=bundle.parts, extra=bundle.extra, digest=digest)

        @c.command()
        async def counted(data: bytes) -> int:
            self.counted.append(len(data))
            return len(self.counted)

        self.view = WebView("binary", commands=c, **content)

    async def run(self, name: str, arg: Any = None, timeout: float = 120) -> Any:
        self.view.emit("run", {"name": name, "arg": arg})
        got, data = await asyncio.wait_for(self.reports.get(), timeout)
        assert got == name
        assert data["ok"], data["value"]
        return data["value"]


async def _open(harness: Harness) -> AsyncIterator[Harness]:
    task = asyncio.ensure_future(harness.view.run_async())
    try:
        harness.origin = await asyncio.wait_for(harness.ready.get(), 30)  # type: ignore[attr-defined]
        yield harness
    finally:
        harness.view.close()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async for harness in _open(Harness(html=PAGE)):
        yield harness


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "index.html").write_text(PAGE)
    with http_server(tmp_path) as origin:
        yield origin + "/"


async def test_bytes_both_ways_intact_from_0_bytes_to_100_mib(h: Harness) -> None:
    sizes = [0, 1, MIB, 100 * MIB]
    got = await h.run("integrity", sizes, timeout=300)
    assert got == [{"n": n, "up": True, "echo": True, "down": True} for n in sizes]


async def test_bytes_nested_in_models_travel_raw(h: Harness) -> None:
    got = await h.run("nested")
    assert got["names"] == ["a", "b"] and got["sizes"] == [4, 0] and got["same"] is True
    assert len(got["digest"]) == 64


async def test_a_forged_or_missing_key_is_refused_before_any_handler(h: Harness) -> None:
    got = await h.run("forged")
    # No key, a wrong key, an empty key, parts without the key: 403; a GET: 405. The page's
    # own call then works.
    assert got == {"statuses": [403, 403, 403, 403, 403, 405], "ok": 1}
    assert h.counted == [1], "no forged request reached the handler"


def _peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def test_a_100_mib_echo_peaks_within_a_bounded_multiple_of_its_size_in_the_host(h: Harness) -> None:
    await h.run("big_echo", MIB)  # warm: the first call's one-off allocations are not the echo's
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    base = _rss()
    assert await h.run("big_echo", 100 * MIB, timeout=300) is True
    grown = _peak_rss() - base
    print(f"100 MiB echo: host peak RSS grew {grown / MIB:.0f} MiB ({grown / (100 * MIB):.2f}×)")
    # WebKit holds a request body twice in this process before the endpoint reads it, so the
    # page posts a frame over 33 MiB in parts (upload.rs): measured 2.62 to 2.68× here, against
    # 3.96 to 4.10× posted whole (docs/binary.md, "Memory"). Once, in a full-suite run after
    # hundreds of other tests (2026-12-01), 3.07×: the allocator's history (glibc's mmap
    # threshold moves with what was freed before) shifts the peak by a few tenths. A copy
    # more (+1×, 3.6× and up) still fails this.
    assert grown <= 3.4 * 100 * MIB, f"peak RSS grew {grown / MIB:.0f} MiB for a 100 MiB echo"


async def test_a_url_window_uses_the_custom_protocol_path(dev_server: str) -> None:
    async for h in _open(Harness(url=dev_server)):
        assert h.origin == dev_server.rstrip("/")  # type: ignore[attr-defined]
        got = await h.run("integrity", [0, 1, MIB])
        assert got == [{"n": n, "up": True, "echo": True, "down": True} for n in (0, 1, MIB)]
        forged = await h.run("forged")
        assert forged["ok"] == 1 and all(s in (403, 405) or str(s).startswith("blocked") for s in forged["statuses"])
        assert h.counted == [1]
