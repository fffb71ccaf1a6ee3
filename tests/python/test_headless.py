"""auroraview on a machine without WebKitGTK and GTK (a frontend CI container running
`auroraview codegen --check`): everything but the window works, and a window is a clear
error naming the system package.

The machine is made so for real, without a container: in a private mount namespace
(`unshare --mount`) the display stack's libraries are replaced by empty files, so the
dynamic loader cannot load them, and the tests run there in a fresh interpreter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import auroraview

ROOT = Path(__file__).parents[2]
FULL = Path(auroraview.__file__).parent / "_core.abi3.so"
# What the full build links and the build without the window must not need.
HIDDEN = ("libwebkit2gtk-4.1", "libjavascriptcoregtk-4.1", "libgtk-3", "libgdk-3", "libsoup-3.0")


def display_stack() -> list[str]:
    """The resolved paths of the libraries to hide, as the full build links them."""
    out = subprocess.run(["ldd", str(FULL)], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in out.splitlines():
        name, _, rest = line.strip().partition(" => ")
        if name.startswith(HIDDEN) and rest:
            paths.append(os.path.realpath(rest.split(" (")[0]))
    return paths


def unshare_prefix() -> list[str] | None:
    """A command prefix that runs in a private mount namespace, or None when not allowed."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (["unshare", "--mount"], ["unshare", "--map-root-user", "--mount"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return None


def without_display_stack(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    prefix = unshare_prefix()
    if prefix is None:
        if os.environ.get("CI"):
            pytest.fail("CI must be able to run `unshare --mount` (root, or user namespaces)")
        pytest.skip("unshare --mount is not allowed here")
    paths = display_stack()
    assert len(paths) == len(HIDDEN), f"the full build no longer links all of {HIDDEN}: {paths}"
    hide = " && ".join(f"mount --bind /dev/null {p}" for p in paths)
    script = f"{hide} && exec {sys.executable} -c \"$0\""
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    return subprocess.run(
        [*prefix, "sh", "-c", script, textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def test_the_full_build_cannot_load_there() -> None:
    # The environment is what it claims: the full extension's libraries are gone.
    proc = without_display_stack(
        f"""
        import importlib.util
        spec = importlib.util.spec_from_file_location("auroraview._core", {str(FULL)!r})
        importlib.util.module_from_spec(spec)
        """
    )
    # The loader names the first hidden library in the extension's link order (which the
    # linker chooses: adding a dependency reordered it once).
    assert proc.returncode != 0 and any(f"{lib}.so" in proc.stderr for lib in HIDDEN), proc.stderr


def test_commands_codegen_test_client_and_the_server_work_without_the_display_stack() -> None:
    proc = without_display_stack(
        """
        import asyncio, subprocess, sys
        import auroraview
        from auroraview import App, Commands, GuiUnavailable, WebView, connect
        from auroraview import _core, _load
        from auroraview.testing import TestClient

        assert not _core.WINDOW_SUPPORT
        hidden = ("libwebkit2gtk-4.1", "libjavascriptcoregtk-4.1", "libgtk-3", "libgdk-3", "libsoup-3.0")  # HIDDEN
        assert any(f"{lib}.so" in _load.WINDOW_UNAVAILABLE for lib in hidden), _load.WINDOW_UNAVAILABLE
        maps = open("/proc/self/maps").read()
        assert "libwebkit2gtk" not in maps and "libgtk-3" not in maps

        commands = Commands()

        @commands.command()
        async def greet(name: str) -> str:
            return f"hello {name}"

        async def in_process():
            async with TestClient(commands) as client:
                assert await client.call("greet", {"name": "Ada"}) == "hello Ada"
        asyncio.run(in_process())

        app = App(Commands())

        @app.commands.command(transports=("network",))
        def add(a: int, b: int) -> int:
            return a + b

        server = app.serve()
        with connect(server.ws_url, token=server.token) as client:
            assert client.call("add", {"a": 2, "b": 3}) == 5
        server.close()
        app.close()

        for args in (["schema", "tests/codegen/corpus.py:commands"],
                     ["codegen", "corpus:commands", "--out", "corpus.gen.ts", "--check"]):
            cwd = "tests/codegen" if args[0] == "codegen" else "."
            out = subprocess.run([sys.executable, "-m", "auroraview", *args], capture_output=True, text=True, cwd=cwd)
            assert out.returncode == 0, (args, out.stderr)

        try:
            WebView("no display stack", html="<p>x</p>").show()
        except GuiUnavailable as exc:
            assert "libwebkit2gtk-4.1-0" in str(exc) and any(f"{lib}.so" in str(exc) for lib in hidden), exc
        else:
            raise AssertionError("a window opened without WebKitGTK")
        print("headless ok")
        """
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("headless ok"), proc.stdout + proc.stderr
