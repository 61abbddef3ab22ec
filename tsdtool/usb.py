"""The USB bus as `doctor` and `watch` see it: the only module that imports pyudev.

pyudev is imported lazily and only on Linux, so ``tsdtool --help`` stays fast and other
systems get :class:`UsbUnavailable` with a reason instead of an ImportError.

Everything else works on *records*: objects with the attributes a ``pyudev.Device`` has
(``subsystem``, ``device_type``, ``sys_name``, ``attributes`` with ``get(name)`` returning
bytes or str, ``children``). Tests feed plain objects; nothing here needs real udev.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsdtool.transport.types import DeviceEntry

# adb's USB interface: vendor-specific class 0xff, subclass 0x42, protocol 0x01
# (ADB_CLASS / ADB_SUBCLASS / ADB_PROTOCOL in AOSP adb's usb code).
ADB_INTERFACE = ("ff", "42", "01")
# libudev delivers no event at all when this is missing (no udevd: containers, WSL, chroots):
# a monitor opens fine and then stays silent forever.
UDEV_CONTROL = Path("/run/udev/control")


class UsbUnavailable(Exception):
    """The USB bus cannot be read here (not Linux, no pyudev, no udev access)."""


@dataclass(frozen=True)
class UsbDevice:
    """One device on the USB bus (a ``usb_device``, not one of its interfaces)."""

    vendor_id: str  # 4 lower-case hex digits, as in udev rules: "05e0"
    product_id: str
    serial: str  # iSerial: what adb lists as the serial of a USB terminal
    manufacturer: str
    product: str
    devpath: str  # sysfs name ("1-1.2"): adb -l shows it as the `usb:` tag
    adb_interface: bool  # one interface is ff/42/01

    @property
    def label(self) -> str:
        name = " ".join(p for p in (self.manufacturer, self.product) if p) or "USB device"
        return f"{name} ({self.vendor_id}:{self.product_id})"


def attr(record: Any, name: str) -> str:
    """One sysfs attribute as text ('' when missing); pyudev returns bytes."""
    try:
        value = record.attributes.get(name)
    except (KeyError, OSError, AttributeError):
        return ""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip()


def is_adb_interface(record: Any) -> bool:
    """True for a ``usb_interface`` record whose class/subclass/protocol is ff/42/01."""
    if getattr(record, "device_type", None) != "usb_interface":
        return False
    keys = ("bInterfaceClass", "bInterfaceSubClass", "bInterfaceProtocol")
    return tuple(attr(record, k).lower() for k in keys) == ADB_INTERFACE


def has_adb_interface(record: Any) -> bool:
    """True when one of the device's interfaces is the adb one (ff/42/01)."""
    return any(is_adb_interface(child) for child in getattr(record, "children", ()) or ())


def from_record(record: Any) -> UsbDevice | None:
    """A :class:`UsbDevice` for a ``usb``/``usb_device`` record; None for anything else."""
    if getattr(record, "subsystem", None) != "usb" or getattr(record, "device_type", None) != "usb_device":
        return None
    vendor = attr(record, "idVendor").lower()
    if not vendor:
        return None
    return UsbDevice(
        vendor_id=vendor,
        product_id=attr(record, "idProduct").lower(),
        serial=attr(record, "serial"),
        manufacturer=attr(record, "manufacturer"),
        product=attr(record, "product"),
        devpath=str(getattr(record, "sys_name", "") or ""),
        adb_interface=has_adb_interface(record),
    )


def terminals(records: Iterable[Any], vendor_ids: Mapping[str, str]) -> list[UsbDevice]:
    """USB devices that look like terminals: a known vendor id, or an adb interface."""
    found = []
    for record in records:
        dev = from_record(record)
        if dev and (dev.vendor_id in vendor_ids or dev.adb_interface):
            found.append(dev)
    return found


def find_entry(dev, entries: Sequence[DeviceEntry]) -> DeviceEntry | None:
    """The adb entry for a USB device (or a watch event: anything with ``serial`` and
    ``devpath``): same serial, else same devpath (the `usb:` tag of `adb devices -l`)."""
    for entry in entries:
        if dev.serial and entry.serial == dev.serial:
            return entry
    for entry in entries:
        if dev.devpath and entry.tags.get("usb") == dev.devpath:
            return entry
    return None


def udev_rule(vendor_id: str) -> str:
    """The udev rule line that gives the plugdev group access to this vendor's devices."""
    return f'SUBSYSTEM=="usb", ATTR{{idVendor}}=="{vendor_id}", MODE="0660", GROUP="plugdev"'


def known_vendor_ids(profile_dirs: Sequence[Path] = ()) -> dict[str, str]:
    """USB vendor id → vendor name, from the device profiles (vendor knowledge is data).

    A missing or broken profile set gives what could be read; it never raises.
    """
    try:
        from tsdtool.devices import profiles

        profile_set = profiles.load_device_profiles(profile_dirs)
    except Exception:  # a broken profile must not stop a diagnosis
        return {}
    ids: dict[str, str] = {}
    for profile in profile_set.profiles.values():
        for vid in profile.usb_vendor_ids:
            ids.setdefault(vid.lower(), profile.name)
    return ids


# -- pyudev (Linux only) ------------------------------------------------------------------
def _pyudev(system: str | None = None):
    system = system or platform.system()
    if system != "Linux":
        raise UsbUnavailable(f"reading the USB bus is not available on {system}")
    try:
        import pyudev
    except ImportError as exc:
        raise UsbUnavailable("pyudev is not installed (pip install pyudev)") from exc
    return pyudev


def scan(system: str | None = None) -> list[Any]:
    """Every ``usb_device`` on the bus now, as pyudev records."""
    pyudev = _pyudev(system)
    try:
        context = pyudev.Context()
        return list(context.list_devices(subsystem="usb", DEVTYPE="usb_device"))
    except (OSError, pyudev.DeviceNotFoundError) as exc:
        raise UsbUnavailable(f"cannot read udev ({exc})") from exc


def monitor(system: str | None = None, poll_s: float = 0.5) -> Iterator[tuple[str, Any]]:
    """``(action, record)`` for every usb device or interface added or removed, until closed.

    The netlink socket is opened now, so a failure raises :class:`UsbUnavailable` here and
    not at the first ``next()``.
    """
    mon = open_monitor(system)

    def events() -> Iterator[tuple[str, Any]]:
        while True:
            record = mon.poll(timeout=poll_s)  # short polls keep Ctrl-C responsive
            if record is not None and record.action in ("add", "remove"):
                yield record.action, record

    return events()


def open_monitor(system: str | None = None):
    pyudev = _pyudev(system)
    if not UDEV_CONTROL.exists():
        raise UsbUnavailable(f"udev is not running here (no {UDEV_CONTROL})")
    try:
        mon = pyudev.Monitor.from_netlink(pyudev.Context())
        mon.filter_by(subsystem="usb")  # devices and their interfaces (the adb one comes last)
        mon.start()
    except OSError as exc:
        raise UsbUnavailable(f"cannot listen to udev events ({exc})") from exc
    return mon
