"""Hostile input for the tests of issue 14 and the fault matrix: crafted tar streams, header payloads."""

from __future__ import annotations

import tarfile

# The review's payload: decoded, it is "TC52\r\nReply-To: x@evil.example\r\nBcc: x@evil.example".
ENCODED_WORD = "=?utf-8?q?TC52=0D=0AReply-To:_x@evil.example=0D=0ABcc:_x@evil.example?="
# Markup, a link, shell syntax and terminal controls (ESC and the C1 CSI) in one model name.
HOSTILE_MODEL = "TC52<img src=x onerror=alert(1)>[x](https://evil.example)`$(touch pwned)`\x1b[2J\x9b31m"

TiB = 1 << 40


def gnu_sparse_member(name: str, realsize: int, data: bytes = b"x" * 2048) -> bytes:
    """An old-GNU sparse member (type 'S'): ``data`` at offset 0, then a hole up to ``realsize``.
    The header's size field says how much is stored; the real size may be anything (base-256)."""
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mode = len(data), tarfile.GNUTYPE_SPARSE, 0o644
    head = bytearray(info.tobuf(format=tarfile.GNU_FORMAT, encoding="utf-8", errors="strict")[-512:])
    head[386:398] = tarfile.itn(0, 12, tarfile.GNU_FORMAT)  # first sparse entry: offset 0 …
    head[398:410] = tarfile.itn(len(data), 12, tarfile.GNU_FORMAT)  # … len(data) bytes
    head[482] = 0  # no extended sparse headers
    head[483:495] = tarfile.itn(realsize, 12, tarfile.GNU_FORMAT)  # the size it expands to
    head[148:156] = b" " * 8
    head[148:156] = b"%06o\0 " % sum(head)
    return bytes(head) + data + b"\0" * (-len(data) % 512)


def regular_member(name: str, data: bytes, declared: int | None = None) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(data) if declared is None else declared
    return info.tobuf(format=tarfile.GNU_FORMAT) + data + b"\0" * (-len(data) % 512)


def tar_of(*members: bytes) -> bytes:
    return b"".join(members) + b"\0" * 1024
