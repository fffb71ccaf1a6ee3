"""The `auroraview` command line (also `python -m auroraview`).

    auroraview schema MODULE:OBJECT                  print the contract of a registry as JSON
    auroraview codegen MODULE:OBJECT --out PATH.ts   write its TypeScript bindings
    auroraview codegen MODULE:OBJECT --out PATH.ts --check
                                                     change nothing; exit 1 with a diff when stale

MODULE:OBJECT is resolved like uvicorn does: the current directory is on the import path,
MODULE is imported and OBJECT (dotted attributes allowed) must be a `Commands` registry, an `App` or
a `WebView`. Errors say what and where and exit with status 2.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import sys
from collections.abc import Sequence

from . import _core
from .app import App
from .commands import Commands
from .contract import build_contract
from .webview import WebView

__all__ = ["load_registry", "main", "render_bindings"]


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


def load_registry(target: str) -> Commands:
    """Import ``MODULE:OBJECT`` and return its `Commands` registry."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"expected MODULE:OBJECT (e.g. `myapp.api:commands`), got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import module {module_name!r}: {exc}") from exc
    except Exception as exc:  # an error raised while the module ran
        raise UsageError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {attr!r}") from None
    if isinstance(obj, (WebView, App)):
        return obj.commands
    if isinstance(obj, Commands):
        return obj
    raise UsageError(f"{target} is a {type(obj).__name__}, not an auroraview App, Commands registry or WebView")


def _schema(args: argparse.Namespace) -> int:
    contract = build_contract(load_registry(args.target))
    print(json.dumps(contract, indent=2, ensure_ascii=False))
    return 0


def render_bindings(target: str) -> str:
    """The TypeScript bindings of ``MODULE:OBJECT``, as `codegen` writes them."""
    registry = load_registry(target)
    try:
        # ValueError: two types want one TypeScript name (from the contract or the generator).
        return _core.generate_typescript(json.dumps(build_contract(registry)), target)
    except ValueError as exc:
        raise UsageError(f"cannot generate TypeScript for {target}: {exc}") from exc


def _codegen(args: argparse.Namespace) -> int:
    text = render_bindings(args.target)
    out: str = args.out
    try:
        with open(out, encoding="utf-8") as f:
            current = f.read()
    except (FileNotFoundError, NotADirectoryError):
        current = None
    except OSError as exc:
        raise UsageError(f"cannot read --out {out}: {exc.strerror}") from None
    if args.check:
        if current == text:
            print(f"{out} is up to date")
            return 0
        if current is None:
            print(f"{out} does not exist: run `auroraview codegen {args.target} --out {out}`", file=sys.stderr)
            return 1
        diff = difflib.unified_diff(current.splitlines(True), text.splitlines(True), f"{out} (on disk)", f"{out} (from {args.target})")
        sys.stderr.writelines(diff)
        print(f"\n{out} is stale: run `auroraview codegen {args.target} --out {out}`", file=sys.stderr)
        return 1
    if current != text:
        folder = os.path.dirname(out)
        try:
            if folder:
                os.makedirs(folder, exist_ok=True)  # `--out src/gen/app.gen.ts` in a fresh checkout
        except OSError as exc:
            raise UsageError(f"cannot create the folder for --out {out}: {exc.strerror}") from None
        try:
            with open(out, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write --out {out}: {exc.strerror}") from None
        print(f"wrote {out}")
    else:
        print(f"{out} is up to date")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="auroraview", description="auroraview command line")
    parser.add_argument("--version", action="version", version=f"auroraview {_core.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    schema = sub.add_parser("schema", help="print the contract of MODULE:OBJECT as JSON")
    schema.add_argument("target", metavar="MODULE:OBJECT")
    schema.set_defaults(run=_schema)
    codegen = sub.add_parser("codegen", help="write the TypeScript bindings of MODULE:OBJECT")
    codegen.add_argument("target", metavar="MODULE:OBJECT")
    codegen.add_argument("--out", required=True, help="the .ts file to write (e.g. src/auroraview.gen.ts)")
    codegen.add_argument("--check", action="store_true", help="change nothing; exit 1 with a diff when the file is stale")
    codegen.set_defaults(run=_codegen)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"auroraview {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TypeError as exc:  # an annotation pydantic cannot describe, found while building
        print(f"auroraview {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
