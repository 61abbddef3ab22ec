"""Hostile input: every bad value gets one clear line on stderr and the documented exit code."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[-1]


@pytest.mark.parametrize("args", [("--timeout", "inf"), ("-P", "0"), ("-P", "70000"), ("-P", "-1")])
def test_out_of_range_global_option_is_a_usage_error(tsd, args):
    code, _, err = tsd(*args, "devices")
    assert code == 2, err
    assert "Invalid value" in one_error_line(err)


# --- bundles that are not what they claim -------------------------------------------------

def _bundle(tsd, fake_server, tmp_path) -> Path:
    server = fake_server("zebra_tc52")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "--timeout", "5", "collect", "--desk", "generic",
                       "--package", "com.example.scanner.demo", "--no-input", "-o", tmp_path / "out")
    assert code in (0, 3), err
    return next((tmp_path / "out").glob("*.zip"))


def _retyped(bundle: Path, target: Path, key: str, value) -> Path:
    """A copy of ``bundle`` whose manifest has ``value`` (of the wrong type) under ``key``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "manifest.json":
                manifest = json.loads(data)
                if key.startswith("items."):
                    for item in manifest["items"]:
                        item[key.removeprefix("items.")] = value
                else:
                    manifest[key] = value
                data = json.dumps(manifest).encode()
            dst.writestr(name, data)
    return target


@pytest.mark.parametrize("key,value", [("device", [1, 2]), ("apps", ["a"]), ("created_at", 5), ("form", [1]),
                                       ("options", []), ("profiles", "x"), ("items.size", "big"),
                                       ("items.path", 5)])
def test_a_manifest_with_wrong_types_is_refused_by_every_reader(tsd, fake_server, tmp_path, key, value):
    good = _bundle(tsd, fake_server, tmp_path)
    bad = _retyped(good, tmp_path / "tampered" / "bad.zip", key, value)
    for args in (["inspect", bad], ["report", "--no-open", "-o", tmp_path / "r.html", bad], ["diff", good, bad],
                 ["send", "--dry-run", "--to", "desk@example.com", bad]):
        code, _, err = tsd(*args)
        assert code == 2, (args, err)
        assert "is not a tsdtool manifest" in one_error_line(err), err
    code, out, err = tsd("verify", bad)  # verify lists it as a problem, exit 1
    assert code == 1 and "schema" in out + err, out + err


# --- -o: a file where a folder belongs, and a folder where a file belongs -------------------

@pytest.mark.parametrize("command", [["screenshot"], ["logs"], ["pull", "/sdcard/Download"],
                                     ["pull-db", "com.example.scanner.demo"],
                                     ["collect", "--desk", "generic", "--no-input"]])
def test_output_below_a_file_is_a_usage_error(tsd, fake_server, tmp_path, command):
    server = fake_server("zebra_tc52")
    (tmp_path / "afile").write_text("keep me")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, *command, "-o", tmp_path / "afile" / "x")
    assert code == 2, err
    assert "is not a folder" in one_error_line(err)
    assert (tmp_path / "afile").read_text() == "keep me"


@pytest.mark.parametrize("command", [["screenshot"], ["logs"], ["pull", "/sdcard/Download"],
                                     ["pull-db", "com.example.scanner.demo"],
                                     ["collect", "--desk", "generic", "--no-input"]])
@pytest.mark.parametrize("too_long", ["n" * 300, "/".join(["d" * 250] * 20)])
def test_an_output_path_too_long_for_the_disk_is_a_usage_error(tsd, fake_server, tmp_path, command, too_long):
    """A name over NAME_MAX (255 bytes) or a path over PATH_MAX: it was 'internal error: OSError:
    [Errno 36] File name too long: ' and the whole path, exit 1."""
    server = fake_server("zebra_tc52")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, *command, "-o", tmp_path / "o" / too_long)
    assert code == 2, err
    line = one_error_line(err)
    assert "too long" in line and len(line) < 300, line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", [["screenshot"], ["logs"]])
def test_a_folder_given_for_an_output_file_is_a_usage_error(tsd, fake_server, tmp_path, command):
    server = fake_server("zebra_tc52")
    (tmp_path / "adir").mkdir()
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, *command, "-o", tmp_path / "adir")
    assert code == 2, err
    assert "is a folder, not a file" in one_error_line(err)
    assert list((tmp_path / "adir").iterdir()) == []


