"""Open the hello app in a window: `python examples/hello/main.py` (needs a display)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from app import commands

from auroraview import WebView

UI = Path(__file__).parent / "ui"


def create_window() -> WebView:
    return WebView(title="hello", assets=UI, commands=commands, width=640, height=360)


if __name__ == "__main__":
    create_window().show()
