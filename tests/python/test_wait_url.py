"""A window on a ``url=`` dev server that is not up: one warning, bounded retries, then a
ConnectionError naming the URL (python/auroraview/_wait_url.py)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import pytest

from auroraview import WebView
from auroraview._wait_url import wait_for_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dev_server_that_never_comes_is_a_clear_error_after_the_wait(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://localhost:{free_port()}/"
    view = WebView("t", url=url, url_wait=0.5)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="auroraview"), pytest.raises(ConnectionError) as info:
        view.show()
    assert 0.5 <= time.monotonic() - start < 5
    assert url in str(info.value) and "npm run dev" in str(info.value)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert url in warning.getMessage() and "waiting up to 0.5s" in warning.getMessage()


async def test_run_async_waits_off_the_loop() -> None:
    view = WebView("t", url=f"http://127.0.0.1:{free_port()}/", url_wait=0.3)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.02)

    ticker = asyncio.ensure_future(tick())
    with pytest.raises(ConnectionError):
        await view.run_async()
    ticker.cancel()
    assert ticks >= 5  # the loop kept running while the URL was waited for


def test_a_server_that_comes_up_while_waiting_is_used() -> None:
    port = free_port()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def listen_later() -> None:
        time.sleep(0.3)
        server.bind(("127.0.0.1", port))
        server.listen()

    threading.Thread(target=listen_later).start()
    try:
        start = time.monotonic()
        wait_for_url(f"http://127.0.0.1:{port}/index.html", 5)
        assert 0.2 < time.monotonic() - start < 3
    finally:
        server.close()


@pytest.mark.parametrize("url", ["https://example.invalid/", "auroraview://localhost/", "file:///tmp/x.html", "http://[::1"])
def test_only_http_urls_on_this_machine_are_waited_for(url: str) -> None:
    start = time.monotonic()
    wait_for_url(url, 5)
    assert time.monotonic() - start < 0.5


def test_url_wait_zero_does_not_wait() -> None:
    wait_for_url(f"http://localhost:{free_port()}/", 0)
