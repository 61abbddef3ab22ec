"""``tsdtool collect``: one run that makes the bundle, the report and the ticket for a desk.

:func:`collect` is the public API. It checks every input first (desk, form, attachments:
a mistake there is a usage error before any terminal is touched), then runs each collector
in the :func:`~tsdtool.collectors.base.run_all` guard into a staging
:class:`~tsdtool.outdir.OutputDir` inside the output folder, packs the staging folder into
``tsd-<vendor>-<model>-<serial>-<UTC stamp>.zip`` (built as ``.zip.part``, renamed at the
end) and writes ``<bundle>.ticket.md`` and ``<bundle>.ticket.eml`` next to it. Nothing is
written outside the output folder.

Ctrl-C or a pulled cable ends the collection early, never the bundle: what arrived is
packed and the manifest says ``partial``.
"""

from __future__ import annotations

import re
import shutil
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsdtool import errors
from tsdtool import threads as worker_threads
from tsdtool.bundle import form
from tsdtool.bundle import plan as plan_mod
from tsdtool.bundle.desks import Desk
from tsdtool.bundle.manifest import (
    COMPLETE,
    FAILED,
    OK,
    SKIPPED,
    BundleItem,
    Manifest,
    Redaction,
    iso_utc,
    stamp_utc,
    utc_now,
)
from tsdtool.bundle.plan import CollectOptions, Plan, Question
from tsdtool.collectors.base import Collector, Context, run_all, run_later
from tsdtool.errors import ExitCode
from tsdtool.outdir import OutputDir
from tsdtool.paths import UniqueNames, safe_component
from tsdtool.progress import NullProgress, Progress, spoken
from tsdtool.texts import texts

if TYPE_CHECKING:
    from tsdtool.bundle import ticket

REDACT_NOTE = ("Every text item, every file name and the manifest were rewritten (the contact fields "
               "of the person filing the ticket were kept: the desk replies to them); binary items were not.")


class BundleDone(errors.OutputError):
    """The bundle was finished, but a ticket file next to it could not be written."""


@dataclass
class CollectResult:
    bundle: Path
    manifest: Manifest
    desk: Desk
    ticket_md: Path
    ticket_eml: Path
    attachment: ticket.Attachment
    notes: list[str] = field(default_factory=list)  # one line each, for the person
    to: str = ""  # the address the ticket goes to ("" for a portal desk without one)

    @property
    def exit_code(self) -> ExitCode:
        """0 only when every item arrived and the ticket has every required field."""
        ready = self.manifest.ticket is not None and self.manifest.ticket.ready
        return ExitCode.OK if self.manifest.status == COMPLETE and ready else ExitCode.PARTIAL

    def to_dict(self) -> dict[str, Any]:
        state = self.manifest.ticket
        return {
            "bundle": str(self.bundle),
            "status": self.manifest.status,
            "exit_code": int(self.exit_code),
            "ticket": {
                "desk": self.desk.id,
                "ready": bool(state and state.ready),
                "missing": list(state.missing) if state else [],
                "markdown": str(self.ticket_md),
                "eml": str(self.ticket_eml),
                "bundle_attached": self.attachment.attached,
            },
            "items": [
                {"path": i.path, "kind": i.kind, "status": i.status, "reason": i.reason, "size": i.size}
                for i in self.manifest.items
            ],
            "notes": self.notes,
        }


# ask(question) → the answer typed ("" keeps the default); see :class:`~tsdtool.bundle.plan.Question`.
Ask = Callable[[Question], str]


def collect(
    adb: Any,
    serial: str | None,
    options: CollectOptions,
    *,
    progress: Progress | None = None,
    ask: Ask | None = None,
    now: datetime | None = None,
) -> CollectResult:
    """Collect one terminal into a bundle and a ticket.

    Args:
        adb: a :class:`~tsdtool.transport.adb.Adb` (the server).
        serial: the terminal (-s), else $ANDROID_SERIAL, else the only one.
        options: see :class:`~tsdtool.bundle.plan.CollectOptions`.
        progress: where progress goes (a silent one by default). With ``ask`` it is held
            back while a question is on screen.
        ask: asks a person one question; None with --no-input or without a TTY.
        now: the bundle's timestamp (tests pin it).

    Raises:
        UsageError: bad desk, form, field, attachment or app choice (before anything is collected).
        DeviceUnavailable, ServerUnreachable: nothing could start.
        OutputError: the bundle itself could not be written.
    """
    return run(adb, serial, plan_mod.build(options), progress=progress, ask=ask, now=now)


