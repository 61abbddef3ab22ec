"""`dumpsys package PKG` → :class:`PackageInfo` of that one package.

The settings block starts ``  Package [com.example] (1a2b3c4):`` and holds ``key=value``
lines (AOSP services/core/java/com/android/server/pm/Settings.java ``dumpPackageLPr``).
Formats seen on terminals:

* Android 5–6: ``versionCode=42 targetSdk=23``; times and ``dataDir=`` in the block.
* Android 7–12: ``versionCode=42 minSdk=24 targetSdk=25``.
* Android 13+: ``dataDir=`` and ``firstInstallTime=`` moved under each ``User N:`` line,
  indented deeper — the first (user 0) wins.

An updated system app is printed twice: the installed copy under ``Packages:``, then the
factory copy under ``Hidden system packages:``. The first block is the one in use.
An unknown package prints ``Unable to find package: NAME`` (or nothing on old releases).
"""

from __future__ import annotations

from dataclasses import dataclass

from tsdtool.parsers import lines


@dataclass(frozen=True)
class PackageInfo:
    name: str
    version_name: str | None = None
    version_code: int | None = None
    min_sdk: int | None = None
    target_sdk: int | None = None
    first_install_time: str | None = None  # as printed: "2024-01-01 12:00:00"
    last_update_time: str | None = None
    code_path: str | None = None
    data_dir: str | None = None
    flags: tuple[str, ...] = ()  # union of flags=[…] and pkgFlags=[…]
    debuggable: bool = False  # DEBUGGABLE flag: `run-as` works, private files can be pulled
    system: bool = False  # SYSTEM flag: preinstalled in the firmware image


def parse(data: bytes, package: str) -> PackageInfo | None:
    """The first settings block of `package`, or None when the output has none."""
    block = _block(lines(data), package)
    if block is None:
        return None
    values: dict[str, str] = {}
    flags: list[str] = []
    for line in block:
        stripped = line.strip()
        if stripped.startswith(("flags=[", "pkgFlags=[")):
            flags += [f for f in stripped.split("[", 1)[1].rstrip("]").split() if f not in flags]
            continue
        if stripped.startswith("versionName="):  # the rest of the line, spaces included
            values.setdefault("versionName", stripped[len("versionName=") :].strip())
            continue
        for key, value in _fields(stripped):
            values.setdefault(key, value)
    return PackageInfo(
        name=package,
        version_name=values.get("versionName"),
        version_code=_int(values.get("versionCode")),
        min_sdk=_int(values.get("minSdk")),
        target_sdk=_int(values.get("targetSdk")),
        first_install_time=values.get("firstInstallTime"),
        last_update_time=values.get("lastUpdateTime"),
        code_path=values.get("codePath"),
        data_dir=_path(values.get("dataDir")),
        flags=tuple(flags),
        debuggable="DEBUGGABLE" in flags,
        system="SYSTEM" in flags,
    )


def _block(all_lines: list[str], package: str) -> list[str] | None:
    header = f"Package [{package}] ("
    for i, line in enumerate(all_lines):
        if line.lstrip().startswith(header):
            indent = len(line) - len(line.lstrip())
            block = []
            for following in all_lines[i + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break  # next package, or a section such as "Hidden system packages:"
                block.append(following)
            return block
    return None


def _fields(line: str) -> list[tuple[str, str]]:
    """``a=1 b=2`` pairs of one line; times keep their space (``2024-01-01 12:00:00``)."""
    if line.startswith(("firstInstallTime=", "lastUpdateTime=", "timeStamp=")):
        key, _, value = line.partition("=")
        return [(key, value.strip())]
    pairs = []
    for token in line.split():
        key, sep, value = token.partition("=")
        if sep and key.isalpha():
            pairs.append((key, value))
    return pairs


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() else None


def _path(text: str | None) -> str | None:
    return None if text in (None, "", "null") else text
