"""`tsdtool doctor`: why adb does not see a terminal, and the exact fix for this OS.

:func:`run` returns a list of :class:`Check` results in a fixed order: the adb binary, the
adb server, the USB bus compared with the adb device list, each adb device that is not
usable, and the output folder. A check never raises: a failure is a result with a fix.

Everything that touches the machine is injectable (environment, OS name, udev records,
disk usage, the vendor id table), so tests run every branch without adb, udev or USB.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tsdtool import errors, usb
from tsdtool.transport.adb import Adb, find_adb_binary, state_fix
from tsdtool.transport.types import DeviceEntry

OK, PROBLEM, SKIPPED = "ok", "problem", "skipped"
MIN_FREE_BYTES = 1 << 30  # a bundle with databases and logs easily takes a few hundred MB

DiskUsage = Callable[[Path], Any]  # shutil.disk_usage: .free, .total


@dataclass(frozen=True)
class Check:
    """One diagnosis: what was checked, ok / problem / skipped, what was seen, what to do."""

    name: str
    status: str
    detail: str
    fix: str = ""  # may span several lines (a command, then a hint)

    @property
    def problem(self) -> bool:
        return self.status == PROBLEM


def problems(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if c.problem]


def to_json(checks: Sequence[Check]) -> dict[str, Any]:
    return {"ok": not problems(checks), "problems": len(problems(checks)),
            "checks": [asdict(c) for c in checks]}


def run(
    adb: Adb,
    *,
    output: Path,
    profile_dirs: Sequence[Path] = (),
    records: Iterable[Any] | None = None,
    vendor_ids: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    system: str | None = None,
    disk_usage: DiskUsage = shutil.disk_usage,
    min_free: int = MIN_FREE_BYTES,
) -> list[Check]:
    """Run every check.

    Args:
        adb: the server to diagnose (built with the same -H/-P/--no-start-server policy as
            every other command, so doctor sees what `collect` would see).
        output: the output folder to test for writing and free space.
        records: udev records of the USB bus (see :mod:`tsdtool.usb`); None reads the real
            bus on Linux and reports "not available" elsewhere.
        vendor_ids: USB vendor id → vendor name; None reads them from the device profiles.
        env, system: the environment and ``platform.system()`` name the fixes are written for.
    """
    env = os.environ if env is None else env
    system = system or platform.system()
    binary_check, client_version = check_adb_binary(env, system)
    checks = [binary_check]
    server_check, entries = check_server(adb, client_version)
    checks.append(server_check)
    vendor_ids = usb.known_vendor_ids(profile_dirs) if vendor_ids is None else vendor_ids
    usb_checks, explained = check_usb(entries, records, vendor_ids, system)
    checks += usb_checks
    checks += check_states(entries or [], explained)
    checks.append(check_output(output, disk_usage, min_free))
    return checks


# -- adb binary and server ------------------------------------------------------------------
_CLIENT_VERSION = re.compile(r"Android Debug Bridge version \d+\.\d+\.(\d+)")
_PACKAGE_VERSION = re.compile(r"^Version (\S+)", re.MULTILINE)

INSTALL_ADB = {
    "Linux": "install adb: `sudo apt install adb` (Debian/Ubuntu), `sudo dnf install android-tools` (Fedora), "
             "or unzip Google's platform-tools and put it on PATH (or set ADBUTILS_ADB_PATH)",
    "Darwin": "install adb: `brew install --cask android-platform-tools`, or unzip Google's platform-tools "
              "and put it on PATH (or set ADBUTILS_ADB_PATH)",
    "Windows": "install adb: `winget install Google.PlatformTools`, or unzip Google's platform-tools and add "
               "the folder to PATH (or set ADBUTILS_ADB_PATH)",
}


def parse_adb_version(text: str) -> tuple[int | None, str]:
    """`adb version` → (protocol version 41, package version "29.0.6-debian")."""
    proto = _CLIENT_VERSION.search(text)
    package = _PACKAGE_VERSION.search(text)
    return (int(proto.group(1)) if proto else None), (package.group(1) if package else "")


def check_adb_binary(env: Mapping[str, str], system: str) -> tuple[Check, int | None]:
    """Find adb the way the seam would and ask it its version (`adb version` needs no server)."""
    fix = INSTALL_ADB.get(system, INSTALL_ADB["Linux"])
    found = find_adb_binary(env)
    binary = shutil.which(found, path=env.get("PATH")) if found and os.sep not in found else found
    if not binary or not os.path.isfile(binary):
        where = f"{found!r} (from ADBUTILS_ADB_PATH or PATH) does not exist" if found else "not on PATH"
        return Check("adb binary", PROBLEM, f"no adb binary: {where}", fix), None
    try:
        proc = subprocess.run([binary, "version"], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=15, env=dict(env))
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("adb binary", PROBLEM, f"cannot run {binary}: {exc}", fix), None
    version, package = parse_adb_version(proc.stdout.decode("utf-8", "replace"))
    if proc.returncode != 0 or version is None:
        return Check("adb binary", PROBLEM, f"{binary} version did not print an adb version", fix), None
    return Check("adb binary", OK, f"{binary}: version 1.0.{version}" + (f" ({package})" if package else "")), version


def versions(adb: Adb) -> list[tuple[str, str]]:
    """``tsdtool --version``: tool, Python, adbutils and the adb server (never started for this)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import tsdtool

    try:
        adbutils = version("adbutils")
    except PackageNotFoundError:
        adbutils = "not installed"
    try:
        server = f"{adb.server_version()} at {adb.address}"
    except errors.TsdError:
        server = f"not reachable at {adb.address}"
    return [("tsdtool", tsdtool.__version__), ("Python", f"{platform.python_version()} ({platform.platform()})"),
            ("adbutils", adbutils), ("adb server", server)]


