"""File commands of the fake shell, in toybox's output formats.

``ls``, ``stat``, ``cat``, ``head``, ``find``, ``tar``, ``df``, ``wc``, ``grep``. Formats follow
toybox (``landley/toybox`` ``toys/posix/ls.c``, ``toys/other/stat.c``, ``toys/posix/df.c``,
``toys/posix/tar.c``); error lines are ``toyname: PATH: strerror`` on stderr with exit 1.
"""

from __future__ import annotations

import fnmatch
import io
import math
import re
import stat as st
import tarfile
import threading
import zlib
from datetime import datetime
from typing import BinaryIO

from .devicefs import DevStat, FsError, uid_name

try:  # the same CRC-32 as zlib's, 4× faster: the recordings' key of every 64 KiB piece deflated
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - isal has wheels for x86-64 and arm64 only
    _crc32 = zlib.crc32
from .shell import STDERR, STDOUT, Output, Session, command

CHUNK = 64 * 1024  # stream big outputs in 64 KiB pieces (same as sync DATA)


def _err(tool: str, path: str, exc: FsError) -> tuple[int, bytes]:
    return STDERR, f"{tool}: {path}: {exc.strerror}\n".encode()


def _split_flags(args: list[str], known: str, with_value: str = "") -> tuple[dict[str, str], list[str], str]:
    """getopt-style parse: returns (flags, operands, bad_option). Operands may be interleaved."""
    flags: dict[str, str] = {}
    operands: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            operands += args[i + 1 :]
            break
        if a.startswith("-") and len(a) > 1 and not a[1:].isdigit():
            j = 1
            while j < len(a):
                ch = a[j]
                if ch in with_value:
                    value = a[j + 1 :] or (args[i + 1] if i + 1 < len(args) else "")
                    if not a[j + 1 :]:
                        i += 1
                    flags[ch] = value
                    break
                if ch not in known:
                    return flags, operands, ch
                flags[ch] = ""
                j += 1
        else:
            operands.append(a)
        i += 1
    return flags, operands, ""


def _mtime(session: Session, epoch: int, fmt: str) -> str:
    return datetime.fromtimestamp(epoch, session.terminal.tz).strftime(fmt)


# -- ls -----------------------------------------------------------------------------------------


def _blocks_k(info: DevStat) -> int:
    if info.is_link:
        return 0
    return 4 * math.ceil(info.size / 4096) if info.is_file else 4


def _long_lines(session: Session, entries: list[tuple[str, DevStat]], numeric: bool) -> list[str]:
    rows = []
    for name, info in entries:
        user = str(info.uid) if numeric else uid_name(info.uid)
        group = str(info.gid) if numeric else uid_name(info.gid)
        shown = name + (f" -> {info.link_target}" if info.is_link else "")
        rows.append(
            (
                st.filemode(info.mode),
                str(info.nlink),
                user,
                group,
                str(info.size),
                _mtime(session, info.mtime, "%Y-%m-%d %H:%M"),
                shown,
            )
        )
    if not rows:
        return []
    w = [max(len(r[k]) for r in rows) for k in range(5)]
    return [f"{r[0]} {r[1]:>{w[1]}} {r[2]:<{w[2]}} {r[3]:<{w[3]}} {r[4]:>{w[4]}} {r[5]} {r[6]}" for r in rows]


