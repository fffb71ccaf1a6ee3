"""`auroraview dev` without a window: its configuration, the clear errors when the frontend dev
server exits or never answers (with its last lines), and the watcher that restarts Python."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from auroraview.dev import DevError, _Watcher, load_config  # pyright: ignore[reportPrivateUsage]

APP = "from auroraview import Commands\ncommands = Commands()\n"


def dev(cwd: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auroraview", "dev", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[tool.auroraview]\n{table}\n')
    (tmp_path / "ui").mkdir(exist_ok=True)
    (tmp_path / "shop.py").write_text(APP)
    return tmp_path


def test_config_paths_are_resolved_against_pyproject(tmp_path: Path) -> None:
    project(tmp_path, 'app = "shop:commands"\nassets = "ui/dist"\nbindings = "ui/src/x.gen.ts"\ndev-timeout = 5')
    (tmp_path / "deep").mkdir()
    config = load_config(tmp_path / "deep")
    assert config.root == tmp_path.resolve() and config.app == "shop:commands"
    assert config.frontend == tmp_path.resolve() / "ui" and config.assets == tmp_path.resolve() / "ui" / "dist"
    assert config.dev_timeout == 5.0 and config.dev_command == "npm run dev"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('dev-comand = "vite"', "unknown key 'dev-comand' in [tool.auroraview] (known: app, frontend, dev-command"),
        ("dev-timeout = 'soon'", "[tool.auroraview] dev-timeout must be a float, got 'soon'"),
    ],
)
def test_a_wrong_table_is_one_line(tmp_path: Path, table: str, message: str) -> None:
    proc = dev(project(tmp_path, table), "shop:commands")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert message in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr


def test_no_table_or_no_app_says_what_to_add(tmp_path: Path) -> None:
    proc = dev(tmp_path)
    assert proc.returncode == 2 and "no pyproject.toml in" in proc.stderr and "auroraview new NAME" in proc.stderr
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    proc = dev(tmp_path)
    assert proc.returncode == 2 and "has no [tool.auroraview] table" in proc.stderr
    project(tmp_path, "")
    proc = dev(tmp_path)
    assert proc.returncode == 2 and 'app = "MODULE:OBJECT" in [tool.auroraview]' in proc.stderr


def test_a_dev_server_that_exits_is_reported_with_its_last_lines(tmp_path: Path) -> None:
    project(tmp_path, f"dev-command = '{sys.executable} server.py'\ndev-url = 'http://127.0.0.1:9'")
    (tmp_path / "ui" / "server.py").write_text("import sys\nprint('vite: port 5173 is in use')\nsys.exit(3)\n")
    proc = dev(tmp_path, "shop:commands")
    assert proc.returncode == 2, proc.stderr
    assert "auroraview dev: waiting for the frontend dev server at http://127.0.0.1:9" in proc.stderr
    assert "exited with status 3 before http://127.0.0.1:9 answered; its last lines:\n    vite: port 5173 is in use" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_dev_url_that_never_answers_is_an_error_in_bounded_time(tmp_path: Path) -> None:
    project(tmp_path, f"dev-command = '{sys.executable} server.py'\ndev-url = 'http://127.0.0.1:9'\ndev-timeout = 1.5")
    (tmp_path / "ui" / "server.py").write_text("import time\nprint('listening on 5174', flush=True)\ntime.sleep(60)\n")
    started = time.monotonic()
    proc = dev(tmp_path, "shop:commands")
    assert proc.returncode == 2 and time.monotonic() - started < 15, proc.stderr
    assert "http://127.0.0.1:9 did not answer within 1.5 s" in proc.stderr and "is dev-url right" in proc.stderr
    assert "    listening on 5174" in proc.stderr


@pytest.mark.parametrize("kind", ["watchfiles", "polling"])
def test_the_watcher_sees_a_changed_module_and_ignores_the_rest(tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if kind == "polling":
        monkeypatch.setitem(sys.modules, "watchfiles", None)  # an import of it fails
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "api.py").write_text("x = 1\n")
    (tmp_path / "node_modules").mkdir()
    watcher = _Watcher([tmp_path])
    try:
        assert watcher.kind == kind
        time.sleep(0.7)  # the watcher is watching
        (tmp_path / "node_modules" / "ignored.py").write_text("y = 2\n")
        (tmp_path / "notes.txt").write_text("not Python\n")
        (tmp_path / "pkg" / "api.py").write_text("x = 2\n")
        changed: list[str] = []
        deadline = time.monotonic() + 10
        while not changed and time.monotonic() < deadline:
            changed = watcher.changed(0.5)
        assert changed == [str(tmp_path / "pkg" / "api.py")]
    finally:
        watcher.close()


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    proc = subprocess.run([sys.executable, "-m", "auroraview", "new", "taken"], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert proc.returncode == 2 and "already exists and is not an empty folder" in proc.stderr
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def test_dev_error_is_an_exception() -> None:
    assert issubclass(DevError, Exception)
