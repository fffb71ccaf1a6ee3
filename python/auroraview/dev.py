"""`auroraview dev` and `auroraview build`: the `[tool.auroraview]` table of an app's pyproject.toml,
the frontend dev server, the window on it, and the bindings and Python side kept fresh.

    [tool.auroraview]
    app = "myapp.commands:commands"    # MODULE:OBJECT, as for codegen (the CLI argument wins)
    frontend = "ui"                     # where the commands run (default "ui")
    dev-command = "npm run dev"         # starts the frontend dev server
    dev-url = "http://127.0.0.1:5173"   # where it answers
    build-command = "npm run build"     # `auroraview build`
    assets = "ui/dist"                  # what the build makes (the app's `WebView(assets=...)`)
    bindings = "ui/src/auroraview.gen.ts"
    title = "My app"                    # the dev window's title (default: the WebView's, else the name)

Paths are relative to the folder of pyproject.toml. `auroraview dev` starts the dev server in
its own process group, waits for `dev-url` to answer, then runs the Python side in a child
process (`auroraview._devwindow`): it imports the app, rewrites the bindings when they
changed and opens a window on the dev server (Vite's hot reload works there as in a browser
tab). A change to a `.py` file under the project restarts that child (so the bindings are
regenerated from a fresh import). Closing the window, Ctrl-C or SIGTERM stops everything it
started. The app's own code keeps `WebView(assets=...)` for production: nothing changes there.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["DevConfig", "DevError", "build", "load_config", "run_dev"]

# Keys of [tool.auroraview] and their types.
_KEYS: dict[str, type] = {
    "app": str,
    "frontend": str,
    "dev-command": str,
    "dev-url": str,
    "dev-timeout": float,
    "build-command": str,
    "assets": str,
    "bindings": str,
    "title": str,
    "watch": list,
}

# Lines of the dev server's output kept to explain why it never answered.
_TAIL_LINES = 25
# Seconds between reads of the project's files when watchfiles is not installed.
_POLL_SECONDS = 0.5
# Folders never watched (nor walked when polling): dependencies, builds, caches.
_IGNORED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "dist", "build", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


class DevError(Exception):
    """What went wrong, said for the user (the CLI prints it as one error, exit status 2 or 1)."""


@dataclass
class DevConfig:
    """The `[tool.auroraview]` table, paths resolved against ``root`` (pyproject.toml's folder)."""

    root: Path
    app: str | None = None
    frontend: Path = field(default_factory=Path)
    dev_command: str = "npm run dev"
    dev_url: str = "http://127.0.0.1:5173"
    dev_timeout: float = 60.0
    build_command: str = "npm run build"
    assets: Path | None = None
    bindings: Path | None = None
    title: str | None = None
    watch: list[Path] = field(default_factory=lambda: [])


def load_config(start: Path | None = None) -> DevConfig:
    """Read `[tool.auroraview]` from the nearest pyproject.toml at or above ``start`` (the cwd)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        path = folder / "pyproject.toml"
        if path.is_file():
            break
    else:
        raise DevError(f"no pyproject.toml in {here} or above: `auroraview new NAME` makes a project with one")
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise DevError(f"{path}: {exc}") from None
    table: Any = doc.get("tool", {}).get("auroraview")
    if not isinstance(table, dict):
        raise DevError(f"{path} has no [tool.auroraview] table (keys: {', '.join(_KEYS)})")
    values: dict[str, Any] = {}
    for key, value in table.items():  # pyright: ignore[reportUnknownVariableType]
        kind = _KEYS.get(key)  # pyright: ignore[reportUnknownArgumentType]
        if kind is None:
            raise DevError(f"{path}: unknown key {key!r} in [tool.auroraview] (known: {', '.join(_KEYS)})")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind):
            raise DevError(f"{path}: [tool.auroraview] {key} must be a {kind.__name__}, got {value!r}")
        values[key] = value
    root = path.parent
    return DevConfig(
        root=root,
        app=values.get("app"),
        frontend=root / values.get("frontend", "ui"),
        dev_command=values.get("dev-command", "npm run dev"),
        dev_url=values.get("dev-url", "http://127.0.0.1:5173"),
        dev_timeout=values.get("dev-timeout", 60.0),
        build_command=values.get("build-command", "npm run build"),
        assets=root / values["assets"] if "assets" in values else None,
        bindings=root / values["bindings"] if "bindings" in values else None,
        title=values.get("title"),
        watch=[root / str(w) for w in values.get("watch", ["."])],
    )


# ── Processes ───────────────────────────────────────────────────────────────


class _Process:
    """A command in its own process group, its output forwarded line by line and the last lines kept."""

    def __init__(self, argv: list[str] | str, cwd: Path, *, name: str, capture: bool, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self._lines: list[str] = []
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                shell=isinstance(argv, str),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if capture else None,
                stderr=subprocess.STDOUT if capture else None,
                # Its own group: Ctrl-C reaches only us, and stopping it reaches its children
                # too (npm starts a shell that starts node).
                start_new_session=True,
            )
        except OSError as exc:
            raise DevError(f"cannot start {name}: {exc}") from None
        if capture:
            assert self.proc.stdout is not None
            threading.Thread(target=self._forward, args=(self.proc.stdout,), daemon=True, name=f"auroraview-dev-{name}").start()

    def _forward(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.tail.append(line)
            print(line, file=sys.stderr, flush=True)

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM to the whole group, SIGKILL after ``grace`` seconds."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # Whatever the leader left behind in its group (a dev server's node under npm's shell).
        _signal_group(self.proc.pid, signal.SIGKILL)

    def tail_text(self) -> str:
        lines = list(self.tail)
        return "\n".join(f"    {line}" for line in lines) if lines else "    (it printed nothing)"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def wait_for_url(url: str, server: _Process, timeout: float, command: str, cwd: Path) -> None:
    """Return once ``url`` answers HTTP; `DevError` with the server's last lines if it exits or
    ``timeout`` seconds pass first."""
    print(f"auroraview dev: waiting for the frontend dev server at {url} (`{command}` in {cwd}) ...", file=sys.stderr, flush=True)
    start = time.monotonic()
    next_note = start + 10
    while True:
        code = server.poll()
        if code is not None:
            time.sleep(0.2)  # the last lines of its output
            raise DevError(
                f"the frontend dev server (`{command}` in {cwd}) exited with status {code} before {url} answered; "
                f"its last lines:\n{server.tail_text()}"
            )
        if _answers(url):
            return
        now = time.monotonic()
        if now - start > timeout:
            raise DevError(
                f"{url} did not answer within {timeout:g} s of starting `{command}` in {cwd}: is dev-url right "
                f"(the port the dev server prints)? Raise dev-timeout in [tool.auroraview] if it is only slow. "
                f"Its last lines:\n{server.tail_text()}"
            )
        if now >= next_note:
            print(f"auroraview dev: still waiting for {url} ({now - start:.0f} s)", file=sys.stderr, flush=True)
            next_note = now + 10
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered, even if not with 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


# ── Watching the Python side ────────────────────────────────────────────────


class _Watcher:
    """Changed `.py` files under the given folders: watchfiles when installed, else polling."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders
        self._changes: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        try:
            import watchfiles  # noqa: F401  # pyright: ignore[reportUnusedImport]
        except ImportError:
            self.kind = "polling"
            self._snapshot = _scan(folders)
            target: Callable[[], None] = self._poll
        else:
            self.kind = "watchfiles"
            target = self._watch
        threading.Thread(target=target, daemon=True, name="auroraview-dev-watch").start()

    def _watch(self) -> None:
        import watchfiles

        folders = [f for f in self.folders if f.exists()]
        for changes in watchfiles.watch(*folders, watch_filter=_is_watched, stop_event=self._stop, debounce=300, step=50):
            for _change, path in sorted(changes):
                self._changes.put(path)

    def _poll(self) -> None:
        while not self._stop.wait(_POLL_SECONDS):
            now = _scan(self.folders)
            for path in sorted(set(now) | set(self._snapshot)):
                if now.get(path) != self._snapshot.get(path):
                    self._changes.put(path)
            self._snapshot = now

    def changed(self, wait: float) -> list[str]:
        """The files changed since the last call, waiting up to ``wait`` seconds for one."""
        try:
            first = self._changes.get(timeout=wait)
        except queue.Empty:
            return []
        time.sleep(0.1)  # an editor's save is often several writes
        found = [first]
        while not self._changes.empty():
            found.append(self._changes.get_nowait())
        return sorted(set(found))

    def close(self) -> None:
        self._stop.set()


def _is_watched(change: object, path: str) -> bool:
    return path.endswith(".py") and not (_IGNORED_DIRS & set(Path(path).parts))


def _scan(folders: list[Path]) -> dict[str, int]:
    found: dict[str, int] = {}
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if d not in _IGNORED_DIRS and not d.startswith(".")]
            for name in filenames:
                if name.endswith(".py"):
                    path = os.path.join(dirpath, name)
                    with contextlib.suppress(OSError):
                        found[path] = os.stat(path).st_mtime_ns
    return found


