"""Running windows without a display: a private Xvfb server and root-window screenshots.

Used by the end-to-end tests, the demo and the benchmarks. Needs the `xvfb` and `x11-apps`
(for `xwd`) packages. Screenshots are written as PNG with the standard library only.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import time
import zlib
from pathlib import Path
from types import TracebackType

__all__ = ["VirtualDisplay", "png_is_blank", "screenshot"]

# Without these, GLib starts D-Bus, accessibility and portal daemons that outlive the run.
QUIET_ENV = {"NO_AT_BRIDGE": "1", "DBUS_SESSION_BUS_ADDRESS": "disabled:", "GDK_BACKEND": "x11"}


class VirtualDisplay:
    """An Xvfb server on a free display number; sets DISPLAY (and QUIET_ENV) while open."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        self.size = (width, height)
        self.display: str | None = None
        self._pid: int | None = None
        self._saved: dict[str, str | None] = {}

    @staticmethod
    def available() -> bool:
        return shutil.which("Xvfb") is not None

    def __enter__(self) -> VirtualDisplay:
        if not self.available():
            raise RuntimeError("Xvfb is not installed (apt-get install xvfb xauth x11-apps)")
        read_fd, write_fd = os.pipe()
        os.set_inheritable(write_fd, True)
        w, h = self.size
        argv = ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{w}x{h}x24", "-nolisten", "tcp"]
        if shutil.which("setpriv"):
            # The server gets SIGTERM when this process ends, however it ends.
            argv = ["setpriv", "--pdeathsig", "TERM", "--", *argv]
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            self._pid = os.posix_spawnp(
                argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
            )
        finally:
            os.close(write_fd)
            os.close(devnull)
        with os.fdopen(read_fd) as r:
            number = r.readline().strip()
        if not number:
            self._stop()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        for key, value in {"DISPLAY": self.display, **QUIET_ENV}.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value
        return self

    def _stop(self) -> None:
        if self._pid is None:
            return
        try:
            os.kill(self._pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                pid, _ = os.waitpid(self._pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.01)
            else:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self._pid = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        from . import _core
        from .webview import _shutdown_all

        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if _core.gui_running():
            # GDK keeps its connection to this server for the life of the process, and exits
            # the process when the server goes away: close the windows now and let the server
            # end with this process (it was started with a parent-death signal).
            self._pid = None
            _shutdown_all()
            return
        self._stop()


def screenshot(path: str | os.PathLike[str], display: str | None = None) -> Path:
    """Save the X root window of `display` (default: $DISPLAY) as a PNG."""
    display = display or os.environ.get("DISPLAY")
    if not display:
        raise RuntimeError("no DISPLAY to take a screenshot of")
    xwd = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True, timeout=30).stdout
    width, height, rgb = _xwd_to_rgb(xwd)
    out = Path(path)
    out.write_bytes(_png(width, height, rgb))
    return out


def _xwd_to_rgb(data: bytes) -> tuple[int, int, bytes]:
    (header_size, _version, fmt, depth, width, height, _xoff, byte_order, _unit, _bit_order, _pad, bpp, bpl) = struct.unpack(
        ">13I", data[:52]
    )
    red_mask, green_mask, blue_mask = struct.unpack(">3I", data[56:68])
    ncolors = struct.unpack(">I", data[76:80])[0]
    if fmt != 2 or bpp not in (24, 32) or depth not in (24, 32):
        raise ValueError(f"unsupported XWD image (format {fmt}, depth {depth}, {bpp} bpp)")
    offset = header_size + 12 * ncolors
    pixels = data[offset : offset + bpl * height]
    # Byte position of each channel within a 32-bit pixel as stored.
    step = bpp // 8

    def index(mask: int) -> int:
        shift = (mask & -mask).bit_length() - 1
        return shift // 8 if byte_order == 0 else step - 1 - shift // 8

    ri, gi, bi = index(red_mask), index(green_mask), index(blue_mask)
    rgb = bytearray(width * height * 3)
    for y in range(height):
        row = pixels[y * bpl : y * bpl + width * step]
        base = y * width * 3
        line = bytearray(width * 3)
        line[0::3] = row[ri::step]
        line[1::3] = row[gi::step]
        line[2::3] = row[bi::step]
        rgb[base : base + width * 3] = line
    return width, height, bytes(rgb)


def _png(width: int, height: int, rgb: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    stride = width * 3
    raw = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def png_is_blank(path: str | os.PathLike[str]) -> bool:
    """True when a PNG written by `screenshot` holds a single colour."""
    data = Path(path).read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    colours = {raw[y * stride + 1 + x * 3 : y * stride + 4 + x * 3] for y in range(0, height, 7) for x in range(0, width, 7)}
    return len(colours) <= 1
