"""Read what a support desk asks first: which terminal, which Android build, which vendor firmware.

Standard facts (AOSP properties with their Android 10+ partition fallbacks, such as
``ro.product.vendor.model`` when ``ro.product.model`` is absent) are declared in
``device_profiles/generic.toml``; vendor facts in the matching vendor's profile.
Nothing vendor-specific lives in code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tsdtool import console, errors
from tsdtool.devices import profiles
from tsdtool.parsers import getprop
from tsdtool.transport.adb import Device

# What read() asks every terminal besides the profiles' own commands: getprop, the managed-device
# facts (tsdtool.devices.managed) and the runtime facts below. The facts collector asks them in
# one batch (Prefetched), not one round trip each.
QUERIES = (
    ("getprop",), ("pm", "list", "packages"), ("dumpsys", "battery"), ("df", "-k", "/data", "/sdcard"),
    ("cat", "/proc/uptime"), ("dumpsys", "device_policy"), ("dumpsys", "activity", "activities"), ("dumpsys", "user"),
)


class Prefetched:
    """A Device whose ``shell()`` answers the given commands from one batch asked up front
    (:meth:`Device.shell_batch`: read-only commands, the same answer however often asked);
    other commands, and all of them when the batch failed, are asked one by one as usual,
    so a failure shows where it would have."""

    def __init__(self, device: Device, commands: Sequence[Sequence[str]] = QUERIES):
        self._device = device
        try:
            results = device.shell_batch(commands)
        except errors.TsdError:
            results = []
        self._answers = {tuple(args): result for args, result in zip(commands, results, strict=False)}

    def shell(self, args: Sequence[str], **kwargs: Any) -> Any:
        found = self._answers.get(tuple(args))
        return found if found is not None and not kwargs else self._device.shell(args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._device, name)


def standard_facts(profile_set: profiles.ProfileSet, props: dict[str, str],
                   device: Device | None = None) -> dict[str, str | None]:
    """The facts every profile inherits (declared in device_profiles/generic.toml)."""
    run = device.shell if device else _no_shell
    return {name: fv.value for name, fv in profiles.read_standard(profile_set, props, run).items()}


def _no_shell(args):
    raise errors.RemoteFileError("no shell while listing")


def read_props(device: Device) -> dict[str, str]:
    return getprop.parse(device.shell(["getprop"]).stdout)


def read(device: Device, *, profile_dirs: Sequence[Path] = (), extended: bool = True) -> dict[str, Any]:
    """Everything `tsdtool info` shows, as a flat JSON-ready dict with stable snake_case keys."""
    props = read_props(device)
    profile_set = profiles.load_device_profiles(profile_dirs)
    for warning in profile_set.warnings:
        console.warn(warning)
    info: dict[str, Any] = {"serial": device.serial, "transport": device.entry.transport}
    standard = standard_facts(profile_set, props, device)
    info["hardware_serial"] = standard.pop("serial", None)
    info.update(standard)
    installed = None
    if extended:
        from tsdtool.devices import managed

        installed = managed.installed_packages(device.shell)  # one listing: vendor evidence and EMM agents
    # adb does not report the USB vendor id; vendor packages count only when the list was read
    match = profiles.match(profile_set, props, None, installed[0] if installed else None)
    info["profile"] = match.profile.id
    info["vendor"] = match.profile.name
    info["profile_match"] = match.rule
    info["profile_confidence"] = match.confidence
    info["profile_evidence"] = [e.to_dict() for e in match.evidence]
    info["profile_rejected"] = list(match.rejected)
    facts = profiles.read_facts(match.profile, props, device.shell)
    info["vendor_facts"] = {name: fv.value for name, fv in facts.items()}
    if extended:
        info.update(runtime_facts(device))
        known = [profile_set.fallback, match.profile]
        info["managed"] = managed.to_dict(managed.read(device.shell, known, installed))
    return info


def runtime_facts(device: Device) -> dict[str, Any]:
    """Battery, storage and uptime: what changes while the terminal runs."""
    from tsdtool.parsers import df as df_parser  # not needed by `devices`, which imports this module
    from tsdtool.parsers import dumpsys_battery, uptime

    out: dict[str, Any] = {}
    battery = dumpsys_battery.parse(device.shell(["dumpsys", "battery"]).stdout)
    out["battery_level"] = dumpsys_battery.level(battery)
    out["charging"] = dumpsys_battery.charging(battery)
    # df prints one row per argument, in order; /sdcard shows as its backing mount
    # (/storage/emulated on FUSE), so rows are matched by position, not by mount name.
    rows = df_parser.parse(device.shell(["df", "-k", "/data", "/sdcard"]).stdout)
    for i, label in enumerate(("data", "sdcard")):
        row = rows[i] if len(rows) == 2 else None
        out[f"storage_{label}_free_kb"] = row.avail_kb if row else None
        out[f"storage_{label}_total_kb"] = row.size_kb if row else None
    seconds = uptime.parse(device.shell(["cat", "/proc/uptime"]).stdout)
    out["uptime_s"] = int(seconds) if seconds is not None else None
    return out
