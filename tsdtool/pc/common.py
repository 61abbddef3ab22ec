"""What the PC collectors share: the root in use, copying a local file into an item, bounded walks."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tsdtool.collectors.base import Context
from tsdtool.outdir import FAILED, reason_of
from tsdtool.pc.root import PcRoot

CHUNK = 1024 * 1024
MAX_FILES = 5000  # per folder walked: a log folder with more is cut short, and says so


def pc_root(ctx: Context) -> PcRoot:
    return ctx.options.get("pc_root") or PcRoot.here()


def profile_pc(profile_id: str, profile_dirs: Sequence[Path] = ()) -> dict:
    """The ``[pc]`` table of an app profile ({} when there is no such profile)."""
    from tsdtool.apps import profiles as app_profiles

    profile = app_profiles.load_app_profiles(profile_dirs).profiles.get(profile_id)
    return profile.pc if profile else {}


def cutoff(ctx: Context) -> datetime | None:
    """``--since`` on the PC's own clock (None: no window)."""
    text = ctx.options.get("since")
    if not text:
        return None
    from tsdtool.collectors.logwindow import parse_since

    return parse_since(text).start(datetime.now())


def copy_file(ctx: Context, path: Path, wanted: str, source: str, kind: str) -> bool:
    """Stream one local file into an item; a file that cannot be read is a failed item."""
    try:
        ctx.progress.start(source, path.stat().st_size)
        with open(path, "rb") as src, ctx.out.open(wanted, source, kind=kind) as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
                ctx.progress.advance(len(chunk))
        return True
    except OSError as exc:
        if not ctx.out.items or ctx.out.items[-1].source != source:
            ctx.out.skip(wanted, source, reason_of(exc), kind=kind, status=FAILED)
        return False


@dataclass(frozen=True)
class LocalFile:
    path: Path
    rel: str  # '/'-separated below the folder walked
    size: int
    mtime: float


def files_below(folder: Path, since: datetime | None = None) -> tuple[list[LocalFile], bool]:
    """Regular files below ``folder`` (symlinks not followed), newest window only; ``(files, cut)``."""
    found: list[LocalFile] = []
    limit = since.timestamp() if since else None
    for path, rel in _walk(folder, ""):
        try:
            st = path.stat(follow_symlinks=False)
        except OSError:
            continue
        if limit is not None and st.st_mtime < limit:
            continue
        found.append(LocalFile(path, rel, st.st_size, st.st_mtime))
        if len(found) >= MAX_FILES:
            return found, True
    return found, False


def _walk(folder: Path, prefix: str) -> Iterator[tuple[Path, str]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        rel = f"{prefix}{entry.name}"
        if entry.is_symlink():
            continue
        if entry.is_dir():
            yield from _walk(Path(entry.path), rel + "/")
        elif entry.is_file():
            yield Path(entry.path), rel
