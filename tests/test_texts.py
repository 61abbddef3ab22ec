"""The desk's language: one catalogue per language, and a Russian report with no English in it."""

from __future__ import annotations

import html
import json
import re
import string
import zipfile
from pathlib import Path

import pytest

from tests.bundle_util import collect, every_bundle_verifies  # noqa: F401 - autouse: every bundle verifies
from tsdtool import texts

# Names and units that read the same in a Russian text (product names, abbreviations).
NAMES = {"tsdtool", "Android", "API", "Python", "Ctrl", "logcat", "adb", "E-mail", "root", "su", "run-as", "backup"}
# What the fake terminal itself answers to run-as for a release build (tests/fake_adb/shell_system.py).
TERMINAL_SAYS = "run-as: package not debuggable"
# Command-line placeholders in reasons (--package PKG): names of what to type, not prose.
PLACEHOLDERS = {"PKG", "ID"}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_every_key_with_the_same_placeholders():
    english = texts.catalogue("en")
    for path in texts.LOCALES.glob("*.toml"):
        other = texts.catalogue(path.stem)
        for table, entries in english.items():
            for key, template in entries.items():
                assert key in other.get(table, {}), f"{path.name}: [{table}] {key} missing"
                assert _placeholders(other[table][key]) == _placeholders(template), f"{path.name}: {table}.{key}"
        extra = {(t, k) for t, e in other.items() for k in e if t not in ("fields", "hints", "fixes")} - \
            {(t, k) for t, e in english.items() for k in e}
        assert not extra, f"{path.name}: keys English does not have: {extra}"
        if path.stem != "en":  # English field labels are the shared vocabulary's own
            from tsdtool.bundle import fields

            assert set(other.get("fields", {})) >= set(fields.CATALOG), f"{path.name}: unlabelled fields"


def test_a_recorded_reason_is_shown_in_the_desks_language_with_its_values():
    ru = texts.texts("ru")
    assert ru.reason("com.a.b is not installed on SER1") == "com.a.b не установлено на SER1"
    assert ru.reason("Permission denied") == "Permission denied"  # the terminal's own words: data
    assert texts.texts("en").reason("com.a.b is not installed on SER1") == "com.a.b is not installed on SER1"
    assert texts.texts("xx").lang == "en" and texts.texts("../en").lang == "en"
    assert ru.check("integrity ok, 3 tables, wal journal (wal, shm applied)") == \
        "целостность в порядке, таблиц: 3, журнал wal (применены wal, shm)"


def _latin_words(text: str) -> set[str]:
    text = re.sub(r"--[a-z][a-z-]*", " ", text)  # command-line options are names, not prose
    text = re.sub(r"\b[0-9a-f]{16,}\b", " ", text)  # hashes
    return set(re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]", text))


def _data_words(bundle: Path, desk: str) -> set[str]:
    """Every Latin word the bundle's data holds (device facts, paths, versions, logs) and the desk's
    name, except the English reasons collectors recorded: the desk reads those in its language."""
    from tsdtool.bundle import desks

    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        logs = b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".txt"))
    for item in manifest["items"]:
        item.pop("reason", None)
        item.pop("check", None)
    for database in manifest["databases"]:
        database.pop("check", None)
    words = _latin_words(json.dumps(manifest, ensure_ascii=False)) | _latin_words(logs.decode("utf-8", "replace"))
    profile = desks.get(desk)  # its name and its own field labels ("Версия продукта (Mobile SMARTS)")
    desk_words = " ".join([profile.name, profile.to, TERMINAL_SAYS, *profile.labels.values()])
    return words | NAMES | PLACEHOLDERS | _latin_words(desk_words)


def _visible_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>|<img[^>]*>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("desk, extra", [("grsoft", []), ("cleverence", ["--package", "com.example.mobilesmarts"])])
def test_a_russian_desks_report_has_no_english_outside_the_data(fake_server, tsd, tmp_path, desk, extra):
    srv = fake_server("zebra_tc52")
    code, result, err = collect(tsd, srv.port, tmp_path / "out", "--desk", desk, *extra)
    assert result is not None, err
    bundle = Path(result["bundle"])
    with zipfile.ZipFile(bundle) as zf:
        page = zf.read("report.html").decode()
    assert '<html lang="ru">' in page
    english = _latin_words(_visible_text(page)) - _data_words(bundle, desk)
    assert not english, f"English words in the {desk} report: {sorted(english)}"


def test_the_generic_desk_reads_english(fake_server, tsd, tmp_path):
    srv = fake_server("zebra_tc52")
    code, result, err = collect(tsd, srv.port, tmp_path / "out")
    with zipfile.ZipFile(result["bundle"]) as zf:
        page = zf.read("report.html").decode()
    assert '<html lang="en">' in page and "<h2>Terminal</h2>" in page