def test_report_to_a_folder_or_below_a_file_is_a_usage_error(tsd, fake_server, tmp_path):
    bundle = _bundle(tsd, fake_server, tmp_path)
    (tmp_path / "afile").write_text("")
    cases = ((tmp_path / "out", "is a folder, not a file"), (tmp_path / "afile" / "r.html", "is not a folder"))
    for target, message in cases:
        code, _, err = tsd("report", "--no-open", "-o", target, bundle)
        assert code == 2, err
        assert message in one_error_line(err)


@pytest.mark.parametrize("package", ["com.x;reboot", "com x", "", "$(id)"])
def test_collect_refuses_a_bad_package_name_before_touching_the_terminal(tsd, fake_server, tmp_path, package):
    server = fake_server("zebra_tc52")
    before = len(server.requests)
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "--desk", "generic", "--no-input",
                       "--package", package, "-o", tmp_path / "out")
    assert code == 2, err
    assert "is not an Android package name" in one_error_line(err)
    assert len(server.requests) == before
    assert not (tmp_path / "out").exists()


def test_a_device_path_longer_than_adb_sync_allows_is_a_usage_error(tsd, fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "pull", "/sdcard/" + "a" * 2000, "-o", tmp_path / "p")
    assert code == 2, err
    line = one_error_line(err)
    assert "at most 1024 bytes" in line and len(line) < 200
    assert not (tmp_path / "p").exists()


# --- ticket fields and addresses that would break the e-mail headers ------------------------

def test_a_line_break_in_a_one_line_field_is_a_usage_error_before_collecting(tsd, fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    before = len(server.requests)
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "--desk", "grsoft", "--no-input",
                       "-o", tmp_path / "out", "--field", "contact_name=Ivan\nBcc: evil@example.com")
    assert code == 2, err
    assert "contact_name: must be one line" in one_error_line(err)
    assert len(server.requests) == before and not (tmp_path / "out").exists()
    form = tmp_path / "form.toml"
    form.write_text('contact_email = "a@example.com\\nBcc: evil@example.com"\n')
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "--desk", "grsoft", "--no-input",
                       "-o", tmp_path / "out", "--form", form)
    assert code == 2 and "contact_email: must be one line" in one_error_line(err), err


def test_a_multi_line_description_still_makes_a_one_line_subject(tsd, fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "--desk", "grsoft", "--no-input",
                       "-o", tmp_path / "out", "--field", "description=first\nBcc: evil@example.com")
    assert code in (0, 3), err
    eml = next((tmp_path / "out").glob("*.eml")).read_bytes()
    assert b"\r\nBcc:" not in eml


@pytest.mark.parametrize("to", ["a@example.com\nBcc: evil@example.com", "not an address"])
def test_send_refuses_a_to_that_is_not_one_address(tsd, fake_server, tmp_path, to):
    bundle = _bundle(tsd, fake_server, tmp_path)
    code, _, err = tsd("send", "--dry-run", "--to", to, "--field", "description=x", "--field", "contact_name=y",
                       "--field", "contact_email=y@example.com", bundle)
    assert code == 2, err
    assert "is not one e-mail address" in one_error_line(err)


def test_send_of_a_bundle_whose_manifest_holds_a_line_break_in_the_name(tsd, fake_server, tmp_path):
    bundle = _bundle(tsd, fake_server, tmp_path)
    bad = _retyped(bundle, tmp_path / "tampered" / "nl.zip", "form",
                   {"description": "x", "contact_name": "y\nBcc: evil@example.com", "contact_email": "y@example.com"})
    code, out, err = tsd("send", "--dry-run", "--to", "desk@example.com", bad)
    # The desk's field rules say one line: the ticket is not ready, and send says so in one line
    # (it used to fold the name and send; "ready" now means exactly what send accepts).
    assert code == 2, err
    assert "contact_name: must be one line" in one_error_line(err)
    assert "Traceback" not in err


# --- connect / disconnect --------------------------------------------------------------------

