"""The fake adb server against the three clients tsdtool meets: adbutils, ppadb, the adb CLI.

One fixture is queried through every client; the bytes must be identical and equal to the
fixture's files. Then the smart-socket framing, the selection errors, the sync errors, the
faults and the shell emulation are pinned down one by one.

The Debian ``adb`` CLI is optional locally (those tests skip) but required when ``$CI`` is set.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time
from io import BytesIO
from pathlib import Path

import adbutils
import pytest
from ppadb.client import Client as PpadbClient

from tests.conftest import need_backend
from tests.fake_adb import FakeAdbServer, Terminal, make_fixture
from tests.fake_adb.fixture_builder import make_png
from tests.fake_adb.server import unauthorized_text

GOOD, UNAUTH, OFF = "TSD0001", "R58UNAUTH1", "192.168.1.77:5555"
MODEL = "TC52 ax"  # the space must become "_" in `devices -l`
BIG = bytes(range(256)) * 781 + b"tail"  # 199 940 bytes: three full 64 KiB DATA chunks and a short one
SCREEN = make_png(3, 5, (200, 10, 10))
PACKAGES = [
    {
        "name": "com.acme.scan",
        "version_name": "2.1.0",
        "version_code": 210,
        "debuggable": True,
        "first_install_time": "2024-03-01 09:15:03",
        "last_update_time": "2024-05-12 14:02:47",
    },
    {"name": "com.acme.wms", "version_name": "7.0", "version_code": 700, "debuggable": False},
]
LOGCAT = (
    "--------- beginning of main\n"
    "05-14 10:00:00.000  1234  1250 I ActivityManager: Start proc 4321:com.acme.scan\n"
    "05-14 10:00:05.500  4321  4321 E AcmeScan: scanner timeout\n"
    "--------- beginning of system\n"
    "05-14 10:00:06.000  1000  1000 W PowerManager: low battery\n"
)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fixtures")
    good = make_fixture(
        root,
        GOOD,
        model=MODEL,
        packages=PACKAGES,
        system_packages=["android"],
        screen=SCREEN,
        logcat=LOGCAT,
        files={
            "sdcard/Download/big.bin": BIG,
            "sdcard/hello.txt": "hello\n",
            "sdcard/locked.txt": "secret",
            "data/data/com.acme.scan/databases/scans.db": b"SQLite format 3\x00" + b"\x01" * 84,
            "data/data/com.acme.wms/files/x": "x",
        },
        symlinks={"sdcard/escape": "../../../../../../etc/hostname", "sdcard/self": "/sdcard/hello.txt"},
        device={"unreadable": {"paths": ["/sdcard/locked.txt"]}},
    )
    return {
        "good": good,
        "unauth": make_fixture(root, UNAUTH, state="unauthorized"),
        "off": make_fixture(root, OFF, state="offline", transport="tcp"),
    }


@pytest.fixture(scope="module")
def server(fixtures):
    with FakeAdbServer([fixtures["good"], fixtures["unauth"], fixtures["off"]]) as srv:
        yield srv


@pytest.fixture
def adbu(server):
    return adbutils.AdbClient(host="127.0.0.1", port=server.port)


@pytest.fixture
def ppadb(server):
    return PpadbClient(host="127.0.0.1", port=server.port)


@pytest.fixture
def adb(adb_path, server, tmp_path):
    """Run the real adb client against the fake: ``adb("-s", X, "shell", "id")``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANDROID_", "ADB_"))}
    env["HOME"] = str(tmp_path / "adb-home")
    env.pop("TERM", None)

    def run(*args: str, port: int | None = None) -> subprocess.CompletedProcess:
        # "-H 127.0.0.1" makes the server "remote": the CLI never spawns a real one.
        cmd = [adb_path, "-H", "127.0.0.1", "-P", str(port or server.port), *args]
        return subprocess.run(cmd, capture_output=True, env=env, timeout=30, check=False)

    return run


def frame(request: str, *, upper: bool = False) -> bytes:
    """A smart-socket request: hex4 length + payload."""
    data = request.encode()
    return (b"%04X" if upper else b"%04x") % len(data) + data


def reply(status: str, payload: str) -> bytes:
    return status.encode() + b"%04x" % len(payload.encode()) + payload.encode()


