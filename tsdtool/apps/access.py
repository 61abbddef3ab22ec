"""The ways into an app's files, tried in order, each attempt recorded with the real reason.

1. ``run-as PKG`` — the app's own uid; works only for debuggable apps. run-as execs the
   command directly (no shell), with the app's data folder as cwd. Its refusals are one
   stderr line (AOSP system/core run-as.cpp, ``error()`` → ``run-as: package not
   debuggable: com.x``; Android ≤ 7 run-as.c: ``run-as: Package 'com.x' is not
   debuggable``). One refusal settles the way: it is never retried per file.
2. external storage — ``/sdcard/Android/data/PKG/`` read as the adb shell user through
   sync LIST/RECV. Scoped storage (Android 11+) may refuse it; sync STAT/LIST v1 answer a
   refused folder exactly like a missing one (all zero / empty), so the reason is asked
   from ``ls``.
3. ``su`` — only when the user passes ``--root``. AOSP's debug su takes ``su UID CMD…``;
   Magisk/SuperSU take ``su -c SCRIPT``; the first form that answers is kept.

Every command line is built with :func:`~tsdtool.transport.adb.join` (each argument
quoted), and a script handed to ``su``/``sh -c`` is itself one quoted argument. Nothing
here writes on the terminal: only ``find``, ``ls``, ``head``, ``cat`` and ``tar -c -f -``
(and, in :mod:`tsdtool.apps.gzpull`, ``stat``, ``tail`` and ``gzip -1`` to stdout).
"""

from __future__ import annotations

import stat as _stat
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, BinaryIO

from tsdtool import errors
from tsdtool.apps.listing import DATA_ROOT, HEADS_AT_ONCE, SQLITE_MAGIC, find_args, split_heads  # noqa: F401 - SQLITE_MAGIC read as access's
from tsdtool.transport.adb import Device, join
from tsdtool.transport.types import ShellResult

if TYPE_CHECKING:
    from tsdtool.apps.profiles import AppProfile

ProgressFn = Callable[[int], None]

EXTERNAL_ROOT = "/sdcard/Android/data/{package}"
MAX_DEPTH = 16  # folder depth walked through sync LIST (symlinks are never followed)
_ROOT_MARK = "tsdtool-root-ok"


@dataclass(frozen=True)
class Attempt:
    """One way tried: ``way`` is run-as | external | shared | su; ``reason`` says why it failed
    or what it reached."""

    way: str
    ok: bool
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Found:
    """A regular file a way can read."""

    path: str  # absolute device path
    rel: str  # below the way's root, '/'-separated ("databases/app.db")
    size: int | None = None  # known from sync LIST; None through find