def run(adb: Any, serial: str | None, plan: Plan, *, progress: Progress | None = None, ask: Ask | None = None,
        now: datetime | None = None) -> CollectResult:
    """:func:`collect` with the plan already built (``repro stop`` adds to it)."""
    options = plan.options
    notes = list(plan.notes)
    device = adb.select(serial)
    worker_threads.start(_import, _PACK_MODULES, name="tsd-pack-imports")  # while the terminal answers
    # The device profiles are parsed while `pm list packages` is answered, when nothing else
    # runs: the device facts find them parsed (in their lane the ~30 ms of parsing held the
    # interpreter beside the database's first requests).
    parsed = worker_threads.beside(_parse_device_profiles, list(options.profile_dirs), name="tsd-profiles")
    try:
        listing = _choose_app(device, plan, ask, notes)
    except BaseException:
        parsed()  # not left running behind a usage error
        raise
    started = now or utc_now()
    host_facts = worker_threads.beside(_host, adb, name="tsd-host")  # the server's version, asked beside the lanes
    out_dir = Path(options.out_dir)
    staging = OutputDir(out_dir / f".tsd-staging-{stamp_utc(started)}-{safe_component(device.serial)}",
                        deflate=not options.redact)  # redaction rewrites the bytes while packing
    shown = spoken(progress or NullProgress(), plan.desk.language)
    gate = Gate(shown) if ask is not None else None
    ctx = Context(device, staging, NullProgress(),
                  options={"profile_dirs": list(options.profile_dirs), "root": options.root,
                           "backup_wait": options.backup_wait, "pc_root": plan.pc_root, "since": options.since})
    ctx.later = []  # the database checks run on a worker while the later items arrive
    kinds: dict[int, str] = {}
    state = _RunState()
    scanned: dict[str, Any] = {}  # the report's scan of the log, made as soon as the log is in
    try:
        if gate is None and listing is not None:
            # Nobody is asked anything: every device job at once, the app's data as soon as
            # the app versions say which packages (and their versions, for the app facts).
            ctx.progress = shown
            chosen = threading.Event()
            _run_lanes(adb, ctx, _quick(plan, listing, chosen)
                       + _slow(ctx, plan, versions=2, chosen=chosen, scanned=scanned), kinds, state)
            _run_batch(adb, ctx, _local(ctx, plan, state), kinds, state)
        else:
            # Quick facts first (the screen shows the error now; model and apps in well under a
            # second): the questions offer them as defaults.
            _run_lanes(adb, ctx, _quick(plan, listing), kinds, state)
            ctx.progress = gate or shown
            if gate is None or ctx.interrupted:  # Ctrl-C while they came: nothing is asked, nothing more read
                _run_slow(adb, ctx, plan, kinds, state, scanned)
            else:
                _with_questions(adb, ctx, plan, ask, gate, kinds, state, notes, scanned)
    except KeyboardInterrupt:  # between two collectors: the guard did not see it
        ctx.interrupted = True
    finally:
        (gate or shown).finish()  # no bar may stay drawn under the result
    try:
        parsed()
        run_later(ctx)  # the database checks after the last byte: minutes for a 4 GB database
    except KeyboardInterrupt:  # what arrived is packed all the same, marked interrupted
        ctx.interrupted = True
    host = host_facts()
    databases, checks = database_summary(ctx.facts.get("databases", {}))
    checks.update(ctx.facts.get("checks", {}))
    manifest = Manifest(
        tool_version=host["tool_version"],
        created_at=iso_utc(started),
        host=host,
        device=ctx.facts.get("device") or _fallback_device(device),
        form=plan.form,
        profiles={
            "device": ctx.facts.get("device", {}).get("profile"),
            "app": plan.apps.profile_id,
            "desk": plan.desk.id,
        },
        apps=ctx.facts.get("apps", []),
        databases=databases,
        interrupted=ctx.interrupted,
        options={
            "package": options.package,
            "app": options.app,
            "since": options.since,
            "buffers": list(options.buffers),
            "no_db": not options.include_db,
            "redact": options.redact,
            "attach": [safe_component(Path(p).resolve().name) for p in plan.attach],
            "vendor_logs": options.vendor_logs,
            "backup": options.backup_wait is not None,
            "pc_root": options.pc_root is not None,
            "field_sources": plan.sources,
        }
        | ({"root": True} if options.root else {})
        | ({"repro": options.repro} if options.repro else {})
        | ({"vendor_broadcasts": ctx.facts.get("vendor_logs", [])} if options.vendor_logs else {}),
    )
    try:
        with _finish_first(notes):
            result = _pack(manifest, staging, checks, kinds, plan.desk, options, started, out_dir, scanned)
    except BundleDone:
        shutil.rmtree(staging.root, ignore_errors=True)
        raise
    except errors.TsdError as exc:
        exc.fix = f"{exc.fix}; what was collected is kept in {staging.root}".lstrip("; ")
        raise
    finally:
        staging.close_deflated()
    shutil.rmtree(staging.root, ignore_errors=True)
    result.notes = notes + result.notes
    return result


# -- the app ---------------------------------------------------------------------------------------


# What packing imports (the .eml's email package ~30 ms, the report, the zip writer).
_PACK_MODULES = ("tsdtool.bundle.ticket", "tsdtool.bundle.report_html", "tsdtool.bundle.writer",
                 "tsdtool.bundle.redact", "email.generator")


def _import(modules: tuple[str, ...]) -> None:
    """Import ahead, on a thread (whoever needs one meanwhile waits for its import under way)."""
    import importlib

    with suppress(ImportError):  # the pack's own import says what is wrong
        for name in modules:
            importlib.import_module(name)


def _parse_device_profiles(profile_dirs: list[str]) -> None:
    from tsdtool.devices.profiles import load_device_profiles

    with suppress(Exception):  # the device facts read them again and record what failed
        load_device_profiles(profile_dirs)