def raw_request(port: int, request: str, *, upper: bool = False, read_for: float = 2.0) -> bytes:
    """One smart-socket request; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_for) as s:
        s.sendall(frame(request, upper=upper))
        out = bytearray()
        while chunk := s.recv(65536):
            out += chunk
    return bytes(out)


# -- the same bytes through every client ---------------------------------------------------------


def test_getprop_is_the_fixture_file_through_every_client(fixtures, adbu, ppadb, adb):
    expected = (fixtures["good"] / "getprop.txt").read_bytes()
    assert adbu.device(GOOD).shell("getprop", encoding=None) == expected
    assert ppadb.device(GOOD).shell("getprop").encode() == expected
    cli = adb("-s", GOOD, "shell", "getprop")
    assert cli.returncode == 0 and cli.stdout == expected


def test_getprop_key_through_every_client(adbu, ppadb, adb):
    assert adbu.device(GOOD).getprop("ro.product.model") == MODEL
    assert ppadb.device(GOOD).shell("getprop ro.product.model") == MODEL + "\n"
    assert adb("-s", GOOD, "shell", "getprop", "ro.product.model").stdout == (MODEL + "\n").encode()
    assert adb("-s", GOOD, "shell", "getprop", "no.such.key").stdout == b"\n"


def test_pull_gives_the_fixture_bytes_through_every_client(fixtures, adbu, ppadb, adb, tmp_path):
    src = "/sdcard/Download/big.bin"
    assert adbu.device(GOOD).sync.pull(src, tmp_path / "a.bin") == len(BIG)
    ppadb.device(GOOD).pull(src, str(tmp_path / "p.bin"))
    cli = adb("-s", GOOD, "pull", src, str(tmp_path / "c.bin"))
    assert cli.returncode == 0, cli.stderr
    for name in ("a.bin", "p.bin", "c.bin"):
        assert (tmp_path / name).read_bytes() == BIG, name


def test_screencap_png_is_identical_through_every_client(adbu, ppadb, adb):
    assert adbu.device(GOOD).shell("screencap -p", encoding=None) == SCREEN
    assert adbu.device(GOOD).screenshot().size == (3, 5)
    assert bytes(ppadb.device(GOOD).screencap()) == SCREEN
    cli = adb("-s", GOOD, "exec-out", "screencap", "-p")
    assert cli.returncode == 0 and cli.stdout == SCREEN


def test_devices_long_listing(server, adbu, ppadb, adb):
    # The real server sorts: USB first, then local transports, each by serial.
    expected = (
        f"{UNAUTH:<22} unauthorized usb:1-2 transport_id:2\n"
        f"{GOOD:<22} device usb:1-1 product:TC52 model:TC52_ax device:TC52 transport_id:1\n"
        f"{OFF:<22} offline transport_id:3\n"
    )
    assert adb("devices", "-l").stdout.decode() == "List of devices attached\n" + expected + "\n"
    assert adb("devices").stdout.decode() == (
        f"List of devices attached\n{UNAUTH}\tunauthorized\n{GOOD}\tdevice\n{OFF}\toffline\n\n"
    )
    infos = {d.serial: d for d in adbu.list(extended=True)}
    assert infos[GOOD].tags == {
        "usb": "1-1",
        "product": "TC52",
        "model": "TC52_ax",
        "device": "TC52",
        "transport_id": "1",
    }
    assert infos[UNAUTH].state == "unauthorized" and infos[OFF].state == "offline"
    assert [d.serial for d in ppadb.devices()] == [UNAUTH, GOOD, OFF]


def test_host_queries_through_every_client(adbu, ppadb, adb):
    d = adbu.device(GOOD)
    assert (d.get_state(), d.get_serialno(), d.get_devpath()) == ("device", GOOD, "usb:1-1")
    assert "shell_v2" in d.get_features() and "sendrecv_v2" not in d.get_features()
    assert adbu.server_version() == 41 and ppadb.version() == 41
    assert ppadb.device(GOOD).get_serial_no() == GOOD
    assert adb("-s", GOOD, "get-state").stdout == b"device\n"
    assert adb("-s", GOOD, "get-devpath").stdout == b"usb:1-1\n"


# -- selection errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "text"),
    [
        (UNAUTH, unauthorized_text(None)),
        (OFF, "device offline"),
        ("NOPE", "device 'NOPE' not found"),
    ],
)
def test_selection_errors_through_every_client(adbu, ppadb, adb, serial, text):
    cli = adb("-s", serial, "shell", "true")
    assert cli.returncode == 1 and cli.stderr.decode() == f"error: {text}\n"
    with pytest.raises(adbutils.AdbError) as exc:
        adbu.device(serial).shell("true")
    assert str(exc.value) == text
    with ppadb.create_connection() as conn, pytest.raises(RuntimeError) as exc:
        conn.send(f"host:transport:{serial}")
    assert text in str(exc.value)


def test_more_than_one_and_none_found(server, adb, tmp_path):
    assert adb("shell", "true").stderr == b"error: more than one device/emulator\n"
    assert raw_request(server.port, "host:tport:usb") == reply("FAIL", "more than one device")
    assert raw_request(server.port, "host:transport-local") == reply(
        "FAIL", "device offline"
    )  # the only tcp one
    with FakeAdbServer() as empty:
        assert adb("shell", "true", port=empty.port).stderr == b"error: no devices/emulators found\n"
        assert raw_request(empty.port, "host-usb:get-state") == reply("FAIL", "no devices found")
        assert raw_request(empty.port, "host:transport-id:7") == reply(
            "FAIL", "no device with transport id '7'"
        )


# -- smart-socket framing ------------------------------------------------------------------------


def test_framing_replies_and_closes(server):
    assert raw_request(server.port, "host:version") == b"OKAY00040029"
    assert raw_request(server.port, "host:version", upper=True) == b"OKAY00040029"  # ppadb's %04X
    assert raw_request(server.port, "host:bogus") == reply("FAIL", "unknown host service")
    assert raw_request(server.port, f"host-serial:{GOOD}:get-serialno") == reply("OKAY", GOOD)
    assert raw_request(server.port, f"host-serial:{OFF}:get-state") == reply("FAIL", "device offline")
    assert raw_request(server.port, f"host-serial:{OFF}:get-devpath") == reply("FAIL", "device offline")
    assert raw_request(server.port, "host:connect:10.0.0.1") == reply(
        "OKAY", "failed to connect to '10.0.0.1:5555': Connection refused"
    )
    assert raw_request(server.port, f"host:connect:{OFF}") == reply("OKAY", f"already connected to {OFF}")
    assert raw_request(server.port, "host:disconnect:10.9.9.9:5555") == reply(
        "FAIL", "no such device '10.9.9.9:5555'"
    )


def test_tport_answers_okay_and_the_transport_id_then_serves_the_device(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(frame(f"host:tport:serial:{GOOD}"))
        head = s.recv(12)
        assert head == b"OKAY" + struct.pack("<Q", 1)
        s.sendall(frame("shell,v2,raw:echo hi"))
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    assert data == b"OKAY" + b"\x01\x03\x00\x00\x00hi\n" + b"\x03\x01\x00\x00\x00\x00"


def test_unknown_device_service_is_refused_like_adbd(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(frame(f"host:transport:{GOOD}"))
        assert s.recv(4) == b"OKAY"
        s.sendall(frame("jdwp:12345"))
        assert s.recv(64) == reply("FAIL", "closed")


def test_track_devices_reports_plug_state_and_unplug(server, tmp_path, adbu):
    events = []

    def watch():
        for event in adbu.track_devices():
            events.append((event.serial, event.status))
            if events.count(("LATE1", "absent")) == 2:  # offline replaces device, then unplugged
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    time.sleep(0.3)
    server.add_terminal(make_fixture(tmp_path, "LATE1"))
    time.sleep(0.3)
    server.set_state("LATE1", "offline")
    time.sleep(0.3)
    server.remove_terminal("LATE1")
    thread.join(5)
    late = [e for e in events if e[0] == "LATE1"]
    assert late == [("LATE1", "device"), ("LATE1", "absent"), ("LATE1", "offline"), ("LATE1", "absent")]


def test_wait_for_any_fails_when_ambiguous(server):
    assert raw_request(server.port, "host:wait-for-usb-device") == b"OKAY" + reply(
        "FAIL", "more than one device"
    )


def test_wait_for_device_answers_twice(server, tmp_path):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(frame("host-serial:LATE2:wait-for-any-device"))
        assert s.recv(4) == b"OKAY"
        server.add_terminal(make_fixture(tmp_path, "LATE2"))
        try:
            assert s.recv(4) == b"OKAY"
        finally:
            server.remove_terminal("LATE2")


# -- shell exit status, sync errors, read-only device ------------------------------------------


def test_exit_status_over_shell_v1_marker_and_v2(adbu, adb):
    d = adbu.device(GOOD)
    v1 = d.shell2("ls /nope")
    assert v1.returncode == 1 and v1.output == "ls: /nope: No such file or directory\n"
    v2 = d.shell2("ls /nope", v2=True)
    assert (v2.returncode, v2.stdout, v2.stderr) == (1, "", "ls: /nope: No such file or directory\n")
    cli = adb("-s", GOOD, "shell", "ls /nope")
    assert (cli.returncode, cli.stdout, cli.stderr) == (1, b"", b"ls: /nope: No such file or directory\n")
    assert adb("-s", GOOD, "shell", "nosuchcmd").returncode == 127


def test_pull_errors_match_adbd(adbu, ppadb, adb, tmp_path):
    # adb 29 prints sync errors on stdout when stdout is not a terminal (LinePrinter).
    missing = adb("-s", GOOD, "pull", "/sdcard/nope.txt", str(tmp_path / "x"))
    assert missing.returncode == 1
    assert (
        missing.stdout
        == b"adb: error: failed to stat remote object '/sdcard/nope.txt': No such file or directory\n"
    )
    locked = adb("-s", GOOD, "pull", "/sdcard/locked.txt", str(tmp_path / "y"))
    assert (
        locked.stdout
        == (
            f"adb: error: failed to copy '/sdcard/locked.txt' to '{tmp_path / 'y'}': "
            "remote open failed: Permission denied\n"
        ).encode()
    )
    with pytest.raises(adbutils.AdbError, match="open failed: Permission denied"):
        adbu.device(GOOD).sync.read_bytes("/sdcard/locked.txt")
    with pytest.raises(adbutils.AdbError, match="open failed: No such file or directory"):
        adbu.device(GOOD).sync.read_bytes("/sdcard/escape")  # resolves to /etc/hostname inside fs/
    assert ppadb.device(GOOD).pull("/data/data/com.acme.scan/databases/scans.db", str(tmp_path / "z")) == (
        "open failed: Permission denied"
    )
    assert adbu.device(GOOD).sync.stat("/sdcard/nope.txt").mtime is None  # STAT v1: all zero


def test_sync_listing_and_stat(adbu, adb):
    sync = adbu.device(GOOD).sync
    names = [f.path for f in sync.iter_directory("/sdcard")]
    assert names == [".", "..", "Download", "escape", "hello.txt", "locked.txt", "self"]
    info = sync.stat("/sdcard/hello.txt")
    assert (info.size, int(info.mtime.timestamp())) == (6, 1_700_000_000)
    cli = adb("-s", GOOD, "ls", "/sdcard/Download")  # LIS2 with ls_v2
    assert cli.returncode == 0 and b"big.bin" in cli.stdout
    assert [f.path for f in sync.iter_directory("/data/data")] == []  # opendir fails: just DONE


def test_push_is_refused_and_journaled(server, adbu, adb, tmp_path):
    src = tmp_path / "upload.txt"
    src.write_text("payload")
    cli = adb("-s", GOOD, "push", str(src), "/data/local/tmp/upload.txt")
    assert cli.returncode == 1
    assert b"remote couldn't create file: Read-only file system" in cli.stdout
    with pytest.raises(adbutils.AdbError):
        adbu.device(GOOD).sync.push(b"data", "/data/local/tmp/x.bin")
    journal = server.terminal(GOOD).journal
    assert ("sync-send", "/data/local/tmp/upload.txt,33188") in journal
    assert ("sync-send", "/data/local/tmp/x.bin,33261") in journal


# -- faults ------------------------------------------------------------------------------------


def _single(tmp_path, **faults) -> FakeAdbServer:
    fixture = make_fixture(tmp_path, "FAULTY", files={"sdcard/big.bin": BIG}, faults=faults)
    return FakeAdbServer([fixture])


def test_drop_after_bytes_cuts_pull_and_shell(tmp_path, adb_path):
    with _single(tmp_path, drop_after_bytes=100_000) as srv:
        d = adbutils.AdbClient(port=srv.port).device("FAULTY")
        got = bytearray()
        with pytest.raises((adbutils.AdbError, EOFError, OSError)):
            for chunk in d.sync.iter_content("/sdcard/big.bin"):
                got += chunk
        assert 0 < len(got) < 100_000
        # shell v1 cannot tell a cut from the end; v2 notices the missing exit packet
        assert d.shell("cat /sdcard/big.bin", encoding=None) == BIG[:100_000]
        with pytest.raises(EOFError):
            d.shell2("cat /sdcard/big.bin", v2=True, encoding=None)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANDROID_", "ADB_"))}
        cli = [adb_path, "-H", "127.0.0.1", "-P", str(srv.port), "-s", "FAULTY"]
        pull = subprocess.run(
            cli + ["pull", "/sdcard/big.bin", str(tmp_path / "cut")],
            env=env,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert pull.returncode == 1
        # The adb 29 CLI exits 0 from a v2 shell cut before its exit packet: only the length tells.
        shell = subprocess.run(
            cli + ["shell", "cat /sdcard/big.bin"], env=env, capture_output=True, timeout=30, check=False
        )
        assert shell.returncode == 0 and len(shell.stdout) < len(BIG)


def test_delay_per_chunk_slows_transfers(tmp_path):
    with _single(tmp_path, delay_ms_per_chunk=60) as srv:
        d = adbutils.AdbClient(port=srv.port).device("FAULTY")
        start = time.monotonic()
        assert d.sync.read_bytes("/sdcard/big.bin") == BIG
        assert time.monotonic() - start >= 4 * 0.06


def test_offline_after_requests(tmp_path):
    with _single(tmp_path, offline_after_requests=2) as srv:
        d = adbutils.AdbClient(port=srv.port).device("FAULTY")
        assert d.shell("echo 1") == "1"
        assert d.shell("echo 2") == "2"
        with pytest.raises(adbutils.AdbError, match="device offline"):
            d.shell("echo 3")
        assert srv.terminal("FAULTY").state == "offline"


def test_garble_sync(tmp_path):
    with _single(tmp_path, garble_sync=True) as srv:
        d = adbutils.AdbClient(port=srv.port).device("FAULTY")
        with pytest.raises(adbutils.AdbError, match="Invalid sync cmd"):
            d.sync.read_bytes("/sdcard/big.bin")
        assert d.shell("echo still-fine") == "still-fine"


def test_hang_accepts_then_stays_silent(tmp_path):
    with _single(tmp_path, hang=True) as srv:
        d = adbutils.AdbClient(port=srv.port).device("FAULTY")
        with pytest.raises(adbutils.AdbTimeout):
            d.shell("echo never", timeout=0.5)
    # stop() returned: the hung connection thread was released


# -- lifecycle -----------------------------------------------------------------------------------


def test_stop_leaves_no_threads_or_listening_socket(tmp_path):
    before = set(threading.enumerate())
    srv = FakeAdbServer([make_fixture(tmp_path, "LIFE1")]).start()
    port = srv.port
    held = socket.create_connection(("127.0.0.1", port))  # an idle client must not block stop()
    assert adbutils.AdbClient(port=port).device("LIFE1").shell("echo ok") == "ok"
    srv.stop()
    held.close()
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_kill_server_stops_the_fake(tmp_path, adb_path):
    srv = FakeAdbServer([make_fixture(tmp_path, "KILL1")]).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANDROID_", "ADB_"))}
    subprocess.run(
        [adb_path, "-H", "127.0.0.1", "-P", str(srv.port), "kill-server"],
        env=env,
        capture_output=True,
        timeout=10,
        check=True,
    )
    assert srv.wait_stopped(5)


def test_module_entry_point_prints_its_port(tmp_path):
    fixture = make_fixture(tmp_path, "CLI1")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_adb", "--port", "0", "--fixture", str(fixture)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert raw_request(port, "host:devices") == b"OKAY000cCLI1\tdevice\n"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


# -- shell emulation (no sockets) ----------------------------------------------------------------


@pytest.fixture(scope="module", params=["real", "python"])
def term(fixtures, request) -> Terminal:
    return Terminal(fixtures["good"], backend=need_backend(request.param))


def run(term: Terminal, command: str) -> tuple[int, str, str]:
    r = term.execute(command)
    return r.exit_code, r.stdout.decode(), r.stderr.decode()


def test_shell_operators_and_redirections(term):
    assert run(term, "false && echo no || echo yes; echo $?") == (0, "yes\n0\n", "")
    assert run(term, "nosuch 2>/dev/null; echo X4EXIT:$?") == (0, "X4EXIT:127\n", "")
    assert run(term, "ls /nope 2>&1") == (1, "ls: /nope: No such file or directory\n", "")
    assert run(term, "echo ';' '&&' \"$USER\"") == (0, "; && shell\n", "")
    if term.backend == "python":
        assert run(term, "echo $(id)")[0] == 1  # command substitution is refused, not faked
        assert run(term, "echo x > /sdcard/y") == (
            1,
            "",
            "/system/bin/sh: can't create /sdcard/y: Read-only file system\n",
        )
    else:  # real mksh: the root is mounted read-only; Debian's mksh words the error its own way
        assert run(term, "echo $(id -u)") == (0, "2000\n", "")
        assert run(term, "echo x > /sdcard/y") == (
            1, "", "/system/bin/sh: /sdcard/y: create: Read-only file system\n")
    assert run(term, "getprop | grep -c ro.product.model") == (0, "1\n", "")


def test_getprop_and_unknown_commands(term):
    assert run(term, "getprop ro.serialno") == (0, f"{GOOD}\n", "")
    assert run(term, "getprop no.such") == (0, "\n", "")
    assert run(term, "frobnicate -x") == (127, "", "/system/bin/sh: frobnicate: inaccessible or not found\n")


def test_pm_formats(term):
    assert run(term, "pm list packages -3") == (0, "package:com.acme.scan\npackage:com.acme.wms\n", "")
    assert run(term, "pm list packages -s") == (0, "package:android\n", "")
    code, out, _ = run(term, "pm list packages -f --show-versioncode scan")
    assert (
        code == 0
        and out.startswith("package:/data/app/~~")
        and out.endswith("=com.acme.scan versionCode:210\n")
    )
    assert run(term, "pm path com.nope") == (1, "", "")
    assert run(term, "pm path com.acme.scan")[1].endswith("/base.apk\n")


def test_dumpsys_package_format(term):
    code, out, _ = run(term, "dumpsys package com.acme.scan")
    assert code == 0
    assert "  Package [com.acme.scan] (" in out and "    versionName=2.1.0\n" in out
    assert "versionCode=210 minSdk=" in out and "flags=[ DEBUGGABLE HAS_CODE" in out
    assert "firstInstallTime=2024-03-01 09:15:03\n" in out and "lastUpdateTime=2024-05-12 14:02:47\n" in out
    assert "DEBUGGABLE" not in run(term, "dumpsys package com.acme.wms")[1]
    assert "Unable to find package: com.nope" in run(term, "dumpsys package com.nope")[1]


def test_ls_stat_find_formats(term):
    code, out, _ = run(term, "ls -l /sdcard/hello.txt")
    assert (
        code == 0
        and out.startswith("-rw-rw-r-- 1 root sdcard_rw 6 ")
        and out.endswith(" /sdcard/hello.txt\n")
    )
    assert run(term, "ls /data/data") == (1, "", "ls: /data/data: Permission denied\n")
    assert run(term, "stat -c '%s %a %F %n' /sdcard/hello.txt") == (
        0,
        "6 664 regular file /sdcard/hello.txt\n",
        "",
    )
    assert run(term, "stat -c %s /nope") == (1, "", "stat: '/nope': No such file or directory\n")
    assert run(term, "find /sdcard/Download -type f") == (0, "/sdcard/Download/big.bin\n", "")
    assert run(term, "cat /sdcard/escape") == (1, "", "cat: /sdcard/escape: No such file or directory\n")
    assert run(term, "cat /sdcard/../../../../../etc/hostname")[0] == 1


def test_run_as_and_su(term):
    assert run(term, "run-as com.acme.scan head -c 16 databases/scans.db") == (0, "SQLite format 3\x00", "")
    assert run(term, "run-as com.acme.wms ls") == (1, "", "run-as: package not debuggable: com.acme.wms\n")
    assert run(term, "run-as com.nope ls") == (1, "", "run-as: unknown package: com.nope\n")
    assert run(term, "cat /data/data/com.acme.scan/databases/scans.db")[0] == 1
    assert run(term, "su 0 id") == (127, "", "/system/bin/sh: su: inaccessible or not found\n")


def test_tar_streams_a_real_archive(term):
    result = term.execute("run-as com.acme.scan tar -c -f - -C /data/data/com.acme.scan databases")
    assert result.exit_code == 0
    with tarfile.open(fileobj=BytesIO(result.stdout)) as tar:
        names = tar.getnames()
        data = tar.extractfile("databases/scans.db").read()
    assert names == ["databases", "databases/scans.db"]
    assert data.startswith(b"SQLite format 3\x00")


def test_old_terminal_texts(tmp_path):
    old = Terminal(make_fixture(tmp_path, "OLD1", sdk=22, packages=[{"name": "com.a"}]))
    assert old.execute("tar cf - /sdcard").exit_code == 127
    assert old.execute("run-as com.a ls").stderr == b"run-as: Package 'com.a' is not debuggable\n"
    assert "shell_v2" not in old.features



def test_gzip_is_there_from_android_10_only(tmp_path, backend):
    import gzip

    files = {"sdcard/a.txt": "a" * 1000}
    oreo = Terminal(make_fixture(tmp_path, "O26", sdk=26, files=files), backend=backend)  # no gzip in 8.0
    r = oreo.execute("gzip -c /sdcard/a.txt")
    assert (r.exit_code, r.stdout, r.stderr) == (127, b"", b"/system/bin/sh: gzip: inaccessible or not found\n")
    r = oreo.execute("tar -czf - -C / sdcard")  # toybox tar execs gzip; without it: no output, exit 0
    said = (r.exit_code, r.stdout, r.stderr)
    if backend == "real" and said[0] == 1:
        # real toybox races its dead child: when tar writes before the failed exec has closed the
        # pipe, the write fails (EPIPE) and tar adds "short write", exit 1 — about 1 in 150 runs
        # on a loaded 2-core host (measured); the emulation gives the usual outcome
        assert said == (1, b"", b"tar: exec gzip: No such file or directory\ntar: short write\n")
    else:
        assert said == (0, b"", b"tar: exec gzip: No such file or directory\n")
    ten = Terminal(make_fixture(tmp_path, "Q29", sdk=29, files=files), backend=backend)
    assert gzip.decompress(ten.execute("gzip -1 -c /sdcard/a.txt").stdout) == b"a" * 1000
    assert gzip.decompress(ten.execute("cat /sdcard/a.txt | gzip").stdout) == b"a" * 1000

def test_logcat_filters_and_log_appends(term):
    assert run(term, "logcat -d -b main -v time")[1] == (
        "--------- beginning of main\n"
        "05-14 10:00:00.000 I/ActivityManager( 1234): Start proc 4321:com.acme.scan\n"
        "05-14 10:00:05.500 E/AcmeScan( 4321): scanner timeout\n"
    )
    out = run(term, "logcat -d -T '05-14 10:00:05.000'")[1]
    assert "Start proc" not in out and "scanner timeout" in out and "low battery" in out
    assert run(term, "log -t TSD marker-42 && logcat -d -t 1")[1].endswith(" I TSD     : marker-42\n")
    assert ("log", run(term, "logcat -d -t 1")[1].splitlines()[-1]) in term.journal



def test_a_plain_dump_is_what_the_filtered_one_gives_with_nothing_filtered(fixtures):
    """`logcat -d` takes each buffer's run of lines at once (the usual dump, 27k lines on a bench
    terminal); with a filter that drops nothing it goes line by line. Buffers that interleave
    (a line logged to main after the system ones) show `switch to` either way."""
    term = Terminal(fixtures["good"])
    assert run(term, "log -t TSD after-the-system-lines")[0] == 0
    plain = run(term, "logcat -d")[1]
    assert plain.count("--------- switch to main\n") == 1 and plain.endswith(": after-the-system-lines\n")
    assert run(term, "logcat -d '*:V'")[1] == plain
    assert run(term, "logcat -d -b system -v threadtime")[1] == "".join(LOGCAT.splitlines(True)[3:])


def test_a_plain_dump_kept_for_the_next_is_made_again_once_the_log_changes(fixtures):
    """The usual dump is built once while the log stays the same (Terminal.log_dump); a line
    logged or a clear in between is in the next dump, also one logged while it was built."""
    term = Terminal(fixtures["good"])
    first = run(term, "logcat -d")[1]
    assert run(term, "logcat -d")[1] == first and first.endswith("low battery\n")
    assert run(term, "log -t TSD one-more")[0] == 0
    last = run(term, "logcat -d -t 1")[1].splitlines(True)[-1]
    assert last.endswith(": one-more\n") and run(term, "logcat -d")[1] == first + "--------- switch to main\n" + last
    assert run(term, "logcat -d -b system")[1] != run(term, "logcat -d")[1]  # another buffer set, another dump

    def build_while_logging(lines):
        term.append_log("TSD", "I", "logged-while-building")
        return b"built from the old lines"

    assert term.log_dump(build_while_logging, "k") == b"built from the old lines"
    assert term.log_dump(lambda lines: str(len(lines)).encode(), "k") == str(len(term.log_lines())).encode()
    assert run(term, "logcat -c")[0] == 0 and run(term, "logcat -d")[1] == ""


def test_debian_adb_logcat_dump_gives_the_log(server, adb):
    # `adb logcat -d` sends `export ANDROID_LOG_TAGS="…"; exec logcat -d` (adb commandline.cpp).
    cli = adb("-s", GOOD, "logcat", "-d")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.decode().replace("\r\n", "\n") == LOGCAT
    sent = [r for r in server.requests if "logcat" in r]
    assert any("export ANDROID_LOG_TAGS=" in r and "exec logcat" in r for r in sent), sent


def test_debian_adb_shell_export_and_exec(adb):
    cli = adb("-s", GOOD, "shell", 'export A=1; exec sh -c "echo \\$A"; echo not-reached')
    assert (cli.returncode, cli.stdout, cli.stderr) == (0, b"1\n", b"")
    assert adb("-s", GOOD, "shell", "B=2 sh -c 'echo $B'; echo ${B}x").stdout == b"2\nx\n"


def test_find_print0_and_tar_gzip_through_the_wire(adbu, tmp_path):
    d = adbu.device(GOOD)
    names = d.shell2("find /sdcard -type f -print0", v2=True).stdout
    # toybox find lists in readdir order (the emulation sorts)
    assert sorted(names.split("\0")[:-1]) == ["/sdcard/Download/big.bin", "/sdcard/hello.txt", "/sdcard/locked.txt"]
    with d.open_transport() as c:  # the whole gzipped tar of a 200 kB file comes back intact
        c.send_command("exec:tar -czf - -C /sdcard Download hello.txt")
        c.check_okay()
        data = c.read_until_close(encoding=None)
    with tarfile.open(fileobj=BytesIO(data), mode="r:gz") as tar:
        assert tar.extractfile("Download/big.bin").read() == BIG
        assert tar.extractfile("hello.txt").read() == b"hello\n"

# -- quirks of old and odd terminals --------------------------------------------------------------


def test_exec_out_merges_stderr_like_adbd(adb):
    # adbd's raw protocol has one output stream: stderr lands inside exec-out's stdout.
    cli = adb("-s", GOOD, "exec-out", "ls /nope")
    assert (cli.returncode, cli.stdout, cli.stderr) == (0, b"ls: /nope: No such file or directory\n", b"")


def test_crlf_screencap_only_ppadb_repairs_it(tmp_path, adb_path):
    fixture = make_fixture(tmp_path, "OLDPTY", sdk=22, screen=SCREEN, device={"screencap_crlf": True})
    with FakeAdbServer([fixture]) as srv:
        mangled = SCREEN.replace(b"\n", b"\r\n")
        assert (
            adbutils.AdbClient(port=srv.port).device("OLDPTY").shell("screencap -p", encoding=None) == mangled
        )
        assert bytes(PpadbClient(port=srv.port).device("OLDPTY").screencap()) == SCREEN  # ppadb undoes it
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANDROID_", "ADB_"))}
        cli = [adb_path, "-H", "127.0.0.1", "-P", str(srv.port), "-s", "OLDPTY"]
        exec_out = subprocess.run(
            cli + ["exec-out", "screencap", "-p"], env=env, capture_output=True, timeout=30
        )
        assert exec_out.stdout == SCREEN  # exec: never had a PTY


def test_pty_crlf_terminal_translates_every_v1_shell(tmp_path):
    fixture = make_fixture(tmp_path, "ANDROID6", sdk=23, device={"pty_crlf": True})
    with FakeAdbServer([fixture]) as srv:
        d = adbutils.AdbClient(port=srv.port).device("ANDROID6")
        assert d.shell("echo a; echo b", rstrip=False) == "a\r\nb\r\n"
        assert "shell_v2" not in d.get_features()  # so v2=True falls back to the marker
        assert d.shell2("false", v2=True).returncode == 1


def test_multi_display_warning_and_display_ids(tmp_path):
    second = make_png(2, 3, (0, 255, 0))
    fixture = make_fixture(
        tmp_path,
        "FOLD1",
        screen=SCREEN,
        device={
            "displays": [
                {"id": "4619827259835644672", "file": "screen.png"},
                {"id": "2", "file": "second.png"},
            ]
        },
    )
    (fixture / "second.png").write_bytes(second)
    term = Terminal(fixture)
    plain = term.execute("screencap -p")
    assert plain.stdout == SCREEN and plain.stderr.startswith(b"[Warning] Multiple displays were found")
    assert term.execute("screencap -p -d 2").stdout == second
    assert term.execute("screencap -p -d 2").stderr == b""
    assert term.execute("screencap -p -d 99").exit_code == 1


def test_canned_output_and_battery_override(tmp_path):
    fixture = make_fixture(
        tmp_path,
        "CANNED1",
        device={
            "shell": {
                "dumpsys meminfo": "Total RAM: 3,9 GB\n",
                "settings get global adb_enabled": {"stdout": "1\n"},
            },
            "battery": {"level": 15, "USB powered": False},
        },
    )
    term = Terminal(fixture)
    assert term.execute("dumpsys meminfo").stdout == b"Total RAM: 3,9 GB\n"
    assert term.execute("/system/bin/settings get global adb_enabled").stdout == b"1\n"
    battery = term.execute("dumpsys battery").stdout.decode()
    assert "  level: 15\n" in battery and "  USB powered: false\n" in battery


def test_globbing_like_mksh(term):
    assert run(term, "ls /sdcard/Download/*.bin") == (0, "/sdcard/Download/big.bin\n", "")
    assert run(term, "echo /sdcard/h?llo.*") == (0, "/sdcard/hello.txt\n", "")
    assert run(term, "echo '/sdcard/*' /sdcard/\\*") == (0, "/sdcard/* /sdcard/*\n", "")  # quoted: literal
    assert run(term, "echo /sdcard/*.none") == (0, "/sdcard/*.none\n", "")  # no match: as typed
    assert run(term, "echo /data/data/*") == (0, "/data/data/*\n", "")  # not listable by shell
    # The outer shell expands as the shell user, before run-as switches: the classic trap.
    assert run(term, "run-as com.acme.scan ls databases/*.db")[0] == 1
    assert run(term, "run-as com.acme.scan sh -c 'ls databases/*.db'") == (0, "databases/scans.db\n", "")
