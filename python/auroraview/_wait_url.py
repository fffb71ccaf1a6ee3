"""Waiting for a ``url=`` page served on this machine (a frontend dev server) before a window
opens on it: without it, a server not up yet showed WebKit's bare error page and nothing said
why. Only loopback hosts are probed: a remote page is the network's business."""

from __future__ import annotations

import logging
import socket
import time
from urllib.parse import urlsplit

__all__ = ["wait_for_url"]

log = logging.getLogger("auroraview")

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}
# Between attempts: a Vite server takes 0.2-2 s to listen; a refused connect costs microseconds.
_RETRY_EVERY = 0.1


def _loopback_address(url: str) -> tuple[str, int] | None:
    """``(host, port)`` of an ``http(s)://`` URL on this machine, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None  # a malformed URL: the window reports it
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not (host in _LOOPBACK or host.startswith("127.")):
        return None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    # 0.0.0.0 and :: are where a server listens, not an address to connect to.
    return ("127.0.0.1" if host == "0.0.0.0" else "::1" if host == "::" else host, port)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_for_url(url: str, timeout: float) -> None:
    """Return once ``url`` accepts connections, at once when it is not on this machine or
    ``timeout`` is 0. While it does not, says so (one warning), retries for ``timeout``
    seconds, then raises `ConnectionError` naming the URL and what to do."""
    address = _loopback_address(url)
    if address is None or timeout <= 0 or _accepts(*address):
        return
    log.warning("url=%r does not answer yet (is the dev server up?): waiting up to %gs for it", url, timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(_RETRY_EVERY)
        if _accepts(*address):
            log.info("url=%r answers: opening the window", url)
            return
    raise ConnectionError(
        f"url={url!r}: nothing accepted a connection on {address[0]} port {address[1]} within {timeout:g}s. "
        "Start the frontend dev server first (e.g. `npm run dev`, or `auroraview dev`, which starts it "
        "and waits), check its port, or pass url_wait= to wait longer"
    )
