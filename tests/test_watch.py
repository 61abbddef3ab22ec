"""`tsdtool watch`: the loop, driven by injected events, never by real udev or a real adb."""

from __future__ import annotations

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
