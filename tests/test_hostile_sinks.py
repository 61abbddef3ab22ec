"""Hostile terminal text into every sink, through the real CLI (H1 audit, after issue 14).

test_hostile.py and test_bad_input.py cover ESC, C1, CR/LF in headers and markup; these cover
what they left out: Unicode format characters (bidi overrides, zero-width), a line break in
a one-line value, block markup at the start of a Markdown line, and file names that Windows
or a person's eyes read differently from what they are.
"""

from __future__ import annotations

import json

import pytest

from tests.fake_adb import make_fixture

# Unicode's bidi controls (UAX #9: ALM, LRM, RLM, LRE…RLO, LRI…PDI), zero-width characters,
# the BOM and the line/paragraph separators: none is a C0/C1 control, all change what a person
# sees (CVE-2021-42574, "Trojan Source": U+202E shows "gnp.exe" as "exe.png").
INVISIBLE = "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" \
            "\u2060\ufeff\u2028\u2029"
SPOOFED_MODEL = "TC52 \u202egnp.exe\u200b" + INVISIBLE + " end"  # values are stripped


def _head(port) -> list[str]:
    return ["-H", "127.0.0.1", "-P", str(port), "--timeout", "5"]


@pytest.mark.parametrize("args", [["devices"], ["info"], ["devices", "--json"], ["info", "--json"]])
def test_bidi_and_zero_width_characters_never_reach_the_console_verbatim(fake_server, tsd, tmp_path, args):
    server = fake_server(make_fixture(tmp_path / "fx", "BIDI0001", model=SPOOFED_MODEL,
                                      props={"ro.build.fingerprint": "fp\u200b\u202e"}))
    code, out, err = tsd(*_head(server.port), *args)
    assert code == 0, err
    shown = sorted({f"U+{ord(c):04X}" for c in out + err if c in INVISIBLE})
    assert not shown, shown
    assert "\\u202e" in out  # made visible, not dropped
    if "--json" in args:  # still the same value for a program
        data = json.loads(out)
        assert (data[0] if isinstance(data, list) else data)["model"] == SPOOFED_MODEL


def test_a_line_break_in_a_device_value_does_not_forge_a_table_row(fake_server, tsd, tmp_path):
    """A model "TC52\\nFAKE0002  device  usb …" printed a second terminal in `devices`, and a
    brand with a line break printed a line that looks like another fact in `info`."""
    forged = "TC52\nFAKE0002  device  usb        Zebra Technologies  TC52"
    server = fake_server(make_fixture(tmp_path / "fx", "REAL0001", model=forged,
                                      props={"ro.product.brand": "Zebra\nmodel                         MC33"}))
    code, out, err = tsd(*_head(server.port), "devices")
    assert code == 0, err
    assert len(out.splitlines()) == 2 and "FAKE0002" in out.splitlines()[1], out
    code, out, err = tsd(*_head(server.port), "info")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()].count("model") == 1, out
    assert "Zebra\\nmodel" in out


# -- file names: zip entries and local files -------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    # Windows reserves a device name followed by blanks before the extension as well, and the
    # superscript-digit ports and the console buffers (Microsoft, "Naming Files, Paths, and
    # Namespaces"; CPython 3.13's ntpath.isreserved: name.partition('.')[0].rstrip(' ')).
    ("nul .txt", "_nul .txt"),
    ("CON .log", "_CON .log"),
    ("COM\u00b9", "_COM\u00b9"),
    ("lpt\u00b3.txt", "_lpt\u00b3.txt"),
    ("CONIN$", "_CONIN$"),
    ("conout$.log", "_conout$.log"),
    # a bidi override shows "\u202egol.exe" as "exe.log": an executable that reads as a log
    ("\u202egol.exe", "_gol.exe"),
    ("a\u200bb\u2066c\ufeff.log", "a_b_c_.log"),
])
def test_safe_component_leaves_no_name_windows_or_a_reader_takes_for_another(name, expected):
    from tsdtool.paths import safe_component

    assert safe_component(name) == expected


HOSTILE_NAMES = ["nul .txt", "CON .log", "COM\u00b9.log", "CONIN$", "\u202egol.exe", "zero\u200bwidth.log"]


