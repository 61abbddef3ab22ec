"""`tsdtool doctor`: every failure a technician meets gets its cause and its fix.

The USB bus is fed as fake udev records (the attributes pyudev gives); the adb server is a
small stub here and the fake adb server in the CLI tests; `adb version` is a stand-in script.
"""

from __future__ import annotations

import json
import socket
import stat
import sys
from collections import namedtuple

import pytest

from tests.udev_records import MTP_IF, Record, usb_device
from tsdtool import doctor, errors, usb
from tsdtool.parsers.adb_devices import parse_devices_l
from tsdtool.transport.adb import ServerAddress
from tsdtool.transport.types import DeviceEntry

VENDORS = {"05e0": "Zebra Technologies", "0c2e": "Honeywell"}


# -- fakes ------------------------------------------------------------------------------------
class StubAdb:
    """Answers like tsdtool.transport.adb.Adb: a version and a device list, or an error."""

    def __init__(self, entries=(), version=41, error: errors.TsdError | None = None):
        self.entries, self.version, self.error = list(entries), version, error
        self.address = ServerAddress("127.0.0.1", 5037, False, "default")

    def server_version(self):
        if self.error:
            raise self.error
        return self.version

    def devices(self):
        return self.entries


def entry(serial="21012345", state="device", usb_path="1-1") -> DeviceEntry:
    return DeviceEntry(serial, state, "usb", {"usb": usb_path, "model": "TC52"})