@pytest.mark.parametrize("command", ["connect", "disconnect"])
@pytest.mark.parametrize("address", ["", "a b", "host:abc", "host:99999", "[::1", "host:", "a\nb"])
def test_a_malformed_network_address_never_reaches_the_server(tsd, fake_server, command, address):
    server = fake_server("zebra_tc52", "urovo_dt50")
    before = len(server.requests)
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, command, address)
    assert code == 2, err
    assert "is not HOST[:PORT]" in one_error_line(err)
    assert len(server.requests) == before  # an empty disconnect would drop every network terminal
    assert "192.168.1.50:5555" in server.devices_text()


def test_disconnect_of_an_unknown_address_names_it(tsd, fake_server):
    server = fake_server("zebra_tc52")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "disconnect", "10.9.9.9")
    assert code == 4, err
    assert "10.9.9.9:5555" in one_error_line(err) and "None" not in err


# --- device text that tries to drive the user's terminal -------------------------------------

def test_ansi_escapes_and_markup_in_device_text_print_literally(tsd, fake_server, tmp_path):
    from tests.fake_adb import make_fixture

    fixture = make_fixture(tmp_path / "fx", "EVIL1", model="[bold red]TC52[/] \x1b[2J\x1b]0;pwned\x07")
    (fixture / "packages.toml").write_text(
        '[[package]]\nname = "com.evil.app"\nversion_name = "[b]1.0\\u001b[31m"\nversion_code = 1\n')
    server = fake_server(fixture)
    for args in (["devices"], ["info"], ["apps"]):
        code, out, err = tsd("-H", "127.0.0.1", "-P", server.port, *args)
        assert code == 0, err
        assert "\x1b" not in out and "\x07" not in out, out
    code, out, _ = tsd("-H", "127.0.0.1", "-P", server.port, "info")
    assert "[bold red]TC52[/]" in out and "\\x1b[2J" in out
    code, out, _ = tsd("-H", "127.0.0.1", "-P", server.port, "apps")
    assert "com.evil.app" in out and "[b]1.0" in out
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "screenshot", "--display", "x\x1b[2J")
    assert code == 3 and "\x1b" not in err and "\\x1b[2J" in one_error_line(err), err


def test_watch_refuses_an_output_below_a_file_before_waiting(tsd, fake_server, tmp_path, monkeypatch):
    monkeypatch.setattr("tsdtool.watch.default_events", lambda *a, **k: iter(()))  # no terminal ever comes
    server = fake_server("zebra_tc52")
    (tmp_path / "afile").write_text("")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "watch", "--info", "-o", tmp_path / "afile")
    assert code == 2, err
    assert "is not a folder" in one_error_line(err)


def test_watch_without_a_running_udev_falls_back_to_the_adb_device_list(monkeypatch, tmp_path):
    from tsdtool import usb, watch

    pytest.importorskip("pyudev")
    monkeypatch.setattr(usb, "UDEV_CONTROL", tmp_path / "no-udev" / "control", raising=False)
    notes = []

    class FakeAdb:
        def track_devices(self):
            return iter(())

    events = watch.default_events(FakeAdb(), {}, notes.append, system="Linux")
    assert any("udev is not running" in n and "adb device list" in n for n in notes), notes
    assert list(events) == []


def test_a_full_disk_found_when_a_small_file_is_flushed_is_an_output_error(tsd, fake_server, tmp_path, monkeypatch):
    import builtins
    import errno
    import io

    class FullOnClose(io.BufferedWriter):
        def close(self):  # a small file sits in the buffer until close(): that is when ENOSPC shows
            if not self.closed:
                super().close()
                raise OSError(errno.ENOSPC, "No space left on device")

    def full_open(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).endswith(".part"):
            return FullOnClose(io.FileIO(path, "w"))
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr("tsdtool.outdir.open", full_open, raising=False)
    server = fake_server("zebra_tc52")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "pull", "/proc/uptime", "-o", tmp_path / "p")
    assert code == 3, err
    assert "disk full" in one_error_line(err)