@command("ls")
def ls(session: Session, argv: list[str], stdin: bytes) -> Output:
    flags, paths, bad = _split_flags(argv[1:], "laA1dnRhsFt")
    if bad:
        yield STDERR, f"ls: Unknown option '{bad}' (see \"ls --help\")\n".encode()
        return 1
    fs, caller = session.terminal.fs, session.caller
    long = "l" in flags or "n" in flags
    follow = not (long or "d" in flags)  # toybox: -l/-d show a symlink operand itself
    status = 0
    files: list[tuple[str, DevStat]] = []
    dirs: list[tuple[str, DevStat]] = []
    for p in paths or ["."]:
        try:
            info = (fs.stat if follow else fs.lstat)(session.path(p), caller)
            if long and info.is_link and p.endswith("/"):
                info = fs.stat(session.path(p), caller)
        except FsError as exc:
            yield _err("ls", p, exc)
            status = 1
            continue
        (dirs if info.is_dir and "d" not in flags else files).append((p, info))
    out: list[str] = []
    if files:
        out += _long_lines(session, files, "n" in flags) if long else [p for p, _ in files]
    for n, (p, info) in enumerate(dirs):
        if len(dirs) + len(files) > 1:
            out += ([""] if out or n else []) + [f"{p}:"]
        try:
            names = fs.listdir(info.path, caller)
        except FsError as exc:
            yield STDOUT, "".join(line + "\n" for line in out).encode()
            out = []
            yield _err("ls", p, exc)
            status = 1
            continue
        if "a" in flags:
            names = [".", ".."] + names
        elif "A" not in flags:
            names = [x for x in names if not x.startswith(".")]
        if long:
            entries = []
            for name in names:
                try:
                    entries.append(
                        (
                            name,
                            fs.lstat(info.path.rstrip("/") + "/" + name, caller)
                            if name not in (".", "..")
                            else fs.stat(info.path.rstrip("/") + "/" + name, caller),
                        )
                    )
                except FsError:
                    continue
            out.append(f"total {sum(_blocks_k(e) for _, e in entries)}")
            out += _long_lines(session, entries, "n" in flags)
        else:
            out += names
    if out:
        yield STDOUT, "".join(line + "\n" for line in out).encode()
    return status


# -- stat ---------------------------------------------------------------------------------------

_FILE_TYPES = {
    st.S_IFDIR: "directory",
    st.S_IFREG: "regular file",
    st.S_IFLNK: "symbolic link",
    st.S_IFCHR: "character special file",
    st.S_IFBLK: "block special file",
    st.S_IFIFO: "fifo",
    st.S_IFSOCK: "socket",
}


def _file_type(info: DevStat) -> str:
    if info.is_file and info.size == 0:
        return "regular empty file"
    return _FILE_TYPES.get(st.S_IFMT(info.mode), "unknown")


def _stat_field(session: Session, ch: str, shown: str, info: DevStat) -> str:
    date = lambda t: _mtime(session, t, "%Y-%m-%d %H:%M:%S.000000000 %z")  # noqa: E731
    fields = {
        "a": lambda: f"{info.mode & 0o7777:o}",
        "A": lambda: st.filemode(info.mode),
        "b": lambda: str(_blocks_k(info) * 2),
        "B": lambda: "512",
        "d": lambda: str(info.dev),
        "f": lambda: f"{info.mode:x}",
        "F": lambda: _file_type(info),
        "g": lambda: str(info.gid),
        "G": lambda: uid_name(info.gid),
        "h": lambda: str(info.nlink),
        "i": lambda: str(info.ino),
        "n": lambda: shown,
        "N": lambda: f"'{shown}'" + (f" -> '{info.link_target}'" if info.is_link else ""),
        "o": lambda: "4096",
        "s": lambda: str(info.size),
        "u": lambda: str(info.uid),
        "U": lambda: uid_name(info.uid),
        "x": lambda: date(info.atime),
        "X": lambda: str(info.atime),
        "y": lambda: date(info.mtime),
        "Y": lambda: str(info.mtime),
        "z": lambda: date(info.ctime),
        "Z": lambda: str(info.ctime),
        "%": lambda: "%",
    }
    fn = fields.get(ch)
    return fn() if fn else "?"


def _stat_format(session: Session, fmt: str, shown: str, info: DevStat) -> str:
    return re.sub(r"%(.)", lambda m: _stat_field(session, m.group(1), shown, info), fmt)


_STAT_DEFAULT = (
    "  File: %N\n  Size: %s\t Blocks: %b\t IO Blocks: %o\t%F\n"
    "Device: %dh/%dd\t Inode: %i\t Links: %h\n"
    "Access: (%a/%A)\tUid: (%u/%U)\tGid: (%g/%G)\n"
    "Access: %x\nModify: %y\nChange: %z\n"
)


@command("stat")
def stat_cmd(session: Session, argv: list[str], stdin: bytes) -> Output:
    args = ["-c" + a[len("--format=") :] if a.startswith("--format=") else a for a in argv[1:]]
    flags, paths, bad = _split_flags(args, "Lt", with_value="c")
    if bad or not paths:
        yield STDERR, (f"stat: Unknown option '{bad}'\n" if bad else "stat: Need 1 argument\n").encode()
        return 1
    fmt = flags["c"] + "\n" if "c" in flags else _STAT_DEFAULT
    fs, status = session.terminal.fs, 0
    for p in paths:
        try:
            info = (fs.stat if "L" in flags else fs.lstat)(session.path(p), session.caller)
        except FsError as exc:
            yield STDERR, f"stat: '{p}': {exc.strerror}\n".encode()
            status = 1
            continue
        yield STDOUT, _stat_format(session, fmt, p, info).encode()
    return status