@pytest.mark.parametrize("desk, extra", [("grsoft", []), ("cleverence", ["--package", "com.example.mobilesmarts"])])
def test_a_russian_desks_ticket_has_no_english_outside_the_data(fake_server, tsd, tmp_path, desk, extra):
    """ticket.md, and the .eml's subject and text: the desk's words, the bundle's data."""
    from email import message_from_bytes, policy

    srv = fake_server("zebra_tc52")
    code, result, err = collect(tsd, srv.port, tmp_path / "out", "--desk", desk, *extra)
    assert result is not None, err
    bundle = Path(result["bundle"])
    markdown = Path(result["ticket"]["markdown"]).read_text("utf-8")
    mail = message_from_bytes(Path(result["ticket"]["eml"]).read_bytes(), policy=policy.default)
    allowed = _data_words(bundle, desk) | {"SHA"}  # SHA-256 names the hash
    for name, text in (("ticket.md", markdown), ("subject", str(mail["Subject"])),
                       ("mail text", mail.get_body(("plain",)).get_content())):
        english = _latin_words(text.replace(bundle.name, " ")) - allowed
        assert not english, f"English words in the {desk} {name}: {sorted(english)}"
    assert "обращение в техподдержку" in markdown.splitlines()[0]  # the fallback summary, in Russian


def test_shorten_cuts_at_a_word():
    from tsdtool.bundle.ticket import shorten

    assert shorten("Сканер закрывается при сканировании этикетки", 30) == "Сканер закрывается при…"
    assert shorten("short", 30) == "short"
    assert shorten("x" * 40, 10) == "x" * 9 + "…"  # one word longer than the limit: nothing else to keep