SECOND_SERVER = (
    "another program probably runs its own adb server (an IDE, an emulator, a vendor device manager or "
    "phone suite): close it or point it at the same adb, then `adb kill-server` and run again; two adb "
    "versions keep killing each other's server, which drops terminals mid-collection"
)


def check_server(adb: Adb, client_version: int | None) -> tuple[Check, list[DeviceEntry] | None]:
    """Is a server reachable, which version, does it match the client; its device list."""
    try:
        version = adb.server_version()
        entries = adb.devices()
    except errors.TsdError as exc:
        return Check("adb server", PROBLEM, " ".join(str(exc).split()), exc.fix or errors.ServerUnreachable.fix), None
    if client_version is not None and version != client_version:
        return Check("adb server", PROBLEM,
                     f"adb server version ({version}) doesn't match this client ({client_version})",
                     SECOND_SERVER), entries
    return Check("adb server", OK, f"{adb.address}: version {version}, {len(entries)} device(s) listed"), entries


# -- USB bus vs adb -------------------------------------------------------------------------
NO_ADB_INTERFACE = (
    "on the terminal: Settings › About phone › tap Build number 7 times, then Settings › System › "
    "Developer options › USB debugging on; if it is on, pull down the notification shade and set USB to "
    "File transfer (some terminals offer adb only in that mode)"
)
NOT_LISTED = "the terminal offers adb but the server does not list it: `adb kill-server`, replug, run again; " \
             "if it persists, another program's adb server may hold the device"
NO_TERMINAL = "plug the terminal in with a data cable (a charge-only cable shows nothing), try another port, " \
              "unlock the screen"
WINDOWS_DRIVER = "; on Windows install the vendor's USB driver (or Google's USB driver) for the terminal"


def plugdev_fix(vendor_id: str) -> str:
    """The udev rule for a vendor and the steps that make it take effect."""
    return (
        f"add this line to /etc/udev/rules.d/51-android.rules:\n"
        f"  {usb.udev_rule(vendor_id)}\n"
        f"then `sudo udevadm control --reload-rules && sudo udevadm trigger`, replug the terminal;\n"
        f"be in the plugdev group: `sudo usermod -aG plugdev $USER`, then log out and in again"
    )