def _choose_app(device: Any, plan: Plan, ask: Ask | None, notes: list[str]) -> bytes | None:
    """Settle which app is collected before anything else: a package or an --app that is not
    on the terminal is a usage error naming the installed ones; with neither, a person picks
    from the installed apps. Returns the package listing (None when pm could not be read)."""
    from tsdtool.collectors.packages import list_packages
    from tsdtool.parsers import pm_list

    try:
        listing = list_packages(device)
    except (errors.TransferError, errors.DeviceTimeout):
        return None  # the app versions item records why
    installed = sorted({p.name for p in pm_list.parse(listing)})
    apps = plan.apps
    if apps.given:
        apps.check_installed(installed, device.serial)
        return listing
    third = _third_party(device) or installed
    candidates = apps.candidates(third)
    if ask is not None and candidates:
        t = texts(plan.desk.language)
        picked = ask(Question("package", t("ask.pick_label"), t("ask.pick_hint"), False,
                              choices=tuple(candidates), pick=t("ask.pick_prompt")))
        if picked in candidates:
            apps.pick(picked)
            return listing
    if not apps.choose(installed):
        listed = ", ".join(candidates[:12]) + (f" (+{len(candidates) - 12})" if len(candidates) > 12 else "")
        notes.append(f"no app chosen: give --package PKG; installed apps: {listed or '—'}")
    return listing


def _third_party(device: Any) -> list[str]:
    from tsdtool.parsers import pm_list

    try:
        result = device.shell(["pm", "list", "packages", "-3"])
    except errors.TsdError:
        return []
    return sorted({p.name for p in pm_list.parse(result.stdout)}) if result.ok else []


# -- collection ----------------------------------------------------------------------------------


class _Skip(Collector):
    """A placeholder item: something deliberately not collected, and why."""

    def __init__(self, path: str, kind: str, reason: str, status: str = SKIPPED):
        self.name, self.kind, self.reason, self.status = path, kind, reason, status

    def collect(self, ctx: Context) -> None:
        ctx.out.skip(self.name, self.name, self.reason, kind=self.kind, status=self.status)


class _Extra(Collector):
    """A local file the plan adds under its own name (repro's "before" screenshot)."""

    local = True  # read from this PC: still collected when the terminal went away

    def __init__(self, path: Path, name: str, kind: str):
        self.path, self.name, self.kind = path, name, kind

    def collect(self, ctx: Context) -> None:
        ctx.out.write_bytes(self.name, self.path.read_bytes(), source=f"local:{self.path.name}", kind=self.kind)


def _app_collectors(packages: list[str], options: CollectOptions) -> tuple[list[Collector], list[Collector]]:
    """The apps' databases, and their own files and facts: two lanes (:func:`_slow`)."""
    from tsdtool.collectors.app_facts import AppFactsCollector
    from tsdtool.collectors.database import DatabaseCollector
    from tsdtool.collectors.logs import AppFilesCollector

    if not packages:
        why = "no app chosen (--app or --package) and no installed app has a profile"
        return [_Skip("databases", "database", why)], [_Skip("app_files", "app_log", why)]
    data: list[Collector] = []
    files: list[Collector] = []
    for package in packages:
        if options.include_db:
            data.append(DatabaseCollector(package))
        else:
            data.append(_Skip(f"databases/{package}", "database", "left out with --no-db"))
        files += [AppFilesCollector(package), AppFactsCollector(package)]
    return data, files


def _quick(plan: Plan, listing: bytes | None, chosen: threading.Event | None = None) -> list[list[Collector]]:
    """Three independent jobs, each on its own adb stream (:func:`_run_lanes`); ``chosen`` is
    set once the app versions collector has chosen the packages (before it reads their versions)."""
    from tsdtool.collectors.device_facts import DeviceFactsCollector
    from tsdtool.collectors.packages import AppVersionsCollector
    from tsdtool.collectors.screenshot import ScreenshotCollector

    return [[ScreenshotCollector()], [DeviceFactsCollector()],
            [AppVersionsCollector(plan.apps.choose, listing, chosen)]]


def _run_slow(adb: Any, ctx: Context, plan: Plan, kinds: dict[int, str], state: _RunState,
              scanned: dict[str, Any] | None = None) -> None:
    """Logs (early: they rotate) beside the app's data, each lane on its own adb stream; then
    the local files."""
    _run_lanes(adb, ctx, _slow(ctx, plan, scanned=scanned), kinds, state)
    _run_batch(adb, ctx, _local(ctx, plan, state), kinds, state)


