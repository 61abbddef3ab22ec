"""Fuzzing every parser of device output: any bytes in, no exception out, in linear time.

``test_parsers.py`` fuzzes the text parsers together with random and device-like bytes; this
file adds what it leaves out — ``adb devices -l``, every helper of ``dumpsys battery`` and
``logcat``, any package name for ``dumpsys package``, the PNG checks (whose only documented
exception is ``ValueError``) — and long hostile lines, which once made three regexes quadratic.
"""

from __future__ import annotations

import struct
import time
import zlib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tsdtool.parsers import (
    decode,
    df,
    dumpsys_battery,
    dumpsys_package,
    getprop,
    lines,
    logcat,
    ls,
    pm_list,
    png,
    uptime,
)
from tsdtool.parsers.adb_devices import parse_devices_l

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Fragments of every format, glued at random: reaches deeper than uniform bytes.
PIECES = [
    b"[",
    b"]",
    b"]: [",
    b": ",
    b"=",
    b"\n",
    b"\r\n",
    b"\r\r\n",
    b"\r",
    b" ",
    b"  ",
    b"\t",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xe2\x80",
    b"\xf0\x9f\x98\x80",
    b"-",
    b",",
    b":",
    b"%",
    b"package:",
    b"/data/app/~~Ab==/com.x-Cd==/base.apk=",
    b"versionCode:",
    b"uid:",
    b"installer=",
    b"  Package [com.example] (1a2b):",
    b"Package [",
    b"] (",
    b"versionCode=",
    b"versionName=",
    b"flags=[ DEBUGGABLE SYSTEM ]",
    b"pkgFlags=[",
    b"firstInstallTime=",
    b"User 0:",
    b"dataDir=",
    b"Hidden system packages:",
    b"Unable to find package: ",
    b"Filesystem",
    b"1K-blocks",
    b"Size",
    b"Blksize",
    b"1.5G",
    b"684K",
    b"12",
    b"4096",
    b"100%",
    b"/data",
    b"/storage/emulated",
    b"01-23 12:34:56.789",
    b"  1234  5678 ",
    b" E ",
    b" F ",
    b"AndroidRuntime",
    b"FATAL EXCEPTION",
    b"ANR in ",
    b"Fatal signal ",
    b"--------- beginning of crash",
    b"--------- beginning of main",
    b"-rw-rw----",
    b"drwxrwx--x",
    b"lrwxrwxrwx",
    b"crw-rw-rw-",
    b"1, 5",
    b"u0_a123",
    b"root",
    b"2024-01-01 12:00",
    b" -> ",
    b"total 8",
    b"12 1700000000 660 /sdcard/a b",
    b"Current Battery Service state:",
    b"AC powered: true",
    b"USB powered: false",
    b"level: ",
    b"scale: ",
    b"status: ",
    b"temperature: ",
    b"-",
    b"0",
    b"99999999999999999999999",
    b"12345.67 23456.78",
    b"nan",
    b"inf",
    b"1e999",
]
DEVICEISH = st.lists(st.sampled_from(PIECES), max_size=80).map(b"".join)
ANY_OUTPUT = st.one_of(st.binary(max_size=3000), DEVICEISH)


def run_text_parsers(data: bytes, package: str = "com.example") -> None:
    decode(data)
    lines(data)
    getprop.parse(data)
    getprop.parse_build_prop(data)
    dumpsys_package.parse(data, package)
    pm_list.parse(data)
    df.parse(data)
    fields = dumpsys_battery.parse(data)
    for helper in (
        dumpsys_battery.level,
        dumpsys_battery.status,
        dumpsys_battery.power_sources,
        dumpsys_battery.charging,
        dumpsys_battery.temperature_c,
    ):
        helper(fields)
    logcat.parse(data)
    logcat.problems(data)
    logcat.crashes(data)
    for line in lines(data):
        logcat.parse_line(line)
    ls.parse_ls(data)
    ls.parse_stat(data)
    uptime.parse(data)


@FUZZ
@given(ANY_OUTPUT, st.text(max_size=40))
@example(b"  Package [a]b] (1):\n    versionCode=\xff\n", "a]b")
@example(b"Package [] (\n", "")
def test_text_parsers_never_raise(data, package):
    run_text_parsers(data, package)


GETPROP_PIECES = st.lists(st.sampled_from([b"[a]: [", b"[b.c]: [", b"]", b"\n", b"x", b" ", b"[", b"]: [", b"\r\n",
                                            b"\xff"]), max_size=40).map(b"".join)


