"""`auroraview new NAME`: a working app from the template in `_template/` (Python commands and
events, a Vite + React + TypeScript page over generated bindings, a pytest test through the
plugin, a frontend test against the typed mock, a README).

Template files end in ``.tmpl`` (so no tool in this repository lints or type-checks them as
its own) and carry ``{{name}}``-style placeholders; ``__module__`` in a path is the Python
package's name.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import _core

__all__ = ["ScaffoldError", "create", "sdk_from_checkout"]

TEMPLATE = Path(__file__).parent / "_template"


class ScaffoldError(Exception):
    """Why the app could not be created (one line for the user)."""


def _module_name(name: str) -> str:
    module = re.sub(r"\W+", "_", name.lower()).strip("_")
    if not module:
        raise ScaffoldError(f"{name!r} gives no Python package name: use letters, digits, - or _")
    return module if not module[0].isdigit() else f"app_{module}"


def sdk_from_checkout() -> Path | None:
    """``sdk-ts/`` of the source checkout this auroraview runs from (an editable install), or None."""
    sdk = Path(__file__).resolve().parents[2] / "sdk-ts"
    return sdk if (sdk / "package.json").is_file() else None


def _pack_sdk(sdk: Path, into: Path) -> str:
    """``npm pack`` the SDK into ``into``; the dependency spec for package.json."""
    npm = shutil.which("npm")
    if npm is None:
        raise ScaffoldError("npm is needed to pack @auroraview/sdk from this checkout (or pass --sdk SPEC)")
    into.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [npm, "pack", "--silent", "--pack-destination", str(into)], cwd=sdk, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-10:])
        raise ScaffoldError(f"npm pack in {sdk} failed (exit {proc.returncode}):\n{tail}")
    tarball = proc.stdout.strip().splitlines()[-1]
    return f"file:vendor/{tarball}"


def create(folder: Path, *, sdk: str | None = None, title: str | None = None) -> Path:
    """Write the app into ``folder`` (which must not exist or be empty) and its bindings."""
    folder = folder.resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ScaffoldError(f"{folder} already exists and is not an empty folder")
    name = folder.name
    module = _module_name(name)
    title = title or name
    checkout = sdk_from_checkout() if sdk is None else None
    if sdk is not None:
        sdk_note = f"`{sdk}` (given with --sdk)"
    elif checkout is not None:
        sdk_note = "`ui/vendor/`, a tarball packed from the auroraview checkout it was made with (commit it)"
    else:
        sdk = f"^{_core.__version__}"
        sdk_note = "the npm registry"
    values = {
        "name": re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or module,
        "module": module,
        "title": title,
        "title_toml": json.dumps(title)[1:-1],
        "title_py": repr(title),
        "title_html": html.escape(title),
        "version": _core.__version__,
        "sdk_note": sdk_note,
    }
    files = sorted(p for p in TEMPLATE.rglob("*.tmpl") if p.is_file())
    if not files:
        raise ScaffoldError(f"the template is missing from {TEMPLATE} (a broken install?)")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if sdk is None and checkout is not None:
            sdk = _pack_sdk(checkout, folder / "ui" / "vendor")
        values["sdk"] = sdk or ""
        for src in files:
            rel = src.relative_to(TEMPLATE).with_suffix("")  # drop .tmpl
            rel = Path(*(module if part == "__module__" else part for part in rel.parts))
            if rel.name == "gitignore":  # a file named .gitignore would be left out of packages
                rel = rel.with_name(".gitignore")
            text = src.read_text(encoding="utf-8")
            for key, value in values.items():
                text = text.replace("{{" + key + "}}", value)
            out = folder / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8", newline="\n")
        target = f"{module}.commands:commands"
        proc = subprocess.run(
            [sys.executable, "-m", "auroraview", "codegen", target, "--out", "ui/src/auroraview.gen.ts"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise ScaffoldError(f"generating the bindings failed:\n{proc.stderr.strip()}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    shown = folder.name if folder.parent == Path.cwd() else str(folder)
    print(
        f"created {shown} ({module}/ commands and events, ui/ Vite + React + TypeScript, tests/)\n\n"
        f"    cd {shown}\n"
        f"    (cd ui && npm install)\n"
        f"    auroraview dev           # the window on Vite's dev server; Python changes restart it\n"
        f"    pytest && (cd ui && npm test)\n"
        f"    auroraview build && python -m {module}   # the app as users get it\n",
        file=sys.stderr,
    )
    return folder
