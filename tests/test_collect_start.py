"""``collect`` starts without Typer (tsdtool/quick.py) and asks the terminal its first questions
(`pm list packages`, and for a --package run-as's listing and what pull-db asks from it:
tsdtool/apps/early.py) before the collectors are imported, once every option has been checked.
Whatever those requests meet, the collect says and keeps what it says and keeps without them,
and asks nothing twice. Nothing here is timed: the figures are in `python -m bench --only collect`."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from tests.fake_adb import FakeAdbServer
from tests.probe_util import interrupt_when_asked, record_first_shells, run_probe
from tsdtool import quick
from tsdtool.transport import wire

STAMP = r"\d{8}T\d{6}Z"  # a bundle's UTC time in its name
DEMO = "com.example.scanner.demo"  # zebra_tc52's debuggable app with its databases
PM_LIST = "shell,v2,raw:pm list packages -i --show-versioncode"
FIND = f"shell,v2,raw:run-as {DEMO} find "
FIELDS = ["--field", "description=Не сканирует", "--field", "contact_name=A", "--field", "contact_email=a@b.ru"]
SCENARIOS = {  # name → (terminals, tsdtool's words after -H/-P, the exit code)
    "an app's databases": (["zebra_tc52"], ["collect", "--no-input", "--json", "--package", DEMO, *FIELDS], 0),
    "no database asked": (["zebra_tc52"], ["collect", "--no-input", "--json", "--package", DEMO, "--no-db", *FIELDS],
                          0),
    "no package given": (["zebra_tc52"], ["collect", "--no-input", "--json", *FIELDS], 3),
    "a package not installed": (["zebra_tc52"], ["collect", "--no-input", "--package", "com.no.such.app"], 2),
    "two terminals": (["zebra_tc52", "honeywell_ct60"], ["collect", "--no-input", "--package", DEMO], 4),
    "the serial given to collect": (["zebra_tc52", "honeywell_ct60"],
                                    ["collect", "-s", "20TC52FX0001", "--no-input", "--json", "--package", DEMO,
                                     *FIELDS], 0),
    "unauthorized": (["unauthorized"], ["collect", "--no-input", "--package", DEMO], 4),
    "no server": ([], ["collect", "--no-input", "--package", DEMO], 5),
    "a desk that does not exist": (["zebra_tc52"], ["collect", "--no-input", "--package", DEMO, "--desk", "nobody"], 2),
}


def _serve(names: list[str]) -> FakeAdbServer:
    from tests.conftest import fixture_dir

    server = FakeAdbServer([fixture_dir(n) for n in names])
    server.start()
    return server


def _what_a_person_sees(out: str, err: str, tmp: Path) -> tuple:
    """The lines, with the run's own folder and the bundle's time stamp made neutral; for --json,
    every item's path, kind and status (the bundle's content as the manifest lists it)."""
    def plain(text: str) -> str:
        return re.sub(STAMP, "STAMP", text.replace(str(tmp), "TMP"))

    if out.startswith("{"):
        result = json.loads(out)
        with zipfile.ZipFile(result["bundle"]) as zf:
            names = sorted(zf.namelist())
        items = sorted((i["path"], i["kind"], i["status"]) for i in result["items"])
        return result["exit_code"], result["status"], items, names, plain(err)
    return plain(out), plain(err)


@pytest.mark.parametrize("name", SCENARIOS)
def test_collect_says_and_keeps_the_same_with_its_first_requests_asked_early(name, tmp_path, capsys, monkeypatch):
    import sys

    from tsdtool.bundle import collect as collect_mod

    kinds, words, expected = SCENARIOS[name]
    seen = {}
    run, switching = collect_mod.run, []

    def switching_seen(*args, **kwargs):
        switching.append(sys.getswitchinterval())
        return run(*args, **kwargs)
    for way in ("early", "usual"):
        tmp = tmp_path / way
        tmp.mkdir()
        server = _serve(kinds) if kinds else None
        with monkeypatch.context() as m:
            if way == "usual":
                m.setattr(wire, "first_shell", lambda host, port, serial, args, timeout, **kw: wire.First())
            m.setattr(collect_mod, "run", switching_seen)
            argv = ["-H", "127.0.0.1", "-P", str(server.port) if server else "9", "--timeout", "5", *words,
                    "-o", str(tmp / "out")]
            interval = sys.getswitchinterval()
            try:
                code = quick.main(argv)
            finally:
                if server:
                    server.stop()
            assert sys.getswitchinterval() == interval  # shortened while collecting (below), given back
        out, err = capsys.readouterr()
        asked = server.requests if server else []
        services = [t._services for t in server.terminals] if server else []
        files = sorted(re.sub(STAMP, "STAMP", p.relative_to(tmp).as_posix()) for p in tmp.rglob("*"))
        seen[way] = (code, _what_a_person_sees(out, err, tmp), files,
                     asked.count(PM_LIST), sum(r.startswith(FIND) for r in asked),
                     services, sorted(r for r in asked if "run-as" in r or "gzip" in r))
    assert seen["early"][0] == expected, seen["early"]
    assert all(s <= 0.001 for s in switching)  # the GIL handed over every 1 ms while the terminal answers
    assert seen["early"][:3] == seen["usual"][:3]  # the same code, lines, bundle items and files
    assert seen["early"][3:5] == seen["usual"][3:5]  # pm and run-as's listing asked as often: once or never
    if name == "a package not installed":  # run-as's listing (it only reads) went out before pm's answer
        assert [r.split(" find ")[0] for r in seen["early"][6]] == ["shell,v2,raw:run-as com.no.such.app"]
        assert seen["usual"][6] == []
    else:  # what pull-db's early thread asks (headers, gzip, sizes, ranges) is asked as the usual
        assert seen["early"][6] == seen["usual"][6]  # code asks it: nothing twice, nothing more
    if name == "a desk that does not exist":  # a usage mistake: said before the terminal was touched
        assert seen["early"][5] == seen["usual"][5] == [0]
    if name in ("an app's databases", "the serial given to collect"):
        # once each: the app's own files (collectors.logs, in a lane beside the database) take the
        # database's listing (access.Listings) instead of asking it again
        assert seen["early"][3:5] == (1, 1)


def test_collect_asks_pm_and_run_as_listing_before_typer_adbutils_and_the_collectors_are_imported(tmp_path):
    """Nor the app profiles (read when first needed: --package checks nothing in them), importlib.resources
    (~15 ms with tempfile and random), the result's views or hashlib (OpenSSL)."""
    server = _serve(["zebra_tc52"])
    probe = """
        import socket, sys
        seen = {}
        send = socket.socket.sendall
        def spy(self, data, *a):
            for what in (b"pm list packages -i", b"run-as com.example.scanner.demo find "):
                if what in data and what not in seen:  # the first time each goes out
                    seen[what] = sorted(m for m in ("typer", "adbutils", "tsdtool.bundle.collect",
                                                    "tsdtool.collectors.logs", "tsdtool.collectors.database",
                                                    # --package checks nothing in the app profiles
                                                    "tsdtool.apps.profiles", "importlib.resources",
                                                    "tsdtool.views", "hashlib")
                                        if m in sys.modules)
            return send(self, data, *a)
        socket.socket.sendall = spy
        from tsdtool.quick import main
        code = main(["-H", "127.0.0.1", "-P", sys.argv[1], "collect", "--no-input", "--package",
                     "com.example.scanner.demo", "--field", "description=x", "--field", "contact_name=A",
                     "--field", "contact_email=a@b.ru", "-o", sys.argv[2]])
        print(code, list(seen.values()), "typer" in sys.modules)
    """
    proc = run_probe(probe, server, tmp_path / "out", timeout=120)
    assert proc.stdout.split("\n")[-2] == "0 [[], []] False", proc.stdout  # each sent once, before those imports
    # the listing asked early is the one the database's run-as used, and the app's own files
    # (collectors.logs) take the same answer: asked once
    assert server.requests.count(PM_LIST) == 1 and sum(r.startswith(FIND) for r in server.requests) == 1
    assert len(list((tmp_path / "out").glob("*.zip"))) == 1


def test_ctrl_c_while_collect_imports_leaves_no_stream_or_thread_behind(tmp_path, capsys, monkeypatch):
    """A Ctrl-C once the early requests (and pull-db's early thread) are out, before the
    collection begins: exit 130, every early stream closed, no early thread or drain left."""
    import threading

    from tsdtool.bundle import collect as collect_mod

    server = _serve(["zebra_tc52"])
    started = record_first_shells(monkeypatch)
    monkeypatch.setattr(collect_mod, "run", interrupt_when_asked(started))
    try:
        code = quick.main(["-H", "127.0.0.1", "-P", str(server.port), "collect", "--no-input", "--package", DEMO,
                           *FIELDS, "-o", str(tmp_path / "out")])
    finally:
        server.stop()
    assert code == 130 and "interrupted" in capsys.readouterr().err
    [first] = started
    # pm, the listing and what pull-db's early thread asks from it (the headers, gzip and the sizes)
    assert server.requests.count(PM_LIST) == 1 and any("command -v gzip && run-as" in r for r in server.requests)
    assert not first.asked and first._following is None
    assert not [t for t in threading.enumerate() if t.name in ("tsdtool-early", "tsdtool-drain")]
    assert not (tmp_path / "out").exists()
