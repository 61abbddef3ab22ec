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
NAMES = {"tsdtool", "Android", "API", "Python", "Ctrl", "logcat", "adb", "E-mail"}


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
        extra = {(t, k) for t, e in other.items() for k in e if t != "fields"} - \
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
    return words | NAMES | _latin_words(" ".join([profile.name, *profile.labels.values()]))


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
