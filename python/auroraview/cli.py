"""The `auroraview` command line (also `python -m auroraview`).

    auroraview schema MODULE:OBJECT                  print the contract of a registry as JSON
    auroraview codegen MODULE:OBJECT --out PATH.ts   write its TypeScript bindings
    auroraview codegen MODULE:OBJECT --out PATH.ts --check
                                                     change nothing; exit 1 with a diff when stale
    auroraview serve MODULE:OBJECT [--host H] [--port P] [--assets DIR]
                                                     serve it over HTTP + WebSocket (docs/network.md)
    auroraview call URL METHOD [PARAMS]              one call; prints the result or the error
    auroraview monitor URL                           a running server's counters, live
    auroraview new NAME                              create an app (Vite + React + TypeScript, tests)
    auroraview dev [MODULE:OBJECT]                   dev server + window, restarted on Python changes
    auroraview build [MODULE:OBJECT]                 bindings, then the frontend's production build

MODULE:OBJECT is resolved like uvicorn does: the current directory is on the import path,
MODULE is imported and OBJECT (dotted attributes allowed) must be a `Commands` registry, an `App` or
a `WebView`; MODULE may also be a path to a ``.py`` file. Errors say what and where and exit with
status 2. A server's token is read from the URL (``?token=``), ``--token``, or the
``AURORAVIEW_TOKEN`` environment variable (which, unlike a command line, other users cannot read).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from . import _core
from .app import App
from .commands import Commands
from .contract import build_contract
from .webview import WebView

__all__ = ["load_app", "load_object", "load_registry", "main", "registry_of", "render_bindings", "render_stats"]


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


def load_registry(target: str) -> Commands:
    """Import ``MODULE:OBJECT`` and return its `Commands` registry."""
    return registry_of(target, load_object(target))


def load_object(target: str) -> object:
    """Import ``MODULE:OBJECT`` and return OBJECT, whatever it is."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"expected MODULE:OBJECT (e.g. `myapp.api:commands`), got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if module_name.endswith(".py"):
        # A file path: import it by name from its folder (`auroraview serve tests/net/app.py:commands`).
        if not os.path.isfile(module_name):
            raise UsageError(f"no such file: {module_name}")
        folder = os.path.dirname(os.path.abspath(module_name))
        if folder not in sys.path:
            sys.path.insert(0, folder)
        module_name = os.path.splitext(os.path.basename(module_name))[0]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name is not None and module_name.startswith(exc.name) and _user_frames(exc) == []:
            # The module (or its package) is not there at all: one line.
            raise UsageError(f"cannot import module {module_name!r}: {exc}") from None
        raise UsageError(f"importing {module_name!r} raised {_where(exc)}") from exc
    except Exception as exc:  # an error raised while the module ran, a SyntaxError included
        raise UsageError(f"importing {module_name!r} raised {_where(exc)}") from exc
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def registry_of(target: str, obj: object) -> Commands:
    """The `Commands` registry of what ``MODULE:OBJECT`` named (a registry, an App or a WebView)."""
    if isinstance(obj, (WebView, App)):
        return obj.commands
    if isinstance(obj, Commands):
        return obj
    raise UsageError(f"{target} is a {type(obj).__name__}, not an auroraview App, Commands registry or WebView")


# The frames an import error is shown with: the user's, the last ones (where it was raised).
_FRAMES_SHOWN = 4


def _user_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The frames of ``exc`` in the user's code: not the import machinery, not this package."""
    ours = (os.path.dirname(os.path.abspath(__file__)) + os.sep, os.path.dirname(os.path.abspath(importlib.__file__)) + os.sep)
    return [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<frozen ") and not os.path.abspath(f.filename).startswith(ours)
    ]


def _where(exc: BaseException) -> str:
    """``exc`` as the user needs it to find the cause: its type and message, then where it was
    raised in their code (the last frames, as a traceback prints them), never our internals."""
    lines: list[str] = []
    for frame in _user_frames(exc)[-_FRAMES_SHOWN:]:
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    if isinstance(exc, SyntaxError):
        # Its own place (file, line, the text and a caret) is in what format_exception_only prints.
        detail = [line.rstrip("\n") for line in traceback.format_exception_only(exc)]
        return "\n".join([detail[-1], *lines[-2:], *detail[:-1]])
    return "\n".join([f"{type(exc).__name__}: {exc}", *lines])


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
    if out.endswith(("/", os.sep)) or os.path.isdir(out):
        raise UsageError(f"--out {out} is a folder: name the .ts file to write (e.g. {out.rstrip('/' + os.sep)}/auroraview.gen.ts)")
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


def load_app(target: str) -> App:
    """The `App` serving ``MODULE:OBJECT`` (its registry's app)."""
    return load_registry(target).app


def _token(args: argparse.Namespace) -> str | None:
    return args.token or os.environ.get("AURORAVIEW_TOKEN") or None


