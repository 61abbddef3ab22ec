"""The seam's contract as the app-data code uses it: one argument stays one argument.

A hostile package name, path or file name (``;``, ``$(…)``, backticks, newlines, quotes)
reaches the terminal's shell quoted, so it can never start a second command. The fake
terminal journals every attempt to change the device, and the server logs every request.
"""

from __future__ import annotations

import io

import pytest

from tests.appdata_helpers import terminals
from tsdtool import errors
from tsdtool.apps.access import Root, RunAs

# Options (-n) are a different risk: the paths tsdtool passes are absolute or start with ./
HOSTILE = ["x; touch /sdcard/pwned", "$(reboot)", "`reboot`", "a\nreboot", "it's", '"q"', "&& reboot",
           "| sh -c id",
           "$HOME", "*", "> /sdcard/pwned"]
PKG = "com.acme.scan"


@pytest.fixture
def fake_terminal(tmp_path):
    yield from terminals(tmp_path)


@pytest.fixture
def fake(fake_terminal):
    names = ("x; touch pwned", "$(reboot)", "`id`", "it's")
    files = {f"/data/data/{PKG}/files/{name}": name for name in names}
    return fake_terminal(packages=[{"name": PKG, "debuggable": True}], files=files, device={"rooted": True})


@pytest.mark.parametrize("arg", HOSTILE)
def test_a_hostile_argument_is_one_argument(fake, arg):
    device = fake.device()
    result = device.shell(["echo", arg])
    assert result.ok and result.stdout == arg.encode() + b"\n"  # printed, not run
    listing = device.shell(["ls", arg])
    assert listing.exit_code == 1 and listing.stderr == f"ls: {arg}: No such file or directory\n".encode()
    assert fake.terminal.journal == []  # no redirection, no reboot, nothing written
    assert fake.spy.commands[-1] == "ls " + ("'" + arg.replace("'", "'\"'\"'") + "'")


def test_stream_shell_keeps_stderr_out_of_the_data(fake):
    device = fake.device()
    sink = io.BytesIO()
    result = device.stream_shell(["cat", f"/data/data/{PKG}/files/it's"], sink)
    assert result.exit_code == 1 and b"Permission denied" in result.stderr and sink.getvalue() == b""
    result = device.stream_shell(["echo", "$(reboot)"], sink)
    assert result.ok and sink.getvalue() == b"$(reboot)\n" and result.stderr == b""


@pytest.mark.parametrize("name", ["x; touch pwned", "$(reboot)", "`id`", "it's"])
def test_run_as_passes_hostile_file_names_whole(fake, name):
    way = RunAs(fake.device(), PKG)
    sink = io.BytesIO()
    way.copy(f"/data/data/{PKG}/files/{name}", sink)
    assert sink.getvalue() == name.encode()
    assert way.head(f"/data/data/{PKG}/files/{name}", 4) == name.encode()[:4]
    assert fake.terminal.journal == []


@pytest.mark.parametrize("form", ["0", "-c"])
def test_su_scripts_are_quoted_twice(fake, form):
    way = Root(fake.device(), PKG)
    way._form = form  # both su dialects: AOSP `su 0 sh -c …` and Magisk `su -c …`
    for arg in HOSTILE:
        result = way.run(["echo", arg])
        assert result.stdout == arg.encode() + b"\n", (form, arg)
    assert fake.terminal.journal == []


def test_a_hostile_package_never_reaches_run_as(fake, tsd):
    code, _, _ = tsd(*fake.args, "pull-db", "com.x;reboot")
    assert code == 2 and fake.spy.count("run-as") == 0


def test_stream_shell_reports_a_dropped_connection(fake_terminal):
    fake = fake_terminal(files={"/sdcard/big.bin": b"x" * 300_000}, faults={"drop_after_bytes": 100_000})
    with pytest.raises(errors.TransferError, match="lost"):
        fake.device().stream_shell(["cat", "/sdcard/big.bin"], io.BytesIO())


