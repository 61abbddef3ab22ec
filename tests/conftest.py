"""Shared test set-up: a clean environment, a pinned terminal, and the fake adb server.

No test may reach a real adb server or start one: the adb environment variables are
cleared, ADBUTILS_ADB_PATH points at `false`, and every test talks to the fake on a port
the OS picked.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests check results, never speed: on a loaded machine (CI's 2 cores, or several test
# runs at once) Hypothesis' deadline and its "input generation is slow" check fail correct code.
settings.register_profile("tsdtool", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tsdtool")

FIXTURES = Path(__file__).parent / "fake_adb" / "fixtures"

_ADB_VARS = ("ANDROID_SERIAL", "ANDROID_ADB_SERVER_ADDRESS", "ANDROID_ADB_SERVER_HOST",
             "ANDROID_ADB_SERVER_PORT", "ADB_SERVER_SOCKET", "ADBUTILS_ADB_PATH")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in _ADB_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ADBUTILS_ADB_PATH", "false")  # adbutils must never spawn a server
    for var in ("TSDTOOL_LANG", "LC_ALL", "LC_MESSAGES"):  # errors in English, whatever this PC speaks
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # user config/profiles start empty
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not leaked, f"threads left running: {leaked}"


@contextmanager
def sigint_raises():
    """Ctrl-C raises KeyboardInterrupt here, and a child started meanwhile gets the default action.

    Tests that press Ctrl-C set this themselves: a suite run in the background (``nohup``, ``&``)
    inherits SIGINT ignored, and so would every child it starts.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def sigint_default():
    with sigint_raises():
        yield


@pytest.fixture(scope="module")
def adb_path() -> str:
    """Debian's adb client: required in CI, a skip elsewhere when it is missing."""
    path = shutil.which("adb")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("the adb CLI is required in CI (apt-get install adb)")
        pytest.skip("adb CLI not installed")
    return path


def need_backend(name: str) -> str:
    """A fake-terminal backend a test asks for by name: the real shell is required in CI and
    a skip naming what is missing elsewhere (no root, not Linux, no mksh/toybox/gcc)."""
    if name == "real":
        from tests.fake_adb.realshell import missing

        lack = missing()
        if lack:
            if os.environ.get("CI"):
                pytest.fail(f"the fake terminal's real shell is required in CI; missing: {lack}")
            pytest.skip(f"the fake terminal's real shell needs {lack}")
    return name


@pytest.fixture(params=["real", "python"])
def backend(request) -> str:
    """Run a test once against real mksh/toybox and once against the Python emulation."""
    return need_backend(request.param)


def fixture_dir(name: str) -> Path:
    path = FIXTURES / name
    assert (path / "device.toml").is_file(), f"missing fixture {name}"
    return path


@pytest.fixture
def fake_server():
    """Factory: ``fake_server("zebra_tc52", "honeywell_ct60")`` → running server (stopped after)."""
    from tests.fake_adb import FakeAdbServer

    started = []

    def start(*fixtures: str | Path):
        dirs = [f if isinstance(f, Path) else fixture_dir(f) for f in fixtures]
        server = FakeAdbServer(dirs)
        server.__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture
def tsd(capsys):
    """Run the CLI in-process: ``code, out, err = tsd("-P", port, "info")``."""
    from tsdtool.cli import main

    def run(*args):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
