"""Facts an app profile declares (``[[fact]]``): the project name in a crash log, a version.

Each fact names where its value is: a small device file read with ``head -c`` (at most
:data:`~tsdtool.apps.profiles.MAX_FACT_BYTES`, as the adb shell user: shared storage) or
the app's versionName. Sources are tried in the profile's order; the first that yields a
value wins, and every fact records where it came from so a desk can weigh it. Nothing is
written on the terminal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tsdtool.apps.profiles import MAX_FACT_BYTES, AppProfile
from tsdtool.transport.adb import Device


@dataclass(frozen=True)
class AppFactValue:
    name: str
    value: str
    source: str  # "/sdcard/Napoleon/crash.log" or "versionName"

    def to_dict(self) -> dict:
        return asdict(self)


def read_facts(device: Device, package: str, profile: AppProfile, version_name: str = "") -> dict[str, AppFactValue]:
    """The profile's facts found on the terminal, by name (names with no value are absent)."""
    found: dict[str, AppFactValue] = {}
    texts: dict[str, str] = {}
    for fact in profile.facts:
        if fact.name in found:
            continue
        if fact.version_name:
            source, text = "versionName", version_name
        else:
            source = fact.path(package)
            if source not in texts:
                texts[source] = _head(device, source)
            text = texts[source]
        value = fact.find(text)
        if value:
            found[fact.name] = AppFactValue(fact.name, value, source)
    return found


def _head(device: Device, path: str) -> str:
    result = device.shell(["head", "-c", str(MAX_FACT_BYTES), path])
    # A missing file or refused folder simply yields no fact; the log collectors say why.
    return result.stdout[:MAX_FACT_BYTES].decode("utf-8", "replace") if result.ok else ""


def field_defaults(values: dict[str, dict]) -> dict[str, str]:
    """Desk field defaults from ``ctx.facts["app_facts"][PACKAGE]``: facts whose name is a desk
    field (``project``), to offer for the person to confirm — the collect plan decides."""
    from tsdtool.bundle.fields import CATALOG

    return {name: v["value"] for name, v in values.items() if v.get("value") and name in CATALOG}