@FUZZ
@given(st.one_of(ANY_OUTPUT, GETPROP_PIECES))
def test_getprop_on_any_input_agrees_with_a_line_oracle(data):
    """The pair of "never raises": on the same inputs, the names found are exactly the lines that
    open an entry, and each value is the text after its opening bracket, up to a closing one."""
    import re

    text = decode(data)
    opened = [m for m in re.finditer(r"^\[([^\]\n]+)\]: \[", text, re.M)]
    props = getprop.parse(data)
    assert set(props) == {m.group(1) for m in opened}
    last = {m.group(1): m for m in opened}  # a repeated name: the last entry wins
    for name, value in props.items():
        rest = text[last[name].end() :]
        assert rest.startswith(value)
        after = rest[len(value) :]
        assert after == "" or after.startswith("]") or after.startswith("\n") or value == rest.rstrip("\n")


@FUZZ
@given(ANY_OUTPUT)
def test_df_on_any_input_round_trips_what_it_found(data):
    """The pair of "never raises": what df found, printed again as `df -k`, parses to the same rows."""
    rows = [r for r in df.parse(data) if max(r.size_kb, r.used_kb, r.avail_kb) < 10**23]
    assert all(min(r.size_kb, r.used_kb, r.avail_kb) >= 0 and r.filesystem and r.mount for r in rows)
    printed = "Filesystem 1K-blocks Used Available Use% Mounted on\n" + "".join(
        f"{r.filesystem} {r.size_kb} {r.used_kb} {r.avail_kb} 0% {r.mount}\n" for r in rows
    )
    assert df.parse(printed.encode()) == rows


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "level",
                "scale",
                "status",
                "temperature",
                "AC powered",
                "USB powered",
                "Wireless powered",
                "Dock powered",
            ]
        ),
        st.one_of(st.text(max_size=12), st.integers().map(str)),
    )
)
@example({"level": "50", "scale": "0"})
@example({"level": "-", "scale": "-0"})
@example({"temperature": "\u0661\u0662"})  # Arabic-Indic digits: str.isdigit() says yes
def test_battery_helpers_take_any_fields(fields):
    dumpsys_battery.level(fields)
    assert dumpsys_battery.status(fields) in (None, *dumpsys_battery.STATUS.values())
    dumpsys_battery.power_sources(fields)
    dumpsys_battery.charging(fields)
    dumpsys_battery.temperature_c(fields)


# `host:devices-l` arrives as text (adbutils decodes it); serials and tags are device-chosen.
DEVICES_PIECES = st.sampled_from(
    [
        "TC52A1",
        "emulator-5554",
        "10.0.0.5:5555",
        "[::1]:5555",
        " ",
        "   ",
        "\t",
        "\n",
        "\r\n",
        "device",
        "offline",
        "unauthorized",
        "no permissions",
        "(user in plugdev group; are your udev rules wrong?);",
        "see [http://developer.android.com/tools/device.html]",
        "usb:1-1",
        "product:TC52",
        "model:TC52",
        "device:TC52",
        "transport_id:3",
        ":",
        "adb-XYZ._adb-tls-connect._tcp",
        "\ufffd",
        "\x00",
    ]
)


@FUZZ
@given(st.one_of(st.text(max_size=500), st.lists(DEVICES_PIECES, max_size=60).map("".join)))
def test_adb_devices_never_raises(text):
    for entry in parse_devices_l(text):
        assert entry.serial and entry.state
        assert entry.transport in ("usb", "tcp", "emulator")


# ---------------------------------------------------------------------------- PNG


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


PNG_PARTS = st.builds(
    lambda w, h, depth, ctype, idat, extra: (
        png.SIGNATURE
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
        + b"".join(_chunk(b"IDAT", part) for part in idat)
        + extra
        + _chunk(b"IEND", b"")
    ),
    st.integers(0, 70000),
    st.integers(0, 70000),
    st.sampled_from([1, 2, 4, 8, 16]),
    st.sampled_from([0, 2, 3, 4, 6, 7]),
    st.lists(st.one_of(st.binary(max_size=64), st.binary(max_size=400).map(zlib.compress)), max_size=3),
    st.one_of(st.just(b""), st.binary(max_size=30)),
)


def _mutated(data: st.DataObject, blob: bytes) -> bytes:
    cut = data.draw(st.integers(0, len(blob)))
    blob = blob[:cut] if data.draw(st.booleans()) else blob
    if blob and data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob = blob[:at] + bytes([data.draw(st.integers(0, 255))]) + blob[at + 1 :]
    return blob


def check_png(blob: bytes) -> None:
    try:
        found, note = png.unwrap(blob)
    except ValueError:
        found, note = blob, ""
    assert isinstance(note, str)
    try:
        info = png.inspect(found)
    except ValueError:
        return
    assert info.black in (True, False, None)


