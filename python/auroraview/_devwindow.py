"""The Python side of `auroraview dev` (a child process, restarted on each change): import the
app, rewrite its bindings when they changed, open a window on the frontend dev server.

    python -m auroraview._devwindow MODULE:OBJECT DEV_URL [--bindings PATH] [--title TITLE]

Exit status 0 when the window is closed (the dev command then stops), 2 when the app cannot
be imported or its bindings cannot be generated (it waits for the next change).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .cli import UsageError, load_object, registry_of, render_bindings
from .dev import _write_if_changed
from .webview import WebView


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="auroraview dev (Python side)")
    parser.add_argument("target")
    parser.add_argument("url")
    parser.add_argument("--bindings")
    parser.add_argument("--title")
    args = parser.parse_args(argv)
    try:
        obj = load_object(args.target)
        commands = registry_of(args.target, obj)
        if args.bindings:
            _write_if_changed(Path(args.bindings), render_bindings(args.target))
    except UsageError as exc:
        print(f"auroraview dev: error: {exc}", file=sys.stderr, flush=True)
        return 2
    # The app's own window (assets= for production) gives its title and size; only where the
    # page comes from changes.
    title, width, height = args.title, 1024, 768
    if isinstance(obj, WebView):
        title, width, height = title or obj.title, obj.width, obj.height
    view = WebView(title or args.target.partition(":")[0], url=args.url, commands=commands, debug=True, width=width, height=height)
    view.show()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
