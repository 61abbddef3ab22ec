"""What people read: no view cuts an identifier, at 40, 80 and 200 columns or piped.

A terminal is simulated in-process with Rich's ``TTY_COMPATIBLE=1`` and ``COLUMNS``; one test
runs the real program in a pseudo-terminal of 40 columns. Identifiers are the values a person
copies into the next command (serials, packages, paths, property names, fingerprints).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import re
import shlex
import shutil
import struct
import subprocess
import sys
import termios
import textwrap
import tomllib
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.conftest import FIXTURES
from tests.fake_adb import FakeAdbServer, make_fixture

LONG_PACKAGE = "com.example.mobilesmarts.warehouse.receiving.client"
LONG_SERIAL = "TSD-0123456789-ABCDEF-WAREHOUSE-NORTH"
WIDTHS = ["40", "80", "200", "piped"]


@pytest.fixture(params=WIDTHS)
def width(request, monkeypatch):
    """Terminal width for the run, or "piped" (stdout not a terminal)."""
    if request.param != "piped":
        monkeypatch.setenv("TTY_COMPATIBLE", "1")
        monkeypatch.setenv("COLUMNS", request.param)
        monkeypatch.setenv("TERM", "xterm")  # Rich takes a dumb terminal for 80 columns
    return request.param


def _long_fixture(root: Path) -> Path:
    return make_fixture(root, LONG_SERIAL, packages=[
        {"name": LONG_PACKAGE, "version_name": "3.2.0.24920", "version_code": 24920},
        {"name": LONG_PACKAGE + ".updater", "version_name": "1.0", "version_code": 1}])


def assert_whole(out: str, width: str, *identifiers: str) -> None:
    """Every identifier appears whole; nothing is cut with an ellipsis; lines fit the terminal
    unless the line carries a value that alone cannot fit (it wraps in the terminal, whole)."""
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)  # bold headers
    assert "…" not in out, out
    for ident in identifiers:
        assert ident in out, f"{ident!r} not whole in:\n{out}"
    if width == "piped":
        return
    for line in out.splitlines():  # too wide only when a label and one value cannot fit
        if cell_len(line) > int(width):
            assert len(re.split(r" {2,}", line.strip())) <= 2, f"line over {width} columns: {line!r}"


def test_devices(fake_server, tsd, tmp_path, width):
    srv = fake_server(_long_fixture(tmp_path), "zebra_tc52")
    code, out, err = tsd("-P", srv.port, "devices")
    assert code == 0, err
    assert_whole(out, width, LONG_SERIAL, "20TC52FX0001", "Zebra Technologies")


def test_apps(fake_server, tsd, tmp_path, width):
    srv = fake_server(_long_fixture(tmp_path))
    code, out, err = tsd("-P", srv.port, "apps")
    assert code == 0, err
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert_whole(out, width, LONG_PACKAGE, LONG_PACKAGE + ".updater", "3.2.0.24920")
    if width in ("piped", "200"):  # one line per app, the package first: `apps | awk '{print $1}'`
        firsts = [line.split()[0] if line else "" for line in out.splitlines()]
        assert firsts == ["package", LONG_PACKAGE, LONG_PACKAGE + ".updater"], out
    if width == "40":  # one record per block
        assert out.count("package     ") == 2 and "\n\n" in out, out


def test_info(fake_server, tsd, width):
    srv = fake_server("zebra_tc52")
    code, out, err = tsd("-P", srv.port, "info")
    assert code == 0, err
    assert_whole(out, width, "Zebra/helios/helios:14/14-32-12.00-UG-U00-STD-HEL-04/15:user/release-keys",
                 "14-32-12.00-UG-U00-STD-HEL-04", "20TC52FX0001")


def test_profiles_list(tsd, width):
    code, out, err = tsd("profiles", "list")
    assert code == 0, err
    from tsdtool import catalog

    paths = [str(e.path) for e in catalog.entries()[0]]
    assert_whole(out, width, *paths)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Two bundles of zebra_tc52: A without its logged crash, B with another build and app version."""
    root = tmp_path_factory.mktemp("bundles")
    made = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADBUTILS_ADB_PATH", "false")
        mp.setenv("HOME", str(root / "home"))
        mp.setenv("XDG_CONFIG_HOME", str(root / "home" / ".config"))
        for name, change in (("a", None), ("b", True)):
            folder = root / name
            shutil.copytree(FIXTURES / "zebra_tc52", folder)
            if not change:
                log = folder / "logcat.txt"
                log.write_text("".join(line for line in log.read_text("utf-8").splitlines(True) if " E " not in line))
            else:
                props = folder / "getprop.txt"
                props.write_text(props.read_text("utf-8").replace(
                    "[ro.build.id]: [14-32-12.00-UG-U00-STD-HEL-04]", "[ro.build.id]: [14-34-10.00-UG-U03-STD-HEL-04]")
                    .replace("[ro.device.patch.version]: [U00]", "[ro.device.patch.version]: [U03]"))
                packages = folder / "packages.toml"
                old, new = '"1.4.2-debug"\nversion_code = 10402', '"1.5.0"\nversion_code = 10500'
                packages.write_text(packages.read_text("utf-8").replace(old, new))
            made.append(_collect(folder, root / f"out-{name}"))
    return made