@pytest.fixture
def adb_script(tmp_path):
    """A stand-in `adb` that only knows `adb version`; returns a function setting what it prints."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "adb"

    def write(protocol=41, package="29.0.6-debian"):
        script.write_text(
            f"#!{sys.executable}\n"
            "import sys\n"
            "assert sys.argv[1:] == ['version'], sys.argv\n"
            f"print('Android Debug Bridge version 1.0.{protocol}')\n"
            f"print('Version {package}')\n"
            "print('Installed as ' + sys.argv[0])\n"
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return {"PATH": str(bindir), "ADBUTILS_ADB_PATH": str(script)}

    return write


Usage = namedtuple("Usage", "total used free")
PLENTY = lambda path: Usage(100 << 30, 0, 50 << 30)  # noqa: E731


def diagnose(tmp_path, env, adb, records=(), **kw):
    kw.setdefault("disk_usage", PLENTY)
    return doctor.run(adb, output=tmp_path / "out", records=records, vendor_ids=VENDORS, env=env,
                      system=kw.pop("system", "Linux"), **kw)


def only_problem(checks):
    found = doctor.problems(checks)
    assert len(found) == 1, [(c.name, c.detail) for c in found]
    return found[0]


# -- the happy path ---------------------------------------------------------------------------
def test_everything_fine_has_no_problem(tmp_path, adb_script):
    checks = diagnose(tmp_path, adb_script(), StubAdb([entry()]), [usb_device()])
    assert doctor.problems(checks) == []
    names = [c.name for c in checks]
    assert names == ["adb binary", "adb server", "usb 05e0:2101 21012345", "output folder"]
    assert "1.0.41 (29.0.6-debian)" in checks[0].detail
    assert "listed by adb as 21012345 (device)" in checks[2].detail


def test_pyudev_bytes_attributes_are_read(tmp_path, adb_script):
    checks = diagnose(tmp_path, adb_script(), StubAdb([entry()]), [usb_device(encode=True)])
    assert doctor.problems(checks) == []


@pytest.mark.parametrize("text, expected", [
    ("Android Debug Bridge version 1.0.41\nVersion 29.0.6-debian\nInstalled as /usr/bin/adb\n", (41, "29.0.6-debian")),
    ("Android Debug Bridge version 1.0.39\nRevision 3db08f2c6889-android\n", (39, "")),
    ("adb: command not found\n", (None, "")),
])
def test_parse_adb_version(text, expected):
    assert doctor.parse_adb_version(text) == expected


# -- adb binary and server --------------------------------------------------------------------
@pytest.mark.parametrize("system, words", [
    ("Linux", "sudo apt install adb"),
    ("Darwin", "brew install --cask android-platform-tools"),
    ("Windows", "winget install Google.PlatformTools"),
])
def test_adb_missing_names_the_install_for_this_os(tmp_path, system, words):
    env = {"PATH": str(tmp_path), "ADBUTILS_ADB_PATH": str(tmp_path / "nowhere" / "adb")}
    checks = diagnose(tmp_path, env, StubAdb([entry()]), [usb_device()], system=system)
    problem = only_problem(checks)
    assert problem.name == "adb binary" and "does not exist" in problem.detail
    assert words in problem.fix


def test_adb_that_prints_no_version_is_a_problem(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "ADBUTILS_ADB_PATH": "false"}
    problem = only_problem(diagnose(tmp_path, env, StubAdb([entry()]), [usb_device()]))
    assert problem.name == "adb binary" and "did not print an adb version" in problem.detail


def test_server_unreachable_gives_its_fix_and_skips_the_comparison(tmp_path, adb_script):
    down = errors.ServerUnreachable("no adb server at 127.0.0.1:5037", fix="start it: adb start-server")
    checks = diagnose(tmp_path, adb_script(), StubAdb(error=down), [usb_device()])
    problem = only_problem(checks)
    assert problem.name == "adb server" and problem.fix == "start it: adb start-server"
    usb_check = next(c for c in checks if c.name.startswith("usb"))
    assert usb_check.status == doctor.SKIPPED and "no adb server to compare with" in usb_check.detail


def test_version_mismatch_names_the_classic_message_and_a_second_server(tmp_path, adb_script):
    checks = diagnose(tmp_path, adb_script(protocol=41), StubAdb([entry()], version=39), [usb_device()])
    problem = only_problem(checks)
    assert problem.detail == "adb server version (39) doesn't match this client (41)"
    assert "another program" in problem.fix and "adb kill-server" in problem.fix


# -- USB bus vs adb ---------------------------------------------------------------------------
def test_terminal_on_usb_without_adb_interface_means_usb_debugging_off(tmp_path, adb_script):
    records = [usb_device(interfaces=(MTP_IF,))]
    problem = only_problem(diagnose(tmp_path, adb_script(), StubAdb([]), records))
    assert problem.name == "usb 05e0:2101 21012345"
    assert "on USB but not in adb" in problem.detail and "ff/42/01" in problem.detail
    assert "USB debugging on" in problem.fix and "Build number" in problem.fix


def test_terminal_with_adb_interface_missing_from_adb_says_restart_the_server(tmp_path, adb_script):
    problem = only_problem(diagnose(tmp_path, adb_script(), StubAdb([]), [usb_device()]))
    assert "has an adb interface" in problem.detail
    assert "adb kill-server" in problem.fix


def test_no_permissions_prints_the_udev_rule_for_that_vendor(tmp_path, adb_script):
    # the line as adb 29 prints it for a device it cannot open (transport.cpp)
    listed = parse_devices_l("20234B0123             no permissions (user in plugdev group; are your udev rules "
                             "wrong?); see [http://developer.android.com/tools/device.html] usb:3-1 transport_id:4\n")
    records = [usb_device(vid="0c2e", pid="0b61", serial="20234B0123", sys_name="3-1")]
    checks = diagnose(tmp_path, adb_script(), StubAdb(listed), records)
    problem = only_problem(checks)  # reported once: not again as a bad adb state
    assert 'SUBSYSTEM=="usb", ATTR{idVendor}=="0c2e", MODE="0660", GROUP="plugdev"' in problem.fix.splitlines()[1]
    assert "usermod -aG plugdev" in problem.fix and "udevadm" in problem.fix


def test_no_permissions_without_usb_view_still_gets_the_rule_template(tmp_path, adb_script):
    state = "no permissions (missing udev rules? user is in the plugdev group); see [http://developer.android.com/tools/device.html]"
    checks = doctor.run(StubAdb([entry(state=state)]), output=tmp_path, vendor_ids=VENDORS, env=adb_script(),
                        system="Darwin", disk_usage=PLENTY)
    problem = only_problem(checks)
    assert problem.name == "device 21012345" and 'ATTR{idVendor}=="VVVV"' in problem.fix and "lsusb" in problem.fix


def test_match_by_devpath_when_the_usb_serial_is_unreadable(tmp_path, adb_script):
    records = [usb_device(serial="", sys_name="3-2.1")]
    checks = diagnose(tmp_path, adb_script(), StubAdb([entry("ABC", usb_path="3-2.1")]), records)
    assert doctor.problems(checks) == []


def test_unknown_vendor_with_adb_interface_is_a_terminal_too(tmp_path, adb_script):
    records = [usb_device(vid="1234", serial="UROVO1"), usb_device(vid="046d", serial="", interfaces=(MTP_IF,))]
    checks = diagnose(tmp_path, adb_script(), StubAdb([]), records)
    problem = only_problem(checks)  # the mouse (046d, no adb interface) is ignored
    assert problem.name == "usb 1234:2101 UROVO1"


def test_nothing_on_usb_and_nothing_in_adb_mentions_the_cable(tmp_path, adb_script):
    mouse = usb_device(vid="046d", serial="", interfaces=(MTP_IF,))
    problem = only_problem(diagnose(tmp_path, adb_script(), StubAdb([]), [mouse]))
    assert "none in adb" in problem.detail and "charge-only cable" in problem.fix


def test_usb_not_available_off_linux_is_skipped_not_a_crash(tmp_path, adb_script):
    checks = doctor.run(StubAdb([entry()]), output=tmp_path, vendor_ids=VENDORS, env=adb_script(),
                        system="Darwin", disk_usage=PLENTY)
    assert doctor.problems(checks) == []
    assert any(c.status == doctor.SKIPPED and "not available on Darwin" in c.detail for c in checks)


def test_windows_with_no_terminal_mentions_the_usb_driver(tmp_path, adb_script):
    checks = doctor.run(StubAdb([]), output=tmp_path, vendor_ids=VENDORS, env=adb_script(),
                        system="Windows", disk_usage=PLENTY)
    assert "USB driver" in only_problem(checks).fix


# -- adb states -------------------------------------------------------------------------------
@pytest.mark.parametrize("state, words", [
    ("unauthorized", "Allow USB debugging"),
    ("offline", "replug the cable"),
    ("recovery", "boot it normally"),
])
def test_each_unusable_state_gets_its_fix(tmp_path, adb_script, state, words):
    checks = diagnose(tmp_path, adb_script(), StubAdb([entry(state=state)]), [usb_device()])
    problem = only_problem(checks)
    assert problem.name == "device 21012345" and problem.detail == f"21012345 is {state}"
    assert words in problem.fix


# -- output folder ----------------------------------------------------------------------------
def test_unwritable_output_folder(tmp_path, adb_script):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    checks = doctor.run(StubAdb([entry()]), output=blocker / "out", records=[usb_device()], vendor_ids=VENDORS,
                        env=adb_script(), system="Linux", disk_usage=PLENTY)
    problem = only_problem(checks)
    assert problem.name == "output folder" and "is not a folder" in problem.detail and "-o" in problem.fix


def test_output_folder_without_write_permission(tmp_path, adb_script, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(doctor.tempfile, "TemporaryFile", refuse)
    problem = only_problem(diagnose(tmp_path, adb_script(), StubAdb([entry()]), [usb_device()]))
    assert "cannot write" in problem.detail and "Permission denied" in problem.detail


def test_low_free_space(tmp_path, adb_script):
    tight = lambda path: Usage(100 << 30, 0, 10 << 20)  # noqa: E731
    problem = only_problem(diagnose(tmp_path, adb_script(), StubAdb([entry()]), [usb_device()], disk_usage=tight))
    assert "only 10.0 MB free" in problem.detail and "free some space" in problem.fix


# -- usb module details ------------------------------------------------------------------------
def test_udev_rule_line():
    assert usb.udev_rule("05e0") == 'SUBSYSTEM=="usb", ATTR{idVendor}=="05e0", MODE="0660", GROUP="plugdev"'


def test_scan_off_linux_raises_unavailable():
    with pytest.raises(usb.UsbUnavailable, match="not available on Windows"):
        usb.scan("Windows")


def test_interfaces_are_not_devices():
    dev = usb_device()
    assert usb.from_record(dev.children[0]) is None
    assert usb.from_record(dev).adb_interface is True
    assert usb.from_record(Record("usb", "usb_device", {})) is None


def test_to_json_counts_problems(tmp_path, adb_script):
    checks = diagnose(tmp_path, adb_script(), StubAdb([entry(state="offline")]), [usb_device()])
    data = doctor.to_json(checks)
    assert data["ok"] is False and data["problems"] == 1
    assert {"name", "status", "detail", "fix"} == set(data["checks"][0])


# -- the command, against the fake adb server --------------------------------------------------
@pytest.fixture
def cli_env(monkeypatch, adb_script):
    """The stand-in adb for `adb version`, and a USB bus holding one Zebra terminal."""
    env = adb_script()
    monkeypatch.setenv("ADBUTILS_ADB_PATH", env["ADBUTILS_ADB_PATH"])
    bus = [usb_device(serial="20TC52FX0001", sys_name="1-1")]
    monkeypatch.setattr(usb, "scan", lambda system=None: bus)
    return bus


def test_cli_healthy_terminal_exits_0(tsd, fake_server, cli_env, tmp_path):
    srv = fake_server("zebra_tc52")
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "doctor", "-o", tmp_path / "out")
    assert code == 0, out + err
    assert "listed by adb as 20TC52FX0001 (device)" in out and "no problem found" in out


@pytest.mark.parametrize("fixture, words", [
    ("unauthorized", "Allow USB debugging"),
    ("offline", "tsdtool connect 192.168.1.77:5555"),  # a network terminal: no cable to replug
])
def test_cli_bad_state_exits_1_with_its_fix(tsd, fake_server, cli_env, tmp_path, fixture, words):
    srv = fake_server("zebra_tc52", fixture)
    code, out, _ = tsd("-H", "127.0.0.1", "-P", srv.port, "doctor", "-o", tmp_path)
    assert code == 1
    assert words in out and "1 problem(s) found" in out


def test_cli_terminal_unplugged_from_adb_but_on_usb(tsd, fake_server, cli_env, tmp_path):
    cli_env[0].children = []  # no adb interface: debugging is off
    srv = fake_server()
    code, out, _ = tsd("-H", "127.0.0.1", "-P", srv.port, "doctor", "--json", "-o", tmp_path)
    data = json.loads(out)
    assert code == 1 and data["problems"] == 1
    problem = next(c for c in data["checks"] if c["status"] == "problem")
    assert problem["name"] == "usb 05e0:2101 20TC52FX0001" and "USB debugging on" in problem["fix"]


def test_cli_version_mismatch(tsd, fake_server, cli_env, adb_script, tmp_path):
    adb_script(protocol=39)  # the fake server speaks 41
    srv = fake_server("zebra_tc52")
    code, out, _ = tsd("-H", "127.0.0.1", "-P", srv.port, "doctor", "-o", tmp_path)
    assert code == 1 and "adb server version (41) doesn't match this client (39)" in out


def test_cli_server_unreachable(tsd, cli_env, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = tsd("-H", "127.0.0.1", "-P", port, "doctor", "-o", tmp_path)
    assert code == 1 and err == ""
    assert f"no adb server at 127.0.0.1:{port}" in out and f"fix: start it there (adb -P {port} start-server)" in out


def test_cli_udev_rule_is_printed_unwrapped(tsd, fake_server, cli_env, tmp_path, monkeypatch):
    """The rule line must survive copy and paste: never wrapped, whatever the terminal width."""
    monkeypatch.setenv("COLUMNS", "40")
    from tests.fake_adb import make_fixture

    srv = fake_server(make_fixture(tmp_path / "fx", "20TC52FX0001", state="no permissions"))
    code, out, _ = tsd("-H", "127.0.0.1", "-P", srv.port, "doctor", "-o", tmp_path)
    assert code == 1
    rule = 'SUBSYSTEM=="usb", ATTR{idVendor}=="05e0", MODE="0660", GROUP="plugdev"'
    assert any(line.strip() == rule for line in out.splitlines()), out


def test_a_usb_descriptor_string_is_one_line_shown_not_obeyed(tsd, fake_server, cli_env, tmp_path):
    """The terminal writes its own USB product and manufacturer strings (the kernel passes them
    on as they are): a product 'TC52\\nok       usb: …' printed a check line of its own, and a
    bidi override turned the rest of the line round."""
    cli_env[0].attributes["product"] = "TC52\nok       usb 05e0:2101: all fine \u202e"
    cli_env[0].attributes["manufacturer"] = "Zebra\x1b[2J"
    srv = fake_server("zebra_tc52")
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "doctor", "-o", tmp_path / "out")
    assert code == 0, out + err
    assert not [line for line in out.splitlines() if line.startswith("ok       usb 05e0:2101: all")], out
    assert "TC52\\nok" in out and "\\u202e" in out and "\\x1b[2J" in out
    assert not {"\x1b", "\u202e"} & set(out + err)