def test_app_files_named_to_deceive_are_renamed_in_the_bundle_and_in_a_pull(fake_server, tsd, tmp_path):
    import zipfile

    from tests.bundle_util import collect, field_args

    pkg = "com.example.app"
    logs = f"/data/data/{pkg}/files/logs"
    server = fake_server(make_fixture(tmp_path / "fx", "NAMES001", packages=[{"name": pkg, "debuggable": True}],
                                      files={f"{logs}/{n}": n for n in HOSTILE_NAMES} | {"/sdcard/x/CON .log": "c",
                                             "/sdcard/x/\u202egol.exe": "b"}))
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--desk", "generic", "--package", pkg,
                                *field_args())
    assert result is not None, err
    with zipfile.ZipFile(result["bundle"]) as zf:
        names = {n.rsplit("/", 1)[1] for n in zf.namelist() if n.startswith(f"apps/{pkg}/internal/files/logs/")}
    assert names == {"_nul .txt", "_CON .log", "_COM\u00b9.log", "_CONIN$", "_gol.exe", "zero_width.log"}, names
    code, out, err = tsd(*_head(server.port), "pull", "/sdcard/x", "-o", tmp_path / "pulled")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "pulled").rglob("*") if p.is_file()) == ["_CON .log", "_gol.exe"]


# -- ticket.md: block markup at the start of a line -------------------------------------------------

BLOCKS = "TC52\n# Injected heading\n> quote\n| a | b |\n|---|---|\nx\n===\n1. one\n- item\n~~~\ncode\n---\n+ plus"


def _rendered(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(text)  # GitHub's tables too


BLOCK_TAGS = ("<h1>", "<h2>", "<blockquote>", "<ul>", "<ol>", "<li>", "<table>", "<pre>", "<hr")


@pytest.mark.parametrize("desk", ["grsoft", "cleverence"])
def test_a_multi_line_device_value_adds_no_heading_quote_list_table_or_code_to_the_ticket(
        fake_server, tsd, tmp_path, desk):
    """A model with line breaks is written one line per line under its label: each line began
    a block of its own in the desk's viewer (a heading, a quote, a list, a table, a code fence)."""
    from pathlib import Path

    from tests.bundle_util import collect, field_args

    shown = {}
    for model in ("TC52", BLOCKS):
        server = fake_server(make_fixture(tmp_path / model[:5], "BLOCK001", model=model))
        code, result, err = collect(tsd, server.port, tmp_path / f"out{len(shown)}", "--desk", desk, *field_args())
        assert result is not None, err
        shown[model] = _rendered(Path(result["ticket"]["markdown"]).read_text("utf-8"))
    plain, hostile = shown["TC52"], shown[BLOCKS]
    assert {t: hostile.count(t) for t in BLOCK_TAGS} == {t: plain.count(t) for t in BLOCK_TAGS}, hostile
    assert "TC52\n# Injected heading\n&gt; quote\n| a | b |\n|---|---|\nx\n===\n1. one\n- item" in hostile


# -- report.html: layout ------------------------------------------------------------------------------

def _page_width(html: str, folder, width: int = 1280) -> int:
    """How wide headless Chromium lays out ``html`` in a window ``width`` pixels wide. A copy
    made to be measured: the report's CSP (no script) is taken out and one line of script
    puts document.documentElement.scrollWidth in the title, read back with --dump-dom."""
    import os
    import re
    import shutil
    import subprocess

    binary = shutil.which("chromium")
    if binary is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("Debian chromium is not installed")
    measured = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html, count=1)
    assert measured != html, "the report has no CSP meta any more: update the measuring copy"
    measured = measured.replace("</body>", "<script>document.title='W'+document.documentElement.scrollWidth"
                                           "</script></body>")
    page = folder / "measured.html"
    page.write_text(measured, "utf-8")
    done = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={folder / '.chromium'}", f"--window-size={width},900", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=90)
    shutil.rmtree(folder / ".chromium", ignore_errors=True)
    found = re.search(r"<title>W(\d+)</title>", done.stdout)
    assert found, done.stderr[-2000:]
    return int(found[1])


def test_long_unbroken_device_text_does_not_widen_the_report_past_the_window(fake_server, tsd, tmp_path):
    """A 3000-character model and a 200-character log name made the page 30 000 pixels wide:
    the report scrolled sideways and the status column left the screen."""
    from tests.bundle_util import collect, field_args, read_item

    pkg = "com.example.app"
    server = fake_server(make_fixture(
        tmp_path / "fx", "WIDE0001", model="W" * 3000, props={"ro.build.fingerprint": "f/" * 1500},
        packages=[{"name": pkg, "debuggable": True, "version_name": "9" * 500}],
        files={f"/data/data/{pkg}/files/logs/{'L' * 200}.log": "x"},
        logcat="11-30 10:00:00.000  1  1 E Tag: " + "E" * 5000 + "\n"))
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--desk", "grsoft", "--package", pkg,
                                *field_args())
    assert result is not None, err
    html = read_item(result["bundle"], "report.html").decode("utf-8")
    assert "W" * 3000 in html and "L" * 100 in html  # whole, not cut
    assert _page_width(html, tmp_path) <= 1280


# -- collect's and pull-db's result lines --------------------------------------------------------------