def test_a_full_disk_at_the_ticket_names_the_finished_bundle_and_leaves_no_debris(tsd, fake_server, tmp_path,
                                                                                 monkeypatch):
    """The zip is finished when the .eml hits the full disk: the error says where the bundle is, and
    neither a half-written ``.eml.part`` nor the staging folder (a second copy of everything, on a
    full disk) is left behind. Before: "…; what was collected is kept in out/.tsd-staging-…" with
    both left and the finished bundle not named."""
    import builtins
    import errno
    import io

    class FullAfter4K(io.FileIO):
        def write(self, data):
            if self.tell() + len(data) > 4096:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    def full_open(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).endswith(".ticket.eml.part"):
            return io.BufferedWriter(FullAfter4K(path, "w"))
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr("tsdtool.paths.open", full_open, raising=False)
    server = fake_server("zebra_tc52")
    out = tmp_path / "out"
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "--desk", "generic", "--no-input",
                       "--package", "com.example.scanner.demo", "-o", out)
    assert code == 3, err
    line = one_error_line(err)
    bundle = next(out.glob("*.zip"))
    assert ".ticket.eml" in line and "No space left" in line and bundle.name in line, line
    assert tsd("verify", bundle)[0] == 0
    assert sorted(p.name for p in out.iterdir() if p.name.endswith(".part") or p.name.startswith(".tsd-")) == []


@pytest.mark.parametrize("field", ["description=bad \udccf\udcf0\udce8", "contact_name=\udccf\udcf0"])
def test_a_field_in_another_encoding_than_the_console_s_is_a_usage_error(tsd, fake_server, tmp_path, field):
    """cp1251 bytes typed in a UTF-8 locale reach argv as lone surrogates (PEP 383): they ended in
    'internal error: UnicodeEncodeError: … surrogates not allowed' once the ticket was written, exit 1."""
    server = fake_server("zebra_tc52")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "--desk", "grsoft", "--no-input",
                       "--package", "com.example.scanner.demo", "-o", tmp_path / "out", "--field", field)
    assert code == 2, err
    line = one_error_line(err)
    assert f"--field {field.partition('=')[0]}" in line and "encoding" in line, line
    assert not (tmp_path / "out").exists()


def test_a_form_that_never_ends_is_a_usage_error(tmp_path):
    """``--form /dev/zero`` (or any huge file) was read whole: killed by the kernel, or under a
    memory limit 'internal error: MemoryError'. A form file is read up to 1 MiB."""
    import resource
    import subprocess
    import sys

    def limit():  # the child's memory, so that reading without end fails instead of filling the host
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))

    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "tsdtool", "-P", "1", "--no-start-server", "collect", "--desk",
                           "generic", "--no-input", "--form", "/dev/zero", "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit, cwd=tmp_path,
                          env={**__import__("os").environ, "PYTHONPATH": str(repo)})
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc.stderr)
    assert "--form /dev/zero" in line and "over 1 MiB" in line, line


@pytest.mark.parametrize("sink, command", [("/dev/full", ["info", "--json"]), ("limited", ["info", "--json"]),
                                           ("/dev/full", ["doctor"])])  # doctor's lines go through Rich
def test_output_redirected_to_a_full_disk_is_an_output_error(fake_server, tmp_path, sink, command):
    """`tsdtool info --json > info.json` on a full disk: /dev/full ended in 'internal error: OSError:
    [Errno 28] No space left on device', exit 1; and where the disk takes part of a write (a file
    size limit, here RLIMIT_FSIZE of 1 KiB), the JSON was cut at 1024 bytes with exit 0 and no word
    (CPython's text layer drops what a short write leaves)."""
    import os
    import resource
    import subprocess
    import sys

    server = fake_server("zebra_tc52")
    target = "/dev/full" if sink == "/dev/full" else tmp_path / "info.json"

    def limit():
        if sink == "limited":
            resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    repo = Path(__file__).resolve().parent.parent
    with open(target, "w") as out:
        proc = subprocess.run([sys.executable, "-m", "tsdtool", "-H", "127.0.0.1", "-P", str(server.port), *command],
                              stdout=out, stderr=subprocess.PIPE, text=True, timeout=60,
                              preexec_fn=limit, env={**os.environ, "PYTHONPATH": str(repo)})
    assert proc.returncode == 3, proc.stderr
    line = one_error_line(proc.stderr)
    assert "cannot write the output" in line and ("No space left" in line or "File too large" in line), line
