"""A pull's first requests go out before its heavy imports (tsdtool/transport/wire.py), and a
thread holds what the terminal sends meanwhile. Whatever the early requests meet, the pull says
and keeps exactly what it says and keeps without them; no question is asked twice. Nothing here
is timed: the link figure is in `python -m bench --only pull`."""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
from pathlib import Path

import pytest

from tests.fake_adb import FakeAdbServer, make_fixture
from tests.probe_util import run_probe
from tsdtool import quick
from tsdtool.transport import wire

BIG = bytes(range(256)) * 1200  # 307 200 bytes: several DATA messages, more than one socket read
FILES = {"/sdcard/big.bin": BIG, "/sdcard/empty.bin": b"", "/sdcard/Download/a.txt": "alpha",
         "/sdcard/Download/sub/b.bin": BIG[:70000], "/sdcard/secret.txt": "s"}


def _terminal(root: Path, serial: str = "EARLY1", **kw) -> Path:
    kw.setdefault("files", FILES)
    return make_fixture(root, serial, device={"unreadable": {"paths": ["/sdcard/secret.txt"]}},
                        symlinks={"/sdcard/link.bin": "/sdcard/big.bin", "/sdcard/dl": "/sdcard/Download"}, **kw)


SCENARIOS = {  # name → (terminals to serve, tsdtool's words after -H/-P)
    "a file": (["one"], ["pull", "/sdcard/big.bin"]),
    "an empty file": (["one"], ["pull", "/sdcard/empty.bin"]),
    "a file named twice, then a folder": (["one"], ["pull", "/sdcard/big.bin", "/sdcard/big.bin", "/sdcard/Download"]),
    "a folder": (["one"], ["pull", "/sdcard/Download"]),
    "a link to a file": (["one"], ["pull", "/sdcard/link.bin"]),
    "a link to a folder": (["one"], ["pull", "/sdcard/dl"]),
    "a missing path": (["one"], ["pull", "/sdcard/nope", "/sdcard/big.bin"]),
    "a refused file": (["one"], ["pull", "/sdcard/secret.txt"]),
    "the serial given": (["one", "two"], ["-s", "EARLY2", "pull", "/sdcard/big.bin"]),
    "two terminals": (["one", "two"], ["pull", "/sdcard/big.bin"]),
    "an unknown serial": (["one"], ["-s", "NOPE", "pull", "/sdcard/big.bin"]),
    "unauthorized": (["unauthorized"], ["pull", "/sdcard/big.bin"]),
    "offline": (["offline"], ["pull", "/sdcard/big.bin"]),
    "the cable pulled": (["cut"], ["pull", "/sdcard/big.bin", "/sdcard/empty.bin"]),
    "no server": ([], ["pull", "/sdcard/big.bin"]),
    "an output below a file": (["one"], ["pull", "/sdcard/big.bin", "-o", "afile/x"]),
}

RECEIVED_EARLY = {"a file", "an empty file", "a file named twice, then a folder", "a refused file", "the serial given",
                  "the cable pulled"}  # the first path a regular file on the one terminal the pull picks


def _serve(root: Path, kinds: list[str]) -> FakeAdbServer:
    made = {"one": lambda: _terminal(root / "1"), "two": lambda: _terminal(root / "2", "EARLY2"),
            "unauthorized": lambda: _terminal(root / "u", state="unauthorized"),
            "offline": lambda: _terminal(root / "o", state="offline"),
            "cut": lambda: _terminal(root / "c", faults={"drop_after_bytes": 100_000})}
    server = FakeAdbServer([made[k]() for k in kinds])
    server.start()
    return server


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _run(tmp: Path, kinds: list[str], words: list[str], capsys) -> tuple:
    tmp.mkdir()
    (tmp / "afile").write_text("keep")
    server = _serve(tmp, kinds) if kinds else None
    port = str(server.port) if server else "9"  # nothing listens on the discard port here
    try:
        argv = ["-H", "127.0.0.1", "-P", port, *words] + ([] if "-o" in words else ["-o", str(tmp / "out")])
        code = quick.main([w if w != "afile/x" else str(tmp / "afile" / "x") for w in argv])
        out, err = capsys.readouterr()
    finally:
        if server:
            server.stop()
    same = (code, out.replace(str(tmp), "TMP"), err.replace(str(tmp), "TMP"), _tree(tmp))
    return same, (server.requests if server else [])


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_early_requests_change_nothing_a_person_sees(name, tmp_path, capsys, monkeypatch):
    kinds, words = SCENARIOS[name]
    early, asked = _run(tmp_path / "early", kinds, words, capsys)
    with monkeypatch.context() as m:  # the same pull with nothing asked early
        m.setattr(wire, "first_pull", lambda host, port, serial, path, timeout: wire.First(path))
        usual, asked_usual = _run(tmp_path / "usual", kinds, words, capsys)
    assert early == usual
    assert early[0] == {"a file": 0, "two terminals": 4, "no server": 5, "the cable pulled": 3,
                        "an output below a file": 2}.get(name, early[0])  # the scenarios do what they say
    assert asked.count("host:devices-l") == asked_usual.count("host:devices-l") <= 1
    if name == "an output below a file":  # found once the output side is imported: the early (read-only)
        assert asked == ["host:devices-l", "host:transport:EARLY1", "sync:"]  # STAT and RECV were dropped
    else:  # nothing asked twice; where the first path's RECV went out early, STAT and RECV shared one session
        assert len(asked) == len(asked_usual) - 2 * (name in RECEIVED_EARLY)