class Refused(errors.RemoteFileError):
    """The way itself is closed (not debuggable, no su, folder refused): ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TarUnavailable(Exception):
    """The terminal has no tar (toybox tar came with Android 6) — copy file by file."""


def error_bytes(result: ShellResult) -> bytes:
    """What a failed command said: stderr, or stdout where the shell mixes them (adbd < 7)."""
    return result.stderr or (result.stdout[:4096] if not result.ok else b"")


def missing_tool(result: ShellResult) -> bool:
    """A command that does not exist: mksh exits 127 (``inaccessible or not found``);
    run-as exits 1 with ``run-as: exec failed for X``."""
    text = error_bytes(result).decode("utf-8", "replace")
    return result.exit_code == 127 or "exec failed" in text or "inaccessible or not found" in text


def reason_from(result: ShellResult) -> str:
    """The useful part of an error line: ``ls: /x: Permission denied`` → ``Permission denied``."""
    line = result.error_text()
    for prefix in ("run-as: ", "/system/bin/sh: ", "sh: "):
        if line.startswith(prefix):
            line = line[len(prefix):]
    tool, sep, rest = line.partition(": ")
    if sep and " " not in tool and rest:
        line = rest
    return line.rsplit(": ", 1)[-1] if line.startswith("/") else line


class Way(ABC):
    """One way into a folder of the terminal. ``refused`` is set once access is refused."""

    name: str = ""
    area: str = ""  # where its files go locally: internal | external | shared

    def __init__(self, device: Device, root: str):
        self.device = device
        self.root = root.rstrip("/")
        self.refused: str | None = None
        self.has_tar: bool | None = None  # None: not known yet

    def abs(self, rel: str) -> str:
        return self.root if rel in ("", ".") else f"{self.root}/{rel}"

    def rel(self, path: str) -> str:
        return path[len(self.root):].lstrip("/")

    def check_open(self) -> None:
        if self.refused:
            raise Refused(self.refused)

    @abstractmethod
    def list(self, folders: Sequence[str]) -> list[Found]:
        """Every regular file below ``folders`` (relative to the root). Raises :class:`Refused`."""

    @abstractmethod
    def head(self, path: str, n: int = 16) -> bytes:
        """The first ``n`` bytes of a file (b"" when it cannot be read)."""

    def heads(self, paths: Sequence[str], n: int = 16) -> dict[str, bytes]:
        """The first ``n`` bytes of each file (b"" when it cannot be read): one ``head -c`` for up
        to :data:`HEADS_AT_ONCE` files where the terminal has shell v2 (Android 7 on: toybox's
        head), else, or when its answer is not in toybox's form, one :meth:`head` each."""
        if len(paths) < 2 or "shell_v2" not in self.device.features():
            return {path: self.head(path, n) for path in paths}
        found: dict[str, bytes] = {}
        for start in range(0, len(paths), HEADS_AT_ONCE):
            some = paths[start:start + HEADS_AT_ONCE]
            result = self.run(["head", "-c", str(n), *some])
            split = None if missing_tool(result) else split_heads(result.stdout, some, n)
            found.update(split if split is not None else {path: self.head(path, n) for path in some})
        return found

    @abstractmethod
    def run(self, args: Sequence[str]) -> ShellResult:
        """Run one command with this way's identity."""

    @abstractmethod
    def copy(self, path: str, sink: BinaryIO, progress: ProgressFn | None = None) -> None:
        """Stream one file into ``sink``; raises RemoteFileError/TransferError."""

    @abstractmethod
    def wrap(self, args: Sequence[str]) -> str:
        """The shell line running ``args`` with this way's identity."""

    def tar(self, rels: Sequence[str], sink: BinaryIO, progress: ProgressFn | None = None) -> ShellResult:
        """Stream ``tar -c`` of ``rels`` (relative to the root) into ``sink``: one consistent read.

        Members are named ``./REL`` (the ``./`` keeps a name starting with ``-`` from being
        read as an option). Raises :class:`TarUnavailable` when the terminal has no tar.
        """
        self.check_open()
        if self.has_tar is None and "shell_v2" not in self.device.features():
            # Without shell v2 the stream cannot carry an exit status: ask first.
            self.has_tar = not missing_tool(self.device.shell_script(self.wrap(["tar", "--version"])))
        if self.has_tar is False:
            raise TarUnavailable
        args = ["tar", "-c", "-f", "-", "-C", self.root, *(f"./{r}" for r in rels)]
        result = self.device.stream_shell((), sink, progress, script=self.wrap(args))
        if missing_tool(result):
            self.has_tar = False
            raise TarUnavailable
        self.has_tar = True
        return result


class _ShellWay(Way):
    """run-as and su: listing with find (ls -l on terminals without it), reading with cat."""

    def run(self, args: Sequence[str]) -> ShellResult:
        self.check_open()
        return self.device.shell_script(self.wrap(args))

    def list(self, folders: Sequence[str]) -> list[Found]:
        dirs = [self.abs(f) for f in folders]
        result = self.run(find_args(dirs))  # the line pull-db may have asked early (tsdtool.apps.listing)
        sep = b"\0"
        if result.exit_code != 0 and b"print0" in error_bytes(result):
            # find without -print0 (old toybox, the test fake): names with a newline get lost.
            result, sep = self.run(["find", *dirs, "-type", "f"]), b"\n"
        if missing_tool(result):
            return self._list_ls(dirs)
        names = [n.decode("utf-8", "surrogateescape") for n in result.stdout.split(sep) if n]
        return [Found(n, self.rel(n)) for n in names if n.startswith(self.root + "/")]

    def _list_ls(self, dirs: list[str], depth: int = 0) -> list[Found]:
        """Terminals without find (Android ≤ 5): walk with ``ls -l`` (toolbox format)."""
        from tsdtool.parsers.ls import parse_ls

        found: list[Found] = []
        for folder in dirs:
            result = self.run(["ls", "-l", folder])
            for entry in parse_ls(result.stdout):
                path = f"{folder}/{entry.name}"
                if entry.is_dir and depth < MAX_DEPTH:
                    found += self._list_ls([path], depth + 1)
                elif entry.mode.startswith("-"):
                    found.append(Found(path, self.rel(path), entry.size))
        return found

    def head(self, path: str, n: int = 16) -> bytes:
        result = self.run(["head", "-c", str(n), path])
        if missing_tool(result):  # no head before toybox: read the start of a cat stream
            return _head_by_cat(self, path, n)
        return result.stdout[:n] if result.ok else b""

    def copy(self, path: str, sink: BinaryIO, progress: ProgressFn | None = None) -> None:
        self.check_open()
        tee = _Start(sink)
        result = self.device.stream_shell((), tee, progress, script=self.wrap(["cat", path]))
        if not result.ok:
            raise errors.RemoteFileError(f"{path}: {reason_from(result)}")
        if "shell_v2" not in self.device.features() and tee.looks_like_error(path):
            # adbd < 7 mixes stderr into the stream and reports no status: the whole
            # "file" is then cat's own error line.
            raise errors.RemoteFileError(f"{path}: {reason_from(ShellResult('cat', 1, bytes(tee.start)))}")


