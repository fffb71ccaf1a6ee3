"""The pytest plugin: fixtures for testing an auroraview app (docs/testing.md).

Loaded by itself wherever auroraview is installed (the ``pytest11`` entry point
``auroraview.pytest_plugin``); ``-p no:auroraview.pytest_plugin`` turns it off. Define an
``auroraview_app`` fixture returning your `Commands`, `App` or `WebView`; tests then take:

- ``auroraview_client``: an open `TestClient` of that app, on the test's own event loop.
  Works with pytest-asyncio (``async def`` tests in auto mode, or marked
  ``@pytest.mark.asyncio``) and with anyio (tests marked ``@pytest.mark.anyio``, asyncio
  backend), with no set-up beyond what those plugins ask for.
- ``auroraview_display``: a display for windows (one per session): a private Xvfb server
  when one is installed, else the ``DISPLAY`` already set; the test is skipped when there
  is neither. Its value is the display name; `auroraview.testing.screenshot` saves it as a PNG.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .testing import TestClient

__all__ = ["auroraview_client", "auroraview_display"]

try:
    import pytest_asyncio
except ImportError:  # anyio alone, or neither
    pytest_asyncio = None


async def _open(app: Any) -> AsyncIterator[TestClient]:
    from .testing import TestClient

    async with TestClient(app) as client:
        yield client


@pytest.fixture
def auroraview_client(request: pytest.FixtureRequest) -> TestClient:
    """An open `TestClient` of the app your ``auroraview_app`` fixture returns, entered on
    the loop the test runs on (anyio's when the test uses anyio, else pytest-asyncio's)."""
    if "anyio_backend" in request.fixturenames:
        return request.getfixturevalue("_auroraview_client_anyio")
    if pytest_asyncio is None or not request.config.pluginmanager.has_plugin("asyncio"):
        raise pytest.UsageError(
            "auroraview_client is async: install pytest-asyncio (pip install 'auroraview[test]') "
            "or mark the test @pytest.mark.anyio"
        )
    return request.getfixturevalue("_auroraview_client_asyncio")


@pytest.fixture
async def _auroraview_client_anyio(auroraview_app: Any, anyio_backend: Any) -> AsyncIterator[TestClient]:
    """The client on anyio's runner (the backend must be asyncio: the app runs on an asyncio loop)."""
    backend = anyio_backend if isinstance(anyio_backend, str) else anyio_backend[0]
    if backend != "asyncio":
        pytest.skip(f"auroraview runs on asyncio, not {backend}")
    async for client in _open(auroraview_app):
        yield client


def _asyncio_fixture() -> Callable[[Any], Any]:
    # Without pytest-asyncio this fixture is never requested (auroraview_client says why).
    return pytest.fixture if pytest_asyncio is None else pytest_asyncio.fixture


@_asyncio_fixture()
async def _auroraview_client_asyncio(auroraview_app: Any) -> AsyncIterator[TestClient]:
    """The client on pytest-asyncio's loop for the test (strict mode or auto)."""
    async for client in _open(auroraview_app):
        yield client


@pytest.fixture(scope="session")
def auroraview_display() -> Iterator[str]:
    """A display windows can open on, for the whole session: a private Xvfb server (with the
    quiet environment GTK needs), else ``$DISPLAY``; skips the test when there is neither."""
    from .testing import VirtualDisplay

    if VirtualDisplay.available():
        with VirtualDisplay() as display:
            assert display.display is not None
            yield display.display
        return
    existing = os.environ.get("DISPLAY")
    if not existing:
        pytest.skip("no display: install Xvfb (apt-get install xvfb xauth x11-apps) or set DISPLAY")
    yield existing