def test_the_first_recv_goes_out_before_adbutils_and_the_output_side_are_imported(tmp_path):
    """Nor dataclasses (inspect, ast, dis: 15-40 ms here) or typing: the settings, the server's address
    and the device list's parser do without them."""
    server = _serve(tmp_path, ["one"])
    probe = """
        import socket, sys
        seen = []
        send = socket.socket.sendall
        def spy(self, data, *a):
            if data[:4] == b"RECV":
                seen.append(sorted(m for m in ("adbutils", "tsdtool.outdir", "tsdtool.collectors.files",
                                                "tsdtool.views", "hashlib", "dataclasses", "typing", "threading")
                                   if m in sys.modules))
            return send(self, data, *a)
        socket.socket.sendall = spy
        from tsdtool.quick import main
        code = main(["-H", "127.0.0.1", "-P", sys.argv[1], "pull", "/sdcard/big.bin", "-o", sys.argv[2]])
        print(code, seen)
    """
    proc = run_probe(probe, server, tmp_path / "out")
    assert proc.stdout.split("\n")[-2] == "0 [[]]", proc.stdout
    assert (tmp_path / "out" / "big.bin").read_bytes() == BIG


def _draining(hold: int = wire.HOLD) -> tuple[socket.socket, wire.Draining]:
    """The far end of a loopback TCP connection, and a Draining on the near end."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        ours = socket.create_connection(listener.getsockname())
        theirs, _ = listener.accept()
    return theirs, wire.Draining(ours, hold)


def _wait_held(d: wire.Draining, n: int) -> None:
    for _ in range(500):
        if sum(map(len, d._held)) >= n:
            return
        threading.Event().wait(0.01)


@pytest.mark.parametrize("split", [1, 7, 4096, 70000])
def test_what_was_held_comes_first_then_the_socket(split):
    theirs, d = _draining()
    data = bytes(range(256)) * 600
    with theirs:
        theirs.sendall(data[:150000])
        _wait_held(d, 150000)
        assert sum(map(len, d._held)) == 150000  # else this test tests no holding
        with d as c:
            theirs.sendall(data[150000:])
            theirs.shutdown(socket.SHUT_WR)
            got = bytearray()
            buf = memoryview(bytearray(split))
            while n := c.conn.recv_into(buf):
                got += buf[:n]
    assert bytes(got) == data


def test_the_thread_holds_at_most_its_limit_and_the_rest_waits_on_the_socket():
    theirs, d = _draining(hold=64 * 1024)
    with theirs:
        theirs.sendall(b"x" * 300_000)  # more than the limit and a socket buffer's worth
        _wait_held(d, 64 * 1024)
        threading.Event().wait(0.05)
        held = sum(map(len, d._held))
        assert 64 * 1024 <= held < 64 * 1024 + 1024 * 1024
        assert not d._thread.is_alive()  # it stopped reading at the limit
        with d as c:
            theirs.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := c.conn.recv(65536):
                got += chunk
    assert got == b"x" * 300_000


def test_an_error_met_while_holding_is_raised_after_the_held_bytes():
    theirs, d = _draining()
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    theirs.sendall(b"abc")
    _wait_held(d, 3)
    theirs.close()  # with linger 0: a reset, not an end
    d._thread.join(5)
    with d as c:
        assert c.conn.recv(10) == b"abc"
        with pytest.raises(ConnectionResetError):
            c.conn.recv(10)


def test_closing_an_unused_stream_stops_its_thread():
    theirs, d = _draining()
    with theirs:
        d.close()
        assert not d._thread.is_alive()
        d.close()  # twice is harmless


def test_ctrl_c_while_the_rest_is_imported_leaves_no_reader_behind(tmp_path, capsys, monkeypatch):
    from tsdtool.collectors import files

    server = _serve(tmp_path, ["one"])
    started = []
    real = wire.first_pull

    def spy(*args):
        started.append(real(*args))
        return started[-1]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(wire, "first_pull", spy)
    monkeypatch.setattr(files, "pull", interrupted)
    try:
        code = quick.main(["-H", "127.0.0.1", "-P", str(server.port), "pull", "/sdcard/big.bin", "-o",
                           str(tmp_path / "out")])
    finally:
        server.stop()
    assert code == 130 and "interrupted" in capsys.readouterr().err
    [first] = started
    assert first.receiving is not None  # the RECV had gone out
    assert not first.receiving._thread.is_alive() and first.receiving._sock.fileno() == -1
    assert not (tmp_path / "out").exists()


# -- pull-db: the device list, the terminal's features and `pm path` before the heavy imports ----------

DEMO = "com.example.scanner.demo"  # zebra_tc52's debuggable app with its databases
DB_SCENARIOS = {  # name → (terminals, tsdtool's words after -H/-P)
    "an app's databases": (["zebra_tc52"], ["pull-db", DEMO]),
    "a package not installed": (["zebra_tc52"], ["pull-db", "com.no.such.app"]),
    "no shell v2 (Android 6)": (["old"], ["pull-db", "com.no.such.app"]),
    "two terminals": (["zebra_tc52", "honeywell_ct60"], ["pull-db", DEMO]),
    "the serial given": (["zebra_tc52", "honeywell_ct60"], ["-s", "20TC52FX0001", "pull-db", DEMO]),
    "unauthorized": (["unauthorized"], ["pull-db", DEMO]),
    "no server": ([], ["pull-db", DEMO]),
    "an output below a file": (["zebra_tc52"], ["pull-db", DEMO, "-o", "afile/x"]),
}


def _serve_fixtures(root: Path, names: list[str]) -> FakeAdbServer:
    from tests.conftest import fixture_dir

    server = FakeAdbServer([make_fixture(root, "OLD1", sdk=23) if n == "old" else fixture_dir(n) for n in names])
    server.start()
    return server


def _names(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.mark.parametrize("name", DB_SCENARIOS)
def test_pull_db_says_and_keeps_the_same_with_pm_path_asked_early(name, tmp_path, capsys, monkeypatch):
    kinds, words = DB_SCENARIOS[name]
    seen = {}
    for way in ("early", "usual"):
        tmp = tmp_path / way
        tmp.mkdir()
        (tmp / "afile").write_text("keep")
        server = _serve_fixtures(tmp, kinds) if kinds else None
        with monkeypatch.context() as m:
            if way == "usual":
                m.setattr(wire, "first_shell", lambda host, port, serial, args, timeout, **kw: wire.First())
            argv = ["-H", "127.0.0.1", "-P", str(server.port) if server else "9", *words]
            argv += [] if "-o" in words else ["-o", str(tmp / "out")]
            try:
                code = quick.main([w if w != "afile/x" else str(tmp / "afile" / "x") for w in argv])
            finally:
                if server:
                    server.stop()
        out, err = capsys.readouterr()
        asked = server.requests if server else []
        seen[way] = (code, out.replace(str(tmp), "TMP"), err.replace(str(tmp), "TMP"), _names(tmp),
                     sum(r.endswith(":features") for r in asked), sum("pm path" in r for r in asked))
    assert seen["early"][:4] == seen["usual"][:4]  # the same code, lines and files
    assert seen["early"][5] == seen["usual"][5]  # `pm path` as often, and the features no more often (the
    assert seen["early"][4] <= seen["usual"][4]  # usual way's two threads may both ask them at once)
    assert seen["early"][0] == {"an app's databases": 0, "a package not installed": 3, "two terminals": 4,
                                "no server": 5, "an output below a file": 2}.get(name, seen["early"][0])
    assert seen["early"][5] == (name not in ("two terminals", "unauthorized", "no server"))


def test_pull_db_asks_pm_path_and_run_as_listing_before_adbutils_and_the_database_module_are_imported(tmp_path):
    server = _serve_fixtures(tmp_path, ["zebra_tc52"])
    probe = """
        import socket, sys
        seen = []
        send = socket.socket.sendall
        def spy(self, data, *a):
            if b"pm path" in data or b"run-as com.example.scanner.demo find " in data:
                seen.append(sorted(m for m in ("adbutils", "tsdtool.collectors.database", "tsdtool.apps.profiles",
                                               "dataclasses", "typing") if m in sys.modules))
            return send(self, data, *a)
        socket.socket.sendall = spy
        from tsdtool.quick import main
        code = main(["-H", "127.0.0.1", "-P", sys.argv[1], "pull-db", "com.example.scanner.demo", "-o", sys.argv[2]])
        print(code, seen)
    """
    proc = run_probe(probe, server, tmp_path / "out")
    # each sent once, before those imports: pm path, the listing, and the sizes and headers beside it
    assert proc.stdout.split("\n")[-2] == "0 [[], [], []]", proc.stdout
    # the listing asked early is the one RunAs used (the fallback profile's folders): not asked again
    assert sum("run-as com.example.scanner.demo find " in r and r.endswith(" -print0") for r in server.requests) == 1
    assert json.loads((tmp_path / "out" / "databases.json").read_text())["databases"]


@pytest.mark.parametrize("cols", [100, 40])
def test_a_slow_early_pull_at_a_terminal_shows_progress_then_one_clean_result(tmp_path, cols):
    """In a pty (read through pyte, as a person sees it): the bytes held while the rest was imported
    reach the progress bar and the file, a Russian name included, and the screen ends in the result."""
    import os
    import shutil

    import pexpect
    import pyte

    name = "/sdcard/Документы/скан 1.bin"
    fixture = _terminal(tmp_path, files={name: BIG}, faults={"delay_ms_per_chunk": 150})
    server = FakeAdbServer([fixture])
    server.start()
    screen = pyte.Screen(cols, 24)
    stream = pyte.Stream(screen)
    raw: list[str] = []

    class Feed:
        def write(self, data: str) -> None:
            stream.feed(data)
            raw.append(data)

        def flush(self) -> None:
            pass

    tsdtool = Path(sys.executable).parent / "tsdtool"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "TERM")}
    env.update(COLUMNS=str(cols), LINES="24", TERM="xterm-256color")
    try:
        child = pexpect.spawn(str(tsdtool) if tsdtool.exists() else shutil.which("tsdtool"),
                              ["-H", "127.0.0.1", "-P", str(server.port), "pull", name, "-o", str(tmp_path / "out")],
                              env=env, dimensions=(24, cols), timeout=60, encoding="utf-8", codec_errors="replace")
        child.logfile_read = Feed()
        child.expect(pexpect.EOF)
        child.close()
    finally:
        server.stop()
    shown = [line.rstrip() for line in screen.display if line.strip()]
    assert child.exitstatus == 0, shown
    assert (tmp_path / "out" / "скан 1.bin").read_bytes() == BIG
    assert "━" in "".join(raw)  # a progress bar was drawn while the bytes came
    # the progress display gone, only the result is left: one line the width wraps, copied whole
    assert "".join(shown) == f"1 files, 300 KB written to {tmp_path / 'out'}", shown


def test_a_silent_answer_is_left_to_the_usual_code_after_wires_patience(monkeypatch):
    """The early requests wait PATIENCE, not --timeout, for an answer: a terminal that never
    answers STAT (or its features) costs the usual code's --timeout once, plus that."""
    held: list[socket.socket] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:  # an adb server that lists one terminal whose sync and features never answer
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            while request := conn.recv(4):
                service = conn.recv(int(request, 16)).decode()
                if service == "host:devices-l":
                    conn.sendall(b"OKAY%04xSILENT1\tdevice\n" % len("SILENT1\tdevice\n"))
                elif service.startswith("host:transport:"):
                    conn.sendall(b"OKAY")
                else:  # sync: is opened, then STAT never answered; features: never answered
                    conn.sendall(b"OKAY" if service == "sync:" else b"")
                    break

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    monkeypatch.setattr(wire, "PATIENCE", 0.2)
    port = listener.getsockname()[1]
    got = []
    for ask in (lambda: wire.first_pull("127.0.0.1", port, None, "/sdcard/x", 30),
                lambda: wire.first_shell("127.0.0.1", port, None, ["pm", "path", "com.x.y"], 30)):
        asking = threading.Thread(target=lambda ask=ask: got.append(ask()), daemon=True)
        asking.start()
        asking.join(10)  # without the patience: 30 s
        assert not asking.is_alive()
    listener.close()
    for conn in held:
        conn.close()
    pulled, shelled = got
    assert pulled.listing and pulled.serial == "SILENT1" and pulled.top is None and pulled.receiving is None
    assert shelled.serial == "SILENT1" and shelled.features is None and not shelled.asked
