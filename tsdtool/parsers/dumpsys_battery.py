"""`dumpsys battery` → ``{key: value}`` plus the few readings a support desk asks for.

The output is ``key: value`` lines under ``Current Battery Service state:`` (AOSP
BatteryService.java ``dumpInternal``). Which lines exist varies by release and vendor —
``Charging state:``/``Charging policy:`` are recent, ``Max charging current:`` is from
Android 7, ``(UPDATES STOPPED …)`` follows the header after `dumpsys battery unplug` — so
keys are read by name, never by position.

Status codes are BatteryManager's: 1 unknown, 2 charging, 3 discharging, 4 not charging,
5 full.
"""

from __future__ import annotations

from tsdtool.parsers import lines

STATUS = {1: "unknown", 2: "charging", 3: "discharging", 4: "not charging", 5: "full"}
_POWER_SOURCES = ("AC", "USB", "Wireless", "Dock")


def parse(data: bytes) -> dict[str, str]:
    """Every ``key: value`` line, keys and values stripped; the first of a repeated key wins."""
    fields: dict[str, str] = {}
    for line in lines(data):
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if sep and key and value:
            fields.setdefault(key, value)
    return fields


def _int(fields: dict[str, str], key: str) -> int | None:
    text = fields.get(key, "")
    sign = text[:1] == "-"
    digits = text[sign:]
    return (-1 if sign else 1) * int(digits) if digits.isascii() and digits.isdigit() else None


def level(fields: dict[str, str]) -> int | None:
    """Charge in percent (``level`` scaled by ``scale``), or None when not reported."""
    value, scale = _int(fields, "level"), _int(fields, "scale")
    if value is None:
        return None
    if scale and scale != 100:
        return round(value * 100 / scale)
    return value


def status(fields: dict[str, str]) -> str | None:
    """``charging``, ``discharging``, ``not charging``, ``full``, ``unknown`` — or None."""
    code = _int(fields, "status")
    return STATUS.get(code, "unknown") if code is not None else None


def power_sources(fields: dict[str, str]) -> list[str]:
    """Which chargers are plugged in: any of AC, USB, Wireless, Dock."""
    return [s for s in _POWER_SOURCES if fields.get(f"{s} powered", "").lower() == "true"]


def charging(fields: dict[str, str]) -> bool | None:
    """True while the battery charges (status 2) or is full on a charger (status 5).

    Without a status line, any powered source counts; None when neither is reported.
    """
    code = _int(fields, "status")
    if code is not None:
        return code in (2, 5)
    if any(f"{s} powered" in fields for s in _POWER_SOURCES):
        return bool(power_sources(fields))
    return None


def temperature_c(fields: dict[str, str]) -> float | None:
    """Battery temperature in °C (dumpsys prints tenths of a degree)."""
    tenths = _int(fields, "temperature")
    return tenths / 10 if tenths is not None else None
