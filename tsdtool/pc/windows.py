"""Bundle item ``pc/windows.json``: the Windows version and bitness.

On a live Windows (and only there) the version comes from the registry key
``HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion`` (ProductName, DisplayVersion,
CurrentBuild, UBR); Windows 11 still says "Windows 10" in ProductName, so a build of 22000
or later is reported as Windows 11 (Microsoft's own rule: Windows 11 is build 22000+). The
bitness is the OS's, not this Python's: PROCESSOR_ARCHITEW6432 is set for a 32-bit process
on 64-bit Windows, PROCESSOR_ARCHITECTURE otherwise.

Under ``--pc-root`` the same key is read from the hive file Windows/System32/config/SOFTWARE
(:mod:`tsdtool.pc.hive`); a hive that is missing or unreadable leaves the version "unknown"
with the reason. The bitness is read from the tree: ``Windows/SysWOW64`` (the 32-bit system
folder) exists only on 64-bit Windows.
"""

from __future__ import annotations

import json
import os
import sys

from tsdtool.collectors.base import Collector, Context
from tsdtool.pc.common import pc_root
from tsdtool.pc.root import PcRoot

KIND = "pc"
_KEY = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
HIVE = "Windows/System32/config/SOFTWARE"
_ARCH = {"AMD64": "64-bit", "ARM64": "64-bit (ARM64)", "x86": "32-bit", "IA64": "64-bit (Itanium)"}


def read_windows(root: PcRoot) -> dict:
    if root.live and sys.platform == "win32":
        return _live()
    windows = root.first(["Windows"])
    if windows is None:
        return {"found": False, "reason": f"no Windows folder under {root.path}: not a Windows drive"}
    wow = root.first(["Windows/SysWOW64"])
    facts = {"found": True, "bitness": "64-bit" if wow is not None else "32-bit",
             "bitness_source": "Windows/SysWOW64 present" if wow is not None else "no Windows/SysWOW64"}
    facts.update(_offline_version(root))
    return facts


def _offline_version(root: PcRoot) -> dict:
    from tsdtool.pc import hive

    path = root.first([HIVE])
    if path is None:
        return {"version": "unknown", "version_reason": f"no {HIVE} under the PC root"}
    try:
        values = hive.read_values(path, _KEY.removeprefix("SOFTWARE\\"))
    except (hive.HiveError, KeyError, OSError, UnicodeDecodeError, ValueError) as exc:
        return {"version": "unknown", "version_reason": f"{HIVE}: {exc or type(exc).__name__}"}
    return {"version": describe(values, "")["version"], "version_source": f"{HIVE} {_KEY}"}


def _live() -> dict:
    import winreg  # Windows only: imported here, never at module import

    values: dict[str, object] = {}
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, _KEY) as key:
        for name in ("ProductName", "DisplayVersion", "ReleaseId", "CurrentBuild", "UBR", "EditionID"):
            try:
                values[name] = winreg.QueryValueEx(key, name)[0]
            except OSError:
                pass
    return describe(values, os.environ.get("PROCESSOR_ARCHITEW6432") or os.environ.get("PROCESSOR_ARCHITECTURE", ""))


def describe(values: dict, arch: str) -> dict:
    """The registry values as the desk reads them: "Windows 11 Pro 23H2 (build 22631.2861)"."""
    build = str(values.get("CurrentBuild", ""))
    product = str(values.get("ProductName", "Windows"))
    if build.isdigit() and int(build) >= 22000:
        product = product.replace("Windows 10", "Windows 11")
    release = values.get("DisplayVersion") or values.get("ReleaseId") or ""
    full_build = f"{build}.{values['UBR']}" if build and "UBR" in values else build
    text = " ".join(str(p) for p in (product, release) if p) + (f" (build {full_build})" if full_build else "")
    return {"found": True, "version": text, "version_source": "registry " + _KEY,
            "bitness": _ARCH.get(arch, arch or "unknown"), "bitness_source": "PROCESSOR_ARCHITECTURE"}


class WindowsCollector(Collector):
    name = "pc/windows.json"
    kind = KIND

    def collect(self, ctx: Context) -> None:
        root = pc_root(ctx)
        facts = read_windows(root)
        ctx.facts.setdefault("pc", {})["windows"] = facts
        if not facts.get("found"):
            ctx.out.skip(self.name, str(root.path), facts["reason"], kind=KIND)
            return
        data = json.dumps(facts, indent=2, ensure_ascii=False).encode("utf-8")
        ctx.out.write_bytes(self.name, data, "registry" if root.live else "pc root", kind=KIND)