def _collect(folder: Path, out: Path) -> Path:
    from tsdtool.cli import main

    buffer = io.StringIO()
    with FakeAdbServer([folder]) as srv, contextlib.redirect_stdout(buffer):
        main(["-P", str(srv.port), "--timeout", "5", "collect", "-o", str(out), "--no-input", "--json",
              "--package", "com.example.scanner.demo"])
    return Path(json.loads(buffer.getvalue())["bundle"])


def test_inspect(tsd, bundles, width):
    code, out, err = tsd("inspect", bundles[0])
    assert code == 0, err
    from tsdtool.bundle.verify import open_bundle

    with open_bundle(bundles[0]) as bundle:
        paths = [item.path for item in bundle.manifest.items]
    assert_whole(out, width, bundles[0].name, *paths)


def test_diff(tsd, bundles, width):
    code, out, err = tsd("diff", "--props", *bundles)
    assert code == 0, err
    assert_whole(out, width, "ro.build.id", "14-34-10.00-UG-U03-STD-HEL-04", "com.example.scanner.demo")


def test_profiles_show_is_the_file_verbatim(tsd, width):
    from tsdtool import catalog

    for entry in catalog.entries()[0]:
        code, out, err = tsd("profiles", "show", "--kind", entry.kind, entry.id)
        assert code == 0, err
        assert out == entry.path.read_text("utf-8")
        tomllib.loads(out)
    code, out, _ = tsd("profiles", "show", "--kind", "desk", "grsoft", "--path")
    assert (code, out) == (0, f"{catalog.show_one('grsoft', 'desk')[0].path}\n")


def test_profiles_show_ambiguous_id_asks_for_kind(tsd):
    code, out, err = tsd("profiles", "show", "generic")
    assert code == 2 and out == "" and "--kind" in err


def test_apps_in_a_real_pseudo_terminal_of_40_columns(fake_server, tmp_path):
    """The installed program, not a simulated console: its own idea of the terminal decides."""
    srv = fake_server(_long_fixture(tmp_path))
    leader, follower = pty.openpty()
    import fcntl

    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TTY_COMPATIBLE")}
    proc = subprocess.Popen([sys.executable, "-m", "tsdtool", "-P", str(srv.port), "apps"], stdout=follower,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(30) == 0, proc.stderr.read()
    proc.stderr.close()
    out = b"".join(chunks).decode().replace("\r\n", "\n")
    assert_whole(out, "40", LONG_PACKAGE, LONG_PACKAGE + ".updater")
    assert out.count("package     ") == 2, out


def test_info_reads_in_units(fake_server, tsd):
    srv = fake_server("zebra_tc52")
    code, out, err = tsd("-P", srv.port, "info")
    assert code == 0, err
    lines = {line.split("  ")[0]: line.split("  ", 1)[1].strip() for line in out.splitlines()}
    assert lines["battery"] == "85 %, charging"
    assert lines["uptime"] == "3 d 4 h"  # 273912 s
    assert lines["data storage"] == "20.1 GB free of 25.5 GB"  # 19581396 of 24947036 KiB
    assert "storage_data_free_kb" not in out and "uptime_s" not in out and "True" not in out


def test_info_all_is_a_table_per_terminal(fake_server, tsd):
    srv = fake_server("zebra_tc52", "honeywell_ct60")
    code, out, err = tsd("-P", srv.port, "info", "--all")
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["serial", "model", "Android", "build", "battery", "data", "free"]
    zebra = next(r for r in rows if r.startswith("20TC52FX0001"))
    assert "Zebra Technologies TC52" in zebra and "14 (SDK 34)" in zebra and "20.1 GB" in zebra
    assert "14-32-12.00-UG-U00-STD-HEL-04" in zebra and "85 %" in zebra
    assert any(r.startswith("18326D8A2F") and "CT60" in r for r in rows)


@pytest.mark.parametrize("seconds, text", [(0, "0 min"), (59, "0 min"), (61, "1 min"), (3600, "1 h 0 min"),
                                           (86400, "1 d 0 h"), (273912, "3 d 4 h"), (None, "—")])
def test_duration(seconds, text):
    from tsdtool.views import duration

    assert duration(seconds) == text


def test_diff_leads_with_the_summary_and_fits_one_screen(tsd, bundles):
    code, out, err = tsd("diff", *bundles)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) <= 24, out  # one screen, the crash included
    labels = [line.split("  ")[0] for line in lines[:8]]
    assert labels == ["A", "B", "terminal", "Android", "build", "firmware patch_version", "app", "databases"], out
    assert lines[4].endswith("14-32-12.00-UG-U00-STD-HEL-04 → 14-34-10.00-UG-U03-STD-HEL-04")
    assert lines[6].endswith("com.example.scanner.demo 1.4.2-debug (10402) → 1.5.0 (10500)")
    assert "ro.build.id" not in out and "2 differ (--props lists them)" in out
    crash = out[out.index("new in B, in log order:"):].splitlines()[1:]
    assert crash[0] == "  + E/AndroidRuntime: FATAL EXCEPTION: main"  # the head first, its stack below in order
    assert [line.strip().split("(")[0] for line in crash[3:]] == [
        "E/AndroidRuntime:         at com.example.mobilesmarts.ui.ScanFragment.onBarcode",
        "E/AndroidRuntime:         at com.example.mobilesmarts.scanner.ScanReceiver.onReceive",
        "E/AndroidRuntime:         at android.app.LoadedApk$ReceiverDispatcher$Args.lambda$getRunnable$#",
        "E/AndroidRuntime:         at android.os.Handler.handleCallback",
        "E/AndroidRuntime:         at android.os.Looper.loop",
        "E/AndroidRuntime:         at android.app.ActivityThread.main"]
    code, with_props, _ = tsd("diff", "--props", *bundles)
    assert with_props.startswith(out.rstrip("\n").replace(" (--props lists them)", ""))
    assert "ro.build.id" in with_props and "ro.device.patch.version" in with_props


