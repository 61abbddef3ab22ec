"""Pack a staging :class:`~tsdtool.outdir.OutputDir` into the bundle zip.

The zip is built as ``NAME.zip.part`` and renamed only by :meth:`BundleWriter.finish`, after
``manifest.json`` — written last — has been added: a zip without a manifest never carries
the final name. Every entry is hashed while it streams into the zip (after redaction, so
the hash proves the bytes a desk receives); for an untouched item that hash must equal the
one :class:`~tsdtool.outdir.OutputDir` computed while collecting.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from tsdtool import errors
from tsdtool.bundle.manifest import FAILED, MANIFEST_NAME, OK, BundleItem, Manifest
from tsdtool.outdir import DEFAULT_LEVEL, LEVELS, STORED_SUFFIXES, Deflater, Item, level_of, reason_of, shrinks
from tsdtool.paths import contained

CHUNK = 256 * 1024
LINE_LIMIT = 1 << 20  # a "line" longer than this is cut for redaction: logs never have one
SAMPLE = 64 * 1024
__all__ = ["DEFAULT_LEVEL", "LEVELS", "BundleWriter"]


def _incompressible(sample: bytes) -> bool:
    """Deflating data that does not shrink (encrypted or packed databases, archives) costs
    most of a collect's time for nothing: judge by a fast pass over the first 64 KiB."""
    return len(sample) >= 4096 and len(zlib.compress(sample, 1)) > 0.9 * len(sample)


Transform = Callable[[Iterable[bytes]], Iterable[bytes]]


