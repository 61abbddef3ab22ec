"""Repro capture: mark the terminal's log, let the technician show the bug, collect the window.

``tsdtool repro start`` writes one marker into the terminal's log
(``log -t tsdtool "repro-start <id>"`` — the only change tsdtool makes on the terminal, and
it is recorded), reads the terminal's clock and keeps a "before" screenshot. Its state is a
small JSON file per terminal in the user's state folder (``platformdirs.user_state_dir``).

``tsdtool repro stop`` runs ``collect`` with logcat limited to the window since the marker:
from the marker's own log timestamp, or — when the log has rotated it away — from the
clock reading taken at start. The bundle's manifest records the window and the device-side
write under ``options.repro``; the "before" screenshot is stored as
``attachments/repro-before.png`` next to collect's own (the "after") ``screenshot.png``.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from tsdtool import errors
from tsdtool.paths import safe_component

TAG = "tsdtool"
BEFORE_NAME = "repro-before.png"
_MARKER_TIME = "%Y-%m-%d %H:%M:%S"


def state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("tsdtool")) / "repro"


@dataclass
class ReproState:
    """What ``start`` remembers for ``stop``."""

    id: str
    serial: str
    started_epoch: int  # the terminal's clock (date +%s) just before the marker
    started_local: str  # the same instant on the terminal's wall clock, "YYYY-mm-dd HH:MM:SS"
    marker: str  # the message written with `log -t tsdtool`
    before: str | None = None  # local path of the "before" screenshot
    device_actions: list[dict[str, str]] = field(default_factory=list)


def _state_file(folder: Path, serial: str) -> Path:
    return folder / f"{safe_component(serial)}.json"


def start(device: Any, folder: Path | None = None) -> ReproState:
    """Mark the log of ``device`` (a :class:`~tsdtool.transport.adb.Device`) and remember the moment."""
    from tsdtool.collectors import screenshot
    from tsdtool.collectors.logs import device_clock

    folder = folder or state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    epoch, local = device_clock(device)
    repro_id = secrets.token_hex(4)
    marker = f"repro-start {repro_id}"
    command = ["log", "-t", TAG, marker]
    result = device.shell(command)
    if not result.ok:
        raise errors.TransferError(f"could not write the marker into the log: {result.error_text()}")
    state = ReproState(repro_id, device.serial, epoch, local.strftime(_MARKER_TIME), marker,
                       device_actions=[{"action": "log", "command": " ".join(command),
                                        "at": local.strftime(_MARKER_TIME)}])
    try:
        shot = screenshot.capture(device)
        path = folder / f"{safe_component(device.serial)}-{repro_id}-before.png"
        path.write_bytes(shot.data)
        state.before = str(path)
    except errors.TsdError:
        state.before = None  # the window is still worth collecting without the picture
    _state_file(folder, device.serial).write_text(json.dumps(asdict(state), indent=2), "utf-8")
    return state


def load(serial: str | None, folder: Path | None = None) -> ReproState:
    """The running repro of ``serial``, or the only one when no serial is given."""
    folder = folder or state_dir()
    files = [_state_file(folder, serial)] if serial else sorted(folder.glob("*.json"))
    files = [f for f in files if f.is_file()]
    if len(files) != 1:
        what = f"for {serial}" if serial else ("at all" if not files else f"for {len(files)} terminals")
        raise errors.UsageError(f"no single repro running {what}",
                                fix="run `tsdtool repro start` first, or pass -s SERIAL")
    try:
        return ReproState(**json.loads(files[0].read_text("utf-8")))
    except (ValueError, TypeError) as exc:
        raise errors.UsageError(f"{files[0]}: not a repro state file ({exc})") from exc


def marker_time(device: Any, state: ReproState) -> str | None:
    """The marker's own log time ("YYYY-mm-dd HH:MM:SS", the terminal's clock), or None if gone."""
    from tsdtool.parsers import logcat

    out = device.shell(["logcat", "-d", "-v", "threadtime", "-b", "main", f"{TAG}:I", "*:S"]).stdout
    for line in logcat.parse(out):
        if line.tag == TAG and line.message.strip() == state.marker:
            year = state.started_local[:4]
            return f"{year}-{line.timestamp[:14]}"
    return None


def stop(adb: Any, serial: str | None, options: Any, folder: Path | None = None, **kwargs: Any) -> Any:
    """Collect the window since ``start`` (a :class:`~tsdtool.bundle.collect.CollectOptions` given).

    Returns the :class:`~tsdtool.bundle.collect.CollectResult`; the state file is removed once
    the bundle exists.
    """
    from tsdtool.bundle.collect import collect

    if options.since:
        raise errors.UsageError("repro stop sets the log window itself (since `repro start`)",
                                fix="leave out --since")
    folder = folder or state_dir()
    state = load(serial or adb.env.get("ANDROID_SERIAL"), folder)
    device = adb.select(state.serial)
    found = marker_time(device, state)
    since = found or state.started_local
    repro = {"id": state.id, "started_at": state.started_local, "since": since,
             "window_from": "marker" if found else "clock at start", "device_actions": state.device_actions,
             "before": BEFORE_NAME if state.before else None, "after": "screenshot.png"}
    with tempfile.TemporaryDirectory() as tmp:
        extra = list(options.extra_files)
        if state.before and Path(state.before).is_file():
            # A screenshot of the terminal, not one of the person's attachments (GRSoft counts
            # attachments as its exchange folder).
            copy = Path(tmp) / BEFORE_NAME
            copy.write_bytes(Path(state.before).read_bytes())
            extra.append((copy, BEFORE_NAME, "screenshot"))
        else:
            repro["before"] = None
        result = collect(adb, state.serial, replace(options, since=since, extra_files=extra, repro=repro),
                         **kwargs)
    _state_file(folder, state.serial).unlink(missing_ok=True)
    if state.before:
        Path(state.before).unlink(missing_ok=True)
    return result


def started_at(state: ReproState) -> datetime:
    return datetime.strptime(state.started_local, _MARKER_TIME)
