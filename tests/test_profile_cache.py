"""Parsed profile files are kept between runs (profile_files.ParseCache), by their exact bytes:
a second load parses nothing and gives the same profiles; any change is parsed again; a cache
that is broken or cannot be written is not used. Speed is the benchmark's business."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest

from tsdtool import profile_files
from tsdtool.devices import profiles


def _no_parsing(monkeypatch) -> list[bytes]:
    parsed: list[bytes] = []
    real = profile_files._parse

    def counting(raw: bytes):
        parsed.append(raw)
        return real(raw)

    monkeypatch.setattr(profile_files, "_parse", counting)
    return parsed


def _cache_file() -> Path:
    return profile_files.ParseCache("device").path


def test_a_second_load_parses_nothing_and_gives_the_same_profiles(monkeypatch):
    parsed = _no_parsing(monkeypatch)
    first = profiles.load_device_profiles([])
    assert len(parsed) >= 20 and _cache_file().is_file()
    parsed.clear()
    second = profiles.load_device_profiles([])
    assert parsed == []
    assert second == first and second.profiles["zebra"].rules == first.profiles["zebra"].rules
    rules = second.profiles["zebra"].rules
    assert [r.pattern.pattern for r in rules] == [r.regex for r in first.profiles["zebra"].rules]


def _profile(name: str) -> str:
    return f'kind = "device"\nname = "{name}"\n[[match]]\nprops = ["ro.product.manufacturer"]\nregex = "^{name}$"\n'


def test_a_file_changed_in_the_same_second_at_the_same_size_is_parsed_again(tmp_path, monkeypatch):
    parsed = _no_parsing(monkeypatch)
    folder = tmp_path / "p"
    folder.mkdir()
    file = folder / "acme.toml"
    file.write_text(_profile("One"))
    stamp = file.stat()
    assert profiles.load_device_profiles([folder]).profiles["acme"].name == "One"
    file.write_text(_profile("Two"))
    os.utime(file, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    parsed.clear()
    assert profiles.load_device_profiles([folder]).profiles["acme"].name == "Two"
    assert parsed == [file.read_bytes()]


def test_files_with_the_same_bytes_keep_their_own_ids(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    for name in ("first", "second"):
        (folder / f"{name}.toml").write_text(_profile("Same").replace('"^Same$"', f'"^{name}$"'))
    (folder / "third.toml").write_text((folder / "first.toml").read_text())
    for _ in range(2):  # parsed, then from the cache
        loaded = profiles.load_device_profiles([folder], include_user_dir=False).profiles
        assert {"first", "second", "third"} <= set(loaded)
        assert loaded["third"].id == "third" and loaded["first"].id == "first"


@pytest.mark.parametrize("content", [b"not marshal", marshal.dumps(("another version", {})), marshal.dumps(5),
                                     "mangled entries"])
def test_a_broken_or_foreign_cache_is_not_used_and_is_rewritten(content, monkeypatch):
    parsed = _no_parsing(monkeypatch)
    expected = profiles.load_device_profiles([])
    tag, entries = marshal.loads(_cache_file().read_bytes())
    if content == "mangled entries":  # the right version, but what it keeps is not parsed data
        content = marshal.dumps((tag, {raw: [b"x", marshal.dumps([1]), b"\xff", 7][n % 4]
                                       for n, raw in enumerate(entries)}))
    _cache_file().write_bytes(content)
    parsed.clear()
    assert profiles.load_device_profiles([]) == expected
    assert len(parsed) >= 20
    assert marshal.loads(_cache_file().read_bytes())[0] == tag
    parsed.clear()
    profiles.load_device_profiles([])
    assert parsed == []


def test_a_cache_folder_that_cannot_be_written_changes_nothing(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    loaded = profiles.load_device_profiles([])
    assert "zebra" in loaded.profiles and not loaded.problems
    assert blocker.read_text() == ""


def test_a_toml_date_is_parsed_every_time(tmp_path):
    file = tmp_path / "dated.toml"
    file.write_text('kind = "app"\nname = "Dated"\nreleased = 2026-11-30\n')
    cache = profile_files.ParseCache("app")
    data, problems = profile_files.read(file, "app", None, cache)
    assert str(data["released"]) == "2026-11-30" and not problems
    assert cache.seen == {} and not cache.missed
