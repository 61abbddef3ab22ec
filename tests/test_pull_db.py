"""`tsdtool pull-db`: consistent database sets, the order of the ways in, and what a failure leaves.

Every fixture is built in tmp_path; the databases are made with sqlite3 right here.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.appdata_helpers import ROWS, plain_database, rows_in, sha, terminals, wal_database
from tsdtool import errors
from tsdtool.apps import tarstream
from tsdtool.collectors.base import Context, run_all
from tsdtool.collectors.database import DatabaseCollector, pull_databases
from tsdtool.collectors.logs import AppFilesCollector
from tsdtool.outdir import OutputDir

DBG, REL = "com.acme.scan", "com.acme.wms"
DATA, EXT = f"/data/data/{DBG}", f"/sdcard/Android/data/{REL}"


@pytest.fixture
def fake_terminal(tmp_path):
    yield from terminals(tmp_path)


def _summary(out: Path) -> dict:
    return json.loads((out / "databases.json").read_text())


@pytest.fixture
def wal():
    return wal_database()


def test_wal_rows_arrive_in_the_pulled_copy(fake_terminal, tsd, tmp_path, wal):
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/app.db": wal.db, f"{DATA}/databases/app.db-wal": wal.wal,
                                f"{DATA}/shared_prefs/settings.xml": "<map/>"})
    out = tmp_path / "out"
    code, stdout, stderr = tsd(*fake.args, "pull-db", DBG, "-o", out)
    assert code == 0, stderr
    db, side = out / "internal/databases/app.db", out / "internal/databases/app.db-wal"
    assert rows_in(db) == []  # the main file alone lacks every committed row …
    assert rows_in(db, side) == ROWS  # … they arrive through the -wal
    assert (db.read_bytes(), side.read_bytes()) == (wal.db, wal.wal)  # byte for byte, untouched by the check
    record = _summary(out)["databases"][0]
    assert record["copied"] == "tar" and record["complete"]
    assert record["check"]["tables"] == {"events": len(ROWS)}
    assert record["check"]["integrity"] == ["ok"] and record["check"]["journal"] == "wal"
    assert record["check"]["sidecars"] == ["-wal"]
    assert not list(out.rglob("*.part")) and not list(out.glob(".dbcheck-*"))
    assert "integrity ok" in stdout and "1 tables, 3 rows" in stdout
    assert fake.spy.count("tar") == 1  # db and -wal in one stream
    assert fake.terminal.journal == []  # nothing was written on the terminal


def test_items_carry_the_hash_of_what_the_terminal_holds(fake_terminal, tmp_path, wal):
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/app.db": wal.db, f"{DATA}/databases/app.db-wal": wal.wal})
    out = OutputDir(tmp_path / "out")
    pull_databases(fake.device(), DBG, out)
    by_source = {i.source: i for i in out.items}
    assert by_source[f"{DATA}/databases/app.db"].sha256 == sha(wal.db)
    assert by_source[f"{DATA}/databases/app.db-wal"].sha256 == sha(wal.wal)
    assert by_source[f"{DATA}/databases/app.db-wal"].size == len(wal.wal)


def test_a_database_is_known_by_its_header_not_its_name(fake_terminal, tmp_path):
    plain = plain_database()
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/files/cache.bin": plain,
                                f"{DATA}/databases/notes.db": "not sqlite " * 100,
                                f"{DATA}/databases/tiny.db": b"SQLite format 3\x00"})
    pull = pull_databases(fake.device(), DBG, OutputDir(tmp_path / "out"))
    found = {d["device_path"]: d for d in pull.databases}
    assert sorted(found) == [f"{DATA}/databases/tiny.db", f"{DATA}/files/cache.bin"]
    assert found[f"{DATA}/files/cache.bin"]["check"]["tables"] == {"t": 2}
    assert found[f"{DATA}/files/cache.bin"]["check"]["journal"] == "rollback"
    # A header and nothing else: pulled (it claims to be a database) and reported broken.
    assert not found[f"{DATA}/databases/tiny.db"]["complete"]
    assert found[f"{DATA}/databases/tiny.db"]["check"]["ok"] is False


def test_non_debuggable_app_falls_back_to_external_storage(fake_terminal, tsd, tmp_path, wal):
    fake = fake_terminal(packages=[{"name": REL}],
                         files={f"{EXT}/files/db/stock.db": wal.db, f"{EXT}/files/db/stock.db-wal": wal.wal,
                                f"{EXT}/files/readme.txt": "hello"})
    out = tmp_path / "out"
    code, stdout, _ = tsd(*fake.args, "pull-db", REL, "-o", out)
    assert code == 0
    attempts = _summary(out)["attempts"]
    assert [(a["way"], a["ok"]) for a in attempts] == [
        ("run-as", False), ("external", True), ("su", False), ("backup", False)]
    assert attempts[0]["reason"] == "package not debuggable"
    assert "--root" in attempts[2]["reason"] and "--backup" in attempts[3]["reason"]
    assert rows_in(out / "external/files/db/stock.db", out / "external/files/db/stock.db-wal") == ROWS
    # one refusal settles the way: never retried per file (the listing is asked once, and beside it,
    # before its answer, the sizes and headers of what it finds: apps/early.py)
    assert fake.spy.count("run-as") == 2 and fake.spy.count(" -exec ") == 1
    assert "package not debuggable" in stdout


def test_app_with_no_readable_data_says_why_for_every_way(fake_terminal, tsd, tmp_path):
    private = {f"/data/data/{REL}/databases/x.db": plain_database()}
    fake = fake_terminal(packages=[{"name": REL}], files=private)
    out = tmp_path / "out"
    code, stdout, _ = tsd(*fake.args, "pull-db", REL, "-o", out)
    assert code == 3
    reasons = {a["way"]: a["reason"] for a in _summary(out)["attempts"]}
    assert reasons == {"run-as": "package not debuggable", "external": "No such file or directory",
                       "su": "not tried: pass --root to use su",
                       "backup": "not tried: pass --backup to try adb backup (it needs a tap on the terminal; "
                                 "Android ≤ 11, or a debuggable app)"}
    # Said as a failure with its reason and the ways out (it used to say "no way into the app's files").
    assert "not readable: run-as: package not debuggable" in stdout and "--root" in stdout


def test_scoped_storage_refusal_is_recorded_as_permission_denied(fake_terminal, tmp_path):
    fake = fake_terminal(packages=[{"name": REL}], files={f"{EXT}/files/x.db": plain_database()},
                         device={"unreadable": {"paths": [EXT]}})
    pull = pull_databases(fake.device(), REL, OutputDir(tmp_path / "out"))
    assert ("external", False, "Permission denied") in [(a.way, a.ok, a.reason) for a in pull.attempts]


def test_root_reads_the_private_folder_only_when_asked(fake_terminal, tsd, tmp_path, wal):
    files = {f"/data/data/{REL}/databases/app.db": wal.db, f"/data/data/{REL}/databases/app.db-wal": wal.wal}
    fake = fake_terminal(packages=[{"name": REL}], files=files, device={"rooted": True})
    code, _, _ = tsd(*fake.args, "pull-db", REL, "-o", tmp_path / "plain")
    assert code == 3 and fake.spy.count("su ") == 0
    code, stdout, stderr = tsd(*fake.args, "pull-db", REL, "--root", "-o", tmp_path / "root")
    assert code == 0, stdout + stderr
    su = _summary(tmp_path / "root")["attempts"][-1]
    assert su["way"] == "su" and su["ok"]
    folder = tmp_path / "root/internal/databases"
    assert rows_in(folder / "app.db", folder / "app.db-wal") == ROWS
    assert fake.terminal.journal == []


def test_root_on_a_terminal_without_su(fake_terminal, tmp_path):
    fake = fake_terminal(packages=[{"name": REL}])
    pull = pull_databases(fake.device(), REL, OutputDir(tmp_path / "out"), root=True)
    su = next(a for a in pull.attempts if a.way == "su")
    assert not su.ok and su.reason == "su not found"
    assert pull.attempts[-1].way == "backup" and not pull.attempts[-1].ok  # the next rung, not asked for


def test_old_android_without_tar_copies_file_by_file(fake_terminal, tmp_path, wal):
    fake = fake_terminal(sdk=22, packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/app.db": wal.db, f"{DATA}/databases/app.db-wal": wal.wal})
    out = OutputDir(tmp_path / "out")
    pull = pull_databases(fake.device(), DBG, out)
    record = pull.databases[0]
    assert record["copied"] == "file by file" and record["complete"]
    folder = tmp_path / "out/internal/databases"
    assert rows_in(folder / "app.db", folder / "app.db-wal") == ROWS
    assert fake.spy.count("tar -c") == 0  # asked whether tar exists, never streamed an error as an archive


def test_dropped_connection_leaves_a_failed_part_and_exit_3(fake_terminal, tsd, tmp_path):
    big = plain_database(rows=20000)  # ~200 KiB: the cable goes mid-stream
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/big.db": big}, faults={"drop_after_bytes": 100_000})
    out = tmp_path / "out"
    code, stdout, stderr = tsd(*fake.args, "pull-db", DBG, "-o", out)
    assert code == 3
    assert not (out / "internal/databases/big.db").exists()
    part = out / "internal/databases/big.db.part"
    assert part.exists() and part.stat().st_size < len(big)  # what arrived before the drop, never renamed
    record = _summary(out)["databases"][0]
    assert not record["complete"] and "lost" in record["missing"]["db"]
    assert "failed" in stderr and "big.db.part" in stderr and "lost" in stderr


def test_hostile_names_stay_inside_and_never_collide(fake_terminal, tmp_path):
    plain = plain_database()
    names = ["a:b.db", "a?b.db", "evil\x1b[31m.db", "-rf.db", "x" * 200 + ".db", "CON.db", "sp ace.db"]
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/{n}": plain for n in names})
    out = OutputDir(tmp_path / "out")
    pull = pull_databases(fake.device(), DBG, out)
    assert sorted(d["device_path"] for d in pull.databases) == sorted(f"{DATA}/databases/{n}" for n in names)
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.name != "databases.json"]
    assert len(written) == len(names)  # nothing overwritten
    root = (tmp_path / "out").resolve()
    for path in written:
        assert root in path.resolve().parents
        assert not any(ord(c) < 32 for c in path.name) and len(path.name.encode()) <= 120
    assert all(d["complete"] for d in pull.databases)


def test_bad_package_name_is_refused_before_any_device_call(tsd):
    code, _, stderr = tsd("-H", "127.0.0.1", "-P", "9", "pull-db", "x; touch /sdcard/pwned")
    assert code == 2 and "not an Android package name" in stderr


def test_collector_records_facts_for_collect(fake_terminal, tmp_path, wal):
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/app.db": wal.db, f"{DATA}/databases/app.db-wal": wal.wal})
    ctx = Context(fake.device(), OutputDir(tmp_path / "bundle"))
    run_all([DatabaseCollector(DBG)], ctx)
    facts = ctx.facts["databases"][DBG]
    assert facts["databases"][0]["files"] == {"db": f"apps/{DBG}/internal/databases/app.db",
                                              "-wal": f"apps/{DBG}/internal/databases/app.db-wal"}
    assert ctx.facts["app_access"][DBG][0] == {"way": "run-as", "ok": True, "reason": f"{DATA}: 2 files"}
    assert {i.kind for i in ctx.out.items} == {"database"}


def test_a_refused_way_is_not_asked_again_by_the_next_collector(fake_terminal, tmp_path, wal):
    fake = fake_terminal(packages=[{"name": REL}],
                         files={f"{EXT}/files/app.log": "log", f"{EXT}/files/x.db": wal.db})
    ctx = Context(fake.device(), OutputDir(tmp_path / "bundle"))
    run_all([DatabaseCollector(REL), AppFilesCollector(REL)], ctx)
    assert fake.spy.count("run-as") == 1
    assert ctx.facts["app_files"][REL]["attempts"][0] == {"way": "run-as", "ok": False,
                                                         "reason": "package not debuggable"}
    assert ctx.facts["app_files"][REL]["files"] == [f"apps/{REL}/external/files/app.log"]


def test_collectors_of_one_app_side_by_side_ask_each_listing_once(fake_terminal, tmp_path, wal, monkeypatch):
    """collect copies an app's databases and its own files in lanes side by side: run-as's listing
    (refused here) is asked once for both, the second collector taking the first's answer
    (access.Listings) instead of asking while the first one's is still on its way."""
    import dataclasses
    import threading

    from tsdtool.apps import access

    fake = fake_terminal(packages=[{"name": REL}],
                         files={f"{EXT}/files/app.log": "log", f"{EXT}/files/x.db": wal.db})
    both = threading.Event()
    files_collect, run_as_list = AppFilesCollector.collect, access.RunAs.list

    def files_started(self, ctx):
        both.set()
        return files_collect(self, ctx)

    def listed_once_both_run(self, folders):
        assert both.wait(10)  # whichever lists first does so once the other collector runs too
        return run_as_list(self, folders)

    monkeypatch.setattr(AppFilesCollector, "collect", files_started)
    monkeypatch.setattr(access.RunAs, "list", listed_once_both_run)
    ctx = Context(fake.device(), OutputDir(tmp_path / "bundle"))
    lanes = [dataclasses.replace(ctx, out=ctx.out.lane()) for _ in range(2)]
    threads = [threading.Thread(target=run_all, args=([collector], lane))
               for collector, lane in zip([DatabaseCollector(REL), AppFilesCollector(REL)], lanes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert fake.spy.count("run-as") == 1
    refused = {"way": "run-as", "ok": False, "reason": "package not debuggable"}
    assert ctx.facts["app_files"][REL]["attempts"][0] == refused
    assert ctx.facts["databases"][REL]["attempts"][0] == refused
    assert ctx.facts["app_files"][REL]["files"] == [f"apps/{REL}/external/files/app.log"]
    assert [d["device_path"] for d in ctx.facts["databases"][REL]["databases"]] == [f"{EXT}/files/x.db"]


def test_a_listing_that_failed_is_asked_again_and_a_refusal_is_kept():
    """access.Listings keeps an answer and a refusal for the next asker, not a failed connection
    (the next asker then asks itself and words its own error)."""
    from tsdtool.apps import access

    class Way:
        name, root, refused = "run-as", "/data/data/x", None

        def __init__(self, answers):
            self.answers, self.asked = list(answers), 0

        def list(self, folders):
            self.asked += 1
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    listings = access.Listings()
    found = [access.Found("/data/data/x/files/a.log", "files/a.log")]
    way = Way([errors.TransferError("connection lost"), found])
    with pytest.raises(errors.TransferError):
        listings.list(way, ("files",))
    assert listings.list(way, ("files",)) == found and way.asked == 2  # asked again
    assert listings.list(Way([]), ("files",)) == found  # kept: the next asker does not ask
    refusing, other = Way([access.Refused("package not debuggable")]), Way([])
    for asker in (refusing, other):
        with pytest.raises(access.Refused, match="package not debuggable"):
            listings.list(asker, ("databases",))
    assert refusing.asked == 1 and other.asked == 0 and other.refused == "package not debuggable"


# -- the tar stream is untrusted ------------------------------------------------------------------


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    buf.seek(0)
    return buf


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_tar_member_names_are_never_trusted(tmp_path):
    stream = _tar([
        (_member("/etc/passwd"), b"root"), (_member("../escape.db"), b"x"),
        (_member("databases/../../up"), b"x"), (_member("databases/link", tarfile.SYMTYPE, "/"), b""),
        (_member("databases/hard", tarfile.LNKTYPE, "/x"), b""),
        (_member("databases/dev", tarfile.CHRTYPE), b""), (_member("databases/fifo", tarfile.FIFOTYPE), b""),
        (_member("databases/extra.db"), b"unasked"), (_member("./databases/ok.db"), b"fine"),
        (_member("databases/ok.db"), b"again"),
    ])
    out = OutputDir(tmp_path / "out")
    wanted = {"databases/ok.db": tarstream.Target("internal/databases/ok.db", "/data/data/p/databases/ok.db")}
    done = tarstream.extract(stream, wanted, out, kind="database")
    assert list(done) == ["databases/ok.db"]
    assert (tmp_path / "out/internal/databases/ok.db").read_bytes() == b"fine"
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [Path("out/internal/databases/ok.db")]
    reasons = [i.reason for i in out.items if i.status == "skipped"]
    assert sum("absolute" in r for r in reasons) == 1 and sum("'..'" in r for r in reasons) == 2
    for what in ("symbolic link", "hard link", "character device", "FIFO", "not asked for", "repeated"):
        assert any(what in r for r in reasons), what


def test_pump_hands_the_producer_error_to_the_reader(tmp_path):
    def produce(sink):
        sink.write(b"\0" * 512)
        raise errors.TransferError("exec: connection to T1 lost")

    with pytest.raises(errors.TransferError, match="lost"):
        tarstream.pump(produce, lambda stream: stream.read())


def test_pump_stops_the_producer_when_the_reader_fails():
    written = []

    def produce(sink):
        for _ in range(10_000):  # far more than a pipe buffer: would block forever if nobody read
            sink.write(b"x" * 65536)
            written.append(1)

    def consume(stream):
        stream.read(10)
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        tarstream.pump(produce, consume)
    assert len(written) < 10_000


def test_a_release_app_without_external_data_is_not_readable_exit_3(fake_terminal, tsd, tmp_path):
    """A non-debuggable app (the production case) with its database in the private folder:
    pull-db used to print "no database found" and exit 0 — also with --root and no su."""
    fake = fake_terminal(packages=[{"name": REL}],
                         files={f"/data/data/{REL}/databases/stock.db": plain_database(),
                                f"{EXT}/files/readme.txt": "hello"})
    for extra in ([], ["--root"]):
        out = tmp_path / ("out" + "".join(extra))
        code, stdout, _ = tsd(*fake.args, "pull-db", REL, "-o", out, *extra)
        assert code == 3, stdout
        assert "no database" not in stdout
        assert "not readable: run-as: package not debuggable" in stdout
        assert "Ways out" in stdout and "export of the database (--attach it)" in stdout
    assert "su: su not found" in stdout or "su: su refused" in stdout, stdout


def test_pull_db_of_a_package_not_installed_leaves_no_folder(fake_server, tmp_path, tsd):
    server = fake_server("zebra_tc52")
    out_dir = str(tmp_path / "out")
    code, out, err = tsd("-H", "127.0.0.1", "-P", server.port, "pull-db", "com.no.such.app", "-o", out_dir)
    assert code == 3 and "com.no.such.app is not installed on" in err, (code, err)
    assert not (tmp_path / "out").exists()  # a typo leaves nothing behind to clean up


def test_run_as_lists_beside_pm_path(fake_terminal, tmp_path, monkeypatch, wal):
    """pull-db asks run-as's find while `pm path` is still unanswered: here `pm path` waits until
    the find has gone out, which it never would if the find waited for `pm path`."""
    import threading
    import time

    from tsdtool.collectors import database

    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/app.db": wal.db, f"{DATA}/databases/app.db-wal": wal.wal})
    real, seen = database.ensure_installed, threading.Event()

    def installed(device, package):
        deadline = time.monotonic() + 10
        while not any(c.startswith(f"run-as {DBG} find ") for c in fake.spy.commands):
            if time.monotonic() > deadline:
                raise AssertionError("run-as's find waited for pm path")
            time.sleep(0.01)
        seen.set()
        real(device, package)

    monkeypatch.setattr(database, "ensure_installed", installed)
    pull, out = database.pull_db(fake.device(), DBG, tmp_path / "out")
    assert seen.is_set() and pull.complete
    assert len([c for c in fake.spy.commands if c.startswith(f"run-as {DBG} find ")]) == 1  # its turn took it
    db = out.root / "internal/databases/app.db"
    assert rows_in(db, db.with_name("app.db-wal")) == ROWS


def test_a_package_not_installed_waits_for_the_listing_asked_beside(fake_terminal, tmp_path, monkeypatch):
    from tsdtool.apps import access
    from tsdtool.collectors import database

    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}])
    waited = []
    real = access.Reach.settle
    monkeypatch.setattr(access.Reach, "settle", lambda self: waited.append(dict(self._ahead)) or real(self))
    with pytest.raises(errors.RemoteFileError, match="is not installed"):
        database.pull_db(fake.device(), "com.no.such.app", tmp_path / "out")
    assert [list(w) for w in waited] == [[0]] and not (tmp_path / "out").exists()