# -- cat / head / wc / grep -------------------------------------------------------------------


def _stream_file(session: Session, path: str, limit: int | None = None):
    """Yield a file's bytes in CHUNK pieces (at most ``limit``). Raises FsError."""
    with session.terminal.fs.open(session.path(path), session.caller) as f:
        left = limit
        while left is None or left > 0:
            data = f.read(CHUNK if left is None else min(CHUNK, left))
            if not data:
                break
            if left is not None:
                left -= len(data)
            yield data


def _inputs(session: Session, tool: str, paths: list[str], stdin: bytes):
    """Yield (name, bytes | FsError) for each operand, ``-``/none meaning stdin."""
    for p in paths or ["-"]:
        if p == "-":
            yield p, stdin
            continue
        try:
            yield p, b"".join(_stream_file(session, p))
        except FsError as exc:
            yield p, exc


@command("cat")
def cat(session: Session, argv: list[str], stdin: bytes) -> Output:
    _, paths, bad = _split_flags(argv[1:], "uvtesAn")
    status = 0
    for p in paths or ["-"]:
        if p == "-":
            if stdin:
                yield STDOUT, stdin
            continue
        try:
            for data in _stream_file(session, p):
                yield STDOUT, data
        except FsError as exc:
            yield _err("cat", p, exc)
            status = 1
    return status


@command("head")
def head(session: Session, argv: list[str], stdin: bytes) -> Output:
    args = ["-n" + a[1:] if re.fullmatch(r"-\d+", a) else a for a in argv[1:]]
    flags, paths, bad = _split_flags(args, "qv", with_value="cn")
    if bad:
        yield STDERR, f"head: Unknown option '{bad}'\n".encode()
        return 1
    status = 0
    # toybox head.c: a "==> NAME <==" header before each file it opened (loopfiles() reports a
    # file it cannot open and goes on, no header), with several files and no -q, or with -v; a
    # blank line before every header but the first printed (toybox 0.8.9: `head -c 4 A missing A`).
    headers = (len(paths) > 1 and "q" not in flags) or "v" in flags
    printed = 0
    for p in paths or ["-"]:
        try:
            chunks = iter(()) if p == "-" else _stream_file(session, p, limit=int(flags["c"]) if "c" in flags else None)
            first = b"" if p == "-" else next(chunks, b"")  # opens the file: an error comes before the header
            if headers:
                yield STDOUT, f"{chr(10) if printed else ''}==> {p} <==\n".encode()
                printed += 1
            if "c" in flags:
                if p == "-":
                    yield STDOUT, stdin[:int(flags["c"])]
                else:
                    yield STDOUT, first
                    for data in chunks:
                        yield STDOUT, data
                continue
            lines = int(flags.get("n", "10"))
            data = stdin if p == "-" else first
            if p != "-" and data.count(b"\n") < lines:
                for piece in chunks:
                    data += piece
                    if data.count(b"\n") >= lines:
                        break
            yield STDOUT, b"".join(data.splitlines(keepends=True)[:lines])
        except FsError as exc:
            yield _err("head", p, exc)
            status = 1
    return status


@command("tail")
def tail(session: Session, argv: list[str], stdin: bytes) -> Output:
    """toybox ``tail [-c|-n [+]N] [FILE]``: the last N bytes/lines, or from the Nth on with ``+N``
    (one file or stdin; ``-f`` is not emulated)."""
    args = ["-n" + a[1:] if re.fullmatch(r"-\d+", a) else a for a in argv[1:]]
    flags, paths, bad = _split_flags(args, "q", with_value="cn")
    unit = "c" if "c" in flags else "n"
    count = flags.get(unit, "10")
    if bad or len(paths) > 1 or not re.fullmatch(r"\+?\d+", count):
        yield STDERR, f"tail: fake terminal: unsupported arguments {argv[1:]}\n".encode()
        return 1
    p = paths[0] if paths else "-"
    start = int(count) - 1 if count.startswith("+") else None
    try:
        if unit == "c" and p != "-":
            with session.terminal.fs.open(session.path(p), session.caller) as f:
                if start is not None:
                    f.read(max(start, 0))  # toybox reads and drops what comes before (no seek)
                else:  # the last N bytes: toybox seeks there (try_lseek), or reads all if N ≥ the size
                    f.seek(max(f.seek(0, io.SEEK_END) - int(count), 0))
                    if not int(count):
                        return 0
                while data := f.read(CHUNK):
                    yield STDOUT, data
            return 0
        data = stdin if p == "-" else b"".join(_stream_file(session, p))
    except FsError as exc:
        yield _err("tail", p, exc)
        return 1
    if unit == "c":
        yield STDOUT, data[max(start, 0):] if start is not None else data[-int(count):] if int(count) else b""
    else:
        lines = data.splitlines(keepends=True)
        yield STDOUT, b"".join(lines[max(start, 0):] if start is not None else lines[-int(count):] if int(count)
                               else [])
    return 0


