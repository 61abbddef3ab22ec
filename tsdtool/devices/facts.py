"""Read what a support desk asks first: which terminal, which Android build, which vendor firmware.

Standard facts come from AOSP properties with the Android 10+ partition fallbacks
(``ro.product.vendor.model`` when ``ro.product.model`` is absent, …). Vendor facts come
from the matching profile in ``device_profiles/``; nothing vendor-specific lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tsdtool.parsers import df as df_parser
from tsdtool.parsers import dumpsys_battery, getprop
from tsdtool.transport.adb import Device

_PARTITIONS = ("", "vendor.", "system.", "odm.", "product.", "system_ext.")


def _product(key: str) -> list[str]:
    return [f"ro.product.{p}{key}" for p in _PARTITIONS]


def _build(key: str) -> list[str]:
    return [f"ro.{p}build.{key}" for p in _PARTITIONS]


# fact -> properties tried in order (AOSP names, not vendor knowledge)
STANDARD: dict[str, list[str]] = {
    "manufacturer": _product("manufacturer"),
    "brand": _product("brand"),
    "model": _product("model"),
    "device": _product("device"),
    "product": _product("name"),
    "android_release": _build("version.release"),
    "sdk": _build("version.sdk"),
    "build_id": _build("id"),
    "build_display": ["ro.build.display.id"],
    "fingerprint": _build("fingerprint") + ["ro.bootimage.build.fingerprint"],
    "security_patch": ["ro.build.version.security_patch", "ro.vendor.build.security_patch"],
    "build_type": _build("type"),
    "hardware": ["ro.hardware", "ro.boot.hardware"],
    "abi": ["ro.product.cpu.abi", "ro.system.product.cpu.abilist"],
}


def first_prop(props: dict[str, str], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = props.get(key, "").strip()
        if value:
            return value
    return None


def standard_facts(props: dict[str, str]) -> dict[str, str | None]:
    return {name: first_prop(props, keys) for name, keys in STANDARD.items()}


def read_props(device: Device) -> dict[str, str]:
    return getprop.parse(device.shell(["getprop"]).stdout)


def read(device: Device, *, profile_dirs: Sequence[Path] = (), extended: bool = True) -> dict[str, Any]:
    """Everything `tsdtool info` shows, as a flat JSON-ready dict with stable snake_case keys."""
    from tsdtool.devices import profiles

    props = read_props(device)
    info: dict[str, Any] = {"serial": device.serial, "transport": device.entry.transport}
    info.update(standard_facts(props))
    profile_set = profiles.load_device_profiles(profile_dirs)
    match = profiles.match(profile_set, props, device.entry.tags.get("usb_vendor_id"))
    info["profile"] = match.profile.id
    info["vendor"] = match.profile.name
    info["profile_match"] = match.rule
    facts = profiles.read_facts(match.profile, props, device.shell)
    info["vendor_facts"] = {name: fv.value for name, fv in facts.items()}
    if extended:
        info.update(runtime_facts(device))
    return info


def runtime_facts(device: Device) -> dict[str, Any]:
    """Battery, storage and uptime: what changes while the terminal runs."""
    out: dict[str, Any] = {}
    battery = dumpsys_battery.parse(device.shell(["dumpsys", "battery"]).stdout)
    out["battery_level"] = dumpsys_battery.level(battery)
    out["charging"] = dumpsys_battery.charging(battery)
    mounts = df_parser.parse(device.shell(["df", "-k", "/data", "/sdcard"]).stdout)
    for label, mount in (("data", "/data"), ("sdcard", "/sdcard")):
        row = next((m for m in mounts if m.mount == mount or m.mount.startswith(mount)), None)
        out[f"storage_{label}_free_kb"] = row.avail_kb if row else None
        out[f"storage_{label}_total_kb"] = row.size_kb if row else None
    uptime = device.shell(["cat", "/proc/uptime"]).text().split()
    try:
        out["uptime_s"] = int(float(uptime[0]))
    except (IndexError, ValueError):
        out["uptime_s"] = None
    return out