def test_a_piped_pull_db_says_its_result_without_rich(fake_terminal, tmp_path, wal):
    """Piped, pull-db's result is plain lines (console.lines: the characters Rich would write), so
    Rich is neither imported ahead nor for the result."""
    import subprocess
    import sys
    import textwrap

    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={f"{DATA}/databases/app.db": wal.db, f"{DATA}/databases/app.db-wal": wal.wal,
                                f"{DATA}/databases/[bold]x:smile:.db": plain_database()})
    probe = textwrap.dedent("""
        import sys
        from tsdtool.quick import main
        code = main(sys.argv[1:])
        print(code, sorted(m for m in sys.modules if m.startswith("rich")))
    """)
    proc = subprocess.run([sys.executable, "-c", probe, *map(str, fake.args), "pull-db", DBG, "-o",
                           str(tmp_path / "out")], cwd=Path(__file__).parent.parent, capture_output=True, text=True,
                          timeout=60)
    lines = proc.stdout.splitlines()
    assert lines[-1] == "0 []", proc.stdout + proc.stderr
    assert lines[0] == f"{DBG} — app profile Any app (auto-discovery)"
    assert lines[1].startswith("  ✓ run-as   /data/data/com.acme.scan: ")
    # device text is never read as markup or an emoji code (the local name is Windows-safe)
    assert f"  {DATA}/databases/[bold]x:smile:.db → internal/databases/[bold]x_smile_.db: integrity ok, 1 tables, " \
           "2 rows, rollback" in lines
    assert f"  {DATA}/databases/app.db → internal/databases/app.db: integrity ok, 1 tables, 3 rows, " \
           "wal (-wal applied)" in lines
    assert lines[-2] == f"written to {tmp_path / 'out'}"


