"""App profiles: shipped data, inheritance from generic, most-specific glob, ties, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsdtool.apps import profiles
from tsdtool.apps.access import Found
from tsdtool.collectors.logs import is_log


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_profiles_load_clean():
    loaded = profiles.load_app_profiles(include_user_dir=False)
    assert loaded.problems == [] and loaded.warnings == []
    assert {"generic", "cleverence"} <= set(loaded.profiles)
    assert profiles.check([profiles.profile_files.builtin_dir("app_profiles")]) == []


def test_cleverence_matches_its_glob_and_inherits_auto_discovery():
    loaded = profiles.load_app_profiles(include_user_dir=False)
    match = profiles.match(loaded, "com.cleverence.mobilesmarts.warehouse")
    generic = loaded.fallback
    assert match.profile.id == "cleverence" and match.glob == "com.cleverence.*"
    assert (match.profile.internal, match.profile.external, match.profile.logs) == (
        generic.internal, generic.external, generic.logs)
    assert generic.internal == ("databases", "files", "shared_prefs") and generic.external == (".",)
    assert profiles.match(loaded, "org.example.other").profile.id == "generic"
    assert profiles.match(loaded, "com.cleverence").profile.id == "generic"  # the glob needs the dot


def test_most_specific_glob_wins_and_a_drop_in_overrides_by_id(tmp_path):
    _write(tmp_path / "extra", "ms.toml", 'kind = "app"\nid = "ms-warehouse"\nname = "MS Warehouse"\n'
           'packages = ["com.cleverence.*.warehouse"]\nlogs = ["*.txt"]\n')
    _write(tmp_path / "extra", "clev.toml", 'kind = "app"\nid = "cleverence"\nname = "Cleverence (local)"\n'
           'packages = ["com.cleverence.*"]\n')
    loaded = profiles.load_app_profiles([tmp_path / "extra"], include_user_dir=False)
    assert profiles.match(loaded, "com.cleverence.ms.warehouse").profile.id == "ms-warehouse"
    assert profiles.match(loaded, "com.cleverence.ms.shop").profile.name == "Cleverence (local)"
    assert loaded.profiles["ms-warehouse"].logs == ("*.txt",)


def test_a_tie_falls_back_to_generic_and_check_reports_it(tmp_path):
    for pid in ("one", "two"):
        _write(tmp_path / "p", f"{pid}.toml", f'kind = "app"\nname = "{pid}"\npackages = ["com.acme.*"]\n')
    loaded = profiles.load_app_profiles([tmp_path / "p"], include_user_dir=False)
    match = profiles.match(loaded, "com.acme.scan")
    assert match.profile.fallback and match.ties == ("one", "two")
    problems = [str(p) for p in profiles.check([tmp_path / "p"])]
    assert len(problems) == 1 and "two.toml:packages[0]:" in problems[0] and "always a tie" in problems[0]


@pytest.mark.parametrize("body, key, words", [
    ('name = "x"\npackages = ["com.x.*"]\nfolders = ["a"]\n', "folders", "unknown key"),
    ('name = "x"\n', "packages", "missing"),
    ('name = "x"\npackages = ["com.x; rm"]\n', "packages[0]", "not a package glob"),
    ('name = "x"\npackages = ["com.x.*"]\ninternal = ["/data/data/x"]\n', "internal[0]", "relative"),
    ('name = "x"\npackages = ["com.x.*"]\nexternal = ["files/../../.."]\n', "external[0]", "'..'"),
    ('name = "x"\npackages = ["com.x.*"]\nshared = ["Documents"]\n', "shared[0]", "absolute"),
    ('name = "x"\npackages = ["com.x.*"]\nshared = ["/sdcard/{user}"]\n', "shared[0]", "placeholder"),
    ('name = "x"\npackages = ["com.x.*"]\nlogs = "*.log"\n', "logs", "list"),
    ('name = "x"\nfallback = true\npackages = ["*"]\n', "packages", "matches every app"),
    ('packages = ["com.x.*"]\n', "name", "missing"),
])
def test_validation_names_file_key_and_problem(tmp_path, body, key, words):
    path = _write(tmp_path, "bad.toml", 'kind = "app"\n' + body)
    problems = profiles.check([path])
    assert any(p.key == key and words in p.message and p.file == str(path) for p in problems), problems


def test_profiles_check_command_reports_app_profile_problems(tmp_path, tsd):
    body = 'kind = "app"\nname = "x"\npackages = ["com.x.*"]\ninternal = ["/abs"]\n'
    _write(tmp_path / "p", "bad.toml", body)
    code, stdout, _ = tsd("profiles", "check", tmp_path / "p")
    assert code == 1 and "bad.toml:internal[0]:" in stdout


def test_a_broken_drop_in_is_skipped_with_a_warning(tmp_path):
    _write(tmp_path / "p", "bad.toml", 'kind = "app"\nname = "x"\n')
    loaded = profiles.load_app_profiles([tmp_path / "p"], include_user_dir=False)
    assert "bad" not in loaded.profiles and loaded.warnings and "generic" in loaded.profiles


@pytest.mark.parametrize("rel, folders, expected", [
    ("files/app.log", ("files",), True),
    ("files/deep/er/app.log.1", ("files",), True),
    ("files/logs/today.txt", ("files",), True),  # logs/* below the folder searched
    ("files/data/logs/today.txt", ("files",), True),  # */logs/*
    ("files/catalog/x.txt", ("files",), False),
    ("files/data.bin", ("files",), False),
    ("logs/x.dat", (".",), True),
])
def test_log_globs(rel, folders, expected):
    generic = profiles.load_app_profiles(include_user_dir=False).fallback
    assert is_log(generic, folders, Found("/root/" + rel, rel)) is expected
