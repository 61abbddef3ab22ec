"""The output folder: the only place tsdtool writes, and the record of every item written.

Every file is streamed to ``NAME.part`` with its SHA-256 computed on the way and renamed
only when complete, so a pulled cable or a full disk never leaves a file that looks whole.
Every local name comes through :mod:`tsdtool.paths`: contained, bounded, collision-free.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import os
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tsdtool import budgets, errors
from tsdtool.paths import UniqueNames, check_folder, contained, safe_relpath

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class Item:
    """One entry of the manifest: a file written (or not) and why."""

    path: str  # relative to the output folder / inside the bundle, '/'-separated
    source: str  # device path or command it came from
    status: str = OK  # ok | failed | skipped
    reason: str = ""
    size: int = 0
    sha256: str = ""
    kind: str = ""  # database, log, screenshot, facts, attachment, …

    def to_dict(self) -> dict:
        return asdict(self)


def output_error(exc: OSError, written: int) -> errors.OutputError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return errors.OutputError(f"output disk full after {written} bytes")
    return errors.OutputError(f"cannot write output: {exc.strerror or exc}")


# Deflate level by item kind. A database is most of a bundle's bytes: at level 1 it deflates
# 3.1x (33 MB in 0.4 s of CPU), at the default 6 3.5x for 2.8x the CPU. A logcat dump is the
# next largest: the bench's 4 MiB takes 4 ms at ISA-L's level 1 for 453 kB, 21 ms at its level
# 3 (what 6 maps to) for 452 kB. Generated text is small and read by people: 6.
LEVELS = {"database": 1, "app_log": 1, "logcat": 1}
DEFAULT_LEVEL = 6
STORED_SUFFIXES = (".png", ".jpg", ".jpeg", ".zip", ".gz", ".apk", ".mp4", ".7z")
SPOOL = 64 * 1024  # a deflated item up to this size stays in memory, a larger one in a temporary file
MAX_DEFLATERS = 256  # deflated items waiting for the bundle at once (each larger one holds a file)


def level_of(kind: str) -> int:
    return LEVELS.get(kind, DEFAULT_LEVEL)


def compressobj(level: int) -> Any:
    """A raw deflate compressor (a zip entry's bytes) for a zlib ``level``. Intel ISA-L (the
    ``isal`` package) where installed: the same format, and on the bench's 34 MB database
    0.10 s of CPU at its level 1 for zlib's 0.41 s at 1, at the same ratio (3.1x); its level 3
    stands for zlib's 6 on logs (9.3x for 10.7x, in half the time). Else zlib."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib.compressobj(level, zlib.DEFLATED, -15)
    return isal_zlib.compressobj(1 if level <= 1 else 2 if level <= 3 else 3, isal_zlib.DEFLATED, -15)