def test_diff_json_lists_the_same_changes(tsd, bundles):
    code, out, err = tsd("diff", "--json", *bundles)
    data = json.loads(out)
    assert set(data) == {"a", "b", "same", "changes"}
    rows = [(c["section"], c["key"], c["a"], c["b"]) for c in data["changes"]]
    assert ("app", "com.example.scanner.demo", "1.4.2-debug (10402)", "1.5.0 (10500)") in rows
    assert ("property", "ro.build.id", "14-32-12.00-UG-U00-STD-HEL-04", "14-34-10.00-UG-U03-STD-HEL-04") in rows
    log = [key for section, key, _, _ in rows if section == "log"]
    assert log[0] == "E/AndroidRuntime: FATAL EXCEPTION: main" and len(log) == 9  # in log order now


# -- lines written without Rich (console.lines): the same characters Rich writes ----------------

from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CHARS = list("ab Z09[]/:_-\\«»Склад") + ["\t", "\n", "\r", "\x1b", "\x07", "\xa0", "📦", "漢", "\u200b", ":smile:",
                                            "[red]", " "]
_TEXT = st.lists(st.sampled_from(_CHARS), max_size=8).map("".join)
_PIECE = st.one_of(_TEXT, st.tuples(_TEXT, st.sampled_from(["", "bold", "red", "green"])))


def _rich_lines(rows) -> str:
    from rich.console import Console
    from rich.text import Text

    screen = io.StringIO()
    rich_out = Console(file=screen, highlight=False, soft_wrap=False)  # console.out()'s settings
    for row in rows:
        rich_out.print(Text.assemble(*row), soft_wrap=True)
    return screen.getvalue()


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(_PIECE, max_size=4), max_size=3))
@example(rows=[["x" * 90 + "   ", ("Склад 📦", "bold")], ["a\tb", ("", "red")], []])  # past 80 columns, blank end
def test_lines_piped_are_what_rich_writes(rows):
    from tsdtool import console

    with _piped("stdout") as written:
        console.lines(rows)
    assert written.getvalue() == _rich_lines(rows)


@contextlib.contextmanager
def _piped(name: str):
    """``sys.<name>`` a StringIO (not a terminal) and no variable that makes Rich style it,
    the consoles made afresh on the way in and out."""
    from tsdtool import console

    saved, environ = getattr(sys, name), dict(os.environ)
    setattr(sys, name, io.StringIO())
    try:
        for variable in ("TTY_COMPATIBLE", "FORCE_COLOR", "COLUMNS"):
            os.environ.pop(variable, None)
        console.reset()
        yield getattr(sys, name)
    finally:
        setattr(sys, name, saved)
        os.environ.clear()
        os.environ.update(environ)
        console.reset()


