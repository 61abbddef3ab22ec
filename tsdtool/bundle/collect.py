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

import shutil
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tsdtool import errors
from tsdtool.bundle import desks, form, ticket
from tsdtool.bundle.desks import Desk
from tsdtool.bundle.manifest import (
    COMPLETE,
    FAILED,
    SKIPPED,
    BundleItem,
    Manifest,
    Redaction,
    iso_utc,
    stamp_utc,
    utc_now,
)
from tsdtool.collectors.base import Collector, Context, run_all
from tsdtool.errors import ExitCode
from tsdtool.outdir import OutputDir
from tsdtool.paths import safe_component
from tsdtool.progress import NullProgress, Progress

REDACT_NOTE = "Text items and the manifest were rewritten; the database and the screenshot were not."


@dataclass
class CollectOptions:
    """Everything ``tsdtool collect`` can be told. Paths are local; nothing here is device data."""

    out_dir: Path = Path("tsd-output")
    app: str | None = None  # an app profile id (its package globs pick the packages)
    package: str | None = None  # one package, instead of --app
    desk: str | None = None  # desk profile id; None → generic
    fields: Sequence[str] = ()  # KEY=VALUE
    form_file: Path | None = None
    attach: Sequence[Path] = ()
    since: str | None = None  # logcat window, e.g. "2h" (see collectors.logs.parse_since)
    buffers: Sequence[str] = ()  # logcat -b names; () → logcat's default (main, system, crash)
    redact: bool = False
    include_db: bool = True
    profile_dirs: Sequence[Path] = ()
    config_dir: Path | None = None  # contact.toml / config.toml; None → the user's config dir
    use_user_profiles: bool = True
    repro: dict[str, Any] | None = None  # set by `repro stop`: the window and the marker write
    vendor_logs: bool = False  # send the profile's logger export broadcast (a device-side action)
    backup_wait: float | None = None  # try `adb backup` for a private folder nobody reached (needs a tap)
    pc_root: Path | None = None  # a copied Windows drive for the PC items; None: this PC, only on Windows


@dataclass
class CollectResult:
    bundle: Path
    manifest: Manifest
    desk: Desk
    ticket_md: Path
    ticket_eml: Path
    attachment: ticket.Attachment
    notes: list[str] = field(default_factory=list)  # one line each, for the person

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


