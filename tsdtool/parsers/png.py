"""Just enough PNG to check a screenshot: signature, size, and whether every pixel is black.

No Pillow: the check runs on the filtered scanlines. For 8-bit images every PNG filter
predicts a colour byte only from the same channel of neighbouring pixels, so the colour
bytes reconstruct to all-zero exactly when every filtered colour byte is zero.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type -> (channels, which channel offsets carry colour rather than alpha)
_CHANNELS = {0: (1, (0,)), 2: (3, (0, 1, 2)), 4: (2, (0,)), 6: (4, (0, 1, 2))}
MAX_PIXEL_BYTES = 256 * 1024 * 1024  # 8K RGBA is 130 MB; a larger claim is not checked
ROWS_AT_ONCE = 64  # rows inflated per step of the black check


@dataclass(frozen=True)
class PngInfo:
    width: int
    height: int
    black: bool | None  # None when the check does not apply (palette, 16-bit, broken data)


def unwrap(data: bytes) -> tuple[bytes, str]:
    """Find the PNG in `screencap -p` output.

    Returns the PNG bytes and any text printed before it (multi-display terminals warn
    first). Old terminals run `shell:` under a PTY that turns ``\\n`` into ``\\r\\n``: the
    signature then reads ``\\r\\r\\n`` and every ``\\r\\n`` is undone.
    """
    at = data.find(b"\x89PNG")
    if at < 0:
        raise ValueError("no PNG signature in the output")
    prefix, png = data[:at], data[at:]
    if png[4:7] == b"\r\r\n":
        png = png.replace(b"\r\n", b"\n")
    if not png.startswith(SIGNATURE):
        raise ValueError("damaged PNG signature")
    return png, prefix.decode("utf-8", "replace").strip()


def inspect(png: bytes) -> PngInfo:
    if not png.startswith(SIGNATURE) or png[12:16] != b"IHDR" or len(png) < 26:
        raise ValueError("not a PNG")  # a screenshot cut inside IHDR is not one either
    width, height, depth, ctype = struct.unpack(">IIBB", png[16:26])
    idat, pos = [], 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            idat.append(png[pos + 8:pos + 8 + length])
        elif kind == b"IEND":
            break
        pos += 12 + length
    if depth != 8 or ctype not in _CHANNELS or not width or not height:
        return PngInfo(width, height, None)
    channels, colour = _CHANNELS[ctype]
    stride = width * channels + 1
    if stride * height > MAX_PIXEL_BYTES:
        return PngInfo(width, height, None)
    # Inflated a block of rows at a time, never more than the pixels need (a tiny IDAT can claim
    # gigabytes: zip bomb), and no further than the first row with colour: a screen is rarely
    # black, and inflating all of a 720x1280 one took 9 ms.
    z, data, rest, row = zlib.decompressobj(), b"".join(idat), b"", 0
    while row < height:
        try:
            block = rest + z.decompress(data, min(height - row, ROWS_AT_ONCE) * stride - len(rest))
        except zlib.error:
            return PngInfo(width, height, None)
        data, rows = z.unconsumed_tail, len(block) // stride
        if not rows:  # the data ends before the pixels do
            return PngInfo(width, height, None)
        for k in range(rows):
            line = block[k * stride + 1:(k + 1) * stride]
            for c in colour:
                if line[c::channels].strip(b"\0"):
                    return PngInfo(width, height, False)
        rest, row = block[rows * stride:], row + rows
    return PngInfo(width, height, True)


def make(width: int, height: int, rgb: tuple[int, int, int] = (0, 0, 0)) -> bytes:
    """A solid-colour RGB PNG (for the demo and the tests)."""
    row = b"\0" + bytes(rgb) * width
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")
