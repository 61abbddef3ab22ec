"""The collector contract and the guard that keeps one failure from stopping the rest.

A collector fetches one kind of bundle item through the seam, parses it with
``tsdtool.parsers``, and writes it into the :class:`~tsdtool.outdir.OutputDir`. It never
decides exit codes and never prints: it records items (ok / failed / skipped + reason).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tsdtool import errors
from tsdtool.outdir import FAILED, Item, OutputDir, reason_of
from tsdtool.progress import NullProgress, Progress
from tsdtool.transport.adb import Device


@dataclass
class Context:
    """What every collector of one run shares."""

    device: Device
    out: OutputDir
    progress: Progress = field(default_factory=NullProgress)
    options: dict[str, Any] = field(default_factory=dict)  # package, since, root, buffers, …
    facts: dict[str, Any] = field(default_factory=dict)  # results later collectors may use
    interrupted: bool = False
    # When a list: host work a collector left to finish after the others (a database's
    # SQLite check, running on a worker meanwhile); the caller runs them in order, then
    # packs. None: every collector finishes its own work before it returns.
    later: list[Callable[[], Any]] | None = None


class Collector(ABC):
    """One bundle item (or a family of them: every database of an app)."""

    name: str = ""  # short id shown in progress and in the manifest's `collector` field

    @abstractmethod
    def collect(self, ctx: Context) -> None:
        """Write this collector's items into ``ctx.out``.

        Raise a :class:`~tsdtool.errors.TsdError` to record a failure the collector could
        not record itself; the guard in :func:`run_all` turns it into a failed item.
        """


class AppCollector(Collector):
    """A collector for one app. The ways its data was reached (run-as, external storage, su)
    are shared through ``ctx.facts["app_access"]``, so a refused way is never asked twice."""

    def __init__(self, package: str, *, root: bool | None = None):
        self.package = package
        self._root = root

    @property
    def prefix(self) -> str:
        from tsdtool.paths import safe_component

        return f"apps/{safe_component(self.package)}/"

    def root(self, ctx: Context) -> bool:
        return ctx.options.get("root", False) if self._root is None else self._root

    def known(self, ctx: Context) -> list[dict[str, Any]]:
        return ctx.facts.get("app_access", {}).get(self.package, [])

    def remember(self, ctx: Context, attempts: list[dict[str, Any]]) -> None:
        ctx.facts.setdefault("app_access", {})[self.package] = attempts

    def listings(self, ctx: Context) -> Any:
        """The app's :class:`~tsdtool.apps.access.Listings`, shared by its collectors in this run
        (collect runs the databases and the app's own files side by side)."""
        from tsdtool.apps.access import Listings

        with _LISTINGS_LOCK:
            return ctx.facts.setdefault("listings", {}).setdefault(self.package, Listings())


_LISTINGS_LOCK = threading.Lock()


def run_all(collectors: list[Collector], ctx: Context) -> list[Item]:
    """Run each collector in a guard; a failure is recorded and the next one runs.

    Ctrl-C stops the run: the remaining collectors are recorded as skipped, and the
    caller still writes what was collected (marked partial).
    """
    for collector in collectors:
        if ctx.interrupted:
            ctx.out.skip(collector.name, collector.name, "interrupted before this item", status=FAILED)
            continue
        before = len(ctx.out.items)
        try:
            collector.collect(ctx)
        except KeyboardInterrupt as exc:
            ctx.interrupted = True
            _record(ctx, collector, before, exc)
        except (errors.TsdError, OSError, ValueError) as exc:
            _record(ctx, collector, before, exc)
    return ctx.out.items


def run_later(ctx: Context) -> None:
    """Finish what collectors left in ``ctx.later``, in order, each in the same guard as
    :func:`run_all` (a failure is recorded as a failed item ``later``)."""
    jobs, ctx.later = ctx.later or [], None
    for job in jobs:
        before = len(ctx.out.items)
        try:
            job()
        except (errors.TsdError, OSError, ValueError) as exc:
            if not any(i.status == FAILED for i in ctx.out.items[before:]):
                ctx.out.skip("later", getattr(job, "__qualname__", "later"), reason_of(exc), status=FAILED)


def _record(ctx: Context, collector: Collector, before: int, exc: BaseException) -> None:
    # OutputDir.open already recorded a failure for a file it was writing; only add one
    # when the collector failed before it opened anything.
    if not any(i.status == FAILED for i in ctx.out.items[before:]):
        ctx.out.skip(collector.name, collector.name, reason_of(exc), status=FAILED)
