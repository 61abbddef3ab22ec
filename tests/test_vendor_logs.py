"""`collect --vendor-logs`: a vendor logger's archive, driven by the device profile, on the fake adb."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from tests.bundle_util import (
    collect,
    every_bundle_verifies,  # noqa: F401 - autouse: every bundle must verify
    field_args,
    manifest_of,
    read_item,
)
from tests.fake_adb import make_fixture
from tsdtool.devices import loggers

BACKUP_NOW = "com.symbol.rxlogger.intent.action.BACKUP_NOW"  # declared in device_profiles/zebra.toml
RXLOGGER = {"name": "com.symbol.rxlogger", "system": True}


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(name, data)
    return buffer.getvalue()


ARCHIVE = _zip("diag/logcat.txt", bytes(range(256)) * 64)  # what the fake's logger "backs up"


def _zebra(tmp_path: Path, *, sdk: int = 30, packages=(RXLOGGER,), broadcasts: bool = True) -> Path:
    """A Zebra terminal whose RxLogger answers BACKUP_NOW with an archive 0.3 s later, next to an old one."""
    device = {}
    if broadcasts:
        device["broadcasts"] = {BACKUP_NOW: {"creates": "/sdcard/RxLogger/Backup-20240101-120000.zip",
                                             "file": "backup.zip", "after_ms": 300}}
    fixture = make_fixture(tmp_path / "fixtures", "ZEB0001", sdk=sdk, packages=packages, device=device,
                           files={"sdcard/RxLogger/Backup-20231224-080000.zip": _zip("old.txt", b"old")})
    (fixture / "backup.zip").write_bytes(ARCHIVE)
    return fixture


def _items(result: dict, prefix: str = "vendor_logs") -> list[dict]:
    return [i for i in result["items"] if i["path"].startswith(prefix)]


def _broadcasts(server) -> list[str]:
    return [detail for kind, detail in server.terminal("ZEB0001").journal if kind == "broadcast"]


def test_the_archive_the_broadcast_makes_lands_in_the_bundle_hashed(fake_server, tsd, tmp_path):
    fixture = _zebra(tmp_path)
    server = fake_server(fixture)
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--vendor-logs", *field_args())
    assert code == 3 and result["status"] == "complete", err  # 3: the generic desk wants app_version
    [item] = _items(result)
    assert item["path"] == "vendor_logs/rxlogger/Backup-20240101-120000.zip"  # the new one, not the old
    assert item["status"] == "ok" and item["size"] == len(ARCHIVE)
    bundle = Path(result["bundle"])
    assert read_item(bundle, item["path"]) == ARCHIVE
    manifest = manifest_of(bundle)
    [entry] = [i for i in manifest["items"] if i["path"] == item["path"]]
    assert entry["sha256"] == hashlib.sha256(ARCHIVE).hexdigest()
    assert manifest["options"]["vendor_logs"] is True
    [sent] = manifest["options"]["vendor_broadcasts"]
    assert sent["action"] == BACKUP_NOW and sent["sent_at"].endswith("Z") and sent["status"] == "ok"
    assert _broadcasts(server) == [f"Intent {{ act={BACKUP_NOW} flg=0x400000 }}"]
    on_disk = sorted(p.name for p in (fixture / "fs/sdcard/RxLogger").iterdir())
    assert on_disk == ["Backup-20231224-080000.zip"]  # the fake made the archive in memory only


def test_a_logger_not_installed_is_a_reason_and_the_bundle_stays_complete(fake_server, tsd, tmp_path):
    server = fake_server(_zebra(tmp_path, packages=()))
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--vendor-logs", *field_args())
    assert result["status"] == "complete"
    [item] = _items(result)
    assert item["status"] == "skipped" and "not installed (com.symbol.rxlogger)" in item["reason"]
    assert _broadcasts(server) == []
    assert any(i["path"] == "logcat.txt" and i["status"] == "ok" for i in result["items"])


def test_an_android_release_outside_the_declaration_sends_nothing(fake_server, tsd, tmp_path):
    server = fake_server(_zebra(tmp_path, sdk=35))
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--vendor-logs", *field_args())
    assert result["status"] == "complete"
    [item] = _items(result)
    assert item["status"] == "skipped" and "no export declared for Android API 35" in item["reason"]
    assert _broadcasts(server) == []


SLOW_PROFILE = """\
id = "acme"
kind = "device"
name = "Acme Rugged"

[[match]]
props = ["ro.product.manufacturer"]
regex = "^Acme"

[[logger]]
name = "acme_log"
label = "Acme Logger"
package = "com.acme.logger"
archive_dir = "/sdcard/AcmeLog"
archive_glob = "*.zip"
deadline_seconds = 1

