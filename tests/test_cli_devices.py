"""End to end: `tsdtool devices/info/screenshot` against fixture terminals on the fake adb server."""

from __future__ import annotations

import json

import pytest

from tests.fake_adb import make_fixture
from tsdtool.parsers import png


def test_devices_lists_state_vendor_and_fix(fake_server, tsd):
    srv = fake_server("zebra_tc52", "unauthorized", "offline", "emulator")
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "devices", "--json")
    assert code == 0, err
    rows = {r["serial"]: r for r in json.loads(out)}
    assert rows["20TC52FX0001"]["vendor"] == "Zebra Technologies"
    assert rows["20TC52FX0001"]["model"] == "TC52"
    assert rows["20TC52FX0001"]["transport"] == "usb" and rows["20TC52FX0001"]["fix"] is None
    assert rows["R58M40ABCDE"]["state"] == "unauthorized"
    assert rows["R58M40ABCDE"]["fix"] == "accept the USB debugging prompt on the terminal"
    assert rows["192.168.1.77:5555"]["state"] == "offline"
    assert rows["192.168.1.77:5555"]["transport"] == "tcp"
    assert rows["192.168.1.77:5555"]["fix"] == "replug or restart the adb server"
    assert rows["emulator-5554"]["transport"] == "emulator"
    assert rows["emulator-5554"]["profile"] == "emulator"


def test_devices_table_escapes_device_text(fake_server, tsd, tmp_path):
    fixture = make_fixture(tmp_path, "T1", props={"ro.product.model": "[bold]X[/bold]"})
    srv = fake_server(fixture)
    code, out, _ = tsd("-H", "127.0.0.1", "-P", srv.port, "devices")
    assert code == 0
    assert "[bold]X[/bold]" in out  # shown literally, not eaten as Rich markup


def test_info_json_keys(fake_server, tsd):
    srv = fake_server("zebra_tc52")
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "info", "--json")
    assert code == 0, err
    info = json.loads(out)
    for key in ("serial", "manufacturer", "brand", "model", "device", "android_release", "sdk",
                "build_id", "fingerprint", "security_patch"):
        assert key in info
    assert info["serial"] == "20TC52FX0001"
    # the helios image has no plain ro.product.manufacturer: the vendor partition answers
    assert info["manufacturer"] == "Zebra Technologies"
    assert info["android_release"] == "14" and info["sdk"] == "34"
    assert info["security_patch"] == "2025-08-05"
    assert info["profile"] == "zebra" and info["vendor_facts"]["patch_version"] == "U00"
    assert info["vendor_facts"]["osx_version"] == "SDM660.140.14.8.5"
    assert "ro.product.vendor.manufacturer" in info["profile_match"]
    # runtime facts, from the fixture's dumpsys battery, df and /proc/uptime
    assert info["battery_level"] == 85 and info["charging"] is True
    assert info["storage_data_free_kb"] == 19581396 and info["storage_data_total_kb"] == 24947036
    assert info["storage_sdcard_total_kb"] == 24947036
    assert info["uptime_s"] == 273912


@pytest.mark.parametrize("fixtures, args, code, message", [
    (["unauthorized"], [], 4, "accept the USB debugging prompt on the terminal"),
    (["offline"], [], 4, "replug or restart the adb server"),
    (["zebra_tc52", "honeywell_ct60"], [], 4, "2 terminals attached: "),
    (["zebra_tc52"], ["-s", "NOPE123"], 4, "no terminal with serial 'NOPE123'"),
    ([], [], 4, "no terminal attached"),
])
@pytest.mark.parametrize("command", ["info", "screenshot"])
def test_unavailable_terminals(fake_server, tsd, fixtures, args, code, message, command):
    srv = fake_server(*fixtures)
    rc, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, *args, command)
    assert rc == code
    assert message in err
    if "terminals attached" in message:  # names each one, in the server's order
        assert "20TC52FX0001 (device)" in err and "18326D8A2F (device)" in err and "-s SERIAL" in err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and out == ""


def test_android_serial_selects(fake_server, tsd, monkeypatch):
    srv = fake_server("zebra_tc52", "honeywell_ct60")
    monkeypatch.setenv("ANDROID_SERIAL", "18326D8A2F")
    code, out, _ = tsd("-H", "127.0.0.1", "-P", srv.port, "info", "--json")
    assert code == 0 and json.loads(out)["profile"] == "honeywell"