def _slow(ctx: Context, plan: Plan, versions: int | None = None, chosen: threading.Event | None = None,
          scanned: dict[str, Any] | None = None) -> list[Lane]:
    """The logs (early: they rotate), the crash files, the vendor's logger (when asked), the
    app's databases and the app's own files, each in a lane of its own: none waits for another's
    transfer (the two app lanes share each way's listing: :class:`~tsdtool.apps.access.Listings`).
    The app lanes are made once the packages are chosen: now, or once lane ``versions`` (the app
    versions, running beside them) has chosen them (``chosen`` set, or the lane done); the app
    facts wait for that lane's versions. ``scanned``: where the log's scan for the report goes
    (see :func:`_scan_log`)."""
    from tsdtool.collectors.logs import CrashCollector, LogcatCollector

    options = plan.options

    def logcat(finished: list[threading.Event]) -> Iterator[Collector]:
        # No summary: nothing in a bundle shows the counts. The report scans the log's end once,
        # from the bundle (so a redacted log is what it quotes); unredacted, that is the staged
        # file, scanned here while the rest arrives (~0.1 s less after the last byte).
        log = LogcatCollector(options.since, list(options.buffers) or None, summary=False)
        yield log
        if scanned is not None and log.item is not None and log.item.status == OK:
            _scan_log(ctx.out.root, log.item.path, scanned)

    lanes: list[Lane] = [logcat, [CrashCollector()]]
    if options.vendor_logs:  # a device-side action (a broadcast): only when asked
        from tsdtool.collectors.vendor_logs import VendorLogsCollector

        lanes.append([VendorLogsCollector()])

    def app(part: int) -> Lane:
        def lane(finished: list[threading.Event]) -> Iterator[Collector]:
            from tsdtool.collectors.app_facts import AppFactsCollector

            if versions is not None:
                # chosen is set by the collector whatever happens to it; the lane's end covers a
                # collector that never ran (interrupted before it)
                signal = chosen or finished[versions]
                while not signal.wait(0.05) and not finished[versions].is_set():
                    pass
            packages = ctx.facts.get("packages")
            if packages is None:  # the package list never arrived
                packages = [plan.apps.explicit] if plan.apps.explicit else []
            for collector in _app_collectors(list(packages), options)[part]:
                if versions is not None and isinstance(collector, AppFactsCollector):
                    finished[versions].wait()  # the version name is one of the facts' inputs
                yield collector

        return lane

    return [*lanes, app(0), app(1)]


def _scan_log(root: Path, path: str, scanned: dict[str, Any]) -> None:
    """The report's scan of a staged log's end, made now (:func:`~tsdtool.bundle.report_html.render`
    uses it where the staged bytes are still the same)."""
    from tsdtool.bundle import report_html

    data = _staged_reader(root)(path, tail=report_html.LOG_TAIL)
    if data:
        scanned[path] = (data, report_html.scan_log(data))


def _local(ctx: Context, plan: Plan, state: _RunState) -> Iterator[Collector]:
    """What this PC adds: no terminal needed, each item records itself."""
    options = plan.options
    if plan.pc_root is not None and not (state.gone or ctx.interrupted):
        from tsdtool.pc.run import collectors as pc_collectors

        yield from pc_collectors()
    for path, name, kind in options.extra_files:
        yield _Extra(Path(path), name, kind)
    if plan.attach:
        from tsdtool.collectors.attachments import AttachCollector

        yield AttachCollector(plan.attach, exclude=[ctx.out.root.parent])


# One lane: its collectors, or a function of the lanes' "finished" events that makes them in
# the lane's own thread (it may wait for another lane first).
Lane = list[Collector] | Callable[[list[threading.Event]], Iterable[Collector]]


@dataclass
class _RunState:
    gone: bool = False  # the terminal went away: later items fail without being tried


def _run_batch(adb: Any, ctx: Context, batch: Iterable[Collector], kinds: dict[int, str], state: _RunState,
               stop: Callable[[], bool] = lambda: False) -> None:
    """Run collectors in the guard; record item index → kind for items recorded without one.
    ``stop()`` true: another lane was interrupted, this one stops too."""
    for collector in batch:
        before = len(ctx.out.items)
        kind = _kind(collector)
        local = getattr(collector, "local", False)
        ctx.interrupted = ctx.interrupted or stop()
        if ctx.interrupted or (state.gone and not local):
            why = "interrupted before this item" if ctx.interrupted else "the terminal went away before this item"
            ctx.out.skip(collector.name, collector.name, why, kind=kind, status=FAILED)
        else:
            try:
                run_all([collector], ctx)
            except KeyboardInterrupt:
                ctx.interrupted = True
            if not local:
                state.gone = state.gone or (_failed_since(ctx, before) and not _present(adb, ctx.device.serial))
        for index in range(before, len(ctx.out.items)):
            if not ctx.out.items[index].kind:
                kinds[index] = kind


def _run_lanes(adb: Any, ctx: Context, lanes: list[Lane], kinds: dict[int, str],
               state: _RunState) -> None:
    """Independent device jobs at once, each lane (collectors that depend on each other, in
    order) on its own adb streams: the first in this thread, the others in threads of their
    own. Each lane records into its own view of the output folder (:meth:`OutputDir.lane`);
    the views' items are then appended in lane order, so the manifest lists the items as if
    the lanes had run one after another. One progress line follows one lane at a time
    (:class:`_Lanes`). Ctrl-C (it reaches this thread only) stops every lane at its next chunk."""
    import dataclasses

    shared = _Lanes(ctx.progress)
    ctxs = [dataclasses.replace(ctx, out=ctx.out.lane(), progress=shared.lane(n)) for n in range(len(lanes))]
    lane_kinds: list[dict[int, str]] = [{} for _ in lanes]
    failure: list[BaseException] = []
    finished = [threading.Event() for _ in lanes]

    def work(n: int) -> None:
        try:
            lane = lanes[n]
            batch = lane(finished) if callable(lane) else lane
            _run_batch(adb, ctxs[n], batch, lane_kinds[n], state, stop=lambda: shared.cancelled)
        except BaseException as exc:  # noqa: BLE001 - handed to this thread
            failure.append(exc)
        finally:
            finished[n].set()  # set whatever happened: a lane waiting for this one goes on
            if ctxs[n].interrupted:
                shared.cancel()
            shared.done(n)

    for n in range(1, len(lanes)):
        worker_threads.start(work, n, name=f"tsd-lane-{n}")
    # Waited for through their events, not Thread.join: CPython 3.11's join, interrupted by
    # Ctrl-C, marks the thread it waits for as stopped while it still runs (bpo-45274's
    # handling releases that thread's own lock), and the lanes were packed while still writing.
    try:
        work(0)
        for event in finished[1:]:
            worker_threads.wait(event)
    except KeyboardInterrupt:  # while waiting for the other lanes
        ctx.interrupted = True
        shared.cancel()
        for event in finished[1:]:
            event.wait()
    for n, lane_ctx in enumerate(ctxs):
        base = len(ctx.out.items)
        ctx.out.join(lane_ctx.out)
        kinds.update({base + index: kind for index, kind in lane_kinds[n].items()})
        ctx.interrupted = ctx.interrupted or lane_ctx.interrupted
    if failure:
        raise failure[0]


