"""pull-db's deflated copy (tsdtool.apps.gzpull): ranges over several streams, the raw fallback
and what a pulled cable leaves — end to end through the fake terminal.

The thresholds are lowered so a database of ~1.5 MB goes in four ranges; the logic is the
same as for the 34 MB database of the benchmark.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.appdata_helpers import sha, terminals
from tsdtool.apps import gzpull, listing
from tsdtool.collectors.database import pull_databases
from tsdtool.outdir import OutputDir

DBG = "com.acme.scan"
DATA = f"/data/data/{DBG}"
NAME = "it's a \"db\" $(id).db"  # every argument reaches the shell quoted, or this name breaks it


@pytest.fixture
def fake_terminal(tmp_path):
    yield from terminals(tmp_path)


@pytest.fixture
def small_ranges(monkeypatch):
    monkeypatch.setattr(listing, "MIN_RANGE", 256 * 1024)
    monkeypatch.setattr(listing, "MIN_TOTAL", 64 * 1024)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> bytes:
    """A ~1.5 MB rollback database with text rows and an index (deflates a few times, like a real one)."""
    path = tmp_path_factory.mktemp("db") / "big.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE scans (id INTEGER PRIMARY KEY, code TEXT, doc TEXT, at TEXT)")
    conn.execute("CREATE INDEX scans_code ON scans (code)")
    conn.executemany("INSERT INTO scans (code, doc, at) VALUES (?, ?, ?)",
                     [(f"460{i * 7919 % 10**10:010d}", f'{{"doc": "ПРИХ-{i // 50:05d}", "qty": {i % 13}}}',
                       f"2026-11-{1 + i % 28:02d}T10:{i % 60:02d}:00") for i in range(16000)])
    conn.commit()
    conn.close()
    data = path.read_bytes()
    assert len(data) > 1024 * 1024
    return data


def _summary(out: Path) -> dict:
    return json.loads((out / "databases.json").read_text())


def test_a_large_database_comes_deflated_in_ranges_and_byte_identical(fake_terminal, tsd, tmp_path, big,
                                                                      small_ranges):
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/{NAME}": big})
    out = tmp_path / "out"
    code, stdout, stderr = tsd(*fake.args, "pull-db", DBG, "-o", out)
    assert code == 0, stderr
    record = _summary(out)["databases"][0]
    assert (out / record["files"]["db"]).read_bytes() == big
    assert record["copied"] == "gzip -1, 4 streams" and record["complete"] and "raw" not in record
    assert record["check"]["ok"] and record["check"]["tables"] == {"scans": 16000}
    streams = [c for c in fake.spy.commands if c.endswith("| gzip -1")]
    assert len(streams) == 4 and sum("tail -c +" in c for c in streams) == 0  # counted from the end: tail seeks
    assert sorted(int(c.split("tail -c ")[1].split()[0]) for c in streams if "tail -c " in c) == [
        len(big) - offset for offset, _ in gzpull.plan(len(big), len(big))[:0:-1]]
    assert fake.spy.count("tar -c") == 0
    assert fake.terminal.journal == []  # nothing written on the terminal
    assert not list(out.rglob("*.part"))


def test_the_item_keeps_the_hash_of_the_original_bytes(fake_terminal, tmp_path, big, small_ranges):
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big})
    out = OutputDir(tmp_path / "out")
    pull_databases(fake.device(), DBG, out)
    [item] = [i for i in out.items if i.source == f"{DATA}/databases/app.db"]
    assert (item.status, item.size, item.sha256) == ("ok", len(big), sha(big))


def test_a_terminal_without_gzip_copies_raw_and_the_manifest_says_why(fake_terminal, tsd, tmp_path, big,
                                                                      small_ranges):
    from tests.test_collect import collect, field_args, manifest_of

    fake = fake_terminal(sdk=28, packages=[{"name": DBG, "debuggable": True}],  # Android 9: no toybox gzip
                         files={f"{DATA}/databases/app.db": big})
    code, result, stderr = collect(tsd, fake.server.port, tmp_path / "b", "--package", DBG, *field_args())
    assert code == 0, stderr
    [db] = manifest_of(Path(result["bundle"]))["databases"]
    assert db["copied"] == "tar" and db["complete"]
    assert db["raw"] == "the terminal has no gzip (toybox has it from Android 10)"
    assert fake.spy.count("gzip") == 2  # the probes only: the database's and the log's (collect)
    assert not any("| gzip" in c for c in fake.spy.commands)


def test_a_stream_that_is_not_gzip_sends_the_file_raw(fake_terminal, tmp_path, big, small_ranges):
    first = gzpull.command(gzpull_way(), f"{DATA}/databases/app.db", 0, gzpull.plan(len(big), len(big))[0][1])
    # The fixture answers the first range's read with other bytes (the whole line sends the real
    # shell to the emulation, the read itself is what the emulation cans).
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big},
                         device={"shell": {first: "garbage", first.removesuffix(" | gzip -1"): "garbage"}})
    out = OutputDir(tmp_path / "out")
    pull = pull_databases(fake.device(), DBG, out)
    record = pull.databases[0]
    assert record["copied"] == "tar" and record["complete"]
    assert record["raw"].startswith("databases/app.db: bytes 0–") and "7 arrived" in record["raw"]
    assert (tmp_path / "out/internal/databases/app.db").read_bytes() == big
    assert not out.partial and not list((tmp_path / "out").rglob("*.part"))  # the attempt left nothing behind


def test_a_pulled_cable_mid_range_keeps_what_arrived_and_exits_3(fake_terminal, tsd, tmp_path, big, small_ranges):
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big},
                         faults={"drop_after_bytes": 70_000})  # each stream cut in its second 64 KiB packet
    out = tmp_path / "out"
    code, stdout, stderr = tsd(*fake.args, "pull-db", DBG, "-o", out)
    assert code == 3
    part = out / "internal/databases/app.db.part"
    assert part.exists() and not (out / "internal/databases/app.db").exists()
    got = part.read_bytes()
    assert 0 < len(got.rstrip(b"\0")) and got[:16] == b"SQLite format 3\0"
    arrived = [(at, b) for at, b in enumerate(got) if b]  # every byte that arrived is the terminal's own
    assert all(big[at] == b for at, b in arrived[:: max(1, len(arrived) // 5000)])
    record = _summary(out)["databases"][0]
    assert not record["complete"] and record["copied"].startswith("gzip -1") and record["missing"]["db"]
    assert "app.db.part" in stderr


def gzpull_way():
    from tsdtool.apps.access import RunAs

    return RunAs(None, DBG)  # type: ignore[arg-type] - only its command lines are used


def test_in_collect_the_check_finishes_after_the_next_items_arrived(fake_terminal, tmp_path, big, small_ranges):
    from tsdtool.collectors.base import Context, run_all, run_later
    from tsdtool.collectors.database import DatabaseCollector
    from tsdtool.collectors.logs import AppFilesCollector

    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/app.db": big, f"{DATA}/files/logs/app.log": "started\n"})
    ctx = Context(fake.device(), OutputDir(tmp_path / "out"), later=[])
    run_all([DatabaseCollector(DBG), AppFilesCollector(DBG)], ctx)
    assert "databases" not in ctx.facts and ctx.facts["app_access"][DBG][0]["way"] == "run-as"
    assert any(i.path.endswith("app.log") for i in ctx.out.items)  # the app's log came while the check ran
    run_later(ctx)
    record = ctx.facts["databases"][DBG]["databases"][0]
    assert record["complete"] and record["check"]["ok"] and record["check"]["pragma"] == "quick_check"
    assert ctx.out.items[-1].path == f"apps/{DBG}/databases.json" and ctx.later is None
    assert json.loads((tmp_path / "out" / ctx.out.items[-1].path).read_text())["databases"][0]["complete"]


def test_a_damaged_page_is_found_by_the_check(tmp_path, big):
    from tsdtool.apps import dbcheck

    damaged = bytearray(big)
    page = int.from_bytes(big[16:18], "big")
    damaged[page * 40 + 8: page * 40 + 400] = b"\xff" * 392  # in the middle of a b-tree page
    path = tmp_path / "d.db"
    path.write_bytes(bytes(damaged))
    check = dbcheck.check(path, scratch_root=tmp_path)
    assert not check.ok and check.integrity and check.integrity != ("ok",)
    assert dbcheck.check(_write(tmp_path / "ok.db", big), scratch_root=tmp_path).ok


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_large_app_log_comes_deflated_too(fake_terminal, tmp_path, small_ranges):
    from tsdtool.collectors.logs import collect_app_files

    log = "".join(f"2026-11-30 10:{i % 60:02d}:00 INFO Обмен: документ {i} выгружен\n" for i in range(20000)).encode()
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/files/logs/app.log": log})
    out = OutputDir(tmp_path / "out")
    facts = collect_app_files(fake.device(), DBG, out, prefix="")
    assert (tmp_path / "out" / facts["files"][0]).read_bytes() == log
    assert sum(c.endswith("| gzip -1") for c in fake.spy.commands) == 4  # ~1.5 MB in four ranges


def test_a_wal_set_streams_all_at_once_and_stays_consistent(fake_terminal, tsd, tmp_path, monkeypatch):
    from tests.appdata_helpers import ROWS, rows_in, wal_database

    monkeypatch.setattr(listing, "MIN_TOTAL", 1)
    wal = wal_database()
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/app.db": wal.db, f"{DATA}/databases/app.db-wal": wal.wal})
    out = tmp_path / "out"
    code, _, stderr = tsd(*fake.args, "pull-db", DBG, "-o", out)
    assert code == 0, stderr
    record = _summary(out)["databases"][0]
    assert record["copied"] == "gzip -1, 2 streams" and record["complete"] and record["check"]["sidecars"] == ["-wal"]
    assert rows_in(out / record["files"]["db"], out / record["files"]["-wal"]) == ROWS
    assert sum(c.endswith("| gzip -1") for c in fake.spy.commands) == 2  # db and -wal, each whole


def test_ctrl_c_mid_range_keeps_what_arrived_as_a_failed_part(fake_terminal, tmp_path, big, small_ranges):
    from tsdtool.progress import NullProgress

    class CtrlC(NullProgress):  # what collect's gate does when the person presses Ctrl-C
        def advance(self, n: int) -> None:
            raise KeyboardInterrupt

    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big})
    out = OutputDir(tmp_path / "out")
    with pytest.raises(KeyboardInterrupt):
        pull_databases(fake.device(), DBG, out, progress=CtrlC())
    [item] = [i for i in out.items if i.source == f"{DATA}/databases/app.db"]
    assert (item.status, item.reason) == ("failed", "interrupted (Ctrl-C)")
    assert item.path.endswith(".part") and (tmp_path / "out" / item.path).exists()


def test_a_pulled_cable_in_collect_packs_a_partial_bundle(fake_terminal, tsd, tmp_path, big, small_ranges):
    from tests.test_collect import collect, field_args, manifest_of

    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big},
                         faults={"drop_after_bytes": 70_000})  # only the database's streams are this long
    code, result, stderr = collect(tsd, fake.server.port, tmp_path / "b", "--package", DBG, *field_args())
    assert code == 3, stderr
    manifest = manifest_of(Path(result["bundle"]))
    [item] = [i for i in manifest["items"] if i["source"] == f"{DATA}/databases/app.db"]
    assert item["status"] == "failed" and item["reason"]
    [db] = manifest["databases"]
    assert not db["complete"] and db["copied"].startswith("gzip -1")


def test_windows_without_pwrite_reassembles_the_same_bytes(fake_terminal, tmp_path, big, small_ranges, monkeypatch):
    import os

    monkeypatch.delattr(os, "pwrite")  # Python on Windows has no os.pwrite
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big})
    out = OutputDir(tmp_path / "out")
    pull = pull_databases(fake.device(), DBG, out)
    assert pull.databases[0]["copied"] == "gzip -1, 4 streams"
    [item] = [i for i in out.items if i.source == f"{DATA}/databases/app.db"]
    assert (item.sha256, (tmp_path / "out" / item.path).read_bytes()) == (sha(big), big)


@pytest.mark.parametrize("size", [0, 1, 4 * 1024 * 1024 - 1, 4 * 1024 * 1024 + 1, 34_123_776, 10**9 + 7])
def test_ranges_cover_the_file_once_in_at_most_four_streams(size):
    ranges = gzpull.plan(size, size)
    assert 1 <= len(ranges) <= listing.STREAMS and ranges[0][0] == 0 and ranges[-1][1] is None
    ends = [offset + length for offset, length in ranges[:-1]]
    assert ends == [offset for offset, _ in ranges[1:]]  # back to back, no gap, no overlap
    assert all(length >= listing.MIN_RANGE for _, length in ranges[:-1]) and ranges[-1][0] <= max(size - 1, 0)


def test_a_range_that_inflates_past_its_length_stops_early_and_goes_raw(fake_terminal, tmp_path, big, small_ranges):
    import gzip

    first = gzpull.command(gzpull_way(), f"{DATA}/databases/app.db", 0, gzpull.plan(len(big), len(big))[0][1])
    # The first range's read answers 8 MB of zeros: its gzip stream (~8 kB) inflates far past the
    # ~375 kB asked for (the whole line sends the real shell to the emulation, which cans the read).
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big},
                         device={"shell": {first: {"file": "zeros"},
                                           first.removesuffix(" | gzip -1"): {"file": "zeros"}}})
    (fake.terminal.fixture / "zeros").write_bytes(b"\0" * 8_000_000)
    assert len(gzip.compress(b"\0" * 8_000_000, 1)) < 64 * 1024  # one packet holds it all
    out = OutputDir(tmp_path / "out")
    record = pull_databases(fake.device(), DBG, out).databases[0]
    assert record["copied"] == "tar" and record["complete"] and "more arrived" in record["raw"]
    assert (tmp_path / "out" / record["files"]["db"]).read_bytes() == big


def test_a_database_over_the_item_budget_is_refused_once_not_retried_raw(fake_terminal, tsd, tmp_path, big,
                                                                        small_ranges, monkeypatch):
    monkeypatch.setenv("TSDTOOL_MAX_ITEM", "512K")
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big})
    out = tmp_path / "out"
    code, _, stderr = tsd(*fake.args, "pull-db", DBG, "-o", out)
    assert code == 3
    record = _summary(out)["databases"][0]
    assert not record["complete"] and "over its budget" in record["missing"]["db"]
    assert fake.spy.count("tar -c") == 0  # the raw copy would not fit either: not tried


def test_a_file_that_changed_size_after_stat_goes_raw(fake_terminal, tmp_path, big, small_ranges):
    from tsdtool.transport.adb import join

    path = f"{DATA}/databases/app.db"
    again = join(["run-as", DBG, "stat", "-c", "%s %n", path])
    # Asked again once the ranges began, the size is not the one the probe saw: the ranges,
    # counted from the end, may have come from other offsets.
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={path: big},
                         device={"shell": {f"run-as {DBG} stat -c %s %n {path}": f"{len(big) + 4096} {path}\n"}})
    out = OutputDir(tmp_path / "out")
    record = pull_databases(fake.device(), DBG, out).databases[0]
    assert record["copied"] == "tar" and record["complete"]
    assert record["raw"] == (f"databases/app.db: {len(big) + 4096} bytes listed after the ranges began, {len(big)} "
                             "before: the file changed meanwhile")
    assert fake.spy.commands.index(again) > max(n for n, c in enumerate(fake.spy.commands) if "tail -c" in c)
    assert (tmp_path / "out" / record["files"]["db"]).read_bytes() == big


def test_sizes_are_asked_again_only_once_every_range_from_the_end_began(monkeypatch):
    import threading

    from tsdtool.apps.access import External

    asked = []
    monkeypatch.setattr(gzpull, "sizes_now", lambda way, paths: asked.append(paths) or {"/a": 10, "/b": 7})
    began, got = gzpull._Began(2), []
    waiter = threading.Thread(target=lambda: got.append(gzpull._moved(External(None, "/"), began, {"/a": 10, "/b": 8})))  # type: ignore[arg-type]
    waiter.start()
    began.one()
    waiter.join(0.2)
    assert waiter.is_alive() and asked == []  # one range has not sent a byte yet: its tail may not have seeked
    began.one()
    waiter.join(10)
    assert asked == [["/a", "/b"]]
    assert got == [{"/b": "7 bytes listed after the ranges began, 8 before: the file changed meanwhile"}]
    assert gzpull._moved(External(None, "/"), gzpull._Began(0), {}) == {} and len(asked) == 1  # type: ignore[arg-type]


def test_a_range_whose_tail_fails_sends_the_file_raw(fake_terminal, tmp_path, big, small_ranges):
    path = f"{DATA}/databases/app.db"
    offset, length = gzpull.plan(len(big), len(big))[1]
    middle = gzpull.command(gzpull_way(), path, offset, length, len(big))
    failed = {"stdout": "", "stderr": "tail: read error\n", "exit": 1}
    # the whole line sends the real shell to the emulation, which cans the read (tail) itself
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={path: big},
                         device={"shell": {middle: failed, middle.split(" | ")[0]: failed}})
    out = OutputDir(tmp_path / "out")
    record = pull_databases(fake.device(), DBG, out).databases[0]
    assert record["copied"] == "tar" and record["complete"] and record["raw"] == f"databases/app.db: {path}: read error"
    assert (tmp_path / "out" / record["files"]["db"]).read_bytes() == big


def test_a_range_that_ends_before_its_first_byte_does_not_hold_up_the_set(tmp_path):
    import threading

    from tsdtool import errors
    from tsdtool.apps.access import External

    class Unplugged:
        def stream_shell(self, args, sink, progress=None, *, script):
            raise errors.TransferError("the cable came out")

    began = gzpull._Began(1)
    with pytest.raises(errors.TransferError):
        gzpull._range(External(Unplugged(), "/"), "/a.db", 100, None, 10, None, len, threading.Event(),  # type: ignore[arg-type]
                      lambda: None, began.one)
    assert began.all.is_set()  # the sizes are asked again (and the set ends) without waiting for its byte


def test_gzip_and_the_sizes_are_asked_once_beside_the_headers(fake_terminal, tmp_path, big, small_ranges):
    db, notes = f"{DATA}/databases/app.db", f"{DATA}/databases/notes.txt"
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={db: big, notes: "not a database\n"})
    record = pull_databases(fake.device(), DBG, OutputDir(tmp_path / "out")).databases[0]
    assert record["copied"] == "gzip -1, 4 streams" and record["complete"]
    [probe] = [c for c in fake.spy.commands if c.startswith("command -v gzip")]
    assert db in probe and notes in probe  # every listed file, asked before the headers said which is a database


def test_what_was_probed_beside_counts_only_for_the_files_copied(fake_terminal, tmp_path):
    small = b"SQLite format 3\x00" + bytes(1000)
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/app.db": small, f"{DATA}/databases/notes.txt": "x" * 10})
    record = pull_databases(fake.device(), DBG, OutputDir(tmp_path / "out")).databases[0]
    assert record["copied"] == "tar" and record["raw"] == "1016 bytes: small enough for one uncompressed stream"


def test_a_long_listing_is_probed_after_the_headers(fake_terminal, tmp_path, big, small_ranges, monkeypatch):
    monkeypatch.setattr(listing, "MAX_PROBED", 1)
    db, notes = f"{DATA}/databases/app.db", f"{DATA}/databases/notes.txt"
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={db: big, notes: "not a database\n"})
    record = pull_databases(fake.device(), DBG, OutputDir(tmp_path / "out")).databases[0]
    assert record["copied"] == "gzip -1, 4 streams"
    [probe] = [c for c in fake.spy.commands if c.startswith("command -v gzip")]
    assert db in probe and notes not in probe


def _recording_checks(monkeypatch, out: Path) -> list[tuple[str, bool]]:
    """dbcheck.check, recording each path it is given and whether the final file exists meanwhile."""
    from tsdtool.apps import dbcheck

    seen, real = [], dbcheck.check

    def check(db, wal=None, journal=None, scratch_root=None):
        seen.append((db.name, (out / "internal/databases/app.db").exists()))
        return real(db, wal, journal, scratch_root)

    monkeypatch.setattr(dbcheck, "check", check)
    return seen


def test_pull_db_checks_the_copy_as_it_arrived_while_it_is_hashed(fake_terminal, tmp_path, big, small_ranges,
                                                                   monkeypatch):
    seen = _recording_checks(monkeypatch, tmp_path / "out")
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big})
    out = OutputDir(tmp_path / "out")
    pull = pull_databases(fake.device(), DBG, out)
    assert seen == [("app.db.part", False)]  # before the rename: the .part holds the same bytes
    record = pull.databases[0]
    assert record["copied"] == "gzip -1, 4 streams" and record["complete"] and record["check"]["ok"]
    assert record["check"]["tables"] == {"scans": 16000}
    [item] = [i for i in out.items if i.source == f"{DATA}/databases/app.db"]
    assert (item.sha256, (tmp_path / "out" / item.path).read_bytes()) == (sha(big), big)


def test_in_collect_the_copy_is_checked_as_it_arrived_and_after_a_raw_copy_the_final_file(
        fake_terminal, tmp_path, big, small_ranges, monkeypatch):
    seen = _recording_checks(monkeypatch, tmp_path / "out")
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big})
    later: list = []
    pull = pull_databases(fake.device(), DBG, OutputDir(tmp_path / "out"), later=later)  # collect: more to come
    assert seen == [("app.db.part", False)]  # checked beside its hash, as pull-db does, not after the next items
    assert pull.databases[0]["check"].done()  # done before the file was renamed; its record is filled in later
    [finish] = later
    assert finish().databases[0]["complete"]
    seen.clear()
    path = f"{DATA}/databases/app.db"
    changed = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={path: big},
                            device={"shell": {f"run-as {DBG} stat -c %s %n {path}": f"{len(big) + 1} {path}\n"}})
    out = OutputDir(tmp_path / "out2")
    seen = _recording_checks(monkeypatch, tmp_path / "out2")
    record = pull_databases(changed.device(), DBG, out).databases[0]
    assert record["copied"] == "tar" and record["complete"] and seen == [("app.db", True)]  # not the discarded copy


def test_the_next_ways_are_listed_beside_the_first_ways_copy_and_asked_once(fake_terminal):
    import time

    from tsdtool.apps import profiles
    from tsdtool.apps.access import Reach

    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": "x"})
    reach = Reach(fake.device(), DBG, profiles.for_package(DBG).profile)
    ways = iter(reach)
    assert next(ways)[0].name == "run-as"
    asked = lambda: [c for c in fake.spy.commands if c.startswith("ls -d /sdcard/Android/data/")]  # noqa: E731
    assert asked() == []
    reach.list_ahead()  # while run-as's files would be copied
    deadline = time.monotonic() + 10
    while not asked() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(asked()) == 1  # asked before its turn
    assert list(ways) == [] and len(asked()) == 1  # its turn takes that answer, not a second request
    assert [(a.way, a.ok, a.reason) for a in reach.attempts][1:] == [("external", False, "No such file or directory")]


def test_the_next_ways_are_listed_while_the_ranges_still_arrive(fake_terminal, tmp_path, big, small_ranges,
                                                                monkeypatch):
    import threading

    from tsdtool.apps import access

    listed, ended = threading.Event(), []
    real_ahead, real_range = access.Reach.list_ahead, gzpull._range
    monkeypatch.setattr(access.Reach, "list_ahead", lambda self: (listed.set(), real_ahead(self))[1])

    def range_(*args):
        got = real_range(*args)
        ended.append(listed.wait(10))  # the range's last byte is in: were the next ways asked already?
        return got

    monkeypatch.setattr(gzpull, "_range", range_)
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files={f"{DATA}/databases/app.db": big})
    pull = pull_databases(fake.device(), DBG, OutputDir(tmp_path / "out"))
    assert pull.databases[0]["copied"] == "gzip -1, 4 streams" and ended == [True] * 4
    assert fake.spy.count("ls -d /sdcard/Android/data/") == 1  # asked once, taken in its turn
