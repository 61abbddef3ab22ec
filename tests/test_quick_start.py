"""``devices``, ``pull``, ``pull-db`` and ``collect`` (``--all`` too) start without Typer
(tsdtool/quick.py): its parser must hand the command exactly what Typer would, and leave every
other spelling to Typer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tsdtool import cli, quick

REPO = Path(__file__).resolve().parent.parent

PLAIN = [
    ["devices"],
    ["devices", "--json"],
    ["-s", "TSD1", "devices"],
    ["-H", "10.0.0.2", "-P", "5040", "--timeout", "2.5", "-v", "--no-start-server", "--profiles-dir", "a",
     "--profiles-dir", "b b", "devices", "--json"],
    ["--serial", "S 1", "--adb-host", "h", "--adb-port", "1", "--verbose", "--timeout", "86400", "devices"],
    ["--timeout", "1e3", "-P", "65535", "devices"],
    ["--timeout", "0.1", "devices"],
    ["pull", "/sdcard/a"],
    ["pull", "/sdcard/a", "/sdcard/b c", "-o", "out dir"],
    ["-s", "X", "pull", "-o", "out", "/a"],
    ["pull", "/a", "--output", "o", "/b", "/Папка/файл"],
    ["pull-db", "com.example.app"],
    ["-s", "X", "pull-db", "-o", "out dir", "com.x.y", "--root"],
    ["pull-db", "--backup", "com.x.y", "--backup-wait", "1", "--output", "o"],
    ["pull-db", "com.x.y", "--backup-wait", "600", "--backup", "--root"],
    ["pull-db", "com.x.y", "--backup-wait", "2.5e1"],
    ["collect"],
    ["-s", "X", "--timeout", "5", "collect", "--no-input", "--package", "com.x.y", "-o", "out dir"],
    ["collect", "-s", "Y", "--json", "--app", "generic", "--desk", "grsoft", "--field", "description=Не сканирует",
     "--field", "contact_email=a@b.c", "--form", "f.toml", "--attach", "a", "--attach", "b c", "--since", "2h",
     "--output", "o", "--redact", "--no-db", "--root", "--backup", "--vendor-logs"],
    ["--profiles-dir", "p", "collect", "--package", "com.x.y", "--field", "steps=1; 2"],
    ["collect", "--all"], ["collect", "--all", "--jobs", "2"], ["collect", "--jobs", "32"],
    ["collect", "--jobs", "1", "--all", "--no-input", "--package", "com.x.y", "--json", "-o", "o"],
]

TYPERS = [  # help, versions, bad values and other spellings: Typer's own parser and wording
    [], ["-h"], ["--help"], ["--version"], ["devices", "-h"], ["pull", "--help"], ["devices", "--json", "--json"],
    ["devices", "extra"], ["-P", "0", "devices"], ["-P", "abc", "devices"], ["-P", "5037.0", "devices"],
    ["-P", "٥٠٣٧", "devices"], ["--timeout", "nan", "devices"], ["--timeout", "0.09", "devices"],
    ["--timeout", "inf", "devices"], ["pull"], ["pull", "relative"], ["pull", "/a", "-o"], ["pull", "/a", "--output=x"],
    ["pull", "-o", "x"], ["pull", "/a", "-o", "x", "-o", "y"], ["-vs", "X", "devices"],
    ["-s", "X", "-s", "Y", "devices"],
    ["pull", "/a", "--", "/b"], ["-s", "-x", "devices"], ["-s"], ["--serial=X", "devices"], ["info"],
    ["pull", "/a\nb"], ["--profiles-dir", "p", "apps"], ["devices", "-o", "x"],
    ["pull-db"], ["pull-db", "-h"], ["pull-db", "com.x.y", "--help"], ["pull-db", "x; touch /sdcard/pwned"],
    ["pull-db", "com"], ["pull-db", "com.x.y", "com.z.w"], ["pull-db", "com.x.y", "--root", "--root"],
    ["pull-db", "com.x.y", "-o", "a", "--output", "b"], ["pull-db", "com.x.y", "-o"],
    ["pull-db", "com.x.y", "--backup-wait", "0.5"], ["pull-db", "com.x.y", "--backup-wait", "601"],
    ["pull-db", "com.x.y", "--backup-wait", "nan"], ["pull-db", "com.x.y", "--backup-wait", "x"],
    ["pull-db", "com.x.y", "--backup-wait"], ["pull-db", "com.x.y", "--backup-wait=5"], ["pull-db", "--", "com.x.y"],
    ["pull-db", "com.x.y", "--su"],
    ["collect", "--help"], ["collect", "-h"], ["collect", "--all", "--jobs", "0"], ["collect", "--jobs", "33"],
    ["collect", "--jobs", "x"], ["collect", "--jobs", "-1"], ["collect", "--jobs", "٢"], ["collect", "--jobs"],
    ["collect", "--all", "--all"], ["collect", "--jobs", "2", "--jobs", "3"], ["collect", "--pc-root", "c"],
    ["collect", "--package"],
    ["collect", "--package=com.x.y"], ["collect", "--package", "com.x.y", "--package", "com.z.w"],
    ["collect", "--no-input", "--no-input"], ["collect", "--field", "--json"], ["collect", "extra"],
    ["collect", "--", "--json"], ["collect", "--buffers", "main"], ["collect", "-o", "a", "--output", "b"],
    ["collect", "-s", "X", "--serial", "Y"],
]


def _typers_view(monkeypatch, argv: list[str]) -> tuple[str, dict, dict]:
    """What Typer hands the command's body for ``argv``."""
    seen: list = []
    monkeypatch.setattr(quick, "devices", lambda settings, json=False: seen.append(
        ("devices", settings, {"json": json})))
    monkeypatch.setattr(quick, "pull", lambda settings, paths, output=None: seen.append(
        ("pull", settings, {"paths": paths, "output": output})))
    monkeypatch.setattr(quick, "pull_db", lambda settings, package, output, root, backup, backup_wait: seen.append(
        ("pull-db", settings, {"package": package, "output": output, "root": root, "backup": backup,
                               "backup_wait": backup_wait})))
    monkeypatch.setattr(quick, "collect", lambda settings, options, serial, no_input, json, all_, jobs: seen.append(
        ("collect", settings, {"options": options, "serial": serial, "no_input": no_input, "json": json,
                               "all_": all_, "jobs": jobs})))
    assert cli.main(argv) == 0
    [(command, settings, kwargs)] = seen
    return command, _fields(settings), kwargs