def test_screenshot_writes_verified_png(fake_server, tsd, tmp_path):
    srv = fake_server("zebra_tc52")
    target = tmp_path / "shot.png"
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "screenshot", "-o", target)
    assert code == 0, err
    data = target.read_bytes()
    assert data == (srv.terminal("20TC52FX0001").fixture / "screen.png").read_bytes()
    assert png.inspect(data).black is False


def test_black_screen_is_flagged_not_passed_off(fake_server, tsd, tmp_path):
    srv = fake_server("emulator")  # its screen.png is all black (screen off)
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "screenshot", "-o", tmp_path / "s.png")
    assert code == 3
    assert "all black" in err


def test_warning_line_before_the_png_is_removed(fake_server, tsd, tmp_path):
    picture = png.make(3, 2, (200, 10, 10))
    fixture = make_fixture(tmp_path / "f", "MULTI1", screen=picture,
                           device={"screencap_warning": "[Warning] Multiple displays were found\n"})
    srv = fake_server(fixture)
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "screenshot", "-o", tmp_path / "s.png")
    assert code == 0, err
    assert (tmp_path / "s.png").read_bytes() == picture
    assert "Multiple displays" in err


def test_android_4_without_exec_falls_back_to_the_pty_shell(fake_server, tsd, tmp_path):
    picture = png.make(5, 3, (10, 200, 10))
    assert b"\n" in picture  # else the PTY has nothing to mangle
    # Android 4.4: adbd has no exec: service, and its shell: runs under a PTY (\n -> \r\n)
    fixture = make_fixture(tmp_path / "f", "KITKAT1", sdk=19, screen=picture, device={"pty_crlf": True})
    srv = fake_server(fixture)
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "screenshot", "-o", tmp_path / "s.png")
    assert code == 0, err
    assert (tmp_path / "s.png").read_bytes() == picture
    assert any(r.endswith("shell:screencap -p") for r in srv.requests)


def test_pty_crlf_translation_is_undone():
    picture = png.make(5, 3, (10, 200, 10))
    mangled = picture.replace(b"\n", b"\r\n")  # what an old PTY shell hands back
    data, warning = png.unwrap(mangled)
    assert data == picture and warning == ""


def test_garbage_instead_of_png_is_a_clear_error(fake_server, tsd, tmp_path):
    canned = {"shell": {"screencap -p": "screencap: permission denied\n"}}
    fixture = make_fixture(tmp_path / "f", "GARB1", device=canned)
    srv = fake_server(fixture)
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "screenshot", "-o", tmp_path / "s.png")
    assert code == 3 and "screencap gave no PNG" in err
    assert not (tmp_path / "s.png").exists()


def test_all_black_detection_is_exact():
    assert png.inspect(png.make(4, 4, (0, 0, 0))).black is True
    assert png.inspect(png.make(4, 4, (0, 0, 1))).black is False


def test_no_permissions_terminal_points_at_udev(fake_server, tsd, tmp_path):
    srv = fake_server(make_fixture(tmp_path / "f", "NOPERM1", state="no permissions"))
    code, out, _ = tsd("-H", "127.0.0.1", "-P", srv.port, "devices", "--json")
    [row] = json.loads(out)
    assert code == 0 and row["state"].startswith("no permissions (missing udev rules?")
    assert "udev rule" in row["fix"] and "plugdev" in row["fix"]
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "info")
    assert code == 4 and "udev rule" in err and len(err.strip().splitlines()) == 1


def test_devices_parses_the_profiles_while_the_terminals_answer_getprop(fake_server, monkeypatch):
    """The ~30 ms of profile TOML ran before the first getprop went out; on a real terminal
    getprop takes longer than the parse, which now hides behind it."""
    import threading

    from tsdtool.devices import facts, listing, profiles
    from tsdtool.transport.adb import Adb

    asked = threading.Event()
    overlapped = []
    real_load, real_props = profiles.load_device_profiles, facts.read_props

    def load(*args, **kwargs):
        overlapped.append(asked.wait(5))  # the old order never asks before the profiles are in
        return real_load(*args, **kwargs)

    def read_props(device):
        asked.set()
        return real_props(device)

    monkeypatch.setattr(profiles, "load_device_profiles", load)
    monkeypatch.setattr(facts, "read_props", read_props)
    srv = fake_server("zebra_tc52", "honeywell_ct60")
    rows = listing.list_devices(Adb("127.0.0.1", int(srv.port), start_server=False))
    assert overlapped == [True]
    assert {r["vendor"] for r in rows} == {"Zebra Technologies", "Honeywell"}, rows
