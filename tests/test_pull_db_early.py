"""pull-db asks what follows run-as's listing while it imports (tsdtool/apps/early.py): the
headers, gzip and the sizes, then the ranges, their streams held in memory. Whatever the early
requests meet, pull-db says and keeps what it says and keeps without them, and asks nothing
twice. Nothing here is timed: the figure is in `python -m bench --only database`."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import struct
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.fake_adb import FakeAdbServer, make_fixture
from tests.probe_util import interrupt_when_asked, record_first_shells, run_probe
from tsdtool import quick
from tsdtool.apps import early, listing
from tsdtool.transport import wire

APP = "com.acme.scan"
DATA = f"/data/data/{APP}"


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> bytes:
    """A WAL database of ~1.2 MB (its -wal beside it) and the bytes of its -wal."""
    path = tmp_path_factory.mktemp("db") / "big.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE scans (id INTEGER PRIMARY KEY, code TEXT)")
    conn.executemany("INSERT INTO scans (code) VALUES (?)", [(f"460{i * 7919:012d}-{i % 97}",) for i in range(40000)])
    conn.commit()
    conn.close()
    return path.read_bytes()


def _terminal(root: Path, big: bytes, more: dict[str, bytes] | None = None, **kw) -> Path:
    files = {f"{DATA}/databases/main.db": big, f"{DATA}/databases/main.db-journal": b"",
             f"{DATA}/files/notes.txt": "не база", **(more or {})}
    kw.setdefault("packages", [{"name": APP, "debuggable": True}])
    return make_fixture(root, "EARLYDB1", files=files, **kw)


@pytest.fixture
def small_ranges(monkeypatch):
    monkeypatch.setattr(listing, "MIN_RANGE", 256 * 1024)
    monkeypatch.setattr(listing, "MIN_TOTAL", 64 * 1024)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "databases.json"}


def _summary(out: Path) -> list[dict]:
    """databases.json's records without the check's timings."""
    if not (out / "databases.json").exists():
        return []
    records = json.loads((out / "databases.json").read_text())["databases"]
    for r in records:
        r["check"] = r["check"] and {k: v for k, v in r["check"].items() if "second" not in k}
    return records


def _same(text: str, tmp: Path) -> str:
    """``text`` without the test's folder and the socket reads' sizes of a lost connection, which
    vary from run to run ("connection closed after 4464 of 16794 bytes")."""
    return re.sub(r"after \d+ of \d+ bytes", "after N of M bytes", text.replace(str(tmp), "TMP"))


def _profile(root: Path) -> Path:
    """An app profile for APP that also lists `no_backup`, where a second large database lives:
    the usual code's listing, headers, probe and plan all differ from the fallback's."""
    folder = root / "profiles"
    folder.mkdir()
    (folder / "acme.toml").write_text(textwrap.dedent(f"""
        id = "acme"
        kind = "app"
        name = "Acme"
        packages = ["{APP}"]
        internal = ["databases", "files", "shared_prefs", "no_backup"]
    """))
    return folder


SCENARIOS = {  # name → (make_fixture keywords, global options)
    "ranges": ({}, []),
    "not debuggable": ({"packages": [{"name": APP}]}, []),
    "not installed": ({"packages": []}, []),
    "no gzip (Android 9)": ({"sdk": 28}, []),
    "another app profile": ({}, ["--profiles-dir", "PROFILES"]),  # and a second database in no_backup
    "the cable pulled": ({"faults": {"drop_after_bytes": 70_000}}, []),
    "an output below a file": ({}, []),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_pull_db_says_and_keeps_the_same_with_the_ranges_asked_early(name, tmp_path, big, small_ranges, capsys,
                                                                     monkeypatch):
    fixture, options = SCENARIOS[name]
    seen = {}
    for way in ("early", "usual"):
        tmp = tmp_path / way
        tmp.mkdir()
        (tmp / "afile").write_text("keep")
        if name == "another app profile":
            fixture = {"more": {f"{DATA}/no_backup/cache.db": big}}
        server = FakeAdbServer([_terminal(tmp, big, **fixture)])
        server.start()
        argv = ["-H", "127.0.0.1", "-P", str(server.port)]
        argv += [str(_profile(tmp)) if w == "PROFILES" else w for w in options]
        argv += ["pull-db", APP, "-o", str(tmp / ("afile/x" if name == "an output below a file" else "out"))]
        with monkeypatch.context() as m:
            if way == "usual":
                m.setattr(early, "follow", lambda first, package: None)
            interval = sys.getswitchinterval()
            try:
                code = quick.main(argv)
            finally:
                server.stop()
            assert sys.getswitchinterval() == interval  # shortened while importing, given back
        out, err = capsys.readouterr()
        seen[way] = (code, _same(out, tmp), _same(err, tmp), _tree(tmp), _same(json.dumps(_summary(tmp / "out")), tmp))
        if way == "early":
            ranges = [r for r in server.requests if r.endswith("| gzip -1")]
            asked = [r for r in server.requests if "head -c 16" in r or "command -v gzip" in r or r in ranges]
            assert len(asked) == len(set(asked)), asked  # nothing asked twice by the usual code
            if name == "ranges":
                assert len(ranges) == 4 + 1  # main.db in four ranges (thresholds lowered), its journal whole
    assert seen["early"][0] == {"not debuggable": 3, "not installed": 3, "the cable pulled": 3,
                                "an output below a file": 2}.get(name, 0)
    assert seen["early"] == seen["usual"]


def test_the_ranges_are_asked_by_the_early_thread_once_and_the_copy_is_whole(tmp_path, big):
    """The sizes and the headers go out beside the listing, before its answer; the ranges follow
    from the early thread as soon as those answers are in, and only then the usual probe and
    ``head`` (for the usual code to read) — all before adbutils and the database module are
    imported — and the usual code reads their answers."""
    server = FakeAdbServer([_terminal(tmp_path, big)])
    server.start()
    probe = """
        import socket, sys, threading
        from tsdtool.apps import listing
        listing.MIN_RANGE, listing.MIN_TOTAL = 256 * 1024, 64 * 1024
        sent, late = [], []
        send = socket.socket.sendall
        def spy(self, data, *a):
            kind = ("range" if b"| gzip -1" in data else "beside" if b" -exec " in data
                    else "head" if b"head -c 16" in data else "probe" if b"command -v gzip" in data else None)
            if kind:
                sent.append(threading.current_thread().name + ":" + kind)
                late.extend(m for m in ("adbutils", "tsdtool.collectors.database") if m in sys.modules)
            return send(self, data, *a)
        socket.socket.sendall = spy
        from tsdtool.quick import main
        code = main(["-H", "127.0.0.1", "-P", sys.argv[1], "pull-db", "com.acme.scan", "-o", sys.argv[2]])
        print(code, " ".join(sent), threading.active_count(), late)
    """
    proc = run_probe(probe, server, tmp_path / "out")
    # beside the listing: gzip, the sizes and headers of main.db, its journal and notes.txt; then from
    # wire's thread main.db's four ranges and its journal, then one probe and one head for main.db and notes.txt
    early = " ".join(["tsdtool-early:range"] * 5 + ["tsdtool-early:probe", "tsdtool-early:head"])
    # all before adbutils and the database module: pull-db imports them once the early thread is done
    assert proc.stdout.split("\n")[-2] == f"0 MainThread:beside {early} 1 []", proc.stdout
    assert (tmp_path / "out/internal/databases/main.db").read_bytes() == big
    [record] = [r for r in _summary(tmp_path / "out") if r["device_path"].endswith("main.db")]
    assert record["complete"] and record["copied"] == "gzip -1, 5 streams"


def test_ctrl_c_while_importing_leaves_no_stream_or_thread_behind(tmp_path, big, small_ranges, capsys, monkeypatch):
    from tsdtool.collectors import database

    server = FakeAdbServer([_terminal(tmp_path, big)])
    server.start()
    started = record_first_shells(monkeypatch)
    monkeypatch.setattr(database, "pull_db", interrupt_when_asked(started))
    try:
        code = quick.main(["-H", "127.0.0.1", "-P", str(server.port), "pull-db", APP, "-o", str(tmp_path / "out")])
    finally:
        server.stop()
    assert code == 130 and "interrupted" in capsys.readouterr().err
    [first] = started
    assert sum(r.endswith("| gzip -1") for r in server.requests) == 5  # the ranges had gone out
    assert not first.asked and first._following is None
    assert not [t for t in threading.enumerate() if t.name in ("tsdtool-early", "tsdtool-drain")]
    assert not (tmp_path / "out").exists()


def _packet(kind: int, payload: bytes) -> bytes:
    return bytes([kind]) + struct.pack("<I", len(payload)) + payload


def test_a_shell_stream_is_read_only_when_whole():
    whole = b"OKAY" + _packet(1, b"a\0b\0") + _packet(2, b"find: 'x': No such file or directory\n") + _packet(3, b"\1")
    assert wire.shell_result(whole) == (1, b"a\0b\0", b"find: 'x': No such file or directory\n")
    assert wire.shell_result(whole[:-1]) is None  # cut inside the exit packet
    assert wire.shell_result(whole[:-6]) is None  # no exit status
    assert wire.shell_result(b"FAIL0004nope") is None
    assert wire.shell_result(whole + b"x") is None


def test_an_answer_not_ended_in_time_is_handed_on_with_what_was_read():
    ours, theirs = socket.socketpair()
    wake, waker = socket.socketpair()
    with ours, theirs, wake, waker:
        theirs.sendall(b"OKAY" + _packet(1, b"part"))
        replay, stream = wire.answer(ours, wake, time.monotonic() + 0.2)
        assert stream is None  # not ended: the usual code reads on
        theirs.sendall(_packet(3, b"\0"))
        theirs.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := replay.recv(3):
            got += chunk
        assert got == b"OKAY" + _packet(1, b"part") + _packet(3, b"\0")
        theirs2, ours2 = socket.socketpair()
        with theirs2, ours2:
            theirs2.sendall(b"OKAY")
            waker.send(b".")  # close() wants the thread to stop: it does, without waiting for the deadline
            begun = time.monotonic()
            _, stream = wire.answer(ours2, wake, time.monotonic() + 30)
            assert stream is None and time.monotonic() - begun < 5


@pytest.mark.parametrize("stderr, missing", [
    (b"", False),
    (b"find: '/data/data/x/files': No such file or directory\n", True),
    (b"find: '/data/data/x/files': No such file or directory\nfind: '/data/data/x/y': Permission denied\n", False),
    (b"run-as: package not debuggable: x\n", False),
    (b"find: bad arg '-print0'\n", False),
])
def test_only_folders_the_app_lacks_count_as_a_clean_listing(stderr, missing):
    assert early._missing_folders(stderr) is missing


def test_ranges_asked_early_that_another_plan_does_not_take_are_closed_once_its_ranges_began(
        tmp_path, big, small_ranges, monkeypatch):
    """An app profile with another folder and a second database there: the usual code plans other
    ranges and asks its own; the early ones stop taking the link then, not at the end."""
    from tsdtool.collectors import database

    server = FakeAdbServer([_terminal(tmp_path, big, more={f"{DATA}/no_backup/cache.db": big})])
    server.start()
    closed, returned = [], []
    real_close, real_pull = wire.Draining.close, database.pull_databases
    monkeypatch.setattr(wire.Draining, "close", lambda self: (closed.append(bool(returned)), real_close(self))[1])
    monkeypatch.setattr(database, "pull_databases",
                        lambda *a, **kw: (real_pull(*a, **kw), returned.append(True))[0])
    try:
        code = quick.main(["-H", "127.0.0.1", "-P", str(server.port), "--profiles-dir", str(_profile(tmp_path)),
                           "pull-db", APP, "-o", str(tmp_path / "out")])
    finally:
        server.stop()
    assert code == 0
    early = [r for r in server.requests if r.endswith("| gzip -1")]
    # the usual plan: main.db and cache.db in two each; before it, the early thread's main.db in four
    # and its journal — all five unless a loaded host made that best-effort thread stop sooner
    # (a clean-clone run, compiling every module while the suite ran beside it, saw four)
    cache = [r for r in early if "/no_backup/cache.db " in r]
    assert len(cache) == 2, early
    assert 2 + 1 <= len(early) - len(cache) <= 2 + 5, early
    assert closed and not any(closed)  # every one not taken was closed before pull_databases returned
    assert (tmp_path / "out/internal/no_backup/cache.db").read_bytes() == big


_MAGIC = listing.SQLITE_MAGIC
_GONE = b"find: '/d/x': No such file or directory\n"


@pytest.mark.parametrize("answer, paths, expected", [
    ((0, b"/system/bin/gzip\n123 /d/a\n45 /d/b\n==> /d/a <==\n" + _MAGIC + b"\n==> /d/b <==\nxyz", b""),
     ["/d/a", "/d/b"], ({"/d/a": 123, "/d/b": 45}, {"/d/a": _MAGIC, "/d/b": b"xyz"})),
    ((1, b"/system/bin/gzip\n123 /d/a\n" + _MAGIC, _GONE), ["/d/a"], ({"/d/a": 123}, {"/d/a": _MAGIC})),  # one file
    ((0, b"/system/bin/gzip\n7 /d/a\nb\n==> /d/a\nb <==\n" + _MAGIC, b""), ["/d/a\nb"], None),  # one file, a header
    ((0, b"/system/bin/gzip\n7 /d/a\nb\n9 /d/c\n==> /d/a\nb <==\nab\n==> /d/c <==\ncd", b""), ["/d/a\nb", "/d/c"],
     ({"/d/a\nb": 7, "/d/c": 9}, {"/d/a\nb": b"ab", "/d/c": b"cd"})),  # a newline in a name is read whole
    ((1, b"/system/bin/gzip\n", _GONE), [], ({}, {})),  # no file: neither stat nor head runs
    # a file came or went between the two finds, or they found them in another order
    ((0, b"/system/bin/gzip\n45 /d/b\n123 /d/a\n==> /d/b <==\nxyz\n==> /d/a <==\n" + _MAGIC, b""), ["/d/a", "/d/b"],
     None),
    # a header missing: a file head could not open (then it said so, and the answer is not clean)
    ((0, b"/system/bin/gzip\n123 /d/a\n45 /d/b\n==> /d/a <==\n" + _MAGIC, b""), ["/d/a", "/d/b"],
     ({"/d/a": 123, "/d/b": 45}, {"/d/a": _MAGIC, "/d/b": b""})),
    ((0, b"/system/bin/gzip\n123 /d/a\n45 /d/b\n" + _MAGIC, b""), ["/d/a"], None),
    ((1, b"", b""), ["/d/a"], None),  # no gzip: `command -v` fails, find is not run
    ((0, b"gzip: not found\n", b""), ["/d/a"], None),
    ((1, b"/system/bin/gzip\n123 /d/a\n", b"head: /d/a: Permission denied\n"), ["/d/a"], None),
    (None, ["/d/a"], None),  # not ended in time
])
def test_the_sizes_and_headers_asked_beside_the_listing_count_only_when_they_match_it(answer, paths, expected):
    assert early._beside(answer, paths) == expected


def test_headers_beside_the_listing_that_do_not_match_it_leave_the_usual_requests_first(
        tmp_path, big, small_ranges, capsys, monkeypatch):
    """When the headers found beside the listing are not the listing's (here: the folders asked in
    another order), the early thread asks and reads the usual probe and head before any range,
    as without them; pull-db says and keeps the same."""
    seen = {}
    for way in ("mismatched", "usual"):
        tmp = tmp_path / way
        tmp.mkdir()
        server = FakeAdbServer([_terminal(tmp, big)])
        server.start()
        with monkeypatch.context() as m:
            if way == "mismatched":
                m.setattr(listing, "run_as_find_beside", lambda package, folders=listing.FALLBACK_INTERNAL,
                          beside=listing.run_as_find_beside: beside(package, folders[::-1]))
            else:
                m.setattr(early, "follow", lambda first, package: None)
            try:
                code = quick.main(["-H", "127.0.0.1", "-P", str(server.port), "pull-db", APP, "-o", str(tmp / "out")])
            finally:
                server.stop()
        out, err = capsys.readouterr()
        seen[way] = (code, _same(out, tmp), _same(err, tmp), _tree(tmp), _same(json.dumps(_summary(tmp / "out")), tmp))
        if way == "mismatched":
            kinds = {"command -v gzip && run-as": "probe", f"run-as {APP} head -c 16 ": "head"}
            lines = [r.removeprefix("shell,v2,raw:") for r in server.requests]
            order = ["beside" if " -exec " in r else "range" if r.endswith("| gzip -1")
                     else next((k for start, k in kinds.items() if r.startswith(start)), "") for r in lines]
            order = [kind for kind in order if kind]
            assert order[:1] == ["beside"] and sorted(order[1:3]) == ["head", "probe"], order
            assert order[3:] == ["range"] * 5, order  # main.db in four, its journal
    assert seen["mismatched"][0] == 0
    assert seen["mismatched"] == seen["usual"]


@pytest.mark.parametrize("max_probed", [64, 1])
def test_the_answer_asked_beside_the_listing_is_closed_by_the_early_thread(tmp_path, big, small_ranges, capsys,
                                                                            monkeypatch, max_probed):
    """Only the early thread reads it (the usual code never asks that line): once it is done it is
    closed, read or not (with a listing too long to probe beside it, unread)."""
    from tsdtool.collectors import database

    server = FakeAdbServer([_terminal(tmp_path, big)])
    server.start()
    left = []
    real_pull = database.pull_db
    started = record_first_shells(monkeypatch)

    def pull(*args, **kw):
        started[0].settle()
        left.append(early.folded(APP) in started[0].asked)
        return real_pull(*args, **kw)

    monkeypatch.setattr(listing, "MAX_PROBED", max_probed)
    monkeypatch.setattr(database, "pull_db", pull)
    try:
        code = quick.main(["-H", "127.0.0.1", "-P", str(server.port), "pull-db", APP, "-o", str(tmp_path / "out")])
    finally:
        server.stop()
    assert code == 0 and left == [False]
    assert sum(" -exec " in r for r in server.requests) == 1  # it was asked
    assert (tmp_path / "out/internal/databases/main.db").read_bytes() == big


def test_the_ranges_connections_are_switched_in_one_round_trip(tmp_path, big, monkeypatch):
    """Every host:transport goes out before the first OKAY is read; each connection then carries its
    own service; a terminal the server does not know leaves no connection open."""
    server = FakeAdbServer([_terminal(tmp_path, big)])
    server.start()
    events: list[str] = []
    send, exact, me = socket.socket.sendall, wire._exact, threading.get_ident()

    def seen(what: str) -> None:  # this thread's calls only: the fake server runs in this process
        if threading.get_ident() == me:
            events.append(what)

    monkeypatch.setattr(socket.socket, "sendall", lambda self, data, *a: (seen("send"), send(self, data, *a))[1])
    monkeypatch.setattr(wire, "_exact", lambda sock, n: (seen("read"), exact(sock, n))[1])
    try:
        first = wire.First()
        first.address, first.serial = wire.resolve_server("127.0.0.1", server.port), "EARLYDB1"
        socks = wire.switched_all(first, 3, 5.0)
        assert events == ["send"] * 3 + ["read"] * 3
        for n, sock in enumerate(socks):
            with sock:
                sock.sendall(b"%04x" % len(f"shell:echo {n}") + f"shell:echo {n}".encode())
                assert exact(sock, 4) == b"OKAY"
                assert sock.recv(100).strip() == str(n).encode()
        first.serial = "NOSUCH"
        opened = []
        real_reach = wire.reach
        monkeypatch.setattr(wire, "reach", lambda address: (opened.append(real_reach(address)), opened[-1])[1])
        with pytest.raises(wire.Unclean):
            wire.switched_all(first, 2, 5.0)
        assert len(opened) == 2 and all(s.fileno() == -1 for s in opened)
        waited = time.monotonic() + 5  # the server has taken both before it stops (its threads started)
        while server.requests.count("host:transport:NOSUCH") < 2 and time.monotonic() < waited:
            time.sleep(0.01)
    finally:
        monkeypatch.undo()
        server.stop()
