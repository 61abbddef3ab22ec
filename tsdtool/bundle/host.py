"""Facts about the PC the terminal is plugged into: desks ask for its OS, version and bitness.

The OS bitness is not Python's: a 32-bit Python on 64-bit Windows runs under WOW64, where
``PROCESSOR_ARCHITECTURE`` says ``x86`` and ``PROCESSOR_ARCHITEW6432`` holds the real one.
"""

from __future__ import annotations

import os
import platform
import struct
from collections.abc import Mapping
from typing import Any

import tsdtool

_64BIT_MACHINES = {"x86_64", "amd64", "arm64", "aarch64", "ppc64", "ppc64le", "s390x", "riscv64", "ia64"}


def bitness(machine: str, env: Mapping[str, str]) -> int:
    """32 or 64: the operating system's word size, seen through WOW64 on Windows."""
    real = env.get("PROCESSOR_ARCHITEW6432") or machine
    return 64 if real.lower() in _64BIT_MACHINES else 32


def os_name_version(system: str) -> tuple[str, str]:
    """A name and version a person recognises ("Windows", "10.0.19045"; "Debian GNU/Linux", "12")."""
    if system == "Windows":
        release, version, _csd, _ptype = platform.win32_ver()
        edition = platform.win32_edition() or ""
        return f"Windows {release} {edition}".strip(), version
    if system == "Darwin":
        return "macOS", platform.mac_ver()[0]
    if system == "Linux":
        try:
            release = platform.freedesktop_os_release()
            return release.get("NAME", "Linux"), release.get("VERSION") or release.get("VERSION_ID", "")
        except OSError:
            pass
    return system or "unknown", platform.release()


def read(adb: Any | None = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Host facts for the manifest; the adb server version only when ``adb`` answers."""
    env = os.environ if env is None else env
    system = platform.system()
    name, version = os_name_version(system)
    facts: dict[str, Any] = {
        "os_name": name,
        "os_version": version,
        "os_bitness": bitness(platform.machine(), env),
        "kernel": f"{system} {platform.release()}".strip(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "python_bitness": struct.calcsize("P") * 8,
        "tool_version": tsdtool.__version__,
        "adb_server_version": None,
        "adb_server": None,
    }
    if adb is not None:
        facts["adb_server"] = str(adb.address)
        try:
            # The server answers host:version with its protocol number; adb prints 1.0.<n>.
            facts["adb_server_version"] = f"1.0.{adb.server_version()}"
        except Exception as exc:  # noqa: BLE001 - a fact we could not read is recorded, not fatal
            facts["adb_server_error"] = str(exc)
    return facts
