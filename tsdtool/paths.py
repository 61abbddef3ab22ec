"""Local file names from untrusted device text: contained, bounded, collision-free.

Names coming from a terminal (serials, file names in a listing) may hold ``..``, ``/``,
NUL, control characters, or be 300 characters long. Nothing derived from them may escape
the output folder or overwrite another item.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

MAX_COMPONENT = 120  # bytes: well under NAME_MAX (255) once suffixes like .part are added
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_component(name: str) -> str:
    """One path component safe on Linux, macOS and Windows; never empty, '.', or '..'."""
    clean = unicodedata.normalize("NFC", name)
    clean = _UNSAFE.sub("_", clean).strip(" .")
    if not clean or clean.upper().split(".")[0] in _RESERVED:
        clean = "_" + clean
    encoded = clean.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_COMPONENT or encoded != clean.encode("utf-8", "replace"):
        # Too long or not valid UTF-8: keep a readable prefix plus a hash of the original.
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
        prefix = encoded[: MAX_COMPONENT - 13].decode("utf-8", "ignore")
        clean = f"{prefix}~{digest}"
    return clean


def safe_relpath(device_path: str) -> str:
    """A device path as a relative local path: every component made safe, no '..' left."""
    parts = [p for p in device_path.split("/") if p not in ("", ".", "..")]
    return "/".join(safe_component(p) for p in parts) or "_"


def contained(root: Path, relpath: str) -> Path:
    """``root/relpath``, refusing anything that resolves outside ``root``."""
    root = root.resolve()
    target = (root / relpath).resolve()
    if target != root and root not in target.parents:
        raise ValueError(f"{relpath!r} escapes {root}")
    return target


class UniqueNames:
    """Hands out local names that never collide, also on case-insensitive file systems."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, relpath: str) -> str:
        stem, dot, ext = relpath.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = relpath, ""
        candidate, n = relpath, 1
        while candidate.casefold() in self._taken:
            n += 1
            candidate = f"{stem}~{n}.{ext}" if ext else f"{stem}~{n}"
        self._taken.add(candidate.casefold())
        return candidate


def write_new(path: Path, data: bytes) -> Path:
    """Write a file atomically (``.part`` then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, path)
    return path
