"""The PC side over a fake Windows drive built here: Windows, 1C, Mobile SMARTS, GRServer.

No Windows machine exists here: the tree is made in the test (odd letter case included, as a
copied drive keeps it), executables are minimal PE images with the header fields the readers
use, and the live-Windows branch is driven with patched platform facts and a fake winreg.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time
import types
from pathlib import Path

import pytest

from tsdtool.collectors.base import Context, run_all
from tsdtool.outdir import OutputDir
from tsdtool.pc import grserver, mobilesmarts, onec, pe, run, windows
from tsdtool.pc.common import profile_pc
from tsdtool.pc.root import PcRoot

AMD64, I386 = 0x8664, 0x014C


def pe_image(machine: int, version: tuple[int, int, int, int] | None = None) -> bytes:
    head = bytearray(0x40)
    head[:2] = b"MZ"
    struct.pack_into("<I", head, 0x3C, 0x40)
    body = b"PE\0\0" + struct.pack("<H", machine) + b"\0" * 200
    if version:
        a, b, c, d = version
        body += b"\xbd\x04\xef\xfe" + struct.pack("<III", 0x00010000, a << 16 | b, c << 16 | d)
    return bytes(head) + body


def _put(root: Path, rel: str, data: bytes | str = b"") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


@pytest.fixture
def drive(tmp_path) -> Path:
    return make_drive(tmp_path)


def make_drive(tmp_path: Path) -> Path:
    """A 64-bit Windows drive with 1C (two versions, both bitnesses), Mobile SMARTS and GRServer."""
    c = tmp_path / "C"
    (c / "Windows/System32").mkdir(parents=True)
    (c / "Windows/SysWOW64").mkdir(parents=True)
    _put(c, "Program Files/1cv8/8.3.24.1467/bin/1cv8s.exe", pe_image(AMD64))
    _put(c, "PROGRAM FILES (X86)/1cv8/8.3.22.1709/bin/1cv8.exe", pe_image(I386))
    _put(c, "Program Files/1cv8/common/1cestart.exe", pe_image(AMD64))
    # a per-user install named only by 1CEStart.cfg (UTF-16LE with BOM, as 1C writes it)
    _put(c, "Tools/1C/8.3.25.1257/bin/1cv8s.exe", pe_image(AMD64))
    cfg = "DefaultVersion=8.3\r\nInstalledLocation=C:\\Tools\\1C\r\nInstalledLocation=D:\\Other\\1cv8\r\n"
    _put(c, "ProgramData/1C/1CEStart/1CEStart.cfg", b"\xff\xfe" + cfg.encode("utf-16-le"))
    _put(c, "ProgramData/Cleverence/apps.xml", '<?xml version="1.0"?><apps><app name="Склад 15"/></apps>')
    _put(c, "ProgramData/Cleverence/Databases/Склад 15/Logs/2026-11-30.log", "new log line\n")
    old = _put(c, "ProgramData/Cleverence/Databases/Склад 15/Logs/2026-01-01.log", "old log line\n")
    os.utime(old, (time.time() - 30 * 86400,) * 2)
    _put(c, "ProgramData/Cleverence/Logs/panel.log", "panel\n")
    _put(c, "Program Files (x86)/Cleverence Soft/Cleverence/AppsManager/MobileSMARTSUpdater.exe",
         pe_image(I386, (3, 4, 46, 31745)))
    ini = "serverBase = base.gdb\r\nexchangeFolder = Exp\\\r\njsPassword = secret\r\nPort = 8888\r\n"
    _put(c, "Program Files (x86)/GRServer/GRServer.ini", ini.encode("cp1251"))
    _put(c, "Program Files (x86)/GRServer/Exp/ORDERS.DBF", b"\x03" + b"\0" * 40)
    _put(c, "Program Files (x86)/GRServer/Exp/Обмен.txt", "выгрузка".encode("cp1251"))
    return c


def _ctx(out: Path, root: PcRoot, **options) -> Context:
    return Context(None, OutputDir(out), options={"pc_root": root, **options})  # type: ignore[arg-type]


def test_pe_header_gives_bitness_and_version(tmp_path):
    assert pe.bitness(_put(tmp_path, "a.exe", pe_image(AMD64))) == "64-bit (x64)"
    assert pe.bitness(_put(tmp_path, "b.exe", pe_image(I386))) == "32-bit (x86)"
    assert pe.bitness(_put(tmp_path, "c.exe", b"#!/bin/sh\n")) == ""
    assert pe.bitness(_put(tmp_path, "d.exe", b"MZ" + b"\xff" * 62)) == ""  # e_lfanew past the end
    assert pe.file_version(_put(tmp_path, "e.exe", pe_image(I386, (3, 4, 46, 31745)))) == "3.4.46.31745"
    assert pe.file_version(_put(tmp_path, "f.exe", pe_image(I386))) == ""


def test_version_signature_split_across_read_blocks(tmp_path, monkeypatch):
    data = b"x" * (1024 * 1024 - 2) + b"\xbd\x04\xef\xfe" + struct.pack("<III", 0x00010000, 8 << 16 | 3, 24 << 16 | 1)
    assert pe.file_version(_put(tmp_path, "g.exe", data)) == "8.3.24.1"


def test_onec_versions_and_bitness_from_folders_and_1cestart_cfg(drive):
    facts = onec.read_onec(PcRoot.given(drive))
    found = {v["version"]: v["bitness"] for v in facts["versions"]}
    assert found == {"8.3.24.1467": "64-bit (x64)", "8.3.22.1709": "32-bit (x86)", "8.3.25.1257": "64-bit (x64)"}
    assert any("drive D:" in n for n in facts["notes"])  # a location on another drive is named, not guessed


def test_windows_offline_bitness_from_syswow64_and_version_unknown_without_a_hive(drive, tmp_path):
    facts = windows.read_windows(PcRoot.given(drive))
    assert facts["bitness"] == "64-bit" and facts["version"] == "unknown" and "no Windows/System32/config/SOFTWARE" \
        in facts["version_reason"]
    (tmp_path / "x86/Windows/System32").mkdir(parents=True)
    assert windows.read_windows(PcRoot.given(tmp_path / "x86"))["bitness"] == "32-bit"
    assert not windows.read_windows(PcRoot.given(tmp_path / "x86/Windows"))["found"]


def test_windows_live_reads_the_registry_only_on_windows(monkeypatch):
    values = {"ProductName": "Windows 10 Pro", "DisplayVersion": "23H2", "CurrentBuild": "22631", "UBR": 2861}

    class Key:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def query(key, name):
        if name not in values:
            raise OSError(name)
        return values[name], 1

    fake = types.SimpleNamespace(HKEY_LOCAL_MACHINE=1, OpenKey=lambda *a: Key(), QueryValueEx=query)
    monkeypatch.setitem(sys.modules, "winreg", fake)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("PROCESSOR_ARCHITECTURE", "x86")
    monkeypatch.setenv("PROCESSOR_ARCHITEW6432", "AMD64")  # a 32-bit process on 64-bit Windows
    facts = windows.read_windows(PcRoot(Path("C:\\"), live=True))
    assert facts["version"] == "Windows 11 Pro 23H2 (build 22631.2861)" and facts["bitness"] == "64-bit"
    monkeypatch.setattr(sys, "platform", "linux")  # a live root on Linux never touches winreg
    assert windows.read_windows(PcRoot(Path("/"), live=True))["found"] is False


def test_here_is_the_system_drive_on_windows_and_no_windows_elsewhere(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("SystemDrive", "d:")
    root = PcRoot.here()
    assert root.live and root.drive == "D:" and str(root.path).startswith("d:")
    monkeypatch.setattr(sys, "platform", "linux")
    assert PcRoot.here().live is False


def test_grserver_ini_parsed_like_grserver_and_its_exchange_folder_attached(drive, tmp_path):
    ctx = _ctx(tmp_path / "out", PcRoot.given(drive))
    run_all([grserver.GRServerCollector()], ctx)
    facts = ctx.facts["pc"]["grserver"]
    assert facts["exchange_folder"] == "Exp\\" and facts["attached"] and facts["files"] == 2
    assert (tmp_path / "out/pc/grserver/exchange/ORDERS.DBF").is_file()
    assert "Обмен.txt" in {p.name for p in (tmp_path / "out/pc/grserver/exchange").iterdir()}
    written = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert b"secret" not in written  # the ini's password never reaches the bundle


def test_grserver_big_exchange_folder_is_linked_not_attached(drive, tmp_path, monkeypatch):
    monkeypatch.setattr(grserver, "ATTACH_LIMIT", 10)
    ctx = _ctx(tmp_path / "out", PcRoot.given(drive))
    run_all([grserver.GRServerCollector()], ctx)
    facts = ctx.facts["pc"]["grserver"]
    # the reason says what the person still has to do, with the folder as Windows names it
    assert facts["attached"] is False and "zip the folder C:\\Program Files (x86)\\GRServer\\Exp, upload" \
        in facts["reason"] and "--field exchange_link=URL" in facts["reason"]
    assert not (tmp_path / "out/pc/grserver/exchange").exists()


@pytest.mark.parametrize("value, expect", [
    ("D:\\Exchange\\", "drive D:"), ("\\\\srv\\share\\exp", "network share"), ("..\\..\\..\\..\\..\\etc", "outside"),
    ("", "no exchangeFolder"),
])
def test_grserver_exchange_folder_elsewhere_says_where(drive, tmp_path, value, expect):
    _put(drive, "Program Files (x86)/GRServer/GRServer.ini", f"exchangeFolder = {value}\n")
    ctx = _ctx(tmp_path / "out", PcRoot.given(drive))
    run_all([grserver.GRServerCollector()], ctx)
    assert expect in ctx.facts["pc"]["grserver"]["reason"]
    assert [i for i in ctx.out.items if i.status == "failed"]


def test_mobilesmarts_bases_updater_version_and_logs_within_since(drive, tmp_path):
    ctx = _ctx(tmp_path / "out", PcRoot.given(drive), since="2d")
    run_all(run.collectors(), ctx)
    ms = ctx.facts["pc"]["mobilesmarts"]
    assert ms["bases"] == ["Склад 15"] and ms["updater_version"] == "3.4.46.31745"
    logs = {p.name for p in (tmp_path / "out/pc/mobilesmarts").rglob("*.log")}
    assert logs == {"2026-11-30.log", "panel.log"}  # the month-old log is outside --since
    assert (tmp_path / "out/pc/mobilesmarts/apps.xml").is_file()
    assert json.loads((tmp_path / "out/pc/1c.json").read_text("utf-8"))["versions"]


def test_pc_command_on_a_copied_drive(drive, tmp_path, tsd):
    code, out, err = tsd("pc", "--pc-root", drive, "-o", tmp_path / "out")
    assert code == 0, out + err
    assert "8.3.24.1467 64-bit (x64)" in out and "Склад 15" in out and "Exp\\" in out
    code, out, _ = tsd("pc", "--pc-root", drive, "-o", tmp_path / "out2", "--json")
    assert code == 0 and json.loads(out)["windows"]["bitness"] == "64-bit"


def test_an_empty_root_gives_skipped_items_not_errors(tmp_path, tsd):
    (tmp_path / "empty").mkdir()
    code, out, _ = tsd("pc", "--pc-root", tmp_path / "empty", "-o", tmp_path / "out")
    assert code == 0 and "1C:Enterprise: not found" in out and "GRServer: not found" in out


def test_collect_with_pc_root_puts_the_pc_items_in_the_verified_bundle(drive, tmp_path, tsd, fake_server):
    import zipfile

    from tests.bundle_util import collect, field_args

    server = fake_server("zebra_tc52")
    code, result, stderr = collect(tsd, server.port, tmp_path / "out", "--pc-root", str(drive), *field_args())
    assert result is not None, stderr
    with zipfile.ZipFile(result["bundle"]) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert {"pc/1c.json", "pc/windows.json", "pc/grserver/summary.json", "pc/mobilesmarts/summary.json"} <= names
    assert "pc/grserver/exchange/ORDERS.DBF" in names and manifest["options"]["pc_root"] is True
    pc_items = [i for i in result["items"] if i["path"].startswith("pc/")]
    assert pc_items and all(i["status"] == "ok" and i["kind"] == "pc" for i in pc_items), pc_items
    assert code in (0, 3)  # 3 here only because this terminal has no app with a profile


def test_collect_checks_pc_root_before_touching_the_terminal(tmp_path, tsd, fake_server):
    server = fake_server("zebra_tc52")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "out", "--no-input",
                       "--pc-root", tmp_path / "missing")
    assert code == 2 and not any(r.startswith("host:transport") for r in server.requests)


# -- the SOFTWARE hive, built here in the regf layout tsdtool.pc.hive documents -----------------


class HiveBuilder:
    def __init__(self):
        self.cells = bytearray(32)  # the hbin header; cell offsets count from the bin's start

    def add(self, record: bytes) -> int:
        offset = len(self.cells)
        size = (len(record) + 4 + 7) // 8 * 8
        self.cells += struct.pack("<i", -size) + record + b"\0" * (size - 4 - len(record))
        return offset

    def value(self, name: str, kind: int, data: bytes) -> int:
        if len(data) <= 4:
            size, at = len(data) | 0x80000000, struct.unpack("<I", data.ljust(4, b"\0"))[0]
        else:
            size, at = len(data), self.add(data)
        raw = name.encode("latin-1")
        return self.add(b"vk" + struct.pack("<HIIIHH", len(raw), size, at, kind, 1, 0) + raw)

    def key(self, name: str, subkeys: list[int] = (), values: list[int] = ()) -> int:
        lst = self.add(b"lf" + struct.pack("<H", len(subkeys)) + b"".join(struct.pack("<II", s, 0) for s in subkeys)) \
            if subkeys else 0xFFFFFFFF
        vals = self.add(b"".join(struct.pack("<I", v) for v in values)) if values else 0xFFFFFFFF
        raw = name.encode("latin-1")
        head = bytearray(0x4C)
        head[:2] = b"nk"
        struct.pack_into("<H", head, 2, 0x20)
        struct.pack_into("<II", head, 0x14, len(subkeys), 0)
        struct.pack_into("<I", head, 0x1C, lst)
        struct.pack_into("<II", head, 0x24, len(values), vals)
        struct.pack_into("<H", head, 0x48, len(raw))
        return self.add(bytes(head) + raw)

    def file(self, root: int) -> bytes:
        base = bytearray(4096)
        base[:4] = b"regf"
        struct.pack_into("<I", base, 0x24, root)
        return bytes(base) + bytes(self.cells)


def software_hive(values: dict[str, object]) -> bytes:
    b = HiveBuilder()
    vals = [b.value(n, 1, (v + "\0").encode("utf-16-le")) if isinstance(v, str) else b.value(n, 4, struct.pack("<I", v))
            for n, v in values.items()]
    current = b.key("CurrentVersion", values=vals)
    nt = b.key("Windows NT", [b.key("Other"), current])
    microsoft = b.key("Microsoft", [nt])
    return b.file(b.key("ROOT", [b.key("Classes"), microsoft]))


def test_offline_windows_version_from_the_software_hive(drive):
    _put(drive, "Windows/System32/config/SOFTWARE", software_hive(
        {"ProductName": "Windows 10 Pro", "DisplayVersion": "22H2", "CurrentBuild": "19045", "UBR": 3803}))
    facts = windows.read_windows(PcRoot.given(drive))
    assert facts["version"] == "Windows 10 Pro 22H2 (build 19045.3803)" and facts["bitness"] == "64-bit"
    assert facts["version_source"].startswith("Windows/System32/config/SOFTWARE")


@pytest.mark.parametrize("damage", [
    lambda h: b"nope" + h[4:],                                   # not a hive
    lambda h: h[:4096 + 40],                                     # cut short
    lambda h: h[:0x24] + struct.pack("<I", 10**9) + h[0x28:],    # root offset past the end
    lambda h: h[:4096 + 32] + struct.pack("<i", -(1 << 30)) + h[4096 + 36:],  # absurd cell size
])
def test_a_damaged_hive_leaves_the_version_unknown_with_a_reason(drive, damage):
    good = software_hive({"ProductName": "Windows 10 Pro", "CurrentBuild": "19045"})
    _put(drive, "Windows/System32/config/SOFTWARE", damage(good))
    facts = windows.read_windows(PcRoot.given(drive))
    assert facts["version"] == "unknown" and facts["version_reason"] and facts["bitness"] == "64-bit"


def test_pc_facts_as_desk_field_defaults(drive):
    pc = {"windows": windows.read_windows(PcRoot.given(drive)), "onec": onec.read_onec(PcRoot.given(drive))}
    found = run.field_defaults(pc)
    assert found == {"pc_bitness": "64-bit",  # the version is unknown without a hive: not offered
                     "onec_version": "8.3.25.1257 (64-bit (x64)), 8.3.24.1467 (64-bit (x64)), "
                                     "8.3.22.1709 (32-bit (x86))"}
    pc["mobilesmarts"] = mobilesmarts.read_mobilesmarts(PcRoot.given(drive), profile_pc("cleverence"))
    found = run.field_defaults(pc)  # the updater's version, named with the file it was read from
    assert found["ms_version"] == "3.4.46.31745 (MobileSMARTSUpdater.exe)" and found["ms_bases"] == "Склад 15"
    (drive / "Program Files (x86)/Cleverence Soft/Cleverence/AppsManager/MobileSMARTSUpdater.exe").write_bytes(
        pe_image(I386))  # no version resource: nothing offered rather than a guess
    pc["mobilesmarts"] = mobilesmarts.read_mobilesmarts(PcRoot.given(drive), profile_pc("cleverence"))
    assert "ms_version" not in run.field_defaults(pc) and run.field_defaults(pc)["ms_bases"] == "Склад 15"
    assert run.field_defaults({}) == {}


def test_a_ticket_without_questions_carries_the_pc_roots_facts(drive, tmp_path, tsd, fake_server):
    import zipfile

    from tests.bundle_util import FULL_FIELDS, collect, field_args

    server = fake_server("zebra_tc52")
    typed = {k: v for k, v in FULL_FIELDS.items() if k not in ("pc_os", "pc_bitness", "onec_version")}
    typed["pc_os"] = "Windows Server 2019"  # typed wins over the drive (the drive has no hive: version unknown)
    code, result, stderr = collect(tsd, server.port, tmp_path / "out", "--desk", "cleverence",
                                   "--pc-root", str(drive), *field_args(typed))
    assert result is not None, stderr
    with zipfile.ZipFile(result["bundle"]) as zf:
        form = json.loads(zf.read("manifest.json"))["form"]
        ticket_md = zf.read("ticket.md").decode()
    assert form["pc_bitness"] == "64-bit" and form["pc_os"] == "Windows Server 2019"
    assert form["onec_version"] == ("8.3.25.1257 (64-bit (x64)), 8.3.24.1467 (64-bit (x64)), "
                                    "8.3.22.1709 (32-bit (x86))")
    lines = ticket_md.splitlines()
    assert f"- **Версия 1С**: {form['onec_version']}" in lines
    assert "- **Разрядность ОС**: 64-bit" in lines and "- **ОС компьютера**: Windows Server 2019" in lines
    pc_line = next(line for line in lines if line.startswith("- **С ПК**: "))
    assert pc_line.startswith("- **С ПК**: pc/windows.json, pc/1c.json, pc/mobilesmarts/"), pc_line


# -- the PC values in the ticket, as each desk reads them (Russian), .md and .eml ------------------


def _tickets(result) -> tuple[list[str], str]:
    """The ticket.md lines and the .eml body (decoded) that collect wrote beside the bundle."""
    import email
    from email import policy

    md = Path(result["ticket"]["markdown"]).read_text("utf-8")
    eml = email.message_from_bytes(Path(result["ticket"]["eml"]).read_bytes(), policy=policy.default)
    return md.splitlines(), eml.get_body(("plain",)).get_content()


def test_grsoft_ticket_counts_the_attached_exchange_folder_and_names_it(drive, tmp_path, tsd, fake_server):
    from tests.bundle_util import FULL_FIELDS, collect, field_args

    typed = {k: v for k, v in FULL_FIELDS.items() if k != "exchange_link"}
    code, result, stderr = collect(tsd, fake_server("zebra_tc52").port, tmp_path / "out", "--desk", "grsoft",
                                   "--pc-root", str(drive), *field_args(typed))
    assert result is not None, stderr
    assert not [r for r in result["ticket"]["missing"] if "exchange" in r], result["ticket"]
    lines, body = _tickets(result)
    line = next(ln for ln in lines if ln.startswith("- **Каталог обмена GRServer**: "))
    assert line.startswith("- **Каталог обмена GRServer**: в архиве: pc/grserver/exchange/ (файлов: 2, "), line
    assert line in body.splitlines()  # the mail says the same
    assert not any("Ссылка на архив каталога обмена" in ln for ln in lines)  # nobody is asked for a link


def test_grsoft_ticket_with_an_exchange_folder_too_big_says_what_to_do(drive, tmp_path, tsd, fake_server,
                                                                       monkeypatch):
    from tests.bundle_util import FULL_FIELDS, collect, field_args

    monkeypatch.setattr(grserver, "ATTACH_LIMIT", 10)
    typed = {k: v for k, v in FULL_FIELDS.items() if k != "exchange_link"}
    code, result, stderr = collect(tsd, fake_server("zebra_tc52").port, tmp_path / "out", "--desk", "grsoft",
                                   "--pc-root", str(drive), *field_args(typed))
    assert result is not None, stderr
    assert "exchange_link|exchange_folder|attachments" in result["ticket"]["missing"]
    assert result["ticket"]["ready"] is False  # a ticket the desk would not accept is never "ready"
    lines, body = _tickets(result)
    line = next(ln for ln in lines if ln.startswith("- **Ссылка на архив каталога обмена**: "))
    assert "(не заполнено) — " in line and "заархивируйте папку C:" in line and "GRServer" in line, line
    assert "--field exchange\\_link=URL" in line or "--field exchange_link=URL" in line, line
    assert line in body.splitlines()
    assert not any(ln.startswith("- **Каталог обмена GRServer**") for ln in lines)
    assert lines[2].startswith("> **НЕ ГОТОВО — не хватает:**") and "Ссылка на архив каталога обмена" in lines[2]


def test_cleverence_ticket_names_the_pcs_mobile_smarts_version_bases_and_logs(drive, tmp_path, tsd, fake_server):
    from tests.bundle_util import FULL_FIELDS, collect, field_args

    code, result, stderr = collect(tsd, fake_server("zebra_tc52").port, tmp_path / "out", "--desk", "cleverence",
                                   "--pc-root", str(drive), *field_args(FULL_FIELDS))
    assert result is not None, stderr
    lines, body = _tickets(result)
    for expected in ("- **Версия Mobile SMARTS на ПК**: 3.4.46.31745 (MobileSMARTSUpdater.exe)",
                     "- **Базы Mobile SMARTS на ПК**: Склад 15"):
        assert expected in lines and expected in body.splitlines(), expected
    logs = next(ln for ln in lines if ln.startswith("- **Логи ошибок (Mobile SMARTS на ПК)**: "))
    assert "в архиве: pc/mobilesmarts/bases/Склад 15/Logs/ (файлов: 2, " in logs, logs
    assert "pc/mobilesmarts/control-panel/Logs/ (файлов: 1, " in logs, logs
    required = lines[lines.index("## Обязательные сведения"):lines.index("## Дополнительно")]
    assert logs in required  # the PC's logs answer «Логи ошибок» beside the terminal's


def test_questions_skip_the_exchange_link_only_when_the_pc_root_attaches_the_folder(drive, monkeypatch):
    from tsdtool.bundle import plan

    options = plan.CollectOptions(desk="grsoft", pc_root=drive, use_user_profiles=False)
    assert "exchange_link" not in {q.key for q in plan.build(options).questions()}
    monkeypatch.setattr(grserver, "ATTACH_LIMIT", 10)
    assert "exchange_link" in {q.key for q in plan.build(options).questions()}
    asked = {q.key: q for q in plan.build(plan.CollectOptions(desk="cleverence", pc_root=drive,
                                                               use_user_profiles=False)).questions()}
    assert asked["ms_version"].default == "3.4.46.31745 (MobileSMARTSUpdater.exe)"
    assert asked["ms_version"].label == "Версия Mobile SMARTS на ПК" and asked["ms_bases"].default == "Склад 15"
    assert asked["product"].default == "Склад 15"  # the one base: offered as the product, to confirm
    assert "product" not in plan.build(plan.CollectOptions(desk="cleverence", pc_root=drive,
                                                           use_user_profiles=False)).form  # never a value
    (drive / "ProgramData/Cleverence/Databases/Магазин 15").mkdir()
    asked = {q.key: q for q in plan.build(plan.CollectOptions(desk="cleverence", pc_root=drive,
                                                               use_user_profiles=False)).questions()}
    assert asked["product"].default == "" and asked["ms_bases"].default == "Магазин 15, Склад 15"  # two: no guess


def test_a_pc_file_field_cannot_be_typed(drive, tmp_path, tsd, fake_server):
    server = fake_server("zebra_tc52")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "out", "--no-input",
                       "--desk", "grsoft", "--field", "exchange_folder=C:\\Exp")
    assert code == 2 and "exchange_folder" in err and "--pc-root" in err


def test_on_windows_this_pcs_mobile_smarts_values_are_offered_without_pc_root(drive, monkeypatch):
    """tsdtool run on the server PC itself (simulated: the platform says win32 and this PC's
    system drive is the fake drive): its Mobile SMARTS and 1C values come as this PC's."""
    from tsdtool.bundle import plan

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(run, "root_for", lambda folder: PcRoot(drive, live=True))
    built = plan.build(plan.CollectOptions(desk="cleverence", use_user_profiles=False))
    assert built.answers["ms_version"] == plan.Answer("3.4.46.31745 (MobileSMARTSUpdater.exe)", plan.THIS_PC)
    assert built.answers["onec_version"].source == plan.THIS_PC and built.pc_covers == {"exchange_folder"}
    assert "pc_bitness" not in built.answers  # the live drive's Windows facts come from this PC, not the tree
