"""Copy files compressed on the terminal: ``gzip -1`` over several streams, a large file in byte ranges.

Over USB 2.0 (20–40 MB/s as adb sees it) the link, not the terminal, limits a copy; a
SQLite database deflates ~3× at ``gzip -1``, so sending it deflated moves a third of the
bytes. One core deflates only ~30 MB/s on a terminal's ARM core, though, less than the link
carries: a large file is cut into byte ranges, each deflated by its own ``gzip`` on its own
core and sent on its own adb stream, all at once (:data:`~tsdtool.apps.listing.STREAMS`). Level 1 always: level 6
(gzip's default, and what toybox ``tar -z`` uses) costs ~2.5× the CPU per byte for a few per
cent less data, which makes the copy slower than ``adb pull``.

A range is read with toybox ``head -c`` / ``tail -c``, both in every release's list in
tests/fake_adb/applets.py (``dd`` is toybox's only from Android 10, toolbox's before, and the
options of Android 10's toybox dd are not checked here). A range after the first is ``tail -c
N`` counted from the end of the file (N = size − offset, from ``stat``), then ``head -c``:
toybox's tail seeks to the end minus N (``try_lseek()`` in toys/posix/tail.c, unconditional in
Android 10's toybox, LineageOS/android_external_toybox at 02b5adaa; a config option on by
default since 2012 before that) and sends from there. ``tail -c +OFF`` would read the bytes
before its range 4 KiB at a time and step through them one by one — on the benchmark's
terminal 150 ms before the last range's first byte, while its core is needed for gzip.
gzip runs as the adb shell user after the way's own command (run-as/su) has read the bytes,
so nothing new reaches the app's identity and nothing is written on the terminal.

Each stream's gzip trailer carries the CRC-32 and length of the bytes the terminal read;
the inflater checks both, and each range must come back exactly as long as asked; the last reads to
the end of the file, and a file in several ranges must add up to the size ``stat`` gave.
Counted from the end, a range of a file that grew or shrank after ``stat`` would come back
just as long from another offset: so once every range of the set has sent its first bytes (each
``tail`` has seeked), the sizes are asked again, beside the streams, and must be what they were.
Any stderr from a stream counts as a mismatch. Any such
mismatch, or a terminal without gzip (toybox has it from Android 10), sends the file back to
the raw copy (tar, then file by file), with the reason recorded. The local file is the
original bytes: ranges are written at their offsets into ``NAME.part``; its SHA-256 is taken
in file order, each range as soon as those before it are in (read back from the page cache) —
or, when the caller reads the whole files as soon as they are in (pull-db's check), all of it then,
beside that reading.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from tsdtool import budgets, errors
from tsdtool.apps import listing
from tsdtool.apps.access import Found, Way, reason_from
from tsdtool.apps.listing import plan  # noqa: F401 - gzpull.plan, as before
from tsdtool.outdir import HashingWriter, Item, OutputDir, reason_of
from tsdtool.progress import Progress

INFLATE_STEP = 1024 * 1024  # bytes inflated at a time, whatever a packet claims to hold
FATAL = (errors.TransferError, errors.DeviceTimeout, errors.DeviceUnavailable)


class Unusable(Exception):
    """A stream's bytes are not what was asked for: the file is copied raw instead."""


class _Stopped(Exception):
    """The copy was interrupted: a stream stops at its next chunk."""


@dataclass
class Result:
    done: dict[str, Item] = field(default_factory=dict)  # rel → the item written completely
    not_used: str = ""  # why nothing went compressed ('' when it did)
    problems: dict[str, str] = field(default_factory=dict)  # rel → why it goes raw after all
    refused: dict[str, str] = field(default_factory=dict)  # rel → over its budget: recorded failed, not retried
    fatal: BaseException | None = None  # the connection broke: stop everything
    streams: int = 0  # how many streams the set went over


