"""On-device loggers a vendor builds into its terminals, declared as ``[[logger]]`` in a device profile.

A declaration says how to find the logger, which broadcasts drive it and where its archive
appears; :mod:`tsdtool.collectors.vendor_logs` acts on it. Only what the vendor documents
publicly is declared, with the documentation cited in the profile's comments::

    [[logger]]
    name = "rxlogger"                      # snake_case, unique in the file
    label = "Zebra RxLogger"               # shown to people
    package = "com.symbol.rxlogger"        # present when `pm path` knows it
    archive_dir = "/sdcard/RxLogger"       # where the archive appears …
    archive_glob = "Backup-*.zip"          # … and what it is called (fnmatch)
    deadline_seconds = 60                  # how long the export may take

    [[logger.export]]                      # also [[logger.start]], [[logger.flush]]
    action = "com.symbol.rxlogger.intent.action.BACKUP_NOW"
    min_sdk = 21                           # optional: the Android API levels it applies to
    max_sdk = 34
    explicit = false                       # optional: add `-p PACKAGE` to the broadcast

For one step, the first declared action whose ``min_sdk``/``max_sdk`` contain the terminal's
API level is the one to send (:meth:`Logger.action_for`); none means "not on this Android".

A logger whose documented export would change the terminal (upload and delete, stop the
customer's session) declares no export and ``copy_existing = true`` instead: the newest
archive already in ``archive_dir`` is copied as it is, no broadcast sent, nothing waited for
(``deadline_seconds`` is then optional).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tsdtool import profile_files
from tsdtool.profile_files import Problem

STEPS = ("start", "flush", "export")
_KEYS = {"name", "label", "package", "archive_dir", "archive_glob", "deadline_seconds", "copy_existing", *STEPS}
_ACTION_KEYS = {"action", "min_sdk", "max_sdk", "explicit"}
_DOTTED = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
MAX_DEADLINE = 3600


@dataclass(frozen=True)
class Action:
    """One broadcast and the Android API levels it applies to (both ends inclusive)."""

    action: str
    min_sdk: int | None = None
    max_sdk: int | None = None
    explicit: bool = False  # send it to the logger's package only (`am broadcast -p`)

    def applies(self, sdk: int) -> bool:
        return (self.min_sdk is None or sdk >= self.min_sdk) and (self.max_sdk is None or sdk <= self.max_sdk)

    def span(self) -> str:
        """``"API 21–34"`` for messages."""
        low = "" if self.min_sdk is None else str(self.min_sdk)
        high = "" if self.max_sdk is None else str(self.max_sdk)
        return f"API {low or 'any'}–{high or 'any'}" if low or high else "any API level"


@dataclass(frozen=True)
class Logger:
    """A validated ``[[logger]]`` table."""

    name: str
    label: str
    package: str
    archive_dir: str
    archive_glob: str
    deadline_seconds: float
    start: tuple[Action, ...] = ()
    flush: tuple[Action, ...] = ()
    export: tuple[Action, ...] = ()
    copy_existing: bool = False  # no export: copy the newest archive already there, send nothing

    def action_for(self, step: str, sdk: int) -> Action | None:
        """The first declared action of ``step`` ("start", "flush", "export") for this API level."""
        return next((a for a in getattr(self, step) if a.applies(sdk)), None)


def build(tables: list[dict[str, Any]]) -> tuple[Logger, ...]:
    """Validated ``[[logger]]`` tables as :class:`Logger` values."""

    def actions(rows: list[dict[str, Any]]) -> tuple[Action, ...]:
        return tuple(Action(r["action"], r.get("min_sdk"), r.get("max_sdk"), r.get("explicit", False))
                     for r in rows)

    return tuple(
        Logger(t["name"], t["label"], t["package"], t["archive_dir"].rstrip("/") or "/", t["archive_glob"],
               float(t.get("deadline_seconds", 0)), *(actions(t.get(step, [])) for step in STEPS),
               copy_existing=t.get("copy_existing", False))
        for t in tables
    )


def check(file: str, tables: Any) -> list[Problem]:
    """Every problem in the ``logger`` array of one profile file, as ``file:key: problem``."""
    found, problems = profile_files.tables(file, "logger", tables, _KEYS)
    names: set[str] = set()
    for key, table in found:
        problems += profile_files.name_and_label(file, key, table, names, "logger")
        package = table.get("package")
        if not isinstance(package, str) or not _DOTTED.match(package):
            problems.append(Problem(file, f"{key}.package", f"{package!r} is not a package name"))
        folder = table.get("archive_dir")
        if not isinstance(folder, str) or not folder.startswith("/") or "/../" in folder + "/":
            problems.append(Problem(file, f"{key}.archive_dir", f"{folder!r} is not an absolute device path"))
        glob = table.get("archive_glob")
        if not isinstance(glob, str) or not glob.strip() or "/" in glob:
            problems.append(Problem(file, f"{key}.archive_glob", f"{glob!r} is not a file name pattern"))
        copy = table.get("copy_existing", False)
        if not isinstance(copy, bool):
            problems.append(Problem(file, f"{key}.copy_existing", "must be true or false"))
        deadline = table.get("deadline_seconds")
        number = isinstance(deadline, (int, float)) and not isinstance(deadline, bool)
        if (deadline is not None or not copy) and (not number or not 0 < deadline <= MAX_DEADLINE):
            why = f"must be a number of seconds, above 0 and at most {MAX_DEADLINE}"
            problems.append(Problem(file, f"{key}.deadline_seconds", why))
        for step in STEPS:
            problems += _check_actions(file, f"{key}.{step}", table.get(step, []))
        if not table.get("export") and copy is not True:
            problems.append(Problem(file, f"{key}.export", "missing: at least one [[logger.export]] action "
                                    "(or copy_existing = true)"))
        if table.get("export") and copy is True:
            problems.append(Problem(file, f"{key}.copy_existing", "a logger either exports or has its archives copied"))
    return problems


def _check_actions(file: str, key: str, rows: Any) -> list[Problem]:
    if not isinstance(rows, list):
        return [Problem(file, key, f"must be an array of tables: [[{key.split('.')[-1]}]]")]
    problems: list[Problem] = []
    for i, row in enumerate(rows):
        at = f"{key}[{i}]"
        if not isinstance(row, dict):
            problems.append(Problem(file, at, "must be a table with action (and min_sdk/max_sdk)"))
            continue
        problems += [Problem(file, f"{at}.{k}", "unknown key") for k in row if k not in _ACTION_KEYS]
        action = row.get("action")
        if not isinstance(action, str) or not _DOTTED.match(action):
            problems.append(Problem(file, f"{at}.action", f"{action!r} is not an intent action"))
        for bound in ("min_sdk", "max_sdk"):
            value = row.get(bound)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                problems.append(Problem(file, f"{at}.{bound}", f"{value!r} is not an Android API level"))
        low, high = row.get("min_sdk"), row.get("max_sdk")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append(Problem(file, at, f"min_sdk {low} is above max_sdk {high}"))
        if not isinstance(row.get("explicit", False), bool):
            problems.append(Problem(file, f"{at}.explicit", "must be true or false"))
    return problems