def _chunks(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


def _lines(fh: BinaryIO) -> Iterator[bytes]:
    while line := fh.readline(LINE_LIMIT):
        yield line


def _copy(src: BinaryIO, dst: BinaryIO) -> int:
    copied = 0
    while chunk := src.read(CHUNK * 4):
        dst.write(chunk)
        copied += len(chunk)
    return copied


class BundleWriter:
    """One bundle being written. Use as a context manager: an exception removes the ``.part``."""

    def __init__(self, dest: Path, created: datetime):
        self.dest = Path(dest)
        self.part = self.dest.with_name(self.dest.name + ".part")
        self._date = created.timetuple()[:6]
        self._names: set[str] = set()
        self.interrupted = False  # Ctrl-C while packing: the rest is recorded, not stored
        try:
            self._zip = zipfile.ZipFile(self.part, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        except OSError as exc:
            raise errors.OutputError(f"cannot create {self.part}: {exc.strerror or exc}") from exc

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def _info(self, name: str, sample: bytes = b"", kind: str = "") -> zipfile.ZipInfo:
        if name in self._names:
            raise ValueError(f"{name} is already in the bundle")
        self._names.add(name)
        info = zipfile.ZipInfo(name, self._date)
        stored = name.lower().removesuffix(".part").endswith(STORED_SUFFIXES) or _incompressible(sample)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        # ZipFile.open(info, "w") deflates at the entry's level: `compress_level` from Python
        # 3.13, `_compresslevel` before (3.13 keeps that name as an alias).
        setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", level_of(kind))
        info.external_attr = 0o644 << 16
        return info

    def _stream(self, name: str, chunks: Iterable[bytes], sample: bytes | None = None,
                kind: str = "") -> tuple[int, str]:
        sha, size = hashlib.sha256(), 0
        chunks = iter(chunks)
        first = next(chunks, b"")  # judged for compressibility when no sample is given
        chunks = itertools.chain([first], chunks)
        try:
            info = self._info(name, first[:SAMPLE] if sample is None else sample, kind)
            with self._zip.open(info, "w", force_zip64=True) as dst:
                try:
                    for chunk in chunks:
                        dst.write(chunk)
                        sha.update(chunk)
                        size += len(chunk)
                except KeyboardInterrupt:
                    # Leaving the block closes the entry with what streamed: a valid, shorter file.
                    self.interrupted = True
        except OSError as exc:
            raise errors.OutputError(f"cannot write {self.part}: {exc.strerror or exc}") from exc
        return size, sha.hexdigest()

    def add_bytes(self, item: BundleItem, data: bytes) -> BundleItem:
        """A generated file (report, ticket): stored whole, hashed."""
        item.size, item.sha256 = self._stream(item.path, [data], kind=item.kind)
        return item

    def add_staged(self, root: Path, staged: Item, transform: Transform | None = None,
                   name: str | None = None, deflated: Deflater | None = None) -> BundleItem:
        """One collected item. Its staged bytes (also those of a failed, partial one) go in,
        under ``name`` (default: its staged path); an item with no bytes (skipped, or failed
        before writing) is only recorded. With ``deflated`` (see
        :meth:`~tsdtool.outdir.OutputDir.deflated`) the bytes deflated and hashed while they
        streamed in go in as they are, and the staged file is read only when they are stored."""
        item = BundleItem(name or staged.path, staged.kind or "other", staged.source, staged.status, staged.reason)
        source = contained(root, staged.path)
        if not source.is_file():
            return item
        if deflated is not None and transform is None:
            try:
                self._add_deflated(item.path, deflated, source)
            except OSError as exc:
                raise errors.OutputError(f"cannot write {self.part}: {exc.strerror or exc}") from exc
            item.size, item.sha256 = staged.size, staged.sha256
            return item
        try:
            with open(source, "rb") as fh:
                # judge compressibility from the middle: a SQLite file starts with sparse pages
                fh.seek(os.fstat(fh.fileno()).st_size // 2)
                sample = fh.read(SAMPLE)
                fh.seek(0)
                chunks = transform(_lines(fh)) if transform else _chunks(fh)
                item.size, item.sha256 = self._stream(item.path, chunks, sample, item.kind)
        except OSError as exc:
            item.status, item.reason = FAILED, f"cannot read the staged copy: {reason_of(exc)}"
            return item
        if self.interrupted:
            item.status, item.reason = FAILED, "interrupted (Ctrl-C) while packing"
            return item
        if transform is None and staged.status == OK and staged.sha256 and staged.sha256 != item.sha256:
            item.status, item.reason = FAILED, "changed on disk between collection and packing"
        return item

    def _add_deflated(self, name: str, deflated: Deflater, source: Path) -> None:
        """An entry whose CRC, sizes and bytes are known: its header, then the bytes copied.

        zipfile has no public way to add bytes deflated elsewhere; this does what
        ``ZipFile.open(info, "w")`` and its ``close()`` do (CPython 3.11–3.13), with the sizes
        known before the header is written, so nothing is deflated or CRC'd twice.
        """
        stored = deflated.gave_up or not shrinks(deflated.size, deflated.deflated)
        info = self._info(name)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", deflated.level)
        info.file_size, info.CRC = deflated.size, deflated.crc
        info.compress_size = deflated.size if stored else deflated.deflated
        zf = self._zip
        if zf._writing:
            raise ValueError("another entry is being written")
        zf.fp.seek(zf.start_dir)
        info.header_offset = zf.fp.tell()
        zf._writecheck(info)
        zf._didModify = True
        zf.fp.write(info.FileHeader(True))
        if stored:
            with open(source, "rb") as fh:
                copied = _copy(fh, zf.fp)
        else:
            copied = _copy(deflated.data, zf.fp)
        if copied != info.compress_size:
            raise OSError(f"{name}: {copied} bytes where {info.compress_size} were expected")
        zf.start_dir = zf.fp.tell()
        zf.filelist.append(info)
        zf.NameToInfo[info.filename] = info

    def read(self, name: str, *, tail: int | None = None) -> bytes | None:
        """An entry already written (the report embeds the screenshot and quotes the logs as
        packed); with ``tail`` only its last bytes, streamed."""
        from tsdtool.bundle.verify import read_member

        try:
            return read_member(self._zip, name, tail=tail)
        except KeyError:
            return None

    def finish(self, manifest: Manifest) -> Path:
        """Write ``manifest.json`` last, close, and give the zip its final name."""
        data = json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False).encode("utf-8")
        self._stream(MANIFEST_NAME, [data])
        try:
            self._zip.close()
            with open(self.part, "r+b") as fh:  # on disk before it has its name, as the ticket files are
                os.fsync(fh.fileno())  # (paths.write_new): a crash after "ready" keeps a whole bundle
            os.replace(self.part, self.dest)
        except OSError as exc:
            raise errors.OutputError(f"cannot finish {self.dest}: {exc.strerror or exc}") from exc
        return self.dest

    def abort(self) -> None:
        """Drop the unfinished zip."""
        try:
            self._zip.close()
        except (OSError, ValueError, zipfile.BadZipFile):
            pass
        self.part.unlink(missing_ok=True)