def probe(way: Way, files: Sequence[Found]) -> tuple[str, dict[str, int]]:
    """``(why not, sizes)``: why not is '' when the terminal's shell finds ``gzip`` and can say
    how each stream ended; sizes maps device path → size, from ``stat -c '%s %n'`` through the
    way in the same request (a name with a newline stays unknown and is sent whole)."""
    device = way.device
    if "shell_v2" not in device.features():
        return "the terminal's adbd has no shell protocol v2 (Android < 7): no exit status per stream", {}
    paths = [f.path for f in files]
    gzip, sizes = listing.probe_answer(device.shell_script(probe_script(way, paths)).stdout, paths)
    return ("", sizes) if gzip else ("the terminal has no gzip (toybox has it from Android 10)", {})


def sizes_now(way: Way, paths: Sequence[str]) -> dict[str, int]:
    """The sizes ``stat`` gives now (a file it cannot read is left out)."""
    result = way.device.shell_script(way.wrap(["stat", "-c", "%s %n", *paths]))
    return listing.sizes(result.stdout.decode("utf-8", "surrogateescape").split("\n"), set(paths))


def probe_beside(way: Way, files: Sequence[Found]) -> Callable[[], tuple[str, dict[str, int]]] | None:
    """:func:`probe` of ``files`` on a thread of its own, started now (while the caller reads
    which of them are databases); the callable returned waits for its answer. None for a
    listing too long for one command line (then the caller probes what it keeps)."""
    if len(files) > listing.MAX_PROBED:
        return None
    from tsdtool import threads

    return threads.beside(probe, way, files, name="tsdtool-gz-probe")


def probe_script(way: Way, paths: Sequence[str]) -> str:
    """``command -v gzip`` (as the adb shell user, who runs gzip), then the sizes through the way."""
    return listing.probe_line(way.wrap, paths)


def command(way: Way, path: str, offset: int, length: int | None, size: int | None = None) -> str:
    """The shell line sending one range deflated (:func:`~tsdtool.apps.listing.range_line`)."""
    return listing.range_line(way.wrap, path, offset, length, size)


class _Inflate:
    """A stream sink: inflates gzip data and writes the bytes at their offset in the file.

    At most :data:`INFLATE_STEP` bytes are inflated at a time (deflate expands up to ~1000×:
    a terminal's 64 KiB packet could otherwise become 64 MB in memory at once), and a range
    stops as soon as it holds more than was asked for."""

    def __init__(self, writer: HashingWriter, offset: int, length: int | None, advance: Callable[[int], None],
                 stop: threading.Event, began: Callable[[], None] = lambda: None):
        self.writer, self.at, self.start, self.advance, self.stop = writer, offset, offset, advance, stop
        self.end = None if length is None else offset + length
        self.z, self.errors = inflater()  # a gzip member: header, deflate, CRC-32 and length
        self.began: Callable[[], None] | None = began  # called once, with the first bytes

    def write(self, chunk) -> int:
        if self.stop.is_set():
            raise _Stopped
        if self.began is not None:
            self.began, began = None, self.began
            began()
        data: bytes | memoryview = chunk
        while data:
            try:
                out = self.z.decompress(data, INFLATE_STEP)
            except self.errors as exc:
                raise Unusable(f"not a gzip stream ({exc})") from exc
            if self.z.unused_data:
                raise Unusable("data after the end of the gzip stream")
            if self.end is not None and self.at + len(out) > self.end:
                raise Unusable(f"bytes {self.start}–{self.end}: more arrived (the file changed meanwhile)")
            if out:
                self.writer.pwrite(out, self.at)
                self.at += len(out)
                self.advance(len(out))
            data = self.z.unconsumed_tail
        return len(chunk)

    @property
    def length(self) -> int:
        return self.at - self.start