def test_a_long_subject_is_cut_at_a_word_and_encoded_in_short_words(fake_server, tsd, tmp_path):
    """Cleverence's subject is '{product} {app_version}: {summary}': 214 characters went out whole,
    as one ~300-character encoded word (RFC 2047 allows 75)."""
    from email import message_from_bytes, policy

    from tsdtool.bundle import desks

    srv = fake_server("zebra_tc52")
    description = "Сканер закрывается при сканировании паллетной этикетки на экране Приёмка товара " * 3
    code, result, err = collect(tsd, srv.port, tmp_path / "out", "--desk", "cleverence",
                                "--package", "com.example.mobilesmarts", "--field", f"description={description}",
                                "--field", "product=Склад 15 Расширенный с маркировкой и возвратами")
    raw = Path(result["ticket"]["eml"]).read_bytes()
    head = raw.split(b"\r\n\r\n")[0].decode("ascii")
    subject_lines = re.search(r"^Subject:.*?(?=\r\n\S)", head, re.S | re.M).group()
    words = re.findall(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=", subject_lines)
    assert words and all(len(w) <= 75 for w in words), words
    subject = str(message_from_bytes(raw, policy=policy.default)["Subject"])
    limit = desks.get("cleverence").subject_max
    assert len(subject) <= limit and subject.endswith("…"), subject
    assert subject.startswith("Склад 15 Расширенный с маркировкой")
    from dataclasses import replace

    from tsdtool.bundle import ticket
    from tsdtool.bundle.verify import open_bundle

    with open_bundle(Path(result["bundle"])) as opened:
        whole = ticket.subject(replace(desks.get("cleverence"), subject_max=998), opened.manifest)
    assert len(whole) > 150 and whole.startswith(subject[:-1]) and whole[len(subject) - 1] == " "  # at a word


def test_a_russian_desk_asks_with_russian_labels_and_hints():
    from tsdtool.bundle import desks, fields

    grsoft, generic = desks.get("grsoft"), desks.get("generic")
    assert grsoft.rule("project").hint == "часто входит в версию приложения"
    assert generic.rule("project").hint == "the project name (often part of the app version)"
    assert grsoft.rule("onec_version").label == "Версия 1С"  # no label in grsoft.toml: the language's own
    ru_hints = texts.catalogue("ru")["hints"]
    for key in fields.CATALOG:  # every English hint has its Russian one, and no Russian hint is orphaned
        assert bool(fields.field(key).hint) == (key in ru_hints), key
    ru_fixes = texts.catalogue("ru")["fixes"]
    for key in fields.CATALOG:  # the same for the way to obtain a collected field, shown when it is missing
        assert bool(fields.field(key).fix) == (key in ru_fixes), key
        words = re.sub(r"--[a-z-]+|\b[A-Z]{2,}\b|`[^`]*`|\S+\.(?:db|ini)\b|\b(?:logcat|root|tsdtool|Windows|"
                       r"GRServer|Mobile SMARTS)\b", "", grsoft.rule(key).fix)
        assert not re.search(r"[A-Za-z]{3,}", words), (key, grsoft.rule(key).fix)
    assert generic.rule("exchange_folder").fix.startswith("--pc-root DIR (a copy of the drive")
    for question in grsoft.rule("description"), grsoft.rule("steps"), grsoft.rule("impact"):
        assert not re.search(r"[A-Za-z]{3,}", question.label + question.hint), question


def test_a_russian_desks_multiline_question_says_how_to_end_it_in_russian(tmp_path):
    from tsdtool.bundle import plan

    built = plan.build(plan.CollectOptions(desk="grsoft", package="com.x.y", out_dir=tmp_path / "o",
                                           config_dir=tmp_path / "cfg"))
    steps = next(q for q in built.questions() if q.key == "steps")
    assert (steps.label, steps.ends) == ("Порядок воспроизведения", "закончите пустой строкой")
    assert next(q for q in built.questions() if q.key == "project").ends == ""  # one line: nothing to end


@pytest.mark.parametrize(("kind", "value", "english"), [
    ("text", "North\nSouth", "must be one line"),
    ("email", "ivan at example", "is not an e-mail address (name@example.com)"),
    ("email", "иван@склад.рф", "needs Latin letters before @ (a mail server refuses others)"),
    ("url", "disk example", "is not a link (https://…)"),
    ("count", "twelve", "is not a whole number (e.g. 12)"),
])
def test_every_refusal_of_a_typed_value_reads_in_the_desks_language(kind, value, english):
    from tsdtool.bundle import fields

    problem = fields.Field("k", "K", type=kind).check(value)
    assert problem == english  # the rule's own words are the catalogue's English template
    russian = texts.texts("ru").reason(problem, "invalid")
    assert russian.startswith("— ") and not re.search(r"[A-Za-z]{3,}", re.sub(r"e-mail|\(.*\)", "", russian)), russian
    assert texts.texts("en").reason(problem, "invalid") == english


def test_a_russian_desks_console_notes_are_russian_and_the_json_keeps_them_english(fake_server, tsd, tmp_path):
    """The notes after collect's result (an unknown field kept, a bundle over the desk's mail
    limit) were printed in English under a Russian desk's Russian result lines."""
    from tests.bundle_util import field_args, grsoft_with_mail_limit

    profiles = grsoft_with_mail_limit(tmp_path)
    srv = fake_server("zebra_tc52")
    args = ["-H", "127.0.0.1", "-P", srv.port, "--profiles-dir", profiles, "collect", "--no-input", "--desk",
            "grsoft", "--package", "com.example.scanner.demo", *field_args(), "--field", "author=Иванов"]
    code, out, err = tsd(*args, "-o", tmp_path / "out")
    notes = [line for line in " ".join(err.split()).split("внимание: ")[1:]]
    assert any(n.startswith("поле 'author' tsdtool не знает") for n in notes), err
    assert any(n.startswith("архив — ") and "больше предела GRSoft (0.01 МБ)" in n for n in notes), err
    assert any(n.startswith("приложено к письму отдельно: apps/com.example.scanner.demo/") for n in notes), err
    # what remains once the data is taken out: the bundle's file name, the paths attached, the field's key
    prose = re.sub(r"tsd-\S+\.zip|apps/\S+|'author'", " ", " ".join(notes))
    english = _latin_words(prose) - NAMES - {"GRSoft", "URL", "PKG"}
    assert not english and "warning" not in err, f"English words in the notes: {sorted(english)}"
    code, out, err = tsd(*args, "-o", tmp_path / "json", "--json")
    notes = json.loads(out)["notes"]  # the JSON result is for tools: as recorded
    assert any(n.startswith("field 'author' is not one tsdtool knows") for n in notes), notes


# -- the error line in the PC's language --------------------------------------------------------


@pytest.mark.parametrize("env,lang", [
    ({"LANG": "ru_RU.UTF-8"}, "ru"),
    ({"LANG": "en_US.UTF-8", "LC_ALL": "ru_RU.utf8"}, "ru"),  # LC_ALL first, as gettext reads them
    ({"LANG": "ru_RU.UTF-8", "LC_MESSAGES": "C"}, "en"),
    ({"LANG": "POSIX"}, "en"),
    ({"LANG": "ru_RU.UTF-8", "TSDTOOL_LANG": "en"}, "en"),  # the user's own choice wins
    ({}, "en"),
])
def test_the_pcs_language_comes_from_the_locale_variables(monkeypatch, env, lang):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if "LANG" not in env:
        monkeypatch.delenv("LANG")
    assert texts.pc_language() == lang


@pytest.mark.parametrize("lcid,lang", [(0x0419, "ru"), (0x0409, "en"), (0x0422, "uk"), (0x7FFF, "en")])
def test_on_windows_without_locale_variables_the_display_language_counts(monkeypatch, lcid, lang):
    import ctypes
    from types import SimpleNamespace

    monkeypatch.delenv("LANG")
    monkeypatch.setattr("sys.platform", "win32")
    kernel32 = SimpleNamespace(GetUserDefaultUILanguage=lambda: lcid)
    monkeypatch.setattr(ctypes, "windll", SimpleNamespace(kernel32=kernel32), raising=False)
    assert texts.pc_language() == lang


def test_every_fix_an_error_carries_has_its_russian_words():
    """Each fix written in the code (``fix = "…"`` and ``fix="…"``), and each a terminal's state
    gets, is in [errors]: a fix added without its words fails here."""
    import ast

    from tsdtool import budgets
    from tsdtool.transport.adb import state_fix

    fixes = {budgets.OverBudget.fix}
    fixes |= {state_fix(state) for state in ("unauthorized", "offline", "no permissions (user in plugdev)", "recovery")}
    for path in Path(texts.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "fix" or \
                    isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "fix" for t in node.targets):
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    fixes.add(node.value.value)
    assert len(fixes) >= 40
    from tsdtool.bundle import fields

    # names that read the same in Russian, and the field keys a technician types
    typed = NAMES | {"udev", "plugdev", "recovery", "Windows", "TLS", "TCP", "platform-tools"} | set(fields.CATALOG)
    say = texts.errors_in("ru")
    for fix in fixes:
        shown = say(fix)
        assert shown != fix and not _command_free_words(shown) - typed, shown
    assert texts.errors_in("en") is str  # English: as written, nothing looked up


def _command_free_words(text: str) -> set[str]:
    """Latin words of ``text`` but what is typed as is: `commands`, -s, -H/-P, ENV_NAMES."""
    text = re.sub(r"`[^`]*`|\S+\.toml|\S+@\S+|\S*\d\S*|(?<!\w)-[A-Za-z](?:/-[A-Za-z])?\b|\b[A-Z][A-Z0-9_]{2,}\b|"
                  r"--[\w-]+(?:[ =]\S+)?|\[[^]]*\]", " ", text)
    return _latin_words(text)


def test_an_error_line_is_russian_on_a_russian_pc_with_its_values_as_they_were(fake_server, tsd, monkeypatch):
    server = fake_server("unauthorized", "honeywell_ct60")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "info")
    assert code == 4 and err.startswith("error: 2 terminals attached:"), err  # English first: LANG=C
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "info")
    assert code == 4, err
    assert err.strip() == ("ошибка: подключено несколько терминалов (2): 18326D8A2F (device), R58M40ABCDE "
                           "(unauthorized) — выберите один: -s СЕРИЙНЫЙ_НОМЕР (или ANDROID_SERIAL)"), err
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "-s", "R58M40ABCDE", "info")
    assert code == 4 and err.strip() == ("ошибка: терминал R58M40ABCDE в состоянии unauthorized — "
                                         "разрешите отладку по USB в запросе на экране терминала"), err
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "-s", "<b>x\x1b[2J", "info")
    assert code == 4 and "нет терминала с серийным номером" in err and "\x1b" not in err, err