def _as_collect_gets_them(parsed: tuple[str, quick.Settings, dict]) -> tuple[str, quick.Settings, dict]:
    """quick.parse's collect values as quick.collect takes them (the options built, the
    defaults filled in), to compare with what Typer hands it."""
    command, settings, kwargs = parsed
    if command != "collect":
        return parsed
    own = {"serial": None, "no_input": False, "json": False, "all_": False, "jobs": 4}
    own.update((k, v) for k, v in kwargs.items() if k != "options")
    return command, settings, {"options": quick.collect_options(settings, **kwargs["options"]), **own}


def _fields(settings: quick.Settings) -> dict:
    return {k: v for k, v in settings.__dict__.items() if k != "_adb"}


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_the_quick_parser_gives_the_command_what_typer_gives(monkeypatch, argv):
    parsed = quick.parse(argv)
    assert parsed is not None
    command, settings, kwargs = _as_collect_gets_them(parsed)
    assert (command, _fields(settings), kwargs) == _typers_view(monkeypatch, argv)
    assert {k: type(v) for k, v in _fields(settings).items()} == {
        k: type(v) for k, v in _typers_view(monkeypatch, argv)[1].items()}


@pytest.mark.parametrize("argv", TYPERS, ids=" ".join)
def test_every_other_spelling_is_left_to_typer(argv):
    assert quick.parse(argv) is None


def test_a_bad_command_line_gets_typers_message_through_the_entry_point(capsys):
    assert quick.main(["-P", "70000", "devices"]) == 2
    assert "less than or equal to 65535" in capsys.readouterr().err
    assert quick.main(["pull", "sdcard/x"]) == 2
    assert "device paths are absolute" in capsys.readouterr().err
    assert quick.main(["pull-db", "x;reboot"]) == 2
    assert "is not an Android package name" in capsys.readouterr().err


def test_devices_pull_and_pull_db_start_without_typer_and_keep_the_boundary(fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    probe = """
        import sys
        from tsdtool.quick import main
        port, out = sys.argv[1], sys.argv[2]
        assert main(["-H", "127.0.0.1", "-P", port, "devices"]) == 0
        assert main(["-H", "127.0.0.1", "-P", port, "pull", "/sdcard/Download", "-o", out]) in (0, 3)
        assert main(["-H", "127.0.0.1", "-P", port, "-s", "NOPE", "pull", "/sdcard/x"]) == 4
        assert main(["-H", "127.0.0.1", "-P", port, "pull-db", "com.no.such.app", "-o", out + "-db"]) == 3
        print(sorted(m for m in ("typer", "click", "pydantic", "urllib3") if m in sys.modules))
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(probe), str(server.port), str(tmp_path / "out")],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout
    assert "TC52" in proc.stdout and "error: no terminal with serial 'NOPE'" in proc.stderr
    assert "error: com.no.such.app is not installed on" in proc.stderr


def test_adbutils_version_comes_from_its_folder_without_importlib_metadata():
    probe = """
        import sys
        import tsdtool.transport.adb
        import adbutils
        loaded = "importlib.metadata" in sys.modules or "email" in sys.modules
        from importlib.metadata import version
        print(loaded, adbutils.__version__ == version("adbutils"), adbutils.__version__)
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(probe)], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded, same, shown = proc.stdout.split()
    assert (loaded, same) == ("False", "True") and shown[0].isdigit()