def inflater() -> tuple[Any, tuple[type[Exception], ...]]:
    """A gzip inflater and the errors it raises: Intel ISA-L's where its wheel is installed (the
    same checks of CRC-32 and length; on the benchmark's database 0.13 s of CPU against zlib's
    0.22 s, and it lets go of the GIL as zlib does), else zlib's."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib.decompressobj(wbits=31), (zlib.error,)
    return isal_zlib.decompressobj(wbits=31), (zlib.error, isal_zlib.error)


class _Began:
    """Counts the ranges counted from the end that have begun (sent bytes, or ended without):
    :attr:`all` is set once every one has, so their ``tail`` has seeked."""

    def __init__(self, count: int):
        self.left, self.lock, self.all = count, threading.Lock(), threading.Event()
        if not count:
            self.all.set()

    def one(self) -> None:
        with self.lock:
            self.left -= 1
            if self.left <= 0:
                self.all.set()


def _nothing() -> None:
    pass


class _InOrder:
    """Hashes a file's ranges in order as they complete, while the slower ones still arrive."""

    def __init__(self, writer: HashingWriter, ranges: list[tuple[int, int | None]]):
        self.writer, self.lock, self.next = writer, threading.Lock(), 0
        self.ends = [None if length is None else offset + length for offset, length in ranges]
        self.done = [False] * len(ranges)

    def finished(self, k: int) -> None:
        with self.lock:
            self.done[k] = True
            while self.next < len(self.done) and self.done[self.next] and self.ends[self.next] is not None:
                self.writer.hash_written(self.ends[self.next])
                self.next += 1


def fetch(
    way: Way, files: Sequence[Found], out: OutputDir, *, local: Callable[[Found], str], kind: str,
    progress: Progress, probed: Callable[[], tuple[str, dict[str, int]]] | None = None,
    arrived: Callable[[dict[str, str]], Callable[[], None]] | None = None,
    begun: Callable[[], None] | None = None,
) -> Result:
    """Copy ``files`` deflated on the terminal (see the module docstring); what could not be is
    left for the raw copy and says why in :attr:`Result.problems` / :attr:`Result.not_used`.
    ``probed``: the answer of a :func:`probe_beside` of these files or more, else they are probed now.
    ``arrived``: called with {device path: local ``.part`` path} of the files that came whole, while
    their SHA-256 is still to be taken; what it returns is called once that is done, and must
    wait for whatever reads those files (they are renamed next: Windows refuses an open file).
    ``begun``: called once every stream has begun and the sizes were asked again, while the bytes
    still arrive (pull-db lists its next ways then)."""
    from concurrent.futures import ThreadPoolExecutor

    why, known = probed() if probed is not None else probe(way, files)
    known = {f.path: known[f.path] for f in files if f.path in known}
    if why:
        return Result(not_used=why)
    total = sum(known.get(f.path, 0) for f in files)
    planned = listing.plans([f.path for f in files], known)
    if planned is None:
        return Result(not_used=f"{total} bytes: small enough for one uncompressed stream")
    jobs = {f.rel: planned[f.path] for f in files}
    result = Result(streams=sum(len(r) for r in jobs.values()))
    progress.start(f"{way.name}: {len(files)} files (gzip -1)", total or None)
    lock = threading.Lock()

    def advance(n: int) -> None:
        with lock:
            progress.advance(n)

    # Every stream of every file starts at once: the set is read at (nearly) one instant, which
    # keeps a database and its -wal consistent, and nothing waits for the slowest file.
    opened: list[tuple[Found, AbstractContextManager[HashingWriter]]] = []
    writers: list[HashingWriter] = []
    stop = threading.Event()
    try:
        for found in files:
            opened.append((found, out.open(local(found), found.path, kind)))
            writers.append(opened[-1][1].__enter__())
        order = [_InOrder(w, jobs[found.rel]) for w, (found, _) in zip(writers, opened, strict=True)]
        tasks = [(n, k, offset, length) for n, (found, _) in enumerate(opened)
                 for k, (offset, length) in enumerate(jobs[found.rel])]
        began = _Began(sum(offset > 0 for _, _, offset, _ in tasks))
        with ThreadPoolExecutor(min(len(tasks), listing.MAX_STREAMS), thread_name_prefix="tsdtool-gz") as pool:
            futures = [(n, pool.submit(_range, way, opened[n][0].path, known.get(opened[n][0].path), writers[n],
                                       offset, length, advance, stop,
                                       # with a reader waiting for the whole files, all is hashed after
                                       (lambda n=n, k=k: order[n].finished(k)) if arrived is None else _nothing,
                                       began.one if offset else None))
                       for n, k, offset, length in tasks]
            raised: dict[int, BaseException] = {}
            ends = [0] * len(opened)  # where each file's bytes end
            try:
                moved = _moved(way, began, {found.path: known[found.path] for found, _ in opened
                                            if len(jobs[found.rel]) > 1})
                if begun is not None:
                    begun()
                for n, future in futures:
                    error = future.exception()
                    if error is not None and (n not in raised or isinstance(error, FATAL)):
                        raised[n] = error  # a broken connection first: it says what happened to every stream
                    elif error is None:
                        ends[n] = max(ends[n], future.result())
            except BaseException:
                stop.set()  # Ctrl-C here: every stream stops at its next chunk
                raise
    except BaseException as exc:
        for _, cm in opened[: len(writers)]:
            cm.__exit__(type(exc), exc, exc.__traceback__)  # recorded failed (interrupted), NAME.part kept
        raise
    items = out.items[len(out.items) - len(files):]
    result.fatal = next((e for e in raised.values() if isinstance(e, FATAL)), None)
    verdicts: list[BaseException | None] = []
    for n, (found, _) in enumerate(opened):
        error, size = raised.get(n), known.get(found.path)
        if error is None and size is not None and ends[n] != size and len(jobs[found.rel]) > 1:
            error = Unusable(f"{ends[n]} bytes arrived, the terminal listed {size}: the file changed meanwhile")
        elif error is None and found.path in moved:
            error = Unusable(moved[found.path])
        verdicts.append(error)
    kept = {found.path: writers[n].name for n, (found, _) in enumerate(opened) if verdicts[n] is None}
    settled = arrived(kept) if arrived is not None and kept and result.fatal is None else None
    try:
        for n, writer in enumerate(writers):
            if verdicts[n] is None:
                writer.hash_written()  # what the ranges that finished in order did not hash yet
    finally:
        if settled is not None:
            settled()  # what reads the files meanwhile is done before they are renamed or removed
    other: BaseException | None = None  # neither the terminal's nor the connection's (a full disk): raised
    for n, (found, cm) in enumerate(opened):
        error = verdicts[n]
        if error is None:
            cm.__exit__(None, None, None)
            result.done[found.rel] = items[n]
            continue
        cm.__exit__(type(error), error, error.__traceback__)  # recorded failed, NAME.part kept
        if isinstance(error, Unusable):
            out.retract(items[n])  # the raw copy takes its place and its name
            result.problems[found.rel] = str(error)
        elif isinstance(error, budgets.OverBudget):
            result.refused[found.rel] = str(error)  # recorded failed: a raw copy would not fit either
        elif not isinstance(error, FATAL):
            other = other or error
    if other is not None:
        raise other
    return result


