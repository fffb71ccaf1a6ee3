"""Loads `auroraview._core`: the full build, or the build without the window part.

The full extension links WebKitGTK 4.1 and GTK 3, so on a machine without them (a frontend
CI container running ``auroraview codegen --check``) it cannot load at all. Next to it ships
the same core built without the window (``cargo --no-default-features``, in ``_headless/``):
commands, codegen, the test client and the network server, with a `WebView` that raises
`GuiUnavailable` naming the missing system package. It is loaded only when the full build
fails for want of a shared library; any other import error is raised as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Final


def _headless() -> Path | None:
    return next(iter(sorted((Path(__file__).parent / "_headless").glob("_core*.so"))), None)


def load() -> str | None:
    """Load `auroraview._core`; returns why the full build could not load (None when it did)."""
    if "auroraview._core" in sys.modules:
        return None
    try:
        importlib.import_module("auroraview._core")
        return None
    except ImportError as exc:
        headless = _headless()
        # The extension is there but the dynamic loader refused it, for want of a library it
        # links ("libwebkit2gtk-4.1.so.0: cannot open shared object file"). A missing
        # extension is a broken install: raised as it is.
        if headless is None or isinstance(exc, ModuleNotFoundError) or exc.path is None:
            raise
        reason = str(exc)
    spec = importlib.util.spec_from_file_location("auroraview._core", headless)
    if spec is None or spec.loader is None:  # pragma: no cover - a file importlib cannot load
        raise ImportError(f"auroraview: cannot load {headless}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["auroraview._core"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["auroraview._core"]
        raise
    # As the import system does for a submodule it imports: `auroraview._core` as an attribute.
    setattr(sys.modules["auroraview"], "_core", module)  # noqa: B010
    return reason


#: Why the full build did not load (None when it did): `_core.WINDOW_SUPPORT` is then False.
WINDOW_UNAVAILABLE: Final = load()
