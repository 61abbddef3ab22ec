"""`pm list packages [-f] [--show-versioncode] [-U] [-i]` → one :class:`ListedPackage` per line.

Line shape (AOSP PackageManagerShellCommand.java ``runListPackages``)::

    package:[<apk path>=]<name>[ versionCode:<n>][ uid:<n>][  installer=<pkg>]

The APK path may itself contain ``=`` (``/data/app/~~Ab==/com.x-Cd==/base.apk`` on
Android 11+), so the name is what follows the *last* ``=`` of the first field. A name that is no package
name is skipped: every name listed goes on to ``dumpsys package NAME``, where a hostile
terminal's ``-x`` or ``--checkin`` would be an option, quoted or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tsdtool.parsers import lines

# AOSP ParsingPackageUtils.validateName: '.'-separated segments, each a letter then letters, digits
# or '_' (a system package such as "android" may have one segment).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class ListedPackage:
    name: str
    path: str | None = None  # with -f
    version_code: int | None = None  # with --show-versioncode
    uid: int | None = None  # with -U
    installer: str | None = None  # with -i ("null" when sideloaded)


def parse(data: bytes) -> list[ListedPackage]:
    """Every ``package:`` line naming a package, in device order; other lines (errors, blanks) are skipped."""
    packages = []
    for line in lines(data):
        line = line.strip()
        if not line.startswith("package:"):
            continue
        fields = line[len("package:") :].split()
        if not fields:
            continue
        path, _, name = fields[0].rpartition("=")
        if not _NAME.fullmatch(name):
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