@command("wc")
def wc(session: Session, argv: list[str], stdin: bytes) -> Output:
    flags, paths, _ = _split_flags(argv[1:], "lwcm")
    which = [f for f in "lwc" if f in flags] or ["l", "w", "c"]
    status = 0
    for name, data in _inputs(session, "wc", paths, stdin):
        if isinstance(data, FsError):
            yield _err("wc", name, data)
            status = 1
            continue
        counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data)}
        cols = " ".join(str(counts[f]) for f in which)
        yield STDOUT, (cols + ("" if name == "-" else f" {name}") + "\n").encode()
    return status


@command("grep")
def grep(session: Session, argv: list[str], stdin: bytes) -> Output:
    flags, operands, bad = _split_flags(argv[1:], "ivFEcqlnsw", with_value="e")
    if bad or not (operands or "e" in flags):
        yield STDERR, f"grep: Unknown option '{bad}'\n".encode() if bad else b"grep: no pattern\n"
        return 2
    pattern = flags["e"] if "e" in flags else operands.pop(0)
    regex = re.escape(pattern) if "F" in flags else pattern
    if "w" in flags:
        regex = rf"\b(?:{regex})\b"
    rx = re.compile(regex.encode(), re.I if "i" in flags else 0)
    found, status = False, 1
    for name, data in _inputs(session, "grep", operands, stdin):
        if isinstance(data, FsError):
            if "s" not in flags:
                yield _err("grep", name, data)
            status = 2
            continue
        hits = [
            (n, line)
            for n, line in enumerate(data.splitlines(), 1)
            if bool(rx.search(line)) != ("v" in flags)
        ]
        found = found or bool(hits)
        if "q" in flags:
            continue
        if "c" in flags:
            yield STDOUT, f"{len(hits)}\n".encode()
        elif "l" in flags:
            if hits:
                yield STDOUT, f"{name if name != '-' else '(standard input)'}\n".encode()
        else:
            prefix = f"{name}:" if len(operands) > 1 else ""
            yield (
                STDOUT,
                b"".join(
                    prefix.encode() + (f"{n}:".encode() if "n" in flags else b"") + line + b"\n"
                    for n, line in hits
                ),
            )
    return 0 if found else status


# -- find ---------------------------------------------------------------------------------------


@command("find")
def find(session: Session, argv: list[str], stdin: bytes) -> Output:
    starts: list[str] = []
    args = argv[1:]
    while args and not args[0].startswith("-"):
        starts.append(args.pop(0))
    maxdepth: int | None = None
    mindepth, ftype, name, fold, end = 0, "", "", False, "\n"
    while args:
        opt = args.pop(0)
        if opt in ("-print", "-print0"):
            end = "\0" if opt == "-print0" else end
            continue
        if opt not in ("-maxdepth", "-mindepth", "-type", "-name", "-iname") or not args:
            yield STDERR, f"find: bad arg '{opt}'\n".encode()
            return 1
        value = args.pop(0)
        if opt == "-maxdepth":
            maxdepth = int(value)
        elif opt == "-mindepth":
            mindepth = int(value)
        elif opt == "-type":
            ftype = value
        else:
            name = value.lower() if opt == "-iname" else value
            fold = opt == "-iname"
    kinds = {"f": st.S_IFREG, "d": st.S_IFDIR, "l": st.S_IFLNK}
    status, lines = 0, []
    for start in starts or ["."]:
        top = session.path(start)
        try:
            for path, info, depth in session.terminal.fs.walk(top, session.caller, maxdepth=maxdepth):
                shown = start + path[len(top) :]  # find prints paths as typed
                if isinstance(info, FsError):
                    yield STDOUT, "".join(lines).encode()
                    lines = []
                    yield _err("find", shown, info)  # unquoted below the start (toybox 0.8.9)
                    status = 1
                    continue
                if depth < mindepth or (maxdepth is not None and depth > maxdepth):
                    continue
                if ftype and st.S_IFMT(info.mode) != kinds.get(ftype):
                    continue
                base = shown.rstrip("/").rsplit("/", 1)[-1] or "/"
                if name and not fnmatch.fnmatchcase(base.lower() if fold else base, name):
                    continue
                lines.append(shown + end)
        except FsError as exc:
            if lines:  # what was found so far comes first, as toybox flushes stdout before an error
                yield STDOUT, "".join(lines).encode()
                lines = []
            yield STDERR, f"find: '{start}': {exc.strerror}\n".encode()  # toybox quotes the start
            status = 1
    if lines:
        yield STDOUT, "".join(lines).encode()
    return status


