"""``dumpsys device_policy``: who manages the terminal, and which user restrictions apply.

Format (frameworks/base DevicePolicyManagerService and ``Owners.dump``)::

    Current Device Policy Manager state:
      Immutable state:
        mHasFeature=true
      Device Owner:
        admin=ComponentInfo{com.example.dpc/com.example.dpc.AdminReceiver}
        name=
        package=com.example.dpc
        User ID: 0
      Profile Owner (User 10):
        admin=ComponentInfo{…}
        package=…

A restricting admin lists its ``userRestrictions`` one key per line (``no_debugging_features``);
``dumpsys user`` prints the effective restrictions the same way. A shell without the DUMP
permission gets one ``Permission Denial: can't dump …`` line instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tsdtool.parsers import lines

_OWNER = re.compile(r"^\s*(Device Owner|Profile Owner \(User (?P<user>\d+)\)):\s*$")
_PACKAGE = re.compile(r"^\s*package=(?P<pkg>[A-Za-z0-9_.]+)\s*$")
_ADMIN = re.compile(r"^\s*admin=ComponentInfo\{(?P<pkg>[A-Za-z0-9_.]+)/")
_RESTRICTION = re.compile(r"^\s+(?P<key>(?:no|disallow|ensure)_[a-z0-9_]+)\s*$")
_FEATURE = re.compile(r"^\s*mHasFeature=(?P<value>true|false)\s*$")


@dataclass(frozen=True)
class DevicePolicy:
    """What one dump says. ``readable`` is False for a permission denial or a missing service."""

    readable: bool
    denied: bool = False  # "Permission Denial" (no DUMP permission for the caller)
    has_feature: bool | None = None  # None when the dump does not say
    device_owner: str | None = None  # package
    profile_owners: dict[int, str] = field(default_factory=dict)  # user id → package
    restrictions: frozenset[str] = frozenset()


def is_denied(data: bytes) -> bool:
    """True when dumpsys refused the caller (the text is the same for every service)."""
    return b"Permission Denial" in data[:4096]


def restrictions(data: bytes) -> frozenset[str]:
    """Every user-restriction key listed on a line of its own (``no_debugging_features``)."""
    return frozenset(m["key"] for line in lines(data) if (m := _RESTRICTION.match(line)))


def parse(data: bytes) -> DevicePolicy:
    """Parse ``dumpsys device_policy`` output; garbage gives an unreadable result, never an error."""
    if is_denied(data):
        return DevicePolicy(False, denied=True)
    text = lines(data)
    if not any("Device Policy Manager" in line or "mHasFeature" in line for line in text):
        return DevicePolicy(False)
    feature: bool | None = None
    device_owner: str | None = None
    profiles: dict[int, str] = {}
    current: str | None = None  # "device" or a user id as text, while inside an owner block
    depth = 0  # indentation of the owner block's header line
    for line in text:
        indent = len(line) - len(line.lstrip())
        if current is not None and line.strip() and indent <= depth:
            current = None  # the owner block ended
        if m := _FEATURE.match(line):
            feature = m["value"] == "true"
        elif m := _OWNER.match(line):
            current, depth = (m["user"] or "device"), indent
        elif current is not None and (m := _PACKAGE.match(line) or _ADMIN.match(line)):
            if current == "device":
                device_owner = device_owner or m["pkg"]
            else:
                profiles.setdefault(int(current), m["pkg"])
    return DevicePolicy(True, False, feature, device_owner, profiles, restrictions(data))