[[logger.export]]
action = "com.acme.logger.EXPORT"
explicit = true
"""


def test_no_archive_by_the_deadline_is_a_failed_item_and_exit_3(fake_server, tsd, tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "acme.toml").write_text(SLOW_PROFILE, encoding="utf-8")
    acme = {"ro.product.manufacturer": "Acme Rugged", "ro.product.brand": "Acme"}
    fixture = make_fixture(tmp_path / "fixtures", "ZEB0001", model="R1", props=acme,
                           packages=[{"name": "com.acme.logger"}], files={"sdcard/AcmeLog/": b""})
    server = fake_server(fixture)
    code, out, err = tsd("--profiles-dir", profiles, "-H", "127.0.0.1", "-P", server.port, "collect",
                         "-o", tmp_path / "out", "--no-input", "--json", "--vendor-logs", *field_args())
    result = json.loads(out)
    assert code == 3 and result["status"] == "partial", _items(result)
    [item] = _items(result)
    assert item["status"] == "failed"
    assert item["reason"] == "Acme Logger: no *.zip in /sdcard/AcmeLog within 1 s"
    # explicit = true sends the broadcast to the logger's package only
    assert _broadcasts(server) == ["Intent { act=com.acme.logger.EXPORT flg=0x400000 pkg=com.acme.logger }"]


def test_without_the_flag_no_broadcast_is_sent(fake_server, tsd, tmp_path):
    server = fake_server(_zebra(tmp_path))
    code, result, _ = collect(tsd, server.port, tmp_path / "out", *field_args())
    assert result["status"] == "complete" and _items(result) == []
    assert _broadcasts(server) == []
    options = manifest_of(Path(result["bundle"]))["options"]
    assert options["vendor_logs"] is False and "vendor_broadcasts" not in options


BAD_LOGGER = SLOW_PROFILE.replace('deadline_seconds = 1', 'deadline_seconds = 0\ncolour = "red"').replace(
    'action = "com.acme.logger.EXPORT"', 'action = "EXPORT NOW"\nmin_sdk = 30\nmax_sdk = 21')


def test_profiles_check_names_every_mistake_in_a_logger(tsd, tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text(BAD_LOGGER, encoding="utf-8")
    code, out, err = tsd("profiles", "check", path)
    text = " ".join((out + err).split())
    assert code == 1
    for key in ("logger[0].deadline_seconds", "logger[0].colour", "logger[0].export[0].action",
                "logger[0].export[0]: min_sdk 30 is above max_sdk 21"):
        assert f"acme.toml:{key}" in text, key


def test_a_logger_without_an_export_or_with_a_relative_folder_is_refused():
    table = {"name": "x", "label": "X", "package": "com.x", "archive_dir": "logs", "archive_glob": "a/*.zip",
             "deadline_seconds": 5}
    problems = loggers.check("f.toml", [table])
    keys = {p.key for p in problems}
    assert keys == {"logger[0].archive_dir", "logger[0].archive_glob", "logger[0].export"}
    assert loggers.check("f.toml", {"name": "x"})[0].key == "logger"


# -- Datalogic Logger: declared with copy_existing (device_profiles/datalogic.toml says why) ------

DL_DIR = "sdcard/Android/data/com.datalogic.logger/files"


def _datalogic(tmp_path: Path, files: dict[str, bytes]) -> Path:
    import os

    props = {"ro.product.manufacturer": "Datalogic", "ro.product.brand": "Datalogic"}
    fixture = make_fixture(tmp_path / "fixtures", "DLG0001", model="Memor 10", props=props,
                           packages=[{"name": "com.datalogic.logger", "system": True}], files=files)
    for name, age in (("log_Memor10_DLG0001_20240301-101500.zip", 3600),
                      ("log_Memor10_DLG0001_20240302-090000.zip", 7200)):
        path = fixture / "fs" / DL_DIR / name
        if path.exists():  # the second by name is the older one on the clock: the clock decides
            os.utime(path, (1_700_000_000 - age,) * 2)
    return fixture


def test_datalogic_logger_copies_the_newest_archive_and_sends_nothing(fake_server, tsd, tmp_path):
    newest, older = _zip("logcat.log", b"the last session"), _zip("logcat.log", b"an older one")
    server = fake_server(_datalogic(tmp_path, {f"{DL_DIR}/log_Memor10_DLG0001_20240301-101500.zip": newest,
                                               f"{DL_DIR}/log_Memor10_DLG0001_20240302-090000.zip": older,
                                               f"{DL_DIR}/readme.txt": b"not an archive"}))
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--vendor-logs", *field_args())
    assert result is not None, err
    [item] = _items(result)
    assert item["status"] == "ok" and item["path"].endswith("/log_Memor10_DLG0001_20240301-101500.zip"), item
    manifest = manifest_of(Path(result["bundle"]))
    [stored] = [i for i in manifest["items"] if i["path"] == item["path"]]
    assert stored["source"] == "/" + DL_DIR + "/log_Memor10_DLG0001_20240301-101500.zip"
    assert read_item(Path(result["bundle"]), item["path"]) == newest
    assert [d for kind, d in server.terminal("DLG0001").journal if kind == "broadcast"] == []  # no intent sent
    record = manifest["options"]["vendor_broadcasts"]
    assert record == [{"logger": "datalogic_logger", "package": "com.datalogic.logger", "status": "ok",
                       "archive": "/" + DL_DIR + "/log_Memor10_DLG0001_20240301-101500.zip", "copied": "existing"}]


def test_datalogic_logger_without_an_archive_says_so_and_stays_complete(fake_server, tsd, tmp_path):
    server = fake_server(_datalogic(tmp_path, {f"{DL_DIR}/readme.txt": b"no archive yet"}))
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--vendor-logs", *field_args())
    [item] = _items(result)
    assert item["status"] == "skipped" and result["status"] == "complete", item
    assert item["reason"].startswith("Datalogic Logger: no log_*.zip in /" + DL_DIR), item


def test_copy_existing_replaces_the_export_and_never_joins_it():
    base = {"name": "x", "label": "X", "package": "com.x", "archive_dir": "/sdcard/x", "archive_glob": "*.zip"}
    assert loggers.check("f.toml", [{**base, "copy_existing": True}]) == []  # no export, no deadline needed
    both = {**base, "copy_existing": True, "deadline_seconds": 5, "export": [{"action": "com.x.EXPORT"}]}
    assert {p.key for p in loggers.check("f.toml", [both])} == {"logger[0].copy_existing"}
    assert {p.key for p in loggers.check("f.toml", [{**base, "copy_existing": "yes"}])} >= {"logger[0].copy_existing"}