def _serve(args: argparse.Namespace) -> int:
    app = load_app(args.target)
    if args.assets is not None and not os.path.isdir(args.assets):
        raise UsageError(f"--assets {args.assets}: not a folder")
    try:
        server = app.serve(
            args.host,
            args.port,
            token=_token(args),
            assets=args.assets,
            origins=args.origin,
            expose=args.expose,
            heartbeat=args.heartbeat,
            metrics=args.metrics,
        )
    except OSError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    import signal

    def stop(signum: int, frame: object) -> None:
        server.close()

    # Before the ready line: whoever reads it may stop the server at once.
    signal.signal(signal.SIGTERM, stop)
    commands = len(app.commands)
    if args.json:
        ready = {"url": server.url, "ws_url": server.ws_url, "host": server.host, "port": server.port, "token": server.token}
        print(json.dumps(ready), flush=True)
    print(
        f"auroraview: serving {args.target} ({commands} commands, expose={args.expose})\n"
        f"    open:    {server.url}\n"
        f"    connect: {server.ws_url}  (token as above)\n"
        + (f"    metrics: http://{server.host}:{server.port}/__auroraview/metrics\n" if args.metrics else "")
        + "Ctrl-C to stop.",
        file=sys.stderr,
        flush=True,
    )
    server.serve_forever()
    return 0


def _call(args: argparse.Namespace) -> int:
    from .client import ConnectError, connect
    from .errors import InvokeError

    params = None
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except json.JSONDecodeError as exc:
            raise UsageError(f"PARAMS must be JSON (an object of named arguments or an array): {exc}") from None
    try:
        client = connect(args.url, _token(args), timeout=args.connect_timeout)
    except InvokeError as exc:
        print(json.dumps({"error": {"name": exc.name, "code": exc.code, "message": exc.message}}), file=sys.stderr)
        return 3
    except (ConnectError, OSError, ValueError) as exc:
        shown = _redact(args.url)
        print(f"auroraview call: cannot connect to {shown}: {_redact(str(exc))}", file=sys.stderr)
        return 3
    with client:
        try:
            result = client.call(args.method, params, timeout=args.timeout)
        except InvokeError as exc:
            error = {"name": exc.name, "code": exc.code, "message": exc.message, "data": exc.data}
            print(json.dumps({"error": error}, ensure_ascii=False), file=sys.stderr)
            return 1
    print(json.dumps(result, ensure_ascii=False, indent=None if args.compact else 2, default=_printable))
    return 0


def _printable(value: object) -> object:
    """A binary command's `bytes` (docs/binary.md), printed as base64 text."""
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _redact(text: str) -> str:
    """``text`` with any ``token=...`` value hidden (error messages end up in logs)."""
    import re

    return re.sub(r"token=[A-Za-z0-9_-]+", "token=…", text)


def _stats_url(url: str) -> tuple[str, str | None]:
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    if scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"expected the server's URL (http://host:port/...), got {url!r}")
    token = parse_qs(parts.query).get("token", [None])[0]
    return f"{scheme}://{parts.netloc}/__auroraview/stats", token


def _fetch_stats(url: str, token: str | None) -> dict[str, object]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return json.loads(res.read())
    except urllib.error.HTTPError as exc:
        raise UsageError(f"{url}: HTTP {exc.code} {exc.reason}" + (" (wrong or missing token)" if exc.code == 401 else "")) from None
    except (urllib.error.URLError, OSError) as exc:
        raise UsageError(f"cannot reach {url}: {exc}") from None


def render_stats(stats: dict[str, object]) -> str:
    """The monitor's screen for one read of ``/__auroraview/stats``."""
    server = cast("dict[str, int]", stats.get("server", {}))
    router = cast("dict[str, int]", stats.get("router", {}))
    conns = cast("dict[str, int]", stats.get("connections", {}))
    commands = cast("list[dict[str, object]]", stats.get("commands", []))
    by_kind = ", ".join(f"{k} {v}" for k, v in sorted(conns.items())) or "none"
    lines = [
        f"connections  open {server.get('connections_open', 0)} ({by_kind})  total {server.get('connections_total', 0)}",
        f"refused      token {server.get('auth_failures', 0)}  origin {server.get('refused_origin', 0)}  "
        f"capacity {server.get('refused_capacity', 0)}  slow {server.get('slow_consumers', 0)}  "
        f"heartbeat {server.get('heartbeat_timeouts', 0)}  too large {server.get('too_large_frames', 0)}",
        f"frames       in {server.get('frames_in', 0)}  out {server.get('frames_out', 0)}  "
        f"queued {server.get('queued_bytes', 0)} B",
        f"calls        in flight {router.get('in_flight', 0)}  accepted {router.get('calls_accepted', 0)}  "
        f"forbidden {router.get('forbidden', 0)}  timeouts {router.get('timeouts', 0)}",
        "",
        f"{'command':<32} {'calls':>9} {'ok':>9} {'errors':>7} {'mean ms':>8}",
    ]
    for c in commands:
        calls = cast("int", c.get("calls", 0))
        errors = cast("dict[str, int]", c.get("errors", {}))
        seconds = cast("float", c.get("seconds", 0.0))
        mean = f"{seconds / calls * 1000:.2f}" if calls else "-"
        lines.append(f"{c.get('name')!s:<32} {calls:>9} {c.get('ok', 0)!s:>9} {sum(errors.values()):>7} {mean:>8}")
    return "\n".join(lines)


