"""What the command line says: --version, help texts, and the error wording people met."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import typer

from tsdtool import cli


def _commands(command=None, path=()):
    command = command or typer.main.get_command(cli.app)
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=lambda p: " ".join(p) or "tsdtool")
def test_help_has_no_stray_metavars_or_markup(tsd, path):
    code, out, err = tsd(*path, "--help")
    assert code == 0, err
    usage = out.splitlines()[0]
    assert usage.startswith("Usage: tsdtool"), out
    assert not re.search(r"\[\[|\]\]|\{|\}|\.\.\.\.\.\.|\]\.\.\.\.\.\.", usage), usage  # [[GLOB]], {package}
    assert not re.search(r"<(bool|str|int|float|path|list|int range|float range)", out), out
    assert not re.search(r"[\U0001F300-\U0001FAFF]", out), out  # Rich emoji codes such as :key:
    assert "╭" not in out  # plain text: copies and pipes cleanly


def test_profiles_check_help_reads_file_key_problem(tsd):
    _, out, _ = tsd("profiles", "check", "--help")
    assert "FILE:KEY: PROBLEM" in out and "Usage: tsdtool profiles check [OPTIONS] [PATH...]" in out


def test_collect_help_names_every_field_key_and_the_default_desk(tsd):
    from tsdtool.bundle import desks, fields

    _, out, _ = tsd("collect", "--help")
    for key in fields.CATALOG:
        assert re.search(rf"\b{key}\b", out), key
    assert f"{desks.DEFAULT} (the default)" in " ".join(out.split())


def test_version_names_tool_python_adbutils_and_the_server(tsd, fake_server):
    import platform
    from importlib.metadata import version

    import tsdtool

    srv = fake_server()
    code, out, err = tsd("-P", srv.port, "--version")
    assert (code, err) == (0, "")
    rows = {line.split("  ")[0]: line.split("  ", 1)[1].strip() for line in out.splitlines()}
    assert rows["tsdtool"] == tsdtool.__version__
    assert rows["Python"].startswith(platform.python_version())
    assert rows["adbutils"] == version("adbutils")
    assert rows["adb server"] == f"41 at 127.0.0.1:{srv.port}"
    port = srv.port
    srv.stop()
    code, out, err = tsd("-P", port, "--version")  # no server: still answers, starts none
    assert code == 0 and f"not reachable at 127.0.0.1:{port}" in out


def test_no_start_server_on_another_port_names_that_port(tsd):
    code, _, err = tsd("-P", "15999", "--no-start-server", "devices")
    assert code == 5 and "adb -P 15999 start-server" in err


def test_send_without_smtp_says_what_is_needed(tsd, tmp_path):
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(b"")
    code, _, err = tsd("send", bundle)
    assert code == 2 and "--smtp HOST:PORT" in err and "''" not in err


def test_pull_of_an_apps_private_folder_points_at_pull_db(fake_server, tsd, tmp_path):
    srv = fake_server("zebra_tc52")
    code, out, err = tsd("-P", srv.port, "pull", "/data/data/com.example.mobilesmarts", "-o", tmp_path / "o")
    assert code == 3, err
    assert "Permission denied" in err and "tsdtool pull-db com.example.mobilesmarts" in err


@pytest.mark.parametrize("args", [["profiles", "list"], ["profiles", "list", "--json"],
                                  ["profiles", "show", "--kind", "desk", "grsoft"], ["--help"]])
def test_piped_into_head_exits_0_quietly(tmp_path, args):
    """`tsdtool profiles list | head -1`: the reader went away; that is not an error (Rich and
    click both exit 1 on a broken pipe)."""
    proc = subprocess.Popen([sys.executable, "-m", "tsdtool", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.close()  # before the first write: every write meets a closed pipe
    err = proc.stderr.read().decode()
    assert (proc.wait(30), err) == (0, "")