class _Lanes:
    """Several lanes, one Progress: it follows one lane at a time (the first started that is
    still working); when that lane is done the next one's item is shown from where it is.
    After :meth:`cancel` every lane's next call raises KeyboardInterrupt."""

    def __init__(self, inner: Progress):
        self.inner, self.cancelled = inner, False
        self._lock = threading.Lock()
        self._shown: int | None = None
        self._state: dict[int, list[Any]] = {}  # lane → [label, total, done]

    def lane(self, n: int) -> Progress:
        return _Lane(self, n)

    def cancel(self) -> None:
        self.cancelled = True

    def _check(self) -> None:
        if self.cancelled:
            raise KeyboardInterrupt

    def start(self, n: int, label: str, total: int | None) -> None:
        self._check()
        with self._lock:
            self._state[n] = [label, total, 0]
            if self._shown is None:
                self._shown = n
            if self._shown == n:
                self.inner.start(label, total)

    def advance(self, n: int, count: int) -> None:
        self._check()
        with self._lock:
            if n in self._state:
                self._state[n][2] += count
            if self._shown == n:
                self.inner.advance(count)

    def finish(self, n: int) -> None:
        with self._lock:
            self._state.pop(n, None)
            if self._shown == n:
                self._follow_next()

    def done(self, n: int) -> None:
        """Lane ``n`` has nothing more to do."""
        self.finish(n)

    def _follow_next(self) -> None:
        self._shown = next(iter(self._state), None)
        if self._shown is None:
            self.inner.finish()
            return
        label, total, done = self._state[self._shown]
        self.inner.start(label, total)
        if done:
            self.inner.advance(done)


class _Lane:
    """One lane's Progress (see :class:`_Lanes`)."""

    def __init__(self, lanes: _Lanes, n: int):
        self.lanes, self.n = lanes, n

    def start(self, label: str, total: int | None = None) -> None:
        self.lanes.start(self.n, label, total)

    def advance(self, n: int) -> None:
        self.lanes.advance(self.n, n)

    def finish(self) -> None:
        self.lanes.finish(self.n)


def _with_questions(adb: Any, ctx: Context, plan: Plan, ask: Ask, gate: Gate, kinds: dict[int, str],
                    state: _RunState, notes: list[str], scanned: dict[str, Any] | None = None) -> None:
    """The slow work in a background thread while the person answers; its progress is held
    back until the last question is answered, then shows what is left."""
    failure: list[BaseException] = []
    done = threading.Event()  # waited for instead of Thread.join (see _run_lanes)

    def work() -> None:
        try:
            _run_slow(adb, ctx, plan, kinds, state, scanned)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failure.append(exc)
        finally:
            done.set()

    worker_threads.start(work, name="tsd-collect")
    try:
        try:
            plan.ask_all(ask, _terminal_defaults(ctx, plan))
        except EOFError:
            notes.append("questions skipped: the ticket lists what is still missing")
        finally:
            gate.open()
        worker_threads.wait(done)
    except KeyboardInterrupt:
        ctx.interrupted = True
        gate.cancel()  # the worker stops at its next chunk: what arrived is kept, marked partial
        done.wait()
        notes.append("Ctrl-C: the questions left were skipped and the bundle packed with what arrived")
    if failure:
        raise failure[0]


def _terminal_defaults(ctx: Context, plan: Plan) -> dict[str, str]:
    """Values the terminal suggests for person fields, offered as defaults to confirm: the
    product of an app's profile, the project an app profile's facts find on the terminal
    (Napoleon's crash.log). The PC root's Windows and 1C versions are in the plan already."""
    from tsdtool.bundle import ticket

    partial = Manifest("", "", device=ctx.facts.get("device", {}), apps=ctx.facts.get("apps", []))
    found = ticket.auto_values(partial)
    for key, value in _app_defaults(ctx).items():
        found.setdefault(key, value)
    return found


def _app_defaults(ctx: Context) -> dict[str, str]:
    """One small read per fact file (``head -c``) for each chosen app with ``[[fact]]`` tables."""
    from tsdtool.apps import facts as app_facts
    from tsdtool.apps import profiles as app_profiles

    found: dict[str, str] = {}
    for entry in ctx.facts.get("apps", []):
        if not entry.get("installed"):
            continue
        try:
            profile = app_profiles.for_package(entry["package"], ctx.options.get("profile_dirs", ())).profile
            values = app_facts.read_facts(ctx.device, entry["package"], profile, entry.get("version_name") or "")
        except (errors.TsdError, OSError):
            continue  # a default is a convenience: the app collectors record the real failure
        for key, value in app_facts.field_defaults({k: v.to_dict() for k, v in values.items()}).items():
            found.setdefault(key, value)
    return found