def crc32_function() -> Any:
    """``crc32(data, value)``: ISA-L's where installed (the same CRC-32; 5 ms for the bench's
    34 MB database, zlib's 17 ms), else zlib's."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib.crc32
    return isal_zlib.crc32


def shrinks(size: int, deflated: int) -> bool:
    """Whether deflating paid: data that does not shrink (encrypted or packed databases,
    archives) is stored. Below 4 KiB everything is deflated (too little to judge by)."""
    return size < 4096 or deflated <= 0.9 * size


class Deflater:
    """An item's bytes deflated (raw, as a zip entry holds them) and CRC-32'd while they stream
    in, so the bundle takes them as they are: one pass over every byte. Deflating stops for
    good once a MiB has gone in and the output is not 10 % smaller (then the item is stored)."""

    def __init__(self, level: int, spool_dir: Path):
        self.level = level
        self.data = tempfile.SpooledTemporaryFile(SPOOL, dir=spool_dir)
        self.crc = 0
        self.size = 0
        self._z: Any = compressobj(self.level)
        self._crc32 = crc32_function()
        self.deflated = 0  # bytes of deflated output so far
        self.gave_up = False  # it did not shrink: stored

    def update(self, data) -> None:
        self.crc = self._crc32(data, self.crc)
        self.size += len(data)
        if self._z is None:
            return
        out = self._z.compress(data)
        self.data.write(out)
        self.deflated += len(out)
        if self.size >= 1 << 20 and not shrinks(self.size, self.deflated):
            self._z, self.gave_up = None, True

    def finish(self) -> None:
        if self._z is not None:
            out = self._z.flush()
            self.data.write(out)
            self.deflated += len(out)
            self._z = None
            self.data.seek(0)

    def close(self) -> None:
        self.data.close()


class HashingWriter:
    """A write-only file that hashes and counts what goes through it, within the budgets
    (and, for a bundle's staging folder, deflates it: :class:`Deflater`)."""

    def __init__(self, fh, meter: budgets.Meter | None = None, deflater: Deflater | None = None):
        self._fh = fh
        self._meter = meter
        self._lock = threading.Lock()
        self.sha = hashlib.sha256()
        self.size = 0
        self.deflater = deflater

    def write(self, data) -> int:
        if self._meter is not None:
            self._meter.charge(self.size, len(data))
        try:
            self._fh.write(data)
        except OSError as exc:
            raise output_error(exc, self.size) from exc
        self.sha.update(data)
        if self.deflater is not None:
            self.deflater.update(data)
        self.size += len(data)
        return len(data)

    def fileno(self) -> int:
        return self._fh.fileno()

    @property
    def name(self) -> str:
        """The file being written (its ``.part`` name)."""
        return self._fh.name

    def pwrite(self, data, offset: int) -> None:
        """Write at ``offset`` (byte ranges arriving in parallel, from any thread); not hashed
        until :meth:`hash_written`."""
        with self._lock:
            if self._meter is not None:
                self._meter.charge(offset, len(data))
        view = memoryview(data).cast("B")
        try:
            if not hasattr(os, "pwrite"):  # Windows: one writer at a time, through the handle
                with self._lock:
                    self._fh.seek(offset)
                    self._fh.write(view)
                return
            while view:
                n = os.pwrite(self._fh.fileno(), view, offset)
                view, offset = view[n:], offset + n
        except OSError as exc:
            raise output_error(exc, offset) from exc

    def hash_written(self, upto: int | None = None) -> None:
        """Hash and count what :meth:`pwrite` put before ``upto`` (None: the end of the file),
        from where the hash stands: call it with growing ``upto``, one thread at a time.

        This is the one pass, in file order, over an item that arrived in ranges
        (:mod:`tsdtool.apps.gzpull` calls it range by range): whatever must see its bytes in
        order (the bundle's deflate) is fed here."""
        with self._lock:
            self._fh.flush()  # what the Windows path of pwrite buffered
        with open(self._fh.name, "rb", buffering=0) as fh:  # the writer's own handle is write-only
            fh.seek(self.size)
            while upto is None or self.size < upto:
                chunk = fh.read(1 << 20 if upto is None else min(1 << 20, upto - self.size))
                if not chunk:
                    break
                self.sha.update(chunk)
                if self.deflater is not None:
                    self.deflater.update(chunk)
                self.size += len(chunk)

    def writev(self, pieces: list) -> int:
        """Several buffers in one system call (``os.writev``; one write each where there is
        none, as on Windows), hashed in order, within the budgets like :meth:`write`."""
        total = sum(len(p) for p in pieces)
        if self._meter is not None:
            self._meter.charge(self.size, total)
        try:
            if hasattr(os, "writev") and hasattr(self._fh, "fileno"):
                self._fh.flush()  # what write() buffered goes first
                _writev_all(self._fh.fileno(), pieces, total)
            else:
                for piece in pieces:
                    self._fh.write(piece)
        except OSError as exc:
            raise output_error(exc, self.size) from exc
        for piece in pieces:
            self.sha.update(piece)
            if self.deflater is not None:
                self.deflater.update(piece)
        self.size += total
        return total


def _writev_all(fd: int, pieces: list, total: int) -> None:
    """``os.writev`` until every byte is written (a short write resumes where it stopped)."""
    pieces = [memoryview(p).cast("B") for p in pieces]
    while total:
        done = os.writev(fd, pieces[:1024])  # IOV_MAX is 1024 on Linux
        total -= done
        while done and pieces:
            if done >= len(pieces[0]):
                done -= len(pieces.pop(0))
            else:
                pieces[0] = pieces[0][done:]
                done = 0


class OutputDir:
    """A folder that collects items; nothing is written outside it.

    With ``deflate`` (a bundle's staging folder) every item is also deflated at its kind's
    level while it streams in (:class:`Deflater`); :meth:`deflated` hands that to the bundle.
    """

    def __init__(self, root: Path, *, deflate: bool = False):
        self.root = Path(root)
        self.deflate = deflate
        self._deflated: dict[str, Deflater] = {}
        self._lock = threading.Lock()
        check_folder(self.root, "-o")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.OutputError(f"cannot create {self.root}: {exc.strerror or exc}") from exc
        self.items: list[Item] = []
        self._names = UniqueNames()
        self.meter = budgets.Meter()

    def lane(self) -> OutputDir:
        """This folder as one of several concurrent jobs sees it: names, budgets and deflated
        items shared, its own list of items until :meth:`join`."""
        view = copy.copy(self)
        view.items = _LaneItems()
        return view

    def join(self, lane: OutputDir) -> None:
        """Append a lane's items to this folder's; what is recorded through the lane from now
        on (host work a collector left to finish later) is appended here too."""
        self.items.extend(lane.items)
        if isinstance(lane.items, _LaneItems):
            lane.items.joined = self.items

    def local_name(self, wanted: str) -> str:
        """A fresh, safe relative path for ``wanted`` (a device path or a plain name)."""
        with self._lock:  # device jobs run in threads
            return self._names.claim(safe_relpath(wanted))

    def _deflater(self, rel: str, kind: str) -> Deflater | None:
        if not self.deflate or rel.lower().endswith(STORED_SUFFIXES):
            return None
        with self._lock:
            if len(self._deflated) >= MAX_DEFLATERS:
                return None  # packed the usual way, from the staged file
        return Deflater(level_of(kind), self.root)

    def deflated(self, item: Item) -> Deflater | None:
        """The bytes of a complete item as it streamed in, deflated at the level of its kind
        (``None``: none kept, or the kind changed since); the caller closes it."""
        with self._lock:
            found = self._deflated.pop(item.path, None)
        if found is not None and item.status == OK and found.size == item.size and (
            found.gave_up or found.level == level_of(item.kind)
        ):
            return found
        if found is not None:
            found.close()
        return None

    def close_deflated(self) -> None:
        with self._lock:
            left, self._deflated = list(self._deflated.values()), {}
        for deflater in left:
            deflater.close()

    @contextmanager
    def open(self, wanted: str, source: str, kind: str = "") -> Iterator[HashingWriter]:
        """Stream one item. On any exception the ``.part`` file stays, the item is recorded as
        failed with the reason, and the exception propagates to the caller."""
        rel = self.local_name(wanted)
        target = contained(self.root, rel)
        part = target.with_name(target.name + ".part")
        item = Item(rel, text_of(source), kind=kind)
        self.items.append(item)
        deflater = None
        try:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                fh = open(part, "wb")
                deflater = self._deflater(rel, kind)
            except OSError as exc:
                raise output_error(exc, 0) from exc
            with fh:
                writer = HashingWriter(fh, self.meter, deflater)
                yield writer
                try:  # buffered bytes reach the disk here: a full disk shows now for a small file
                    fh.close()
                    os.replace(part, target)
                    if deflater is not None:
                        deflater.finish()
                except OSError as exc:
                    raise output_error(exc, writer.size) from exc
                if deflater is not None:
                    with self._lock:
                        self._deflated[rel] = deflater
                    deflater = None
        except BaseException as exc:
            item.status, item.reason = FAILED, reason_of(exc)
            item.path = rel + ".part"
            raise
        finally:
            if deflater is not None:  # failed: the bundle takes the staged .part as it is
                deflater.close()
            item.size = writer.size if "writer" in locals() else 0
            item.sha256 = writer.sha.hexdigest() if "writer" in locals() else ""

    def write_bytes(self, wanted: str, data: bytes, source: str, kind: str = "") -> Item:
        with self.open(wanted, source, kind) as w:
            w.write(data)
        return self.items[-1]

    def retract(self, item: Item) -> None:
        """Forget an attempt another way redoes: its item, its ``.part`` file and its name."""
        self.items.remove(item)
        contained(self.root, item.path).unlink(missing_ok=True)
        self._names.release(item.path.removesuffix(".part"))

    def skip(self, wanted: str, source: str, reason: str, kind: str = "", status: str = SKIPPED) -> Item:
        # A claimed name like any other: the guard records a collector that failed after
        # writing under the collector's own name (apps/packages.txt), and two items with one
        # path make the bundle unwritable.
        item = Item(self.local_name(wanted), text_of(source), status, text_of(reason), kind=kind)
        self.items.append(item)
        return item

    @property
    def partial(self) -> bool:
        return any(i.status == FAILED for i in self.items)


class _LaneItems(list):
    """A lane's items (:meth:`OutputDir.lane`): its own until joined, then also the folder's."""

    joined: list | None = None

    def append(self, item: Item) -> None:
        super().append(item)
        if self.joined is not None:
            self.joined.append(item)

    def remove(self, item: Item) -> None:
        super().remove(item)
        if self.joined is not None and item in self.joined:
            self.joined.remove(item)


def reason_of(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, errors.TsdError):
        return text_of(" ".join(str(exc).split()))
    return text_of(f"{type(exc).__name__}: {exc}")


def text_of(value: str) -> str:
    """Device names arrive decoded with surrogateescape (``\\udcff`` for a byte that is not
    UTF-8); the manifest is UTF-8 JSON, so such a byte is written as the text ``\\xff``."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
