"""Run one job on every attached terminal at once: a USB hub of terminals, a farm of emulators.

Terminals not in `device` state are listed with their fix and never block the rest.
Parallelism is bounded (``jobs``): several terminals share one USB 2.0 bus and one adb server.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tsdtool import errors
from tsdtool.errors import ExitCode
from tsdtool.transport.adb import Adb, Device, state_fix

DEFAULT_JOBS = 4


@dataclass
class FleetResult:
    serial: str
    state: str
    exit_code: int  # 0 ok, 3 partial, 4 unavailable, …
    value: Any = None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "state": self.state, "exit_code": int(self.exit_code),
                "error": self.error or None, "result": self.value}


def run_each(adb: Adb, work: Callable[[Device], tuple[int, Any]], jobs: int = DEFAULT_JOBS) -> list[FleetResult]:
    """Call ``work(device)`` (returning ``(exit_code, value)``) on every usable terminal."""
    entries = adb.devices()
    results = {e.serial: FleetResult(e.serial, e.state, ExitCode.DEVICE_UNAVAILABLE,
                                     error=f"{e.state}: {state_fix(e.state)}")
               for e in entries if e.state != "device"}

    def guarded(entry) -> FleetResult:
        try:
            code, value = work(adb.device(entry))
            return FleetResult(entry.serial, entry.state, code, value)
        except errors.TsdError as exc:
            return FleetResult(entry.serial, entry.state, exc.exit_code, error=exc.one_line())

    usable = [e for e in entries if e.state == "device"]
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="tsd-fleet") as pool:
        for result in pool.map(guarded, usable):
            results[result.serial] = result
    return [results[e.serial] for e in entries]


def overall(results: list[FleetResult]) -> int:
    """0 when every terminal succeeded; 3 when any was partial or skipped; 4 when none was usable."""
    if not results or all(r.exit_code == ExitCode.DEVICE_UNAVAILABLE for r in results):
        return ExitCode.DEVICE_UNAVAILABLE
    return ExitCode.OK if all(r.exit_code == 0 for r in results) else ExitCode.PARTIAL
