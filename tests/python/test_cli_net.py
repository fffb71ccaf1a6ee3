"""`auroraview serve`, `call` and `monitor` as a user runs them: real processes, real sockets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_server import serve

ROOT = Path(__file__).parents[2]
APP = "tests/net/app.py:commands"


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auroraview", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def served() -> Iterator[dict[str, Any]]:
    with serve(APP, "--metrics") as ready:
        yield ready


def test_serve_prints_where_and_stops_cleanly_on_sigterm(served: dict[str, Any]) -> None:
    port, token = served["port"], served["token"]
    assert served["url"] == f"http://127.0.0.1:{port}/?token={token}"
    assert served["ws_url"] == f"ws://127.0.0.1:{port}/__auroraview/ws"
    proc: subprocess.Popen[str] = served["proc"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert proc.stderr is not None and "serving tests/net/app.py:commands" in proc.stderr.read()


def test_call_prints_the_result(served: dict[str, Any]) -> None:
    out = cli("call", served["url"], "api.add", '{"a": 2, "b": 3}', "--compact")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"total": 5}


def test_call_prints_the_structured_error_and_exits_1(served: dict[str, Any]) -> None:
    out = cli("call", served["url"], "api.add", '{"a": 2, "b": -1}')
    assert out.returncode == 1
    error = json.loads(out.stderr)["error"]
    assert error["code"] == "invalid_params" and error["data"]["errors"][0]["loc"] == ["b"]
    out = cli("call", served["url"], "api.fail", '{"what": "cube"}')
    assert out.returncode == 1
    assert json.loads(out.stderr)["error"] == {
        "name": "NotFound",
        "code": "not_found",
        "message": "no cube here",
        "data": {"what": "cube"},
    }


def test_call_takes_the_token_from_the_environment(served: dict[str, Any]) -> None:
    out = cli("call", served["ws_url"], "api.echo", '{"value": [1, "x"]}', "--compact", env={"AURORAVIEW_TOKEN": served["token"]})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [1, "x"]


def test_call_with_a_wrong_token_exits_3(served: dict[str, Any]) -> None:
    out = cli("call", served["ws_url"], "api.echo", "--token", "W" * 43)
    assert out.returncode == 3
    assert "4001" in out.stderr or "token" in out.stderr.lower()


def test_a_failed_call_does_not_print_the_token() -> None:
    secret = "S" * 43
    out = cli("call", f"http://127.0.0.1:1/?token={secret}", "api.echo")
    assert out.returncode == 3 and "cannot connect" in out.stderr
    assert secret not in out.stderr


def test_call_with_bad_params_is_a_usage_error(served: dict[str, Any]) -> None:
    out = cli("call", served["url"], "api.add", "{a: 1}")
    assert out.returncode == 2 and "PARAMS must be JSON" in out.stderr


def test_monitor_once_shows_the_counters(served: dict[str, Any]) -> None:
    assert cli("call", served["url"], "api.add", '{"a": 1, "b": 1}').returncode == 0
    out = cli("monitor", served["url"], "--once")
    assert out.returncode == 0, out.stderr
    assert "connections" in out.stdout and "api.add" in out.stdout
    row = next(line for line in out.stdout.splitlines() if line.startswith("api.add"))
    assert row.split()[1:3] == ["1", "1"], row  # calls, ok
    out = cli("monitor", f"http://127.0.0.1:{served['port']}/", "--once", "--token", "W" * 43)
    assert out.returncode == 2 and "401" in out.stderr


def test_serve_refuses_a_bad_target_and_a_bad_token() -> None:
    out = cli("serve", "tests/net/nope.py:commands")
    assert out.returncode == 2 and "no such file" in out.stderr
    out = cli("serve", APP, "--token", "short")
    assert out.returncode == 2 and "token must be" in out.stderr


def test_a_handler_calling_sys_exit_ends_serve_with_its_status(tmp_path: Path) -> None:
    (tmp_path / "quitter.py").write_text(
        "import sys\n"
        "from auroraview import Commands\n"
        "commands = Commands()\n\n"
        "@commands.command()\n"
        "def quit(status: int) -> None:\n"
        "    sys.exit(status)\n"
    )
    with serve(f"{tmp_path / 'quitter.py'}:commands") as ready:
        called = cli("call", ready["url"], "quit", '{"status": 3}')
        # The caller gets its reply first: the structured error naming the exception.
        assert called.returncode == 1, called.stderr
        assert "SystemExit" in called.stdout + called.stderr
        assert ready["proc"].wait(10) == 3
