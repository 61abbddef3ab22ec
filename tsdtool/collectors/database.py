"""Every SQLite database of one app, copied as a consistent set and checked on the local copy.

A database is any regular file in the app profile's folders whose first 16 bytes are
``SQLite format 3\\0`` (read with ``head -c 16`` through the way in use), whatever its name.
Its ``-wal``, ``-shm`` and ``-journal`` sidecars travel with it: a WAL database's newest
transactions live only in the ``-wal`` until the app checkpoints. The ways into the app's
files are tried in order (:mod:`tsdtool.apps.access`) and every attempt is recorded.
Then each local copy is opened with sqlite3 (:mod:`tsdtool.apps.dbcheck`). Nothing is
ever written on the terminal.

Local layout, below ``prefix``: ``internal/<path below /data/data/PKG>``,
``external/<path below /sdcard/Android/data/PKG>``, ``shared/<absolute path>``, and
``databases.json`` (what :meth:`DatabasePull.to_dict` returns).

``ctx.facts`` keys written by :class:`DatabaseCollector`:

* ``databases[PACKAGE]`` — :meth:`DatabasePull.to_dict`: ``package``, ``profile`` (id, name,
  glob, ties), ``attempts`` (list of ``{way, ok, reason}``), ``databases`` (one per database:
  ``device_path``, ``way``, ``files`` {role → local path; roles db, -wal, -shm, -journal},
  ``missing`` {role → reason}, ``complete``, ``copied`` how, ``check`` =
  :meth:`DatabaseCheck.to_dict` or None).
* ``app_access[PACKAGE]`` — the attempts again, so later collectors of the same app never
  retry a way that was refused (:class:`~tsdtool.collectors.logs.AppFilesCollector`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsdtool import errors
from tsdtool.apps import access, gzpull, listing
from tsdtool.apps import profiles as app_profiles
from tsdtool.apps.access import Attempt, Found, Way
from tsdtool.apps.fetch import fetch
from tsdtool.collectors.base import AppCollector, Context
from tsdtool.outdir import FAILED, OutputDir, reason_of
from tsdtool.paths import safe_component, safe_relpath
from tsdtool.progress import NullProgress, Progress
from tsdtool.transport.adb import Device
from tsdtool.transport.wire import check_package  # noqa: F401 - here first; quick.py checks without this module

if TYPE_CHECKING:  # imported where used: not needed before pull-db's first requests (json, concurrent.futures
    # with logging, the check's tempfile), or only on the tar and backup paths (tarfile)
    from concurrent.futures import Future, ThreadPoolExecutor

KIND = "database"
PRIVATE_WAYS = ("run-as", "su", "backup")
# Android package names: dot-separated Java identifiers (PackageParser.validateName).


@dataclass(frozen=True)
class DatabaseSet:
    """One database and the sidecars found next to it, as one way reaches them."""

    db: Found
    sidecars: dict[str, Found] = field(default_factory=dict)  # "-wal" → Found

    @property
    def files(self) -> list[Found]:
        return [self.db, *self.sidecars.values()]


@dataclass(frozen=True)
class DatabasePull:
    package: str
    profile: app_profiles.AppMatch
    attempts: tuple[Attempt, ...]
    databases: tuple[dict[str, Any], ...]

    @property
    def complete(self) -> bool:
        return all(d["complete"] for d in self.databases)

    @property
    def not_readable(self) -> str:
        """'' when run-as, su or backup reached the private folder; else ``not readable: …`` with
        the ways out."""
        return unreadable([a.to_dict() for a in self.attempts])

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "profile": self.profile.to_dict(),
                "attempts": [a.to_dict() for a in self.attempts], "databases": list(self.databases),
                "not_readable": self.not_readable}


def unreadable(attempts: Sequence[dict[str, Any]]) -> str:
    """``not readable: run-as: package not debuggable; su: …. Ways out: …`` when no way into the
    private folder worked ("" when one did). ``attempts`` as in ``databases.json``."""
    if any(a.get("ok") and a.get("way") in PRIVATE_WAYS for a in attempts):
        return ""
    from tsdtool.texts import texts

    # The wording (and the ways out) is the catalogue's, so the report can show it in the desk's language.
    return texts("en")("checks.not_readable", why="; ".join(refused_ways(attempts)) or "no way into the app folder")


def refused_ways(attempts: Sequence[dict[str, Any]]) -> list[str]:
    """``way: reason`` for each refused way into the private folder (what the terminal said)."""
    return [f"{a['way']}: {a['reason']}" for a in attempts if not a.get("ok") and a.get("way") in PRIVATE_WAYS]


def find_databases(way: Way, files: Sequence[Found]) -> list[DatabaseSet]:
    """The files that start with the SQLite header, each with its listed sidecars."""
    # a size known from the listing may already say it is too short for the header
    sets = [s for s in _sets(files) if s.db.size is None or s.db.size >= len(access.SQLITE_MAGIC)]
    heads = way.heads([s.db.path for s in sets], len(access.SQLITE_MAGIC))  # one request for them all
    return [s for s in sets if heads[s.db.path] == access.SQLITE_MAGIC]


def local_name(prefix: str, way: Way, found: Found) -> str:
    """Where a device file goes in the output: the way's area, then its path below the root."""
    below = found.path if way.area == "shared" else found.rel
    return f"{prefix}{way.area}/{safe_relpath(below)}"


