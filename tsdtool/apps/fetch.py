"""Copy a set of files through one way: deflated on the terminal where it has gzip
(:mod:`tsdtool.apps.gzpull`), else one tar stream when the terminal has tar, file by file otherwise.

The deflated copy starts every stream at once, so the files are read at (nearly) the same
instant. One tar stream reads the files back to back, so a database and its ``-wal`` come from (nearly)
the same instant; separate copies leave a window for the app to checkpoint in between.
A member the stream did not deliver (tar could not read it) is then copied alone, which
records the precise reason. A lost connection stops the copy: everything not yet copied
is recorded failed with that reason, and the file being written stays as ``NAME.part``.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tsdtool import budgets, errors
from tsdtool.apps import gzpull, tarstream
from tsdtool.apps.access import Found, TarUnavailable, Way
from tsdtool.collectors.sinks import LazyItem
from tsdtool.outdir import FAILED, Item, OutputDir, reason_of
from tsdtool.progress import NullProgress, Progress

# Errors after which the connection (not one file) is the problem: stop, don't retry.
_FATAL = (errors.TransferError, errors.DeviceTimeout)


@dataclass(frozen=True)
class Fetched:
    items: dict[str, Item]  # device path → the item written completely
    how: str  # "gzip -1 (N streams)" | "tar" | "file by file", joined by ", then " when several were needed
    problem: str = ""  # why the tar stream was not enough, or why the copy stopped
    raw: str = ""  # why files went uncompressed ('' when all went deflated, or none was tried)


def fetch(
    way: Way,
    files: Sequence[Found],
    out: OutputDir,
    *,
    local: Callable[[Found], str],
    kind: str,
    progress: Progress | None = None,
    compress: bool = False,
    probed: Callable[[], tuple[str, dict[str, int]]] | None = None,
    arrived: Callable[[dict[str, str]], Callable[[], None]] | None = None,
    begun: Callable[[], None] | None = None,
) -> Fetched:
    """Copy ``files`` into ``out`` under the names ``local(found)`` gives; ``compress``: try
    :mod:`~tsdtool.apps.gzpull` first (``probed``: its probe, already under way; ``arrived``, ``begun``:
    see :func:`~tsdtool.apps.gzpull.fetch`)."""
    progress = progress or NullProgress()
    if not files:
        return Fetched({}, "")
    targets = {f.rel: tarstream.Target(local(f), f.path) for f in files}
    done: dict[str, Item] = {}
    how, problem, raw = "", "", ""
    if compress:
        gz = gzpull.fetch(way, files, out, local=lambda f: targets[f.rel].wanted, kind=kind, progress=progress,
                          probed=probed, arrived=arrived, begun=begun)
        done.update(gz.done)
        how = f"gzip -1, {gz.streams} stream{'s' if gz.streams > 1 else ''}" if gz.done or gz.fatal else ""
        raw = gz.not_used or "; ".join(f"{rel}: {why}" for rel, why in gz.problems.items())
        if gz.fatal is not None:
            tarstream.mark_failed(out, targets, done, f"not copied: {reason_of(gz.fatal)}")
            return Fetched(_by_path(done, targets), how, reason_of(gz.fatal), raw)
    pending = [f for f in files if f.rel not in done and not (compress and f.rel in gz.refused)]
    if pending and way.has_tar is not False:
        sizes = [f.size for f in pending]
        progress.start(f"{way.name}: {len(pending)} files", sum(sizes) if None not in sizes else None)  # type: ignore[arg-type]
        try:
            result, _ = tarstream.pump(
                lambda sink: way.tar([f.rel for f in pending], sink),
                lambda stream: tarstream.extract(stream, targets, out, kind=kind, progress=progress.advance,
                                                 done=done),
            )
            how = f"{how}, then tar" if how else "tar"
            if not result.ok:
                problem = f"tar: {result.error_text()}"
        except TarUnavailable:
            pass
        except budgets.OverBudget as exc:  # a refused member or a full budget: recorded, the rest file by file
            how, problem = f"{how}, then tar" if how else "tar", f"tar stream stopped: {exc}"
        except tarfile.TarError as exc:
            if way.has_tar is not False:  # a stream that is not tar (error text, old adbd)
                how, problem = f"{how}, then tar" if how else "tar", f"tar stream unreadable ({exc})"
        except _FATAL as exc:
            tarstream.mark_failed(out, targets, done, f"not copied: {reason_of(exc)}")
            return Fetched(_by_path(done, targets), f"{how}, then tar" if how else "tar", reason_of(exc), raw)
    rest = [f for f in pending if f.rel not in done]
    if rest:
        how = f"{how}, then file by file" if how else "file by file"
    for n, found in enumerate(rest):
        progress.start(found.rel, found.size)
        wanted = targets[found.rel].wanted
        sink = LazyItem(out, wanted, found.path, kind)
        try:
            with sink:
                way.copy(found.path, sink, progress.advance)
            assert sink.item is not None
            done[found.rel] = sink.item
        except (errors.RemoteFileError, *_FATAL) as exc:
            if not sink.opened:  # refused before the first byte: nothing on disk, say why
                out.skip(wanted, found.path, reason_of(exc), kind=kind, status=FAILED)
            if isinstance(exc, _FATAL):
                left = {f.rel: targets[f.rel] for f in rest[n + 1:]}
                tarstream.mark_failed(out, left, {}, f"not copied: {reason_of(exc)}")
                return Fetched(_by_path(done, targets), how, reason_of(exc), raw)
    return Fetched(_by_path(done, targets), how, problem, raw)


def _by_path(done: dict[str, Item], targets: dict[str, tarstream.Target]) -> dict[str, Item]:
    return {targets[key].source: item for key, item in done.items() if item.status != FAILED}
