"""Fake udev records: objects with the attributes a pyudev.Device has, for doctor and watch tests."""

from __future__ import annotations

from dataclasses import dataclass, field

ADB_IF = {"bInterfaceClass": "ff", "bInterfaceSubClass": "42", "bInterfaceProtocol": "01"}
MTP_IF = {"bInterfaceClass": "06", "bInterfaceSubClass": "01", "bInterfaceProtocol": "01"}


@dataclass
class Record:
    """What doctor and watch read from a pyudev.Device."""

    subsystem: str
    device_type: str
    attributes: dict
    sys_name: str = ""
    children: list = field(default_factory=list)
    parent: object = None


def usb_device(vid="05e0", pid="2101", serial="21012345", sys_name="1-1", interfaces=(ADB_IF,), product="TC52",
               encode=False) -> Record:
    attrs = {"idVendor": vid, "idProduct": pid, "serial": serial, "manufacturer": "Zebra", "product": product}
    if encode:  # pyudev hands out bytes
        attrs = {k: v.encode() for k, v in attrs.items()}
    dev = Record("usb", "usb_device", attrs, sys_name)
    dev.children = [Record("usb", "usb_interface", dict(i), f"{sys_name}:1.{n}", parent=dev)
                    for n, i in enumerate(interfaces)]
    return dev
