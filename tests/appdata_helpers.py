"""Shared set-up for the app-data tests: WAL databases made on the spot, fake terminals, a spy.

Databases are made with sqlite3 in the test itself (never committed): a WAL database whose
committed rows exist only in its ``-wal`` is captured by copying the two files while the
writing connection is still open (``wal_autocheckpoint=0`` keeps SQLite from moving them).
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.fake_adb import FakeAdbServer, Terminal, make_fixture
from tsdtool.transport.adb import Adb, Device

ROWS = [("scan", "4601234567890"), ("scan", "4609876543210"), ("ship", "order-17")]


@dataclass(frozen=True)
class WalDb:
    db: bytes  # the main file: header and schema page only
    wal: bytes  # every committed row is here
    rows: list[tuple[str, str]]


def wal_database(rows: list[tuple[str, str]] = ROWS) -> WalDb:
    """A WAL database whose committed rows live only in the -wal file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "app.db"
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("CREATE TABLE events (kind TEXT, code TEXT)")
            conn.executemany("INSERT INTO events VALUES (?, ?)", rows)
            db, wal = path.read_bytes(), Path(f"{path}-wal").read_bytes()  # copied while still open
        finally:
            conn.close()
    return WalDb(db, wal, list(rows))


def plain_database(rows: int = 2) -> bytes:
    """A rollback-journal database file with one table."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plain.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(rows)])
        conn.commit()
        conn.close()
        return path.read_bytes()


def rows_in(db: Path, wal: Path | None = None) -> list[tuple]:
    """Rows of ``events`` as SQLite sees them, on a scratch copy (so the test files stay as pulled)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "db"
        copy.write_bytes(db.read_bytes())
        if wal is not None:
            Path(f"{copy}-wal").write_bytes(wal.read_bytes())
        conn = sqlite3.connect(copy)
        try:
            return conn.execute("SELECT kind, code FROM events ORDER BY rowid").fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            conn.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Spy:
    """Records every shell line a Device sends (shell, exec and streamed), for assertions."""

    def __init__(self, server: FakeAdbServer):
        self.server = server

    @property
    def commands(self) -> list[str]:
        found = []
        for request in self.server.requests:
            for prefix in ("shell,v2,raw:", "exec:", "shell:"):
                if request.startswith(prefix):
                    found.append(request[len(prefix):])
        return found

    def count(self, word: str) -> int:
        return sum(word in c for c in self.commands)


@dataclass
class Fake:
    server: FakeAdbServer
    terminal: Terminal
    spy: Spy

    @property
    def args(self) -> list[str]:
        return ["-H", "127.0.0.1", "-P", str(self.server.port)]

    def device(self) -> Device:
        return Adb("127.0.0.1", self.server.port, start_server=False).select(None)


def terminals(tmp_path: Path):
    """Body of a ``fake_terminal`` fixture: yields a factory taking make_fixture arguments
    (``serial=…, packages=…, files=…``) and returning a served :class:`Fake`; stops them after."""
    started: list[FakeAdbServer] = []

    def start(**fixture) -> Fake:
        folder = make_fixture(tmp_path / "fixtures", name=f"f{len(started)}", **fixture)
        terminal = Terminal(folder)
        server = FakeAdbServer([terminal])
        server.start()
        started.append(server)
        return Fake(server, terminal, Spy(server))

    yield start
    for server in started:
        server.stop()
