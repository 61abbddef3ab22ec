"""A lean start: commands that talk to a terminal import neither pydantic nor requests, the
parameters still parse as Typer documents them, and the program leaves without the
interpreter's teardown once its output is flushed (tsdtool/lean_typer.py, cli._exit_now).
Nothing here is timed: the start-up figures are in `python -m bench`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_devices_and_pull_import_no_pydantic_and_no_requests(fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    probe = """
        import sys
        from tsdtool.cli import main
        port, out = sys.argv[1], sys.argv[2]
        assert main(["-H", "127.0.0.1", "-P", port, "devices"]) == 0
        assert main(["-H", "127.0.0.1", "-P", port, "pull", "/sdcard/Download", "-o", out]) in (0, 3)
        print(sorted(m for m in ("pydantic", "requests.adapters", "urllib3", "rich.progress") if m in sys.modules))
    """
    proc = _python(probe, str(server.port), str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


def test_devices_imports_nothing_it_does_not_use(fake_server):
    """Deferred by the ADB seam (adbutils' device module with requests, PIL, retry and logging;
    zipfile, hashlib, importlib.resources), or imported
    where used (json for --json, idna for a non-ASCII host, the parsers of `info`'s runtime facts)."""
    server = fake_server("zebra_tc52")
    probe = """
        import sys
        from tsdtool.quick import main
        assert main(["-H", "127.0.0.1", "-P", sys.argv[1], "devices"]) == 0
        print(sorted(m for m in ("adbutils._device", "PIL", "requests", "retry", "logging", "zipfile", "hashlib",
                                 "importlib.resources", "platform", "deprecation", "packaging", "json",
                                 "encodings.idna", "tsdtool.parsers.df")
                     if m in sys.modules))
    """
    proc = _python(probe, str(server.port))
    assert proc.returncode == 0, proc.stderr
    assert "Zebra Technologies" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


def test_adbutils_screenshot_still_decodes_with_pil(fake_server, tmp_path):
    """tsdtool never asks adbutils for a PIL image, but deferring adbutils' device module must not
    break it: its first use loads the module with PIL, and a screenshot decodes as shipped."""
    from tests.fake_adb import make_fixture
    from tsdtool.parsers import png

    server = fake_server(make_fixture(tmp_path / "f", "SHOT1", screen=png.make(3, 2, (200, 10, 10))))
    probe = """
        import sys
        import tsdtool.transport.adb
        assert "PIL.Image" not in sys.modules
        import adbutils, adbutils.screenshot as shot
        image = adbutils.AdbClient("127.0.0.1", int(sys.argv[1])).device("SHOT1").screenshot(error_ok=False)
        import PIL.Image
        assert isinstance(image, PIL.Image.Image) and shot.Image.Image is PIL.Image.Image
        assert shot.Image.open is PIL.Image.open and shot.UnidentifiedImageError is PIL.UnidentifiedImageError
        print(image.size, image.getpixel((2, 1)))
    """
    proc = _python(probe, str(server.port))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["(3,", "2)", "(200,", "10,", "10)"]


def test_deferred_modules_are_real_for_everyone_else():
    proc = _python("""
        import sys, types
        from tsdtool.transport.adb import _OnFirstUse
        import adbutils._utils as utils
        assert isinstance(utils.zipfile, _OnFirstUse)  # else this test tests nothing
        assert not any(isinstance(m, _OnFirstUse) for m in list(sys.modules.values()))
        import zipfile, hashlib
        assert type(zipfile) is types.ModuleType and zipfile.ZipFile.__module__ == "zipfile"
        assert utils.zipfile.ZipFile is zipfile.ZipFile and utils.hashlib.md5 is hashlib.md5
        print(utils.importlib.resources.files("adbutils").name)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["adbutils"]


def test_adbutils_device_api_loads_whole_when_used(fake_server):
    """tsdtool never builds adbutils' AdbDevice (it opens its own streams), so adbutils._device
    and what it imports (requests, PIL, retry, logging) stand aside; a program that does use it
    gets the real classes, installer and all."""
    server = fake_server("zebra_tc52")
    proc = _python("""
        import sys
        import tsdtool.transport.adb
        deferred = ("adbutils._device", "requests", "urllib3", "PIL.Image", "retry", "logging")
        assert not [m for m in deferred if m in sys.modules], [m for m in deferred if m in sys.modules]
        import adbutils
        device = adbutils.AdbClient("127.0.0.1", int(sys.argv[1])).device("20TC52FX0001")
        import adbutils._device, adbutils.install
        assert type(device) is adbutils._device.AdbDevice and device.serial == "20TC52FX0001"
        assert isinstance(adbutils.AdbClient("127.0.0.1", int(sys.argv[1])).sync("20TC52FX0001"), adbutils._device.Sync)
        print(device.shell("echo ok"), adbutils.install.requests.exceptions.RequestException.__name__,
              [d.serial for d in adbutils.AdbClient("127.0.0.1", int(sys.argv[1])).device_list()])
    """, str(server.port))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", "RequestException", "['20TC52FX0001']"]


@pytest.mark.parametrize("args, message", [
    (("-P", "abc"), "valid integer"),
    (("-P", "70000"), "less than or equal to 65535"),
    (("--timeout", "0"), "greater than or equal to 0.1"),
    (("--timeout", "nan"), "finite number"),
    (("--timeout", "x"), "valid number"),
])
def test_bad_numbers_are_usage_errors_with_the_reason(tsd, args, message):
    code, _, err = tsd(*args, "devices")
    assert code == 2, err
    assert "Invalid value" in err and message in err, err


def test_values_reach_the_command_with_their_types(monkeypatch):
    from tsdtool import cli

    seen = {}

    def fake_collect(settings, options, *args):  # the command's body (tsdtool.quick.collect)
        seen.update(timeout=cli.settings.timeout, port=cli.settings.port, dirs=cli.settings.profile_dirs,
                    out=options.out_dir, fields=list(options.fields), attach=list(options.attach))
        raise cli.errors.UsageError("stop here")

    monkeypatch.setattr("tsdtool.quick.collect", fake_collect)
    code = cli.main(["-P", "5040", "--timeout", "2.5", "--profiles-dir", "p1", "--profiles-dir", "p2", "collect",
                     "--field", "a=b", "--field", "c=d", "--attach", "README.md", "-o", "out", "--no-input"])
    assert code == 2
    assert seen == {"timeout": 2.5, "port": 5040, "dirs": [Path("p1"), Path("p2")], "out": Path("out"),
                    "fields": ["a=b", "c=d"], "attach": [Path("README.md")]}
    assert type(seen["port"]) is int and type(seen["timeout"]) is float


def test_the_program_skips_teardown_but_runs_atexit_and_flushes():
    proc = _python("""
        import atexit, sys
        class Noisy:
            def __del__(self):
                sys.stdout.write("teardown\\n")
        keep = Noisy()
        atexit.register(lambda: sys.stdout.write("atexit ran\\n"))
        sys.argv = ["tsdtool", "--help"]
        from tsdtool.cli import main
        sys.stdout.write("before\\n")
        main()
        sys.stdout.write("not reached\\n")
    """)
    assert proc.returncode == 0, proc.stderr
    assert "before" in proc.stdout and "Usage" in proc.stdout and "atexit ran" in proc.stdout
    assert "teardown" not in proc.stdout and "not reached" not in proc.stdout


def test_with_another_thread_alive_the_normal_exit_is_kept():
    proc = _python("""
        import sys, threading
        from tsdtool.cli import main
        go = threading.Event()
        t = threading.Thread(target=go.wait)
        t.start()
        sys.argv = ["tsdtool", "--help"]
        code = main()
        go.set()
        print("returned", code)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "returned 0" in proc.stdout


def _every_command() -> list[str]:
    from tsdtool import cli

    return [c.name for c in cli.app.registered_commands] + [g.name for g in cli.app.registered_groups]


@pytest.mark.parametrize("tail", [["--help"], ["--no-such-option"], ["-h", "x"], ["--json", "-P"]], ids=" ".join)
def test_typer_builds_only_the_command_named_and_says_exactly_what_the_whole_tree_says(tail, capsys, monkeypatch):
    from tsdtool import cli

    built = []
    real = cli.typer.main.get_command
    monkeypatch.setattr(cli.typer.main, "get_command", lambda app: built.append(app) or real(app))
    names = _every_command()
    assert {"collect", "pull-db", "profiles", "repro"} <= set(names)
    for words in [[name] for name in names] + [["profiles", "list"], ["repro", "stop"]]:
        for head in ([], ["-s", "X", "-P", "5040", "-v"]):
            argv = [*head, *words, *tail]
            code = cli.main(argv)
            pruned = capsys.readouterr()
            assert len(built[-1].registered_commands) + len(built[-1].registered_groups) == 1, argv
            with monkeypatch.context() as whole:
                whole.setattr(cli, "_app_for", lambda argv: cli.app)
                assert cli.main(argv) == code, argv
            assert capsys.readouterr() == pruned, argv
            assert built[-1] is cli.app


@pytest.mark.parametrize("argv", [["--help"], ["--serial=X", "collect", "--help"], ["-vs", "X", "info"], ["colect"],
                                  ["-s", "collect", "devices", "--help"], []], ids=" ".join)
def test_the_whole_tree_when_the_command_is_not_certain(argv, capsys):
    from tsdtool import cli

    whole = cli._app_for(argv)
    assert whole is cli.app or argv[:2] == ["-s", "collect"]
    if argv[:2] == ["-s", "collect"]:  # -s takes "collect" as its value: the command is devices
        assert [c.name for c in whole.registered_commands] == ["devices"]


def test_the_seam_connects_as_adbutils_does(fake_server):
    """tsdtool's connection makes its socket itself (adbutils asks platform.system() on every
    connect): the same options as adbutils' own, and a refused connect is adbutils' error."""
    import socket

    import adbutils

    from tsdtool.transport import adb

    server = fake_server("zebra_tc52")
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE)]
    if sys.platform.startswith("linux"):
        options += [(socket.IPPROTO_TCP, o) for o in (socket.TCP_KEEPIDLE, socket.TCP_KEEPCNT, socket.TCP_KEEPINTVL)]
    made = []
    for kind in (adb._Connection, adbutils.AdbConnection):
        with kind("127.0.0.1", server.port) as connection:
            made.append([connection.conn.getsockopt(*o) for o in options] + [connection.conn.gettimeout()])
    assert made[0] == made[1] and made[0][0] == 1
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(adbutils.errors.AdbConnectionError, match="connect to adb server failed"):
        adb._Connection("127.0.0.1", closed)


@pytest.mark.parametrize("first", ["import tsdtool.transport.adb", "pass"], ids=["after tsdtool", "adbutils alone"])
def test_adbutils_deprecated_methods_warn_as_shipped(first, fake_server):
    """adbutils' deprecated client methods are decorated only when called once tsdtool is
    imported (the decorator imports packaging): they answer and warn as adbutils alone does."""
    server = fake_server("zebra_tc52")
    proc = _python(f"""
        import sys, warnings
        {first}
        import adbutils
        loaded = "packaging" in sys.modules
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            answer = adbutils.AdbClient("127.0.0.1", int(sys.argv[1])).shell("20TC52FX0001", "echo ok")
        print(loaded, answer, [(w.category.__name__, str(w.message)) for w in seen])
    """, str(server.port))
    assert proc.returncode == 0, proc.stderr
    loaded, rest = proc.stdout.split(" ", 1)
    assert loaded == ("False" if first != "pass" else "True")
    warned = "[('UnsupportedWarning', 'shell is unsupported as of 1.0.0. use AdbDevice.shell instead')]"
    assert rest.strip() == f"ok {warned}"