def _monitor(args: argparse.Namespace) -> int:
    import time

    url, token = _stats_url(args.url)
    token = token or _token(args)
    live = sys.stdout.isatty() and not args.once
    try:
        while True:
            screen = render_stats(_fetch_stats(url, token))
            if live:
                sys.stdout.write("\x1b[H\x1b[2J")
            print(screen, flush=True)
            if args.once:
                return 0
            time.sleep(args.interval)
            if not live:
                print()
    except KeyboardInterrupt:
        return 0


def _dev(args: argparse.Namespace) -> int:
    from .dev import DevError, load_config, run_dev

    try:
        config = load_config()
        if args.dev_url:
            config.dev_url = args.dev_url
        return run_dev(args.target, config)
    except DevError as exc:
        raise UsageError(str(exc)) from None


def _build(args: argparse.Namespace) -> int:
    from .dev import DevError, build, load_config

    try:
        return build(args.target, load_config(), render_bindings)
    except DevError as exc:
        raise UsageError(str(exc)) from None


def _new(args: argparse.Namespace) -> int:
    from .scaffold import ScaffoldError, create

    try:
        create(Path(args.name), sdk=args.sdk, title=args.title)
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from None
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
    serve = sub.add_parser("serve", help="serve MODULE:OBJECT over HTTP + WebSocket")
    serve.add_argument("target", metavar="MODULE:OBJECT")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others are warned about)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: any free one)")
    serve.add_argument("--assets", help="folder of the web UI to serve")
    serve.add_argument("--token", help="the secret clients need (default: $AURORAVIEW_TOKEN, else generated); write --token=VALUE when it starts with -")
    serve.add_argument("--origin", action="append", default=[], help="a browser origin allowed to connect (repeatable)")
    serve.add_argument(
        "--expose", choices=["all", "declared"], default="all", help="commands callable over the network (default: all)"
    )
    serve.add_argument("--heartbeat", type=float, default=15.0, help="seconds between heartbeats (default 15)")
    serve.add_argument("--metrics", action="store_true", help="serve Prometheus metrics at /__auroraview/metrics")
    serve.add_argument("--json", action="store_true", help="print one JSON line with url, ws_url, port, token when ready")
    serve.set_defaults(run=_serve)
    call = sub.add_parser("call", help="call METHOD on a running server and print the result")
    call.add_argument("url", metavar="URL", help="the server's URL (http://host:port/?token=... or ws://...)")
    call.add_argument("method", metavar="METHOD")
    call.add_argument("params", metavar="PARAMS", nargs="?", help="JSON: an object of named arguments, or an array")
    call.add_argument("--token", help="the server's token (default: from the URL or $AURORAVIEW_TOKEN)")
    call.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the reply (default 30)")
    call.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for the connection")
    call.add_argument("--compact", action="store_true", help="print the result on one line")
    call.set_defaults(run=_call)
    monitor = sub.add_parser("monitor", help="show a running server's counters, refreshed live")
    monitor.add_argument("url", metavar="URL", help="the server's URL (http://host:port/?token=...)")
    monitor.add_argument("--token", help="the server's token (default: from the URL or $AURORAVIEW_TOKEN)")
    monitor.add_argument("--interval", type=float, default=1.0, help="seconds between reads (default 1)")
    monitor.add_argument("--once", action="store_true", help="print one read and exit")
    monitor.set_defaults(run=_monitor)
    new = sub.add_parser("new", help="create an app: Python commands, a Vite + React + TypeScript page, tests")
    new.add_argument("name", metavar="NAME", help="the folder to create (its last part names the app)")
    new.add_argument("--title", help="the window's title (default: NAME)")
    new.add_argument(
        "--sdk",
        help="the npm spec of @auroraview/sdk (default: a tarball packed from this checkout's sdk-ts/, "
        "else the registry's version matching this auroraview)",
    )
    new.set_defaults(run=_new)
    dev = sub.add_parser("dev", help="the frontend dev server and a window on it; Python changes restart it ([tool.auroraview])")
    dev.add_argument("target", metavar="MODULE:OBJECT", nargs="?", help="default: app = in [tool.auroraview]")
    dev.add_argument("--dev-url", help="where the dev server answers (default: dev-url in [tool.auroraview])")
    dev.set_defaults(run=_dev)
    build = sub.add_parser("build", help="rewrite the bindings and build the frontend into assets ([tool.auroraview])")
    build.add_argument("target", metavar="MODULE:OBJECT", nargs="?", help="default: app = in [tool.auroraview]")
    build.set_defaults(run=_build)
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
