"""`tsdtool logs`: logcat windows on the terminal's clock, crash files when readable, app logs by profile."""

from __future__ import annotations

import gzip
import hashlib
import os
import shlex
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.appdata_helpers import terminals
from tsdtool import errors
from tsdtool.apps.gzpull import INFLATE_STEP
from tsdtool.collectors.base import Context, run_all
from tsdtool.collectors.logs import (
    EXIT_MARK,
    LogcatCollector,
    _Gunzip,
    logcat_args,
    parse_buffers,
    parse_since,
)
from tsdtool.outdir import OutputDir
from tsdtool.transport.adb import join
from tsdtool.transport.types import ShellResult

PKG = "com.acme.scan"
TZ = "Asia/Yekaterinburg"  # UTC+5, no DST: the terminal's zone differs from the test machine's
SKEW = -3 * 86400  # and its clock is three days behind


def _logcat_argv(spy) -> list[str]:
    """The one logcat command line sent, as argv (inside ``sh -c '…; echo …' | gzip -1`` when
    the terminal deflates it)."""
    found = []
    for line in spy.commands:
        words = shlex.split(line)
        if words[:2] == ["sh", "-c"]:
            words = shlex.split(words[2].split(";")[0])
        if words[:1] == ["logcat"]:
            found.append(words)
    assert len(found) == 1, spy.commands
    return found[0]


@pytest.fixture
def fake_terminal(tmp_path):
    yield from terminals(tmp_path)


def _line(when: datetime, level: str, tag: str, message: str) -> str:
    return f"{when:%m-%d %H:%M:%S}.000  1234  1250 {level} {tag:<8}: {message}"


def _device_now() -> datetime:
    return datetime.now(ZoneInfo(TZ)).replace(tzinfo=None) + timedelta(seconds=SKEW)


def _log(now: datetime) -> str:
    return "\n".join([
        "--------- beginning of main",
        _line(now - timedelta(hours=2), "I", "Old", "two hours ago"),
        _line(now - timedelta(minutes=1), "I", "Scanner", "one minute ago"),
        "--------- beginning of crash",
        _line(now - timedelta(seconds=30), "E", "AndroidRuntime", "FATAL EXCEPTION: main"),
        "--------- beginning of events",
        _line(now - timedelta(seconds=20), "I", "am_proc", "events buffer line"),
    ]) + "\n"


@pytest.fixture
def terminal(fake_terminal):
    return fake_terminal(
        logcat=_log(_device_now()), packages=[{"name": PKG, "debuggable": True}],
        device={"timezone": TZ, "clock_skew_seconds": SKEW, "unreadable": {"paths": ["/data/tombstones"]}},
        files={"/data/anr/traces.txt": "----- pid 1234 -----", "/data/tombstones/tombstone_00": "x",
               f"/data/data/{PKG}/files/logs/scan.log": "scan ok\n",
               f"/data/data/{PKG}/files/data.bin": b"\0" * 64,
               f"/sdcard/Android/data/{PKG}/files/export.log": "exported\n"})


def test_default_dump_is_threadtime_of_the_default_buffers(terminal, tsd, tmp_path):
    target = tmp_path / "out" / "logcat.txt"
    code, stdout, stderr = tsd(*terminal.args, "logs", "-o", target)
    assert code == 0, stderr
    text = target.read_text()
    assert "two hours ago" in text and "FATAL EXCEPTION" in text
    assert "events buffer line" not in text  # events is not a default buffer
    assert _logcat_argv(terminal.spy) == ["logcat", "-d", "-v", "threadtime"]
    assert "(3 lines, 1 errors)" in stdout and "FATAL EXCEPTION" in stdout


def test_since_uses_the_terminals_clock_and_zone(terminal, tsd, tmp_path):
    target = tmp_path / "out" / "logcat.txt"
    before = _device_now()
    code, _, stderr = tsd(*terminal.args, "logs", "--since", "10m", "-o", target)
    assert code == 0, stderr
    text = target.read_text()
    assert "one minute ago" in text and "two hours ago" not in text
    # the run may cross a minute boundary on a loaded machine: either side of it is right
    expected = {(t - timedelta(minutes=10)).strftime("%m-%d %H:%M") for t in (before, _device_now())}
    argv = _logcat_argv(terminal.spy)
    assert argv[:4] == ["logcat", "-d", "-v", "threadtime"] and argv[4] == "-T", terminal.spy.commands
    assert argv[5][:11] in expected and argv[5].endswith(".000") and len(argv) == 6


def test_since_a_time_passes_it_as_is():
    since = parse_since("2026-11-25 12:00")
    assert logcat_args((), since.start(datetime(2026, 11, 25, 13, 0))) == [
        "logcat", "-d", "-v", "threadtime", "-T", "11-25 12:00:00.000"]
    assert parse_since("1h30m").back == timedelta(hours=1, minutes=30)


@pytest.mark.parametrize("value", ["10", "10x", "-5m", "0m", "yesterday", "2026-13-01 10:00", "m", "400d"])
def test_bad_since_is_a_usage_error(value, tsd):
    with pytest.raises(errors.UsageError):
        parse_since(value)
    code, _, stderr = tsd("-H", "127.0.0.1", "-P", "9", "logs", "--since", value)
    assert code == 2 and stderr.startswith("error: --since")  # refused before any terminal is asked