def ensure_installed(device: Device, package: str) -> None:
    result = device.shell(["pm", "path", package])
    if not result.ok or not result.stdout.strip():
        raise errors.RemoteFileError(f"{package} is not installed on {device.serial}",
                                     fix="check the name with `adb shell pm list packages`")


def pull_databases(
    device: Device, package: str, out: OutputDir, *, root: bool = False, progress: Progress | None = None,
    profile_dirs: Sequence[Path] = (), prefix: str = "", known: Sequence[Attempt] = (),
    backup_wait: float | None = None, later: list[Callable[[], Any]] | None = None,
    match: app_profiles.AppMatch | None = None, reach: access.Reach | None = None,
    listings: access.Listings | None = None,
) -> DatabasePull:
    """Pull and check every database of ``package`` into ``out`` (see the module docstring).

    Each database is checked on a worker thread as soon as its files have arrived, while the
    next ones stream in (sqlite3 releases the GIL while it works).

    Args:
        device: the terminal.
        package: the app's package name (validated: UsageError otherwise).
        out: the output folder; files go below ``prefix`` ("" or "apps/com.x/").
        root: also try ``su`` when run-as cannot reach the private folder.
        progress: bytes/rate/ETA display (silent by default).
        profile_dirs: extra app profile folders (``--profiles-dir``).
        known: attempts already made for this app by another collector.
        backup_wait: try ``adb backup`` of the package when run-as and su did not reach the
            private folder, waiting this long for the person's tap (None: not tried, and the
            attempt says how to ask for it).
        later: when given, the checks may still be running on return: a callable appended
            here waits for them and writes ``databases.json`` (the records' ``check`` and
            ``complete`` are filled in then); the caller runs it once the rest has arrived.
        match: the app profile, when the caller has looked it up already.
        reach: the ways in, when the caller has begun asking already (:meth:`~access.Reach.begin`).
        listings: the ways' listings, shared with another collector of the app running beside.
    """
    from concurrent.futures import ThreadPoolExecutor

    check_package(package)
    progress = progress or NullProgress()
    match = match or app_profiles.for_package(package, profile_dirs)
    databases: list[dict[str, Any]] = []
    checks = ThreadPoolExecutor(1, thread_name_prefix="tsdtool-dbcheck")
    reach = reach or access.Reach(device, package, match.profile, root=root, known=known, listings=listings)
    try:
        for way, files in reach:
            probed = gzpull.probe_beside(way, files)  # gzip and the sizes, asked while the headers are read
            sets = find_databases(way, files)
            wanted = [f for s in sets for f in s.files]
            early: dict[str, Future] = {}  # db path → its check on the copies as they arrived
            got = fetch(way, wanted, out, local=lambda f, w=way: local_name(prefix, w, f), kind=KIND,
                        progress=progress, compress=True, probed=probed if wanted else None,
                        arrived=_check_on_arrival(sets, checks, out, early),
                        begun=lambda: _begun(device, reach))
            for s in sets:
                databases.append(_record(way, s, got.items, out, got.how, got.problem, got.raw, checks,
                                         early.get(s.db.path)))
        if not any(a.ok and a.way in PRIVATE_WAYS for a in reach.attempts):
            attempt, found = _through_backup(device, package, out, prefix, match.profile, backup_wait, progress,
                                             checks)
            reach.attempts.append(attempt)
            databases += found
    except (errors.DeviceUnavailable, errors.TransferError, errors.DeviceTimeout) as exc:
        if not databases:
            raise  # nothing copied yet: the one-line error says it all
        # The terminal went away after a database arrived: keep it, and record why the rest did not.
        reach.attempts.append(Attempt("connection", False, f"stopped: {reason_of(exc)}"))
        out.skip(f"{prefix}connection", f"pull-db {package}", reason_of(exc), kind=KIND, status=FAILED)
    finally:
        progress.finish()
    pull = DatabasePull(package, match, tuple(reach.attempts), tuple(databases))
    if not databases and pull.not_readable:
        # The private folder, where apps keep their databases, was never read: that is a
        # failure with its reason, not "no database".
        out.skip(f"{prefix}databases", f"pull-db {package}", pull.not_readable, kind=KIND, status=FAILED)

    def finish() -> DatabasePull:
        import json
        from concurrent.futures import Future

        checks.shutdown(wait=True)
        for record in databases:
            if isinstance(record["check"], Future):
                record["check"] = record["check"].result().to_dict()
            # Without its -wal a WAL database opens fine but silently lacks its newest transactions.
            record["complete"] = not record["missing"] and record["check"] is not None and record["check"]["ok"]
        # Device names may hold bytes that are not UTF-8 (kept as surrogates): escape them.
        summary = json.dumps(pull.to_dict(), indent=2, ensure_ascii=False).encode("utf-8", "backslashreplace")
        out.write_bytes(f"{prefix}databases.json", summary, source=f"pull-db {package}", kind=KIND)
        return pull

    if later is None:
        return finish()
    later.append(finish)
    return pull


