"""End-to-end fixtures: one Xvfb display for the session and an open page harness."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from harness import Harness

from auroraview._xvfb import VirtualDisplay


@pytest.fixture(scope="session", autouse=True)
def display() -> Iterator[str | None]:
    """A private Xvfb display (required in CI; elsewhere the tests skip without one)."""
    if not VirtualDisplay.available():
        if os.environ.get("CI"):
            pytest.fail("Xvfb is missing: the end-to-end tests must run in CI (scripts/setup.sh installs it)")
        pytest.skip("Xvfb is not installed")
    with VirtualDisplay() as vd:
        yield vd.display


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    await h.open()
    try:
        yield h
    finally:
        await h.close()