@FUZZ
@given(
    st.data(),
    st.one_of(
        PNG_PARTS, st.just(png.make(5, 3)), st.just(png.make(2, 2, (0, 9, 0))), st.binary(max_size=200)
    ),
    st.sampled_from([b"", b"WARNING: multiple displays were found\n", b"\r\r\n"]),
)
def test_png_only_raises_value_error(data, blob, prefix):
    blob = _mutated(data, blob)
    check_png(prefix + blob)
    check_png(prefix + blob.replace(b"\n", b"\r\n"))  # as a PTY shell delivers it


@pytest.mark.parametrize("length", range(0, 34))
def test_png_cut_anywhere_in_the_header(length):
    check_png(png.make(3, 3)[:length])


def test_png_inflate_is_bounded():
    # 64 MiB of zeros compress to ~64 kB; the claimed size needs only 4x4 pixels of it.
    bomb = (
        png.SIGNATURE
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(bytes(64 * 1024 * 1024), 9))
        + _chunk(b"IEND", b"")
    )
    assert png.inspect(bomb).black is True
    huge = (
        png.SIGNATURE
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 6, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(b"\0"))
        + _chunk(b"IEND", b"")
    )
    assert png.inspect(huge).black is None


def _rgb_png(rows: list[bytes], width: int, height: int | None = None, cut: int | None = None) -> bytes:
    """An RGB PNG of these filtered rows (filter byte 0 each); ``height`` may claim more rows and
    ``cut`` keeps only that many bytes of the deflated pixels."""
    pixels = zlib.compress(b"".join(b"\0" + r for r in rows))
    return (png.SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height or len(rows), 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", pixels[:cut]) + _chunk(b"IEND", b""))


def test_png_black_check_inflates_no_further_than_the_first_colour(monkeypatch):
    """A screen with colour in its first row is told apart without inflating the rest (the whole
    of a 720x1280 screen took 9 ms); colour in the last row of a later block, or only in the data
    cut short, still counts; black rows cut short are not called black."""
    width = 100
    black, red = bytes(3 * width), b"\xff\0\0" + bytes(3 * width - 3)
    inflated = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *a):
            self.z = real(*a)

        def decompress(self, data, limit):
            out = self.z.decompress(data, limit)
            inflated.append(len(out))
            return out

        @property
        def unconsumed_tail(self):
            return self.z.unconsumed_tail

    monkeypatch.setattr(png.zlib, "decompressobj", Counting)
    rows = [red] + [black] * 5000
    assert png.inspect(_rgb_png(rows, width)).black is False
    assert sum(inflated) <= png.ROWS_AT_ONCE * (3 * width + 1)
    late = [black] * (2 * png.ROWS_AT_ONCE + 3) + [b"\0\0\1" + bytes(3 * width - 3)]
    assert png.inspect(_rgb_png(late, width)).black is False
    assert png.inspect(_rgb_png([black] * (2 * png.ROWS_AT_ONCE + 4), width)).black is True
    assert png.inspect(_rgb_png([black] * 300, width, cut=60)).black is None  # no row whole
    assert png.inspect(_rgb_png([black] * 300, width, height=301)).black is None  # a row short
    assert png.inspect(_rgb_png([red] + [black] * 300, width, height=400)).black is False


# ------------------------------------------------------------ long hostile lines

