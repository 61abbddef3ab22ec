"""Frozen values that cross the ADB seam. No adbutils type ever leaves ``transport/adb.py``."""

from __future__ import annotations

import stat as _stat
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DeviceEntry:
    """One line of `adb devices -l`."""

    serial: str
    state: str  # device | unauthorized | offline | no permissions… | recovery | …
    transport: str  # usb | tcp | emulator
    tags: dict[str, str] = field(default_factory=dict)  # product, model, device, usb, transport_id

    @property
    def model(self) -> str:
        return self.tags.get("model", "")

    @property
    def product(self) -> str:
        return self.tags.get("product", "")


@dataclass(frozen=True)
class ShellResult:
    """Output of one shell command: raw bytes (never assumed UTF-8) and its exit status."""

    command: str
    exit_code: int
    stdout: bytes
    stderr: bytes = b""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def text(self) -> str:
        """stdout decoded for display: invalid bytes become U+FFFD, never an exception."""
        return self.stdout.decode("utf-8", errors="replace")

    def error_text(self) -> str:
        """The most useful one line for a failure: stderr, else stdout, else the status."""
        for blob in (self.stderr, self.stdout):
            line = blob.decode("utf-8", errors="replace").strip().splitlines()
            if line:
                return line[-1].strip()
        return f"exit status {self.exit_code}"


@dataclass(frozen=True)
class RemoteFile:
    """A file or folder on the terminal as the sync protocol reports it."""

    path: str
    mode: int
    size: int
    mtime: int

    @property
    def exists(self) -> bool:
        return self.mode != 0 or self.mtime != 0

    @property
    def is_dir(self) -> bool:
        return _stat.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return _stat.S_ISREG(self.mode)

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]
