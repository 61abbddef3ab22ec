"""`tsdtool devices`: every attached terminal, its state, and the fix when it is not usable."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tsdtool import errors
from tsdtool.transport.adb import Adb, state_fix


def list_devices(adb: Adb, *, profile_dirs: Sequence[Path] = (), identify: bool = True) -> list[dict[str, Any]]:
    """One dict per terminal; usable ones are identified through their vendor profile."""
    from tsdtool import threads
    from tsdtool.devices import facts, profiles

    entries = adb.devices()
    usable = [e for e in entries if e.state == "device"] if identify else []
    # The profiles (~30 ms of TOML) are parsed while the terminals answer getprop.
    profile_set = threads.beside(profiles.load_device_profiles, profile_dirs, name="tsdtool-profiles") \
        if usable else None
    props: dict[str, dict[str, str] | errors.TsdError] = {}
    for entry in usable:
        try:
            props[entry.serial] = facts.read_props(adb.device(entry))
        except errors.TsdError as exc:  # one bad terminal must not hide the others
            props[entry.serial] = exc
    parsed = profile_set() if profile_set is not None else None
    rows = []
    for entry in entries:
        row: dict[str, Any] = {
            "serial": entry.serial, "state": entry.state, "transport": entry.transport,
            "model": entry.model.replace("_", " ") or None, "product": entry.product or None,
            "vendor": None, "profile": None, "fix": state_fix(entry.state) or None,
        }
        got = props.get(entry.serial) if parsed is not None else None
        if isinstance(got, errors.TsdError):
            row["fix"] = got.one_line()
        elif got is not None:
            try:
                match = profiles.match(parsed, got, None)
                row.update(vendor=match.profile.name, profile=match.profile.id,
                           model=facts.standard_facts(parsed, got)["model"] or row["model"])
            except errors.TsdError as exc:
                row["fix"] = exc.one_line()
        rows.append(row)
    return rows