class Gate:
    """A Progress held closed while questions are on screen: the worker's calls are remembered,
    drawn once :meth:`open` is called; :meth:`cancel` makes the worker's next call raise
    KeyboardInterrupt (Ctrl-C reaches only the main thread)."""

    def __init__(self, inner: Progress):
        self.inner, self.is_open, self.cancelled = inner, False, False
        self.label: str | None = None
        self.total: int | None = None
        self.done = 0
        self._lock = threading.Lock()

    def _check(self) -> None:
        if self.cancelled:
            raise KeyboardInterrupt

    def start(self, label: str, total: int | None = None) -> None:
        self._check()
        with self._lock:
            self.label, self.total, self.done = label, total, 0
            if self.is_open:
                self.inner.start(label, total)

    def advance(self, n: int) -> None:
        self._check()
        with self._lock:
            self.done += n
            if self.is_open and self.label is not None:
                self.inner.advance(n)

    def finish(self) -> None:
        with self._lock:
            self.label = None
            if self.is_open:
                self.inner.finish()

    def open(self) -> None:
        with self._lock:
            self.is_open = True
            if self.label is not None:
                self.inner.start(self.label, self.total)
                self.inner.advance(self.done)

    def cancel(self) -> None:
        self.cancelled = True


def _kind(collector: Collector) -> str:
    return getattr(collector, "kind", "") or collector.name.split("/")[0] or "other"


def _failed_since(ctx: Context, before: int) -> bool:
    return any(i.status == FAILED for i in ctx.out.items[before:])


def _present(adb: Any, serial: str) -> bool:
    """After a failure: is the terminal still there? (A pulled cable fails everything after.)"""
    try:
        return any(e.serial == serial and e.state == "device" for e in adb.devices())
    except errors.TsdError:
        return False


@contextmanager
def _finish_first(notes: list[str]) -> Iterator[None]:
    """While the bundle is packed (local, seconds), Ctrl-C is noted and the bundle finished:
    everything is collected by then, and stopping would throw it away."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals only reach the main thread; the writer copes with a stray interrupt
        return

    def note(signum: int, frame: Any) -> None:
        if not pressed:
            notes.append("Ctrl-C while packing: the bundle was finished first")
        pressed.append(signum)

    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _host(adb: Any) -> dict[str, Any]:
    from tsdtool.bundle import host

    return host.read(adb)


def _fallback_device(device: Any) -> dict[str, Any]:
    """What `adb devices -l` told us, when the terminal's own facts never arrived."""
    tags = device.entry.tags
    return {
        "serial": device.serial,
        "transport": device.entry.transport,
        "model": tags.get("model") or None,
        "product": tags.get("product") or None,
        "device": tags.get("device") or None,
    }


