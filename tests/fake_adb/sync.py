"""The file sync sub-protocol (``sync:`` service), adbd side.

Byte layouts: aosp@29.0.6:adb/file_sync_protocol.h; behaviour:
aosp@29.0.6:adb/daemon/file_sync_service.cpp (``handle_sync_command``). All integers are
little-endian. Every reply is one ``Channel.send`` (ppadb and adbutils read some replies with
a single ``recv``).

The fake is read-only: ``SEND`` is answered ``FAIL couldn't create file: Read-only file
system`` (what adbd says on a read-only mount), the pushed data is drained, the attempt is
recorded in ``Terminal.journal`` and the session ends.
"""

from __future__ import annotations

import errno
import struct

from .devicefs import SHELL, Caller, DevStat, FsError
from .services import Channel, Meter, recv_exact
from .terminal import Terminal

SYNC_DATA_MAX = 64 * 1024  # adb/file_sync_protocol.h
_V2 = struct.Struct("<IQQIIIIQqqq")  # error dev ino mode nlink uid gid size atime mtime ctime
_NO_STAT_V2 = b"\0" * _V2.size


def _v2_fields(info: DevStat | None, error: int = 0) -> bytes:
    if info is None:
        return struct.pack("<I", error) + _NO_STAT_V2[4:]
    return _V2.pack(
        0,
        info.dev,
        info.ino,
        info.mode,
        info.nlink,
        info.uid,
        info.gid,
        info.size,
        info.atime,
        info.mtime,
        info.ctime,
    )


class _Session:
    def __init__(self, terminal: Terminal, channel: Channel, meter: Meter, caller: Caller) -> None:
        self.terminal, self.channel, self.meter, self.caller = terminal, channel, meter, caller
        self.fs = terminal.fs

    def reply_id(self, ident: bytes) -> bytes:
        # The garble_sync fault reverses every reply id ("DATA" → "ATAD"): never a valid id.
        return ident[::-1] if self.terminal.faults.garble_sync else ident

    def fail(self, message: str) -> None:
        data = message.encode()
        self.channel.send(self.reply_id(b"FAIL") + struct.pack("<I", len(data)) + data)

    # Each handler returns False to end the session (adbd returns false from the handler).

    def stat_v1(self, path: str) -> bool:
        try:
            info = self.fs.lstat(path, self.caller)  # adbd do_stat_v1 uses lstat
            body = struct.pack("<III", info.mode, info.size & 0xFFFFFFFF, info.mtime & 0xFFFFFFFF)
        except FsError:
            body = b"\0" * 12  # no errno in v1: all zero means "does not exist"
        self.channel.send(self.reply_id(b"STAT") + body)
        return True

    def stat_v2(self, path: str, ident: bytes) -> bool:
        try:
            info = self.fs.stat(path, self.caller) if ident == b"STA2" else self.fs.lstat(path, self.caller)
            body = _v2_fields(info)
        except FsError as exc:
            body = _v2_fields(None, exc.errno or errno.EIO)
        self.channel.send(self.reply_id(ident) + body)
        return True

    def _entries(self, path: str) -> list[tuple[str, DevStat | FsError]]:
        """readdir order (sorted here) including ``.`` and ``..``; empty if opendir fails."""
        try:
            devdir = self.fs.stat(path, self.caller).path
            names = self.fs.listdir(devdir, self.caller)
        except FsError:
            return []
        entries: list[tuple[str, DevStat | FsError]] = []
        for name in [".", ".."] + names:
            try:
                entries.append((name, self.fs.lstat(devdir.rstrip("/") + "/" + name, self.caller)))
            except FsError as exc:
                entries.append((name, exc))
        return entries

    def list_v1(self, path: str) -> bool:
        parts = []
        for name, info in self._entries(path):
            if isinstance(info, FsError):
                continue  # adbd skips entries whose lstat fails
            raw = name.encode("utf-8", "surrogateescape")
            parts.append(
                self.reply_id(b"DENT")
                + struct.pack("<IIII", info.mode, info.size & 0xFFFFFFFF, info.mtime & 0xFFFFFFFF, len(raw))
                + raw
            )
        parts.append(self.reply_id(b"DONE") + b"\0" * 16)
        self.channel.send(b"".join(parts))
        return True

    def list_v2(self, path: str) -> bool:
        parts = []
        for name, info in self._entries(path):
            raw = name.encode("utf-8", "surrogateescape")
            fields = (
                _v2_fields(None, info.errno or errno.EIO) if isinstance(info, FsError) else _v2_fields(info)
            )
            parts.append(self.reply_id(b"DNT2") + fields + struct.pack("<I", len(raw)) + raw)
        parts.append(self.reply_id(b"DONE") + b"\0" * (_V2.size + 4))
        self.channel.send(b"".join(parts))
        return True

    def recv(self, path: str) -> bool:
        try:
            f = self.fs.open(path, self.caller)
        except FsError as exc:
            # A directory opens fine on Linux and fails at read(); adbd reports that step.
            step = "read failed" if exc.errno == errno.EISDIR else "open failed"
            self.fail(f"{step}: {exc.strerror}")
            return False
        data_id = self.reply_id(b"DATA")
        with f:
            while True:
                chunk = f.read(SYNC_DATA_MAX)
                if not chunk:
                    break
                self.meter.send(data_id + struct.pack("<I", len(chunk)), chunk)
        self.channel.send(self.reply_id(b"DONE") + b"\0\0\0\0")
        return True

    def send(self, spec: str) -> bool:
        path, _, mode = spec.rpartition(",")
        self.terminal.journal_write("sync-send", f"{path or spec},{mode}")
        self.fail("couldn't create file: Read-only file system")
        while True:  # drain the pushed file so the client reads our FAIL, not a reset
            head = recv_exact(self.channel, 8)
            if head[:4] == b"DONE":
                return False
            if head[:4] != b"DATA":
                return False
            recv_exact(self.channel, struct.unpack("<I", head[4:])[0])


def serve_sync(terminal: Terminal, channel: Channel, meter: Meter, caller: Caller = SHELL) -> None:
    """Answer sync requests until QUIT, EOF, an error that ends the session, or a bad id."""
    session = _Session(terminal, channel, meter, caller)
    handlers = {
        b"STAT": session.stat_v1,
        b"STA2": lambda p: session.stat_v2(p, b"STA2"),
        b"LST2": lambda p: session.stat_v2(p, b"LST2"),
        b"LIST": session.list_v1,
        b"LIS2": session.list_v2,
        b"RECV": session.recv,
        b"SEND": session.send,
    }
    while True:
        try:
            head = recv_exact(channel, 8)
        except EOFError:
            return
        ident, length = head[:4], struct.unpack("<I", head[4:])[0]
        if ident == b"QUIT":
            return
        if length > 1024:
            session.fail("path too long")
            return
        try:
            path = recv_exact(channel, length).decode("utf-8", "surrogateescape")
        except EOFError:
            return
        if ident != b"SEND" and not path.startswith("/"):
            path = "/" + path  # adbd runs in "/", so relative paths start there
        handler = handlers.get(ident)
        if handler is None:
            session.fail(f"unknown command {struct.unpack('<I', ident)[0]:08x}")
            return
        try:
            if not handler(path):
                return
        except EOFError:
            return
