"""Parse the adb server's `host:devices-l` answer into :class:`DeviceEntry` values.

Line format (adb transport.cpp): ``"%-22s %s"`` serial and state, then for USB a devpath
``usb:1-1``, then ``product:X model:Y device:Z`` once the banner arrived, then
``transport_id:N``. The state may be several words ("no permissions (…); see [url]"),
so tags are recognised by their known keys, not by a colon alone.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tsdtool.transport.types import DeviceEntry

TAG_KEYS = ("usb", "product", "model", "device", "transport_id")
_TAG = re.compile(r"^({}):(\S*)$".format("|".join(TAG_KEYS)))
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[^\s:]+):\d+$")


def transport_of(serial: str, tags: dict[str, str]) -> str:
    """usb, tcp or emulator, from the serial's shape and the devpath tag."""
    if serial.startswith("emulator-"):
        return "emulator"
    if "usb" in tags:
        return "usb"
    if _HOST_PORT.match(serial) or "._adb-tls-connect._tcp" in serial:
        return "tcp"
    return "usb"


def parse_devices_l(text: str) -> list[DeviceEntry]:
    from tsdtool.transport.types import DeviceEntry  # here: wire.first_pull reads the list before dataclasses

    return [DeviceEntry(serial, state, transport_of(serial, tags), tags) for serial, state, tags in listed(text)]


def listed(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """Each listed terminal's serial, state and tags."""
    entries = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2:
            continue
        serial, rest = words[0], words[1:]
        state_words, tags = [], {}
        for word in rest:
            m = _TAG.match(word)
            if m and state_words:
                tags[m.group(1)] = m.group(2)
            elif not tags:
                state_words.append(word)
        if not state_words:
            continue
        entries.append((serial, " ".join(state_words), tags))
    return entries
