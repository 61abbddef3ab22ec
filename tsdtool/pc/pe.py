"""Two facts from a Windows executable's header, read without running it.

* Bitness: the PE signature's COFF header names the machine (Microsoft "PE Format",
  learn.microsoft.com/windows/win32/debug/pe-format: the ``MZ`` stub's e_lfanew at offset
  0x3C points to ``PE\\0\\0``, followed by Machine, u16 LE: 0x014c i386, 0x8664 AMD64,
  0xaa64 ARM64).
* Version: VS_FIXEDFILEINFO in the version resource starts with the signature 0xFEEF04BD,
  then dwStrucVersion, dwFileVersionMS, dwFileVersionLS (learn.microsoft.com, VS_FIXEDFILEINFO):
  the file version is MS>>16 . MS&0xFFFF . LS>>16 . LS&0xFFFF. The signature is found by one
  linear scan over at most :data:`MAX_SCAN` bytes.
"""

from __future__ import annotations

import struct
from pathlib import Path

MACHINES = {0x014C: "32-bit (x86)", 0x8664: "64-bit (x64)", 0xAA64: "64-bit (ARM64)"}
MAX_SCAN = 64 * 1024 * 1024
_FIXED = struct.pack("<I", 0xFEEF04BD)


def bitness(path: Path) -> str:
    """"32-bit (x86)", "64-bit (x64)", … or '' when the file is not a PE image."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(0x40)
            if len(head) < 0x40 or head[:2] != b"MZ":
                return ""
            fh.seek(struct.unpack_from("<I", head, 0x3C)[0])
            sig = fh.read(6)
    except OSError:
        return ""
    if len(sig) < 6 or sig[:4] != b"PE\0\0":
        return ""
    machine = struct.unpack_from("<H", sig, 4)[0]
    return MACHINES.get(machine, f"machine 0x{machine:04x}")


def file_version(path: Path) -> str:
    """The VS_FIXEDFILEINFO file version ("3.4.46.31745"), '' when there is none."""
    carry = b""
    try:
        with open(path, "rb") as fh:
            read = 0
            while read < MAX_SCAN:
                block = fh.read(1024 * 1024)
                if not block:
                    return ""
                read += len(block)
                data = carry + block
                at = data.find(_FIXED)
                while at >= 0 and at + 16 <= len(data):
                    struc, ms, ls = struct.unpack_from("<III", data, at + 4)
                    if struc == 0x00010000:  # the only dwStrucVersion Windows writes
                        return f"{ms >> 16}.{ms & 0xFFFF}.{ls >> 16}.{ls & 0xFFFF}"
                    at = data.find(_FIXED, at + 1)
                carry = data[-15:]
    except OSError:
        return ""
    return ""
