"""`tsdtool watch`: the loop, driven by injected events, never by real udev or a real adb."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.udev_records import ADB_IF, MTP_IF, Record, usb_device
from tsdtool import errors, watch
from tsdtool.transport.types import DeviceEntry

VENDORS = {"05e0": "Zebra Technologies"}


def entry(serial, state="device", usb_path=""):
    return DeviceEntry(serial, state, "usb", {"usb": usb_path} if usb_path else {})


class StubAdb:
    """A device list that tests change between polls; `device()` hands the entry to the action."""

    def __init__(self, *entries):
        self.entries = list(entries)

    def devices(self):
        return list(self.entries)

    def device(self, e):
        return e


def run_loop(adb, events, action, tmp_path, **kw):
    lines = []
    kw.setdefault("wait_timeout", 0.2)
    outcomes = watch.watch(adb, events, action, output=tmp_path, report=lines.append, poll=0.01, **kw)
    assert outcomes == lines  # every outcome is reported as it happens
    return outcomes


def ok_action(device, output):
    return watch.Result(watch.OK, "done", output / f"{device.serial}.json")


# -- the loop ---------------------------------------------------------------------------------
def test_each_arrival_runs_the_action_once(tmp_path):
    adb = StubAdb(entry("A"), entry("B"))
    events = [watch.Event("add", "A"), watch.Event("remove", "A"), watch.Event("add", "B")]
    outcomes = run_loop(adb, events, ok_action, tmp_path)
    assert [(o.serial, o.status, o.path) for o in outcomes] == [
        ("A", "ok", tmp_path / "A.json"), ("B", "ok", tmp_path / "B.json")]


def test_a_failing_terminal_does_not_stop_the_watch(tmp_path):
    def action(device, output):
        if device.serial == "A":
            raise errors.TransferError("connection to A lost (closed)")
        return ok_action(device, output)

    outcomes = run_loop(StubAdb(entry("A"), entry("B")), [watch.Event("add", "A"), watch.Event("add", "B")],
                        action, tmp_path)
    assert [(o.serial, o.status) for o in outcomes] == [("A", "failed"), ("B", "ok")]
    assert "connection to A lost" in outcomes[0].message and "check the cable" in outcomes[0].message


def test_waits_until_the_rsa_prompt_is_accepted(tmp_path):
    adb = StubAdb(entry("A", "unauthorized"))
    polls = []

    def devices():
        polls.append(1)
        if len(polls) == 3:
            adb.entries = [entry("A")]
        return list(adb.entries)

    adb.devices = devices
    outcomes = run_loop(adb, [watch.Event("add", "A")], ok_action, tmp_path, wait_timeout=5)
    assert outcomes[0].status == "ok" and len(polls) == 3


def test_a_terminal_that_never_becomes_usable_times_out_with_its_fix(tmp_path):
    outcomes = run_loop(StubAdb(entry("A", "unauthorized")), [watch.Event("add", "A")], ok_action, tmp_path)
    assert outcomes[0].status == "timeout"
    assert "stayed unauthorized" in outcomes[0].message and "accept the USB debugging prompt" in outcomes[0].message


def test_a_terminal_never_in_adb_points_to_doctor(tmp_path):
    outcomes = run_loop(StubAdb(), [watch.Event("add", "A", label="Zebra TC52")], ok_action, tmp_path)
    assert outcomes[0].status == "timeout" and "tsdtool doctor" in outcomes[0].message
    assert outcomes[0].label == "Zebra TC52"


def test_matched_by_devpath_when_the_usb_serial_is_unknown(tmp_path):
    outcomes = run_loop(StubAdb(entry("X1", usb_path="1-4")), [watch.Event("add", devpath="1-4")], ok_action, tmp_path)
    assert outcomes[0].serial == "X1" and outcomes[0].status == "ok"


def test_server_gone_is_an_outcome_not_a_crash(tmp_path):
    adb = StubAdb()

    def devices():
        raise errors.ServerUnreachable("cannot reach the adb server (refused)")

    adb.devices = devices
    outcomes = run_loop(adb, [watch.Event("add", "A")], ok_action, tmp_path)
    assert outcomes[0].status == "failed" and "cannot reach the adb server" in outcomes[0].message


class Source:
    """An event source that can raise Ctrl-C and records that it was closed."""

    def __init__(self, items):
        self.items, self.closed = iter(items), False

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self.items)
        if item is KeyboardInterrupt:
            raise KeyboardInterrupt
        return item

    def close(self):
        self.closed = True


def test_ctrl_c_while_waiting_for_events_stops_cleanly(tmp_path):
    source = Source([watch.Event("add", "A"), KeyboardInterrupt, watch.Event("add", "B")])
    outcomes = run_loop(StubAdb(entry("A"), entry("B")), source, ok_action, tmp_path)
    assert [o.serial for o in outcomes] == ["A"] and source.closed


def test_ctrl_c_during_an_action_reports_it_and_stops(tmp_path):
    def action(device, output):
        raise KeyboardInterrupt

    source = Source([watch.Event("add", "A"), watch.Event("add", "B")])
    lines = []
    outcomes = watch.watch(StubAdb(entry("A"), entry("B")), source, action, output=tmp_path,
                           report=lines.append, poll=0.01)
    assert outcomes == [] and [(o.serial, o.status) for o in lines] == [("A", "interrupted")]
    assert source.closed


# -- event sources ----------------------------------------------------------------------------
def test_adb_events_ignore_what_was_already_attached():
    lists = [
        [entry("OLD")],
        [entry("OLD"), entry("NEW", "unauthorized")],
        [entry("OLD"), entry("NEW")],  # the prompt was accepted: now it arrives
        [entry("NEW")],
        [],
    ]
    assert list(watch.adb_events(lists)) == [
        watch.Event("add", "NEW"), watch.Event("remove", "OLD"), watch.Event("remove", "NEW")]


def _udev(records):
    return list(watch.udev_events(VENDORS, records=records))


def test_udev_known_vendor_arrives_and_leaves_by_devpath():
    dev = usb_device(serial="S1", sys_name="1-1")
    gone = Record("usb", "usb_device", {}, "1-1")  # a removed device has no attributes left
    events = _udev([("add", dev), ("add", dev.children[0]), ("remove", gone)])
    assert events == [watch.Event("add", "S1", "1-1", "Zebra Technologies TC52"), watch.Event("remove", "S1", "1-1")]


def test_udev_unknown_vendor_arrives_with_its_adb_interface():
    dev = usb_device(vid="1234", serial="U1", sys_name="2-1", interfaces=(MTP_IF, ADB_IF))
    events = _udev([("add", dev), ("add", dev.children[0]), ("add", dev.children[1])])
    assert events == [watch.Event("add", "U1", "2-1", "Zebra TC52")]  # manufacturer from the device


def test_udev_ignores_other_devices():
    mouse = usb_device(vid="046d", serial="", interfaces=(MTP_IF,))
    assert _udev([("add", mouse), ("remove", Record("usb", "usb_device", {}, "9-9"))]) == []


def test_default_events_fall_back_to_adb_off_linux():
    notes = []

    class TrackingAdb:
        def track_devices(self):
            yield [entry("OLD")]
            yield [entry("OLD"), entry("NEW")]

    events = watch.default_events(TrackingAdb(), VENDORS, notes.append, system="Darwin")
    assert list(events) == [watch.Event("add", "NEW")]
    assert "not available on Darwin" in notes[0] and "adb device list" in notes[0]


def test_collect_action_summarises_the_library_result(tmp_path):
    from types import SimpleNamespace as NS

    def collect(device, output, **options):
        calls.append((device.serial, output, options))
        items = [NS(path="logs/logcat-main.txt", status="failed", reason="the terminal went away"),
                 NS(path="screenshot.png", status="ok", reason="")]
        return NS(bundle=output / "tsd-x.zip", manifest=NS(status="partial", items=items,
                                                            ticket=NS(missing=["contact_email"])))

    calls = []
    result = watch.collect_action(collect, profile_dirs=())(entry("A"), tmp_path)
    assert calls == [("A", tmp_path, {"profile_dirs": ()})]
    assert result.status == "partial" and result.path == tmp_path / "tsd-x.zip"
    assert "1 item(s) failed" in result.message and "logcat-main.txt: the terminal went away" in result.message
    assert "ticket still needs contact_email" in result.message


def test_unknown_mode_is_a_usage_error(tmp_path):
    with pytest.raises(errors.UsageError):
        watch.run(StubAdb(), mode="flash", output=tmp_path, events=[])


def test_run_with_no_events_returns_nothing(tmp_path):
    assert watch.run(StubAdb(), mode="info", output=Path(tmp_path), events=[]) == []


# -- against the fake adb server ----------------------------------------------------------------
TC52 = "20TC52FX0001"
CT60 = "20234B0123"


def _serial(fixture):
    from tests.conftest import fixture_dir
    from tests.fake_adb import Terminal

    return Terminal(fixture_dir(fixture)).serial


def plugging(srv, *fixtures):
    """An event source that plugs each fixture terminal into the fake server, then announces it."""
    from tests.conftest import fixture_dir

    for name in fixtures:
        terminal = srv.add_terminal(fixture_dir(name))
        yield watch.Event("add", terminal.serial, label=name)


def fake_adb(srv):
    from tsdtool.transport.adb import Adb

    return Adb("127.0.0.1", srv.port, start_server=False)


def test_info_for_a_terminal_that_appears(fake_server, tmp_path):
    srv = fake_server()
    outcomes = run_loop(fake_adb(srv), plugging(srv, "zebra_tc52"), watch.info_action(), tmp_path)
    [outcome] = outcomes
    assert (outcome.serial, outcome.status) == (TC52, "ok")
    assert outcome.message == "Zebra Technologies TC52, Android 14"
    info = json.loads(outcome.path.read_text())
    assert outcome.path.parent == tmp_path and info["serial"] == TC52 and info["vendor"] == "Zebra Technologies"


def test_a_terminal_pulled_mid_info_fails_and_the_next_one_is_handled(fake_server, tmp_path):
    srv = fake_server()
    info = watch.info_action()

    def pull_first(device, output):
        if device.serial == TC52:
            srv.remove_terminal(TC52)  # the cable comes out after adb listed it
        return info(device, output)

    outcomes = run_loop(fake_adb(srv), plugging(srv, "zebra_tc52", "honeywell_ct60"), pull_first, tmp_path)
    assert [(o.serial, o.status) for o in outcomes] == [(TC52, "failed"), (_serial("honeywell_ct60"), "ok")]
    assert outcomes[1].path.is_file() and not list(tmp_path.glob(f"info-{TC52}*"))


def test_track_devices_fallback_sees_the_rsa_prompt_accepted(fake_server, tmp_path):
    srv = fake_server("unauthorized")
    serial = _serial("unauthorized")
    adb = fake_adb(srv)
    lists = adb.track_devices()

    def accepted_after_start():
        yield next(lists)  # what was attached when watch started: unauthorized
        srv.set_state(serial, "device")  # then someone taps "Allow"
        yield from lists

    events = watch.adb_events(accepted_after_start())

    def until_first_arrival():
        try:
            yield next(events)
            raise KeyboardInterrupt  # Ctrl-C
        finally:
            events.close()  # closes the track-devices socket

    outcomes = run_loop(adb, until_first_arrival(), watch.info_action(), tmp_path)
    assert [(o.serial, o.status) for o in outcomes] == [(serial, "ok")]


def test_cli_watch_info_with_injected_events(tsd, fake_server, tmp_path, monkeypatch):
    srv = fake_server()
    monkeypatch.setattr(watch, "default_events",
                        lambda adb, vendor_ids, notify, system=None: plugging(srv, "zebra_tc52"))
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "watch", "--info", "-o", tmp_path / "out")
    assert code == 0, err
    line, = out.splitlines()
    assert line.startswith(f"ok      {TC52} zebra_tc52: Zebra Technologies TC52, Android 14 → ")
    assert len(list((tmp_path / "out").glob(f"info-{TC52}-*.json"))) == 1


def test_cli_watch_refuses_both_modes(tsd):
    code, _, err = tsd("watch", "--info", "--collect")
    assert code == 2 and "choose one of --collect and --info" in err


# -- full collect, the bundle library for real ------------------------------------------------------
def unplug_after(srv, serial, services):
    """Make the fake terminal vanish from adb after it served ``services`` device requests."""
    terminal = srv.terminal(serial)
    original, count = terminal.note_service, []

    def note_service():
        original()
        count.append(1)
        if len(count) == services:
            srv.remove_terminal(serial)

    terminal.note_service = note_service


def bundle_manifest(path):
    import zipfile

    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("manifest.json"))


def test_collect_for_a_terminal_that_appears_uses_the_saved_contact(fake_server, tmp_path):
    from tsdtool.bundle import form

    form.config_dir().mkdir(parents=True)
    (form.config_dir() / "contact.toml").write_text('contact_name = "Bench 3"\ncontact_email = "bench3@example.com"\n')
    srv = fake_server()
    [outcome] = run_loop(fake_adb(srv), plugging(srv, "zebra_tc52"), watch.collect_action(), tmp_path / "out")
    assert (outcome.serial, outcome.status) == (TC52, "ok"), outcome.message
    assert outcome.path.parent == tmp_path / "out" and outcome.path.suffix == ".zip"
    manifest = bundle_manifest(outcome.path)
    assert manifest["status"] == "complete" and manifest["form"]["contact_email"] == "bench3@example.com"
    assert "contact_name" not in outcome.message  # the ticket did not ask for what was saved


def test_a_terminal_removed_mid_collect_leaves_a_partial_bundle_and_watch_goes_on(fake_server, tmp_path):
    srv = fake_server()
    ct60 = _serial("honeywell_ct60")

    def plug_then_pull():
        events = plugging(srv, "zebra_tc52", "honeywell_ct60")
        first = next(events)
        unplug_after(srv, TC52, services=6)  # a few items in, the cable comes out
        yield first
        yield watch.Event("remove", TC52)
        yield from events

    outcomes = run_loop(fake_adb(srv), plug_then_pull(), watch.collect_action(), tmp_path)
    assert [(o.serial, o.status) for o in outcomes] == [(TC52, "partial"), (ct60, "ok")], outcomes
    partial = bundle_manifest(outcomes[0].path)
    assert partial["status"] == "partial"
    assert any(i["status"] == "ok" for i in partial["items"])  # what arrived before the pull is kept
    assert "item(s) failed" in outcomes[0].message
    assert bundle_manifest(outcomes[1].path)["status"] == "complete"


def test_watch_takes_collect_options_and_the_terminals_already_attached(fake_server, tmp_path):
    """watch had no --desk/--package/--form/--field and ignored terminals attached before it started."""
    from tests.bundle_util import FULL_FIELDS
    from tsdtool.bundle.plan import CollectOptions

    srv = fake_server("zebra_tc52")
    adb = fake_adb(srv)
    already = watch.attached_events(adb)
    assert [e.serial for e in already] == [TC52]
    options = CollectOptions(desk="grsoft", package="com.example.scanner.demo",
                             fields=[f"{k}={v}" for k, v in FULL_FIELDS.items()])
    [outcome] = run_loop(adb, iter(already), watch.collect_action(options=options), tmp_path / "out")
    manifest = bundle_manifest(outcome.path)
    assert manifest["profiles"]["desk"] == "grsoft" and manifest["form"]["project"] == FULL_FIELDS["project"]
    assert [a["package"] for a in manifest["apps"]] == ["com.example.scanner.demo"]
    assert outcome.status == "ok" and outcome.message.endswith("; ticket ready"), outcome.message


def test_cli_watch_and_repro_stop_share_collects_options(tsd):
    names = {}
    for command in (["collect"], ["repro", "stop"], ["watch"]):
        code, out, _ = tsd(*command, "--help")
        assert code == 0
        names[" ".join(command)] = {w for w in out.replace("│", " ").split() if w.startswith("--")}
    shared = {"--app", "--package", "--desk", "--field", "--form", "--attach", "--redact", "--no-db", "--root",
              "--vendor-logs", "--output"}
    for command, found in names.items():
        assert shared <= found, (command, shared - found)


def test_cli_watch_line_is_one_line_whatever_the_terminals_usb_product_string(tsd, fake_server, tmp_path,
                                                                               monkeypatch):
    """The label is the terminal's own USB product string: 'TC52\\nok      FAKE0002 …' printed a
    second, forged watch line."""
    from tests.conftest import fixture_dir

    srv = fake_server()

    def plugged(adb, vendor_ids, notify, system=None):
        terminal = srv.add_terminal(fixture_dir("zebra_tc52"))
        yield watch.Event("add", terminal.serial, label="TC52\nok      FAKE0002 forged: all fine \u202e")

    monkeypatch.setattr(watch, "default_events", plugged)
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "watch", "--info", "-o", tmp_path / "out")
    assert code == 0, err
    line, = out.splitlines()
    assert line.startswith(f"ok      {TC52} TC52\\nok      FAKE0002 forged: all fine \\u202e: Zebra"), line