def test_lines_skip_rich_only_when_rich_adds_nothing(monkeypatch):
    from tsdtool import console

    class Tty(io.StringIO):
        def isatty(self):
            return True

    class Closed(io.StringIO):
        def isatty(self):
            raise ValueError("I/O operation on closed file")

    for name in ("TTY_COMPATIBLE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    assert console.surely_plain(io.StringIO()) and not console.surely_plain(Tty())
    assert not console.surely_plain(None) and not console.surely_plain(Closed())
    for name, value in (("TTY_COMPATIBLE", "1"), ("TTY_COMPATIBLE", "0"), ("FORCE_COLOR", ""), ("FORCE_COLOR", "1")):
        with monkeypatch.context() as env:
            env.setenv(name, value)
            assert not console.surely_plain(io.StringIO()), (name, value)  # Rich decides
    monkeypatch.setattr("builtins.get_ipython", lambda: None, raising=False)
    assert not console.surely_plain(io.StringIO())  # IPython or Jupyter: Rich decides


def test_a_piped_devices_table_and_pull_import_no_rich(fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    probe = """
        import sys
        from tsdtool.quick import main
        port, out = sys.argv[1], sys.argv[2]
        assert main(["-H", "127.0.0.1", "-P", port, "devices"]) == 0
        assert main(["-H", "127.0.0.1", "-P", port, "pull", "/sdcard/Download", "-o", out]) == 0
        print(sorted(m for m in sys.modules if m == "rich" or m.startswith("rich.")))
    """
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "FORCE_COLOR")}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(probe), str(server.port), str(tmp_path / "o")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Zebra Technologies" in proc.stdout and " written to " in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(_CHARS + [":+1:", ":thumbs_up:", ":smile-emoji:", "127.0.0.1:5037", ": "]),
                     max_size=10).map("".join))
@example(text="error: no adb server at 127.0.0.1:5037 (-H/-P); start it (adb start-server)")
def test_say_piped_is_what_rich_writes(text):
    from rich.console import Console

    from tsdtool import console

    screen = io.StringIO()
    Console(file=screen, highlight=False, soft_wrap=True, emoji=False).print(text, style="red", markup=False,
                                                                             highlight=False)
    with _piped("stderr") as written:
        console.say(text, style="red")
    assert written.getvalue() == screen.getvalue()


def test_an_error_without_a_server_imports_no_rich():
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "FORCE_COLOR")}
    probe = """
        import socket, sys
        from tsdtool.quick import main
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again: nothing listens there
        assert main(["-H", "127.0.0.1", "-P", str(port), "devices"]) == 5
        print(sorted(m for m in sys.modules if m == "rich" or m.startswith("rich.")))
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(probe)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("error: no adb server at 127.0.0.1:"), proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout


def test_a_piped_collect_result_is_whole_plain_lines_without_rich(tmp_path):
    """collect's closing lines, piped: written without Rich, and every value as it is (a reason
    or path that looks like markup or an emoji code is not read as one)."""
    probe = """
        import sys
        from pathlib import Path
        from types import SimpleNamespace
        from tsdtool import views
        from tsdtool.bundle import desks
        from tsdtool.bundle.manifest import BundleItem, Manifest, TicketState

        root = Path(sys.argv[1])
        bundle = root / "tsd-x [red]y-:smile:.zip"
        bundle.write_bytes(b"z" * 3000)
        cut = BundleItem("logcat.txt", "logcat", "logcat", "failed", "cut [bold]short[/]")
        manifest = Manifest("0", "", items=[cut, BundleItem("a.db", "database", "x")],
                            ticket=TicketState("generic", False, missing=["contact_email"]))
        desk = desks.get("generic", include_user_dir=False)
        result = SimpleNamespace(desk=desk, manifest=manifest, bundle=bundle, to="", notes=[],
                                 ticket_md=root / "t.md", ticket_eml=root / "t.eml")
        views.collect_result(result)
        print(sorted(m for m in sys.modules if m == "rich" or m.startswith("rich.")))
    """
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "FORCE_COLOR")}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(probe), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    quoted = shlex.quote(str(tmp_path / "tsd-x [red]y-:smile:.zip"))
    assert lines[0] == f"partial bundle: {quoted} (3 KB)"
    assert lines[1] == "  failed logcat.txt: cut [bold]short[/]"
    assert lines[2].startswith("ticket not ready for ") and lines[3].startswith("  • ")
    assert lines[-2] == f"ticket text: {shlex.quote(str(tmp_path / 't.md'))}" and lines[-1] == "[]"
