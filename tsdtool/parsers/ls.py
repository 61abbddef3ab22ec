"""`ls -l`/`ls -la` and `stat -c '%s %Y %a %n'` → :class:`LsEntry` / :class:`StatEntry`.

toybox ``ls -l`` (Android ≥ 6; toys/posix/ls.c) prints ``total N`` for a folder, then
``mode links user group size YYYY-MM-DD HH:MM name``; the old toolbox ``ls -l`` (Android ≤ 5)
has no links column and leaves the size empty for folders::

    -rw-rw---- 1 u0_a123 u0_a123 12 2024-01-01 12:00 hello.txt     (toybox)
    -rw-rw-r-- root     sdcard_rw       12 2015-01-01 12:00 hello.txt  (toolbox)
    drwxrwx--x root     sdcard_rw          2015-01-01 12:00 Download   (toolbox folder)

Device nodes print ``major, minor`` instead of a size; symlinks end ``name -> target``.
Errors (``ls: /data/data: Permission denied``) go to stderr and are skipped here.

``stat -c`` output is read with :data:`STAT_FORMAT`, whose ``%n`` comes last so a name
with spaces stays whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tsdtool.parsers import lines

STAT_FORMAT = "%s %Y %a %n"  # size, mtime (epoch s), octal permissions, name

_LS = re.compile(
    r"^(?P<mode>[-dlcbps][-rwxsStT]{9})[.+@]?\s+"
    r"(?:(?P<links>\d+)\s+)?(?P<user>\S+)\s+(?P<group>\S+)\s+"
    r"(?:(?:(?P<size>\d+)|\d+,\s*\d+)\s+)?"  # not `\s+(…)?\s*`: quadratic on a run of spaces
    r"(?P<date>\d{4}-\d\d-\d\d) (?P<time>\d\d:\d\d) (?P<name>.*)$"
)


@dataclass(frozen=True)
class LsEntry:
    name: str
    mode: str  # "-rw-rw----"
    user: str
    group: str
    size: int | None  # None for folders (toolbox) and device nodes
    mtime: str  # "2024-01-01 12:00", device local time as printed
    link_target: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.mode.startswith("d")


@dataclass(frozen=True)
class StatEntry:
    path: str
    size: int
    mtime: int  # seconds since the epoch
    perms: int  # permission bits, e.g. 0o660


def parse_ls(data: bytes) -> list[LsEntry]:
    """Every entry line of ``ls -l`` output; ``total``, error and garbage lines are skipped."""
    entries = []
    for line in lines(data):
        match = _LS.match(line)
        if not match:
            continue
        name, target = match["name"], None
        if match["mode"].startswith("l") and " -> " in name:
            name, target = name.split(" -> ", 1)
        size = match["size"]
        entries.append(
            LsEntry(
                name=name,
                mode=match["mode"],
                user=match["user"],
                group=match["group"],
                size=int(size) if size is not None else None,
                mtime=f"{match['date']} {match['time']}",
                link_target=target,
            )
        )
    return entries


def parse_stat(data: bytes) -> list[StatEntry]:
    """Lines of ``stat -c '%s %Y %a %n' PATH…``; error lines (``stat: '/x': No such …``) skipped."""
    entries = []
    for line in lines(data):
        parts = line.split(" ", 3)
        if len(parts) != 4 or not parts[3]:
            continue
        size, mtime, perms, path = parts
        if not (_digits(size) and _digits(mtime) and _digits(perms) and set(perms) <= set("01234567")):
            continue
        entries.append(StatEntry(path=path, size=int(size), mtime=int(mtime), perms=int(perms, 8)))
    return entries


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