class RunAs(_ShellWay):
    name, area = "run-as", "internal"

    def __init__(self, device: Device, package: str):
        super().__init__(device, DATA_ROOT.format(package=package))
        self.package = package

    def wrap(self, args: Sequence[str]) -> str:
        return join(["run-as", self.package, *args])

    def run(self, args: Sequence[str]) -> ShellResult:
        result = super().run(args)
        err = error_bytes(result).decode("utf-8", "replace").strip()
        if not result.ok and err.startswith("run-as:") and "exec failed" not in err:
            # One refusal settles it: the package is not debuggable (or unknown) for good.
            self.refused = reason_from(result).removesuffix(f": {self.package}")
            raise Refused(self.refused)
        return result


class Root(_ShellWay):
    name, area = "su", "internal"

    def __init__(self, device: Device, package: str):
        super().__init__(device, DATA_ROOT.format(package=package))
        self._form: str | None = None

    def wrap(self, args: Sequence[str]) -> str:
        if self._form == "-c":
            return join(["su", "-c", join(args)])
        return join(["su", "0", "sh", "-c", join(args)])

    def probe(self) -> None:
        """Find the su form that works: AOSP ``su 0 sh -c …``, else ``su -c …``."""
        self.check_open()
        if self._form:
            return
        last = None
        for form in ("0", "-c"):
            self._form = form
            last = self.device.shell_script(self.wrap(["echo", _ROOT_MARK]))
            if last.ok and last.text().strip() == _ROOT_MARK:
                return
        self._form = None
        self.refused = "su not found" if last is not None and missing_tool(last) else \
            f"su refused: {reason_from(last) if last is not None else 'no answer'}"
        raise Refused(self.refused)

    def run(self, args: Sequence[str]) -> ShellResult:
        self.probe()
        return super().run(args)

    def tar(self, rels: Sequence[str], sink: BinaryIO, progress: ProgressFn | None = None) -> ShellResult:
        self.probe()
        return super().tar(rels, sink, progress)

    def copy(self, path: str, sink: BinaryIO, progress: ProgressFn | None = None) -> None:
        self.probe()
        super().copy(path, sink, progress)


