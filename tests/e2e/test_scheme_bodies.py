"""A page cannot crash the host through the `auroraview://` scheme's request bodies.

WebKitGTK 2.50 dereferences null in `webkit_uri_scheme_request_get_http_body` for a body
backed by a `Blob` (its parts resolve only in the network process); wry's `linux-body`
feature read every custom-protocol body that way before any handler ran, so one line in any
window's page — `fetch("auroraview://localhost/x", {method: "POST", body: new Blob(["x"])})`
— killed the whole app with SIGSEGV (measured on this machine; wails #5845 reports the same).
The scheme serves assets with GET only and never reads a body."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio
    from auroraview import Commands, WebView

    PAGE = '''<!doctype html><script>
    addEventListener("auroraviewready", async () => {
      const outcomes = [];
      for (const body of [new Blob(["hello"]), new Blob(["a", "b", "c"]), (() => { const f = new FormData(); f.append("f", new Blob(["x"])); return f; })()]) {
        try { const r = await fetch("auroraview://localhost/x", {method: "POST", body}); outcomes.push(r.status); }
        catch (e) { outcomes.push(String(e)); }
      }
      await auroraview.call("survived", {outcomes});
    });
    </script>'''

    commands = Commands()
    done = asyncio.Event()

    @commands.command()
    async def survived(outcomes: list[object]) -> None:
        print("survived", outcomes, flush=True)
        done.set()

    async def main() -> None:
        view = WebView("bodies", html=PAGE, commands=commands)
        task = asyncio.ensure_future(view.run_async())
        await asyncio.wait_for(done.wait(), 30)
        view.close()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
    """
)


def test_blob_bodies_posted_to_the_scheme_do_not_crash_the_host() -> None:
    env = {**os.environ, "NO_AT_BRIDGE": "1", "DBUS_SESSION_BUS_ADDRESS": "disabled:"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-2000:]}"
    assert proc.stdout.startswith("survived"), proc.stdout
