"""Where the adb server is, and when tsdtool may start one."""

from __future__ import annotations

import os
import socket
import stat
import sys
import textwrap

import pytest

from tsdtool import errors
from tsdtool.transport.adb import find_adb_binary, resolve_server


@pytest.mark.parametrize("env, flags, expected", [
    ({}, {}, ("127.0.0.1", 5037, False)),
    ({"ANDROID_ADB_SERVER_PORT": "6000"}, {}, ("127.0.0.1", 6000, False)),
    ({"ANDROID_ADB_SERVER_HOST": "10.1.2.3"}, {}, ("10.1.2.3", 5037, True)),
    ({"ANDROID_ADB_SERVER_ADDRESS": "tunnel", "ANDROID_ADB_SERVER_PORT": "5038"}, {}, ("tunnel", 5038, True)),
    ({"ADB_SERVER_SOCKET": "tcp:example:7000", "ANDROID_ADB_SERVER_HOST": "x"}, {}, ("example", 7000, True)),
    ({"ADB_SERVER_SOCKET": "tcp:7001"}, {}, ("127.0.0.1", 7001, False)),
    ({"ANDROID_ADB_SERVER_HOST": "envhost"}, {"host": "flaghost", "port": 1234}, ("flaghost", 1234, True)),
    ({}, {"port": 1234}, ("127.0.0.1", 1234, False)),
])
def test_resolution_order(env, flags, expected):
    addr = resolve_server(flags.get("host"), flags.get("port"), env)
    assert (addr.host, addr.port, addr.host_given) == expected


@pytest.mark.parametrize("env", [{"ADB_SERVER_SOCKET": "unix:/x"}, {"ANDROID_ADB_SERVER_PORT": "abc"}])
def test_bad_environment_is_a_usage_error(env):
    with pytest.raises(errors.UsageError):
        resolve_server(None, None, env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_server_and_host_given_exits_5_without_starting(tsd, tmp_path, monkeypatch):
    marker = tmp_path / "started"
    _stand_in_adb(tmp_path, monkeypatch, marker, listen=False)
    code, out, err = tsd("-H", "127.0.0.1", "-P", _free_port(), "devices")
    assert code == 5
    assert err.startswith("error: no adb server at 127.0.0.1:") and "-H" in err
    assert len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_no_start_server_flag_exits_5(tsd, tmp_path, monkeypatch):
    marker = tmp_path / "started"
    _stand_in_adb(tmp_path, monkeypatch, marker, listen=False)
    code, _, err = tsd("-P", _free_port(), "--no-start-server", "info")
    assert code == 5 and "--no-start-server" in err
    assert not marker.exists()


def _stand_in_adb(tmp_path, monkeypatch, marker, listen: bool):
    """An `adb` on PATH that records its arguments and (optionally) starts a fake server; like
    `adb start-server` it returns once the server listens (up to 30 s: a loaded CI box once took
    more than the 5 s allowed before)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "adb"
    serve = textwrap.dedent(f"""
        import subprocess, sys
        port = sys.argv[sys.argv.index("-P") + 1]
        subprocess.Popen([{sys.executable!r}, "-m", "tests.fake_adb", "--port", port,
                          "--fixture", {str(_fixture("emulator"))!r}],
                         cwd={str(_root())!r}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    """) if listen else ""
    record = f"open({str(marker)!r}, 'w').write(' '.join(sys.argv[1:]))\n"
    script.write_text(f"#!{sys.executable}\nimport sys, time\n" + record
                      + serve + ("\nimport socket\nfor _ in range(600):\n    try:\n"
                                 "        socket.create_connection(('127.0.0.1', int(port)), 0.2).close(); break\n"
                                 "    except OSError: time.sleep(0.05)\n" if listen else ""))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("ADBUTILS_ADB_PATH", raising=False)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return script


def _root():
    from pathlib import Path
    return Path(__file__).resolve().parent.parent


def _fixture(name):
    return _root() / "tests" / "fake_adb" / "fixtures" / name


def test_start_path_uses_adb_on_path_and_says_so(tsd, tmp_path, monkeypatch):
    marker = tmp_path / "started"
    script = _stand_in_adb(tmp_path, monkeypatch, marker, listen=True)
    port = _free_port()
    assert find_adb_binary() == str(script)
    try:
        code, out, err = tsd("-P", port, "devices", "--json")
        assert marker.read_text() == f"-P {port} start-server"
        assert f"starting adb server on port {port} with {script}" in err
        assert code == 0 and "emulator-5554" in out
    finally:
        # stop the fake the stand-in started, as `adb kill-server` would
        if _listening(port):
            with socket.create_connection(("127.0.0.1", port), 2) as s:
                s.sendall(b"0009host:kill")
                assert s.recv(4) == b"OKAY"


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def test_adbutils_path_wins_over_path(monkeypatch, tmp_path):
    monkeypatch.setenv("ADBUTILS_ADB_PATH", "/opt/custom/adb")
    assert find_adb_binary() == "/opt/custom/adb"


class _NotAdb:
    """Something else listening where the adb server should be (a wrong -P, another program's
    port): ``http`` answers like a web server, ``close`` hangs up at once, ``silent`` reads and
    never answers."""

    def __init__(self, mode: str):
        import threading

        self.mode, self.sock = mode, socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.open: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.mode == "close":
                conn.close()
                continue
            self.open.append(conn)
            if self.mode == "http":
                conn.recv(1024)
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
                conn.close()

    def stop(self):
        self.sock.close()
        for conn in self.open:
            conn.close()


@pytest.mark.parametrize("mode", ["http", "close", "silent"])
@pytest.mark.parametrize("command", [["devices"], ["info"], ["pull-db", "com.example.app"],
                                     ["collect", "--desk", "generic", "--no-input"]])
def test_a_port_where_something_else_answers_is_no_adb_server(tsd, tmp_path, mode, command):
    """A wrong -P (a web server, a port that hangs up, one that never answers) is exit 5 naming
    the address, not a 'partial' run with 'check the cable' (it said "Unknown data: b'HTTP'")."""
    other = _NotAdb(mode)
    try:
        code, _, err = tsd("-P", other.port, "--timeout", "1", *command)
    finally:
        other.stop()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 5, err
    assert len(lines) == 1 and f"127.0.0.1:{other.port}" in lines[0] and "cable" not in lines[0], err
    assert "Traceback" not in err and "internal error" not in err
