"""`tsdtool pull`: files and folders from the terminal, like ``adb pull``, but contained and hashed.

Everything goes through sync (LIST to walk folders, RECV to copy), which needs no shell
and carries names as raw bytes. Each file streams through
:meth:`~tsdtool.outdir.OutputDir.open`: ``NAME.part`` while it arrives, SHA-256 on the
way, renamed when complete. Folders are walked without following symbolic links (a link
to ``/`` would otherwise pull the whole terminal); a link named on the command line is
followed once, as ``adb pull /sdcard`` does (``/sdcard`` is itself a link).

Local names: a file lands under its base name, a folder under its base name with its tree
below; every component goes through :mod:`tsdtool.paths`, so hostile device names (``..``,
control characters, 300 characters, names equal after sanitising) stay inside the output
folder and never overwrite each other.
"""

from __future__ import annotations

import stat as _stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tsdtool import errors
from tsdtool.apps.access import reason_from
from tsdtool.collectors.sinks import LazyItem
from tsdtool.outdir import FAILED, SKIPPED, OutputDir, reason_of
from tsdtool.progress import NullProgress, Progress
from tsdtool.transport.adb import Device
from tsdtool.transport.types import RemoteFile
from tsdtool.transport.wire import MAX_SYNC_PATH, First, check_device_path  # noqa: F401 - also this module's API

KIND = "file"
MAX_DEPTH = 32
_FATAL = (errors.TransferError, errors.DeviceTimeout)
_TYPES = {_stat.S_IFLNK: "symbolic link (not followed)", _stat.S_IFCHR: "character device",
          _stat.S_IFBLK: "block device", _stat.S_IFIFO: "FIFO", _stat.S_IFSOCK: "socket"}


@dataclass(frozen=True)
class PullResult:
    files: int  # copied completely
    bytes: int
    failed: int
    skipped: int


def why_missing(device: Device, path: str) -> str:
    """Sync STAT v1 reports a missing and a refused path alike (all zero); ``ls`` tells which."""
    result = device.shell(["ls", "-d", path])
    return "No such file or directory" if result.ok else reason_from(result)


def plan(device: Device, path: str, top: RemoteFile | None = None,
         ) -> tuple[list[tuple[RemoteFile, str]], list[tuple[str, str]]]:
    """The files to copy as ``(remote, local name)`` and the entries skipped as ``(path, why)``;
    ``top``: ``path``'s STAT when it was asked already."""
    top = top or device.stat(path)
    if top.exists and _stat.S_ISLNK(top.mode):  # named on the command line: follow it once
        top = device.stat(path.rstrip("/") + "/")
        if not top.exists:
            return [(RemoteFile(path, _stat.S_IFREG, 0, 0), _base(path))], []
    if not top.exists:
        raise errors.RemoteFileError(f"{path}: {why_missing(device, path)}")
    if not top.is_dir:
        return [(top, _base(path))], []
    files: list[tuple[RemoteFile, str]] = []
    skipped: list[tuple[str, str]] = []
    _walk(device, path.rstrip("/") or "/", _base(path), 0, files, skipped)
    if not files and not skipped:
        # LIST v1 answers a folder it may not read with an empty listing: ask ls.
        check = device.shell(["ls", "-a", path.rstrip("/") + "/"])
        if not check.ok:
            raise errors.RemoteFileError(f"{path}: {reason_from(check)}")
    return files, skipped


def _walk(device: Device, folder: str, local: str, depth: int, files: list, skipped: list) -> None:
    for entry in device.listdir(folder):
        name = f"{local}/{entry.name}"
        if entry.is_dir:
            if depth < MAX_DEPTH:
                _walk(device, entry.path, name, depth + 1, files, skipped)
            else:
                skipped.append((entry.path, f"deeper than {MAX_DEPTH} folders"))
        elif entry.is_file:
            files.append((entry, name))
        else:
            skipped.append((entry.path, _TYPES.get(_stat.S_IFMT(entry.mode), "not a regular file")))


def _base(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] or "root"


def pull_paths(
    device: Device, paths: Sequence[str], out: OutputDir, *,
    progress: Progress | None = None, kind: str = KIND, first: First | None = None,
) -> PullResult:
    """Copy each device path (file or folder) into ``out``; every file becomes an item.

    A refused or missing file is recorded failed and the next one is copied; a lost
    connection stops the pull and records what was not copied. ``first``: what was asked
    about the first path before (:func:`tsdtool.transport.wire.first_pull`), not asked again.
    """
    for path in paths:
        check_device_path(path)
    progress = progress or NullProgress()
    lost = ""  # set when the connection is lost: nothing more is asked of the terminal
    try:
        for n, path in enumerate(paths):
            early = first if n == 0 and first is not None and first.path == path else None
            try:
                if lost:
                    raise errors.TransferError(f"not copied: {lost}")
                top = RemoteFile(path, *early.top) if early and early.top else None
                files, skipped = plan(device, path, top)
            except (errors.RemoteFileError, *_FATAL) as exc:
                lost = lost or (reason_of(exc) if isinstance(exc, _FATAL) else "")
                out.skip(_base(path), path, reason_of(exc), kind=kind, status=FAILED)
                continue
            for where, why in skipped:
                out.skip(where, where, why, kind=kind)
            for remote, local in files:
                if lost:
                    out.skip(local, remote.path, f"not copied: {lost}", kind=kind, status=FAILED)
                    continue
                progress.start(remote.path, remote.size or None)
                sink = LazyItem(out, local, remote.path, kind)
                try:
                    with sink:
                        device.pull(remote.path, sink, progress.advance,
                                    started=early.receiving if early and remote is top else None)
                except (errors.RemoteFileError, *_FATAL) as exc:
                    if isinstance(exc, _FATAL):
                        lost = reason_of(exc)  # a started file stays as NAME.part, marked failed
                    if not sink.opened:
                        out.skip(local, remote.path, reason_of(exc), kind=kind, status=FAILED)
    finally:
        progress.finish()
    return summarize(out, kind)


def summarize(out: OutputDir, kind: str) -> PullResult:
    mine = [i for i in out.items if i.kind == kind]
    ok = [i for i in mine if i.status == "ok"]
    return PullResult(len(ok), sum(i.size for i in ok), sum(i.status == FAILED for i in mine),
                      sum(i.status == SKIPPED for i in mine))


def default_output() -> Path:
    return Path("tsd-output") / f"pull-{datetime.now():%Y%m%d-%H%M%S}"


def pull(device: Device, paths: Sequence[str], output: Path | None = None, *,
         progress: Progress | None = None, first: First | None = None) -> tuple[PullResult, OutputDir]:
    """`tsdtool pull`: :func:`pull_paths` into a fresh output folder."""
    for path in paths:
        check_device_path(path)
    out = OutputDir(output or default_output())
    return pull_paths(device, paths, out, progress=progress, first=first), out
