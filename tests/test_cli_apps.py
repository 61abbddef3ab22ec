"""`tsdtool apps` on a new (Android 14) and an old (Android 7) terminal."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("fixture, pattern, expected", [
    ("zebra_tc52", None, [
        {"package": "com.example.mobilesmarts", "version_name": "3.3.0.28766", "version_code": 28766,
         "first_install_time": "2024-03-01 09:15:03", "last_update_time": "2024-05-12 14:02:47",
         "debuggable": False},
        {"package": "com.example.scanner.demo", "version_name": "1.4.2-debug", "version_code": 10402,
         "first_install_time": "2024-05-13 16:40:10", "last_update_time": "2024-05-13 16:40:10",
         "debuggable": True},
    ]),
    ("zebra_tc52", "*.scanner.*", [
        {"package": "com.example.scanner.demo", "version_name": "1.4.2-debug", "version_code": 10402,
         "first_install_time": "2024-05-13 16:40:10", "last_update_time": "2024-05-13 16:40:10",
         "debuggable": True},
    ]),
])
def test_apps_new_format(fake_server, tsd, fixture, pattern, expected):
    srv = fake_server(fixture)
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "apps", *([pattern] if pattern else []), "--json")
    assert code == 0, err
    assert json.loads(out) == expected


def test_apps_old_android_format(fake_server, tsd):
    import tomllib

    from tests.conftest import fixture_dir

    declared = tomllib.loads((fixture_dir("zebra_tc70x") / "packages.toml").read_text())["package"]
    srv = fake_server("zebra_tc70x")
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "apps", "--json")
    assert code == 0, err
    got = {a["package"]: a for a in json.loads(out)}
    assert got and set(got) == {p["name"] for p in declared if not p.get("system")}
    for p in declared:
        if p["name"] in got:
            assert got[p["name"]]["version_name"] == p["version_name"]
            assert got[p["name"]]["version_code"] == p["version_code"]
            assert got[p["name"]]["debuggable"] == p["debuggable"]


def test_no_match_is_not_an_error(fake_server, tsd):
    srv = fake_server("zebra_tc52")
    code, out, _ = tsd("-H", "127.0.0.1", "-P", srv.port, "apps", "org.none.*")
    assert code == 0 and "No matching app installed." in out
