"""The terminal's file tree: device paths resolved safely inside a fixture's ``fs/`` folder.

Every device path is walked one component at a time from ``fs/``; symlinks found in the
fixture are followed as *device* symlinks (their target is a device path), so neither ``..``
nor a symlink can ever reach a host file outside ``fs/``.

Permissions are modelled simply, not with real unix bits:

* ``/data``, ``/data/data``, ``/data/user`` and ``/data/user/0`` can be traversed but not
  listed by anyone except root (``ls: /data/data: Permission denied``);
* ``/data/data/<pkg>/…`` (and ``/data/user/0/<pkg>/…``) is readable only by that package's
  ``run-as`` and by root;
* paths listed in ``device.toml`` ``[unreadable] paths`` (and everything below them) are
  readable only by root.

Owners and modes are synthesised from the path so ``ls -l``/``stat`` look like a terminal's.
"""

from __future__ import annotations

import errno
import fnmatch
import io
import os
import re
import stat as st
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# bionic's strerror() texts for the errnos the fake produces (they match glibc's except ELOOP).
STRERROR = {
    errno.ENOENT: "No such file or directory",
    errno.EACCES: "Permission denied",
    errno.ENOTDIR: "Not a directory",
    errno.EISDIR: "Is a directory",
    errno.ELOOP: "Too many symbolic links encountered",
    errno.EROFS: "Read-only file system",
    errno.EINVAL: "Invalid argument",
}

_MAX_SYMLINKS = 40  # Linux MAXSYMLINKS
_LIST_ONLY_BY_ROOT = frozenset({"/data", "/data/data", "/data/user", "/data/user/0"})
_APP_DATA_ROOTS = ("/data/data/", "/data/user/0/")

# uid → name as Android's bionic getpwuid() reports them (app uids are computed).
_UID_NAMES = {0: "root", 1000: "system", 1015: "sdcard_rw", 2000: "shell", 9997: "everybody"}


def uid_name(uid: int) -> str:
    """``u0_a123`` for app uids, the AID name otherwise."""
    if uid >= 10000:
        return f"u0_a{uid - 10000}"
    return _UID_NAMES.get(uid, str(uid))


class FsError(OSError):
    """A device-side file error; ``str(err.strerror)`` is the bionic text."""

    def __init__(self, code: int, path: str) -> None:
        super().__init__(code, STRERROR.get(code, os.strerror(code)), path)


@dataclass(frozen=True)
class Caller:
    """Who touches the file tree: the adb ``shell`` user, ``root`` (su) or an ``app`` (run-as)."""

    kind: str
    package: str = ""

    @staticmethod
    def app(package: str) -> Caller:
        return Caller("app", package)


SHELL = Caller("shell")
ROOT = Caller("root")


@dataclass(frozen=True)
class DevStat:
    """What ``lstat``/``stat`` reports for a device path (fields as in sync STA2)."""

    path: str  # resolved device path
    mode: int
    size: int
    mtime: int
    atime: int
    ctime: int
    uid: int
    gid: int
    nlink: int
    ino: int
    dev: int
    link_target: str = ""

    @property
    def is_dir(self) -> bool:
        return st.S_ISDIR(self.mode)

    @property
    def is_link(self) -> bool:
        return st.S_ISLNK(self.mode)

    @property
    def is_file(self) -> bool:
        return st.S_ISREG(self.mode)


def join(cwd: str, path: str) -> str:
    """Absolute device path for ``path`` typed in directory ``cwd`` (no normalisation)."""
    if path.startswith("/"):
        return path
    return cwd.rstrip("/") + "/" + path


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def _glue(base: str, name: str) -> str:
    return name if not base else (base + name if base.endswith("/") else f"{base}/{name}")


def _parent(path: str) -> str:
    head = path.rsplit("/", 1)[0]
    return head or "/"


