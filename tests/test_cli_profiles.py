"""`tsdtool profiles list/show/check`, and a broken user profile never breaking other commands."""

from __future__ import annotations

import json
from pathlib import Path

from tsdtool import profile_files


def test_list_shows_every_kind(tsd):
    code, out, _ = tsd("profiles", "list", "--json")
    assert code == 0
    kinds = {(e["kind"], e["id"]) for e in json.loads(out)}
    assert {("device", "zebra"), ("device", "generic"), ("app", "generic"), ("desk", "grsoft"),
            ("desk", "cleverence")} <= kinds


def test_show_prints_the_file(tsd):
    code, out, _ = tsd("profiles", "show", "zebra")
    assert code == 0 and 'usb_vendor_ids = ["05e0"]' in out


def test_show_unknown_is_usage_error(tsd):
    code, _, err = tsd("profiles", "show", "nope")
    assert code == 2 and "no profile with id 'nope'" in err


def test_shipped_profiles_are_valid(tsd):
    code, out, err = tsd("profiles", "check")
    assert code == 0 and out == "" and "all profiles are valid" in err


def test_check_reports_file_key_problem(tsd, tmp_path):
    bad = tmp_path / "acme.toml"
    bad.write_text('kind = "device"\nname = "Acme"\n[[match]]\nprops = ["ro.product.brand"]\nregex = "(unclosed"\n')
    wrong_kind = tmp_path / "x.toml"
    wrong_kind.write_text('kind = "printer"\n')
    broken = tmp_path / "broken.toml"
    broken.write_text("this is = = not toml")
    code, out, _ = tsd("profiles", "check", tmp_path)
    assert code == 1
    assert f"{bad}:match[0].regex: bad regex" in out
    assert f"{wrong_kind}:kind: must be one of device, app, desk" in out
    assert f"{broken}: cannot read" in out


def _user_dir(kind: str) -> Path:
    folder = profile_files.user_dir(kind)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_broken_user_profile_is_skipped_with_one_warning(fake_server, tsd):
    (_user_dir("device") / "zebra.toml").write_text("kind = 'device'\n[[[broken")
    srv = fake_server("zebra_tc52")
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "info", "--json")
    assert code == 0
    assert json.loads(out)["profile"] == "zebra"  # the shipped one still matches
    assert err.count("warning:") == 1 and "zebra.toml: skipped" in err


def test_user_profile_overrides_shipped_by_id(fake_server, tsd):
    (_user_dir("device") / "zebra.toml").write_text(
        'kind = "device"\nname = "Zebra (site build)"\n[[match]]\nprops = ["ro.product.vendor.brand"]\n'
        'regex = "(?i)^zebra$"\n[[fact]]\nname = "osx"\nlabel = "OSX"\nprops = ["ro.symbol.osx.version"]\n')
    srv = fake_server("zebra_tc52")
    code, out, _ = tsd("-H", "127.0.0.1", "-P", srv.port, "info", "--json")
    info = json.loads(out)
    assert code == 0 and info["vendor"] == "Zebra (site build)"
    assert info["vendor_facts"] == {"osx": "SDM660.140.14.8.5"}


def test_profiles_dir_with_mixed_kinds_and_empty_dir(fake_server, tsd, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    srv = fake_server("zebra_tc52")
    base = json.loads(tsd("-H", "127.0.0.1", "-P", srv.port, "info", "--json")[1])
    code, out, err = tsd("--profiles-dir", empty, "-H", "127.0.0.1", "-P", srv.port, "info", "--json")
    again = json.loads(out)
    for volatile in ("uptime_s", "battery_level"):
        base.pop(volatile), again.pop(volatile)
    assert code == 0 and again == base and err == ""


def test_check_of_an_empty_folder_is_not_a_pass(tsd, tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    code, out, _ = tsd("profiles", "check", empty)
    assert code == 1 and f"{empty}: no profile files (*.toml) in this folder" in out


def test_a_broken_desk_or_app_profile_is_named_when_collect_skips_it(fake_server, tsd, tmp_path):
    """A site's grsoft.toml (its own address, its own rules) that does not parse: collect used the
    shipped desk without a word, and `--app site` said only "no app profile 'site'" (README: a
    broken user file is skipped with one warning)."""
    (_user_dir("desk") / "grsoft.toml").write_text('kind = "desk"\nid = "grsoft"\nname = 5\n')
    (_user_dir("app") / "site.toml").write_text('kind = "app"\nid = "site"\n[[[broken')
    srv = fake_server("zebra_tc52")
    head = ("-H", "127.0.0.1", "-P", srv.port, "collect", "--no-input", "-o", tmp_path / "out")
    code, _, err = tsd(*head, "--desk", "grsoft", "--package", "com.example.scanner.demo")
    assert code == 3, err  # the ticket lacks the desk's fields: collected all the same
    assert err.count("warning:") == 1 and "grsoft.toml: skipped" in err, err
    code, _, err = tsd(*head, "--desk", "generic", "--app", "site")
    assert code == 2, err
    assert "site.toml: skipped" in err.strip().splitlines()[-1], err


def test_a_huge_user_profile_is_skipped_unread(fake_server, tsd):
    """A profile file over 1 MiB (the largest shipped one is 6 KB) is skipped with a warning, not
    parsed: a 300 MB one dropped in the desk folder took `profiles list` 4 min 37 s and 23.8 GB of
    memory, a 64 MB one under a 1.5 GB limit ended in 'internal error: MemoryError'."""
    big = _user_dir("desk") / "big.toml"
    big.write_text('kind = "desk"\nid = "big"\nname = "' + "x" * (2 << 20) + '"\n')
    code, out, err = tsd("profiles", "list")
    assert code == 0 and "grsoft" in out and "big" not in out.split(), out
    assert err.count("warning:") == 1 and f"{big}: skipped" in err and "over 1 MiB" in err, err
