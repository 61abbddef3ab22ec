"""Read a few values from a Windows registry hive file (``Windows/System32/config/SOFTWARE``).

Only what the Windows version needs: walk keys by name, read REG_SZ / REG_DWORD values.
The layout is the "regf" format as documented by libyal (github.com/libyal/libregf,
documentation/Windows NT Registry File (REGF) format.asciidoc):

* a 4096-byte base block: ``regf``, the root key cell offset (u32 at 0x24); cell offsets
  count from the first hive bin at file offset 4096;
* a cell is an i32 size (negative when allocated) followed by its record;
* key ``nk``: flags u16 at 0x02 (0x20: ASCII name), subkey count u32 at 0x14, subkey list
  offset at 0x1C, value count u32 at 0x24, value list offset at 0x28, name length u16 at
  0x48, name at 0x4C;
* subkey lists ``lf``/``lh`` (offset + hash pairs), ``li`` (offsets), ``ri`` (offsets of
  lists); a value list is plain u32 offsets;
* value ``vk``: name length u16 at 0x02, data size u32 at 0x04 (high bit: data inline in
  the offset field), data offset u32 at 0x08, type u32 at 0x0C, flags u16 at 0x10 (0x1:
  ASCII name), name at 0x14.

The file is untrusted: every offset is checked against the file, every count is bounded,
and lookups are by name along one path, so the work is proportional to the keys visited.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

BIN_START = 4096
MAX_CELL = 1024 * 1024
MAX_ENTRIES = 100_000
REG_SZ, REG_EXPAND_SZ, REG_DWORD = 1, 2, 4


class HiveError(Exception):
    """Not a hive, or a damaged one."""


class Hive:
    def __init__(self, fh: BinaryIO, size: int):
        self.fh, self.size = fh, size
        base = self._read(0, 4096)
        if base[:4] != b"regf":
            raise HiveError("not a registry hive (no regf signature)")
        self.root = struct.unpack_from("<I", base, 0x24)[0]

    def _read(self, at: int, n: int) -> bytes:
        if at < 0 or n < 0 or at + n > self.size:
            raise HiveError("offset outside the file")
        self.fh.seek(at)
        data = self.fh.read(n)
        if len(data) != n:
            raise HiveError("file ended early")
        return data

    def cell(self, offset: int) -> bytes:
        at = BIN_START + offset
        size = -struct.unpack("<i", self._read(at, 4))[0]
        if not 4 < size <= MAX_CELL:
            raise HiveError("bad cell size")
        return self._read(at + 4, size - 4)

    def _name(self, data: bytes, at: int, length: int, ascii_name: bool) -> str:
        raw = data[at:at + length]
        return raw.decode("latin-1") if ascii_name else raw.decode("utf-16-le", "replace")

    def _subkeys(self, offset: int, depth: int = 0) -> list[int]:
        data = self.cell(offset)
        sig, count = data[:2], struct.unpack_from("<H", data, 2)[0]
        count = min(count, MAX_ENTRIES)
        if sig in (b"lf", b"lh"):
            return [struct.unpack_from("<I", data, 4 + 8 * i)[0] for i in range(count) if 12 + 8 * i <= len(data)]
        if sig == b"li":
            return [struct.unpack_from("<I", data, 4 + 4 * i)[0] for i in range(count) if 8 + 4 * i <= len(data)]
        if sig == b"ri" and depth == 0:
            found: list[int] = []
            for i in range(count):
                if 8 + 4 * i <= len(data):
                    found += self._subkeys(struct.unpack_from("<I", data, 4 + 4 * i)[0], 1)
            return found
        raise HiveError("bad subkey list")

    def key(self, path: str) -> int:
        """The cell offset of the key at ``path`` (``\\``-separated, case ignored) below the root."""
        offset = self.root
        for part in [p for p in path.split("\\") if p]:
            nk = self.cell(offset)
            if nk[:2] != b"nk":
                raise HiveError("bad key record")
            count, lst = struct.unpack_from("<I", nk, 0x14)[0], struct.unpack_from("<I", nk, 0x1C)[0]
            if not count:
                raise KeyError(part)
            for child in self._subkeys(lst):
                sub = self.cell(child)
                length, flags = struct.unpack_from("<H", sub, 0x48)[0], struct.unpack_from("<H", sub, 2)[0]
                if sub[:2] == b"nk" and self._name(sub, 0x4C, length, bool(flags & 0x20)).lower() == part.lower():
                    offset = child
                    break
            else:
                raise KeyError(part)
        return offset

    def values(self, key_offset: int) -> dict[str, object]:
        """REG_SZ/REG_EXPAND_SZ (str) and REG_DWORD (int) values of a key, by name."""
        nk = self.cell(key_offset)
        count, lst = struct.unpack_from("<I", nk, 0x24)[0], struct.unpack_from("<I", nk, 0x28)[0]
        found: dict[str, object] = {}
        if not count:
            return found
        offsets = self.cell(lst)
        for i in range(min(count, MAX_ENTRIES, len(offsets) // 4)):
            vk = self.cell(struct.unpack_from("<I", offsets, 4 * i)[0])
            if vk[:2] != b"vk":
                continue
            length, size, data_at, kind = struct.unpack_from("<HIII", vk, 2)
            flags = struct.unpack_from("<H", vk, 0x10)[0]
            name = self._name(vk, 0x14, length, bool(flags & 1))
            inline = size & 0x80000000
            size &= 0x7FFFFFFF
            if size > MAX_CELL:
                continue
            data = struct.pack("<I", data_at)[:size] if inline else self.cell(data_at)[:size]
            if kind in (REG_SZ, REG_EXPAND_SZ):
                found[name] = data.decode("utf-16-le", "replace").split("\0", 1)[0]
            elif kind == REG_DWORD and len(data) >= 4:
                found[name] = struct.unpack_from("<I", data)[0]
        return found


def read_values(path: Path, key: str) -> dict[str, object]:
    """The values of ``key`` in the hive file at ``path``; raises HiveError / KeyError / OSError."""
    with open(path, "rb") as fh:
        hive = Hive(fh, path.stat().st_size)
        return hive.values(hive.key(key))