def test_a_russian_error_reaches_a_cp1251_pipe_intact(fake_server, tmp_path):
    """Windows' pipes and files are cp1251 for a Russian user: the line is encoded, not dropped."""
    import os
    import subprocess
    import sys

    server = fake_server("unauthorized")
    env = dict(os.environ, LANG="ru_RU.UTF-8", PYTHONIOENCODING="cp1251")
    proc = subprocess.run([sys.executable, "-m", "tsdtool", "-H", "127.0.0.1", "-P", str(server.port), "info"],
                          capture_output=True, env=env, timeout=60)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.decode("cp1251").strip() == ("ошибка: терминал R58M40ABCDE в состоянии unauthorized — "
                                                    "разрешите отладку по USB в запросе на экране терминала")


def test_the_devices_table_says_what_to_do_in_the_pcs_language(fake_server, tsd, monkeypatch, capsys):
    server = fake_server("unauthorized", "offline", "honeywell_ct60")
    _, english, _ = tsd("-H", "127.0.0.1", "-P", server.port, "devices")
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    code, out, err = tsd("-H", "127.0.0.1", "-P", server.port, "devices")
    assert code == 0, err
    assert "accept the USB debugging prompt on the terminal" in english and "replug" in english
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert rows["R58M40ABCDE"].endswith("разрешите отладку по USB в запросе на экране терминала"), out
    assert rows["192.168.1.77:5555"].endswith("переподключите кабель или перезапустите сервер adb"), out
    assert rows["18326D8A2F"].split()[-2:] == ["Honeywell", "CT60"], out  # the values stay as the terminal said
    from tsdtool import views

    views.devices_table([])
    assert capsys.readouterr().out.strip() == ("терминал не подключён — подключите терминал кабелем для передачи "
                                               "данных и включите отладку по USB")
