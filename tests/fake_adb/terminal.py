"""One fake terminal loaded from a fixture folder (the format is in README.md).

A :class:`Terminal` owns everything the device side of adb needs: identity and state,
properties, packages, the file tree (:mod:`.devicefs`), the in-memory log and the shell
(:mod:`.shell`). It knows nothing about sockets; :mod:`.services` puts it on the wire.
"""

from __future__ import annotations

import os
import re
import struct
import threading
import time
import tomllib
import zlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from .devicefs import SHELL, Caller, DeviceFS

STATES = (
    "device",
    "unauthorized",
    "offline",
    "authorizing",
    "connecting",
    "recovery",
    "bootloader",
    "sideload",
    "rescue",
    "no permissions",  # USB device the server cannot open (udev); listed with NO_PERMISSIONS_TEXT
)
# What adb 29.0.6 prints in `adb devices` for a USB device it may not open
# (aosp@29.0.6:adb/transport.cpp to_string(kCsNoPerm) → UsbNoPermissionsShortHelpText()).
NO_PERMISSIONS_TEXT = ("no permissions (missing udev rules? user is in the plugdev group); "
                       "see [http://developer.android.com/tools/device.html]")
TRANSPORTS = ("usb", "tcp", "emulator")

# What adbd advertises, by the release that added it (approximate; override with `features`).
_FEATURES_BY_SDK = (
    (24, ("shell_v2", "cmd")),
    (26, ("stat_v2", "fixed_push_mkdir")),
    (29, ("apex", "abb", "fixed_push_symlink_timestamp", "abb_exec")),
    (30, ("ls_v2", "remount_shell")),
)
ALL_FEATURES = tuple(f for _, group in _FEATURES_BY_SDK for f in group)


class FixtureError(ValueError):
    """A fixture folder that does not follow the documented format."""


BACKENDS = ("real", "python")


def choose_backend(requested: str | None = None) -> str:
    """``real`` (mksh + toybox in a root folder) or ``python`` (the emulation).

    ``requested`` or ``$TSD_FAKE_BACKEND`` may be ``real``, ``python`` or ``auto`` (the
    default): auto takes the real shell wherever it can run. Under CI (``$CI`` set) a real
    shell that cannot run is an error, never a silent fallback.
    """
    want = (requested or os.environ.get("TSD_FAKE_BACKEND") or "auto").lower()
    if want == "python":
        return want
    if want not in ("real", "auto"):
        raise ValueError(f"backend {want!r} is not one of real, python, auto")
    from .realshell import missing

    lack = missing()
    if not lack:
        return "real"
    if want == "real" or os.environ.get("CI"):
        raise RuntimeError(f"the fake terminal's real shell cannot run here: it needs {lack}")
    return "python"


# -- small helpers reused by fixture_builder ------------------------------------------------------