# ask(key, label, hint, multiline) → answer: prompts a person; None when nobody can answer.
Ask = form.Ask


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
        options: see :class:`CollectOptions`.
        progress: where progress goes (a silent one by default).
        ask: prompts for a missing human field; None with --no-input or without a TTY.
        now: the bundle's timestamp (tests pin it).

    Raises:
        UsageError: bad desk, form, field or attachment (before the terminal is touched).
        DeviceUnavailable, ServerUnreachable: nothing could start.
        OutputError: the bundle itself could not be written.
    """
    if options.app and options.package:
        raise errors.UsageError("--app and --package exclude each other", fix="give one of them")
    from tsdtool.collectors.database import check_package
    from tsdtool.collectors.logs import check_since

    if options.package is not None:
        check_package(options.package)
    check_since(options.since)
    desk = desks.get(options.desk, options.profile_dirs, include_user_dir=options.use_user_profiles)
    contact = form.saved_contact(options.config_dir)
    human = form.gather(options.fields, options.form_file, contact)
    notes = [
        f"field {k!r} is not one tsdtool knows: kept and shown as given" for k in form.unknown_keys(human)
    ]
    attach = _check_attachments(options.attach)
    _check_output(Path(options.out_dir))
    packages = _PackageChoice(options)  # checks --app before the terminal is touched
    pc_root = _pc_root(options)  # checks --pc-root before the terminal is touched
    device = adb.select(serial)
    started = now or utc_now()
    out_dir = Path(options.out_dir)
    staging = OutputDir(out_dir / f".tsd-staging-{stamp_utc(started)}-{safe_component(device.serial)}")
    ctx = Context(
        device, staging, progress or NullProgress(),
        options={"profile_dirs": list(options.profile_dirs), "backup_wait": options.backup_wait,
                 "pc_root": pc_root, "since": options.since},
    )
    try:
        kinds = _run(adb, ctx, options, packages, attach)
    except KeyboardInterrupt:  # between two collectors: the guard did not see it
        ctx.interrupted, kinds = True, {}
    host = _host(adb)
    if ask is not None and not ctx.interrupted:
        filled = ticket.values(
            Manifest(
                "",
                "",
                host=host,
                device=ctx.facts.get("device", {}),
                apps=ctx.facts.get("apps", []),
                form=human,
            )
        )
        try:
            human = form.prompt_missing(
                [k for k in desk.all_keys() if not filled.get(k)], human, ask, desk.label
            )
        except (KeyboardInterrupt, EOFError):
            notes.append("questions skipped: the ticket lists what is still missing")
    databases, checks = database_summary(ctx.facts.get("databases", {}))
    checks.update(ctx.facts.get("checks", {}))
    manifest = Manifest(
        tool_version=host["tool_version"],
        created_at=iso_utc(started),
        host=host,
        device=ctx.facts.get("device") or _fallback_device(device),
        form=human,
        profiles={
            "device": ctx.facts.get("device", {}).get("profile"),
            "app": packages.profile_id,
            "desk": desk.id,
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
            "attach": [safe_component(Path(p).resolve().name) for p in attach],
            "vendor_logs": options.vendor_logs,
            "backup": options.backup_wait is not None,
            "pc_root": options.pc_root is not None,
        }
        | ({"repro": options.repro} if options.repro else {})
        | ({"vendor_broadcasts": ctx.facts.get("vendor_logs", [])} if options.vendor_logs else {}),
    )
    try:
        with _finish_first(notes):
            result = _pack(manifest, staging, checks, kinds, desk, options, started, out_dir)
    except errors.TsdError as exc:
        exc.fix = f"{exc.fix}; what was collected is kept in {staging.root}".lstrip("; ")
        raise
    shutil.rmtree(staging.root, ignore_errors=True)
    result.notes = notes + result.notes
    return result


# -- inputs --------------------------------------------------------------------------------------


def _check_output(out_dir: Path) -> None:
    """-o must be (or become) a writable folder; checked without creating anything yet."""
    from tsdtool.paths import check_folder

    check_folder(out_dir, "-o")


def _check_attachments(paths: Sequence[Path]) -> list[Path]:
    found = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise errors.UsageError(f"--attach {path}: no such file or folder")
        found.append(path)
    return found


class _PackageChoice:
    """Which packages to collect: ``--package``, the installed ones an ``--app`` profile's globs
    match, or — with neither — the installed packages some app profile claims."""

    def __init__(self, options: CollectOptions):
        from tsdtool.apps import profiles as app_profiles

        self.explicit = options.package
        self.profile_set = app_profiles.load_app_profiles(
            options.profile_dirs, include_user_dir=options.use_user_profiles
        )
        self.profile = None
        self.profile_id: str | None = None
        if options.app:
            self.profile = self.profile_set.profiles.get(options.app)
            if self.profile is None or self.profile.fallback:
                known = ", ".join(sorted(p for p, v in self.profile_set.profiles.items() if not v.fallback))
                raise errors.UsageError(
                    f"no app profile {options.app!r} (known: {known or 'none'})",
                    fix="use --package PKG for an app without a profile",
                )
            self.profile_id = self.profile.id
        elif self.explicit:
            found = app_profiles.match(self.profile_set, self.explicit).profile
            self.profile_id = None if found.fallback else found.id

    def choose(self, installed: list[str]) -> dict[str, str | None]:
        """package → app profile name, from the installed package names."""
        from tsdtool.apps import profiles as app_profiles

        if self.explicit:
            found = app_profiles.match(self.profile_set, self.explicit).profile
            return {self.explicit: None if found.fallback else found.name}
        if self.profile is not None:
            candidates = [p for p in installed if any(_glob(p, g) for g in self.profile.packages)]
            return {p: self.profile.name for p in candidates}
        chosen = {}
        for name in installed:
            found = app_profiles.match(self.profile_set, name).profile
            if not found.fallback:
                chosen[name] = found.name
        if len({n for n in chosen.values()}) == 1:
            self.profile_id = next(
                p.id for p in self.profile_set.profiles.values() if p.name in chosen.values()
            )
        return chosen


def _glob(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)


# -- collection ----------------------------------------------------------------------------------


class _Skip(Collector):
    """A placeholder item: something deliberately not collected, and why."""

    def __init__(self, path: str, kind: str, reason: str, status: str = SKIPPED):
        self.name, self.kind, self.reason, self.status = path, kind, reason, status

    def collect(self, ctx: Context) -> None:
        ctx.out.skip(self.name, self.name, self.reason, kind=self.kind, status=self.status)


def _app_collectors(packages: list[str], options: CollectOptions) -> list[Collector]:
    from tsdtool.collectors.app_facts import AppFactsCollector
    from tsdtool.collectors.database import DatabaseCollector
    from tsdtool.collectors.logs import AppFilesCollector

    if not packages:
        why = "no app chosen (--app or --package) and no installed app has a profile"
        return [_Skip("databases", "database", why), _Skip("app_files", "app_log", why)]
    chosen: list[Collector] = []
    for package in packages:
        if options.include_db:
            chosen.append(DatabaseCollector(package))
        else:
            chosen.append(_Skip(f"databases/{package}", "database", "left out with --no-db"))
        chosen.append(AppFilesCollector(package))
        chosen.append(AppFactsCollector(package))
    return chosen


def _run(
    adb: Any, ctx: Context, options: CollectOptions, packages: _PackageChoice, attach: list[Path]
) -> dict[int, str]:
    """Run every collector; returns item index → kind for items the guard recorded without one."""
    from tsdtool.collectors.attachments import AttachCollector
    from tsdtool.collectors.device_facts import DeviceFactsCollector
    from tsdtool.collectors.logs import CrashCollector, LogcatCollector
    from tsdtool.collectors.packages import AppVersionsCollector
    from tsdtool.collectors.screenshot import ScreenshotCollector

    kinds: dict[int, str] = {}
    apps = AppVersionsCollector(choose=packages.choose)
    # The screen first: it shows the error now. Logs early: they rotate.
    first: list[Collector] = [
        ScreenshotCollector(),
        DeviceFactsCollector(),
        apps,
        LogcatCollector(options.since, list(options.buffers) or None),
        CrashCollector(),
    ]
    if options.vendor_logs:  # a device-side action (a broadcast): only when asked
        from tsdtool.collectors.vendor_logs import VendorLogsCollector

        first.append(VendorLogsCollector())
    gone = False
    for phase in (0, 1):
        if phase == 0:
            batch = first
        else:
            chosen = ctx.facts.get("packages")
            if chosen is None:  # the package list never arrived
                chosen = [options.package] if options.package else []
            batch = _app_collectors(list(chosen), options)
        for collector in batch:
            before = len(ctx.out.items)
            if gone or ctx.interrupted:
                why = (
                    "interrupted before this item"
                    if ctx.interrupted
                    else "the terminal went away before this item"
                )
                ctx.out.skip(collector.name, collector.name, why, kind=_kind(collector), status=FAILED)
            else:
                try:
                    run_all([collector], ctx)
                except KeyboardInterrupt:
                    ctx.interrupted = True
                gone = gone or (_failed_since(ctx, before) and not _present(adb, ctx.device.serial))
            for index in range(before, len(ctx.out.items)):
                if not ctx.out.items[index].kind:
                    kinds[index] = _kind(collector)
    if ctx.options.get("pc_root") is not None and not (gone or ctx.interrupted):
        from tsdtool.pc.run import collectors as pc_collectors

        run_all(pc_collectors(), ctx)  # the PC side: no terminal needed, each item records itself
    if attach:
        collector = AttachCollector(attach, exclude=[ctx.out.root.parent])
        before = len(ctx.out.items)
        if ctx.interrupted:
            ctx.out.skip(
                "attachments", "attach", "interrupted before this item", kind="attachment", status=FAILED
            )
        else:
            run_all([collector], ctx)
        kinds.update({i: "attachment" for i in range(before, len(ctx.out.items))})
    return kinds


def _pc_root(options: CollectOptions) -> Any:
    """The PC root for the PC items: ``--pc-root``, else this PC when it is Windows, else none."""
    import sys

    if options.pc_root is None and sys.platform != "win32":
        return None
    from tsdtool.pc.run import root_for

    return root_for(options.pc_root)


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
            refused = [f"{a['way']}: {a['reason']}" for a in pull.get("attempts", []) if not a.get("ok")]
            reached = any(a.get("ok") for a in pull.get("attempts", []))
            why = (
                "no database in the app's folders"
                if reached
                else "not reached — " + ("; ".join(refused) or "no way in")
            )
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
                }
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
        return safe_component(text).replace("-", "_")[:40]

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
) -> CollectResult:
    from tsdtool.bundle import redact as redact_mod
    from tsdtool.bundle import report_html
    from tsdtool.bundle.writer import BundleWriter
    from tsdtool.paths import write_new

    redactor = None
    serial = str(manifest.device.get("serial") or "")
    if options.redact:
        redactor = redact_mod.Redactor(_serials(manifest.device))
        manifest.device = redactor.value(manifest.device)
        manifest.apps = redactor.value(manifest.apps)
        serial = redactor.text(serial)
    dest = _unique(out_dir / bundle_name(manifest.device, started, serial))
    with BundleWriter(dest, started) as writer:
        for index, staged in enumerate(staging.items):
            staged.kind = staged.kind or kinds.get(index, "other")
            if writer.interrupted:
                item = BundleItem(
                    staged.path, staged.kind, staged.source, FAILED, "interrupted (Ctrl-C) while packing"
                )
            elif redactor and redact_mod.is_text(staged.path):
                before = sum(redactor.counts.values())
                item = writer.add_staged(staging.root, staged, redactor.stream)
                item.redacted = sum(redactor.counts.values()) - before
            else:
                item = writer.add_staged(staging.root, staged)
            item.check = checks.get(staged.path, "")
            if redactor:
                item.source, item.reason = redactor.text(item.source), redactor.text(item.reason)
            manifest.items.append(item)
        manifest.interrupted = manifest.interrupted or writer.interrupted
        if redactor:
            manifest.redaction = Redaction(True, dict(redactor.counts), REDACT_NOTE)
        manifest.ticket = ticket.state(manifest, desk)
        md = ticket.markdown(manifest, desk)
        manifest.items.append(
            writer.add_bytes(_generated("ticket.md", "ticket", "tsdtool ticket"), md.encode("utf-8"))
        )
        html = report_html.render(manifest, writer.read, desk)
        manifest.items.append(
            writer.add_bytes(_generated("report.html", "report", "tsdtool report"), html.encode("utf-8"))
        )
        bundle = writer.finish(manifest)
    attachment = ticket.attachment_for(bundle, desk)
    to = form.desk_address(desk.id, options.config_dir) or desk.to
    stem = bundle.name.removesuffix(".zip")
    md_path = write_new(
        out_dir / f"{stem}.ticket.md", ticket.markdown(manifest, desk, attachment, to).encode("utf-8")
    )
    eml = ticket.message(manifest, desk, bundle, to=to)
    eml_path = write_new(out_dir / f"{stem}.ticket.eml", bytes(eml))
    notes = []
    if not attachment.attached:
        notes.append(
            f"the bundle is {attachment.size / 1048576:.1f} MB, over {desk.name}'s "
            f"{desk.max_attachment_mb:g} MB limit: upload it and send the ticket with --link URL"
        )
    return CollectResult(bundle, manifest, desk, md_path, eml_path, attachment, notes)


def _generated(path: str, kind: str, source: str) -> BundleItem:
    return BundleItem(path, kind, source)


def _serials(device: dict[str, Any]) -> list[str]:
    found = [str(device.get("serial") or "")]
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

    with FleetView(live) as view:
        return fleet.run_each_process(adb, _collect_job, (options,), jobs, view)


def _collect_job(host: str, port: int, timeout: float, serial: str, progress: Progress,
                 options: CollectOptions) -> tuple[int, dict[str, Any]]:
    """One terminal of ``collect --all``, in a worker process with its own server connection."""
    from tsdtool.transport.adb import Adb

    adb = Adb(host, port, timeout=timeout, start_server=False)
    result = collect(adb, serial, options, progress=progress)
    return result.exit_code, result.to_dict()
