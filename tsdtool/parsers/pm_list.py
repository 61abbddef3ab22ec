"""`pm list packages [-f] [--show-versioncode] [-U] [-i]` → one :class:`ListedPackage` per line.

Line shape (AOSP PackageManagerShellCommand.java ``runListPackages``)::

    package:[<apk path>=]<name>[ versionCode:<n>][ uid:<n>][  installer=<pkg>]

The APK path may itself contain ``=`` (``/data/app/~~Ab==/com.x-Cd==/base.apk`` on
Android 11+), so the name is what follows the *last* ``=`` of the first field.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsdtool.parsers import lines


@dataclass(frozen=True)
class ListedPackage:
    name: str
    path: str | None = None  # with -f
    version_code: int | None = None  # with --show-versioncode
    uid: int | None = None  # with -U
    installer: str | None = None  # with -i ("null" when sideloaded)


def parse(data: bytes) -> list[ListedPackage]:
    """Every ``package:`` line, in device order; other lines (errors, blanks) are skipped."""
    packages = []
    for line in lines(data):
        line = line.strip()
        if not line.startswith("package:"):
            continue
        fields = line[len("package:") :].split()
        if not fields:
            continue
        path, _, name = fields[0].rpartition("=")
        if not name:
            continue
        extra = {}
        for token in fields[1:]:
            key, sep, value = token.replace("=", ":", 1).partition(":")
            if sep:
                extra[key] = value
        packages.append(
            ListedPackage(
                name=name,
                path=path or None,
                version_code=_int(extra.get("versionCode")),
                uid=_int(extra.get("uid")),
                installer=extra.get("installer"),
            )
        )
    return packages


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() else None
