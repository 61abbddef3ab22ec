"""The app's private files through ``adb backup`` of one package: when run-as and su cannot.

Android's full backup (``adb backup``, Android 4.0+) asks the app's backup agent for its
files, so it reaches ``/data/data/PKG`` of a release build without root — when the app and
Android allow it, and only after the person taps «Back up my data» on the terminal.

When it may work (checked before anything is asked of the person):

* the ``backup:`` service came with Android 4.0, API 14 (adbd runs ``/system/bin/bu backup
  ARGS`` for it: AOSP system/core adb/daemon/services.cpp);
* the app allows backups: ``ALLOW_BACKUP`` among the flags ``dumpsys package`` prints
  (``android:allowBackup``; a package without it is not backed up — AOSP frameworks/base
  commit a858cb0);
* Android 12 (API 31) leaves an app's data out of ``adb backup`` when the app targets API 31+
  and is not debuggable (developer.android.com, "Behavior changes: apps targeting Android 12",
  ADB backup restrictions).

The stream (AOSP frameworks/base BackupManagerService / PerformAdbBackupTask): the text lines
``ANDROID BACKUP``, the format version (1 on 4.0 … 5 on 9+), ``1``/``0`` for zlib compression
and the encryption (``none`` or ``AES-256``, then five more lines of key material), then a
zlib (``Deflater``) stream of a tar archive. Members are named ``apps/PKG/TOKEN/PATH`` with
the tokens of android.app.backup.FullBackup: ``r`` the data folder's root, ``f`` files/,
``db`` databases/, ``sp`` shared_prefs/, ``ef`` the external files folder; ``_manifest``
describes the app. A refused or unconfirmed backup is an empty stream.

Reading it trusts nothing: the header lines are bounded, decompression is incremental with
a bounded output per step (a zip bomb costs time, never memory) and a total budget, and the
tar is read by :mod:`tsdtool.apps.tarstream` (member names checked, no links, our own
local names).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from tsdtool.apps import tarstream
from tsdtool.apps.access import DATA_ROOT, EXTERNAL_ROOT
from tsdtool.outdir import Item, OutputDir

MAGIC = b"ANDROID BACKUP"
MIN_SDK = 14
KNOWN_VERSIONS = range(1, 6)
MAX_LINE = 64  # a header line longer than this is not an Android backup
MAX_BYTES = 16 * 1024 ** 3  # decompressed budget: far above any terminal app's private data
CHUNK = 64 * 1024
# FullBackup tree tokens → the folder below /data/data/PKG (or the external files folder).
TOKENS = {"r": "", "f": "files", "db": "databases", "sp": "shared_prefs"}
EXTERNAL_TOKEN = "ef"


class BackupError(Exception):
    """The stream is not a backup we can read (or it was empty); ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def allowed(sdk: int, flags: tuple[str, ...] | None, target_sdk: int | None, debuggable: bool) -> str:
    """Why ``adb backup`` cannot yield the app's data ('' when it may)."""
    if sdk and sdk < MIN_SDK:
        return f"adb backup came with Android 4.0 (API {MIN_SDK}); this terminal has API {sdk}"
    if flags is not None and "ALLOW_BACKUP" not in flags:
        return "the app forbids backups (android:allowBackup=false)"
    if sdk >= 31 and (target_sdk or 0) >= 31 and not debuggable:
        return (f"Android 12+ (API {sdk}) leaves the data of an app targeting API {target_sdk} "
                "out of adb backup unless it is debuggable")
    return ""


@dataclass
class Header:
    version: int
    compressed: bool
    encryption: str


def read_header(stream: BinaryIO) -> Header:
    """The four header lines, each read to at most :data:`MAX_LINE` bytes."""
    lines = []
    for _ in range(4):
        line = stream.readline(MAX_LINE + 1)
        if not line and not lines:
            raise BackupError("empty backup: the backup was refused or not confirmed on the terminal in time")
        if not line.endswith(b"\n"):
            raise BackupError("not an Android backup (header line missing or too long)")
        lines.append(line[:-1])
    if lines[0] != MAGIC:
        raise BackupError("not an Android backup (no ANDROID BACKUP header)")
    if not lines[1].isdigit() or int(lines[1]) not in KNOWN_VERSIONS:
        raise BackupError(f"unknown backup format version {lines[1][:8]!r}")
    if lines[2] not in (b"0", b"1"):
        raise BackupError("bad compression flag in the backup header")
    encryption = lines[3].decode("ascii", "replace")
    if encryption != "none":
        raise BackupError(f"the backup is encrypted ({encryption}): a backup password is set on the terminal "
                          "(Settings → Developer options → Desktop backup password); clear it and retry")
    return Header(int(lines[1]), lines[2] == b"1", encryption)