def database_summary(pulls: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``ctx.facts["databases"]`` (see :mod:`tsdtool.collectors.database`) → the manifest's
    ``databases`` rows, and a one-line check result per main database file."""
    rows: list[dict[str, Any]] = []
    checks: dict[str, str] = {}
    for package, pull in pulls.items():
        found = pull.get("databases", [])
        if not found:
            from tsdtool.collectors.database import refused_ways, unreadable

            why = unreadable(pull.get("attempts", [])) or "no database in the app's folders"
            rows.append(
                {
                    "package": package,
                    "device_path": None,
                    "path": None,
                    "sidecars": [],
                    "complete": False,
                    "check": why,
                    "tables": None,
                    "integrity_ok": None,
                }
                # What the terminal said for each way (data, shown inside the desk's wording).
                | ({"refused": refused_ways(pull.get("attempts", []))} if why.startswith("not readable") else {})
            )
        for db in found:
            check = db.get("check") or {}
            text = _check_text(db, check)
            path = db.get("files", {}).get("db")
            rows.append(
                {
                    "package": package,
                    "device_path": db.get("device_path"),
                    "path": path,
                    "sidecars": sorted(r for r in db.get("files", {}) if r != "db"),
                    "complete": bool(db.get("complete")),
                    "check": text,
                    "tables": check.get("table_count"),
                    "integrity_ok": check.get("ok") if check else None,
                    "copied": db.get("copied", ""),  # gzip -1 / tar / file by file (collectors.database)
                }
                | ({"raw": db["raw"]} if db.get("raw") else {})  # why it did not come deflated
            )
            if path:
                checks[path] = text
    return rows, checks


def _check_text(db: dict[str, Any], check: dict[str, Any]) -> str:
    parts = []
    if not check:
        parts.append("not copied")
    elif check.get("error"):
        parts.append(f"cannot open: {check['error']}")
    else:
        integrity = check.get("integrity") or []
        parts.append("integrity ok" if integrity == ["ok"] else "integrity: " + "; ".join(integrity[:3]))
        parts.append(f"{check.get('table_count', 0)} tables")
        if check.get("journal"):
            applied = ", ".join(check.get("sidecars") or [])
            parts.append(f"{check['journal']} journal" + (f" ({applied} applied)" if applied else ""))
    parts += [f"{role} missing: {why}" for role, why in (db.get("missing") or {}).items()]
    return ", ".join(parts)


# -- packing -------------------------------------------------------------------------------------


def bundle_name(device: dict[str, Any], started: datetime, serial: str) -> str:
    """``tsd-<vendor>-<model>-<serial>-<UTC yyyymmddThhmmssZ>.zip`` with every part made safe."""

    def part(value: Any, default: str) -> str:
        text = "_".join(str(value or "").strip("<>").split()) or default
        # letters (Cyrillic too), digits, '.', '_' only: a model with backticks or $() made a
        # name that ran a command when its printed path was pasted into a shell
        return re.sub(r"[^\w.]", "_", safe_component(text))[:40]

    vendor = part(device.get("manufacturer") or device.get("vendor"), "unknown")
    model = part(device.get("model"), "unknown")
    return f"tsd-{vendor}-{model}-{part(serial, 'noserial')}-{stamp_utc(started)}.zip"


def _unique(path: Path) -> Path:
    n, candidate = 1, path
    while candidate.exists() or candidate.with_name(candidate.name + ".part").exists():
        n += 1
        candidate = path.with_name(f"{path.stem}~{n}{path.suffix}")
    return candidate


def _pack(
    manifest: Manifest,
    staging: OutputDir,
    checks: dict[str, str],
    kinds: dict[int, str],
    desk: Desk,
    options: CollectOptions,
    started: datetime,
    out_dir: Path,
    scanned: dict[str, Any] | None = None,
) -> CollectResult:
    from tsdtool.bundle import redact as redact_mod
    from tsdtool.bundle import report_html, ticket
    from tsdtool.bundle.writer import BundleWriter
    from tsdtool.paths import write_new

    redactor = None
    serial = str(manifest.device.get("serial") or "")
    if options.redact:  # one pass over the whole bundle: values, names, every text item
        redactor = redact_mod.Redactor(_serials(manifest.device))
        redact_mod.redact_manifest(redactor, manifest)
        serial = redactor.text(serial)
    names = UniqueNames()
    kept: list[str] = []
    dest = _unique(out_dir / bundle_name(manifest.device, started, serial))
    with BundleWriter(dest, started) as writer:
        for index, staged in enumerate(staging.items):
            staged.kind = staged.kind or kinds.get(index, "other")
            name = _redacted_name(names, redactor, staged.path) if redactor else staged.path
            if writer.interrupted:
                item = BundleItem(name, staged.kind, staged.source, FAILED, "interrupted (Ctrl-C) while packing")
            elif redactor and redact_mod.is_text(staged.path, _head(staging.root, staged.path)):
                before = sum(redactor.counts.values())
                item = writer.add_staged(staging.root, staged, redactor.stream, name=name)
                item.redacted = sum(redactor.counts.values()) - before
            else:
                deflated = None if redactor else staging.deflated(staged)
                try:
                    item = writer.add_staged(staging.root, staged, name=name, deflated=deflated)
                finally:
                    if deflated is not None:
                        deflated.close()
                if redactor and item.stored:
                    kept.append(item.path)
            item.check = checks.get(staged.path, "")
            if redactor:
                item.source, item.reason = redactor.text(item.source), redactor.text(item.reason)
                item.check = redactor.text(item.check)
            manifest.items.append(item)
        manifest.interrupted = manifest.interrupted or writer.interrupted
        if redactor:
            manifest.redaction = Redaction(True, dict(redactor.counts), REDACT_NOTE, kept)
        manifest.ticket = ticket.state(manifest, desk)
        md = ticket.markdown(manifest, desk)
        manifest.items.append(
            writer.add_bytes(_generated("ticket.md", "ticket", "tsdtool ticket"), md.encode("utf-8"))
        )
        html = (report_html.render(manifest, writer.read, desk) if redactor
                else report_html.render(manifest, _staged_reader(staging.root), desk, scanned))
        manifest.items.append(
            writer.add_bytes(_generated("report.html", "report", "tsdtool report"), html.encode("utf-8"))
        )
        bundle = writer.finish(manifest)
    attachment = ticket.attachment_for(bundle, desk)
    to = form.desk_address(desk.id, options.config_dir) or desk.to
    stem = bundle.name.removesuffix(".zip")
    try:
        md_path = write_new(
            out_dir / f"{stem}.ticket.md", ticket.markdown(manifest, desk, attachment, to).encode("utf-8")
        )
        eml_path = ticket.write_message(out_dir / f"{stem}.ticket.eml", manifest, desk, bundle, to=to,
                                        attachment=attachment)
    except errors.OutputError as exc:  # the bundle is whole: say where, and keep no second copy
        raise BundleDone(f"{exc}; the bundle is complete: {bundle}", fix=exc.fix) from exc
    notes = []
    if not attachment.attached:
        parts = ticket.required_parts(manifest, desk)
        missed = [k for k in desk.attach_required if manifest.of_kind(k) and not any(i.kind == k for i in parts)]
        notes.append(f"the bundle is {attachment.size / 1048576:.1f} MB, over {desk.name}'s "
                     f"{desk.max_attachment_mb:g} MB limit: the rest goes by link: upload {bundle.name} "
                     "and send the ticket with --link URL")
        if parts:
            notes.append("attached on their own: " + ", ".join(i.path for i in parts))
        if missed:
            notes.append("too big for the mail as well: " + ", ".join(missed))
        if manifest.ticket is not None and not manifest.form.get("bundle_link"):
            # Not ready until the link exists: send refuses an oversize bundle without one.
            manifest.ticket.missing.append("bundle_link")
            manifest.ticket.ready = False
    return CollectResult(bundle, manifest, desk, md_path, eml_path, attachment, notes, to)


def _redacted_name(names: UniqueNames, redactor: Any, path: str) -> str:
    """An item's path in a redacted bundle: identifiers replaced, still unique (two spellings
    of one e-mail give one token), a failed item's ``.part`` kept."""
    name = redactor.name(path)
    part = ".part" if name.endswith(".part") else ""
    return names.claim(name.removesuffix(part)) + part