class External(Way):
    """A folder the adb shell user reads: the app's external folder, or a shared folder."""

    def __init__(self, device: Device, root: str, name: str = "external", area: str = "external"):
        super().__init__(device, root)
        self.name, self.area = name, area

    def wrap(self, args: Sequence[str]) -> str:
        return join(args)

    def list(self, folders: Sequence[str]) -> list[Found]:
        self.check_open()
        top = self.device.stat(self.root + "/")
        if not top.exists or not top.is_dir:
            # STAT v1 says all-zero for missing and refused alike; ls tells them apart.
            self.refused = reason_from(self.device.shell(["ls", "-d", self.root + "/"])) if not top.exists \
                else "Not a directory"
            if self.refused.startswith("exit status"):
                self.refused = "No such file or directory"
            raise Refused(self.refused)
        if not self.device.listdir(self.root + "/"):
            # LIST v1 also answers a folder it may not read with an empty listing.
            check = self.device.shell(["ls", "-a", self.root + "/"])
            if not check.ok:
                self.refused = reason_from(check)
                raise Refused(self.refused)
            return []
        found: list[Found] = []
        for folder in folders:
            start = self.abs(folder)
            if start != self.root and not self.device.stat(start + "/").exists:
                continue
            found += self._walk(start, 0)
        return found

    def _walk(self, folder: str, depth: int) -> list[Found]:
        found: list[Found] = []
        for entry in self.device.listdir(folder):
            if entry.is_dir and depth < MAX_DEPTH:
                found += self._walk(entry.path, depth + 1)
            elif _stat.S_ISREG(entry.mode):
                found.append(Found(entry.path, self.rel(entry.path), entry.size))
        return found

    def run(self, args: Sequence[str]) -> ShellResult:
        return self.device.shell(args)

    def head(self, path: str, n: int = 16) -> bytes:
        result = self.run(["head", "-c", str(n), path])
        if missing_tool(result):
            return _head_by_cat(self, path, n)
        return result.stdout[:n] if result.ok else b""

    def copy(self, path: str, sink: BinaryIO, progress: ProgressFn | None = None) -> None:
        self.device.pull(path, sink, progress)


class _Start:
    """A sink that passes data on and remembers the first bytes."""

    def __init__(self, sink: BinaryIO, keep: int = 4096):
        self.sink, self.keep, self.start, self.size = sink, keep, bytearray(), 0

    def write(self, chunk) -> int:
        if len(self.start) < self.keep:
            self.start += bytes(chunk[: self.keep - len(self.start)])
        self.size += len(chunk)
        return self.sink.write(chunk)

    def looks_like_error(self, path: str) -> bool:
        line = bytes(self.start).decode("utf-8", "replace").strip()
        return self.size < self.keep and "\n" not in line and line.startswith(
            (f"cat: {path}: ", "run-as: ", "/system/bin/sh: ", "sh: "))


class _Enough(Exception):
    pass


class _Limit:
    def __init__(self, n: int):
        self.data, self.n = bytearray(), n

    def write(self, chunk) -> int:
        self.data += bytes(chunk[: self.n - len(self.data)])
        if len(self.data) >= self.n:
            raise _Enough  # hang up: the rest of the file is not needed
        return len(chunk)


def _head_by_cat(way: Way, path: str, n: int) -> bytes:
    sink = _Limit(n)
    try:
        way.copy(path, sink)  # type: ignore[arg-type]
    except _Enough:
        pass
    except errors.TsdError:
        return b""
    return bytes(sink.data)


def ways(device: Device, package: str, shared_dirs: Sequence[str] = ()) -> list[Way]:
    """The ways in the order they are tried: run-as, external, shared folders, su."""
    found: list[Way] = [RunAs(device, package), External(device, EXTERNAL_ROOT.format(package=package))]
    for folder in shared_dirs:
        found += [External(device, d, name="shared", area="shared") for d in expand(device, folder)]
    found.append(Root(device, package))
    return found


def expand(device: Device, folder: str) -> list[str]:
    """A shared folder whose last component is a glob (``/sdcard/MobileSMARTS*``: a probe where
    the exact name is not documented) → the folders matching it, from one sync LIST of the
    parent; a plain folder is itself. No match gives the pattern itself, which then records
    "No such file or directory" like any missing folder."""
    parent, _, pattern = folder.rstrip("/").rpartition("/")
    if not any(c in pattern for c in "*?["):
        return [folder]
    import fnmatch

    hits = sorted(e.path for e in device.listdir(parent + "/") if e.is_dir and fnmatch.fnmatchcase(e.name, pattern))
    return hits or [folder]


