"""The whole real host stack: tsdtool → adbutils → Debian's adb server → fake terminal (adbd).

A terminal reached through `adb connect` must give the same results as the same fixture
served by the fake server; an unauthorized one must give tsdtool's unauthorized error.
"""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest

from tests.conftest import fixture_dir
from tests.fake_adb import FakeAdbServer
from tests.fake_adb.adbd import FakeAdbd
from tests.real_adb import RealServer

FIXTURE = "zebra_tc52"
DEBUGGABLE = "com.example.scanner.demo"
FIELDS = ["--no-input", "--desk", "generic", "--field", "description=freezes on scan",
          "--field", "contact_name=Ivan", "--field", "contact_email=ivan@example.com"]


@pytest.fixture(scope="module")
def stack(adb_path, tmp_path_factory):
    server = RealServer(adb_path, tmp_path_factory.mktemp("adb-home"))
    try:
        with FakeAdbd(fixture_dir(FIXTURE)) as device, FakeAdbd(fixture_dir("unauthorized")) as locked, \
                FakeAdbServer([fixture_dir(FIXTURE)]) as fake:
            assert b"connected to" in server.adb("connect", device.address).stdout
            server.adb("connect", locked.address)
            yield {"real": server, "serial": device.address, "locked": locked.address, "fake": fake}
    finally:
        server.stop()


def _via_real(stack, *args):
    return ["-H", "127.0.0.1", "-P", stack["real"].port, "-s", stack["serial"], *args]


def _via_fake(stack, *args):
    return ["-H", "127.0.0.1", "-P", stack["fake"].port, *args]


def test_devices_shows_the_connected_terminal_as_tcp(stack, tsd):
    code, out, _ = tsd("-H", "127.0.0.1", "-P", stack["real"].port, "devices", "--json")
    rows = {r["serial"]: r for r in json.loads(out)}
    assert code == 0
    assert rows[stack["serial"]]["transport"] == "tcp" and rows[stack["serial"]]["vendor"] == "Zebra Technologies"
    assert rows[stack["locked"]]["state"] == "unauthorized"


def test_info_is_the_same_as_through_the_fake_server(stack, tsd):
    code, real_out, err = tsd(*_via_real(stack, "info", "--json"))
    assert code == 0, err
    code, fake_out, _ = tsd(*_via_fake(stack, "info", "--json"))
    real, fake = json.loads(real_out), json.loads(fake_out)
    assert real.pop("serial") == stack["serial"] and real.pop("transport") == "tcp"
    fake.pop("serial"), fake.pop("transport")
    assert real == fake


def test_screenshot_is_the_same(stack, tsd, tmp_path):
    assert tsd(*_via_real(stack, "screenshot", "-o", tmp_path / "a.png"))[0] == 0
    assert tsd(*_via_fake(stack, "screenshot", "-o", tmp_path / "b.png"))[0] == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def _hashes(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file() and p.suffix != ".json"}


def test_pull_db_is_the_same(stack, tsd, tmp_path):
    code, _, err = tsd(*_via_real(stack, "pull-db", DEBUGGABLE, "-o", tmp_path / "real"))
    assert code == 0, err
    assert tsd(*_via_fake(stack, "pull-db", DEBUGGABLE, "-o", tmp_path / "fake"))[0] == 0
    real, fake = _hashes(tmp_path / "real"), _hashes(tmp_path / "fake")
    assert any(name.endswith("scans.db") for name in real)
    assert real == fake


def _items(bundle):
    with zipfile.ZipFile(bundle) as z:
        manifest = json.loads(z.read("manifest.json"))
    # items whose bytes name the serial or the moment differ by design
    varying = ("device/", "report.html", "ticket", "logcat")
    return {(i["path"], i["status"], None if i["path"].startswith(varying) else i["sha256"])
            for i in manifest["items"]}


def test_collect_is_the_same(stack, tsd, tmp_path):
    code, out, err = tsd(*_via_real(stack, "collect", *FIELDS, "--package", DEBUGGABLE, "-o", tmp_path / "r", "--json"))
    assert code == 0, err
    real = json.loads(out)
    code, out, _ = tsd(*_via_fake(stack, "collect", *FIELDS, "--package", DEBUGGABLE, "-o", tmp_path / "f", "--json"))
    fake = json.loads(out)
    assert real["status"] == fake["status"] == "complete"
    assert _items(real["bundle"]) == _items(fake["bundle"])
    assert tsd("verify", real["bundle"])[0] == 0


def test_unauthorized_through_the_real_server(stack, tsd):
    code, out, err = tsd("-H", "127.0.0.1", "-P", stack["real"].port, "-s", stack["locked"], "info")
    assert code == 4
    assert "accept the USB debugging prompt on the terminal" in err
    assert len(err.strip().splitlines()) == 1 and out == ""
