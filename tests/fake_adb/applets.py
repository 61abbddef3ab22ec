"""Which toybox applets a terminal's ``/system/bin`` has, by Android release (SDK level).

Evidence (AOSP's own lists, as mirrored by LineageOS, github.com/LineageOS/android_external_toybox):

* ``ANDROID_8_0``: ``ALL_TOOLS`` of ``Android.mk`` at commit 0eb16182 — the Android 8.0 tree
  (``PRODUCT_FULL_TREBLE``/``toybox_vendor`` appear there, toybox 0.7.3 of 2017-02-21). It has
  ``tar`` but no ``gzip``: toybox's zlib gzip/gunzip/zcat landed upstream on 2017-04-26
  (landley/toybox de3e5ea4, released in 0.7.4), after that release.
* ``ANDROID_10``: ``symlinks`` of ``Android.bp`` at commit 02b5adaa — the Android 10 tree
  (``recovery_available``, ``libprocessgroup``, i2c tools, ``bc``): ``gzip``, ``gunzip``,
  ``zcat`` are there.

Unknown here (no list found): Android 8.1 and 9 (SDK 27–28) are given the 8.0 list, so no
gzip — gzip is certain only from SDK 29; Android 6–7 (SDK 23–25) are also given the 8.0 list;
before Android 6 (SDK < 23) /system/bin had toolbox, whose ls/ps print other formats — the
fake gives the same toybox applets without tar (as the Python emulation always did).
Applets in these lists that Debian's toybox lacks (SELinux tools, ``bc``, …) are absent in the
fake; ``gzip`` is the emulation's, handed over by the real shell and paced by ``[cpu]``
(Debian's toybox has none), see realshell.py.
"""

from __future__ import annotations

import subprocess
from functools import cache

ANDROID_8_0 = frozenset("""
acpi base64 basename blockdev cal cat chcon chgrp chmod chown chroot chrt cksum clear comm cmp cp
cpio cut date df diff dirname dmesg dos2unix du echo env expand expr fallocate false file find flock
free getenforce getprop groups head hostname hwclock id ifconfig inotifyd insmod ionice iorenice kill
killall load_policy ln log logname losetup ls lsmod lsof lsusb md5sum mkdir mkfifo mknod mkswap mktemp
microcom modinfo modprobe more mount mountpoint mv netstat nice nl nohup od paste patch pgrep pidof
pkill pmap printenv printf ps pwd readlink realpath renice restorecon rm rmdir rmmod runcon sed
sendevent seq setenforce setprop setsid sha1sum sha224sum sha256sum sha384sum sha512sum sleep sort
split start stat stop strings swapoff swapon sync sysctl tac tail tar taskset tee time timeout top
touch tr true truncate tty ulimit umount uname uniq unix2dos uptime usleep uudecode uuencode vmstat
wc which whoami xargs xxd yes
""".split())

ANDROID_10 = frozenset("""
acpi base64 basename bc blockdev cal cat chcon chgrp chmod chown chroot chrt cksum clear comm cmp cp
cpio cut date dd devmem df diff dirname dmesg dos2unix du echo env expand expr fallocate false file
find flock fmt free fsync getconf getenforce groups gunzip gzip head hostname hwclock i2cdetect
i2cdump i2cget i2cset iconv id ifconfig inotifyd insmod install ionice iorenice kill killall
load_policy ln log logname losetup ls lsmod lsof lspci lsusb md5sum mkdir mkfifo mknod mkswap mktemp
microcom modinfo modprobe more mount mountpoint mv nc netcat netstat nice nl nohup nproc nsenter od
paste patch pgrep pidof pkill pmap printenv printf ps pwd readlink realpath renice restorecon rm
rmdir rmmod runcon sed sendevent seq setenforce setsid sha1sum sha224sum sha256sum sha384sum
sha512sum sleep sort split stat strings stty swapoff swapon sync sysctl tac tail tar taskset tee
time timeout top touch tr true truncate tty ulimit umount uname uniq unix2dos unlink unshare uptime
usleep uudecode uuencode uuidgen vmstat watch wc which whoami xargs xxd yes zcat
""".split())

# On Android but not from toybox in these lists: grep (toolbox's: aosp-mirror/platform_system_core
# toolbox/Android.mk has `ALL_TOOLS += cp grep`), egrep/fgrep with it, and dd before Android 10
# (toolbox, "dupes: dd" in the 8.0 Android.mk). toybox's grep and dd stand in on every release.
ELSEWHERE = frozenset({"grep", "egrep", "fgrep", "dd"})

FIRST_TOYBOX_SDK = 23  # Android 6.0
FIRST_GZIP_SDK = 29  # evidence above: absent in 8.0's list, present in 10's; 8.1 and 9 unknown

# Names the fake never links to toybox: Android programs answered from the fixture (getprop,
# log, setprop, start/stop, and date/df/uptime whose output is the fixture's clock and mounts),
# and applets that would act on the host (mount, kill, reboot, modules, network, …).
NEVER = frozenset("""
getprop setprop start stop log date df uptime sh su mount umount kill killall pkill insmod rmmod
modprobe swapon swapoff mkswap losetup hwclock ifconfig sysctl chroot unshare nsenter microcom
devmem i2cdetect i2cdump i2cget i2cset blockdev chrt ionice iorenice renice taskset
""".split())


@cache
def debian_applets() -> frozenset[str]:
    """What the installed Debian toybox provides (``toybox`` with no arguments lists them)."""
    out = subprocess.run(["toybox"], capture_output=True, text=True, check=False).stdout
    return frozenset(out.split())


def android_applets(sdk: int) -> frozenset[str]:
    """toybox's symlinks in /system/bin for this release, per the lists above."""
    names = ANDROID_10 if sdk >= FIRST_GZIP_SDK else ANDROID_8_0
    return names - {"tar"} if sdk < FIRST_TOYBOX_SDK else names


def applets_for(sdk: int) -> list[str]:
    """The applet names the fake links to Debian's toybox (gzip is linked separately)."""
    return sorted(((android_applets(sdk) | ELSEWHERE) & debian_applets()) - NEVER - {"gzip"})
