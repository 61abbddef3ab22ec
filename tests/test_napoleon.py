"""The desks' own apps: the Napoleon and Cleverence profiles, and facts read from the terminal.

The crash.log below follows the lines MainExceptionHandler.java writes (kkichaev/napoleon,
com/grsoft/util); no real Napoleon terminal dump was available, so its values are made up.
"""

from __future__ import annotations

import json

import pytest

from tests.appdata_helpers import terminals
from tsdtool.apps import facts as app_facts
from tsdtool.apps import profiles
from tsdtool.collectors.app_facts import AppFactsCollector
from tsdtool.collectors.base import Context, run_all
from tsdtool.outdir import OutputDir

PKG = "com.grsoft.napoleon"
CRASH = ("data: 05.03.24 10:17\nproject=Абрэнд-Юг\nversion=3.62.4\nbuild date=05.03.24 9:02\n"
         "model=TC52\nandroid=10\nstack:\njava.lang.NullPointerException\n\tat com.grsoft.X.y(X.java:1)\n")


@pytest.fixture
def fake_terminal(tmp_path):
    yield from terminals(tmp_path)


def _loaded():
    return profiles.load_app_profiles(include_user_dir=False)


def test_napoleon_profile_matches_every_grsoft_package_and_declares_its_folders():
    loaded = _loaded()
    for package in (PKG, "com.grsoft.napoleon.manager", "com.grsoft.ads"):
        assert profiles.match(loaded, package).profile.id == "napoleon"
    napoleon = loaded.profiles["napoleon"]
    assert napoleon.internal[0] == "files"  # files/napoleon.db (Path.getDataBasePath)
    assert "/sdcard/Napoleon" in napoleon.shared and "/sdcard/grsoft_exchange" in napoleon.shared
    assert napoleon.is_log("crash.log") and napoleon.is_log("log.txt")
    assert profiles.match(loaded, "com.grsoftware.x").profile.id == "generic"
    assert napoleon.pc["server_ini"]


def test_cleverence_profile_keeps_auto_discovery_on_the_terminal_and_knows_the_pc():
    loaded = _loaded()
    clev = profiles.match(loaded, "com.cleverence.mobilesmarts.warehouse").profile
    assert clev.id == "cleverence" and clev.internal == loaded.fallback.internal
    assert clev.pc["bases_list"] == ("ProgramData/Cleverence/apps.xml",)


@pytest.mark.parametrize("text, value", [
    (CRASH, "Абрэнд-Юг"),
    ("project=\nversion=1\n", ""),  # an empty line is no value
    ("no such line", ""),
])
def test_project_from_crash_log(text, value):
    fact = next(f for f in _loaded().profiles["napoleon"].facts if f.name == "project" and f.file)
    assert fact.find(text) == value


@pytest.mark.parametrize("version, value", [
    ("3.1.1.8 Abrand", "Abrand"), ("3.62.4", ""), ("3.62 beta 2", "beta 2"), ("", ""),
    ("24", "")])  # Gradle customer builds: a bare number (Napoleon.AS/academprod/app/build.gradle)
def test_project_from_version_name(version, value):
    fact = next(f for f in _loaded().profiles["napoleon"].facts if f.version_name)
    assert fact.find(version) == value


@pytest.mark.parametrize("body, problem", [
    ('[[fact]]\nname = "p"\nlabel = "P"\nregex = "(x)"\n', "exactly one of"),
    ('[[fact]]\nname = "p"\nlabel = "P"\nversion_name = true\nfile = "/a"\nregex = "(x)"\n', "exactly one of"),
    ('[[fact]]\nname = "p"\nlabel = "P"\nfile = "rel"\nregex = "(x)"\n', "absolute"),
    ('[[fact]]\nname = "p"\nlabel = "P"\nfile = "/a"\nregex = "x"\n', "one group"),
    ('[[fact]]\nname = "p"\nlabel = "P"\nfile = "/a"\nregex = "("\n', "not a regex"),
    ('[pc]\nx = ["C:/Windows"]\n', "PC root"),
    ('[pc]\nx = ["a/../b"]\n', "'..'"),
])
def test_bad_fact_and_pc_tables_are_reported(tmp_path, body, problem):
    path = tmp_path / "x.toml"
    path.write_text(f'kind = "app"\nname = "X"\npackages = ["com.x.*"]\n{body}', encoding="utf-8")
    found = [str(p) for p in profiles.check([path])]
    assert len(found) == 1 and problem in found[0], found


def test_facts_collector_reads_crash_log_first_then_version_name(fake_terminal, tmp_path):
    fake = fake_terminal(sdk=29, packages=[{"name": PKG, "version_name": "3.1.1.8 Abrand"}],
                         files={"sdcard/Napoleon/crash.log": CRASH})
    ctx = Context(fake.device(), OutputDir(tmp_path / "out"),
                  facts={"apps": [{"package": PKG, "version_name": "3.1.1.8 Abrand"}]})
    run_all([AppFactsCollector(PKG)], ctx)
    found = ctx.facts["app_facts"][PKG]
    assert found["project"] == {"name": "project", "value": "Абрэнд-Юг", "source": "/sdcard/Napoleon/crash.log"}
    assert found["app_version"]["value"] == "3.62.4"
    saved = json.loads((tmp_path / "out" / f"apps/{PKG}/facts.json").read_text("utf-8"))
    assert saved["facts"]["project"]["value"] == "Абрэнд-Юг"
    assert not fake.terminal.journal  # nothing written on the terminal