def _begun(device: Device, reach: access.Reach) -> None:
    """Every range has begun: the next ways' folders are listed beside them, and the ranges asked
    before the heavy imports that this plan did not take are closed (apps/early.py)."""
    reach.list_ahead()
    device.drop_early()


def _check_on_arrival(sets: list[DatabaseSet], checks: ThreadPoolExecutor, out: OutputDir,
                      early: dict[str, Future]) -> Callable[[dict[str, str]], Callable[[], None]]:
    """gzpull's ``arrived``: each set all of whose files came whole is checked on their ``.part``
    copies (the same bytes) while their SHA-256 is taken, not after: pull-db's check (~0.09 s on
    the bench's database) and hash (~0.04 s) overlap (the next ways' folders are listed since the
    ranges began: gzpull's ``begun``). In collect too (``later``): its app lane's next items wait for the check then,
    but they are small, and the bundle waited for the check after them (~0.09 s) before."""

    from concurrent.futures import wait

    from tsdtool.apps import dbcheck

    def arrived(paths: dict[str, str]) -> Callable[[], None]:
        for s in sets:
            if all(f.path in paths for f in s.files):
                side = {suffix: Path(paths[f.path]) for suffix, f in s.sidecars.items()}
                early[s.db.path] = checks.submit(dbcheck.check, Path(paths[s.db.path]), side.get("-wal"),
                                                 side.get("-journal"), scratch_root=out.root)
        pending = list(early.values())

        def settled() -> None:
            wait(pending)

        return settled

    return arrived


def _record(
    way: Way, dbset: DatabaseSet, items: dict, out: OutputDir, how: str, problem: str, raw: str,
    checks: ThreadPoolExecutor, early: Future | None = None,
) -> dict[str, Any]:
    """The record of one database set; its ``check`` is a Future until ``finish`` fills it in
    (``early``: the check already made on the files as they arrived)."""
    roles = {"db": dbset.db, **dbset.sidecars}
    files = {role: items[f.path].path for role, f in roles.items() if f.path in items}
    missing = {role: _failure(out, f.path) for role, f in roles.items() if f.path not in items}
    check = early
    if "db" in files and check is None:
        from tsdtool.apps import dbcheck

        path = lambda role: out.root / files[role] if role in files else None  # noqa: E731
        check = checks.submit(dbcheck.check, path("db"), path("-wal"), path("-journal"), scratch_root=out.root)
    return {"device_path": dbset.db.path, "way": way.name, "files": files, "missing": missing,
            "complete": False, "copied": how, "problem": problem, "check": check} | ({"raw": raw} if raw else {})