def check_usb(
    entries: list[DeviceEntry] | None, records: Iterable[Any] | None, vendor_ids: Mapping[str, str], system: str,
) -> tuple[list[Check], set[str]]:
    """One check per terminal on the USB bus; also the serials whose state is explained here."""
    explained: set[str] = set()
    try:
        records = usb.scan(system) if records is None else records
    except usb.UsbUnavailable as exc:
        checks = [Check("usb", SKIPPED, f"USB bus not checked: {exc}")]
        if entries == []:
            fix = NO_TERMINAL + "; enable USB debugging" + (WINDOWS_DRIVER if system == "Windows" else "")
            checks.append(Check("terminals", PROBLEM, "adb lists no terminal", fix))
        return checks, explained
    found = usb.terminals(records, vendor_ids)
    if not found:
        if entries:  # adb sees something (network, unknown vendor): nothing to explain
            return [Check("usb", OK, "no terminal of a known vendor on USB")], explained
        seen = "no terminal on USB" + (" and none in adb" if entries == [] else "")
        return [Check("usb", PROBLEM, f"{seen} (no device with a known vendor id or an adb interface)",
                      NO_TERMINAL)], explained
    checks = []
    for dev in found:
        name = f"usb {dev.vendor_id}:{dev.product_id}" + (f" {dev.serial}" if dev.serial else "")
        what = f"{dev.label}" + (f" — {vendor_ids[dev.vendor_id]}" if dev.vendor_id in vendor_ids else "")
        if entries is None:
            checks.append(Check(name, SKIPPED, f"{what} on USB; no adb server to compare with"))
            continue
        entry = usb.find_entry(dev, entries)
        if entry is None:
            fix, why = (NOT_LISTED, "has an adb interface") if dev.adb_interface else \
                (NO_ADB_INTERFACE, "has no adb interface (ff/42/01): USB debugging is off")
            checks.append(Check(name, PROBLEM, f"{what} is on USB but not in adb; it {why}", fix))
        elif entry.state.startswith("no permissions"):
            explained.add(entry.serial)
            checks.append(Check(name, PROBLEM, f"{what}: adb has no permission to open it",
                                plugdev_fix(dev.vendor_id)))
        else:
            checks.append(Check(name, OK, f"{what} is listed by adb as {entry.serial} ({entry.state})"))
    return checks, explained


# -- adb device states ----------------------------------------------------------------------
STATE_HELP = {
    "unauthorized": "unlock the terminal and accept 'Allow USB debugging?' (tick 'Always allow from this "
                    "computer'); no prompt → Developer options › Revoke USB debugging authorizations, replug",
    "authorizing": "unlock the terminal and accept the USB debugging prompt; wait a few seconds",
    "offline": "replug the cable; if it stays offline, `adb kill-server` and run again, then restart the terminal",
    "connecting": "wait a few seconds; if it stays connecting, replug the cable",
}


def check_states(entries: Sequence[DeviceEntry], explained: set[str]) -> list[Check]:
    """One problem per adb device that is not in `device` state (unless USB already explained it)."""
    checks = []
    for entry in entries:
        if entry.state == "device" or entry.serial in explained:
            continue
        if entry.state.startswith("no permissions"):
            fix = (plugdev_fix("VVVV")
                   + "\nVVVV is the terminal's vendor id: the 4 hex digits before the colon in `lsusb`")
        elif entry.state == "offline" and entry.transport == "tcp":
            fix = (f"check the terminal is on the network and awake, then `tsdtool disconnect {entry.serial}` "
                   f"and `tsdtool connect {entry.serial}`")
        else:
            fix = STATE_HELP.get(entry.state) or state_fix(entry.state)
        checks.append(Check(f"device {entry.serial}", PROBLEM, f"{entry.serial} is {entry.state}", fix))
    return checks


# -- output folder --------------------------------------------------------------------------
def check_output(output: Path, disk_usage: DiskUsage = shutil.disk_usage, min_free: int = MIN_FREE_BYTES) -> Check:
    """Can a file be created in the folder (or its nearest existing parent), and is there room."""
    name = "output folder"
    fix = "choose another folder with -o, or fix its permissions"
    existing = Path(output).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return Check(name, PROBLEM, f"{output}: {existing} is not a folder", fix)
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".tsdtool-doctor-"):
            pass
    except OSError as exc:
        return Check(name, PROBLEM, f"{output}: cannot write in {existing} ({exc.strerror or exc})", fix)
    free = disk_usage(existing).free
    if free < min_free:
        return Check(name, PROBLEM, f"{output}: only {_size(free)} free (want {_size(min_free)})",
                     "free some space or choose another folder with -o")
    return Check(name, OK, f"{output}: writable, {_size(free)} free")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
