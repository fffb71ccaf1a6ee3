"""`auroraview new` as a new user meets it: the app it makes installs, builds, passes its own
frontend and pytest tests, opens in a real window showing Python's answer (a screenshot), and
`auroraview dev` runs it on Vite's dev server with hot reload, restarts the Python side on a
change, and leaves no process behind.

One app is made for the module (npm's cache is the machine's, shared with every other npm
install): about 25 s in all on a warm cache, 10 s more for a first download.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from auroraview._xvfb import screenshot

pytestmark = pytest.mark.timeout(300)

NPM = shutil.which("npm")
# The answer from Python, as App.css paints it (#2e7d32), and the colour the dev test changes it to.
ANSWERED = bytes((0x2E, 0x7D, 0x32))
EDITED = bytes((0x15, 0x65, 0xC0))


def run(argv: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(argv)} in {cwd} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def auroraview(*args: str) -> list[str]:
    return [sys.executable, "-m", "auroraview", *args]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if NPM is None:
        if os.environ.get("CI"):
            pytest.fail("npm is missing: the template test must run in CI (scripts/setup.sh needs Node.js)")
        pytest.skip("npm is not installed")
    root = tmp_path_factory.mktemp("new") / "hello-app"
    started = time.monotonic()
    run(auroraview("new", str(root), "--title", "Hello app"), root.parent)
    made = time.monotonic()
    run([NPM, "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], root / "ui")
    print(f"\ntemplate: new {made - started:.1f} s, npm install {time.monotonic() - made:.1f} s")
    yield root


def colours(png: Path) -> set[bytes]:
    """Every colour of a PNG written by `screenshot` (unfiltered rows of RGB)."""
    data = png.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    return {raw[y * stride + 1 + x * 3 : y * stride + 4 + x * 3] for y in range(0, height, 3) for x in range(0, width, 3)}


def wait_for_colour(colour: bytes, out: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the app exited with status {proc.returncode}"
        if colour in colours(screenshot(out)):
            return
        time.sleep(0.3)
    raise AssertionError(f"#{colour.hex()} never appeared on screen (last screenshot: {out})")


def test_the_new_app_builds_and_passes_its_own_tests(app: Path) -> None:
    started = time.monotonic()
    # The frontend test renders App.tsx under StrictMode against the typed mock.
    out = run([NPM or "npm", "test"], app / "ui")
    assert "3 passed" in out.stdout, out.stdout
    tested = time.monotonic()
    # Bindings fresh, then tsc and vite build into ui/dist.
    run(auroraview("codegen", "hello_app.commands:commands", "--out", "ui/src/auroraview.gen.ts", "--check"), app)
    run(auroraview("build"), app)
    assert (app / "ui" / "dist" / "index.html").is_file()
    built = time.monotonic()
    out = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], app)
    assert "2 passed" in out.stdout, out.stdout
    print(f"\ntemplate: npm test {tested - started:.1f} s, build {built - tested:.1f} s, pytest {time.monotonic() - built:.1f} s")


def test_the_new_app_opens_in_a_window_with_pythons_answer(app: Path, display: str | None, tmp_path: Path) -> None:
    if not (app / "ui" / "dist" / "index.html").is_file():
        run(auroraview("build"), app)
    proc = subprocess.Popen([sys.executable, "-m", "hello_app"], cwd=app)
    try:
        # Green only once the page has called `greet` in Python and shown the answer.
        wait_for_colour(ANSWERED, tmp_path / "app.png", proc)
    finally:
        proc.terminate()
        proc.wait(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def test_dev_hot_reloads_the_page_restarts_python_and_stops_everything(app: Path, display: str | None, tmp_path: Path) -> None:
    port = free_port()
    for rel in ("pyproject.toml", "ui/vite.config.ts"):
        path = app / rel
        path.write_text(path.read_text().replace("5173", str(port)))
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "dev.log"
    with log.open("wb") as sink:
        dev = subprocess.Popen(auroraview("dev"), cwd=app, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_colour(ANSWERED, tmp_path / "dev.png", dev)
        text = log.read_text()
        assert f"waiting for the frontend dev server at {url}" in text and "watched with watchfiles" in text, text
        # A style edit reaches the open window through Vite's hot reload (no restart).
        css = app / "ui" / "src" / "App.css"
        css.write_text(css.read_text().replace("#2e7d32", "#1565c0"))
        wait_for_colour(EDITED, tmp_path / "dev.png", dev)
        assert "restarting" not in log.read_text()
        # A Python edit: the bindings are regenerated and the Python side restarts.
        commands = app / "hello_app" / "commands.py"
        commands.write_text(
            commands.read_text()
            + '\n\n@commands.command()\ndef shout(text: str) -> str:\n    """Louder."""\n    return text.upper()\n'
        )
        deadline = time.monotonic() + 30
        bindings = app / "ui" / "src" / "auroraview.gen.ts"
        while "shout:" not in bindings.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "shout: commandWithParams<ShoutParams, ShoutResult>" in bindings.read_text()
        assert "commands.py changed: restarting the Python side" in log.read_text()
        wait_for_colour(EDITED, tmp_path / "dev.png", dev)  # the new window, answered
    finally:
        dev.send_signal(signal.SIGTERM)
        code = dev.wait(20)
    text = log.read_text()
    assert code == 130 and "auroraview dev: stopping" in text, text
    # Nothing it started is left: the dev server no longer answers, and no process runs in the app.
    assert not answers(url)
    assert processes_in(app) == []


def processes_in(folder: Path) -> list[str]:
    """The command lines of the processes whose working directory is in ``folder``."""
    found: list[str] = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass  # gone meanwhile, or not ours to read
    return found