def make_png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (0x1E, 0x3A, 0x5F)) -> bytes:
    """A valid, deterministic RGB PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def parse_getprop(text: str) -> dict[str, str]:
    """``[key]: [value]`` lines → dict (the value runs to the last ``]`` on the line)."""
    return {m[1]: m[2] for m in re.finditer(r"^\[([^\]]*)\]: \[(.*)\]\r?$", text, re.M)}


# -- fixture records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """One ``[[package]]`` of packages.toml (extra optional keys are documented in README.md)."""

    name: str
    version_name: str = "1.0"
    version_code: int = 1
    debuggable: bool = False
    first_install_time: str = "2024-01-01 00:00:00"
    last_update_time: str = "2024-01-01 00:00:00"
    system: bool = False
    enabled: bool = True
    uid: int = 0
    installer: str = ""
    code_path: str = ""
    min_sdk: int = 21
    target_sdk: int = 30
    updated: bool = False  # an updated system app: also listed under "Hidden system packages:"
    factory_version_name: str = "1.0"
    factory_version_code: int = 1
    allow_backup: bool = True  # android:allowBackup: ALLOW_BACKUP flag, `adb backup` (backup.py)


@dataclass(frozen=True)
class Mount:
    """One ``df`` row."""

    filesystem: str
    blocks: int
    used: int
    available: int
    mounted_on: str


DEFAULT_MOUNTS = (
    Mount("/dev/block/dm-0", 2999516, 2986304, 0, "/"),
    Mount("tmpfs", 1898304, 1080, 1897224, "/dev"),
    Mount("/dev/block/dm-5", 24947036, 5234568, 19581396, "/data"),
    Mount("/dev/fuse", 24947036, 5234568, 19581396, "/storage/emulated"),
)


@dataclass(frozen=True)
class Faults:
    """``[faults]`` of device.toml; every field defaults to "no fault"."""

    drop_after_bytes: int | None = None  # abort a RECV/shell/exec stream after N payload bytes
    delay_ms_per_chunk: int = 0  # sleep before every output chunk
    offline_after_requests: int | None = None  # turn offline after N device services
    garble_sync: bool = False  # sync replies carry a reversed (invalid) id
    hang: bool = False  # accept device services, then never answer

    @classmethod
    def from_table(cls, table: dict) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(table) - known
        if unknown:
            raise FixtureError(f"unknown [faults] keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**table)


class Link:
    """The terminal's link to the host (``[link] mb_per_s`` of device.toml): one USB 2.0 cable
    carries every stream of a terminal, so concurrent streams share its rate.

    :meth:`charge` books ``n`` bytes on the link and returns when they would have crossed it.
    The schedule is cumulative (a late sleep is made up by the next chunk), so the mean rate
    is the configured one whatever the host's sleep granularity. ``mb_per_s = 0`` (the
    default) is an unlimited link.

    A link that went free less than :data:`SLACK` ago is still busy for the next chunk: the
    fake's own wake-up and send come late (sleep oversleeps ~0.4 ms here, a chunk's Python
    some more), while a terminal keeps the link fed from adbd's queue. Booking from "now"
    instead dropped that time every chunk: one stream reached 28.8 MB/s of a 35 MB/s link
    even with no work between chunks (a sync RECV of 64 MiB, 26–28.7 MB/s). A link idle for
    longer starts afresh, so a stream gains at most SLACK of link time after a pause.
    """

    SLACK = 0.005  # seconds

    def __init__(self, mb_per_s: float = 0.0) -> None:
        if mb_per_s < 0:
            raise FixtureError(f"[link] mb_per_s must be ≥ 0, got {mb_per_s}")
        self.rate = mb_per_s * 1e6
        self._lock = threading.Lock()
        self._free_at = 0.0  # monotonic time when the link has sent everything booked

    def charge(self, n: int) -> None:
        if not self.rate or n <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = self._free_at if self._free_at >= now - self.SLACK else now
            self._free_at = start + n / self.rate
            due = self._free_at
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


@dataclass(frozen=True)
class Cpu:
    """``[cpu]`` of device.toml: what on-terminal compression costs on the terminal's cores.

    ``deflate_mb_per_s`` is the input one core deflates per second at ``gzip -1``; other
    levels are slower by :data:`LEVEL_COST` (relative cost per input byte). 0 = unpaced.
    """

    cores: int = 4
    deflate_mb_per_s: float = 0.0

    # Relative deflate CPU per input byte by level, level 1 = 1.0: zlib (the deflate toybox
    # gzip links) on the benchmark's 33 MB SQLite database, best of two runs per level.
    LEVEL_COST = {1: 1.0, 2: 1.07, 3: 1.21, 4: 1.27, 5: 1.66, 6: 2.52, 7: 3.2, 8: 5.11, 9: 5.89}

    @classmethod
    def from_table(cls, table: dict) -> Cpu:
        unknown = set(table) - {"cores", "deflate_mb_per_s"}
        if unknown:
            raise FixtureError(f"unknown [cpu] keys {sorted(unknown)}; known: cores, deflate_mb_per_s")
        cpu = cls(int(table.get("cores", 4)), float(table.get("deflate_mb_per_s", 0.0)))
        if cpu.cores < 1 or cpu.deflate_mb_per_s < 0:
            raise FixtureError(f"[cpu] cores must be ≥ 1 and deflate_mb_per_s ≥ 0, got {table}")
        return cpu

    def deflate_seconds(self, n: int, level: int = 6) -> float:
        """Seconds one core spends deflating ``n`` input bytes at ``level``."""
        if not self.deflate_mb_per_s:
            return 0.0
        return n / (self.deflate_mb_per_s * 1e6) * self.LEVEL_COST.get(level, self.LEVEL_COST[6])


class Cores:
    """The terminal's cores, booked by the deflate work of every gzip running on it (``[cpu]``).

    One gzip is one thread: it deflates on one core at a time at ``deflate_mb_per_s`` (× the
    level's cost); several gzips share the ``cores``, so a fifth concurrent gzip on four
    cores waits for a free one. :meth:`Deflate.charge` books a piece of work on the core that
    is free first and returns when it would have been done. Like :class:`Link` the schedule
    is cumulative; a gzip that was blocked on its output (the link is slower) may have
    deflated ahead by :data:`PIPE` bytes of input meanwhile — what a pipe buffer lets a real
    gzip do — and no more.
    """

    PIPE = 64 * 1024

    def __init__(self, cpu: Cpu) -> None:
        self.cpu = cpu
        self._lock = threading.Lock()
        self._free_at = [0.0] * cpu.cores  # monotonic time each core finishes its booked work

    def deflate(self, level: int) -> Deflate:
        """The pacing of one gzip process compressing at ``level``."""
        return Deflate(self, level)

    def book(self, seconds: float, ready: float) -> float:
        """Run ``seconds`` of work that may start at ``ready`` on the first free core; returns its end."""
        with self._lock:
            core = min(range(len(self._free_at)), key=self._free_at.__getitem__)
            end = self._free_at[core] = max(self._free_at[core], ready) + seconds
        delay = end - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return end


class Deflate:
    """One gzip's CPU: ``charge(n)`` before handing out the deflate of ``n`` input bytes."""

    def __init__(self, cores: Cores, level: int) -> None:
        self.cores, self.level = cores, level
        self.lead = cores.cpu.deflate_seconds(Cores.PIPE, level)
        self._done = time.monotonic()

    def charge(self, n: int) -> None:
        cost = self.cores.cpu.deflate_seconds(n, self.level)
        if cost:
            self._done = self.cores.book(cost, max(self._done, time.monotonic() - self.lead))


@dataclass
class Completed:
    """Result of :meth:`Terminal.execute` (for unit tests that skip the wire)."""

    stdout: bytes
    stderr: bytes
    exit_code: int
    output: bytes = field(default=b"")  # stdout and stderr interleaved as produced


def _load_toml(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise FixtureError(f"{path} is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise FixtureError(f"{path}: {exc}") from None


def _timezone(name: str) -> tzinfo:
    if name:
        try:
            from zoneinfo import ZoneInfo

            return ZoneInfo(name)
        except Exception:  # noqa: BLE001 - no tzdata or a bad name: fall back to UTC
            pass
    return UTC


class Terminal:
    """A fake Android terminal built from a fixture folder.

    Args:
        fixture: folder with ``device.toml`` and ``getprop.txt`` (and optionally
            ``packages.toml``, ``fs/``, ``screen.png``, ``logcat.txt``).

    Mutable state (``state``, the log, the journal) is thread-safe; everything else is read
    once at construction. ``journal`` records every attempt to change the device
    (``SEND``, ``log``, ``logcat -c``, redirections, ``am broadcast`` …) as ``(kind, detail)``.
    """

    def __init__(self, fixture: str | os.PathLike[str], *, backend: str | None = None) -> None:
        self.fixture = Path(fixture)
        self.backend = choose_backend(backend)
        device = _load_toml(self.fixture / "device.toml")
        try:
            self.getprop_text = (self.fixture / "getprop.txt").read_bytes()
        except FileNotFoundError:
            raise FixtureError(f"{self.fixture / 'getprop.txt'} is missing") from None
        self.props = parse_getprop(self.getprop_text.decode("utf-8", "replace"))
        self.serial: str = device.get("serial") or self.props.get("ro.serialno") or ""
        if not self.serial:
            raise FixtureError(f"{self.fixture}/device.toml: `serial` is required")
        state = device.get("state", "device")
        if state not in STATES:
            raise FixtureError(f"{self.fixture}/device.toml: state {state!r} not in {STATES}")
        self.transport: str = device.get("transport", "usb")
        if self.transport not in TRANSPORTS:
            raise FixtureError(
                f"{self.fixture}/device.toml: transport {self.transport!r} not in {TRANSPORTS}"
            )
        self.usb_vendor_id: str = device.get("usb_vendor_id", "")
        self.devpath: str = device.get("devpath", "")
        self.rooted: bool = bool(device.get("rooted", False))
        self.faults = Faults.from_table(device.get("faults", {}))
        link = device.get("link", {})
        if set(link) - {"mb_per_s"}:
            raise FixtureError(f"unknown [link] keys {sorted(set(link) - {'mb_per_s'})}; known: mb_per_s")
        self.link = Link(float(link.get("mb_per_s", 0)))
        self.cpu = Cpu.from_table(device.get("cpu", {}))
        self.cores = Cores(self.cpu)
        self.sdk = int(self.props.get("ro.build.version.sdk") or 30)
        features = device.get("features")
        if features is None:
            features = [f for sdk, group in _FEATURES_BY_SDK if self.sdk >= sdk for f in group]
        elif isinstance(features, str):
            features = [f for f in features.split(",") if f]
        self.features: tuple[str, ...] = tuple(features)
        self.packages = self._load_packages()
        self._real_fs = None
        self.model_fs = DeviceFS(  # the Python emulation's view (and the owners/modes a real root gets)
            self.fixture / "fs",
            unreadable=device.get("unreadable", {}).get("paths", []),
            app_uid=lambda name: self.packages[name].uid if name in self.packages else None,
        )
        self._canned = {self._canned_key(k.split()): v for k, v in device.get("shell", {}).items()}
        self._broadcasts = self._load_broadcasts(device.get("broadcasts", {}))
        self.screencap_crlf = bool(device.get("screencap_crlf", False))
        self.pty_crlf = bool(device.get("pty_crlf", False))
        self._displays = {str(d["id"]): d["file"] for d in device.get("displays", [])}
        warning = device.get("screencap_warning", len(self._displays) > 1)
        if warning is True:
            from .shell_system import MULTI_DISPLAY_WARNING

            warning = MULTI_DISPLAY_WARNING
        self.screencap_warning: str = warning or ""
        self.battery: dict = dict(device.get("battery", {}))
        self.mounts = tuple(Mount(**row) for row in device.get("df", [])) or DEFAULT_MOUNTS
        self.density = int(device.get("density", 320))
        self._wm_size = device.get("wm_size", "")
        self.tz = _timezone(device.get("timezone") or self.props.get("persist.sys.timezone", ""))
        self.clock_skew = timedelta(seconds=int(device.get("clock_skew_seconds", 0)))
        self._uptime_base = float(device.get("uptime_seconds", 3 * 86400 + 4 * 3600 + 5 * 60))
        self._born = time.monotonic()
        self._lock = threading.RLock()
        self._state = state
        self._listeners: list[Callable[[Terminal], None]] = []
        self._services = 0
        self._log = self._load_log()
        self._log_changes = 0  # bumped by every append and clear
        self._dump: tuple[tuple, bytes] | None = None  # (what it was built from, log_dump's text)
        self._png_cache: dict[str | None, bytes] = {}
        self.journal: list[tuple[str, str]] = []

    def __repr__(self) -> str:
        return f"Terminal({self.serial!r}, state={self.state!r}, fixture={str(self.fixture)!r})"

    # -- loading ----------------------------------------------------------------------------

    def _load_packages(self) -> dict[str, Package]:
        path = self.fixture / "packages.toml"
        if not path.exists():
            return {}
        data = _load_toml(path)
        rows = [{"name": n, "system": True} for n in data.get("system_packages", [])]
        rows += data.get("package", [])
        known = {f.name for f in fields(Package)}
        packages: dict[str, Package] = {}
        for index, row in enumerate(rows):
            unknown = set(row) - known
            if unknown or "name" not in row:
                raise FixtureError(f"{path}: package #{index + 1}: unknown keys {sorted(unknown)} or no name")
            row.setdefault("uid", 1000 if row.get("system") and row["name"] == "android" else 10100 + index)
            packages[row["name"]] = Package(**row)
        return packages

    def _load_broadcasts(self, table: dict) -> dict[str, dict]:
        """``[broadcasts."ACTION"] creates = "/sdcard/x.zip", file = "x.zip", after_ms = 0``."""
        known = {"creates", "file", "after_ms"}
        for action, row in table.items():
            if not isinstance(row, dict) or set(row) - known or not {"creates", "file"} <= set(row):
                got = sorted(row) if isinstance(row, dict) else row
                raise FixtureError(
                    f"{self.fixture}/device.toml: [broadcasts.{action!r}] takes creates, file "
                    f"and optional after_ms; got {got!r}"
                )
        return dict(table)

    def broadcast(self, action: str) -> None:
        """A receiver on the terminal answers ``action``: its declared file appears (in memory)."""
        row = self._broadcasts.get(action)
        if row is not None:
            data = (self.fixture / row["file"]).read_bytes()
            self.fs.appear(row["creates"], data, after=int(row.get("after_ms", 0)) / 1000)

    def _load_log(self) -> list[tuple[str, str]]:
        path = self.fixture / "logcat.txt"
        if not path.exists():
            return []
        lines, buffer = [], "main"
        for line in path.read_text("utf-8", "replace").splitlines():
            m = re.match(r"^--------- (?:beginning of|switch to) (\S+)", line)
            if m:
                buffer = m[1]
            elif line:
                lines.append((buffer, line))
        return lines

    # -- the file tree: emulated, or a real root folder -----------------------------------------

    @property
    def fs(self) -> DeviceFS:
        """The file tree sync and the commands see (the real root is built on first use)."""
        if self.backend == "python":
            return self.model_fs
        if self._real_fs is None:
            from . import realshell

            with self._lock:
                if self._real_fs is None:
                    self._real_fs = realshell.RealFS(realshell.root_for(self), self.model_fs)
        return self._real_fs

    @property
    def root(self) -> Path:
        """The real-shell backend's root folder (built on first use)."""
        return self.fs.root

    # -- identity and state -------------------------------------------------------------------

    def prop(self, key: str, default: str = "") -> str:
        return self.props.get(key, default)

    @property
    def model(self) -> str:
        return self.prop("ro.product.model")

    @property
    def product(self) -> str:
        return self.prop("ro.product.name")

    @property
    def device(self) -> str:
        return self.prop("ro.product.device")

    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        if value not in STATES:
            raise ValueError(f"state {value!r} not in {STATES}")
        with self._lock:
            changed, self._state = self._state != value, value
            listeners = list(self._listeners)
        if changed:
            for fn in listeners:
                fn(self)

    def add_listener(self, fn: Callable[[Terminal], None]) -> None:
        """``fn(terminal)`` is called after every state change (from any thread)."""
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[Terminal], None]) -> None:
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def note_service(self) -> None:
        """Count one accepted device service (the ``offline_after_requests`` fault)."""
        limit = self.faults.offline_after_requests
        with self._lock:
            self._services += 1
            trip = limit is not None and self._services >= limit and self._state == "device"
        if trip:
            self.state = "offline"

    def banner(self) -> str:
        """adbd's CNXN banner (adb.cpp ``get_connection_string``)."""
        props = (
            f"ro.product.name={self.product};ro.product.model={self.model};ro.product.device={self.device};"
        )
        return f"device::{props}features={','.join(self.features)}"

    # -- things commands ask for ----------------------------------------------------------------

    @staticmethod
    def _canned_key(argv: list[str]) -> str:
        head = (
            argv[0].rsplit("/", 1)[-1]
            if argv and argv[0].startswith("/system/")
            else (argv[0] if argv else "")
        )
        return " ".join([head] + list(argv[1:]))

    def canned(self, argv: list[str]) -> tuple[bytes, bytes, int] | None:
        """Canned ``(stdout, stderr, exit)`` for a command line from device.toml ``[shell]``."""
        value = self._canned.get(self._canned_key(argv))
        if value is None:
            return None
        if isinstance(value, str):
            return value.encode(), b"", 0
        out = value.get("stdout", "").encode()
        if "file" in value:
            out = (self.fixture / value["file"]).read_bytes()
        return out, value.get("stderr", "").encode(), int(value.get("exit", 0))

    def _canned_line(self, command: str) -> bool:
        """A whole command line the fixture answers itself (``[shell]``): it wins on either backend."""
        if not self._canned:  # no [shell] lines (the bench's fixtures): nothing to split
            return False
        import shlex

        try:
            return self.canned(shlex.split(command)) is not None
        except ValueError:
            return False

    def has_command(self, name: str) -> bool:
        if name == "tar":
            return self.sdk >= 23  # toybox tar arrived with Android 6
        if name == "gzip":
            from .applets import FIRST_GZIP_SDK

            return self.sdk >= FIRST_GZIP_SDK  # evidence in applets.py
        if name == "su":
            return self.rooted
        return True

    def screen_png(self, display: str | None = None) -> bytes | None:
        """``screencap -p`` bytes for a display id (None = default); None if no such display."""
        if (
            display is not None
            and display not in self._displays
            and not (display == "0" and not self._displays)
        ):
            return None
        if display not in self._png_cache:
            name = self._displays.get(display or "") or (
                next(iter(self._displays.values())) if self._displays and display is None else "screen.png"
            )
            path = self.fixture / name
            self._png_cache[display] = path.read_bytes() if path.exists() else make_png()
        return self._png_cache[display]

    @property
    def screen_size(self) -> str:
        if self._wm_size:
            return self._wm_size
        size = png_size(self.screen_png() or b"")
        return f"{size[0]}x{size[1]}" if size else "720x1280"

    def now(self) -> datetime:
        return datetime.now(self.tz) + self.clock_skew

    @property
    def uptime_seconds(self) -> float:
        return self._uptime_base + time.monotonic() - self._born

    # -- the only writes: in-memory log and the journal ----------------------------------------

    def journal_write(self, kind: str, detail: str) -> None:
        with self._lock:
            self.journal.append((kind, detail))

    def log_lines(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._log)

    def log_dump(self, build: Callable[[list[tuple[str, str]]], bytes], key: Hashable) -> bytes:
        """``build(log_lines())``, kept while the log and ``key`` stay the same."""
        with self._lock:
            if self._dump is not None and self._dump[0] == (self._log_changes, key):
                return self._dump[1]
            changes, lines = self._log_changes, list(self._log)
        data = build(lines)
        self._dump = ((changes, key), data)  # a line logged meanwhile has bumped the count already
        return data

    def append_log(self, tag: str, priority: str, message: str) -> None:
        now = self.now()
        line = (
            f"{now:%m-%d %H:%M:%S}.{now.microsecond // 1000:03d}  4321  4321 {priority} {tag:<8}: {message}"
        )
        with self._lock:
            self._log.append(("main", line))
            self._log_changes += 1
            self.journal.append(("log", line))

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._log_changes += 1
            self.journal.append(("logcat-clear", ""))

    # -- the shell --------------------------------------------------------------------------

    def shell(self, command: str, caller: Caller = SHELL, *, pty: bool = False, merged: bool = False):
        """Start ``sh -c command``: a generator of ``(fd, bytes)`` returning the exit status."""
        if self.backend == "real" and not self._canned_line(command):
            from .realshell import run

            return run(self, command, caller, pty=pty, merged=merged)
        from .shell import Session, default_env, run_script

        session = Session(self, caller, "/", env=default_env(self), pty=pty)
        return run_script(session, command)

    def execute(self, command: str, caller: Caller = SHELL, *, merged: bool = False) -> Completed:
        """Run a command to completion without any socket (handy in unit tests)."""
        from .shell import STDERR, STDOUT

        out, err, both = bytearray(), bytearray(), bytearray()
        gen = self.shell(command, caller, merged=merged)  # merged: one stream, as adbd's raw services
        while True:
            try:
                fd, data = next(gen)
            except StopIteration as stop:
                return Completed(bytes(out), bytes(err), stop.value or 0, bytes(both))
            if fd in (STDOUT, STDERR):
                (out if fd == STDOUT else err).extend(data)
                both.extend(data)
