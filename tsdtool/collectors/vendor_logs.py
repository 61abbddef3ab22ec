"""The archive of a vendor's on-device logger (``collect --vendor-logs``), as its profile declares it.

For each ``[[logger]]`` of the terminal's device profile (:mod:`tsdtool.devices.loggers`):

1. ``pm path PACKAGE``: is the logger installed? If not, a skipped item says so;
2. the export action for the terminal's API level; none declared: skipped, "not applicable";
3. the folder is listed, then ``am broadcast -a ACTION [-p PACKAGE]`` is sent: the one
   device-side action here, so it is off by default and every broadcast is recorded in
   ``ctx.facts["vendor_logs"]`` (logger, action, UTC time sent) for the manifest;
4. the folder is polled (sync LIST, then STAT until the size holds) for a new file matching
   the declared glob, until the declared deadline; each call is bounded by ``--timeout``;
5. the archive is streamed into ``vendor_logs/<logger>/<name>`` (hashed on the way), or a
   failed item says "no archive within N s".

A logger declared with ``copy_existing`` (no export: the vendor's documented one would change
the terminal) skips 2–4: the newest archive already in its folder is copied, no broadcast sent;
none there is a skipped item saying so.

Nothing here knows any vendor: names, actions and folders all come from the profile.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from typing import Any

from tsdtool.bundle.manifest import iso_utc, utc_now
from tsdtool.collectors.base import Collector, Context
from tsdtool.devices import facts, profiles
from tsdtool.devices.loggers import Logger
from tsdtool.outdir import FAILED
from tsdtool.transport.types import RemoteFile

KIND = "vendor_log"
POLL_SECONDS = 0.5


class VendorLogsCollector(Collector):
    """Items under ``vendor_logs/``: one per declared logger (its archive, or why not).

    Args:
        poll: seconds between two looks at the archive folder.
        clock, sleep: injectable for tests; ``time.monotonic`` and ``time.sleep`` by default.
    """

    name = "vendor_logs"
    kind = KIND

    def __init__(self, poll: float = POLL_SECONDS, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.poll, self.clock, self.sleep = poll, clock, sleep

    def collect(self, ctx: Context) -> None:
        records: list[dict[str, Any]] = ctx.facts.setdefault("vendor_logs", [])
        profile_set = profiles.load_device_profiles(ctx.options.get("profile_dirs", ()))
        props = facts.read_props(ctx.device)
        profile = profiles.match(profile_set, props).profile
        if not profile.loggers:
            ctx.out.skip(self.name, f"profile {profile.id}",
                         f"the {profile.id!r} device profile declares no on-device logger", kind=KIND)
            return
        sdk = int(props.get("ro.build.version.sdk") or 0)
        for logger in profile.loggers:
            record: dict[str, Any] = {"logger": logger.name, "package": logger.package}
            records.append(record)
            ctx.progress.start(f"vendor log: {logger.label}")
            self._one(ctx, logger, sdk, record)

    def _one(self, ctx: Context, logger: Logger, sdk: int, record: dict[str, Any]) -> None:
        where = f"vendor_logs/{logger.name}"
        found = ctx.device.shell(["pm", "path", logger.package])
        if not found.ok or not found.text().startswith("package:"):
            record["status"] = "not installed"
            ctx.out.skip(where, f"pm path {logger.package}",
                         f"{logger.label} is not installed ({logger.package})", kind=KIND)
            return
        if logger.copy_existing:
            self._copy_newest(ctx, logger, record, where)
            return
        action = logger.action_for("export", sdk)
        if action is None:
            spans = ", ".join(a.span() for a in logger.export)
            record["status"] = "not applicable"
            ctx.out.skip(where, logger.package, f"{logger.label}: no export declared for Android API {sdk} "
                         f"(declared for {spans})", kind=KIND)
            return
        before = {f.path: (f.mtime, f.size) for f in self._matches(ctx, logger)}
        args = ["am", "broadcast", "-a", action.action] + (["-p", logger.package] if action.explicit else [])
        record.update(action=action.action, sent_at=iso_utc(utc_now()), command=" ".join(args))
        sent = ctx.device.shell(args)
        if not sent.ok:
            record["status"] = "broadcast failed"
            ctx.out.skip(where, record["command"], f"am broadcast failed: {sent.error_text()}",
                         kind=KIND, status=FAILED)
            return
        archive = self._wait(ctx, logger, before)
        if archive is None:
            record["status"] = "no archive"
            why = (f"{logger.label}: no {logger.archive_glob} in {logger.archive_dir} "
                   f"within {logger.deadline_seconds:g} s")
            ctx.out.skip(where, record["command"], why, kind=KIND, status=FAILED)
            return
        record.update(status="ok", archive=archive.path)
        self._pull(ctx, archive, where)

    def _copy_newest(self, ctx: Context, logger: Logger, record: dict[str, Any], where: str) -> None:
        found = self._matches(ctx, logger)
        if not found:
            record["status"] = "no archive"
            ctx.out.skip(where, logger.archive_dir, f"{logger.label}: no {logger.archive_glob} in "
                         f"{logger.archive_dir} (nothing sent to the logger: its archives are only copied)", kind=KIND)
            return
        archive = max(found, key=lambda f: (f.mtime, f.path))
        record.update(status="ok", archive=archive.path, copied="existing")
        self._pull(ctx, archive, where)

    def _pull(self, ctx: Context, archive: RemoteFile, where: str) -> None:
        ctx.progress.start(f"vendor log: {archive.name}", archive.size)
        with ctx.out.open(f"{where}/{archive.name}", archive.path, kind=KIND) as sink:
            ctx.device.pull(archive.path, sink, ctx.progress.advance)

    def _matches(self, ctx: Context, logger: Logger) -> list[RemoteFile]:
        entries = ctx.device.listdir(logger.archive_dir)
        return [e for e in entries if e.is_file and fnmatch.fnmatchcase(e.name, logger.archive_glob)]

    def _wait(self, ctx: Context, logger: Logger, before: dict[str, tuple[int, int]]) -> RemoteFile | None:
        """The new (or rewritten) archive once its size holds between two looks; None at the deadline."""
        deadline = self.clock() + logger.deadline_seconds
        candidate: RemoteFile | None = None
        while True:
            if candidate is not None:
                now = ctx.device.stat(candidate.path)
                if now.exists and now.size == candidate.size and now.size > 0:
                    return now
                candidate = now if now.exists else None
            else:
                fresh = [f for f in self._matches(ctx, logger) if before.get(f.path) != (f.mtime, f.size)]
                candidate = max(fresh, key=lambda f: (f.mtime, f.path)) if fresh else None
            if self.clock() >= deadline:
                return None
            self.sleep(min(self.poll, max(0.0, deadline - self.clock())))

