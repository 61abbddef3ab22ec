"""`tsdtool apps`: versions and install times of the apps that matter.

The list comes from ``pm list packages`` (third-party only by default, ``-3``); each chosen
package's details from ``dumpsys package NAME``, whose layout differs between Android 5–7
and 11–14 (the parser copes with both).
"""

from __future__ import annotations

import fnmatch
from typing import Any

from tsdtool.parsers import dumpsys_package, pm_list
from tsdtool.transport.adb import Device

FIELDS = ("package", "version_name", "version_code", "first_install_time", "last_update_time", "debuggable")


def read_apps(device: Device, pattern: str | None = None) -> list[dict[str, Any]]:
    """One dict per package matching the glob (default: every third-party package)."""
    listing = device.shell(["pm", "list", "packages"] + ([] if pattern else ["-3"]))
    names = sorted({p.name for p in pm_list.parse(listing.stdout)})
    if pattern:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    apps = []
    for name in names:
        info = dumpsys_package.parse(device.shell(["dumpsys", "package", name]).stdout, name)
        row = {"package": name, **{f: getattr(info, f, None) for f in FIELDS[1:]}}
        apps.append(row)
    return apps