def test_buffers_are_checked_and_passed(terminal, tsd, tmp_path):
    assert parse_buffers("crash,events") == ("crash", "events")
    code, _, stderr = tsd("-H", "127.0.0.1", "-P", "9", "logs", "--buffers", "main,kernal")
    assert code == 2 and "kernal" in stderr
    target = tmp_path / "out" / "logcat.txt"
    code, _, _ = tsd(*terminal.args, "logs", "--buffers", "crash,events", "-o", target)
    assert code == 0
    text = target.read_text()
    assert "events buffer line" in text and "FATAL EXCEPTION" in text and "one minute ago" not in text


def test_crash_files_copied_when_readable_and_explained_otherwise(terminal, tsd, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = tsd(*terminal.args, "logs", "-o", out / "logcat.txt")
    assert code == 0
    assert (out / "crash/anr/traces.txt").read_text() == "----- pid 1234 -----"
    assert not (out / "crash/tombstones").exists()
    assert "tombstones: 0 files — not readable: Permission denied" in stdout
    assert "skipped crash/tombstones: not readable: Permission denied" in stderr


def test_app_log_files_found_by_the_profile(terminal, tsd, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = tsd(*terminal.args, "logs", "-p", PKG, "-o", out / "logcat.txt")
    assert code == 0
    app = out / "apps" / PKG
    assert (app / "internal/files/logs/scan.log").read_text() == "scan ok\n"
    assert (app / "external/files/export.log").read_text() == "exported\n"
    assert not (app / "internal/files/data.bin").exists()  # not a log by the generic globs
    assert f"{PKG}: 2 log files" in stdout


def test_logcat_collector_leaves_facts_for_collect(terminal, tmp_path):
    ctx = Context(terminal.device(), OutputDir(tmp_path / "bundle"))
    run_all([LogcatCollector("10m", ["main", "crash"])], ctx)
    facts = ctx.facts["logcat"]
    assert facts["command"][:4] == ["logcat", "-d", "-v", "threadtime"] and facts["exit_code"] == 0
    assert facts["since"] == (datetime.fromisoformat(facts["device_time"]["local"])
                              - timedelta(minutes=10)).strftime("%m-%d %H:%M:%S.000")
    assert facts["lines"] == 2 and facts["crashes"][0].endswith("AndroidRuntime: FATAL EXCEPTION: main")
    assert [(i.path, i.kind, i.status) for i in ctx.out.items] == [("logcat.txt", "logcat", "ok")]


def test_a_dropped_dump_is_failed_and_partial(fake_terminal, tsd, tmp_path):
    now = _device_now()
    # random text: deflated on the terminal it still crosses the 100 kB where the cable is pulled
    log = "\n".join(_line(now, "I", "Spam", os.urandom(100).hex()) for _ in range(2000)) + "\n"
    fake = fake_terminal(logcat=log, faults={"drop_after_bytes": 100_000})
    out = tmp_path / "out"
    code, _, stderr = tsd(*fake.args, "logs", "-o", out / "logcat.txt")
    assert code == 3
    assert (out / "logcat.txt.part").exists() and not (out / "logcat.txt").exists()
    assert "logcat.txt.part" in stderr and "lost" in stderr


def test_crash_folders_absent_are_not_reported_missing(fake_terminal, tsd, tmp_path):
    terminal = fake_terminal(logcat=_log(_device_now()))  # no /data/anr, no /data/tombstones
    out = tmp_path / "out"
    code, stdout, stderr = tsd(*terminal.args, "logs", "-o", out / "logcat.txt")
    assert code == 0
    assert "anr: 0 files — none on this terminal" in stdout
    assert "skipped crash/" not in stderr


# -- logcat deflated on the terminal ---------------------------------------------------------------


def test_a_terminal_with_gzip_sends_the_dump_deflated_and_the_bundle_keeps_the_text(fake_terminal, tmp_path):
    fake = fake_terminal(logcat=_log(_device_now()), sdk=30)  # toybox gzip: Android 10 on
    device = fake.device()
    ctx = Context(device, OutputDir(tmp_path / "bundle"))
    run_all([LogcatCollector()], ctx)
    [item] = ctx.out.items
    plain = device.shell(logcat_args()).stdout
    assert (tmp_path / "bundle" / item.path).read_bytes() == plain and b"FATAL EXCEPTION" in plain
    assert item.sha256 == hashlib.sha256(plain).hexdigest() and item.size == len(plain)
    assert item.source == "logcat -d -v threadtime | gzip -1" and ctx.facts["logcat"]["copied"] == "gzip -1"
    assert ctx.facts["logcat"]["exit_code"] == 0
    assert any(c.endswith("| gzip -1") for c in fake.spy.commands)


@pytest.mark.parametrize("sdk", [25, 28])  # toybox of Android 8.0 has no gzip (tests/fake_adb/applets.py)
def test_a_terminal_without_gzip_sends_it_plain(fake_terminal, tmp_path, sdk):
    fake = fake_terminal(logcat=_log(_device_now()), sdk=sdk)
    ctx = Context(fake.device(), OutputDir(tmp_path / "bundle"))
    run_all([LogcatCollector()], ctx)
    [item] = ctx.out.items
    assert item.status == "ok" and item.source == "logcat -d -v threadtime" and "copied" not in ctx.facts["logcat"]
    assert b"FATAL EXCEPTION" in (tmp_path / "bundle" / item.path).read_bytes()
    assert not any("| gzip" in c for c in fake.spy.commands)


class _Terminal:
    """A terminal whose deflated dump is ``deflated`` (gzip's status ``code``, stderr ``stderr``)
    and whose plain dump is ``PLAIN``."""

    serial = "STUB0001"
    PLAIN = b"05-14 10:00:00.000  1234  1250 I Plain: the dump sent plain\n"

    def __init__(self, deflated: bytes, stderr: bytes = b"", code: int = 0):
        self.deflated, self.stderr, self.code = deflated, stderr, code
        self.streamed: list[str] = []

    def features(self):
        return {"shell_v2"}

    def shell(self, args, timeout=None):
        return ShellResult(join(args), 0, b"/system/bin/gzip\n")

    def stream_shell(self, args, sink, progress=None, *, script=None):
        self.streamed.append(script or join(args))
        if script:
            sink.write(self.deflated)
            return ShellResult(script, self.code, b"", self.stderr)
        sink.write(self.PLAIN)
        return ShellResult(join(args), 0, b"")


TEXT = b"05-14 10:00:00.000  1234  1250 E Scan: deflated\n" * 100
DONE = f"{EXIT_MARK} 0\n".encode()


@pytest.mark.parametrize(("deflated", "stderr", "code", "why"), [
    (b"not gzip at all", DONE, 0, "not a gzip stream"),
    (gzip.compress(TEXT)[:-6], DONE, 0, "the gzip stream ended early"),
    (gzip.compress(TEXT) + b"tail", DONE, 0, "data after the end of the gzip stream"),
    (gzip.compress(TEXT), b"", 0, "logcat's exit status did not arrive"),
    (gzip.compress(TEXT), b"sh: gzip: inaccessible or not found\n" + DONE, 127, "gzip: sh: gzip: inaccessible"),
])
def test_a_doubtful_deflated_dump_is_taken_again_plain(tmp_path, deflated, stderr, code, why):
    terminal = _Terminal(deflated, stderr, code)
    ctx = Context(terminal, OutputDir(tmp_path / "bundle"))  # type: ignore[arg-type]
    run_all([LogcatCollector()], ctx)
    [item] = ctx.out.items  # the deflated attempt is forgotten, its .part too
    assert (item.path, item.status, item.source) == ("logcat.txt", "ok", "logcat -d -v threadtime")
    assert sorted(p.name for p in (tmp_path / "bundle").iterdir()) == ["logcat.txt"]
    assert (tmp_path / "bundle" / "logcat.txt").read_bytes() == _Terminal.PLAIN
    assert ctx.facts["logcat"]["raw"].startswith(why) and "copied" not in ctx.facts["logcat"]
    assert len(terminal.streamed) == 2 and terminal.streamed[0].endswith("| gzip -1")


def test_logcats_own_status_and_stderr_come_through_the_pipe(tmp_path):
    stderr = b"logcat: unknown time format '14-05'\n" + f"{EXIT_MARK} 1\n".encode()
    ctx = Context(_Terminal(gzip.compress(b""), stderr), OutputDir(tmp_path / "bundle"))  # type: ignore[arg-type]
    run_all([LogcatCollector()], ctx)
    [item] = ctx.out.items
    assert ctx.facts["logcat"]["exit_code"] == 1 and ctx.facts["logcat"]["copied"] == "gzip -1"
    assert item.status == "failed" and item.reason == "logcat: logcat: unknown time format '14-05'"


def test_the_deflated_dump_inflates_in_bounded_steps(tmp_path):
    class Counting:
        def __init__(self):
            self.largest = 0

        def write(self, data):
            self.largest = max(self.largest, len(data))

    bomb = gzip.compress(b"\0" * (5 * INFLATE_STEP))  # 5 MiB from ~5 kB
    sink = Counting()
    _Gunzip(sink, lambda n: None).write(bomb)
    assert sink.largest == INFLATE_STEP


def test_the_inflater_is_isals_where_installed_else_zlibs(monkeypatch):
    import builtins
    import importlib.util
    import io
    import zlib

    if importlib.util.find_spec("isal") is not None:
        assert type(_Gunzip(io.BytesIO(), lambda n: None).z).__module__.startswith("isal")
    real = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name))
                        if name.startswith("isal") else real(name, *a, **k))
    sink = io.BytesIO()
    gunzip = _Gunzip(sink, lambda n: None)
    assert type(gunzip.z) is type(zlib.decompressobj())
    gunzip.write(gzip.compress(TEXT))
    assert sink.getvalue() == TEXT and gunzip.z.eof