LONG = 200_000  # a quadratic parser needs minutes for this; a linear one milliseconds
HOSTILE = {
    "spaces after a logcat prefix": b"01-23 12:34:56.789  1 2 E " + b" " * LONG + b"x",
    "spaces after an ls group": b"-rw-rw---- 1 u g " + b" " * LONG,
    "tokens after an ls mode": b"-rw-rw---- 1 " + b"u " * LONG,
    "a run of carriage returns": b"\r" * LONG + b"x",
    "carriage returns before a newline": b"\r" * LONG + b"\n",
    "one long getprop value": b"[a]: [" + b"]" * LONG,
    "many getprop entries": b"[a]: [b]\n" * (LONG // 9),
    "a package header per line": b"  Package [com.example] (1):\n" * (LONG // 28),
    "digits in one df token": b"Filesystem 1K-blocks\n/ " + b"1" * LONG + b" 1 1 1% /\n",
    "stat-like fields": b"1 " * LONG,
    "pm list on one line": b"package:" + b"a=" * LONG,
    "battery key/value": b"level:" * LONG,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_long_hostile_lines_parse_in_linear_time(name):
    start = time.perf_counter()
    run_text_parsers(HOSTILE[name])
    assert time.perf_counter() - start < 5, f"{name}: parsers are not linear"


def test_ten_megabytes_of_invalid_utf8_logcat():
    line = b"01-23 12:34:56.789  1234  5678 E Tag\xff\xfe: caf\xe9 \xc3\x28 message\r\n"
    data = line * (10 * 1024 * 1024 // len(line))
    start = time.perf_counter()
    found = logcat.problems(data)
    assert len(found) == data.count(b"\n")
    assert found[0].tag == "Tag\ufffd\ufffd" and "\ufffd" in found[0].message
    assert time.perf_counter() - start < 30


# -- the whole-text logcat scans agree with the line-by-line parser ------------------------------

_LEVELS = st.sampled_from(list("VDIWEFSA"))
_LOG_LINE = st.one_of(
    st.builds(lambda lvl, tag, msg, pid: f"01-23 12:34:56.789  {pid:>4}  {pid:>4} {lvl} {tag}: {msg}",
              _LEVELS, st.text("abcXYZ ", max_size=10),
              st.one_of(st.text(max_size=30).map(lambda t: t.replace("\n", " ")),
                        st.sampled_from(["FATAL EXCEPTION: main", "ANR in com.x", "Fatal signal 11", "a: b"])),
              st.integers(1, 99999)),
    st.sampled_from(["--------- beginning of crash", "--------- beginning of main", "", "garbage",
                     "01-23 12:34:56.789  1  2 E tag-without-colon-space"]),
)


@given(st.lists(_LOG_LINE, max_size=40), st.sampled_from(["\n", "\r\n"]))
def test_logcat_summary_matches_the_parser(rows, newline):
    data = newline.join(rows).encode()
    parsed = logcat.parse(data)
    counts = logcat.summary(data)
    assert counts.lines == len(parsed)
    assert counts.problems == sum(map(logcat.is_problem, parsed))
    slow = [ln for ln in parsed if any(m in ln.message for m in ("FATAL EXCEPTION", "ANR in ", "Fatal signal "))]
    assert logcat.crashes(data) == slow
    assert logcat.problems(data) == [ln for ln in parsed if logcat.is_problem(ln)]
    assert logcat.problem_lines(data) == [ln.line_no for ln in parsed if logcat.is_problem(ln)]


@given(st.binary(max_size=2000))
def test_logcat_problem_lines_are_those_of_the_parsed_problems(data):
    assert logcat.problem_lines(data) == [ln.line_no for ln in logcat.problems(data)]


@given(st.binary(max_size=2000))
def test_logcat_summary_never_raises(data):
    logcat.summary(data)


def test_logcat_scans_are_linear_on_hostile_lines():
    colons = b"01-23 12:34:56.789  1 2 I tag: " + b"a: " * LONG + b"\n"
    spaces = b"01-23 12:34:56.789  1 2 E " + b" " * LONG + b"x\n"
    for data in (colons, spaces, colons * 3 + b"--------- beginning of crash\n" + colons):
        start = time.perf_counter()
        logcat.summary(data), logcat.problems(data), logcat.crashes(data + b"FATAL EXCEPTION")
        assert time.perf_counter() - start < 5


def _scan_by_parsing(data: bytes, before: int, after: int, max_errors: int):
    """report_html.scan_log worked out the slow way: every line parsed, every problem numbered."""
    text = logcat.lines(data)
    text = text[:-1] if text[-1] == "" else text
    crashes = logcat.crashes(data)
    problems = [ln.line_no for ln in logcat.parse(data) if logcat.is_problem(ln)]
    if crashes:
        at = crashes[-1].line_no - 1
        window = range(max(0, at - before), min(len(text), at + after))
        return "report.last_crash", {"n": len(crashes)}, [(i + 1, text[i], i + 1 in problems) for i in window]
    if not problems:
        return None
    rows = [(n, text[n - 1], True) for n in problems[-max_errors:]]
    return "report.last_errors", {"shown": len(rows), "total": len(problems)}, rows


@given(st.lists(_LOG_LINE | st.sampled_from(["01-23 12:34:56.789  1  2 E t: a\x1cb\u2028c\rd", "x\x0by"]), max_size=40),
       st.sampled_from(["\n", "\r\n"]), st.integers(1, 4))
def test_report_log_scan_numbers_only_the_lines_it_shows_and_matches_the_parser(rows, newline, shown):
    from tsdtool.bundle import report_html

    data = newline.join(rows).encode()
    assert report_html.scan_log(data, before=2, after=3, max_errors=shown) == _scan_by_parsing(data, 2, 3, shown)
