"""Binary commands (docs/binary.md) for the binary tests: through `TestClient`
(tests/python/test_binary.py) and over the network (`auroraview serve
tests/python/binary_app.py:commands`, tests/python/test_client_binary.py)."""

from __future__ import annotations

import asyncio
import hashlib
import random

from pydantic import BaseModel

from auroraview import Commands

#: Bytes no UTF-8 decoder accepts (a PNG signature, then a lone 0xFF 0xFE): every payload
#: of the tests starts with them.
NOT_UTF8 = b"\x89PNG\r\n\x1a\n\xff\xfe"
MiB = 1024 * 1024


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` bytes: `NOT_UTF8` then random ones (the same for the same seed)."""
    head = NOT_UTF8[:size]
    return head + random.Random(seed).randbytes(size - len(head))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Blob(BaseModel):
    data: bytes
    sha256: str


class Page(BaseModel):
    title: str
    image: bytes
    thumbnail: bytes | None = None


class Bundle(BaseModel):
    """Several nested `bytes`: fields, an optional one, a list, a dict, a model in a list."""

    name: str
    cover: bytes
    pages: list[Page]
    chunks: list[bytes]
    extra: dict[str, bytes] = {}


def make_commands() -> Commands:
    commands = Commands()

    @commands.command()
    async def checksum(data: bytes) -> str:
        """The SHA-256 of what arrived."""
        return sha256(data)

    @commands.command()
    def checksum_sync(data: bytes) -> str:
        return sha256(data)

    @commands.command()
    async def echo(data: bytes) -> bytes:
        return data

    @commands.command()
    def echo_sync(data: bytes) -> bytes:
        return data

    @commands.command()
    async def make_blob(size: int, seed: int = 0) -> Blob:
        """``size`` bytes made here, with their SHA-256."""
        data = payload(size, seed)
        return Blob(data=data, sha256=sha256(data))

    @commands.command()
    async def echo_bundle(bundle: Bundle) -> Bundle:
        await asyncio.sleep(0)  # a handler that suspends: answered from a task
        return bundle

    @commands.command()
    async def digest_bundle(bundle: Bundle) -> dict[str, str]:
        """The SHA-256 of every `bytes` of ``bundle``, by where it sits."""
        out = {"cover": sha256(bundle.cover)}
        for i, page in enumerate(bundle.pages):
            out[f"pages.{i}.image"] = sha256(page.image)
            if page.thumbnail is not None:
                out[f"pages.{i}.thumbnail"] = sha256(page.thumbnail)
        for i, chunk in enumerate(bundle.chunks):
            out[f"chunks.{i}"] = sha256(chunk)
        for key, value in bundle.extra.items():
            out[f"extra.{key}"] = sha256(value)
        return out

    @commands.command()
    async def add(a: int, b: int) -> int:
        """Not a binary command."""
        return a + b

    return commands


commands = make_commands()
