"""`tsdtool collect` against the fake adb server: every fixture, every failure path."""

from __future__ import annotations

import contextlib
import email
import io
import json
import os
import re
import signal
import tomllib
import zipfile
from email import policy
from pathlib import Path

import pytest

from tests.bundle_util import (
    FULL_FIELDS,
    assert_verifies,
    chromium_screenshot,
    collect,
    every_bundle_verifies,  # noqa: F401 - autouse: every bundle must verify
    field_args,
    manifest_of,
    png_rows,
    read_item,
    region_colours,
)
from tests.conftest import FIXTURES
from tsdtool.bundle import desks, ticket
from tsdtool.bundle.manifest import Manifest

NAME = re.compile(r"^tsd-[^-/\\]+-[^-/\\]+-[^-/\\]+-\d{8}T\d{6}Z\.zip$")


def _fixture(path: Path) -> dict:
    device = tomllib.loads((path / "device.toml").read_text("utf-8"))
    packages_file = path / "packages.toml"
    packages = (
        tomllib.loads(packages_file.read_text("utf-8")).get("package", []) if packages_file.is_file() else []
    )
    return {
        "dir": path,
        "serial": device["serial"],
        "state": device.get("state", "device"),
        "packages": packages,
    }


ALL = [_fixture(p) for p in sorted(FIXTURES.iterdir()) if (p / "device.toml").is_file()]
USABLE = [f for f in ALL if f["state"] == "device"]


