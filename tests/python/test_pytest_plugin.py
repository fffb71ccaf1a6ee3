"""The pytest plugin as a user's test suite meets it: loaded by its entry point (no conftest
line), its client fixture on the test's loop under pytest-asyncio (strict and auto) and under
anyio, and the session display for headless windows. Each suite runs in a pytest of its own."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auroraview.testing import VirtualDisplay

APP = '''
import asyncio
import pytest
from auroraview import Commands
from auroraview.testing import TestClient

commands = Commands()

@commands.command()
async def greet(name: str) -> str:
    return f"hello {name} on {id(asyncio.get_running_loop())}"

@pytest.fixture
def auroraview_app() -> Commands:
    return commands
'''


def run_suite(
    tmp_path: Path, tests: str, ini: str = "", *args: str, path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(APP + textwrap.dedent(tests))
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + textwrap.dedent(ini))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )


def passed(proc: subprocess.CompletedProcess[str], n: int) -> None:
    assert proc.returncode == 0 and f"{n} passed" in proc.stdout, proc.stdout + proc.stderr


def test_the_plugin_is_registered_by_a_pytest11_entry_point() -> None:
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    assert names.get("auroraview.pytest_plugin") == "auroraview.pytest_plugin", names


SAME_LOOP = """
async def test_greet(auroraview_client: TestClient) -> None:
    reply = await auroraview_client.call("greet", {"name": "Ada"})
    assert reply == f"hello Ada on {id(asyncio.get_running_loop())}"   # the test's own loop
"""


def test_pytest_asyncio_strict_mode_without_a_conftest(tmp_path: Path) -> None:
    tests = SAME_LOOP.replace("async def test_greet", "@pytest.mark.asyncio\nasync def test_greet")
    passed(run_suite(tmp_path, tests, "asyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n", "-W", "error"), 1)
    passed(run_suite(tmp_path, tests), 1)  # no configuration at all (pytest-asyncio's defaults)


def test_pytest_asyncio_auto_mode(tmp_path: Path) -> None:
    passed(run_suite(tmp_path, SAME_LOOP, "asyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n", "-W", "error"), 1)


def test_anyio_alone(tmp_path: Path) -> None:
    tests = SAME_LOOP.replace("async def test_greet", "@pytest.mark.anyio\nasync def test_greet")
    passed(run_suite(tmp_path, tests, "", "-p", "no:asyncio", "-W", "error"), 1)


def test_anyio_without_pytest_asyncio_installed(tmp_path: Path) -> None:
    # Loaded in every pytest run where auroraview is installed, the plugin must not need it.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pytest_asyncio.py").write_text('raise ImportError("pytest-asyncio is not installed")\n')
    tests = SAME_LOOP.replace("async def test_greet", "@pytest.mark.anyio\nasync def test_greet")
    passed(run_suite(tmp_path, tests, "", "-p", "no:asyncio", "-W", "error", path=shadow), 1)


def test_anyio_beside_pytest_asyncio_in_strict_mode(tmp_path: Path) -> None:
    tests = SAME_LOOP.replace("async def test_greet", "@pytest.mark.anyio\nasync def test_greet")
    passed(run_suite(tmp_path, tests, "asyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"), 1)


def test_loading_it_the_old_way_too_is_no_error(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["auroraview.pytest_plugin"]\n')
    proc = run_suite(tmp_path, SAME_LOOP, "asyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    passed(proc, 1)
    passed(run_suite(tmp_path, SAME_LOOP, "asyncio_mode = auto\n", "-p", "auroraview.pytest_plugin"), 1)


def test_it_can_be_turned_off(tmp_path: Path) -> None:
    proc = run_suite(tmp_path, SAME_LOOP, "asyncio_mode = auto\n", "-p", "no:auroraview.pytest_plugin")
    assert proc.returncode != 0 and "fixture 'auroraview_client' not found" in proc.stdout, proc.stdout


def test_without_an_async_plugin_the_error_says_what_to_install(tmp_path: Path) -> None:
    tests = """
    def test_sync(auroraview_client: TestClient) -> None:
        pass
    """
    proc = run_suite(tmp_path, tests, "", "-p", "no:asyncio")
    assert proc.returncode != 0 and "install pytest-asyncio" in proc.stdout, proc.stdout


@pytest.mark.skipif(not VirtualDisplay.available() and not os.environ.get("CI"), reason="Xvfb is not installed")
def test_auroraview_display_gives_a_display_to_screenshot(tmp_path: Path) -> None:
    tests = """
    from pathlib import Path
    from auroraview.testing import png_is_blank, screenshot

    def test_display(auroraview_display: str, tmp_path: Path) -> None:
        assert auroraview_display.startswith(":")
        shot = screenshot(tmp_path / "root.png", auroraview_display)
        assert shot.read_bytes().startswith(b"\\x89PNG") and png_is_blank(shot)   # nothing open yet

    def test_same_display_for_the_session(auroraview_display: str) -> None:
        import os
        assert os.environ["DISPLAY"] == auroraview_display
    """
    passed(run_suite(tmp_path, tests, "", "-p", "no:asyncio"), 2)
