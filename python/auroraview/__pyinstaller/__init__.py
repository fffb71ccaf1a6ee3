"""PyInstaller support: `pyinstaller` finds this package's hook by itself (the ``hook-dirs``
entry point of the ``pyinstaller40`` group, declared in pyproject.toml), so a bundled app
needs no ``--hidden-import``/``--collect-*`` flags for auroraview. See hook-auroraview.py for
what it collects, and what it leaves to the target system (WebKitGTK)."""

from __future__ import annotations

from pathlib import Path


def get_hook_dirs() -> list[str]:
    return [str(Path(__file__).parent)]
