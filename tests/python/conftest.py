"""Shared fixtures for the Python tests."""

from __future__ import annotations

import pytest
from counting import Calls


@pytest.fixture
def calls() -> Calls:
    return Calls()