def plan(fixture: dict, index: int) -> tuple[str, list[str]]:
    """Which desk and arguments a fixture is collected with, so every desk meets several fixtures.

    grsoft needs the terminal's database: only a debuggable app that has one gives it without root.
    Without any app nothing can state the app's version (``--field app_version`` is refused: it
    comes from the terminal), so those tickets stay not ready for that one field.
    """
    with_db = next(
        (
            p["name"]
            for p in fixture["packages"]
            if p.get("debuggable")
            and any((fixture["dir"] / "fs/data/data" / p["name"] / "databases").glob("*.db"))
        ),
        None,
    )
    if with_db:
        return "grsoft", ["--package", with_db]
    desk = ("cleverence", "generic")[index % 2]
    if fixture["packages"]:
        return desk, ["--package", fixture["packages"][0]["name"]]
    return desk, []


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Collect every usable fixture once, through the CLI, with every human field given."""
    from tests.fake_adb import FakeAdbServer
    from tsdtool.cli import main

    out = tmp_path_factory.mktemp("fleet")
    results = {}
    with FakeAdbServer([f["dir"] for f in USABLE]) as server:
        for index, fixture in enumerate(USABLE):
            desk, extra = plan(fixture, index)
            args = [
                "-H",
                "127.0.0.1",
                "-P",
                str(server.port),
                "-s",
                fixture["serial"],
                "collect",
                "-o",
                str(out / fixture["dir"].name),
                "--no-input",
                "--json",
                "--desk",
                desk,
                *field_args(),
                *extra,
            ]
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                code = main(args)
            results[fixture["dir"].name] = (code, json.loads(buffer.getvalue()), desk)
    return out, results


@pytest.mark.parametrize("name", [f["dir"].name for f in USABLE])
def test_every_fixture_gives_a_verified_bundle_and_a_ready_ticket(fleet, name):
    _, results = fleet
    code, result, desk_id = results[name]
    bundle = Path(result["bundle"])
    fixture = next(f for f in USABLE if f["dir"].name == name)
    without_app = not fixture["packages"]
    release = not without_app and not fixture["packages"][0].get("debuggable") and desk_id != "grsoft"
    failed = [i for i in result["items"] if i["status"] == "failed"]
    if without_app:  # the app's version can only come from the terminal
        assert code == 3 and result["status"] == "complete", result
        assert result["ticket"]["ready"] is False and result["ticket"]["missing"] == ["app_version"]
    elif release:  # a release build's private folder cannot be read: a failure, with its reason
        package = fixture["packages"][0]["name"]
        assert code == 3 and result["status"] == "partial", result
        assert [i["path"] for i in failed] == [f"apps/{package}/databases"]
        assert failed[0]["reason"].startswith("not readable: run-as: ") and "debuggable" in failed[0]["reason"]
        assert result["ticket"]["ready"] and result["ticket"]["missing"] == []
    else:
        assert failed == []
        assert code == 0, result
        assert result["status"] == "complete" and result["ticket"]["ready"] and result["ticket"]["missing"] == []
    assert NAME.match(bundle.name) and bundle.parent.name == name
    assert_verifies(bundle)
    manifest = Manifest.from_dict(manifest_of(bundle))
    assert manifest.profiles["desk"] == desk_id and manifest.host["adb_server_version"]
    desk = desks.get(desk_id)
    from tsdtool.texts import texts

    filled = ticket.values(manifest, texts(desk.language))  # the values as the desk reads them
    md = Path(result["ticket"]["markdown"]).read_text("utf-8")
    eml = email.message_from_bytes(Path(result["ticket"]["eml"]).read_bytes(), policy=policy.default)
    body = eml.get_body(("plain",)).get_content()
    for requirement in desk.required:
        key = next((k for k in requirement.split("|") if filled.get(k)), None)
        if key is None:
            assert without_app and requirement == "app_version"
            continue
        for text in (md, body):
            assert f"**{desk.label(key)}**" in text, (requirement, text)
            assert filled[key].splitlines()[0] in text, (requirement, filled[key])
    assert eml["Subject"] == ticket.subject(desk, manifest)
    if desk.to:
        assert eml["To"] == desk.to
    [attachment] = list(eml.iter_attachments())
    assert attachment.get_content() == bundle.read_bytes()


def test_every_fixture_report_renders_in_chromium(fleet, tmp_path):
    """One browser run: every report in a grid of iframes, each cell checked for content."""
    _, results = fleet
    names = sorted(results)
    cols, cell_w, cell_h, scale = 4, 1280, 1600, 0.25
    frames = []
    for i, name in enumerate(names):
        page = tmp_path / f"{name}.html"
        page.write_bytes(read_item(Path(results[name][1]["bundle"]), "report.html"))
        frames.append(
            f'<div style="position:absolute;left:{(i % cols) * cell_w * scale}px;'
            f'top:{(i // cols) * cell_h * scale}px;'
            f'width:{cell_w}px;height:{cell_h}px;transform:scale({scale});transform-origin:0 0">'
            f'<iframe src="{page.name}" style="width:{cell_w}px;height:{cell_h}px;border:0"></iframe></div>'
        )
    grid = tmp_path / "grid.html"
    grid.write_text("<!DOCTYPE html><body style='margin:0;background:#fff'>" + "".join(frames) + "</body>")
    rows_needed = -(-len(names) // cols)
    width, height = int(cols * cell_w * scale), int(rows_needed * cell_h * scale)
    w, h, bpp, rows = png_rows(chromium_screenshot(grid, tmp_path / "grid.png", width, height))
    assert (w, h) == (width, height)
    cw, ch = int(cell_w * scale), int(cell_h * scale)
    for i, name in enumerate(names):
        x0, y0 = (i % cols) * cw, (i // cols) * ch
        colours = region_colours(rows, bpp, x0, y0, x0 + cw, y0 + ch)
        assert len(colours) > 40, f"{name}: the report rendered blank"
        header = rows[y0 + 4][(x0 + 4) * bpp : (x0 + 4) * bpp + 3]
        assert max(header) < 60, f"{name}: no dark header band at the top ({header.hex()})"


def test_missing_required_fields_still_write_the_bundle_and_list_them(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    code, result, _ = collect(
        tsd, server.port, tmp_path / "out", "--desk", "grsoft", "--field", "description=Receiving freezes"
    )
    assert code == 3 and Path(result["bundle"]).is_file()
    assert result["status"] == "complete" and result["ticket"]["ready"] is False
    assert {
        "project",
        "contact_name",
        "contact_email",
        "steps",
        "impact",
        "affected_users",
        "database",
    } <= set(result["ticket"]["missing"])
    md = Path(result["ticket"]["markdown"]).read_text("utf-8")
    assert md.splitlines()[2].startswith("> **НЕ ГОТОВО")
    code, out, _ = tsd(
        "-P",
        server.port,
        "-H",
        "127.0.0.1",
        "collect",
        "-o",
        tmp_path / "out2",
        "--no-input",
        "--desk",
        "grsoft",
    )
    assert code == 3 and "обращение в GRSoft не готово — не хватает:" in out and "--field project=" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--field", "no equals sign"], "is not KEY=VALUE"),
        (["--field", "Bad-Key=x"], "is not KEY=VALUE"),
        (["--form", "missing.toml"], "cannot read"),
        (["--desk", "nobody"], "no desk profile 'nobody'"),
        (["--app", "nobody"], "no app profile 'nobody'"),
        (["--app", "cleverence", "--package", "com.x.y"], "exclude each other"),
        (["--since", "yesterday-ish"], "--since"),
        (["--attach", "no/such/folder"], "no such file or folder"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_is_written(fake_server, tsd, tmp_path, args, message):
    server = fake_server("zebra_tc52")
    code, out, err = tsd(
        "-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "out", "--no-input", *args
    )
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    assert server.terminal("20TC52FX0001")._services == 0  # checked before the terminal was touched


def test_a_broken_form_file_names_the_spot(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    form = tmp_path / "form.toml"
    form.write_text('description = "ok"\nsteps = \n')
    code, _, err = tsd(
        "-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "out", "--form", form
    )
    assert code == 2 and "form.toml" in err and "line 2" in err
    assert not (tmp_path / "out").exists()


def test_nothing_could_start_gives_4_or_5(fake_server, tsd, tmp_path):
    server = fake_server("unauthorized")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "out", "--no-input")
    assert code == 4 and "unauthorized" in err
    port = server.port
    server.__exit__(None, None, None)
    code, _, err = tsd("-H", "127.0.0.1", "-P", port, "collect", "-o", tmp_path / "out", "--no-input")
    assert code == 5
    assert not (tmp_path / "out").exists()


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_a_cable_pulled_mid_collect_leaves_a_valid_partial_bundle(fake_server, tsd, tmp_path):
    from tests.fake_adb import make_fixture

    # random text: deflated on the terminal it still crosses the 100 kB where the cable is pulled
    log = "".join(
        f"05-14 09:12:{i % 60:02d}.131  4711  4711 I Scan: label {i} {os.urandom(40).hex()}\n" for i in range(3000)
    )
    fixture = make_fixture(
        tmp_path / "fx",
        "DROP0001",
        logcat=log,
        faults={"drop_after_bytes": 100_000},
        packages=[{"name": "com.example.app", "debuggable": True}],
    )
    server = fake_server(fixture)
    before = _all_files(tmp_path)
    out = tmp_path / "out"
    code, result, _ = collect(tsd, server.port, out, "--package", "com.example.app", *field_args())
    assert code == 3 and result["status"] == "partial"
    bundle = Path(result["bundle"])
    assert bundle.parent == out and bundle.is_file()
    logcat = next(i for i in result["items"] if i["path"].startswith("logcat.txt"))
    assert logcat["status"] == "failed" and "lost" in logcat["reason"]
    kept = read_item(bundle, logcat["path"])
    dump = ("--------- beginning of main\n" + log).encode()  # logcat -d heads each buffer
    assert 0 < len(kept) < len(dump) and dump.startswith(kept)  # what arrived is kept, marked failed
    assert "logs" in result["ticket"]["missing"]  # a cut log does not count as the logs a desk asked for
    new = _all_files(tmp_path) - before
    assert all(out in p.parents for p in new), sorted(new)  # nothing outside -o
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [bundle.name, bundle.name[:-4] + ".ticket.md", bundle.name[:-4] + ".ticket.eml"]
    )  # no staging, no .part


def test_ctrl_c_mid_collect_still_writes_a_partial_bundle(fake_server, tsd, tmp_path, monkeypatch):
    import threading
    import time

    from tsdtool.collectors.logs import AppFilesCollector
    from tsdtool.transport.adb import Device

    real = Device.stream_shell
    pressed = threading.Event()

    def pressed_during_logcat(self, args, sink, progress=None, **kw):
        class Sink:  # Ctrl-C arrives after the first bytes of the log
            def write(self, data):
                sink.write(data[:100])
                pressed.set()
                raise KeyboardInterrupt

        return real(self, args, Sink(), progress, **kw)

    def app_files_until_the_ctrl_c_reaches_its_lane(self, ctx):
        # The app's files run in a lane beside the log: held here until the Ctrl-C stops every
        # lane at its next chunk, so the app facts after them in that lane are not tried.
        assert pressed.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ctx.progress.advance(0)  # raises KeyboardInterrupt once the lanes are cancelled
            time.sleep(0.01)

    monkeypatch.setattr(Device, "stream_shell", pressed_during_logcat)
    monkeypatch.setattr(AppFilesCollector, "collect", app_files_until_the_ctrl_c_reaches_its_lane)
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--package", "com.example.scanner.demo",
                              *field_args())
    assert code == 3 and result["status"] == "partial", result
    manifest = manifest_of(Path(result["bundle"]))
    assert manifest["interrupted"] is True
    by_path = {i["path"]: i for i in manifest["items"]}
    cut = by_path["logcat.txt.part"]
    assert cut["reason"] == "interrupted (Ctrl-C)" and cut["size"] > 0  # the text of the bytes that arrived
    log = (FIXTURES / "zebra_tc52" / "logcat.txt").read_bytes()
    assert log.startswith(read_item(Path(result["bundle"]), "logcat.txt.part")) and cut["size"] < len(log)
    assert by_path["screenshot.png"]["status"] == "ok"  # what came before is kept
    later = [i for i in manifest["items"] if i["reason"] == "interrupted before this item"]
    assert {i["kind"] for i in later} >= {"app_facts"}  # what came after in a lane is named, not tried
    # stopped at its next chunk, or not begun when the Ctrl-C reached its lane
    assert by_path["app_files"]["reason"] in ("interrupted (Ctrl-C)", "interrupted before this item")
    # the database ran beside the log on its own stream: stopped at its next chunk, or done
    database = [i for i in manifest["items"] if i["kind"] == "database" and not i["path"].endswith("databases.json")]
    assert database and all(i["status"] == "ok" or i["reason"].startswith("interrupted") for i in database)
    assert manifest["items"].index(cut) < manifest["items"].index(database[0])  # listed in collect's order


def test_ctrl_c_while_packing_is_held_until_the_bundle_is_finished(fake_server, tsd, tmp_path, monkeypatch,
                                                                   sigint_default):
    from tsdtool.bundle.writer import BundleWriter

    real = BundleWriter.add_staged
    presses = []

    def press_once(self, *args, **kw):
        if not presses:
            presses.append(os.kill(os.getpid(), signal.SIGINT))
        return real(self, *args, **kw)

    monkeypatch.setattr(BundleWriter, "add_staged", press_once)
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--package", "com.example.scanner.demo",
                              *field_args())
    assert presses and code == 0 and result["status"] == "complete"
    assert "Ctrl-C while packing: the bundle was finished first" in result["notes"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_attached_folders_are_zipped_file_by_file_without_following_links(fake_server, tsd, tmp_path):
    exchange = tmp_path / "Exchange"
    (exchange / "in").mkdir(parents=True)
    (exchange / "in" / "doc1.xml").write_text("<doc id='1'/>")
    (exchange / "settings.ini").write_text("[a]\nb=1\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not ship")
    (exchange / "link.txt").symlink_to(secret)
    server = fake_server("zebra_tc52")
    fields = {k: v for k, v in FULL_FIELDS.items() if k != "exchange_link"}
    code, result, _ = collect(
        tsd,
        server.port,
        tmp_path / "out",
        "--desk",
        "grsoft",
        "--attach",
        exchange,
        "--package",
        "com.example.scanner.demo",
        *field_args(fields),
    )
    assert code == 0, result
    bundle = Path(result["bundle"])
    items = {i["path"]: i for i in manifest_of(bundle)["items"] if i["kind"] == "attachment"}
    assert items["attachments/Exchange/in/doc1.xml"]["status"] == "ok"
    assert (
        items["attachments/Exchange/in/doc1.xml"]["source"] == "attach:Exchange/in/doc1.xml"
    )  # no local path
    assert items["attachments/Exchange/link.txt"]["status"] == "skipped"
    assert read_item(bundle, "attachments/Exchange/settings.ini") == b"[a]\nb=1\n"
    with zipfile.ZipFile(bundle) as zf:
        assert b"do not ship" not in b"".join(zf.read(n) for n in zf.namelist())
    assert str(tmp_path) not in json.dumps(manifest_of(bundle))


def test_the_database_is_in_by_default_and_no_db_leaves_it_out(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    code, result, _ = collect(
        tsd, server.port, tmp_path / "a", "--package", "com.example.scanner.demo", *field_args()
    )
    manifest = manifest_of(Path(result["bundle"]))
    [db] = manifest["databases"]
    assert db["complete"] and db["integrity_ok"] and db["check"].startswith("integrity ok")
    assert read_item(Path(result["bundle"]), db["path"]).startswith(b"SQLite format 3\0")
    code, result, _ = collect(
        tsd,
        server.port,
        tmp_path / "b",
        "--package",
        "com.example.scanner.demo",
        "--no-db",
        "--desk",
        "grsoft",
        *field_args(),
    )
    manifest = manifest_of(Path(result["bundle"]))
    assert manifest["options"]["no_db"] is True and manifest["databases"] == []
    [left_out] = [i for i in manifest["items"] if i["kind"] == "database"]
    assert left_out["status"] == "skipped" and left_out["reason"] == "left out with --no-db"
    assert code == 3 and "database" in result["ticket"]["missing"]  # grsoft requires it


def test_redact_replaces_identifiers_in_text_items_and_manifest(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--redact", *field_args())
    bundle = Path(result["bundle"])
    serial = "20TC52FX0001"
    assert serial not in bundle.name and "-SERIAL_" in bundle.name
    manifest = manifest_of(bundle)
    assert manifest["redaction"]["enabled"] and manifest["redaction"]["counts"]["serial"] >= 2
    with zipfile.ZipFile(bundle) as zf:
        for name in zf.namelist():
            if name.endswith((".txt", ".json", ".html", ".md")):
                assert serial.encode() not in zf.read(name), name
    assert any(i["redacted"] for i in manifest["items"] if i["path"] == "device/getprop.txt")
    assert manifest["form"]["contact_email"] == FULL_FIELDS["contact_email"]  # what the person typed stays
    assert "Redacted" in read_item(bundle, "report.html").decode()


def test_a_saved_contact_fills_the_contact_fields(fake_server, tsd, tmp_path):
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "tsdtool"
    config.mkdir(parents=True)
    (config / "contact.toml").write_text(
        'contact_name = "Saved Person"\ncontact_email = "saved@example.com"\n'
    )
    server = fake_server("zebra_tc52")
    fields = {k: v for k, v in FULL_FIELDS.items() if not k.startswith("contact_")}
    code, result, _ = collect(
        tsd, server.port, tmp_path / "out", "--package", "com.example.scanner.demo", *field_args(fields)
    )
    assert code == 0 and manifest_of(Path(result["bundle"]))["form"]["contact_name"] == "Saved Person"


def test_an_app_profile_picks_the_installed_packages(fake_server, tsd, tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "example.toml").write_text(
        'kind = "app"\nname = "Example Warehouse"\npackages = ["com.example.*"]\n'
    )
    server = fake_server("zebra_tc52")
    code, _, stderr = tsd(
        "-H",
        "127.0.0.1",
        "-P",
        server.port,
        "--profiles-dir",
        profiles,
        "collect",
        "-o",
        tmp_path / "out",
        "--no-input",
        "--json",
        "--app",
        "example",
        *field_args(),
    )
    bundle = next((tmp_path / "out").glob("*.zip"))
    manifest = manifest_of(bundle)
    assert manifest["profiles"]["app"] == "example"
    assert {a["package"] for a in manifest["apps"]} == {
        "com.example.mobilesmarts",
        "com.example.scanner.demo",
    }
    assert all(a["label"] == "Example Warehouse" for a in manifest["apps"])


def test_hostile_device_names_stay_inside_the_output_folder(fake_server, tsd, tmp_path):
    from tests.fake_adb import make_fixture

    fixture = make_fixture(
        tmp_path / "fx",
        "..",
        name="hostile",
        props={"ro.product.model": "../../etc/passwd", "ro.product.manufacturer": "A/B\\C:*"},
    )
    server = fake_server(fixture)
    code, result, _ = collect(tsd, server.port, tmp_path / "out", *field_args())
    bundle = Path(result["bundle"])
    assert bundle.parent == tmp_path / "out" and NAME.match(bundle.name), bundle.name


def test_json_is_one_object_with_path_status_and_items(fake_server, tsd, tmp_path):
    server = fake_server("honeywell_ct60")
    code, out, err = tsd(
        "-H",
        "127.0.0.1",
        "-P",
        server.port,
        "collect",
        "-o",
        tmp_path / "out",
        "--no-input",
        "--json",
        *field_args(),
        "--package",
        "com.example.mobilesmarts",
    )
    data = json.loads(out)
    # A release build: its database is not readable, so the bundle is partial (exit 3).
    assert (
        set(data) >= {"bundle", "status", "items", "ticket", "exit_code"} and data["exit_code"] == code == 3
    )
    assert all(set(i) >= {"path", "status", "reason"} for i in data["items"])


def test_demo_runs_a_full_collect_with_sample_answers(tsd, tmp_path):
    code, out, _ = tsd("demo", "-o", tmp_path / "demo")
    [bundle] = (tmp_path / "demo").glob("*.zip")
    assert code == 0 and "обращение в GRSoft готово" in out and bundle.name in out.replace("\n", "")
    assert f"открыть отчёт: tsdtool report {tmp_path / 'demo' / bundle.name}" in out.replace("\n", "")
    manifest = manifest_of(bundle)
    assert manifest["status"] == "complete" and manifest["ticket"]["ready"] and manifest["databases"]


def test_a_person_at_a_terminal_is_asked_for_what_is_missing(fake_server, tsd, tmp_path, monkeypatch):
    import tsdtool.console

    monkeypatch.setattr(tsdtool.console, "interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("It freezes\nwhen scanning\n\nGate 3 stops\n"))
    server = fake_server("zebra_tc52")
    fields = {k: v for k, v in FULL_FIELDS.items() if k not in ("description", "impact")}
    code, out, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "out",
                         "--package", "com.example.scanner.demo", *field_args(fields))
    assert code == 0, out + err
    assert "What goes wrong" in err and "Impact on work" in err and "Contact name" not in err  # given ones
    form = manifest_of(next((tmp_path / "out").glob("*.zip")))["form"]
    assert form["description"] == "It freezes\nwhen scanning" and form["impact"] == "Gate 3 stops"


def test_no_input_never_reads_stdin(fake_server, tsd, tmp_path, monkeypatch):
    import tsdtool.console

    class Untouchable(io.StringIO):
        def readline(self, *a):
            raise AssertionError("stdin was read")

    monkeypatch.setattr(tsdtool.console, "interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", Untouchable())
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, tmp_path / "out")
    assert code == 3 and "description" in result["ticket"]["missing"]


def test_an_output_folder_that_cannot_be_one_is_a_usage_error(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    (tmp_path / "file").write_text("x")
    code, _, err = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "file" / "out",
                       "--no-input")
    assert code == 2 and "is not a folder" in err
    assert server.terminal("20TC52FX0001")._services == 0


def test_attaching_the_folder_that_holds_the_output_does_not_swallow_the_bundle(fake_server, tsd, tmp_path):
    work = tmp_path / "work"
    (work / "exchange").mkdir(parents=True)
    (work / "exchange" / "doc.xml").write_text("<doc/>")
    (work / "out").mkdir()
    (work / "out" / "old-bundle.txt").write_text("an earlier run")
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, work / "out", "--attach", work, *field_args())
    paths = [i["path"] for i in manifest_of(Path(result["bundle"]))["items"] if i["kind"] == "attachment"]
    assert paths == ["attachments/work/exchange/doc.xml"]


def test_one_progress_line_follows_one_lane_at_a_time_and_ctrl_c_stops_them_all():
    from tsdtool.bundle.collect import _Lanes

    calls = []

    class Recorder:
        def start(self, label, total=None):
            calls.append(("start", label, total))

        def advance(self, n):
            calls.append(("advance", n))

        def finish(self):
            calls.append(("finish",))

    lanes = _Lanes(Recorder())
    log, db = lanes.lane(0), lanes.lane(1)
    log.start("logcat", None)
    db.start("scans.db", 1000)  # not shown: the line follows the log
    db.advance(300)
    log.advance(50)
    lanes.done(0)  # the log is done: the database is shown from where it is
    db.advance(200)
    db.finish()
    assert calls == [("start", "logcat", None), ("advance", 50), ("start", "scans.db", 1000), ("advance", 300),
                     ("advance", 200), ("finish",)]
    lanes.cancel()
    with pytest.raises(KeyboardInterrupt):
        log.start("crash", None)
    with pytest.raises(KeyboardInterrupt):
        db.advance(1)


def test_worker_threads_leave_ctrl_c_to_the_main_thread():
    """A SIGINT the kernel hands to a worker would not wake the main thread's read at a
    question: workers, and the threads they start, block it."""
    import signal
    import threading

    from tsdtool import threads

    if not hasattr(signal, "pthread_sigmask"):
        pytest.skip("no POSIX signal masks (Windows)")
    seen = {}

    def inner():
        seen["inner"] = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])

    def outer():
        seen["outer"] = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        t = threading.Thread(target=inner)
        t.start()
        t.join()

    threads.start(outer, name="t").join()
    assert seen == {"outer": True, "inner": True}
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # the main thread's is untouched


def test_work_beside_hands_back_its_value_or_its_error_when_waited_for():
    import threading

    from tsdtool import threads

    go = threading.Event()
    answer = threads.beside(lambda a, b: go.wait(10) and a + b, 2, 3, name="t")
    go.set()  # it was running already: nothing waited for it until now
    assert answer() == 5 and answer() == 5
    failed = threads.beside(lambda: 1 / 0, name="t")
    with pytest.raises(ZeroDivisionError):
        failed()


def test_without_questions_the_app_data_does_not_wait_for_the_device_facts(fake_server, tsd, tmp_path, monkeypatch):
    """--no-input: nothing needs the device facts first, so the database and the log start beside
    them. The facts hold until the database has begun (sequential lanes would never let it). The
    database starts once the package is chosen, before its version is read; the app facts, which
    use the version, wait for it."""
    import threading

    from tsdtool.collectors.app_facts import AppFactsCollector
    from tsdtool.collectors.database import DatabaseCollector
    from tsdtool.collectors.device_facts import DeviceFactsCollector
    from tsdtool.collectors.logs import LogcatCollector
    from tsdtool.parsers import dumpsys_package

    begun = {"database": threading.Event(), "logcat": threading.Event()}
    waited: list[bool] = []
    versions_known: list[bool] = []  # at the start of each app collector: the app versions are in
    facts, database, logcat = DeviceFactsCollector.collect, DatabaseCollector.collect, LogcatCollector.collect
    app_facts = AppFactsCollector.collect

    def facts_after_the_rest(self, ctx):
        waited.append(all(e.wait(20) for e in begun.values()))
        return facts(self, ctx)

    chosen_first: list[bool] = []  # when the version is read: the database has begun

    def version_name(ctx):
        return [a.get("version_name") for a in ctx.facts.get("apps", [])]

    def flag(name, real):
        def run(self, ctx):
            begun[name].set()
            versions_known.append(ctx.facts.get("packages") == ["com.example.scanner.demo"]) if name == "database" \
                else None
            return real(self, ctx)
        return run

    def app_facts_seeing_versions(self, ctx):
        versions_known.append(version_name(ctx) == ["1.4.2-debug"])
        return app_facts(self, ctx)

    parse = dumpsys_package.parse

    def version_after_the_database_began(raw, package):
        chosen_first.append(begun["database"].wait(10))  # it could not, if it waited for the versions
        return parse(raw, package)

    monkeypatch.setattr(dumpsys_package, "parse", version_after_the_database_began)
    monkeypatch.setattr(AppFactsCollector, "collect", app_facts_seeing_versions)
    monkeypatch.setattr(DeviceFactsCollector, "collect", facts_after_the_rest)
    monkeypatch.setattr(DatabaseCollector, "collect", flag("database", database))
    monkeypatch.setattr(LogcatCollector, "collect", flag("logcat", logcat))
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--package", "com.example.scanner.demo",
                              *field_args())
    assert waited == [True]
    assert code == 0 and result["status"] == "complete", result
    manifest = manifest_of(Path(result["bundle"]))
    paths = [i["path"] for i in manifest["items"]]
    # listed as if the jobs had run one after another: screen, facts, apps, logs, the app's data
    order = ["screenshot.png", "device/facts.json", "apps/packages.txt", "logcat.txt"]
    assert [paths.index(p) for p in order] == sorted(paths.index(p) for p in order)
    first_db = next(n for n, i in enumerate(manifest["items"]) if i["kind"] == "database")
    assert paths.index("logcat.txt") < first_db
    assert versions_known == [True, True]  # the database saw the choice, the app facts the version
    assert chosen_first == [True]


def test_the_database_asks_pm_path_only_when_the_package_listing_did_not_show_the_app(tmp_path):
    """collect has just read `pm list packages` (the choice is checked against it): its database
    collector does not ask `pm path` again for an app the listing showed; without that (the
    listing failed, or the collector runs alone) it asks, and a missing app is one clear error."""
    from tests.appdata_helpers import terminals
    from tsdtool.collectors.base import Context, run_all
    from tsdtool.collectors.database import DatabaseCollector
    from tsdtool.outdir import OutputDir

    app = "com.acme.scan"
    factory = terminals(tmp_path)
    start = next(factory)
    try:
        fake = start(packages=[{"name": app, "debuggable": True}],
                     files={f"/data/data/{app}/databases/app.db": "x"})
        asked = []
        for n, apps in enumerate([[{"package": app, "installed": True}], [], [{"package": app, "installed": False}]]):
            before = fake.spy.count("pm path")
            ctx = Context(fake.device(), OutputDir(tmp_path / f"out{n}"), facts={"apps": apps})
            run_all([DatabaseCollector(app)], ctx)
            asked.append(fake.spy.count("pm path") - before)
            assert "databases" in ctx.facts  # collected either way
        assert asked == [0, 1, 1]
        ctx = Context(fake.device(), OutputDir(tmp_path / "gone"))
        [item] = run_all([DatabaseCollector("com.acme.gone")], ctx)
        assert item.status == "failed" and "com.acme.gone is not installed" in item.reason
    finally:
        next(factory, None)


def test_the_device_profiles_are_parsed_once_while_the_package_list_is_asked(fake_server, tsd, tmp_path, monkeypatch):
    """collect parses the device profiles on a thread of its own while `pm list packages` is
    answered; the device facts find them parsed (one parse), and nothing is left running."""
    import threading

    from tsdtool import profile_files
    from tsdtool.devices import profiles

    monkeypatch.setattr(profiles, "_PARSED", {})
    parsed_on, load = [], profile_files.load

    def spy(kind, *args, **kwargs):
        if kind == "device":
            parsed_on.append(threading.current_thread().name)
        return load(kind, *args, **kwargs)

    monkeypatch.setattr(profile_files, "load", spy)
    server = fake_server("zebra_tc52")
    code, result, err = collect(tsd, server.port, tmp_path / "out", "--package", "com.example.scanner.demo",
                                *field_args())
    assert code == 0, err
    assert parsed_on == ["tsd-profiles"]
    manifest = manifest_of(Path(result["bundle"]))
    assert manifest["device"]["profile"] == "zebra"  # the device facts matched with them
    assert not [t for t in threading.enumerate() if t.name == "tsd-profiles"]


def test_what_packing_imports_is_imported_while_the_terminal_answers(fake_server, tmp_path):
    """The pack's modules (the .eml's email package, the report, the zip writer) are imported on
    a thread of their own once the terminal is selected, not on the way to the first request
    nor after the last byte."""
    import subprocess
    import sys
    import textwrap

    server = fake_server("zebra_tc52")
    probe = """
        import sys, threading
        import tsdtool.bundle.collect as collect
        print("at start:", sorted(m for m in collect._PACK_MODULES if m in sys.modules))
        seen = {}

        class Spy:
            def find_spec(self, name, path=None, target=None):
                if name in collect._PACK_MODULES:
                    seen.setdefault(name, threading.current_thread().name)
                return None

        sys.meta_path.insert(0, Spy())
        from tsdtool.cli import main
        code = main(["-H", "127.0.0.1", "-P", sys.argv[1], "collect", "--no-input", "--json", "-o", sys.argv[2],
                     "--package", "com.example.scanner.demo", "--field", "description=x",
                     "--field", "contact_name=N", "--field", "contact_email=n@example.com"])
        print("code", code)
        print("threads:", sorted(set(seen.values())), len(seen) == len(collect._PACK_MODULES))
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(probe), str(server.port), str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "at start: []" and lines[-2] == "code 0", proc.stdout
    assert lines[-1] == "threads: ['tsd-pack-imports'] True", proc.stdout
