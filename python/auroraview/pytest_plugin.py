"""Opt-in pytest plugin: ``pytest_plugins = ["auroraview.pytest_plugin"]``.

Define an ``auroraview_app`` fixture returning your `Commands` or `WebView`; tests then take
``auroraview_client``, an open `TestClient` (needs pytest-asyncio).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from .testing import TestClient

__all__ = ["auroraview_client"]


@pytest_asyncio.fixture
async def auroraview_client(auroraview_app: Any) -> AsyncIterator[TestClient]:
    async with TestClient(auroraview_app) as client:
        yield client
