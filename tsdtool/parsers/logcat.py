"""`logcat -d` (default ``threadtime`` format) → :class:`LogLine` values, and the crash lines.

A threadtime line is ``MM-DD HH:MM:SS.mmm  PID  TID L TAG     : message`` (AOSP
liblog/logprint.cpp, ``"%s %s%5d %5d %c %-8.*s: "``): the tag is padded with spaces to 8
columns and ends at the first ``: ``. Buffers are separated by
``--------- beginning of main`` (``system``, ``crash``, …) dividers.

Digits are ASCII ``[0-9]``, as liblog prints them: ``\\d`` in a ``str`` pattern also takes every
other script's digits, and the scans of megabytes of log ran about 1.6× slower with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tsdtool.parsers import decode, lines

_TS = r"[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}"  # MM-DD HH:MM:SS.mmm
_THREADTIME = re.compile(
    rf"^(?P<ts>{_TS})\s+(?P<pid>[0-9]+)\s+(?P<tid>[0-9]+)\s+"
    r"(?P<level>[VDIWEFSA])\s(?P<tag>.*?): (?P<msg>.*)$"
)  # the tag's padding is stripped after matching: `.*?\s*: ` is quadratic on a run of spaces
_DIVIDER = re.compile(r"-{9} beginning of (\S+)[^\n]*")
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
    """The lines :func:`is_problem` selects, in order (only those lines are parsed)."""
    text = decode(data)
    return _parse_at(text, _problem_hits(text))


def problem_lines(data: bytes) -> list[int]:
    """The 1-based numbers of the lines :func:`problems` selects, none of them parsed (a log
    with thousands of error lines built as many LogLines for a report that shows 20)."""
    text = decode(data)
    return line_numbers(text, problem_starts(text))


def problem_starts(text: str) -> list[int]:
    """Where the lines :func:`problems` selects start in ``text`` (decoded), in order: what a
    caller that numbers only some of them (:func:`line_numbers`) needs."""
    starts = []
    for begin, end, name in _segments(text):
        if name == "crash":
            starts += _line_starts(_ANY, text, begin, end)
        elif _marked(text, begin, end):  # E/F/A lines and V-S lines with a marker: no line is both
            starts += sorted(_line_starts(_SEVERE, text, begin, end) + _line_starts(_MARKED, text, begin, end))
        else:
            starts += _line_starts(_SEVERE, text, begin, end)
    return starts


def line_numbers(text: str, starts: list[int]) -> list[int]:
    """The 1-based numbers of the lines starting at ``starts`` (ascending offsets in ``text``)."""
    numbers, line_no, counted_to = [], 1, 0
    for start in starts:
        line_no += text.count("\n", counted_to, start)
        counted_to = start
        numbers.append(line_no)
    return numbers


def _problem_hits(text: str) -> list[tuple[int, str]]:
    hits = []
    for begin, end, name in _segments(text):
        patterns = [_ANY] if name == "crash" else [_SEVERE] + ([_MARKED] if _marked(text, begin, end) else [])
        hits += [(start, name) for pattern in patterns for start in _line_starts(pattern, text, begin, end)]
    return hits


def _line_starts(pattern: re.Pattern[str], text: str, begin: int, end: int) -> list[int]:
    """Where ``pattern.finditer(text, begin, end)`` matches (each match starts a line). The
    search runs on the same pattern led by a newline instead of ``^``: the regex engine finds
    a literal first character by a fast scan, where ``^`` is tried at every offset (half the
    time of a scan of the report's 2 MiB log tail)."""
    starts = [m.start() + 1 for m in _AFTER_NEWLINE[pattern].finditer(text, begin, end)]
    if (begin == 0 or text[begin - 1] == "\n") and pattern.match(text, begin, end):
        starts.insert(0, begin)  # the first line has no newline before it
    return starts


def crashes(data: bytes) -> list[LogLine]:
    """Only the first line of each crash: ``FATAL EXCEPTION``, ``ANR in``, native ``Fatal signal``."""
    if not any(marker.encode() in data for marker in _CRASH_MARKERS):
        return []  # the usual case: no crash at all, no need to parse megabytes again
    text = decode(data)
    hits = [(m.start(), name) for begin, end, name in _segments(text) for m in _MARKER_LINE.finditer(text, begin, end)]
    return [ln for ln in _parse_at(text, hits) if any(marker in ln.message for marker in _CRASH_MARKERS)]


# Whole-text scans for megabytes of logcat: the same rules as parse()/is_problem(), run by the
# regex engine instead of one LogLine per line. `[^\S\n]` is \s within one line; the tag is
# everything up to the first ": " (what the lazy `.*?: ` of _THREADTIME takes), written so that
# it can match only one way: no backtracking over long hostile lines.
_HEAD = rf"^{_TS}[^\S\n]+[0-9]+[^\S\n]+[0-9]+[^\S\n]+"
_TAG = r"[^\S\n][^:\n]*(?::(?! )[^:\n]*)*: "  # unrolled: a run of non-colons per step
_ANY = re.compile(_HEAD + r"[VDIWEFSA]" + _TAG, re.M)
_LEVEL = re.compile(_HEAD + r"([VDIWEFSA])" + _TAG, re.M)  # findall → one level letter per line
_SEVERE = re.compile(_HEAD + r"[EFA]" + _TAG, re.M)
_MARKED = re.compile(_HEAD + r"[VDIWS]" + _TAG + r"[^\n]*?(?:FATAL EXCEPTION|ANR in |Fatal signal )", re.M)
_MARKER_LINE = re.compile(r"^[^\n]*?(?:FATAL EXCEPTION|ANR in |Fatal signal )", re.M)
_AFTER_NEWLINE = {p: re.compile("\n" + p.pattern.removeprefix("^")) for p in (_ANY, _SEVERE, _MARKED)}
_DIVIDER_TEXT = "--------- beginning of "


def _marked(text: str, begin: int, end: int) -> bool:
    return any(text.find(marker, begin, end) >= 0 for marker in _CRASH_MARKERS)


def _segments(text: str) -> list[tuple[int, int, str]]:
    """(start, end, buffer) of the stretches between ``beginning of`` dividers (found with
    str.find: a MULTILINE regex tries every line start of megabytes)."""
    segments, start, buffer = [], 0, ""
    at = text.find(_DIVIDER_TEXT)
    while at >= 0:
        match = _DIVIDER.match(text, at) if at == 0 or text[at - 1] == "\n" else None
        if match:
            segments.append((start, at, buffer))
            start, buffer = match.end(), match[1]
        at = text.find(_DIVIDER_TEXT, at + 1)
    segments.append((start, len(text), buffer))
    return segments


def _parse_at(text: str, hits: list[tuple[int, str]]) -> list[LogLine]:
    """Parse only the lines starting at these offsets (with their buffer), in order."""
    found, line_no, counted_to = [], 1, 0
    for start, buffer in sorted(set(hits)):
        line_no += text.count("\n", counted_to, start)
        counted_to = start
        end = text.find("\n", start)
        line = parse_line(text[start : end if end >= 0 else len(text)], buffer, line_no)
        if line:
            found.append(line)
    return found


def _count(pattern: re.Pattern[str], text: str, start: int, end: int) -> int:
    return len(pattern.findall(text, start, end))  # no groups: a list of strings, built in C


@dataclass(frozen=True)
class Summary:
    lines: int  # threadtime lines
    problems: int  # lines is_problem() selects


def summary(data: bytes) -> Summary:
    """What ``len(parse(data))`` and ``sum(map(is_problem, parse(data)))`` give, 10× faster."""
    text = decode(data)
    lines = problems = 0
    for begin, end, name in _segments(text):
        levels = _LEVEL.findall(text, begin, end)
        lines += len(levels)
        if name == "crash":
            problems += len(levels)
            continue
        problems += sum(levels.count(level) for level in "EFA")
        if _marked(text, begin, end):
            problems += _count(_MARKED, text, begin, end)
    return Summary(lines, problems)
