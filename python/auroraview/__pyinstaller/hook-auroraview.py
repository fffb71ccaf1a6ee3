"""PyInstaller hook for auroraview, found through the ``pyinstaller40`` entry point.

Collected, besides what PyInstaller's import analysis already finds (the `_core` extension,
pydantic and websockets through their own hooks):

- every module of the package: the package imports some by a computed name on first use
  (``auroraview.connect`` resolves `client` through ``importlib``), which analysis cannot
  follow. Left out: the pytest plugin (it would pull pytest in) and ``python -m auroraview``;
- extension modules loaded by file path rather than imported by name (``_headless/``: the
  core built without its window part, which `_load.py` falls back to so that a machine
  without WebKitGTK gets an error naming the system package instead of a loader error).

Left out on purpose: the system's WebKitGTK 4.1 stack, i.e. every shared library the
package's extensions link (WebKitGTK, JavaScriptCore, GTK 3, GLib, libsoup, ICU, ... and
what those link in turn). WebKitGTK runs its page in helper processes
(``WebKitWebProcess``, ``WebKitNetworkProcess``) found at a path fixed when it was built
and loads GIO, GStreamer and GTK modules from the system: a bundled copy of the library
would talk to the target's own helpers and modules, of whatever version those are. The
bundle therefore uses the target's WebKitGTK, as a distribution package would; the target
needs ``libwebkit2gtk-4.1-0`` (Debian/Ubuntu) or ``webkit2gtk4.1`` (Fedora).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[1]
_NOT_BUNDLED = {"pytest_plugin", "__main__", "__pyinstaller"}

hiddenimports = [
    f"auroraview.{m.name}" for m in pkgutil.iter_modules([str(_PACKAGE)]) if m.name not in _NOT_BUNDLED
]

# Extension modules in folders that are not packages (loaded by path): kept in their folder.
_extensions = sorted(_PACKAGE.rglob("*.so"))
binaries = [
    (str(so), str(so.parent.relative_to(_PACKAGE.parent)))
    for so in _extensions
    if so.parent != _PACKAGE and not (so.parent / "__init__.py").exists()
]


def _system_libraries(extensions: list[Path]) -> set[str]:
    """The names of every shared library the extensions load, directly or not (``ldd``)."""
    names: set[str] = set()
    for so in extensions:
        try:
            out = subprocess.run(["ldd", str(so)], capture_output=True, text=True, check=False).stdout
        except OSError:  # no ldd: PyInstaller's own analysis collects them, as for any package
            return set()
        names.update(m.group(1) for m in re.finditer(r"^\s*(\S+) => /", out, flags=re.M))
    return names


class _LeaveToSystem:
    """PyInstaller's list of libraries never bundled (``dylib.exclude_list``), plus ours."""

    def __init__(self, inner: Any, names: set[str]) -> None:
        self.inner = inner
        self.names = names

    def check_library(self, libname: str) -> Any:
        return os.path.basename(libname) in self.names or self.inner.check_library(libname)


def _leave_to_system(names: set[str]) -> None:
    # PyInstaller has no hook variable for "do not collect this dependency"; its global
    # exclusion list (the one that keeps glibc and the GL drivers out) is the way. Imported
    # by name: this hook runs inside PyInstaller only.
    dylib: Any = importlib.import_module("PyInstaller.depend.dylib")
    current = dylib.exclude_list
    if isinstance(getattr(current, "names", None), set):  # this hook ran before in this build
        current.names |= names
    else:
        dylib.exclude_list = _LeaveToSystem(current, names)


_leave_to_system(_system_libraries(_extensions))