class DeviceFS:
    """Read-only view of ``<fixture>/fs`` as the terminal's root directory.

    The one exception is :meth:`appear`: a file the terminal itself makes (a vendor logger's
    archive after a broadcast) lives in memory on top of ``fs/``; the fixture is never written.

    Args:
        root: the fixture's ``fs/`` folder (it may be missing: an empty device).
        unreadable: device paths only root may read or list.
        app_uid: package name → app uid, or None for an unknown package.
    """

    def __init__(
        self,
        root: Path,
        unreadable: Iterable[str] = (),
        app_uid: Callable[[str], int | None] = lambda _pkg: None,
    ) -> None:
        self.root = root
        self._unreadable = tuple(p.rstrip("/") or "/" for p in unreadable)
        self._app_uid = app_uid
        self._made: dict[str, tuple[bytes, int, float]] = {}  # devpath → (data, mtime, visible from)

    # -- files the terminal makes (in memory) -----------------------------------------------

    def appear(self, devpath: str, data: bytes, *, after: float = 0.0, mtime: int | None = None) -> None:
        """Make a regular file appear at ``devpath`` ``after`` seconds from now, in memory only.

        Its folder must exist in the fixture's ``fs/``; a second call replaces the file.
        """
        self._made[devpath] = (data, int(time.time()) if mtime is None else mtime, time.monotonic() + after)

    def _made_now(self, devpath: str) -> tuple[bytes, int] | None:
        entry = self._made.get(devpath)
        if entry is None or time.monotonic() < entry[2]:
            return None
        return entry[0], entry[1]

    # -- resolution -------------------------------------------------------------------------

    def _host(self, devpath: str) -> Path:
        # Only ever called with paths built from names that exist in fs/ and contain no
        # symlink or "..", so the result always stays inside root.
        return self.root.joinpath(*_parts(devpath))

    def resolve(self, path: str, caller: Caller = SHELL, *, follow: bool = True) -> str:
        """The canonical device path of ``path`` (absolute), following symlinks.

        ``follow=False`` leaves a symlink in the last component alone (lstat semantics).
        Raises FsError(ENOENT | ENOTDIR | EACCES | ELOOP).
        """
        if not path.startswith("/"):
            raise FsError(errno.ENOENT, path)
        todo = _parts(path)
        wants_dir = path.endswith("/") and len(path) > 1
        cur = "/"
        hops = 0
        if not self.root.is_dir():
            if todo:
                raise FsError(errno.ENOENT, path)
            return "/"
        while todo:
            name = todo.pop(0)
            if name == ".":
                continue
            if name == "..":
                cur = _parent(cur)
                continue
            if not self._may_traverse(cur, caller):
                raise FsError(errno.EACCES, path)
            nxt = cur.rstrip("/") + "/" + name
            try:
                info = os.lstat(self._host(nxt))
            except FileNotFoundError:
                if not todo and self._made_now(nxt) is not None:
                    cur = nxt
                    continue
                raise FsError(errno.ENOENT, path) from None
            except PermissionError:  # only the real-shell root has kernel permissions
                raise FsError(errno.EACCES, path) from None
            except (NotADirectoryError, OSError):
                raise FsError(errno.ENOTDIR, path) from None
            if st.S_ISLNK(info.st_mode) and (todo or follow or wants_dir):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise FsError(errno.ELOOP, path)
                target = os.readlink(self._host(nxt))
                if target.startswith("/"):
                    cur = "/"
                todo = _parts(target) + todo
                continue
            if todo and not st.S_ISDIR(info.st_mode):
                raise FsError(errno.ENOTDIR, path)
            cur = nxt
        made_file = self._made_now(cur) is not None
        if wants_dir and (made_file or not st.S_ISDIR(os.lstat(self._host(cur)).st_mode)):
            raise FsError(errno.ENOTDIR, path)
        return cur

    # -- permission model -------------------------------------------------------------------

    def _is_unreadable(self, devpath: str) -> bool:
        return any(devpath == p or devpath.startswith(p.rstrip("/") + "/") for p in self._unreadable)

    @staticmethod
    def _app_owner(devpath: str) -> str | None:
        """The package whose private data dir holds ``devpath`` (the dir itself included)."""
        for prefix in _APP_DATA_ROOTS:
            if devpath.startswith(prefix):
                return devpath[len(prefix) :].split("/", 1)[0] or None
        return None

    def _may_traverse(self, devdir: str, caller: Caller) -> bool:
        if caller.kind == "root":
            return True
        if self._is_unreadable(devdir):
            return False
        owner = self._app_owner(devdir)
        return owner is None or caller == Caller.app(owner)

    def may_list(self, devdir: str, caller: Caller) -> bool:
        if caller.kind == "root":
            return True
        return devdir not in _LIST_ONLY_BY_ROOT and self._may_traverse(devdir, caller)

    def may_read(self, devpath: str, caller: Caller) -> bool:
        return self._may_traverse(devpath, caller)

    # -- queries ----------------------------------------------------------------------------

    def lstat(self, path: str, caller: Caller = SHELL) -> DevStat:
        return self._stat(self.resolve(path, caller, follow=False))

    def stat(self, path: str, caller: Caller = SHELL) -> DevStat:
        return self._stat(self.resolve(path, caller, follow=True))

    def _stat(self, devpath: str) -> DevStat:
        made = self._made_now(devpath)
        if made is not None:
            uid, gid, perm = self._owner_and_perm(devpath, st.S_IFREG | 0o644)
            data, mtime = made
            return DevStat(devpath, st.S_IFREG | perm, len(data), mtime, mtime, mtime, uid, gid, 1, 0, 0)
        host = self._host(devpath)
        if not self.root.is_dir():  # a fixture without fs/: an empty root directory
            return DevStat(devpath, st.S_IFDIR | 0o755, 4096, 0, 0, 0, 0, 0, 2, 1, 1)
        info = os.lstat(host)
        uid, gid, perm = self._owner_and_perm(devpath, info.st_mode)
        link = os.readlink(host) if st.S_ISLNK(info.st_mode) else ""
        size = len(link) if link else (info.st_size if st.S_ISREG(info.st_mode) else 4096)
        return DevStat(
            path=devpath,
            mode=st.S_IFMT(info.st_mode) | perm,
            size=size,
            mtime=int(info.st_mtime),
            atime=int(info.st_atime),
            ctime=int(info.st_ctime),
            uid=uid,
            gid=gid,
            nlink=info.st_nlink,
            ino=info.st_ino,
            dev=info.st_dev,
            link_target=link,
        )

    def _owner_and_perm(self, devpath: str, host_mode: int) -> tuple[int, int, int]:
        is_dir = st.S_ISDIR(host_mode)
        if st.S_ISLNK(host_mode):
            return 0, 0, 0o777
        if devpath in _LIST_ONLY_BY_ROOT:
            return 1000, 1000, 0o771
        owner = self._app_owner(devpath)
        if owner is not None:
            uid = self._app_uid(owner) or 1000
            is_pkg_dir = devpath.rstrip("/").endswith("/" + owner)
            return uid, uid, (0o700 if is_pkg_dir else 0o771) if is_dir else 0o660
        if self._is_unreadable(devpath):
            return 0, 0, 0o700 if is_dir else 0o600
        if devpath.startswith(("/sdcard", "/storage/")):
            return 0, 1015, 0o775 if is_dir else 0o664
        if devpath.startswith("/data/local/tmp"):
            return 2000, 2000, 0o771 if is_dir else 0o666
        if is_dir:
            return 0, 0, 0o755
        return 0, 0, 0o755 if host_mode & 0o111 else 0o644

    def listdir(self, path: str, caller: Caller = SHELL) -> list[str]:
        """Sorted names in a directory (without ``.``/``..``). Raises FsError."""
        devdir = self.resolve(path, caller)
        info = os.lstat(self._host(devdir)) if self.root.is_dir() else None
        if info is not None and not st.S_ISDIR(info.st_mode):
            raise FsError(errno.ENOTDIR, path)
        if not self.may_list(devdir, caller):
            raise FsError(errno.EACCES, path)
        if info is None:
            return []
        prefix = devdir.rstrip("/") + "/"
        made = {p[len(prefix) :] for p in self._made if p.startswith(prefix) and "/" not in p[len(prefix) :]}
        made = {name for name in made if self._made_now(prefix + name) is not None}
        return sorted(set(os.listdir(self._host(devdir))) | made)

    def open(self, path: str, caller: Caller = SHELL) -> BinaryIO:
        """Open a regular file for reading (unbuffered). Raises FsError(EISDIR too)."""
        devpath = self.resolve(path, caller)
        if not self.may_read(devpath, caller):
            raise FsError(errno.EACCES, path)
        made = self._made_now(devpath)
        if made is not None:
            return io.BytesIO(made[0])
        host = self._host(devpath)
        if host.is_dir():
            raise FsError(errno.EISDIR, path)
        # O_NOFOLLOW: resolve() already expanded every symlink; refuse one that appeared since.
        fd = os.open(host, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        return os.fdopen(fd, "rb", buffering=0)

    def read_bytes(self, path: str, caller: Caller = SHELL) -> bytes:
        with self.open(path, caller) as f:
            return f.read()

    def glob(self, pattern: str, caller: Caller = SHELL, cwd: str = "/") -> list[str]:
        """Paths matching a shell pattern (``*``, ``?``, ``[…]`` per component), sorted.

        Quoted metacharacters arrive escaped as ``[*]``; dot files only match a pattern that
        starts with a dot; unreadable directories contribute nothing (like mksh).
        """
        bases = ["/" if pattern.startswith("/") else ""]
        for part in _parts(pattern):
            found = []
            for base in bases:
                if not re.search(r"(?<!\[)[*?[](?![\]])", part):
                    found.append(_glue(base, re.sub(r"\[([*?\[])\]", r"\1", part)))
                    continue
                try:
                    names = self.listdir(join(cwd, base) if base else cwd, caller)
                except FsError:
                    continue
                found += [
                    _glue(base, n)
                    for n in names
                    if fnmatch.fnmatchcase(n, part) and (part.startswith(".") or not n.startswith("."))
                ]
            bases = found
        matches = []
        for path in bases:
            try:
                self.lstat(join(cwd, path), caller)
            except FsError:
                continue
            matches.append(path)
        return sorted(matches)

    def walk(self, top: str, caller: Caller = SHELL, *, maxdepth: int | None = None):
        """Yield ``(devpath, DevStat | FsError, depth)`` depth-first in sorted order, like find(1).

        Directory symlinks are not followed; unreadable directories yield an FsError entry
        after their own stat entry.
        """
        first = self.lstat(top, caller) if not top.endswith("/") else self.stat(top, caller)
        yield top, first, 0
        yield from self._walk_dir(top, first, caller, 1, maxdepth)

    def _walk_dir(self, shown: str, info: DevStat, caller: Caller, depth: int, maxdepth: int | None):
        if not info.is_dir or (maxdepth is not None and depth > maxdepth):
            return
        try:
            names = self.listdir(info.path, caller)
        except FsError as exc:
            yield shown, exc, depth
            return
        for name in names:
            child = shown.rstrip("/") + "/" + name
            try:
                cinfo = self._stat(info.path.rstrip("/") + "/" + name)
            except OSError:
                continue
            yield child, cinfo, depth
            yield from self._walk_dir(child, cinfo, caller, depth + 1, maxdepth)