class Listings:
    """The ways' listings of one app, shared by the collectors that read its folders side by side
    (collect copies the databases and the app's own files in lanes of their own): each listing is
    asked once and whoever asks it second waits for that answer, a refusal included, as ``known``
    attempts spare a later collector a refused way. A listing that failed otherwise (the
    connection) is not kept: the next asker asks again and words its own error."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asked: dict[tuple[str, str, tuple[str, ...]], list] = {}  # key → [Event, files or Refused]

    def list(self, way: Way, folders: Sequence[str]) -> list[Found]:
        key = (way.name, way.root, tuple(folders))
        while True:
            with self._lock:
                entry = self._asked.get(key)
                if entry is None:
                    entry = self._asked[key] = [threading.Event(), None]
                    break  # ours to ask
            entry[0].wait()
            if isinstance(entry[1], Refused):
                way.refused = entry[1].reason
                raise Refused(entry[1].reason)
            if entry[1] is not None:
                return list(entry[1])
        try:
            entry[1] = way.list(folders)
        except Refused as exc:
            entry[1] = exc
            raise
        except BaseException:
            with self._lock:
                del self._asked[key]
            raise
        finally:
            entry[0].set()
        return list(entry[1])


class Reach:
    """Iterate over the ways that open for one app, as ``(way, files)``, recording every attempt.

    ``su`` is tried only with ``root=True`` and only when run-as did not reach the private
    folder; without ``--root`` the attempt is recorded as not tried. ``known`` attempts (from
    an earlier collector of the same app) settle refused ways without asking the terminal
    again; ``listings`` (shared with a collector of the same app running beside this one) asks
    each way's listing once for both. After the loop, :attr:`attempts` holds one
    :class:`Attempt` per way, in order.
    """

    def __init__(self, device: Device, package: str, profile: AppProfile, *, root: bool = False,
                 known: Sequence[Attempt] = (), listings: Listings | None = None):
        self.device, self.package, self.profile, self.root = device, package, profile, root
        self.listings = listings
        self.refused = {a.way: a.reason for a in known if not a.ok and a.way != "shared"}
        self.attempts: list[Attempt] = []
        self._ways: list[Way] = []
        self._turn = 0  # the way being tried or yielded
        self._ahead: dict[int, Callable[[], list[Found]]] = {}  # listings asked before their turn
        self._first: RunAs | None = None  # the way whose listing :meth:`begin` asked

    def begin(self) -> None:
        """Ask now for the first way's listing (run-as's ``find``), on a thread of its own, while the
        caller asks something else (``pm path``); taken in its turn. It only reads, so it may go
        out before the caller knows the package is installed: :meth:`settle` waits for it then."""
        from tsdtool import threads

        self._first = RunAs(self.device, self.package)
        self._first.refused = self.refused.get(self._first.name)
        self._ahead[0] = threads.beside(self._list, self._first, name="tsdtool-list")

    def settle(self) -> None:
        """Wait for every listing asked ahead and forget it (the caller gives up)."""
        for listing in self._ahead.values():
            try:
                listing()
            except errors.TsdError:
                pass  # the caller's own error says what happened
        self._ahead.clear()

    def _list(self, way: Way) -> list[Found]:
        folders = self.folders(way)
        return way.list(folders) if self.listings is None else self.listings.list(way, folders)

    def folders(self, way: Way) -> tuple[str, ...]:
        if way.area == "internal":
            return self.profile.internal
        return self.profile.external if way.area == "external" else (".",)

    def list_ahead(self) -> None:
        """Ask now for the listings of the ways after the one yielded last (su aside: it is tried
        only when run-as failed), each on a thread of its own; each is taken in its turn. A
        listing only reads (sync STAT/LIST, ``ls``), so it may run while files are still read."""
        from tsdtool import threads

        for n in range(self._turn + 1, len(self._ways)):
            way = self._ways[n]
            if n not in self._ahead and not isinstance(way, Root):
                way.refused = self.refused.get(way.name)
                self._ahead[n] = threads.beside(self._list, way, name="tsdtool-list")

    def __iter__(self) -> Iterator[tuple[Way, list[Found]]]:
        internal = False
        self._ways = ways(self.device, self.package, self.profile.shared_dirs(self.package))
        if self._first is not None:
            self._ways[0] = self._first  # run-as, listed since begin()
        for n, way in enumerate(self._ways):
            self._turn = n
            if isinstance(way, Root) and (internal or not self.root):
                if not internal:
                    self.attempts.append(Attempt("su", False, "not tried: pass --root to use su"))
                continue
            way.refused = self.refused.get(way.name)
            try:
                files = self._ahead.pop(n)() if n in self._ahead else self._list(way)
            except Refused as exc:
                self.attempts.append(Attempt(way.name, False, exc.reason))
                continue
            internal = internal or way.area == "internal"
            self.attempts.append(Attempt(way.name, True, f"{way.root}: {len(files)} files"))
            yield way, files

    @property
    def reached(self) -> bool:
        return any(a.ok for a in self.attempts)