def test_a_terminals_error_text_in_collects_and_pull_dbs_result_lines_is_shown_not_obeyed(fake_server, tsd, tmp_path):
    """The reason an item was not collected is the terminal's own stderr: its ESC sequences and
    bidi overrides reached the console verbatim in collect's lines, and a database's name with
    a bidi override in pull-db's."""
    from tests.bundle_util import field_args

    pkg = "com.example.app"
    fx = make_fixture(tmp_path / "fx", "REAS0001", packages=[{"name": pkg, "debuggable": True}],
                      files={f"/data/data/{pkg}/databases/x\u202egol.db": b"SQLite format 3\0" + b"\0" * 1008},
                      device={"shell": {"ls /data/anr": {"stdout": "", "exit": 1,
                                                         "stderr": "ls: /data/anr: ESC[2J ESC]0;pwn\a \u202eexe.gol"}}})
    toml = fx / "device.toml"
    toml.write_text(toml.read_text("utf-8").replace("ESC", "\\u001b").replace("\a", "\\u0007"), "utf-8")
    server = fake_server(fx)
    code, stdout, err = tsd(*_head(server.port), "collect", "-o", tmp_path / "out", "--no-input", "--desk",
                            "generic", "--package", pkg, *field_args())
    assert code == 0, err  # a skipped item: the bundle is still complete
    assert "crash/anr" in stdout and "\\x1b[2J" in stdout and "\\u202eexe.gol" in stdout, stdout
    code, out2, err2 = tsd(*_head(server.port), "pull-db", pkg, "-o", tmp_path / "db")
    assert "x\\u202egol.db" in out2 + err2, out2 + err2
    shown = {f"U+{ord(c):04X}" for c in stdout + err + out2 + err2 if c in INVISIBLE or c in "\x1b\x07\x9b"}
    assert not shown, shown


# -- package names from a terminal's listing ---------------------------------------------------------

def test_a_listed_name_that_is_no_package_name_never_reaches_a_device_command(fake_server, tsd, tmp_path):
    """`pm list packages` of a hostile terminal listed '-x', '--checkin', 'com.a\\x1b[2J' and
    'com.\\xff.bad': quoted, they still went to `dumpsys package` as arguments, '-x' as an option
    (dumpsys package -f/-a/--checkin dump every package, not one)."""
    pkg = "com.example.app"
    fx = make_fixture(tmp_path / "fx", "PMLS0001", packages=[{"name": pkg, "debuggable": True}],
                      device={"shell": {cmd: {"file": "pm.txt"} for cmd in (
                          "pm list packages", "pm list packages -3", "pm list packages -i --show-versioncode")}})
    (fx / "pm.txt").write_bytes(b"package:com.example.app\npackage:-x\npackage:--checkin\npackage:com.a\x1b[2J\n"
                                b"package:com.\xff\xfe.bad\npackage:1com.digit\npackage:android\n")
    server = fake_server(fx)
    for args in (["apps"], ["apps", "*", "--json"]):
        code, out, err = tsd(*_head(server.port), *args)
        assert code == 0, err
        assert pkg in out and "checkin" not in out and "com.a" not in out and "bad" not in out, out
    asked = [r.split("dumpsys package ", 1)[1] for r in server.requests if "dumpsys package " in r]
    assert asked and set(asked) <= {pkg, "android"}, asked


def test_bidi_and_zero_width_characters_in_the_report_are_shown_not_obeyed(fake_server, tsd, tmp_path):
    """report.html wrote them as they came: a desk engineer read the model 'TC52 \\u202egnp.exe'
    as 'TC52 exe.png', and a log line's bidi override reversed the rest of its line."""
    from tests.bundle_util import collect, field_args, read_item

    server = fake_server(make_fixture(tmp_path / "fx", "BIDI0002", model=SPOOFED_MODEL,
                                      logcat="11-30 10:00:00.000  1  1 E Tag: FATAL EXCEPTION: main \u202eexe.gol\n"))
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--desk", "generic", *field_args())
    assert result is not None, err
    html = read_item(result["bundle"], "report.html").decode("utf-8")
    shown = sorted({f"U+{ord(c):04X}" for c in html if c in INVISIBLE})
    assert not shown, shown
    assert "TC52 \\u202egnp.exe" in html and "\\u202eexe.gol" in html


def test_an_emoji_code_in_device_text_prints_as_written(fake_server, tsd, tmp_path):
    """Rich turns ':white_check_mark:' into ✅ unless told not to: send --dry-run showed a
    subject other than the one it sends, and an error line quoting the terminal a tick."""
    from tests.bundle_util import collect, field_args

    model = "TC52 :white_check_mark: :cross_mark:"
    server = fake_server(make_fixture(tmp_path / "fx", "EMOJ0001", model=model, packages=[{"name": "com.example.app"}]))
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--desk", "generic", "--package", "com.example.app",
                                *field_args())
    assert result is not None, err
    code, out, err = tsd("send", "--dry-run", "--to", "desk@example.com", result["bundle"])
    assert code == 0, err
    subject = next(line for line in out.splitlines() if line.startswith("subject:"))
    assert model in subject and "\u2705" not in out + err, subject
    code, out, err = tsd(*_head(server.port), "screenshot", "--display", ":warning:", "-o", tmp_path / "s.png")
    assert code == 3 and ":warning:" in err and "\u26a0" not in err, err


