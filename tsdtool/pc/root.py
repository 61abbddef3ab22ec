"""A Windows drive as a folder: ``C:\\`` on a live Windows, or any folder given with ``--pc-root``.

Windows paths are case-insensitive and a copied drive keeps whatever case the files had, so
every lookup resolves one component at a time, ignoring case (a folder is listed at most
once per lookup). Globs are ``/``-separated, relative to the root, one fnmatch pattern per
component (``Program Files*/1cv8/*``); ``..`` never appears (profiles are validated).
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

MAX_MATCHES = 1000  # a glob that matches more than this is cut short (a listing is not evidence)


@dataclass(frozen=True)
class PcRoot:
    """``path`` is the drive root; ``live`` means it is this running Windows (the registry may be read)."""

    path: Path
    live: bool = False
    drive: str = "C:"  # the drive letter the root stands for (absolute paths in config files)

    @classmethod
    def here(cls) -> PcRoot:
        """This machine: its system drive on Windows; on any other system, a root that holds no Windows."""
        if sys.platform == "win32":
            drive = os.environ.get("SystemDrive", "C:")
            return cls(Path(drive + "\\"), live=True, drive=drive.upper())
        return cls(Path("/"), live=False)

    @classmethod
    def given(cls, folder: Path, drive: str = "C:") -> PcRoot:
        return cls(Path(folder), live=False, drive=drive.upper())

    def glob(self, pattern: str) -> list[Path]:
        """Paths below the root matching a ``/``-separated pattern, case ignored, sorted."""
        parts = [p for p in pattern.replace("\\", "/").split("/") if p not in ("", ".")]
        found: list[Path] = []
        for path in _walk(self.path, parts):
            found.append(path)
            if len(found) >= MAX_MATCHES:
                break
        return sorted(found)

    def first(self, patterns: tuple[str, ...] | list[str]) -> Path | None:
        for pattern in patterns:
            hits = self.glob(pattern)
            if hits:
                return hits[0]
        return None

    def windows_path(self, text: str, base: Path | None = None) -> tuple[Path | None, str]:
        """A path written on Windows (``D:\\Exchange\\``, ``Exp\\``, ``\\\\srv\\share``) as a path
        under this root: ``(path, "")``, or ``(None, why)`` when it is elsewhere."""
        path, why = self._windows_path(text, base)
        if path is not None and not _inside(path, self.path):
            return None, f"{text.strip()} points outside the PC root"
        return path, why

    def _windows_path(self, text: str, base: Path | None) -> tuple[Path | None, str]:
        win = PureWindowsPath(text.strip().strip('"'))
        if win.drive.startswith("\\\\"):
            return None, f"{text.strip()} is a network share, not on this PC root"
        if win.drive:
            if win.drive.upper() != self.drive:
                return None, f"{text.strip()} is on drive {win.drive.upper()}, not on the PC root ({self.drive})"
            rel = "/".join(win.parts[1:])
            return _resolve(self.path, rel), ""
        if win.root:  # \Exchange: the root of the current drive
            return _resolve(self.path, "/".join(win.parts[1:])), ""
        start = base if base is not None else self.path
        return _resolve(start, "/".join(win.parts)), ""


def _walk(folder: Path, parts: list[str]) -> Iterator[Path]:
    if not parts:
        yield folder
        return
    head, rest = parts[0], parts[1:]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    wild = any(c in head for c in "*?[")
    for entry in entries:
        name = entry.name
        if (fnmatch.fnmatchcase(name.lower(), head.lower()) if wild else name.lower() == head.lower()):
            if rest and not entry.is_dir(follow_symlinks=False):
                continue
            yield from _walk(Path(entry.path), rest)


def _inside(path: Path, root: Path) -> bool:
    try:
        return os.path.realpath(path).startswith(os.path.realpath(root).rstrip(os.sep) + os.sep) or \
            os.path.realpath(path) == os.path.realpath(root)
    except OSError:
        return False


def _resolve(start: Path, rel: str) -> Path:
    """``start/rel`` with each existing component matched ignoring case; missing ones kept as given."""
    path = start
    for part in [p for p in rel.split("/") if p not in ("", ".")]:
        if part == "..":
            path = path.parent
            continue
        hit = next(iter(_walk(path, [part])), None) if not any(c in part for c in "*?[") else None
        path = hit if hit is not None else path / part
    return path