def _staged_reader(root: Path) -> Callable[..., bytes | None]:
    """The report's reader when nothing was rewritten: an item packed from staging is its staged
    file byte for byte, read plainly (the zip's copy of a log would be inflated from its first
    byte to reach its end)."""
    from tsdtool.paths import contained

    def read(path: str, *, tail: int | None = None) -> bytes | None:
        try:
            with open(contained(root, path), "rb") as fh:
                if tail is not None:
                    fh.seek(max(0, fh.seek(0, 2) - tail))
                return fh.read()
        except (OSError, ValueError):
            return None

    return read


def _head(root: Path, path: str) -> bytes:
    """The first bytes of a staged item: enough to tell text from binary."""
    from tsdtool.bundle.redact import HEAD
    from tsdtool.paths import contained

    try:
        with open(contained(root, path), "rb") as fh:
            return fh.read(HEAD)
    except OSError:
        return b""


def _generated(path: str, kind: str, source: str) -> BundleItem:
    return BundleItem(path, kind, source)


def _serials(device: dict[str, Any]) -> list[str]:
    # the adb serial and the hardware one differ over TCP and on emulators
    found = [str(device.get("serial") or ""), str(device.get("hardware_serial") or "")]
    found += [str(v) for k, v in (device.get("vendor_facts") or {}).items() if "serial" in k and v]
    return [s for s in found if s]


def collect_all(adb: Any, options: CollectOptions, *, jobs: int, live: bool = False) -> list:
    """``collect --all``: one bundle per terminal in `device` state, ``jobs`` at a time, each
    in its own process (see :func:`tsdtool.fleet.run_each_process`).

    Never prompts (answers come from --field, --form and the saved contact); terminals in
    other states are listed with their fix. Returns :class:`~tsdtool.fleet.FleetResult` rows
    whose value is each run's ``to_dict()``.
    """
    from tsdtool import fleet
    from tsdtool.progress import FleetView

    plan_mod.build(options)  # a usage mistake is one error before any terminal, not one per row
    return fleet.run_each_process(adb, _collect_job, (options,), jobs, FleetView(live))


def _collect_job(host: str, port: int, timeout: float, serial: str, progress: Progress,
                 options: CollectOptions) -> tuple[int, dict[str, Any]]:
    """One terminal of ``collect --all``, in a worker process with its own server connection."""
    from tsdtool.transport.adb import Adb

    adb = Adb(host, port, timeout=timeout, start_server=False)
    result = collect(adb, serial, options, progress=progress)
    return result.exit_code, result.to_dict()


# Imported where the workers are forked from (the parent on Linux, else a fork server) and
# nowhere else: it parses the shipped profiles once for every worker.
_collect_job.prepare = ("tsdtool.bundle.forkserver",)  # type: ignore[attr-defined]

# What a collect imports on its way (tsdtool.fleet: imported once where the workers are forked
# from, and every worker has them; each worker imported them itself, ~0.2 CPU-s per terminal).
_collect_job.preload = (  # type: ignore[attr-defined]
    "sqlite3", "tarfile", "uuid", "html", "hmac", "platformdirs", "secrets", "concurrent.futures", "isal.isal_zlib",
    "tsdtool.bundle.ticket", "email.generator", "pybase64",  # the .eml (pybase64: ~2 ms a worker)
    "tsdtool.apps.gzpull", "tsdtool.collectors.sinks", "tsdtool.pc.items",
    "tsdtool.apps.access", "tsdtool.apps.dbcheck", "tsdtool.apps.facts", "tsdtool.apps.fetch",
    "tsdtool.apps.profiles", "tsdtool.apps.tarstream",
    "tsdtool.bundle.host", "tsdtool.bundle.redact", "tsdtool.bundle.report_html", "tsdtool.bundle.report_repro",
    "tsdtool.bundle.writer",
    "tsdtool.collectors.app_facts", "tsdtool.collectors.database", "tsdtool.collectors.device_facts",
    "tsdtool.collectors.logs", "tsdtool.collectors.packages", "tsdtool.collectors.screenshot",
    "tsdtool.devices.facts", "tsdtool.devices.managed", "tsdtool.devices.profiles",
    "tsdtool.parsers.df", "tsdtool.parsers.dumpsys_activity", "tsdtool.parsers.dumpsys_battery",
    "tsdtool.parsers.dumpsys_device_policy", "tsdtool.parsers.dumpsys_package", "tsdtool.parsers.getprop",
    "tsdtool.parsers.logcat", "tsdtool.parsers.pm_list", "tsdtool.parsers.png", "tsdtool.parsers.uptime",
)