# ── The loop ────────────────────────────────────────────────────────────────


class _Stop(Exception):
    """SIGTERM, turned into an exception so that every `finally` runs."""


def _python_side(target: str, config: DevConfig) -> _Process:
    argv = [sys.executable, "-m", "auroraview._devwindow", target, config.dev_url]
    if config.bindings is not None:
        argv += ["--bindings", str(config.bindings)]
    if config.title is not None:
        argv += ["--title", config.title]
    return _Process(argv, config.root, name="the Python side", capture=False)


def run_dev(target: str | None, config: DevConfig) -> int:
    """The `auroraview dev` loop; returns the exit status once the window is closed."""
    target = target or config.app
    if not target:
        raise DevError("name the app: `auroraview dev MODULE:OBJECT`, or app = \"MODULE:OBJECT\" in [tool.auroraview]")
    if not config.frontend.is_dir():
        raise DevError(f"the frontend folder {config.frontend} does not exist (frontend = in [tool.auroraview])")
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    server: _Process | None = None
    child: _Process | None = None
    watcher: _Watcher | None = None
    try:
        server = _Process(shlex.split(config.dev_command), config.frontend, name="the frontend dev server", capture=True)
        wait_for_url(config.dev_url, server, config.dev_timeout, config.dev_command, config.frontend)
        watcher = _Watcher(config.watch)
        print(
            f"auroraview dev: {config.dev_url} is up; opening {target} on it (Python changes restart it, "
            f"watched with {watcher.kind}; Ctrl-C stops everything)",
            file=sys.stderr,
            flush=True,
        )
        child = _python_side(target, config)
        while True:
            changed = watcher.changed(0.2)
            if changed:
                shown = ", ".join(os.path.relpath(p, config.root) for p in changed[:3]) + (" ..." if len(changed) > 3 else "")
                print(f"auroraview dev: {shown} changed: restarting the Python side", file=sys.stderr, flush=True)
                if child is not None:
                    child.stop()
                child = _python_side(target, config)
                continue
            code = server.poll()
            if code is not None:
                raise DevError(f"the frontend dev server exited with status {code}; its last lines:\n{server.tail_text()}")
            if child is not None:
                code = child.poll()
                if code == 0:
                    print("auroraview dev: the window was closed; stopping", file=sys.stderr, flush=True)
                    return 0
                if code is not None:
                    print(
                        f"auroraview dev: the Python side exited with status {code}; waiting for a change to a .py file",
                        file=sys.stderr,
                        flush=True,
                    )
                    child = None
    except (KeyboardInterrupt, _Stop):
        print("auroraview dev: stopping", file=sys.stderr, flush=True)
        return 130
    finally:
        if watcher is not None:
            watcher.close()
        for proc in (child, server):
            if proc is not None:
                proc.stop()
        signal.signal(signal.SIGTERM, previous)


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


def build(target: str | None, config: DevConfig, render: Callable[[str], str]) -> int:
    """`auroraview build`: rewrite the bindings, run the build command, check its output."""
    target = target or config.app
    if config.bindings is not None:
        if not target:
            raise DevError("name the app (`auroraview build MODULE:OBJECT` or app = in [tool.auroraview]) to write the bindings")
        _write_if_changed(config.bindings, render(target))
    print(f"auroraview build: `{config.build_command}` in {config.frontend}", file=sys.stderr, flush=True)
    code = subprocess.call(shlex.split(config.build_command), cwd=config.frontend)
    if code != 0:
        raise DevError(f"`{config.build_command}` in {config.frontend} exited with status {code}")
    if config.assets is not None:
        if not (config.assets / "index.html").is_file():
            raise DevError(f"the build made no {config.assets / 'index.html'} (assets = in [tool.auroraview])")
        print(f"auroraview build: {config.assets} is ready (WebView(assets=...) serves it)", file=sys.stderr, flush=True)
    return 0


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    print(f"auroraview: wrote {path}", file=sys.stderr, flush=True)
    return True
