"""What the benchmark runs against: generated fixture terminals, the fake server process, commands."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from tests.fake_adb import make_fixture
from tests.fake_adb.fixture_builder import make_png

REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
APP = "com.example.scanner.demo"  # debuggable: run-as reaches its databases, as in the field
DB_DIR = f"/data/data/{APP}/databases"
FIELDS = {"description": "bench run", "contact_name": "Bench", "contact_email": "bench@example.com"}


LINK_MB_S = 35  # a terminal's USB 2.0 link as adb sees it (issue 18: 20–40 MB/s in the field)
CPU = {"cores": 4, "deflate_mb_per_s": 30}  # a 4-core terminal deflating 30 MB/s per core at -1
LINK = {"link": {"mb_per_s": LINK_MB_S}, "cpu": CPU}


@dataclass(frozen=True)
class Sizes:
    big: int  # the large pull
    small: int  # the RSS comparison's small pull
    linked: int  # the pull over the paced link
    db: int  # the app database of the collect fixture
    logcat: int  # its logcat
    rounds: int  # A/B pull rounds
    collect_rounds: int
    start_runs: int  # cold starts per command
    fleet: tuple[int, ...] = (1, 4, 8)  # terminals per collect --all


FULL = Sizes(
    big=256 * MiB, small=16 * MiB, linked=64 * MiB, db=32 * MiB, logcat=4 * MiB, rounds=5, collect_rounds=3,
    start_runs=10,
)
QUICK = Sizes(
    big=8 * MiB, small=2 * MiB, linked=2 * MiB, db=1 * MiB, logcat=256 * 1024, rounds=1, collect_rounds=1,
    start_runs=2, fleet=(1, 2),
)


def write_blob(path: Path, size: int) -> None:
    """``size`` bytes of incompressible data (a repeated 1 MiB random block: deflate's window
    is 32 KiB, so the repetition does not help it)."""
    block = os.urandom(MiB)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


_WORDS = (
    "молоко сметана кефир творог сыр масло хлеб батон булка сок вода чай кофе сахар соль мука крупа рис "
    "гречка макароны печенье конфеты шоколад колбаса сосиски ветчина курица говядина свинина рыба консервы "
    "горошек кукуруза томаты огурцы яблоки бананы апельсины лимоны картофель морковь лук"
).split()
_SCHEMA = """
pragma page_size = 4096;
create table products (id integer primary key, barcode text not null, article text, name text not null,
    unit text, price real, stock real, attrs text);
create index products_barcode on products(barcode);
create index products_name on products(name);
create table documents (id integer primary key, number text, kind text, created_at text, warehouse text,
    state integer, comment text);
create index documents_number on documents(number);
create table scans (id integer primary key, document_id integer, product_id integer, barcode text,
    qty real, scanned_at text, device text, payload text);