def test_without_crash_log_the_project_comes_from_the_version_name(fake_terminal):
    fake = fake_terminal(sdk=29, packages=[{"name": PKG, "version_name": "3.1.1.8 Abrand"}])
    napoleon = _loaded().profiles["napoleon"]
    found = app_facts.read_facts(fake.device(), PKG, napoleon, "3.1.1.8 Abrand")
    assert found["project"].value == "Abrand" and found["project"].source == "versionName"
    assert "app_version" not in found


def test_collect_of_a_napoleon_release_build_bundles_its_database_through_backup(fake_terminal, tsd, tmp_path):
    """Done-when of issue 19: a non-debuggable Napoleon build yields napoleon.db via `adb backup`,
    and the project read from crash.log is in the bundle."""
    import zipfile

    from tests.appdata_helpers import wal_database
    from tests.bundle_util import collect, field_args, manifest_of

    wal = wal_database()
    data = f"/data/data/{PKG}/files"
    fake = fake_terminal(sdk=29, packages=[{"name": PKG, "version_name": "3.62.4"}],
                         files={f"{data}/napoleon.db": wal.db, f"{data}/napoleon.db-wal": wal.wal,
                                "sdcard/Napoleon/crash.log": CRASH})
    code, result, stderr = collect(tsd, fake.server.port, tmp_path / "out", "--package", PKG, "--backup",
                                   "--desk", "grsoft", *field_args())
    assert result is not None, stderr
    bundle = tmp_path / "out" / result["bundle"] if not result["bundle"].startswith("/") else result["bundle"]
    manifest = manifest_of(bundle)
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        facts = json.loads(zf.read(f"apps/{PKG}/facts.json"))
    assert f"apps/{PKG}/internal/files/napoleon.db" in names
    assert f"apps/{PKG}/internal/files/napoleon.db-wal" in names
    assert f"apps/{PKG}/shared/sdcard/Napoleon/crash.log" in names
    assert facts["facts"]["project"]["value"] == "Абрэнд-Юг"
    [db] = [d for d in manifest["databases"] if d["device_path"].endswith("napoleon.db")]
    assert db["complete"], db
    assert code == 0, result


def test_cleverence_probes_mobilesmarts_folders_on_shared_storage(fake_terminal, tmp_path):
    from tests.appdata_helpers import plain_database
    from tsdtool.collectors.database import pull_databases

    pkg = "com.cleverence.mobilesmarts.warehouse"
    fake = fake_terminal(sdk=29, packages=[{"name": pkg}],
                         files={"sdcard/MobileSMARTSv3/Documents/Склад 15/base.db": plain_database(),
                                "sdcard/MobileSMARTSv3/PrinterModels.xml": "<x/>",
                                "sdcard/Other/x.db": plain_database()})
    pull = pull_databases(fake.device(), pkg, OutputDir(tmp_path / "out"))
    shared = [a for a in pull.attempts if a.way == "shared"]
    assert [(a.ok, a.reason.split(":")[0]) for a in shared] == [(True, "/sdcard/MobileSMARTSv3")]
    assert [d["device_path"] for d in pull.databases] == ["/sdcard/MobileSMARTSv3/Documents/Склад 15/base.db"]


def test_a_probe_that_matches_nothing_is_recorded_as_missing(fake_terminal, tmp_path):
    from tsdtool.collectors.database import pull_databases

    pkg = "com.cleverence.mobilesmarts.warehouse"
    fake = fake_terminal(sdk=29, packages=[{"name": pkg}], files={"sdcard/Download/a.txt": "x"})
    pull = pull_databases(fake.device(), pkg, OutputDir(tmp_path / "out"))
    shared = [(a.ok, a.reason) for a in pull.attempts if a.way == "shared"]
    assert shared == [(False, "No such file or directory")]


def test_facts_offered_as_desk_field_defaults_only_for_known_fields():
    found = {"project": {"name": "project", "value": "Абрэнд-Юг", "source": "/sdcard/Napoleon/crash.log"},
             "build_date": {"name": "build_date", "value": "05.03.24", "source": "x"},
             "app_version": {"name": "app_version", "value": "", "source": "x"}}
    assert app_facts.field_defaults(found) == {"project": "Абрэнд-Юг"}