# -- tar ----------------------------------------------------------------------------------------


def _tar_header(arcname: str, info: DevStat) -> bytes:
    ti = tarfile.TarInfo(arcname)
    ti.mode = info.mode & 0o7777
    ti.uid, ti.gid = info.uid, info.gid
    ti.uname, ti.gname = uid_name(info.uid), uid_name(info.gid)
    ti.mtime = info.mtime
    if info.is_dir:
        ti.type = tarfile.DIRTYPE
    elif info.is_link:
        ti.type, ti.linkname = tarfile.SYMTYPE, info.link_target
    else:
        ti.size = info.size
    try:
        return ti.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")
    except ValueError:  # name too long for ustar: toybox falls back to GNU long names too
        return ti.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")


@command("tar")
def tar(session: Session, argv: list[str], stdin: bytes) -> Output:
    args = argv[1:]
    if "--version" in args:  # tsdtool's probe for tar on terminals without shell v2
        yield STDOUT, b"toybox 0.8.9\n"
        return 0
    if args and not args[0].startswith("-"):  # old-style bundled flags: `tar cf - DIR`
        args = ["-" + args[0]] + args[1:]
    flags, names, bad = _split_flags(args, "cxtzvhp", with_value="fC")
    if bad:
        yield STDERR, f"tar: Unknown option '{bad}'\n".encode()
        return 1
    if "c" not in flags:
        yield STDERR, b"tar: fake terminal: only creating archives (-c) is supported\n"
        return 1
    if flags.get("f", "-") != "-":
        session.terminal.journal_write("tar", flags["f"])
        yield STDERR, f"tar: can't create '{flags['f']}': Read-only file system\n".encode()
        return 1
    if not names:
        yield STDERR, b"tar: empty archive\n"
        return 1
    if any(n.startswith("/") for n in names):
        yield STDERR, b"tar: removing leading '/' from member names\n"  # toybox tar.c
    if "z" in flags and not session.terminal.has_command("gzip"):
        # toybox tar pipes through an external `gzip`; when exec fails the child says so and
        # tar itself exits 0 with no output (toybox 0.8.9, checked in a root without gzip).
        yield STDERR, b"tar: exec gzip: No such file or directory\n"
        return 0
    plain = _tar_stream(session, names, flags)
    return (yield from (_gzip_stream(plain, session) if "z" in flags else _chunked(plain)))


def _chunked(gen: Output) -> Output:
    """Pass stderr on at once and gather stdout into CHUNK-sized pieces."""
    parts: list[bytes] = []  # joined once they reach CHUNK (one copy; a lone piece goes as it is)
    size = 0
    try:
        while True:
            fd, data = next(gen)
            if fd != STDOUT:
                yield fd, data
                continue
            parts.append(data)
            size += len(data)
            if size >= CHUNK:
                yield STDOUT, b"".join(parts)
                parts, size = [], 0
    except StopIteration as stop:
        if size:
            yield STDOUT, b"".join(parts)
        return stop.value or 0


