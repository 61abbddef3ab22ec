"""`df`, `df -k`, `df -h` → one :class:`DfEntry` per mounted filesystem, sizes in KiB.

Two families of output reach a support desk:

* toybox (Android ≥ 7)::

    Filesystem       1K-blocks    Used Available Use% Mounted on
    /dev/block/dm-5    5086576 5070840         0 100% /

  ``-h`` prints ``Size Used Avail`` as ``692M``/``2.0M``/``684K``/``0`` (1024-based; a bare
  number is bytes).
* toolbox (Android ≤ 6), which has no filesystem column, ignores ``-k``/``-h`` (it takes
  them for paths) and always prints 1024-based sizes with one decimal::

    Filesystem               Size     Used     Free   Blksize
    /data                   21.9G    12.1G     9.8G   4096
    /sys/fs/cgroup/memory: Permission denied

  Here the mount point is also reported as the filesystem, and sizes are rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tsdtool.parsers import lines

_SIZE = re.compile(r"(\d+(?:\.\d+)?)([KMGTP]?)", re.IGNORECASE)


@dataclass(frozen=True)
class DfEntry:
    filesystem: str
    size_kb: int
    used_kb: int
    avail_kb: int
    mount: str


def parse(data: bytes) -> list[DfEntry]:
    """Every row that parses; headers, error lines and garbage are skipped."""
    entries: list[DfEntry] = []
    bare_unit_kb = 1.0  # what a number without suffix counts: KiB blocks unless `-h`
    pending = ""  # a filesystem name long enough that the numbers wrapped to the next line
    for line in lines(data):
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "Filesystem":
            bare_unit_kb = 1.0 if any(f.endswith("-blocks") for f in fields) else 1 / 1024
            pending = ""
            continue
        if len(fields) == 1:
            pending = fields[0]
            continue
        if pending and len(fields) >= 5 and fields[3].endswith("%"):
            fields = [pending, *fields]
        pending = ""
        entry = _toybox(fields, bare_unit_kb) or _toolbox(fields)
        if entry:
            entries.append(entry)
    return entries


def _toybox(fields: list[str], bare_unit_kb: float) -> DfEntry | None:
    if len(fields) < 6 or not fields[4].endswith("%"):
        return None
    sizes = [_kb(f, bare_unit_kb) for f in fields[1:4]]
    if None in sizes:
        return None
    return DfEntry(fields[0], *sizes, " ".join(fields[5:]))  # type: ignore[arg-type]


def _toolbox(fields: list[str]) -> DfEntry | None:
    if len(fields) != 5 or not fields[4].isdigit():
        return None
    sizes = [_kb(f, 1.0) for f in fields[1:4]]
    if None in sizes:
        return None
    return DfEntry(fields[0], *sizes, fields[0])  # type: ignore[arg-type]


def _kb(token: str, bare_unit_kb: float) -> int | None:
    match = _SIZE.fullmatch(token)
    if not match or len(token) > 24:  # no filesystem is 10^20 KiB; garbage digits are
        return None
    number, suffix = float(match[1]), match[2].upper()
    if suffix:
        return round(number * 1024 ** "KMGTP".index(suffix))
    return round(number * bare_unit_kb)
