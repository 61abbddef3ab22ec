"""Copy a set of files through one way: one tar stream when the terminal has tar, file by file otherwise.

One stream reads the files back to back, so a database and its ``-wal`` come from (nearly)
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
from tsdtool.apps import tarstream
from tsdtool.apps.access import Found, TarUnavailable, Way
from tsdtool.collectors.sinks import LazyItem
from tsdtool.outdir import FAILED, Item, OutputDir, reason_of
from tsdtool.progress import NullProgress, Progress

# Errors after which the connection (not one file) is the problem: stop, don't retry.
_FATAL = (errors.TransferError, errors.DeviceTimeout)


@dataclass(frozen=True)
class Fetched:
    items: dict[str, Item]  # device path → the item written completely
    how: str  # "tar" | "file by file" | "tar, then file by file" | ""
    problem: str = ""  # why the tar stream was not enough, or why the copy stopped


def fetch(
    way: Way,
    files: Sequence[Found],
    out: OutputDir,
    *,
    local: Callable[[Found], str],
    kind: str,
    progress: Progress | None = None,
) -> Fetched:
    """Copy ``files`` into ``out`` under the names ``local(found)`` gives."""
    progress = progress or NullProgress()
    if not files:
        return Fetched({}, "")
    targets = {f.rel: tarstream.Target(local(f), f.path) for f in files}
    done: dict[str, Item] = {}
    how, problem = "", ""
    if way.has_tar is not False:
        sizes = [f.size for f in files]
        progress.start(f"{way.name}: {len(files)} files", sum(sizes) if None not in sizes else None)  # type: ignore[arg-type]
        try:
            result, _ = tarstream.pump(
                lambda sink: way.tar([f.rel for f in files], sink),
                lambda stream: tarstream.extract(stream, targets, out, kind=kind, progress=progress.advance,
                                                 done=done),
            )
            how = "tar"
            if not result.ok:
                problem = f"tar: {result.error_text()}"
        except TarUnavailable:
            pass
        except budgets.OverBudget as exc:  # a refused member or a full budget: recorded, the rest file by file
            how, problem = "tar", f"tar stream stopped: {exc}"
        except tarfile.TarError as exc:
            if way.has_tar is not False:  # a stream that is not tar (error text, old adbd)
                how, problem = "tar", f"tar stream unreadable ({exc})"
        except _FATAL as exc:
            tarstream.mark_failed(out, targets, done, f"not copied: {reason_of(exc)}")
            return Fetched(_by_path(done, targets), "tar", reason_of(exc))
    rest = [f for f in files if f.rel not in done]
    if rest:
        how = "tar, then file by file" if how else "file by file"
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
                return Fetched(_by_path(done, targets), how, reason_of(exc))
    return Fetched(_by_path(done, targets), how, problem)


def _by_path(done: dict[str, Item], targets: dict[str, tarstream.Target]) -> dict[str, Item]:
    return {targets[key].source: item for key, item in done.items() if item.status != FAILED}
