"""`logcat -d` (default ``threadtime`` format) → :class:`LogLine` values, and the crash lines.

A threadtime line is ``MM-DD HH:MM:SS.mmm  PID  TID L TAG     : message`` (AOSP
liblog/logprint.cpp, ``"%s %s%5d %5d %c %-8.*s: "``): the tag is padded with spaces to 8
columns and ends at the first ``: ``. Buffers are separated by
``--------- beginning of main`` (``system``, ``crash``, …) dividers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tsdtool.parsers import lines

_THREADTIME = re.compile(
    r"^(?P<ts>\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\s+(?P<pid>\d+)\s+(?P<tid>\d+)\s+"
    r"(?P<level>[VDIWEFSA])\s(?P<tag>.*?): (?P<msg>.*)$"
)  # the tag's padding is stripped after matching: `.*?\s*: ` is quadratic on a run of spaces
_DIVIDER = re.compile(r"^-{9} beginning of (\S+)")
# What a support engineer searches for first: an app crash, a native crash, a hang.
_CRASH_MARKERS = ("FATAL EXCEPTION", "ANR in ", "Fatal signal ")


@dataclass(frozen=True)
class LogLine:
    timestamp: str  # "01-23 12:34:56.789" as printed: logcat omits the year
    pid: int
    tid: int
    level: str  # V D I W E F (A on old releases = assert)
    tag: str
    message: str
    buffer: str = ""  # from the last "beginning of" divider: main, system, crash, …
    line_no: int = 0  # 1-based, in the original output


def parse_line(line: str, buffer: str = "", line_no: int = 0) -> LogLine | None:
    """One threadtime line, or None for dividers, other formats and garbage."""
    match = _THREADTIME.match(line)
    if not match:
        return None
    ts, pid, tid, level, tag, msg = match.groups()
    return LogLine(ts, int(pid), int(tid), level, tag.rstrip(), msg, buffer, line_no)


def parse(data: bytes) -> list[LogLine]:
    """Every threadtime line, tagged with its buffer and line number."""
    result = []
    buffer = ""
    for number, line in enumerate(lines(data), start=1):
        divider = _DIVIDER.match(line)
        if divider:
            buffer = divider[1]
            continue
        parsed = parse_line(line, buffer, number)  # built once: dataclasses.replace doubled the time
        if parsed:
            result.append(parsed)
    return result


def is_problem(line: LogLine) -> bool:
    """Errors and crash markers: level E/F/A, anything from the crash buffer, FATAL EXCEPTION, ANR."""
    return (
        line.level in "EFA"
        or line.buffer == "crash"
        or any(marker in line.message for marker in _CRASH_MARKERS)
    )


def problems(data: bytes) -> list[LogLine]:
    """The lines :func:`is_problem` selects, in order."""
    return [line for line in parse(data) if is_problem(line)]


def crashes(data: bytes) -> list[LogLine]:
    """Only the first line of each crash: ``FATAL EXCEPTION``, ``ANR in``, native ``Fatal signal``."""
    if not any(marker.encode() in data for marker in _CRASH_MARKERS):
        return []  # the usual case: no crash at all, no need to parse megabytes again
    return [line for line in parse(data) if any(marker in line.message for marker in _CRASH_MARKERS)]
