"""`tsdtool watch`: at a repair bench, plugging a terminal in is enough.

The loop (:func:`watch`) reads :class:`Event` values from an event source, waits for each
new terminal to reach `device` state in adb, runs one :data:`Action` on it (`info` or a full
`collect`) and reports one :class:`Outcome` per terminal. One terminal failing — unplugged
mid-collect, never authorized — is an outcome, never the end of the loop; Ctrl-C is.

Event sources:

* :func:`udev_events` (Linux): a pyudev monitor on the usb subsystem, filtered to the
  vendor ids of the device profiles;
* :func:`adb_events` (anywhere): the server's device list via ``host:track-devices``;
* tests pass any iterator of :class:`Event`.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tsdtool import errors, usb
from tsdtool.paths import check_folder, safe_component, write_new
from tsdtool.transport.adb import Adb, Device, state_fix
from tsdtool.transport.types import DeviceEntry

ADD, REMOVE = "add", "remove"
OK, PARTIAL, FAILED, TIMEOUT, INTERRUPTED = "ok", "partial", "failed", "timeout", "interrupted"
WAIT_TIMEOUT = 60.0  # time to enable debugging / accept the RSA prompt after plugging in


@dataclass(frozen=True)
class Event:
    """A terminal plugged in (``add``) or out (``remove``).

    ``serial`` is the USB iSerial (what adb lists for a USB terminal) or the adb serial;
    ``devpath`` is the sysfs name that adb shows as the ``usb:`` tag. Either may be empty.
    """

    action: str
    serial: str = ""
    devpath: str = ""
    label: str = ""


@dataclass(frozen=True)
class Outcome:
    """What happened to one terminal: one line of `watch` output."""

    serial: str
    label: str
    status: str  # ok | partial | failed | timeout | interrupted
    message: str
    path: Path | None = None


@dataclass(frozen=True)
class Result:
    """What an action returns: its status, a short message and the file or folder written."""

    status: str
    message: str
    path: Path | None = None


Action = Callable[[Device, Path], Result]


def watch(
    adb: Adb,
    events: Iterable[Event],
    action: Action,
    *,
    output: Path,
    report: Callable[[Outcome], None] = lambda outcome: None,
    wait_timeout: float = WAIT_TIMEOUT,
    poll: float = 0.5,
) -> list[Outcome]:
    """Handle every ``add`` event until the source ends or Ctrl-C; returns the outcomes.

    Args:
        adb: the server the terminals show up in.
        events: the event source; closed (if it can be) when the loop stops.
        action: run on each terminal once it is in `device` state (:func:`info_action`,
            :func:`collect_action`); receives the output folder.
        report: called with each outcome as soon as it is known (one line per terminal).
        wait_timeout, poll: how long and how often to look for the terminal in adb.
    """
    outcomes: list[Outcome] = []
    try:
        for event in events:
            if event.action != ADD:
                continue
            outcome = handle(adb, event, action, output=output, wait_timeout=wait_timeout, poll=poll,
                             report=report)
            outcomes.append(outcome)
            report(outcome)
    except KeyboardInterrupt:
        pass  # Ctrl-C: stop watching; an interrupted terminal was already reported
    finally:
        close = getattr(events, "close", None)
        if close:
            close()
    return outcomes


def handle(adb: Adb, event: Event, action: Action, *, output: Path, wait_timeout: float, poll: float,
           report: Callable[[Outcome], None]) -> Outcome:
    """Wait for one terminal in adb, then run the action in a guard."""
    label = event.label
    try:
        entry, seen = wait_for_device(adb, event, wait_timeout, poll)
    except errors.TsdError as exc:
        return Outcome(event.serial, label, FAILED, exc.one_line())
    if entry is None:
        if seen is None:
            why = "did not appear in adb: USB debugging off? (run `tsdtool doctor`)"
        else:
            why = f"stayed {seen.state}: {state_fix(seen.state)}"
        return Outcome(seen.serial if seen else event.serial, label, TIMEOUT, f"{why} (waited {wait_timeout:g}s)")
    label = label or entry.model.replace("_", " ")
    try:
        result = action(adb.device(entry), output)
    except KeyboardInterrupt:
        report(Outcome(entry.serial, label, INTERRUPTED, "stopped by Ctrl-C; what was collected is kept"))
        raise
    except (errors.TsdError, OSError, ValueError) as exc:
        text = exc.one_line() if isinstance(exc, errors.TsdError) else f"{type(exc).__name__}: {exc}"
        return Outcome(entry.serial, label, FAILED, text)
    return Outcome(entry.serial, label, result.status, result.message, result.path)


def wait_for_device(
    adb: Adb, event: Event, timeout: float, poll: float,
    clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
) -> tuple[DeviceEntry | None, DeviceEntry | None]:
    """Poll adb until the event's terminal is in `device` state.

    Returns ``(entry, None)`` when usable, else ``(None, last_seen)`` after ``timeout``;
    ``last_seen`` is the terminal's last listing (unauthorized, offline…) or None.
    """
    deadline = clock() + timeout
    seen = None
    while True:
        seen = usb.find_entry(event, adb.devices()) or seen
        if seen is not None and seen.state == "device":
            return seen, None
        if clock() >= deadline:
            return None, seen
        sleep(poll)


# -- actions ----------------------------------------------------------------------------------
def info_action(profile_dirs: Sequence[Path] = ()) -> Action:
    """`info` for each terminal, written to ``info-SERIAL-TIME.json`` in the output folder."""

    def run(device: Device, output: Path) -> Result:
        from tsdtool.devices import facts

        info = facts.read(device, profile_dirs=profile_dirs)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = write_new(output / f"info-{safe_component(device.serial)}-{stamp}.json",
                         json.dumps(info, indent=2, ensure_ascii=False, default=str).encode())
        what = " ".join(str(info.get(k) or "") for k in ("vendor", "model")).strip()
        android = f", Android {info['android_release']}" if info.get("android_release") else ""
        return Result(OK, f"{what}{android}", path)

    return run


CollectFn = Callable[..., Any]  # (device, output, **options) → the library's CollectResult


def collect_action(collect: CollectFn | None = None, **options: Any) -> Action:
    """A full, non-interactive `collect` (saved contact and form defaults) for each terminal.

    Args:
        collect: ``(device, output, **options)`` returning a result shaped like
            :class:`tsdtool.bundle.collect.CollectResult`; None uses the bundle library,
            imported now so a build without it fails before watching, not at a terminal.
        options: passed through to it (profile_dirs, …).
    """
    fn = collect or _library_collect()

    def run(device: Device, output: Path) -> Result:
        return _as_result(fn(device, output, **options))

    return run


def _library_collect() -> CollectFn:
    try:
        from tsdtool.bundle.collect import CollectOptions, collect
    except ImportError as exc:
        raise errors.TsdError(f"collect is not available in this build ({exc})",
                              fix="use `tsdtool watch --info`") from exc

    def run(device: Device, output: Path, *, profile_dirs: Sequence[Path] = (), options: Any = None) -> Any:
        # ask=None: nobody answers prompts at a bench; the options given to `watch` (the same set
        # as collect's), the saved contact and form fill the ticket.
        from dataclasses import replace

        base = options or CollectOptions()
        return collect(device.adb, device.serial, replace(base, out_dir=output, profile_dirs=profile_dirs),
                       ask=None)

    return run


def _as_result(result: Any) -> Result:
    """One line from a CollectResult: complete or partial, what failed, what the ticket lacks."""
    manifest = result.manifest
    failed = [i for i in manifest.items if i.status == "failed"]
    if manifest.status == "complete" and not failed:
        status, message = OK, "bundle complete"
    else:
        status, message = PARTIAL, f"partial bundle: {len(failed)} item(s) failed"
        if failed:
            message += f" (first: {failed[0].path}: {failed[0].reason})"
    missing = list(getattr(manifest.ticket, "missing", None) or [])
    if missing:
        message += f"; ticket still needs {', '.join(missing)}"
    elif getattr(manifest.ticket, "ready", False):
        message += "; ticket ready"
    return Result(status, message, Path(result.bundle))


# -- event sources --------------------------------------------------------------------------
def udev_events(vendor_ids: Mapping[str, str], records: Iterable[tuple[str, Any]] | None = None,
                system: str | None = None) -> Iterator[Event]:
    """Arrivals of terminals on USB; raises UsbUnavailable when udev cannot be read.

    A terminal arrives when a usb_device of a known vendor id appears, or when an adb
    interface (ff/42/01) appears on any device: vendors without a public USB id are caught
    that way. ``records`` is an iterator of ``(action, pyudev record)``; None opens a real
    monitor. A removed device has no readable attributes any more, so removals are
    matched by devpath to an earlier arrival.
    """
    source = usb.monitor(system) if records is None else records
    return _udev_events(source, vendor_ids)


def _udev_events(source: Iterable[tuple[str, Any]], vendor_ids: Mapping[str, str]) -> Iterator[Event]:
    present: dict[str, Event] = {}
    try:
        for action, record in source:
            if action == ADD:
                event = _arrival(record, vendor_ids)
                if event is not None and event.devpath not in present:
                    present[event.devpath] = event
                    yield event
            elif action == REMOVE and getattr(record, "device_type", None) == "usb_device":
                devpath = str(getattr(record, "sys_name", "") or "")
                if devpath in present:
                    yield Event(REMOVE, present.pop(devpath).serial, devpath)
    finally:
        close = getattr(source, "close", None)
        if close:
            close()


def _arrival(record: Any, vendor_ids: Mapping[str, str]) -> Event | None:
    """An add event for a known-vendor device, or for the device owning a new adb interface."""
    via_interface = usb.is_adb_interface(record)
    if via_interface:
        record = getattr(record, "parent", None)
    dev = usb.from_record(record) if record is not None else None
    if dev is None or not (via_interface or dev.vendor_id in vendor_ids):
        return None
    vendor = vendor_ids.get(dev.vendor_id) or dev.manufacturer
    return Event(ADD, dev.serial, dev.devpath, f"{vendor} {dev.product}".strip())


def adb_events(lists: Iterable[list[DeviceEntry]]) -> Iterator[Event]:
    """Events from successive adb device lists (``Adb.track_devices()``).

    The first list is what was already attached: not an arrival. A terminal "arrives"
    when it reaches `device` state (so accepting the RSA prompt counts) and leaves when it
    drops out of the list.
    """
    iterator = iter(lists)
    try:
        first = next(iterator, None)
        ready = {e.serial for e in first or () if e.state == "device"}
        for entries in iterator:
            now = {e.serial: e for e in entries}
            for serial, entry in now.items():
                if entry.state == "device" and serial not in ready:
                    ready.add(serial)
                    yield Event(ADD, serial, entry.tags.get("usb", ""), entry.model.replace("_", " "))
            for serial in sorted(ready - {s for s, e in now.items() if e.state == "device"}):
                ready.discard(serial)
                yield Event(REMOVE, serial)
    finally:
        close = getattr(iterator, "close", None)
        if close:
            close()


def attached_events(adb: Adb) -> list[Event]:
    """The terminals already attached and usable when watch starts: handled first (neither
    udev nor the adb list reports them as arrivals)."""
    return [Event(ADD, e.serial, e.tags.get("usb", ""), e.model.replace("_", " "))
            for e in adb.devices() if e.state == "device"]


def default_events(adb: Adb, vendor_ids: Mapping[str, str], notify: Callable[[str], None],
                   system: str | None = None) -> Iterator[Event]:
    """udev on Linux when it can be read, else the adb device list."""
    try:
        events = udev_events(vendor_ids, system=system)
        notify("watching USB (udev) for terminals; Ctrl-C stops")
        return events
    except usb.UsbUnavailable as exc:
        notify(f"{exc}: watching the adb device list instead; Ctrl-C stops")
        return adb_events(adb.track_devices())


def run(
    adb: Adb,
    *,
    mode: str,
    output: Path,
    profile_dirs: Sequence[Path] = (),
    notify: Callable[[str], None] = lambda message: None,
    report: Callable[[Outcome], None] = lambda outcome: None,
    events: Iterable[Event] | None = None,
    options: Any = None,
) -> list[Outcome]:
    """What `tsdtool watch` does: pick the action and the event source, then loop until Ctrl-C.

    Args:
        mode: ``"collect"`` (a full bundle per terminal) or ``"info"``.
        events: injected events (tests); None picks udev or the adb device list, after the
            terminals already attached (a bench started with terminals plugged in).
        options: collect's options (CollectOptions: desk, package, fields…) for each terminal.
    """
    if mode not in ("collect", "info"):
        raise errors.UsageError(f"unknown watch mode {mode!r}")
    check_folder(output, "-o")  # now, not when the first terminal is plugged in
    extra = {"options": options} if options is not None else {}
    action = info_action(profile_dirs) if mode == "info" else collect_action(profile_dirs=profile_dirs, **extra)
    if events is None:
        vendor_ids = usb.known_vendor_ids(profile_dirs)
        events = itertools.chain(attached_events(adb), default_events(adb, vendor_ids, notify))
    notify(f"{mode} for each terminal into {output}")
    outcomes = watch(adb, events, action, output=output, report=report)
    notify(f"watch stopped after {len(outcomes)} terminal(s)")
    return outcomes
