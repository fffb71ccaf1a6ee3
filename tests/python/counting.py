"""Counting handler invocations: security tests require the count to stay 0."""

from __future__ import annotations

import threading
from collections import Counter


class Calls:
    """Thread-safe count of handler invocations by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def hit(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())
