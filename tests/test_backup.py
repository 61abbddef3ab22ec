"""The database of a release build through `adb backup`: the fake's backup service end to end,
the stream reader on hostile input, and the ladder's reasons in the manifest."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import zlib

import pytest

from tests.appdata_helpers import ROWS, rows_in, terminals, wal_database
from tsdtool.apps import backup
from tsdtool.collectors.database import pull_databases
from tsdtool.outdir import OutputDir

PKG = "com.grsoft.napoleon"
DATA = f"/data/data/{PKG}"


@pytest.fixture
def fake_terminal(tmp_path):
    yield from terminals(tmp_path)


@pytest.fixture(scope="module")
def wal():
    return wal_database()


def _napoleon(fake_terminal, wal, *, sdk=29, package=None, device=None):
    files = {f"{DATA}/files/napoleon.db": wal.db, f"{DATA}/files/napoleon.db-wal": wal.wal,
             f"{DATA}/cache/big.bin": b"x" * 100, f"{DATA}/shared_prefs/cfg.xml": "<map/>"}
    return fake_terminal(sdk=sdk, packages=[package or {"name": PKG, "version_name": "3.62.4"}], files=files,
                         device=device or {})


def _attempts(pull):
    return {a.way: (a.ok, a.reason) for a in pull.attempts}


def test_release_build_database_arrives_through_backup_with_its_wal(fake_terminal, tmp_path, wal):
    fake = _napoleon(fake_terminal, wal)
    out = OutputDir(tmp_path / "out")
    pull = pull_databases(fake.device(), PKG, out, backup_wait=5)
    attempts = _attempts(pull)
    assert attempts["run-as"] == (False, "package not debuggable")
    assert attempts["su"][0] is False and "--root" in attempts["su"][1]
    assert attempts["backup"][0] is True
    [db] = pull.databases
    assert db["way"] == "backup" and db["device_path"] == f"{DATA}/files/napoleon.db"
    assert db["complete"] and db["check"]["sidecars"] == ["-wal"] and db["check"]["integrity"] == ["ok"]
    folder = tmp_path / "out/internal/files"
    assert rows_in(folder / "napoleon.db", folder / "napoleon.db-wal") == ROWS  # WAL rows kept
    assert not (tmp_path / "out/internal/cache").exists()  # Android never backs up cache/
    assert pull.not_readable == ""
    assert f"backup: '-noapk' '{PKG}'" in fake.server.requests
    assert fake.terminal.journal == []


@pytest.mark.parametrize("conf, reason", [
    ({"answer": "deny"}, "refused or not confirmed"),
    ({"answer": "none", "timeout_ms": 300}, "refused or not confirmed"),
    ({"password": True}, "encrypted"),
])
def test_a_refused_or_encrypted_backup_gives_the_exact_reason(fake_terminal, tmp_path, wal, conf, reason):
    fake = _napoleon(fake_terminal, wal, device={"backup": conf})
    pull = pull_databases(fake.device(), PKG, OutputDir(tmp_path / "out"), backup_wait=5)
    ok, why = _attempts(pull)["backup"]
    assert not ok and reason in why
    assert pull.databases == () and "Ways out" in pull.not_readable


def test_no_tap_within_our_wait_is_a_timeout_not_a_hang(fake_terminal, tmp_path, wal):
    fake = _napoleon(fake_terminal, wal, device={"backup": {"answer": "none", "timeout_ms": 5000}})
    pull = pull_databases(fake.device(), PKG, OutputDir(tmp_path / "out"), backup_wait=1)
    ok, why = _attempts(pull)["backup"]
    assert not ok and why.startswith("no answer from the terminal within 1 s")


@pytest.mark.parametrize("sdk, package, reason", [
    (29, {"name": PKG, "allow_backup": False}, "allowBackup=false"),
    (31, {"name": PKG, "target_sdk": 31}, "Android 12+"),
    (13, {"name": PKG}, "Android 4.0"),
])
def test_backup_is_not_asked_where_android_or_the_app_forbid_it(fake_terminal, tmp_path, wal, sdk, package, reason):
    fake = _napoleon(fake_terminal, wal, sdk=sdk, package=package)
    pull = pull_databases(fake.device(), PKG, OutputDir(tmp_path / "out"), backup_wait=5)
    ok, why = _attempts(pull)["backup"]
    assert not ok and why.startswith("not tried:") and reason in why
    assert not any(r.startswith("backup:") for r in fake.server.requests)  # no tap asked for nothing


def test_android_12_still_backs_up_a_debuggable_app_and_old_targets(fake_terminal, tmp_path, wal):
    fake = _napoleon(fake_terminal, wal, sdk=31, package={"name": PKG, "target_sdk": 30})
    pull = pull_databases(fake.device(), PKG, OutputDir(tmp_path / "out"), backup_wait=5)
    assert _attempts(pull)["backup"][0] is True and len(pull.databases) == 1


def test_without_backup_the_ladder_names_the_ways_out(fake_terminal, tsd, tmp_path, wal):
    fake = _napoleon(fake_terminal, wal)
    code, stdout, _ = tsd(*fake.args, "pull-db", PKG, "-o", tmp_path / "out")
    assert code == 3
    summary = json.loads((tmp_path / "out/databases.json").read_text("utf-8"))
    backup_attempt = [a for a in summary["attempts"] if a["way"] == "backup"][0]
    assert "--backup" in backup_attempt["reason"] and "Ways out" in summary["not_readable"]
    assert "Ways out" in stdout
    code, stdout, stderr = tsd(*fake.args, "pull-db", PKG, "--backup", "--backup-wait", "5", "-o", tmp_path / "b")
    assert code == 0, stdout + stderr
    assert "tap «Back up my data» within 5 s" in " ".join(stderr.split())  # said even with no live display
    assert rows_in(tmp_path / "b/internal/files/napoleon.db", tmp_path / "b/internal/files/napoleon.db-wal") == ROWS


def test_debian_adb_client_reads_the_fakes_backup(fake_terminal, tmp_path, wal, adb_path):
    """The unmodified adb client talks to the fake's backup service; our reader unpacks its file."""
    fake = _napoleon(fake_terminal, wal)
    target = tmp_path / "napoleon.ab"
    run = subprocess.run([adb_path, "-P", str(fake.server.port), "backup", "-f", str(target), "-noapk", PKG],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "confirm the backup operation" in run.stdout
    assert f"backup: '-noapk' '{PKG}'" in fake.server.requests  # the same request tsdtool sends
    out = OutputDir(tmp_path / "out")
    with target.open("rb") as fh:
        items = backup.unpack(fh, PKG, out, prefix="", folders=("files",), kind="database")
    assert set(items) == {f"{DATA}/files/napoleon.db", f"{DATA}/files/napoleon.db-wal", f"adb backup {PKG}: _manifest"}


# -- the stream reader on its own ----------------------------------------------------------------


def _stream(members: dict[str, bytes], *, header=b"ANDROID BACKUP\n5\n1\nnone\n", compress=True) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    body = buf.getvalue()
    return io.BytesIO(header + (zlib.compress(body) if compress else body))


def _unpack(stream, tmp_path, **kw):
    out = OutputDir(tmp_path / "o")
    items = backup.unpack(stream, PKG, out, prefix="", folders=("files", "databases"), kind="database", **kw)
    return items, out


def test_reader_keeps_only_this_apps_asked_folders_under_our_own_names(tmp_path):
    stream = _stream({f"apps/{PKG}/_manifest": b"1\n", f"apps/{PKG}/f/a.db": b"A",
                      f"apps/{PKG}/db/b.db": b"B", f"apps/{PKG}/sp/c.xml": b"C",
                      "apps/com.other/f/x.db": b"X", f"apps/{PKG}/f/../../../etc/passwd": b"P"})
    items, out = _unpack(stream, tmp_path)
    assert set(items) == {f"{DATA}/files/a.db", f"{DATA}/databases/b.db", f"adb backup {PKG}: _manifest"}
    assert (tmp_path / "o/internal/databases/b.db").read_bytes() == b"B"
    skipped = {i.source: i.reason for i in out.items if i.status == "skipped"}
    assert "'..' in the name" in skipped[f"apps/{PKG}/f/../../../etc/passwd"]
    assert not (tmp_path / "etc").exists()


def test_reader_reads_an_uncompressed_stream(tmp_path):
    items, _ = _unpack(_stream({f"apps/{PKG}/f/a.db": b"A"}, header=b"ANDROID BACKUP\n1\n0\nnone\n",
                               compress=False), tmp_path)
    assert f"{DATA}/files/a.db" in items


@pytest.mark.parametrize("data, reason", [
    (b"", "empty backup"),
    (b"PK\x03\x04" + b"x" * 200, "header line missing or too long"),
    (b"NOT A BACKUP\n5\n1\nnone\n", "no ANDROID BACKUP header"),
    (b"ANDROID BACKUP\n99\n1\nnone\n", "unknown backup format version"),
    (b"ANDROID BACKUP\n5\n7\nnone\n", "compression flag"),
    (b"ANDROID BACKUP\n5\n1\nnone\n" + b"\x78\x9c garbage", "damaged"),
    (b"ANDROID BACKUP\n5\n1\nnone\n" + zlib.compress(b"\0" * 100)[:10], "ended early"),
])
def test_reader_refuses_what_is_not_a_readable_backup(tmp_path, data, reason):
    with pytest.raises(backup.BackupError, match=reason):
        _unpack(io.BytesIO(data), tmp_path)


def test_reader_stops_a_zip_bomb_at_its_budget(tmp_path):
    stream = _stream({f"apps/{PKG}/f/a.db": b"\0" * (4 << 20)})
    with pytest.raises(backup.BackupError, match="more than"):
        _unpack(stream, tmp_path, budget=1 << 20)


def test_reader_takes_thousands_of_members_one_by_one(tmp_path):
    """Many tiny members stream through (each name judged as it comes; timing is for the bench)."""
    stream = _stream({f"apps/{PKG}/f/d{i}.db": b"x" for i in range(3000)})
    items, _ = _unpack(stream, tmp_path)
    assert len(items) == 3000


def test_allowed_rules():
    assert backup.allowed(30, ("ALLOW_BACKUP",), 30, False) == ""
    assert backup.allowed(30, None, None, False) == ""  # unknown flags: try
    assert "allowBackup" in backup.allowed(30, ("HAS_CODE",), 30, False)
    assert backup.allowed(33, ("ALLOW_BACKUP",), 33, True) == ""
    assert "Android 12+" in backup.allowed(33, ("ALLOW_BACKUP",), 33, False)