def test_stream_shell_without_shell_v2_streams_through_exec(fake_terminal):
    fake = fake_terminal(sdk=22, files={"/sdcard/a.txt": "abc"})
    sink = io.BytesIO()
    result = fake.device().stream_shell(["cat", "/sdcard/a.txt"], sink)
    assert sink.getvalue() == b"abc" and result.exit_code == 0
    assert fake.server.requests[-1] == "exec:cat /sdcard/a.txt"


def test_a_name_that_is_not_utf8_goes_back_as_the_same_bytes():
    """Listings decode device names with surrogateescape; a command naming one must carry the
    original bytes, not fail to encode (adbutils encodes strictly)."""
    import socket

    from tsdtool.transport.adb import _Connection

    with socket.create_server(("127.0.0.1", 0)) as listener:
        conn = _Connection("127.0.0.1", listener.getsockname()[1])
        peer, _ = listener.accept()
        with peer:
            conn.send_command("shell:cat '/sdcard/bad\udcfe.txt'")
            conn.close()
            received = b""
            while chunk := peer.recv(4096):
                received += chunk
    assert received == b"001cshell:cat '/sdcard/bad\xfe.txt'"


def test_pull_keeps_a_non_utf8_name_contained(fake_terminal, tmp_path):
    import os

    from tsdtool.collectors.files import pull_paths
    from tsdtool.outdir import OutputDir

    fake = fake_terminal(files={"/sdcard/x/ok.txt": "ok"})
    folder = os.fsencode(fake.terminal.fixture / "fs/sdcard/x")
    with open(os.path.join(folder, b"bad\xfe.txt"), "wb") as fh:
        fh.write(b"raw")
    out = OutputDir(tmp_path / "out")
    result = pull_paths(fake.device(), ["/sdcard/x"], out)
    assert result.files == 2 and result.failed == 0
    # the manifest is UTF-8 JSON: the raw byte is spelled \xfe in the item's source
    bad = next(i for i in out.items if i.source.endswith("bad\\xfe.txt"))
    assert (tmp_path / "out" / bad.path).read_bytes() == b"raw"
    assert "\udcfe" not in bad.path  # a valid local name (readable prefix + hash of the raw name)


@pytest.mark.parametrize("sdk", [30, 22])  # shell v2 (stderr apart), and v1 (one stream)
def test_a_batch_gives_each_command_what_it_gives_alone(fake_terminal, sdk):
    files = {"/sdcard/a.txt": "no newline at the end", "/sdcard/b.txt": "line\n", "/sdcard/it's.txt": "q"}
    device = fake_terminal(sdk=sdk, files=files).device()
    commands = [["cat", "/sdcard/a.txt"], ["cat", "/sdcard/missing"], ["cat", "/sdcard/b.txt"], ["getprop"],
                ["cat", "/sdcard/it's.txt"], ["ls", "/sdcard/$(reboot)"], ["true"]]
    batch = device.shell_batch(commands)
    alone = [device.shell(args) for args in commands]
    assert [(r.exit_code, r.stdout, r.stderr) for r in batch] == [(r.exit_code, r.stdout, r.stderr) for r in alone]
    assert batch[0].stdout == b"no newline at the end" and batch[1].exit_code != 0 and batch[6].exit_code == 0
    assert (b"No such file" in batch[1].stderr) == (sdk == 30)  # v1 has no stderr of its own


def test_prefetched_facts_are_those_read_one_by_one_and_a_failed_batch_asks_one_by_one(fake_terminal):
    from tsdtool.devices import facts

    fake = fake_terminal()
    device = fake.device()
    start = len(fake.server.requests)
    alone = facts.read(device)
    middle = len(fake.server.requests)
    batched = facts.read(facts.Prefetched(device))
    for info in (alone, batched):
        info.pop("uptime_s", None)
    assert batched == alone
    assert len(fake.server.requests) - middle <= (middle - start) - len(facts.QUERIES) + 2  # one for the fixed ones

    class Refusing:
        serial, entry = device.serial, device.entry

        def shell_batch(self, commands):
            raise errors.TransferError("lost")

        def shell(self, args, **kw):
            return device.shell(args, **kw)

    again = facts.read(facts.Prefetched(Refusing()))
    again.pop("uptime_s", None)
    assert again == alone
