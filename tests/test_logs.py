"""`tsdtool logs`: logcat windows on the terminal's clock, crash files when readable, app logs by profile."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.appdata_helpers import terminals
from tsdtool import errors
from tsdtool.collectors.base import Context, run_all
from tsdtool.collectors.logs import LogcatCollector, logcat_args, parse_buffers, parse_since
from tsdtool.outdir import OutputDir

PKG = "com.acme.scan"
TZ = "Asia/Yekaterinburg"  # UTC+5, no DST: the terminal's zone differs from the test machine's
SKEW = -3 * 86400  # and its clock is three days behind


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
    assert "logcat -d -v threadtime" in terminal.spy.commands
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
    assert any(f"-T '{e}" in c for c in terminal.spy.commands for e in expected), terminal.spy.commands


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
    log = "\n".join(_line(now, "I", "Spam", "x" * 200) for _ in range(2000)) + "\n"
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
