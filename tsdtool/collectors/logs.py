"""Logs: ``logcat -d``, the app's own log files (by app profile), ANR traces and tombstones.

``logcat -d -v threadtime`` dumps the default buffers (main, system, crash) and exits;
``-b NAME`` picks buffers instead. ``-T 'MM-DD HH:MM:SS.mmm'`` starts at a time of the
*terminal's* clock, in its time zone (logcat parses it with ``strptime`` and the device's
local time, AOSP logcat.cpp ``parseTime``), so a ``--since 10m`` window is computed from
``date`` on the terminal, never from the PC's clock, which may be hours apart. That format
has no year: logcat takes the current one, so a window across New Year's Eve starts in
January.

ANR traces (``/data/anr``) and tombstones (``/data/tombstones``) are readable by the shell
user only on some builds; elsewhere they are recorded as skipped "not readable: …".

``ctx.facts`` keys:

* ``logcat`` — ``command`` (argv), ``since`` (the -T value or None), ``device_time``
  (``{epoch, local}`` read before the dump), ``exit_code``, and when the parser is
  available ``lines``, ``problems``, ``crashes`` (first lines of each crash, as text).
* ``crash`` — ``{"anr": {...}, "tombstones": {...}}``: per folder ``files`` (count copied)
  or ``reason`` (why nothing was read).
* ``app_files[PACKAGE]`` — ``profile``, ``attempts``, ``files`` (local paths of the logs).
* ``app_access[PACKAGE]`` — the attempts, shared with :mod:`tsdtool.collectors.database`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tsdtool import errors
from tsdtool.apps import access, gzpull
from tsdtool.apps import profiles as app_profiles
from tsdtool.apps.access import Attempt, Found, reason_from
from tsdtool.apps.fetch import fetch
from tsdtool.collectors.base import AppCollector, Collector, Context, run_all
from tsdtool.collectors.database import check_package, local_name
from tsdtool.collectors.logwindow import (  # noqa: F401 - also this module's API
    BUFFERS,
    Since,
    check_buffers,
    check_since,
    parse_buffers,
    parse_since,
)
from tsdtool.collectors.sinks import LazyItem
from tsdtool.outdir import FAILED, OutputDir
from tsdtool.paths import check_file, safe_component
from tsdtool.progress import NullProgress, Progress
from tsdtool.transport.adb import Device, join
from tsdtool.transport.types import ShellResult

CRASH_DIRS = {"anr": "/data/anr", "tombstones": "/data/tombstones"}
SUMMARY_LIMIT = 64 * 1024 * 1024  # parse at most this much of the dump for the facts
_LOGCAT_TIME = "%m-%d %H:%M:%S.000"


# ----------------------------------------------------------------------- logcat


def device_clock(device: Device) -> tuple[int, datetime]:
    """The terminal's clock: epoch seconds and its local wall time (its own time zone)."""
    result = device.shell(["date", "+%s %Y-%m-%d %H:%M:%S"])
    try:
        epoch, local = result.text().strip().split(" ", 1)
        return int(epoch), datetime.strptime(local, "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise errors.TransferError(f"cannot read the terminal's clock: {result.error_text()}") from exc


def logcat_args(buffers: Sequence[str] = (), start: datetime | None = None) -> list[str]:
    args = ["logcat", "-d", "-v", "threadtime"]
    for name in buffers:
        args += ["-b", name]
    if start is not None:
        args += ["-T", start.strftime(_LOGCAT_TIME)]
    return args


class LogcatCollector(Collector):
    """Bundle item ``logcat.txt`` (kind "logcat"): the log buffers, optionally from a start time."""

    name = "logcat"

    def __init__(self, since: str | Since | None = None, buffers: str | Sequence[str] | None = None,
                 *, filename: str = "logcat.txt", summary: bool = True):
        self.since = parse_since(since) if isinstance(since, str) else since
        self.buffers = tuple(buffers) if isinstance(buffers, (list, tuple)) else parse_buffers(buffers)
        self.filename = filename
        self.summary = summary  # lines, problems, crashes in the facts (what `tsdtool logs` prints)
        self.item: Any = None  # the dump's item, once written

    def collect(self, ctx: Context) -> None:
        facts: dict[str, Any] = {"since": None}
        ctx.facts["logcat"] = facts
        start = None
        if self.since is not None:
            epoch, now = device_clock(ctx.device)
            facts["device_time"] = {"epoch": epoch, "local": now.isoformat(sep=" ")}
            start = self.since.start(now)
            facts["since"] = start.strftime(_LOGCAT_TIME)
        args = logcat_args(self.buffers, start)
        facts["command"] = args
        ctx.progress.start("logcat", None)
        result = None
        if has_gzip(ctx.device):
            try:
                result = self._dump(ctx, args, deflated=True)
                facts["copied"] = "gzip -1"
            except _Unusable as exc:  # the terminal's gzip failed it: the plain dump instead
                ctx.out.retract(ctx.out.items[-1])
                facts["raw"] = str(exc)
        if result is None:
            result = self._dump(ctx, args)
        item = self.item = ctx.out.items[-1]
        facts["exit_code"] = result.exit_code
        if not result.ok:
            item.reason = f"logcat: {result.error_text()}"
            if item.size == 0:
                item.status = FAILED
        if self.summary:
            facts.update(_summary(ctx.out.root / item.path))


    def _dump(self, ctx: Context, args: list[str], *, deflated: bool = False) -> ShellResult:
        source = " ".join(args)
        with ctx.out.open(self.filename, f"{source} | gzip -1" if deflated else source, "logcat") as sink:
            if not deflated:
                return ctx.device.stream_shell(args, sink, ctx.progress.advance)
            gunzip = _Gunzip(sink, ctx.progress.advance)
            return gunzip.result(ctx.device.stream_shell((), gunzip, script=gzip_script(args)))  # type: ignore[arg-type]


# ----------------------------------------------------------------------- logcat, deflated on the terminal
# A dump is text that deflates ~9× at gzip -1 (the bench's 4 MiB: 0.45 MB): over USB 2.0 it
# shares the link with the database, so the terminal's toybox gzip (Android 10 on, see
# tests/fake_adb/applets.py) sends a ninth of the bytes. The bundle keeps the original text
# and its SHA-256; a terminal without gzip, or without shell protocol v2 (no exit status, no
# stderr apart), sends it plain, as does any doubt about the deflated stream.

EXIT_MARK = "tsdtool-logcat-exit"  # logcat's own status, on stderr: a pipeline's status is gzip's


class _Unusable(Exception):
    """The deflated dump is not what logcat wrote: it is taken again plain."""


def has_gzip(device: Device) -> bool:
    """Whether the shell finds ``gzip`` and the stream can carry logcat's exit status apart."""
    if "shell_v2" not in device.features():
        return False
    result = device.shell(["command", "-v", "gzip"])
    return result.ok and result.stdout.strip().endswith(b"gzip")


def gzip_script(args: Sequence[str]) -> str:
    """``logcat … | gzip -1``, logcat's exit status written to stderr after its last line."""
    return join(["sh", "-c", f"{join(args)}; echo {EXIT_MARK} $? >&2"]) + " | gzip -1"


class _Gunzip:
    """A stream sink: inflates one gzip member into ``out`` as it arrives, at most
    :data:`~tsdtool.apps.gzpull.INFLATE_STEP` bytes at a time (deflate expands ~1000×)."""

    def __init__(self, out: Any, advance: Callable[[int], None]):
        self.out, self.advance = out, advance
        self.z, self.errors = gzpull.inflater()

    def write(self, chunk: Any) -> int:
        data = chunk
        while data:
            try:
                out = self.z.decompress(data, gzpull.INFLATE_STEP)
            except self.errors as exc:
                raise _Unusable(f"not a gzip stream ({exc})") from exc
            if self.z.unused_data:
                raise _Unusable("data after the end of the gzip stream")
            if out:
                self.out.write(out)
                self.advance(len(out))
            data = self.z.unconsumed_tail
        return len(chunk)

    def result(self, piped: ShellResult) -> ShellResult:
        """logcat's result: its exit status and stderr, once gzip's stream is known whole."""
        err, mark, status = piped.stderr.rpartition(f"{EXIT_MARK} ".encode())
        code = status.strip()
        if piped.exit_code != 0:
            raise _Unusable(f"gzip: {ShellResult(piped.command, piped.exit_code, b'', err).error_text()}")
        if not self.z.eof:
            raise _Unusable("the gzip stream ended early")
        if not mark or not code.isdigit():
            raise _Unusable("logcat's exit status did not arrive")
        return ShellResult(piped.command, int(code), b"", err)


def _summary(path: Path) -> dict[str, Any]:
    try:
        from tsdtool.parsers import logcat as parser
    except ImportError:  # the parser is optional: the raw dump is what matters
        return {}
    with open(path, "rb") as fh:
        data = fh.read(SUMMARY_LIMIT)
    counts = parser.summary(data)
    crashes = [f"{x.timestamp} {x.tag}: {x.message}" for x in parser.crashes(data)]
    return {"lines": counts.lines, "problems": counts.problems, "crashes": crashes[:50]}


# ----------------------------------------------------------------------- crashes


class CrashCollector(Collector):
    """Bundle items under ``crash/anr/`` and ``crash/tombstones/`` (kind "crash"), when readable."""

    name = "crash"

    def collect(self, ctx: Context) -> None:
        facts: dict[str, Any] = {}
        ctx.facts["crash"] = facts
        for label, folder in CRASH_DIRS.items():
            facts[label] = _copy_folder(ctx, label, folder)


def _copy_folder(ctx: Context, label: str, folder: str) -> dict[str, Any]:
    entries = [e for e in ctx.device.listdir(folder) if e.is_file]
    if not entries:
        # LIST v1 answers an unreadable folder with an empty listing: ask ls why.
        result = ctx.device.shell(["ls", folder])
        if result.ok:
            return {"files": 0, "reason": "empty"}
        why = reason_from(result)
        if "No such file or directory" in why:
            return {"files": 0, "reason": "none on this terminal"}  # nothing to miss
        reason = f"not readable: {why}"
        ctx.out.skip(f"crash/{label}", folder, reason, kind="crash")
        return {"files": 0, "reason": reason}
    copied = 0
    for entry in entries:
        wanted = f"crash/{label}/{entry.name}"
        ctx.progress.start(entry.path, entry.size or None)
        sink = LazyItem(ctx.out, wanted, entry.path, "crash")
        try:
            with sink:
                ctx.device.pull(entry.path, sink, ctx.progress.advance)
            copied += 1
        except errors.RemoteFileError as exc:
            if not sink.opened:
                reason = str(exc).rsplit(": ", 1)[-1]
                ctx.out.skip(wanted, entry.path, f"not readable: {reason}", kind="crash")
    return {"files": copied}


# ----------------------------------------------------------------------- app log files


def is_log(profile: app_profiles.AppProfile, folders: Sequence[str], found: Found) -> bool:
    """Whether a file is a log by the profile's globs, matched below the folder it was found in."""
    for folder in folders:
        if folder in ("", "."):
            below = found.rel
        elif found.rel.startswith(folder.rstrip("/") + "/"):
            below = found.rel[len(folder.rstrip("/")) + 1:]
        else:
            continue
        if profile.is_log(below):
            return True
    return False


def collect_app_files(
    device: Device, package: str, out: OutputDir, *, prefix: str, root: bool = False,
    progress: Progress | None = None, profile_dirs: Sequence[Path] = (), known: Sequence[Attempt] = (),
    listings: access.Listings | None = None,
) -> dict[str, Any]:
    """Copy the app's log files (by its profile) through every way that opens; returns the facts.
    ``listings``: the ways' listings, shared with the app's databases copied beside."""
    check_package(package)
    match = app_profiles.for_package(package, profile_dirs)
    reach = access.Reach(device, package, match.profile, root=root, known=known, listings=listings)
    files: list[str] = []
    for way, found in reach:
        logs = [f for f in found if is_log(match.profile, reach.folders(way), f)]
        got = fetch(way, logs, out, local=lambda f, w=way: local_name(prefix, w, f), kind="app_log",
                    progress=progress or NullProgress(), compress=True)  # logs deflate ~10×
        files += [item.path for item in got.items.values()]
    return {"profile": match.to_dict(), "attempts": [a.to_dict() for a in reach.attempts], "files": files}


class AppFilesCollector(AppCollector):
    """Bundle items under ``apps/PACKAGE/`` (kind "app_log"): the app's log files by its profile."""

    name = "app_files"

    def collect(self, ctx: Context) -> None:
        known = [Attempt(**a) for a in self.known(ctx)]
        facts = collect_app_files(ctx.device, self.package, ctx.out, prefix=self.prefix, root=self.root(ctx),
                                  progress=ctx.progress, profile_dirs=ctx.options.get("profile_dirs", ()),
                                  known=known, listings=self.listings(ctx))
        ctx.facts.setdefault("app_files", {})[self.package] = facts
        self.remember(ctx, facts["attempts"])


# ----------------------------------------------------------------------- `tsdtool logs`


@dataclass
class LogsResult:
    out: OutputDir
    facts: dict[str, Any] = field(default_factory=dict)
    logcat: Path | None = None  # where the dump went


def default_output(serial: str) -> Path:
    return Path("tsd-output") / f"logs-{safe_component(serial)}-{datetime.now():%Y%m%d-%H%M%S}" / "logcat.txt"


def collect_logs(
    device: Device, output: Path | None = None, *, since: str | None = None, buffers: str | None = None,
    package: str | None = None, progress: Progress | None = None, profile_dirs: Sequence[Path] = (),
) -> LogsResult:
    """`tsdtool logs`: logcat into ``output`` (a file), crash files and app logs next to it.

    ``output``'s folder becomes the output folder: ``crash/anr/…``, ``crash/tombstones/…``
    and ``apps/PACKAGE/…`` land beside the logcat file.
    """
    collectors: list[Collector] = [LogcatCollector(since, buffers), CrashCollector()]
    if package:
        collectors.append(AppFilesCollector(check_package(package)))
    target = output or default_output(device.serial)
    check_file(target, "-o")
    collectors[0].filename = safe_component(target.name)  # type: ignore[attr-defined]
    out = OutputDir(target.parent)
    ctx = Context(device, out, progress or NullProgress(), {"profile_dirs": tuple(profile_dirs)})
    try:
        run_all(collectors, ctx)
    finally:
        ctx.progress.finish()
    logcat = next((out.root / i.path for i in out.items if i.kind == "logcat" and i.status == "ok"), None)
    return LogsResult(out, ctx.facts, logcat)