def test_interactive_collect_offers_the_project_from_crash_log_as_a_default(fake_terminal, tmp_path):
    """issue 19: `collect --desk grsoft` prefills `project` from the terminal, for the person to confirm."""
    from tsdtool.bundle.collect import CollectOptions, collect
    from tsdtool.transport.adb import Adb

    fake = fake_terminal(sdk=29, packages=[{"name": PKG, "version_name": "3.62.4"}],
                         files={"sdcard/Napoleon/crash.log": CRASH})
    asked = {}

    def ask(question):
        asked[question.key] = question.default
        return ""  # Enter: keep the default

    options = CollectOptions(tmp_path / "out", package=PKG, desk="grsoft", use_user_profiles=False,
                             config_dir=tmp_path / "config")
    result = collect(Adb("127.0.0.1", fake.server.port, start_server=False), None, options, ask=ask)
    assert asked["project"] == "Абрэнд-Юг"
    assert result.manifest.form["project"] == "Абрэнд-Юг"
    assert not fake.terminal.journal


def test_interactive_collect_offers_the_pc_root_1c_versions(fake_terminal, tmp_path):
    from tests.test_pc import I386, _put, pe_image
    from tsdtool.bundle.collect import CollectOptions, collect
    from tsdtool.transport.adb import Adb

    _put(tmp_path / "C", "Program Files (x86)/1cv8/8.3.22.1709/bin/1cv8.exe", pe_image(I386))
    fake = fake_terminal(sdk=29, packages=[{"name": PKG}])
    asked = {}

    def ask(question):
        asked[question.key] = question.default
        return ""

    options = CollectOptions(tmp_path / "out", package=PKG, desk="cleverence", use_user_profiles=False,
                             config_dir=tmp_path / "config", pc_root=tmp_path / "C")
    collect(Adb("127.0.0.1", fake.server.port, start_server=False), None, options, ask=ask)
    assert asked.get("onec_version") == "8.3.22.1709 (32-bit (x86))"


def test_an_app_profile_without_facts_adds_no_row_to_the_ticket(fake_server, tmp_path, tsd):
    from tests.bundle_util import collect, field_args

    server = fake_server("zebra_tc52")
    code, result, stderr = collect(tsd, server.port, tmp_path / "out", "--desk", "grsoft",
                                   "--package", "com.example.scanner.demo", *field_args())
    assert result is not None, stderr
    assert not [i for i in result["items"] if i["path"].endswith("facts.json") and i["path"].startswith("apps/")]
    ticket_md = open(result["ticket"]["markdown"], encoding="utf-8").read()
    assert "## Обязательные сведения" in ticket_md and "## Не удалось собрать" not in ticket_md, ticket_md


def test_done_when_a_grsoft_ticket_from_a_release_build_and_the_pc_is_ready_in_russian(fake_terminal, tsd,
                                                                                       tmp_path):
    """Issue 19 end to end: a non-debuggable Napoleon build's database through `adb backup`, the
    GRServer exchange folder from the PC's drive, and the Russian ticket (.md and .eml) GRSoft
    accepts as is: every item of its rules with a value, no link asked for."""
    import email
    from email import policy
    from pathlib import Path

    from tests.appdata_helpers import wal_database
    from tests.bundle_util import FULL_FIELDS, collect, field_args
    from tests.test_pc import make_drive

    wal = wal_database()
    data = f"/data/data/{PKG}/files"
    fake = fake_terminal(sdk=29, packages=[{"name": PKG, "version_name": "3.62.4"}],
                         files={f"{data}/napoleon.db": wal.db, f"{data}/napoleon.db-wal": wal.wal,
                                "sdcard/Napoleon/crash.log": CRASH})
    typed = {k: v for k, v in FULL_FIELDS.items() if k != "exchange_link"} | {"project": "Абрэнд-Юг"}
    code, result, stderr = collect(tsd, fake.server.port, tmp_path / "out", "--package", PKG, "--backup",
                                   "--desk", "grsoft", "--pc-root", str(make_drive(tmp_path)), *field_args(typed))
    assert result is not None, stderr
    assert result["ticket"]["ready"] is True and result["ticket"]["missing"] == [], result["ticket"]
    md = Path(result["ticket"]["markdown"]).read_text("utf-8").splitlines()
    eml = email.message_from_bytes(Path(result["ticket"]["eml"]).read_bytes(), policy=policy.default)
    body = eml.get_body(("plain",)).get_content().splitlines()
    required = md[md.index("## Обязательные сведения"):md.index("## Дополнительно")]
    for start in ("- **Название проекта**: Абрэнд-Юг",
                  f"- **База данных с устройства**: apps/{PKG}/internal/files/napoleon.db (целостность в порядке",
                  "- **Каталог обмена GRServer**: в архиве: pc/grserver/exchange/ (файлов: 2, ",
                  "- **Приложение и версия**: GRSoft АСМТ Наполеон 3.62.4"):
        line = next((ln for ln in required if ln.startswith(start)), None)
        assert line is not None and line in body, (start, required)
    assert not any("(не заполнено)" in ln for ln in md) and "НЕ ГОТОВО" not in "\n".join(md)
    [zipped] = [p for p in eml.iter_attachments() if p.get_filename().endswith(".zip")]  # the bundle travels
    assert zipped.get_content() == Path(result["bundle"]).read_bytes()
    assert code == 0, result