def test_the_database_module_leaves_what_comes_later_unimported():
    """pull-db imports collectors.database before its first request: json (the summary),
    concurrent.futures with logging (the checks and streams), the check and the backup rung
    are imported where used, after the first requests went out."""
    import subprocess
    import sys

    probe = ("import sys; import tsdtool.quick, tsdtool.collectors.database; print(sorted(m for m in ('json', "
             "'concurrent.futures', 'logging', 'tsdtool.apps.backup', 'tsdtool.apps.dbcheck') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).parent.parent, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def _toybox_heads(tmp_path: Path, files: dict[str, bytes], order: list[str]) -> bytes:
    """What toybox's head prints for several files (the fake's real shell runs the same toybox)."""
    import os
    import shutil
    import subprocess

    toybox = shutil.which("toybox")
    if toybox is None:  # under CI a missing tool fails (.ci/run installs it)
        (pytest.fail if os.environ.get("CI") else pytest.skip)("toybox is not installed")
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return subprocess.run([toybox, "head", "-c", "16", *order], cwd=tmp_path, capture_output=True).stdout


def test_heads_of_several_files_come_from_one_toybox_head(tmp_path):
    from tsdtool.apps.access import split_heads

    magic = b"SQLite format 3\x00"
    root = str(tmp_path)
    files = {"a.db": magic + b"rest of page", "short": b"abc", "empty": b"",
             "tricky\n==> x <==": b"\n==> " + root.encode()[:11], "b.db": magic,
             "looks": b"x\n==> " + f"{root}/b.db <==\n".encode()}
    order = [f"{root}/{name}" for name in ("a.db", "missing", "short", "empty", "tricky\n==> x <==", "looks", "b.db")]
    out = _toybox_heads(tmp_path, files, order)
    heads = split_heads(out, order, 16)
    assert heads == {path: (tmp_path / path.rsplit("/", 1)[1]).read_bytes()[:16] if "missing" not in path else b""
                     for path in order}
    assert split_heads(out, order[:1] + order[2:], 16) == {p: heads[p] for p in order if "missing" not in p}
    assert split_heads(b"garbage", order, 16) is None
    assert split_heads(out + b"x", order, 16) is None
    assert split_heads(b"", order, 16) == dict.fromkeys(order, b"")  # none could be opened


def test_the_headers_of_several_files_are_asked_in_one_request(fake_terminal, tmp_path, wal):
    files = {f"{DATA}/databases/app.db": wal.db, f"{DATA}/databases/app.db-wal": wal.wal,
             f"{DATA}/databases/other.db": plain_database(), f"{DATA}/files/notes.txt": "x" * 40,
             f"{DATA}/files/it's $(id).db": plain_database()}
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}], files=files)
    pull = pull_databases(fake.device(), DBG, OutputDir(tmp_path / "out"))
    assert sorted(d["device_path"] for d in pull.databases) == sorted(
        [f"{DATA}/databases/app.db", f"{DATA}/databases/other.db", f"{DATA}/files/it's $(id).db"])
    assert pull.complete
    [heads] = [c for c in fake.spy.commands if c.startswith(f"run-as {DBG} head -c 16 ")]
    import shlex

    assert sorted(shlex.split(heads)[5:]) == sorted(p for p in files if not p.endswith("-wal"))  # not a sidecar's


def test_a_head_answer_not_in_toybox_form_is_asked_again_file_by_file(fake_terminal, tmp_path):
    one, two = f"{DATA}/databases/one.db", f"{DATA}/databases/two.db"
    fake = fake_terminal(packages=[{"name": DBG, "debuggable": True}],
                         files={one: plain_database(), two: plain_database()},
                         device={"shell": {f"run-as {DBG} head -c 16 {one} {two}": "SQLite format 3\n"}})
    pull = pull_databases(fake.device(), DBG, OutputDir(tmp_path / "out"))
    assert sorted(d["device_path"] for d in pull.databases) == [one, two] and pull.complete
    assert len([c for c in fake.spy.commands if c.startswith(f"run-as {DBG} head -c 16 ")]) == 3


def test_the_early_listing_is_the_fallback_profiles_own():
    """quick.pull_db asks run-as's listing of these folders before any profile is read: they must be
    the fallback profile's, or the early answer would never be the one RunAs asks for."""
    from tsdtool.apps import listing, profiles

    match = profiles.for_package("com.nobody.has.a.profile")
    assert match.profile.fallback and match.profile.internal == listing.FALLBACK_INTERNAL