def _gzip_stream(gen: Output, session: Session, level: int = 6) -> Output:
    """gzip the stdout of ``gen`` as one stream (header, deflate, trailer); stderr passes.

    The input is deflated in CHUNK pieces, each taking the time it would on the terminal's
    cores (``[cpu]``, :class:`~.terminal.Cores`) before its output goes out.
    """
    gz = _Deflater(level)
    cpu = session.terminal.cores.deflate(level)

    def squeeze() -> Output:
        buf = bytearray()  # input short of a whole piece
        try:
            while True:
                fd, data = next(gen)
                if fd != STDOUT:
                    yield fd, data
                    continue
                if buf:
                    buf += data
                    if len(buf) < CHUNK:
                        continue
                    data = bytes(buf)
                    buf.clear()
                whole = len(data) - len(data) % CHUNK
                for at in range(0, whole, CHUNK):  # a piece read whole is deflated as it is, uncopied
                    cpu.charge(CHUNK)
                    yield STDOUT, gz.compress(data[at : at + CHUNK])
                buf += memoryview(data)[whole:]
        except StopIteration as stop:
            cpu.charge(len(buf))
            yield STDOUT, gz.compress(bytes(buf)) + gz.flush()
            return stop.value or 0

    return (yield from _chunked(squeeze()))


class _Deflater:
    """zlib's gzip stream; a stream whose input repeats one seen before replays that one's output.

    The output is the same bytes zlib gives for the same pieces; only this host's CPU is
    spared — a benchmark's repeated copy then takes the time the terminal model says
    (:class:`~.terminal.Cores`), not what two shared host cores need to deflate (often
    slower than the four terminal cores being modelled). A piece that differs from the
    recording rebuilds zlib's state from the input kept so far and goes on deflating.
    """

    RECORDED: dict[tuple[int, int, int], tuple[list[tuple[int, int, bytes]], bytes]] = {}
    MAX_INPUT = 256 * 1024 * 1024  # longer streams are not recorded
    MAX_RECORDINGS = 16
    LOCK = threading.Lock()

    def __init__(self, level: int) -> None:
        self.level = level
        self.z = None  # zlib's compressor once the input left the recording (or none matched)
        self.follow: tuple[list[tuple[int, int, bytes]], bytes] | None = None
        self.kept: list[bytes] = []  # input replayed so far, to rebuild zlib's state
        self.log: list[tuple[int, int, bytes]] = []
        self.size = 0

    def compress(self, piece: bytes) -> bytes:
        key = (_crc32(piece), len(piece))
        if not self.log:
            self.follow = self.RECORDED.get((self.level, *key))
        pos = len(self.log)
        if self.z is None and self.follow and pos < len(self.follow[0]) and self.follow[0][pos][:2] == key:
            out = self.follow[0][pos][2]
            self.kept.append(piece)
        else:
            out = self._zlib().compress(piece)
        self.size += len(piece)
        if self.size <= self.MAX_INPUT:
            self.log.append((*key, out))
        return out

    def flush(self) -> bytes:
        if self.z is None and self.follow and len(self.log) == len(self.follow[0]):
            out = self.follow[1]
        else:
            out = self._zlib().flush()
        if self.log and self.size <= self.MAX_INPUT:
            with self.LOCK:  # several gzips of one terminal end at once
                if len(self.RECORDED) >= self.MAX_RECORDINGS:
                    self.RECORDED.pop(next(iter(self.RECORDED)), None)
                self.RECORDED[(self.level, *self.log[0][:2])] = (self.log, out)
        return out

    def _zlib(self):
        if self.z is None:
            self.z = zlib.compressobj(self.level, zlib.DEFLATED, 31)
            for piece in self.kept:  # the same calls as before: the same state, output already sent
                self.z.compress(piece)
            self.kept = []
        return self.z


def _tar_stream(session: Session, names: list[str], flags: dict[str, str]) -> Output:
    fs, caller = session.terminal.fs, session.caller
    base = session.path(flags["C"]) if "C" in flags else session.cwd
    status = 0
    for name in names:
        devpath = name if name.startswith("/") else base.rstrip("/") + "/" + name
        try:
            entries = list(fs.walk(devpath, caller))
        except FsError as exc:
            yield _err("tar", name, exc)
            status = 1
            continue
        for path, info, _depth in entries:
            rel = name.rstrip("/") + path[len(devpath.rstrip("/")) :] if path != devpath else name
            arcname = rel.lstrip("/") or "."
            if isinstance(info, FsError):
                yield _err("tar", rel, info)
                status = 1
                continue
            if info.is_file:
                try:
                    src = fs.open(info.path, caller)
                except FsError as exc:
                    yield STDERR, f"tar: can't open '{rel}': {exc.strerror}\n".encode()
                    status = 1
                    continue
                yield STDOUT, _tar_header(arcname, info)
                with src:
                    left = info.size
                    while left > 0:
                        data = src.read(min(CHUNK, left)) or b"\0" * min(CHUNK, left)
                        left -= len(data)
                        yield STDOUT, data
                yield STDOUT, b"\0" * (-info.size % 512)
            elif info.is_dir or info.is_link:
                yield STDOUT, _tar_header(arcname + ("/" if info.is_dir else ""), info)
    yield STDOUT, b"\0" * 1024
    return status