def _moved(way: Way, began: _Began, sizes: dict[str, int]) -> dict[str, str]:
    """path → why, for each file in ranges whose size is not what it was when the ranges were
    planned: asked once every range counted from the end has begun (its tail has seeked)."""
    if not sizes:
        return {}
    began.all.wait()
    try:
        now = sizes_now(way, list(sizes))
    except errors.TsdError as exc:  # a broken connection: the streams say so too
        return {path: f"its size could not be asked again ({reason_of(exc)})" for path in sizes}
    return {path: f"{now[path] if path in now else 'no'} bytes listed after the ranges began, {size} before: "
            "the file changed meanwhile" for path, size in sizes.items() if now.get(path) != size}


def _range(way: Way, path: str, size: int | None, writer: HashingWriter, offset: int, length: int | None,
           advance: Callable[[int], None], stop: threading.Event, done: Callable[[], None],
           began: Callable[[], None] | None) -> int:
    sink = _Inflate(writer, offset, length, advance, stop, began or (lambda: None))
    try:
        result = way.device.stream_shell((), sink, script=command(way, path, offset, length, size))  # type: ignore[arg-type]
    finally:
        if sink.began is not None and began is not None:
            sink.began = None
            began()  # ended without a byte: nobody waits for it
    if result.exit_code != 0 or result.stderr:
        raise Unusable(f"{path}: {reason_from(result)}")
    if not sink.z.eof:
        raise Unusable("the gzip stream ended early")
    if length is not None and sink.length != length:
        raise Unusable(f"bytes {offset}–{offset + length}: {sink.length} arrived (the file changed meanwhile)")
    done()
    return sink.at