class _Inflate(io.RawIOBase):
    """A zlib stream decompressed as it is read, bounded per step and in total."""

    def __init__(self, source: BinaryIO, budget: int):
        self.source, self.budget, self.total = source, budget, 0
        self.z = zlib.decompressobj()
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self.z.unconsumed_tail:
                data = self.z.decompress(self.z.unconsumed_tail, len(buffer))
            elif self.z.eof:
                return 0
            else:
                raw = self.source.read(CHUNK)
                if not raw:
                    raise BackupError("the backup stream ended early (cut off or refused half way)")
                try:
                    data = self.z.decompress(raw, len(buffer))
                except zlib.error as exc:
                    raise BackupError(f"the backup's compressed data is damaged ({exc})") from exc
            if data:
                self.total += len(data)
                if self.total > self.budget:
                    raise BackupError(f"the backup unpacks to more than {self.budget} bytes: stopped")
                buffer[: len(data)] = data
                return len(data)


class _Members(Mapping[str, tarstream.Target]):
    """The members we keep, named from their tar names: this package's private folders, and
    its ``_manifest`` (what the backup agent says about the app). Local names are ours."""

    def __init__(self, package: str, prefix: str, folders: tuple[str, ...], external: bool):
        self.package, self.prefix, self.folders, self.external = package, prefix, folders, external

    def _target(self, key: str) -> tarstream.Target | None:
        parts = key.split("/", 3)
        if len(parts) < 3 or parts[0] != "apps" or parts[1] != self.package:
            return None
        if len(parts) == 3:
            return tarstream.Target(f"{self.prefix}backup-manifest.txt", f"adb backup {self.package}: _manifest") \
                if parts[2] == "_manifest" else None
        token, rest = parts[2], parts[3]
        if token in TOKENS:
            rel = f"{TOKENS[token]}/{rest}" if TOKENS[token] else rest
            if not any(f in ("", ".") or rel == f or rel.startswith(f + "/") for f in self.folders):
                return None
            return tarstream.Target(f"{self.prefix}internal/{rel}", f"{DATA_ROOT.format(package=self.package)}/{rel}")
        if token == EXTERNAL_TOKEN and self.external:
            return tarstream.Target(f"{self.prefix}external/files/{rest}",
                                    f"{EXTERNAL_ROOT.format(package=self.package)}/files/{rest}")
        return None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._target(key) is not None

    def __getitem__(self, key: str) -> tarstream.Target:
        target = self._target(key)
        if target is None:
            raise KeyError(key)
        return target

    def __iter__(self) -> Iterator[str]:
        return iter(())  # not enumerable: members are known only as the stream names them

    def __len__(self) -> int:
        return 0


def unpack(
    stream: BinaryIO, package: str, out: OutputDir, *, prefix: str, folders: tuple[str, ...], kind: str,
    external: bool = False, budget: int = MAX_BYTES, progress=None,
) -> dict[str, Item]:
    """Write the package's private files from a backup stream as ``PREFIXinternal/REL``.

    Returns the items written completely, by device path (``/data/data/PKG/REL``). Raises
    :class:`BackupError` for a stream that is empty, encrypted, damaged or not a backup.
    """
    import tarfile

    header = read_header(stream)
    body: BinaryIO = io.BufferedReader(_Inflate(stream, budget), CHUNK) if header.compressed else stream
    members = _Members(package, prefix, folders, external)
    try:
        done = tarstream.extract(body, members, out, kind=kind, progress=progress)
    except tarfile.TarError as exc:
        raise BackupError(f"the backup's archive is damaged ({exc})") from exc
    return {members[key].source: item for key, item in done.items()}