@command("gzip")
def gzip_cmd(session: Session, argv: list[str], stdin: bytes | BinaryIO) -> Output:
    """``gzip [-1…-9] [-c] [-f] [-n] [FILE…]`` compressing to stdout (Android 10+: toybox gzip on zlib).

    Without ``-c`` a FILE would be replaced by FILE.gz: refused, the terminal is read-only.
    ``stdin`` is bytes in the emulation's pipelines, or the pipe itself when the real shell
    hands its gzip over (realshell.py): then it is read as it comes.
    """
    levels = [int(a[1]) for a in argv[1:] if re.fullmatch(r"-[1-9]", a)]  # _split_flags takes -1 for a number
    flags, paths, bad = _split_flags([a for a in argv[1:] if not re.fullmatch(r"-[1-9]", a)], "cfnk")
    if bad:
        yield STDERR, f"gzip: Unknown option '{bad}'\n".encode()
        return 1
    level = levels[-1] if levels else 6
    if paths and "c" not in flags:
        session.terminal.journal_write("gzip", paths[0])
        yield STDERR, f"gzip: {paths[0]}.gz: Read-only file system\n".encode()
        return 1

    def source() -> Output:
        status = 0
        for p in paths or ["-"]:
            if p == "-":
                if isinstance(stdin, bytes):
                    yield STDOUT, stdin
                else:
                    reader = io.BufferedReader(stdin, CHUNK)  # type: ignore[arg-type]
                    while data := reader.read(CHUNK):
                        yield STDOUT, data
                continue
            try:
                for data in _stream_file(session, p):
                    yield STDOUT, data
            except FsError as exc:
                yield _err("gzip", p, exc)
                status = 1
        return status

    return (yield from _gzip_stream(source(), session, level))


# -- df -----------------------------------------------------------------------------------------


def _human(kib: int) -> str:
    value, units = float(kib), "KMGTP"
    unit = 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{value:.1f}{units[unit]}" if value < 10 and unit else f"{round(value)}{units[unit]}"


@command("df")
def df(session: Session, argv: list[str], stdin: bytes) -> Output:
    flags, paths, bad = _split_flags(argv[1:], "hkPai")
    if bad:
        yield STDERR, f"df: Unknown option '{bad}'\n".encode()
        return 1
    mounts = session.terminal.mounts
    rows, status = [], 0
    if not paths:
        rows = list(mounts)
    for p in paths:
        devpath = session.path(p)
        try:
            devpath = session.terminal.fs.stat(devpath, session.caller).path
        except FsError as exc:
            yield _err("df", p, exc)
            status = 1
            continue
        if devpath == "/sdcard" or devpath.startswith("/sdcard/"):  # /sdcard → /storage/emulated/0
            devpath = "/storage/emulated/0" + devpath[len("/sdcard") :]
        best = max(
            (
                m
                for m in mounts
                if devpath == m.mounted_on or devpath.startswith(m.mounted_on.rstrip("/") + "/")
            ),
            key=lambda m: len(m.mounted_on),
        )
        rows.append(best)
    human = "h" in flags
    head = [
        "Filesystem",
        "Size" if human else "1K-blocks",
        "Used",
        "Avail" if human else "Available",
        "Use%",
        "Mounted on",
    ]
    table = [head]
    for m in rows:
        pct = f"{math.ceil(m.used * 100 / (m.used + m.available))}%" if m.used + m.available else "0%"
        num = _human if human else str
        table.append([m.filesystem, num(m.blocks), num(m.used), num(m.available), pct, m.mounted_on])
    w = [max(len(r[k]) for r in table) for k in range(5)]
    w[0] = max(w[0], 14)
    text = "".join(
        f"{r[0]:<{w[0]}} {r[1]:>{w[1]}} {r[2]:>{w[2]}} {r[3]:>{w[3]}} {r[4]:>{w[4]}} {r[5]}\n" for r in table
    )
    yield STDOUT, text.encode()
    return status
