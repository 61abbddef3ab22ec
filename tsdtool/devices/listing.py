"""`tsdtool devices`: every attached terminal, its state, and the fix when it is not usable."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tsdtool import errors
from tsdtool.transport.adb import Adb, state_fix


def list_devices(adb: Adb, *, profile_dirs: Sequence[Path] = (), identify: bool = True) -> list[dict[str, Any]]:
    """One dict per terminal; usable ones are identified through their vendor profile."""
    from tsdtool.devices import facts, profiles

    entries = adb.devices()
    identify = identify and any(e.state == "device" for e in entries)
    profile_set = profiles.load_device_profiles(profile_dirs) if identify else None
    rows = []
    for entry in entries:
        row: dict[str, Any] = {
            "serial": entry.serial, "state": entry.state, "transport": entry.transport,
            "model": entry.model.replace("_", " ") or None, "product": entry.product or None,
            "vendor": None, "profile": None, "fix": state_fix(entry.state) or None,
        }
        if identify and entry.state == "device":
            try:
                props = facts.read_props(adb.device(entry))
                match = profiles.match(profile_set, props, None)
                row.update(vendor=match.profile.name, profile=match.profile.id,
                           model=facts.standard_facts(profile_set, props)["model"] or row["model"])
            except errors.TsdError as exc:  # one bad terminal must not hide the others
                row["fix"] = exc.one_line()
        rows.append(row)
    return rows