create index scans_document on scans(document_id);
create index scans_barcode on scans(barcode);
create index scans_time on scans(scanned_at);
"""


def write_database(path: Path, size: int, seed: int = 18) -> None:
    """A warehouse app's SQLite database of at least ``size`` bytes, the same for the same seed.

    A catalogue of 20 000 products (EAN-13 barcodes, Russian names, JSON attributes), documents,
    and scan rows with a JSON payload (a marking code, the user, the cell), with the indexes such
    an app keeps. Like a real one it deflates about 3× (gzip -1 ≈ 3.1×, -6 ≈ 3.5×), unlike one
    random row repeated (≈ 110×), which hides what deflating a database costs.
    """
    rnd = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    con.executescript(_SCHEMA)
    products = []
    for i in range(1, 20001):
        name = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(2, 5))).capitalize()
        attrs = {"group": rnd.choice(_WORDS), "vat": rnd.choice([0, 10, 20]), "marked": rnd.random() < 0.3}
        products.append((i, f"460{rnd.randrange(10**9, 10**10)}", f"A-{rnd.randrange(100000):05d}",
                         f"{name} {rnd.randint(1, 999)} г", rnd.choice(("шт", "кг", "л", "уп", "кор")),
                         round(rnd.uniform(10, 5000), 2), round(rnd.uniform(0, 500), 3),
                         json.dumps(attrs, ensure_ascii=False)))
    con.executemany("insert into products values (?,?,?,?,?,?,?,?)", products)
    doc = scan = 0
    t0 = 1_732_000_000
    while True:
        for _ in range(200):
            doc += 1
            con.execute("insert into documents values (?,?,?,?,?,?,?)", (
                doc, f"ТСД-{doc:06d}", rnd.choice(["приход", "отгрузка", "инвентаризация", "перемещение"]),
                time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t0 + doc * 600)),
                rnd.choice(["Склад Север", "Склад Юг", "Магазин 12"]), rnd.randint(0, 3),
                rnd.choice(["", "", "срочно", "проверить пересорт"])))
            rows = []
            for _ in range(rnd.randint(5, 60)):
                scan += 1
                p = products[rnd.randrange(len(products))]
                payload = {"mark": f"010{p[1]}21{rnd.getrandbits(40):x}",
                           "user": rnd.choice(["ivanov", "petrova", "sidorov"]),
                           "cell": f"{rnd.randint(1, 40)}-{rnd.randint(1, 12)}-{rnd.randint(1, 5)}",
                           "ok": rnd.random() > 0.02}
                rows.append((scan, doc, p[0], p[1], rnd.choice([1, 1, 1, 2, 6, 12, 0.5]),
                             time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + doc * 600 + rnd.randint(0, 600))),
                             f"TC52-{rnd.randint(1, 4)}", json.dumps(payload, ensure_ascii=False)))
            con.executemany("insert into scans values (?,?,?,?,?,?,?,?)", rows)
        con.commit()
        if path.stat().st_size >= size:
            break
    con.close()


def deflate_ratio(path: Path, level: int = 1) -> float:
    """How much ``path`` shrinks under deflate at ``level`` (reported beside the figures)."""
    data = path.read_bytes()
    return len(data) / max(1, len(zlib.compress(data, level)))


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


def _with_device_keys(fixture: Path, table: dict) -> None:
    """Append tables (``[link]``, ``[cpu]`` …) to a fixture's device.toml."""
    from tests.fake_adb.fixture_builder import write_toml

    extra = fixture / "extra.toml"
    write_toml(extra, table)
    with open(fixture / "device.toml", "a") as fh:
        fh.write("\n" + extra.read_text())
    extra.unlink()


def pull_fixture(root: Path, sizes: Sizes) -> tuple[Path, Path]:
    """Two terminals: BENCHPULL1 (unpaced) holding /sdcard/big.bin, small.bin and empty.bin,
    and BENCHLINK1 on a 35 MB/s link holding /sdcard/linked.bin."""
    fx = make_fixture(root, "BENCHPULL1")
    write_blob(fx / "fs" / "sdcard" / "big.bin", sizes.big)
    write_blob(fx / "fs" / "sdcard" / "small.bin", sizes.small)
    (fx / "fs" / "sdcard" / "empty.bin").write_bytes(b"")
    linked = make_fixture(root, "BENCHLINK1")
    write_blob(linked / "fs" / "sdcard" / "linked.bin", sizes.linked)
    _with_device_keys(linked, LINK)
    return fx, linked


def collect_fixtures(
    root: Path, sizes: Sizes, count: int, *, link: bool = False, prefix: str = "BENCHCOL"
) -> list[Path]:
    """``count`` identical terminals with a debuggable app, its database, a log and a screen.

    The first is built in full (once per bench run, below ``root``'s parent); the others share
    its files through hard links. With ``link`` every terminal has its own 35 MB/s link and a
    4-core CPU deflating 30 MB/s per core (:data:`LINK`).
    """
    base = _base_collect_fixture(root.parent / "fx-base", sizes)
    fixtures = []
    for n in range(1, count + 1):
        serial = f"{prefix}{n:02d}"
        fx = root / serial
        if not fx.exists():
            shutil.copytree(base, fx, copy_function=os.link)
            for name in ("device.toml", "getprop.txt"):  # the serial differs: real copies
                text = (base / name).read_text().replace("BENCHBASE", serial)
                (fx / name).unlink()
                (fx / name).write_text(text)
            if link:
                _with_device_keys(fx, LINK)
        fixtures.append(fx)
    return fixtures


def _base_collect_fixture(root: Path, sizes: Sizes) -> Path:
    first = root / "BENCHBASE"
    if (first / "device.toml").exists():
        return first
    first = make_fixture(
        root,
        "BENCHBASE",
        packages=[{"name": APP, "version_name": "1.4.2", "version_code": 10402, "debuggable": True}],
        logcat=logcat_text(sizes.logcat),
        screen=make_png(720, 1280, (30, 58, 95)),
    )
    write_database(first / "fs" / DB_DIR.lstrip("/") / "scans.db", sizes.db)
    return first


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

    def cpu_seconds(self) -> float | None:
        """User + system CPU-seconds the fake and its finished children (the real shells it
        runs) have used so far (Linux /proc), else None: the simulated terminals' own work,
        which on this host shares the cores with tsdtool's."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime

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
