"""Which toybox applets a terminal's ``/system/bin`` has, by Android release (SDK level).

Evidence is cited per entry; where the fake has none it says so. The real-shell backend
links only these names to Debian's toybox; everything else is ``inaccessible or not found``.
"""

from __future__ import annotations

import subprocess
from functools import cache

# toybox arrived with Android 6.0 (SDK 23); before it /system/bin had toolbox, whose ls/ps/…
# print other formats. tar came with toybox (the Python emulation says the same).
FIRST_TOYBOX_SDK = 23

# Applets the fake never links, whatever the release: Android has its own (sh is mksh, getprop,
# log, … are Android programs, date/df/uptime answer from the fixture), or they would act on
# the host (mount, kill, reboot, …).
NEVER = frozenset({
    "sh", "getprop", "setprop", "log", "date", "df", "uptime", "su", "login", "passwd", "mount", "umount",
    "reboot", "halt", "poweroff", "kill", "killall", "killall5", "pkill", "swapon", "swapoff", "insmod",
    "rmmod", "modprobe", "chroot", "switch_root", "pivot_root", "unshare", "nsenter", "hwclock",
    "ifconfig", "sysctl", "oneit", "init", "httpd", "sntp", "wget", "ftpget", "ftpput", "nbd-server",
    "nbd-client", "mkswap", "losetup", "blkdiscard", "freeramdisk", "fsfreeze", "devmem", "rtcwake",
    "chvt", "openvt", "deallocvt", "watchdog", "tunctl", "vconfig",
})


@cache
def debian_applets() -> frozenset[str]:
    """What the installed Debian toybox provides (``toybox`` with no arguments lists them)."""
    out = subprocess.run(["toybox"], capture_output=True, text=True, check=False).stdout
    return frozenset(out.split())


def applets_for(sdk: int) -> list[str]:
    """Applet names linked into /system/bin for a terminal of this SDK level."""
    names = set(debian_applets()) - NEVER
    if sdk < FIRST_TOYBOX_SDK:
        names.discard("tar")
    return sorted(names)
