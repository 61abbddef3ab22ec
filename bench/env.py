"""What the benchmark runs against: generated fixture terminals, the fake server process, commands."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fake_adb import make_fixture
from tests.fake_adb.fixture_builder import make_png

REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
APP = "com.example.scanner.demo"  # debuggable: run-as reaches its databases, as in the field
DB_DIR = f"/data/data/{APP}/databases"
FIELDS = {"description": "bench run", "contact_name": "Bench", "contact_email": "bench@example.com"}


@dataclass(frozen=True)
class Sizes:
    big: int  # the large pull
    small: int  # the RSS comparison's small pull
    db: int  # the app database of the collect fixture
    logcat: int  # its logcat
    rounds: int  # A/B pull rounds
    collect_rounds: int
    start_runs: int  # cold starts per command


FULL = Sizes(
    big=256 * MiB, small=16 * MiB, db=32 * MiB, logcat=4 * MiB, rounds=5, collect_rounds=3, start_runs=10
)
QUICK = Sizes(
    big=8 * MiB, small=2 * MiB, db=1 * MiB, logcat=256 * 1024, rounds=1, collect_rounds=1, start_runs=2
)


def write_blob(path: Path, size: int) -> None:
    """``size`` bytes of incompressible data (a repeated 1 MiB random block)."""
    block = os.urandom(MiB)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def write_database(path: Path, size: int) -> None:
    """A real SQLite file of about ``size`` bytes (the collect checks it after the pull)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("create table scans (id integer primary key, code text, payload blob)")
    row = os.urandom(4000)
    con.executemany(
        "insert into scans (code, payload) values (?, ?)",
        ((f"4006381333931-{i}", row) for i in range(max(1, size // 4100))),
    )
    con.commit()
    con.close()


def logcat_text(size: int) -> str:
    line = (
        "11-25 09:{m:02d}:{s:02d}.{ms:03d}  4321  4388 {lvl} ScanService: scanned 4006381333931 in {ms} ms\n"
    )
    out, n = [], 0
    while n < size:
        text = line.format(m=(n // 60000) % 60, s=(n // 1000) % 60, ms=n % 1000, lvl="IWE"[n % 3])
        out.append(text)
        n += len(text)
    return "--------- beginning of main\n" + "".join(out)


def pull_fixture(root: Path, sizes: Sizes) -> Path:
    """One terminal holding /sdcard/big.bin and /sdcard/small.bin."""
    fx = make_fixture(root, "BENCHPULL1")
    write_blob(fx / "fs" / "sdcard" / "big.bin", sizes.big)
    write_blob(fx / "fs" / "sdcard" / "small.bin", sizes.small)
    (fx / "fs" / "sdcard" / "empty.bin").write_bytes(b"")
    return fx


def collect_fixtures(root: Path, sizes: Sizes, count: int, *, pace_ms: int = 0) -> list[Path]:
    """``count`` identical terminals with a debuggable app, its database, a log and a screen.

    The first is built in full; the others share its files through hard links. ``pace_ms``
    makes the fake wait that long before each message it sends (a slower link).
    """
    first = root / "BENCHCOL01"
    if not (first / "device.toml").exists():
        _first_collect_fixture(root, sizes)
        if pace_ms:
            with open(first / "device.toml", "a") as fh:
                fh.write(f"\n[faults]\ndelay_ms_per_chunk = {pace_ms}\n")
    fixtures = [first]
    for n in range(2, count + 1):
        serial = f"BENCHCOL{n:02d}"
        fx = root / serial
        if not fx.exists():
            shutil.copytree(first, fx, copy_function=os.link)
            for name in ("device.toml", "getprop.txt"):  # the serial differs: real copies
                text = (first / name).read_text().replace("BENCHCOL01", serial)
                (fx / name).unlink()
                (fx / name).write_text(text)
        fixtures.append(fx)
    return fixtures


def _first_collect_fixture(root: Path, sizes: Sizes) -> None:
    first = make_fixture(
        root,
        "BENCHCOL01",
        packages=[{"name": APP, "version_name": "1.4.2", "version_code": 10402, "debuggable": True}],
        logcat=logcat_text(sizes.logcat),
        screen=make_png(720, 1280, (30, 58, 95)),
    )
    write_database(first / "fs" / DB_DIR.lstrip("/") / "scans.db", sizes.db)


class FakeServer:
    """``python -m tests.fake_adb`` in its own process, on a free loopback port."""

    def __init__(self, fixtures: list[Path]):
        args = [sys.executable, "-m", "tests.fake_adb", "--port", "0"]
        for fx in fixtures:
            args += ["--fixture", str(fx)]
        self.proc = subprocess.Popen(
            args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the fake adb server did not start: {line or self.proc.stderr.read()}")
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def tsdtool_bin() -> list[str]:
    """The console script next to this interpreter (what a user runs), else ``python -m tsdtool``."""
    script = Path(sys.executable).parent / "tsdtool"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tsdtool"]


def tsdtool(port: int, serial: str | None, *args: str) -> list[str]:
    head = [*tsdtool_bin(), "-H", "127.0.0.1", "-P", str(port)]
    return head + (["-s", serial] if serial else []) + list(args)


def adb_bin() -> str | None:
    return shutil.which("adb")


def adb(port: int, serial: str, *args: str) -> list[str]:
    return [adb_bin() or "adb", "-H", "127.0.0.1", "-P", str(port), "-s", serial, *args]


def bench_env() -> dict[str, str]:
    """No adb variables from the caller's shell; adbutils never starts a real server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANDROID_", "ADB_"))}
    env.update(ADBUTILS_ADB_PATH="false", NO_COLOR="1", COLUMNS="120", PYTHONDONTWRITEBYTECODE="1")
    env.pop("ANDROID_SERIAL", None)
    return env


class RealFleet:
    """The real host stack for a fleet: Debian's adb server (private port, private HOME) with
    one ``python -m tests.fake_adb --device-port`` process per terminal, `adb connect`-ed.

    Each fake terminal then has its own process, as each real terminal has its own CPU, and
    the server multiplexing them is the real one.
    """

    def __init__(self, fixtures: list[Path], home: Path):
        import socket

        home.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ANDROID_", "ADB_"))}
        self.env.update(HOME=str(home), ADB_LOCAL_TRANSPORT_MAX_PORT="5553")  # no emulator probing
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = subprocess.Popen([adb_bin() or "adb", "-P", str(self.port), "nodaemon", "server"],
                                       env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.devices: list[subprocess.Popen] = []
        try:
            for fx in fixtures:
                proc = subprocess.Popen([sys.executable, "-m", "tests.fake_adb", "--device-port", "0",
                                         "--fixture", str(fx)], cwd=REPO, stdout=subprocess.PIPE, text=True)
                self.devices.append(proc)
                line = proc.stdout.readline() if proc.stdout else ""
                if not line.startswith("listening on "):
                    raise RuntimeError(f"a fake adbd did not start: {line!r}")
                self._adb("connect", line.split()[-1])
        except BaseException:
            self.stop()
            raise

    def _adb(self, *args: str) -> str:
        for _ in range(50):  # the server needs a moment to listen
            r = subprocess.run([adb_bin() or "adb", "-H", "127.0.0.1", "-P", str(self.port), *args],
                               env=self.env, capture_output=True, text=True, timeout=30)
            if "cannot connect to daemon" not in r.stderr and r.returncode == 0:
                return r.stdout
            time.sleep(0.1)
        raise RuntimeError(f"adb {' '.join(args)} failed: {r.stderr.strip()}")

    def stop(self) -> None:
        subprocess.run([adb_bin() or "adb", "-H", "127.0.0.1", "-P", str(self.port), "kill-server"],
                       env=self.env, capture_output=True, timeout=30)
        for proc in [*self.devices, self.server]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def __enter__(self) -> RealFleet:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
