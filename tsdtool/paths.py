"""Local file names from untrusted device text: contained, bounded, collision-free.

Names coming from a terminal (serials, file names in a listing) may hold ``..``, ``/``,
NUL, control characters, or be 300 characters long. Nothing derived from them may escape
the output folder or overwrite another item.
"""

from __future__ import annotations

import errno
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tsdtool import errors
from tsdtool.console import FORMAT_CHARS

MAX_COMPONENT = 120  # bytes: well under NAME_MAX (255) once suffixes like .part are added
# Windows' reserved characters, and the Unicode format characters that make a name read as
# another (console._CONTROL: "\u202egol.exe" shows as "exe.log").
_UNSAFE = re.compile(rf'[\x00-\x1f\x7f/\\:*?"<>|{FORMAT_CHARS}]')
# Windows' DOS device names, also with an extension and with blanks before it ("nul .txt"), the
# superscript-digit ports included (Microsoft, "Naming Files, Paths, and Namespaces"; the same
# set and rule as CPython 3.13's ntpath.isreserved).
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"{port}{n}" for port in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3")}


def safe_component(name: str) -> str:
    """One path component safe on Linux, macOS and Windows; never empty, '.', or '..'."""
    clean = unicodedata.normalize("NFC", name)
    clean = _UNSAFE.sub("_", clean).strip(" .")
    if not clean or clean.upper().partition(".")[0].rstrip(" ") in _RESERVED:
        clean = "_" + clean
    encoded = clean.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_COMPONENT or encoded != clean.encode("utf-8", "replace"):
        # Too long or not valid UTF-8: keep a readable prefix plus a hash of the original.
        import hashlib  # here: OpenSSL's loading is not paid before collect's first request

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


PART = ".part"  # a file being written; never the end of a claimed name


class UniqueNames:
    """Hands out local names that never collide, also on case-insensitive file systems.

    A name ending in ``.part`` (a device file ``x.log.part`` next to ``x.log``) becomes
    ``x.log.part_``: ``.part`` is how every writer marks an unfinished copy of ``x.log``.
    Linear in the number of names: each stem remembers the last number it handed out, so
    10^5 identical names do not each count up from 2.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next: dict[tuple[str, str], int] = {}

    def claim(self, relpath: str) -> str:
        if relpath.casefold().endswith(PART):
            relpath += "_"
        stem, dot, ext = relpath.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = relpath, ""
        candidate, key = relpath, (stem.casefold(), ext.casefold())
        n = self._next.get(key, 1)
        while candidate.casefold() in self._taken:
            n += 1
            candidate = f"{stem}~{n}.{ext}" if ext else f"{stem}~{n}"
        self._next[key] = n
        self._taken.add(candidate.casefold())
        return candidate

    def release(self, relpath: str) -> None:
        """Make a claimed name free again (its file was removed)."""
        self._taken.discard(relpath.casefold())


def check_folder(folder: Path, label: str = "") -> None:
    """``folder`` must be (or become) a writable folder: checked without creating anything,
    so a file given where a folder belongs is a usage error, not a failure half-way."""
    where = f"{label} {folder}: " if label else ""
    with _too_long(folder, label):
        existing = _fits(Path(folder))
    if not existing.is_dir():
        raise errors.UsageError(f"{where}{existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise errors.UsageError(f"{where}{existing} is not writable", fix="choose another folder with -o")


def check_file(path: Path, label: str = "") -> None:
    """``path`` must be (or become) a writable file: not a folder, in a folder that can be made."""
    with _too_long(path, label):
        _fits(Path(path))
        is_dir = Path(path).is_dir()
    if is_dir:
        raise errors.UsageError(f"{label + ' ' if label else ''}{path} is a folder, not a file",
                                fix="give a file name inside it")
    check_folder(Path(path).parent, label)


def _fits(path: Path) -> Path:
    """The nearest existing folder at or above ``path``; ENAMETOOLONG for a name or a path its disk
    cannot hold (the OS says so only once every folder above it exists: after a collect began)."""
    path = existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        name_max, path_max = os.pathconf(existing, "PC_NAME_MAX"), os.pathconf(existing, "PC_PATH_MAX")
    except (AttributeError, OSError, ValueError):  # Windows has no pathconf: NTFS's and Linux's limits
        name_max, path_max = 255, 4096
    if len(os.fsencode(path)) >= path_max or any(len(os.fsencode(p)) > name_max for p in path.parts):
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(path))
    return existing


@contextmanager
def _too_long(path: Path, label: str) -> Iterator[None]:
    """A name over NAME_MAX or a path over PATH_MAX (ENAMETOOLONG) is a usage error, its path
    shortened for the one line."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        shown = str(path) if len(str(path)) <= 80 else f"{str(path)[:40]}…{str(path)[-30:]}"
        raise errors.UsageError(f"{label + ' ' if label else ''}{shown}: the name is too long for this disk",
                                fix="choose a shorter path with -o") from exc


def write_new(path: Path, data: bytes | Iterable[bytes]) -> Path:
    """Write a file atomically (``.part`` then rename): ``data``, or its pieces one after another."""
    check_file(path)
    part = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "wb") as fh:
            fh.writelines([data] if isinstance(data, bytes) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)  # half a file (a full disk) is no use to anyone
        raise errors.OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
