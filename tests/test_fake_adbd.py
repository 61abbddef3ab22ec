"""The fake adbd behind the REAL Debian adb server (``adb connect 127.0.0.1:PORT``).

A private adb server runs as a child process (``adb -P PORT nodaemon server``, private HOME,
no emulator probing) and is always stopped at the end: ``adb kill-server`` first, then the
child is killed by its pid if it is still there. The real server doubles as an oracle: for
the same fixture it must answer exactly like :class:`FakeAdbServer`.

Skipped when ``adb`` is missing, unless ``$CI`` is set (then it fails).
"""

from __future__ import annotations

import os
import socket
import time

import adbutils
import pytest

from tests.fake_adb import FakeAdbServer, make_fixture
from tests.fake_adb.adbd import FakeAdbd
from tests.fake_adb.fixture_builder import make_png
from tests.fake_adb.server import unauthorized_text
from tests.real_adb import RealServer

MODEL = "TC52 ax"
BIG = os.urandom(3 * 1024 * 1024 + 17)  # several 1 MiB WRTEs and a ragged end
SCREEN = make_png(6, 4, (1, 2, 3))
FILES = {"sdcard/Download/big.bin": BIG, "sdcard/hello.txt": "hello\n"}


@pytest.fixture(scope="module")
def real(adb_path, tmp_path_factory):
    server = RealServer(adb_path, tmp_path_factory.mktemp("adb-home"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def adbds(tmp_path_factory):
    root = tmp_path_factory.mktemp("adbd-fixtures")
    good = make_fixture(root, "ADBD1", model=MODEL, files=FILES, screen=SCREEN)
    locked = make_fixture(root, "ADBD2", state="unauthorized")
    with FakeAdbd(good) as device, FakeAdbd(locked) as unauthorized:
        yield {"device": device, "unauthorized": unauthorized, "root": root}


@pytest.fixture(scope="module")
def connected(real, adbds):
    device, unauthorized = adbds["device"], adbds["unauthorized"]
    assert real.adb("connect", device.address).stdout == f"connected to {device.address}\n".encode()
    # adb asks for a signature, then offers its public key and gives up: unauthorized.
    result = real.adb("connect", unauthorized.address)
    assert result.stdout == f"failed to authenticate to {unauthorized.address}\n".encode()
    return adbds


def test_devices_long_lists_both_terminals(real, connected):
    device, unauthorized = connected["device"].address, connected["unauthorized"].address
    lines = real.adb("devices", "-l").stdout.decode().splitlines()
    assert lines[0] == "List of devices attached" and lines[-1] == ""
    by_serial = {line.split()[0]: line for line in lines[1:-1]}
    assert by_serial[device].startswith(
        f"{device:<22} device product:TC52 model:TC52_ax device:TC52 transport_id:"
    )
    assert by_serial[unauthorized].startswith(f"{unauthorized:<22} unauthorized transport_id:")


def test_shell_through_the_real_server(real, connected):
    serial = connected["device"].address
    assert real.adb("-s", serial, "shell", "getprop", "ro.product.model").stdout == (MODEL + "\n").encode()
    failed = real.adb("-s", serial, "shell", "ls /nope")
    assert (failed.returncode, failed.stderr) == (1, b"ls: /nope: No such file or directory\n")


def test_pull_is_byte_identical(real, connected, tmp_path):
    serial = connected["device"].address
    result = real.adb("-s", serial, "pull", "/sdcard/Download/big.bin", str(tmp_path / "big.bin"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "big.bin").read_bytes() == BIG


def test_exec_out_screencap(real, connected):
    result = real.adb("-s", connected["device"].address, "exec-out", "screencap", "-p")
    assert result.returncode == 0 and result.stdout == SCREEN


def test_unauthorized_terminal(real, connected):
    serial = connected["unauthorized"].address
    assert f"{serial}\tunauthorized" in real.adb("devices").stdout.decode()
    result = real.adb("-s", serial, "shell", "true")
    assert result.returncode == 1 and result.stderr.decode() == f"error: {unauthorized_text(None)}\n"


def test_adbutils_through_the_real_server(real, connected):
    client = adbutils.AdbClient(host="127.0.0.1", port=real.port)
    device = client.device(connected["device"].address)
    assert device.getprop("ro.product.model") == MODEL
    assert device.sync.read_bytes("/sdcard/Download/big.bin") == BIG
    assert device.shell("screencap -p", encoding=None) == SCREEN
    assert device.shell2("ls /nope", v2=True).returncode == 1
    states = {d.serial: d.state for d in client.list()}
    assert states[connected["unauthorized"].address] == "unauthorized"


def test_pulled_cable_fails_the_transfer(real, tmp_path):
    fixture = make_fixture(tmp_path, "DROP1", files=FILES, faults={"drop_after_bytes": 200_000})
    with FakeAdbd(fixture) as device:
        assert real.adb("connect", device.address).returncode == 0
        try:
            result = real.adb("-s", device.address, "pull", "/sdcard/Download/big.bin", str(tmp_path / "x"))
            assert result.returncode == 1
        finally:
            real.adb("disconnect", device.address)


# -- the real server as an oracle for FakeAdbServer ---------------------------------------------


@pytest.fixture(scope="module")
def mirror(connected):
    """A FakeAdbServer holding the same two terminals under the serials the real server uses."""
    root, device, unauthorized = connected["root"], connected["device"], connected["unauthorized"]
    good = make_fixture(
        root, device.address, transport="tcp", model=MODEL, files=FILES, screen=SCREEN, name="m1"
    )
    locked = make_fixture(root, unauthorized.address, transport="tcp", state="unauthorized", name="m2")
    with FakeAdbServer([good, locked]) as server:
        yield server


def _exchange(port: int, *requests: str, read_for: float = 1.0) -> bytes:
    """Send smart-socket requests on one connection; everything received until EOF or quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        out = bytearray()
        for request in requests:
            s.sendall(b"%04x" % len(request.encode()) + request.encode())
            time.sleep(0.05)
        s.settimeout(read_for)
        try:
            while chunk := s.recv(65536):
                out += chunk
            out += b"<EOF>"
        except TimeoutError:
            out += b"<open>"
    return bytes(out)


HOST_QUERIES = [
    "host:version",
    "host:devices",
    "host:devices-l",
    "host:host-features",
    "host:bogus",
    "host-serial:NOPE:get-state",
    "host:connect:127.0.0.1:1",
    "host:disconnect:10.9.9.9:5555",
    "host:features",
    "host:tport:any",
    "host:transport-usb",
    "host-local:get-serialno",
    "host:transport-id:99",
    "host:list-forward",
    "host:killforward-all",
    "host:wait-for-any-device",
    "host-serial:{device}:get-serialno",
    "host-serial:{device}:get-devpath",
    "host-serial:{device}:get-state",
    "host-serial:{device}:list-forward",
    "host-serial:{unauthorized}:get-state",
    "host-serial:{unauthorized}:features",
    "host:connect:{device}",
]


@pytest.mark.parametrize("query", HOST_QUERIES)
def test_fake_server_answers_host_queries_like_the_real_one(real, connected, mirror, query):
    request = query.format(device=connected["device"].address, unauthorized=connected["unauthorized"].address)
    assert _exchange(mirror.port, request) == _exchange(real.port, request)


@pytest.mark.parametrize(
    "service",
    ["shell:echo hi", "shell,v2,raw:ls /nope", "exec:getprop ro.product.model", "jdwp:1", "shell:cat /nope"],
)
def test_device_services_match_through_both_carriers(real, connected, mirror, service):
    switch = f"host:transport:{connected['device'].address}"
    # The real server answers a service only once adbd has (OPEN → OKAY or CLSE): under a load of
    # 8 that once took over a second and read as "<open>". Every service here ends, so wait longer.
    assert _exchange(mirror.port, switch, service, read_for=5.0) == _exchange(real.port, switch, service, read_for=5.0)


def test_features_are_the_same_set(real, connected, mirror):
    # The real server answers from a hash set, so only the order may differ.
    request = f"host-serial:{connected['device'].address}:features"
    real_reply, fake_reply = _exchange(real.port, request), _exchange(mirror.port, request)
    assert real_reply[:8] == fake_reply[:8]
    assert set(real_reply[8:-5].split(b",")) == set(fake_reply[8:-5].split(b","))