def _through_backup(
    device: Device, package: str, out: OutputDir, prefix: str, profile: app_profiles.AppProfile,
    wait: float | None, progress: Progress, checks: ThreadPoolExecutor,
) -> tuple[Attempt, list[dict[str, Any]]]:
    """The ``backup`` rung: ``adb backup`` of the one package, unpacked as ``internal/…``."""
    from tsdtool.apps import backup, tarstream
    from tsdtool.parsers import dumpsys_package

    if wait is None:
        return Attempt("backup", False, "not tried: pass --backup to try adb backup (it needs a tap on the "
                       "terminal; Android ≤ 11, or a debuggable app)"), []
    info = dumpsys_package.parse(device.shell(["dumpsys", "package", package]).stdout, package)
    sdk = int(device.getprop("ro.build.version.sdk") or 0)
    why = backup.allowed(sdk, info.flags if info else None, info.target_sdk if info else None,
                         bool(info and info.debuggable))
    if why:
        return Attempt("backup", False, f"not tried: {why}"), []
    progress.start(f"adb backup {package}: unlock the terminal and tap «Back up my data» "
                   f"(waiting up to {wait:g} s)")
    try:
        _, items = tarstream.pump(
            lambda sink: device.stream_backup(package, sink, progress.advance, wait=wait),
            lambda stream: backup.unpack(stream, package, out, prefix=prefix, folders=profile.internal, kind=KIND),
        )
    except backup.BackupError as exc:
        return Attempt("backup", False, exc.reason), []
    except errors.DeviceTimeout:
        return Attempt("backup", False, f"no answer from the terminal within {wait:g} s (not confirmed, "
                       "or the backup stalled)"), []
    way = _BackupWay()
    files = [Found(path, path[len(access.DATA_ROOT.format(package=package)) + 1:]) for path in items]
    sets = [s for s in _sets(files) if _local_head(out, items[s.db.path]) == access.SQLITE_MAGIC]
    records = [_record(way, s, items, out, "adb backup", "", "", checks) for s in sets]  # type: ignore[arg-type]
    return Attempt("backup", True, f"adb backup: {len(items)} files"), records


class _BackupWay:
    name = "backup"


def _sets(files: list[Found]) -> list[DatabaseSet]:
    by_path = {f.path: f for f in files}
    return [DatabaseSet(by_path[path], {s: by_path[p] for s, p in sidecars.items()})
            for path, sidecars in listing.groups([f.path for f in files])]


def _local_head(out: OutputDir, item) -> bytes:
    with open(out.root / item.path, "rb") as fh:
        return fh.read(len(access.SQLITE_MAGIC))


def _failure(out: OutputDir, source: str) -> str:
    return next((i.reason for i in reversed(out.items) if i.source == source and i.reason), "not copied")


def default_output(package: str) -> Path:
    from datetime import datetime

    return Path("tsd-output") / f"{safe_component(package)}-databases-{datetime.now():%Y%m%d-%H%M%S}"


def pull_db(
    device: Device, package: str, output: Path | None = None, *, root: bool = False,
    progress: Progress | None = None, profile_dirs: Sequence[Path] = (), backup_wait: float | None = None,
) -> tuple[DatabasePull, OutputDir]:
    """`tsdtool pull-db`: :func:`pull_databases` into a fresh output folder."""
    from tsdtool import threads

    installed = threads.beside(ensure_installed, device, check_package(package), name="tsdtool-installed")
    match = app_profiles.for_package(package, profile_dirs)  # read while `pm path` is asked
    reach = access.Reach(device, package, match.profile, root=root)
    reach.begin()  # run-as's find goes beside `pm path` too
    try:
        installed()  # before the folder exists: a typo leaves nothing behind
    except errors.TsdError:
        reach.settle()
        raise
    out = OutputDir(output or default_output(package))
    return pull_databases(device, package, out, root=root, progress=progress, profile_dirs=profile_dirs,
                          backup_wait=backup_wait, match=match, reach=reach), out


class DatabaseCollector(AppCollector):
    """Bundle item: the app's databases under ``apps/PACKAGE/`` (kind "database")."""

    name = "database"

    def collect(self, ctx: Context) -> None:
        known = [Attempt(**a) for a in self.known(ctx)]
        if not any(a.get("package") == self.package and a.get("installed") for a in ctx.facts.get("apps", [])):
            ensure_installed(ctx.device, self.package)  # `pm list packages` did not already show it
        pull = pull_databases(ctx.device, self.package, ctx.out, root=self.root(ctx), progress=ctx.progress,
                              profile_dirs=ctx.options.get("profile_dirs", ()), prefix=self.prefix, known=known,
                              backup_wait=ctx.options.get("backup_wait"), later=ctx.later,
                              listings=self.listings(ctx))
        self.remember(ctx, [a.to_dict() for a in pull.attempts])  # the next collector of the app needs them now

        def publish() -> None:  # once the checks are in (at once without ctx.later)
            ctx.facts.setdefault("databases", {})[self.package] = pull.to_dict()

        if ctx.later is None:
            publish()
        else:
            ctx.later.append(publish)