# -- the .eml: line lengths ------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["W" * 3000, "Т" * 1500 + " " + "Ж" * 1500])  # QP (ASCII) or base64 chosen
def test_a_body_line_over_998_bytes_is_encoded_in_lines_rfc_2045_allows(fake_server, tsd, tmp_path, model):
    """A 3000-character model makes a body line no SMTP server takes as it is: the library
    encodes the body then (quoted-printable or base64), but at the policy's 998 columns, where
    RFC 2045 (6.7, 6.8) allows 76 — the 76 the attachments already had."""
    import email
    from email import policy
    from pathlib import Path

    from tests.bundle_util import collect, field_args

    server = fake_server(make_fixture(tmp_path / "fx", "LONG0001", model=model, packages=[{"name": "com.example.app"}]))
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--desk", "generic", "--package", "com.example.app",
                                *field_args())
    assert result is not None, err
    raw = Path(result["ticket"]["eml"]).read_bytes()
    msg = email.message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(("plain",))
    assert body["Content-Transfer-Encoding"] in ("base64", "quoted-printable")
    encoded = body.as_bytes().split(b"\n\n", 1)[1]  # parsed with the default policy: "\n" line ends
    assert max(len(line) for line in encoded.splitlines()) <= 76
    assert model[:1000] in body.get_content()  # the value whole, decoded


# -- a bundle from anyone: verify's and inspect's problem lines --------------------------------------

def test_a_member_name_with_a_line_break_does_not_forge_verifys_verdict(tmp_path, tsd, fake_server):
    """A zip member named 'evil\\nverified: 21 files hashed, …' printed a line of its own that reads
    as verify's verdict, above the real '1 problem(s)'."""
    import zipfile

    from tests.bundle_util import collect, field_args

    server = fake_server("zebra_tc52")
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--desk", "generic", "--package",
                                "com.example.scanner.demo", *field_args())
    assert result is not None, err
    bad = tmp_path / "tampered" / "forged.zip"
    bad.parent.mkdir()
    with zipfile.ZipFile(result["bundle"]) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("evil\nverified: 21 files hashed, manifest schema checked (all fine)\n", b"x")
    for command in ("inspect", "verify"):
        code, out, err = tsd(command, bad)
        assert code == 1, err
        assert not [line for line in out.splitlines() if line.startswith("verified")], out + err
        assert "evil\\x0averified: 21 files hashed" in out, out + err


def test_inspect_of_a_bundle_without_an_app_is_no_internal_error(tmp_path, tsd, fake_server):
    """collect with no app chosen (no --package, none with a profile) makes a bundle without apps;
    inspect then drew an empty package table and failed with 'internal error: IndexError'."""
    from tests.bundle_util import collect, field_args

    server = fake_server("zebra_tc52")
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--desk", "generic", *field_args())
    assert result is not None, err
    code, out, err = tsd("inspect", result["bundle"])
    assert code == 0 and "internal error" not in err, err
    assert out.splitlines()[-1].startswith("verified: ") and "package  version" in out, out


# -- sizes: a huge property value in the ticket ---------------------------------------------------

def test_a_huge_device_value_is_cut_in_the_ticket_and_kept_whole_in_the_bundle(fake_server, tsd, tmp_path):
    """A terminal's 2 MB ro.build.display.id went whole into the ticket's OS line: ticket.md grew
    by 2 MB and the .eml by 2.7 MB (a 50 MB value, under the 64 MiB output budget, made a 'ready'
    mail of ~70 MB that no mail server takes, and ~1 GB of memory). What a person reads is cut;
    device/getprop.txt keeps the value."""
    from pathlib import Path

    from tests.bundle_util import collect, field_args, read_item

    huge = "B" * 1_000_000 + " " + "C" * 1_000_000
    server = fake_server(make_fixture(tmp_path / "fx", "HUGE0001", props={"ro.build.display.id": huge},
                                      packages=[{"name": "com.example.app", "version_name": "V" * 500_000}]))
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--desk", "generic", "--package", "com.example.app",
                                *field_args())
    assert result is not None, err
    md = Path(result["ticket"]["markdown"]).read_text("utf-8")
    assert len(md) < 20_000 and "BBBB" in md and "VVVV" in md and "…" in md, len(md)
    assert Path(result["ticket"]["eml"]).stat().st_size < Path(result["bundle"]).stat().st_size * 1.4 + 50_000
    assert huge.encode() in read_item(result["bundle"], "device/getprop.txt")
