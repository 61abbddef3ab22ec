"""The real-shell backend: Android's shell (mksh) and file commands (toybox) for real.

A fixture's ``fs/`` is copied once per test session into a private root folder, with the
owners and modes Android gives those paths (the same table the Python emulation shows in
``ls -l``: app folders owned by the app's uid, mode 0700; ``/data`` 0771 system; unreadable
paths root 0600/0700 …). Each ``shell:``/``exec:`` command then runs as

    chroot --userspec=2000:2000 --groups=<the adb shell's groups> ROOT /system/bin/sh -c CMD

(what the static helper below does as ``tsd-enter``: one dynamic exec fewer than coreutils'
chroot), so every permission error comes from the kernel. ``/system/bin`` holds Debian's mksh
as ``sh``, Debian's toybox with the applets the fixture's Android release had
(:mod:`.applets`), and the Android-only commands as one small static program
(``android_cmds.c``): ``run-as`` and ``su`` are setuid root and switch uid themselves;
``getprop``, ``dumpsys``, ``pm``, ``logcat`` … hand their stdin/stdout/stderr to the fake over
a unix socket, and the fake answers from the fixture with the Python emulation's formats
(:mod:`.shell_system`). ``gzip`` (Android 10 on; Debian's toybox has none) is handed over the
same way, so its deflate costs what the fixture's ``[cpu]`` says, not what this host's cores do.

Sync (STAT/LIST/RECV) reads the same root as the shell user: :class:`RealFS` switches the
serving thread's filesystem uid and groups (setfsuid/setgroups act per thread on Linux).

Needs Linux, root, ``/bin/mksh``, ``/usr/bin/toybox`` and gcc with a static glibc;
:func:`missing` names what is absent.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import itertools
import os
import platform
import selectors
import shutil
import signal
import socket
import stat as st
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .applets import FIRST_GZIP_SDK, applets_for
from .devicefs import ROOT, SHELL, Caller, DeviceFS, DevStat, FsError

if TYPE_CHECKING:
    from .terminal import Terminal

HOST = {"mksh": "/bin/mksh", "toybox": "/usr/bin/toybox"}
SOURCE = Path(__file__).with_name("android_cmds.c")
SHELL_UID = 2000
# The adb shell's groups (`id` on a terminal): shell input log adb sdcard_rw sdcard_r net_bt_admin
# net_bt inet net_bw_stats readproc uhid.
SHELL_GROUPS = (2000, 1004, 1007, 1011, 1015, 1028, 3001, 3002, 3003, 3006, 3009, 3011)
# Android-only commands answered by the fake from the fixture. df, date and uptime are toybox
# on a terminal, but what they print comes from the fixture's mounts and clock, not the host's.
BROKERED = ("getprop", "dumpsys", "pm", "cmd", "am", "logcat", "log", "screencap", "wm", "settings", "df", "date",
            "uptime")
# bionic's built-in names (android_filesystem_config.h) for getpwuid()/getgrgid() in glibc's toybox.
AID_NAMES = {0: "root", 1000: "system", 1004: "input", 1007: "log", 1011: "adb", 1015: "sdcard_rw",
             1028: "sdcard_r", 1032: "package_info", 2000: "shell", 3001: "net_bt_admin", 3002: "net_bt",
             3003: "inet", 3006: "net_bw_stats", 3009: "readproc", 3011: "uhid", 9997: "everybody"}
# Debian's mksh (59c-15 on: "overhaul error reporting") starts its own messages with "E: " or
# "W: "; Android's mksh R59c does not.
_MKSH_PREFIXES = (b"E: /system/bin/sh: ", b"W: /system/bin/sh: ")

_lock = threading.Lock()
_state: dict = {}  # "dir": the session folder, "helper": compiled android_cmds, "roots": key -> Path
_counter = itertools.count()
_SETTLE = 0.05  # seconds a short output piece without a newline waits for the rest of its line


# -- can it run here? -------------------------------------------------------------------------


def missing() -> str:
    """What this machine lacks for the real shell ("" when nothing)."""
    if not sys.platform.startswith("linux"):
        return "Linux (chroot and per-thread setfsuid)"
    if os.geteuid() != 0:
        return "root (uid 0) to chroot, chown and setuid"
    for path in HOST.values():
        if not os.access(path, os.X_OK):
            return f"{path} (apt-get install mksh toybox)"
    if _helper() is None:
        return "gcc with a static glibc to build android_cmds.c (apt-get install gcc libc6-dev)"
    if "mount" not in _state:  # a read-only bind mount keeps the terminal read-only (CAP_SYS_ADMIN)
        try:
            _session_dir()
            _state["mount"] = ""
        except RuntimeError as exc:
            _state["mount"] = f"mount permission for a read-only bind mount ({exc})"
    return _state["mount"]


def _session_dir() -> Path:
    """This process's folder: roots are built under ``rw/`` and run from ``ro/``, one read-only
    bind mount of ``rw/`` made once (so each root costs no mount of its own)."""
    with _lock:
        if "dir" not in _state:
            _remove_stale()
            path = Path(tempfile.mkdtemp(prefix=f"tsd-roots-{os.getpid()}-"))
            path.chmod(0o755)
            (path / "rw").mkdir()
            try:
                _mount_read_only(path / "rw", path / "ro")
            except RuntimeError:
                shutil.rmtree(path, ignore_errors=True)
                raise
            _state["dir"], _state["roots"] = path, {}
            atexit.register(_cleanup)
        return _state["dir"]


def _remove_stale() -> None:
    """Roots left by a process that was killed (no atexit): unmount and remove them."""
    for folder in Path(tempfile.gettempdir()).glob("tsd-roots-*-*"):
        pid = folder.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            subprocess.run(["umount", "-l", str(folder / "ro")], capture_output=True, check=False)
            shutil.rmtree(folder, ignore_errors=True)


def _cleanup() -> None:
    """Unmount the read-only view, then remove the session folder."""
    subprocess.run(["umount", "-l", str(_state["dir"] / "ro")], capture_output=True, check=False)
    shutil.rmtree(_state["dir"], ignore_errors=True)


def _mount_read_only(rw: Path, ro: Path) -> None:
    """``ro`` shows ``rw`` read-only: writes fail with EROFS, as on the fake's read-only terminal."""
    ro.mkdir()
    for args in (["mount", "--bind", str(rw), str(ro)], ["mount", "-o", "remount,bind,ro", str(ro)]):
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode:
            subprocess.run(["umount", str(ro)], capture_output=True, check=False)
            raise RuntimeError(f"the fake terminal's root needs a read-only bind mount: {done.stderr.strip()}")


def _helper() -> Path | None:
    """android_cmds.c compiled once per source version (kept in the temp folder across runs)."""
    if "helper" not in _state:
        digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
        out = Path(tempfile.gettempdir()) / f"tsd-android-cmds-{digest}"
        if not out.is_file():
            cc = shutil.which("gcc") or shutil.which("cc")
            part = out.with_name(f"{out.name}.{os.getpid()}")
            if cc and subprocess.run([cc, "-static", "-O2", "-o", str(part), str(SOURCE)],
                                     capture_output=True, check=False).returncode == 0:
                os.replace(part, out)
        _state["helper"] = out if out.is_file() else None
    return _state["helper"]


def _libraries() -> list[str]:
    """The shared libraries (and loader) of the host binaries copied into every root."""
    if "libs" not in _state:
        found: set[str] = set()
        for binary in (HOST["mksh"], HOST["toybox"]):
            text = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
            for word in text.split():
                if word.startswith("/") and os.path.exists(word):
                    found.add(word)
        _state["libs"] = sorted(found)
    return _state["libs"]


# -- building a root --------------------------------------------------------------------------


def _fingerprint(terminal: Terminal) -> str:
    """Everything a root is built from: fixture tree, packages, SDK, rooted, unreadable paths."""
    h = hashlib.sha256(repr((str(terminal.fixture.resolve()), terminal.sdk, terminal.rooted,
                             sorted((p.name, p.uid, p.debuggable) for p in terminal.packages.values()),
                             terminal.model_fs._unreadable)).encode())
    src = terminal.fixture / "fs"
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames) + dirnames:
            info = os.lstat(os.path.join(dirpath, name))
            h.update(f"{dirpath}/{name}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_mode}\n".encode(
                "utf-8", "surrogateescape"))  # names are raw bytes: non-UTF-8 ones too
    return h.hexdigest()


def root_for(terminal: Terminal) -> tuple[Path, Path]:
    """``(read-only view, writable folder)`` of the terminal's root, built once per fixture."""
    key = _fingerprint(terminal)
    base = _session_dir()
    with _lock:
        roots = _state["roots"].get(key)
        if roots is None:
            name = f"r{len(_state['roots'])}"
            rw, ro = base / "rw" / name, base / "ro" / name
            _build(terminal, rw)
            roots = _state["roots"][key] = (ro, rw)
    return roots


def _link(src: str | Path, dst: Path) -> None:
    """Hard link a host file into the root (same inode, no copy); copy across filesystems."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    src = os.path.realpath(src)  # /lib64/ld-linux-x86-64.so.2 is a symlink on Debian
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _data_dir(terminal: Terminal, name: str) -> str:
    for candidate in (f"/data/user/0/{name}", f"/data/data/{name}"):
        if (terminal.fixture / "fs" / candidate.lstrip("/")).is_dir():
            return candidate
    return f"/data/data/{name}"


def _build(terminal: Terminal, root: Path) -> None:
    src = terminal.fixture / "fs"
    root.mkdir()
    if src.is_dir():  # files are copied, not linked: their owners and modes change below
        shutil.copytree(src, root, symlinks=True, dirs_exist_ok=True)
    for folder in ("system/bin", "dev/socket", "etc", "data/local/tmp", "data/system"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for pkg in terminal.packages.values():  # every installed app has its private folder
        (root / _data_dir(terminal, pkg.name).lstrip("/")).mkdir(parents=True, exist_ok=True)
    model = terminal.model_fs
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if st.S_ISLNK(info.st_mode):
                continue
            uid, gid, perm = model._owner_and_perm("/" + os.path.relpath(path, root), info.st_mode)
            os.chown(path, uid, gid)
            os.chmod(path, perm)
    _install_system(terminal, root)


def _install_system(terminal: Terminal, root: Path) -> None:
    bindir = root / "system/bin"
    _link(HOST["mksh"], bindir / "sh")
    _link(HOST["toybox"], bindir / "toybox")
    for applet in applets_for(terminal.sdk):
        (bindir / applet).symlink_to("toybox")
    helper = _helper()
    first = bindir / BROKERED[0]
    _link(helper, first)
    # toybox's gzip from Android 10 (applets.py); the emulation's, paced by the fixture's [cpu]
    for name in [*BROKERED[1:], *(["gzip"] if terminal.sdk >= FIRST_GZIP_SDK else [])]:
        os.link(first, bindir / name)
    setuid = [("run-as", True), ("su", terminal.rooted)]
    for name, wanted in setuid:
        if wanted:
            shutil.copyfile(helper, bindir / name)
            os.chown(bindir / name, 0, SHELL_UID)
            os.chmod(bindir / name, 0o4750)  # AOSP: run-as and su are root:shell 4750
    for lib in _libraries():
        _link(lib, root / lib.lstrip("/"))
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("urandom", 1, 9)):
        os.mknod(root / "dev" / name, 0o666 | st.S_IFCHR, os.makedev(major, minor))
        os.chmod(root / "dev" / name, 0o666)
    (root / "dev/socket").chmod(0o755)
    zone = Path("/usr/share/zoneinfo") / str(terminal.tz)
    if zone.is_file():  # bionic takes persist.sys.timezone; glibc's toybox reads /etc/localtime
        _link(zone, root / "etc/localtime")
    props = "".join(f"{k}={v}\n" for k, v in terminal.props.items())
    (root / "system/build.prop").write_text(props, encoding="utf-8")
    apps = {p.uid: f"u0_a{p.uid - 10000}" for p in terminal.packages.values() if p.uid >= 10000}
    users = {**AID_NAMES, **apps}
    (root / "etc/passwd").write_text("".join(f"{n}:x:{u}:{u}::/:/system/bin/sh\n" for u, n in users.items()))
    groups = {**users, **{u + 10000: f"{n}_cache" for u, n in apps.items()},
              **{u + 40000: f"all_a{u - 10000}" for u in apps}}
    (root / "etc/group").write_text("".join(f"{n}:x:{g}:\n" for g, n in groups.items()))
    plist = root / "data/system/packages.list"
    plist.write_text("".join(
        f"{p.name} {p.uid} {int(p.debuggable)} {_data_dir(terminal, p.name)} default:targetSdkVersion="
        f"{p.target_sdk} none\n" for p in terminal.packages.values()))
    os.chown(plist, 1000, 1032)  # system:package_info 0640, as PackageManager writes it
    plist.chmod(0o640)


# -- the file view for sync, with the shell user's permissions --------------------------------

_SYS_SETGROUPS = {"x86_64": 116, "aarch64": 159}.get(platform.machine(), 116)
_ident = threading.local()


@contextlib.contextmanager
def _as_user(uid: int, groups: tuple[int, ...]):
    """Access files as ``uid`` in this thread only (fsuid/fsgid and groups are per thread)."""
    if uid == 0 or getattr(_ident, "depth", 0):
        _ident.depth = getattr(_ident, "depth", 0) + 1
        try:
            yield
        finally:
            _ident.depth -= 1
        return
    if "libc" not in _state:
        _state["libc"] = ctypes.CDLL(None, use_errno=True)
    _libc = _state["libc"]
    saved = os.getgroups()
    arr = (ctypes.c_uint * len(groups))(*groups)
    _libc.syscall(_SYS_SETGROUPS, len(groups), arr)
    _libc.setfsgid(groups[0])
    _libc.setfsuid(uid)
    _ident.depth = 1
    try:
        yield
    finally:
        _ident.depth = 0
        _libc.setfsuid(0)
        _libc.setfsgid(0)
        back = (ctypes.c_uint * len(saved))(*saved)
        _libc.syscall(_SYS_SETGROUPS, len(saved), back)


class RealFS(DeviceFS):
    """The root folder as a :class:`DeviceFS` whose every access the kernel checks.

    Paths are still resolved one component at a time (a symlink is a *device* symlink),
    but permissions are the files' own: each call runs as the shell user (root for ROOT, the
    app's uid for an app — a command run-as handed over, like gzip).
    """

    def __init__(self, roots: tuple[Path, Path], model: DeviceFS) -> None:
        super().__init__(roots[0])
        self.writable, self.model = roots[1], model

    def _who(self, caller: Caller) -> tuple[int, tuple[int, ...]]:
        if caller == ROOT:
            return 0, (0,)
        uid = self.model._app_uid(caller.package) if caller.kind == "app" else None
        return (uid, _app_groups(uid)) if uid is not None else (SHELL_UID, SHELL_GROUPS)

    def _may_traverse(self, devdir: str, caller: Caller) -> bool:
        return True

    def may_list(self, devdir: str, caller: Caller) -> bool:
        return True

    def resolve(self, path: str, caller: Caller = SHELL, *, follow: bool = True) -> str:
        with _as_user(*self._who(caller)):
            return super().resolve(path, caller, follow=follow)

    def _stat(self, devpath: str) -> DevStat:
        with _as_user(SHELL_UID, SHELL_GROUPS):
            try:
                info = os.lstat(self._host(devpath))
            except OSError as exc:
                raise FsError(exc.errno or 2, devpath) from None
            link = os.readlink(self._host(devpath)) if st.S_ISLNK(info.st_mode) else ""
        return DevStat(devpath, info.st_mode, len(link) if link else info.st_size, int(info.st_mtime),
                       int(info.st_atime), int(info.st_ctime), info.st_uid, info.st_gid, info.st_nlink,
                       info.st_ino, info.st_dev, link)

    def walk(self, top: str, caller: Caller = SHELL, *, maxdepth: int | None = None):
        with _as_user(*self._who(caller)):  # held across the walk: its inner stats are the caller's
            yield from super().walk(top, caller, maxdepth=maxdepth)

    def listdir(self, path: str, caller: Caller = SHELL) -> list[str]:
        with _as_user(*self._who(caller)):
            devdir = self.resolve(path, caller)
            try:
                return sorted(os.listdir(self._host(devdir)))
            except OSError as exc:
                raise FsError(exc.errno or 2, path) from None

    def open(self, path: str, caller: Caller = SHELL):
        with _as_user(*self._who(caller)):
            host = self._host(self.resolve(path, caller))
            try:
                fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError as exc:
                raise FsError(exc.errno or 2, path) from None
        if st.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            raise FsError(21, path)  # EISDIR: adbd's read() of a folder
        return os.fdopen(fd, "rb", buffering=0)

    def appear(self, devpath: str, data: bytes, *, after: float = 0.0, mtime: int | None = None) -> None:
        """The terminal writes a file itself (a logger's archive): into the root, for real."""

        def write() -> None:
            host = self.writable.joinpath(*[p for p in devpath.split("/") if p])
            host.write_bytes(data)
            uid, gid, perm = self.model._owner_and_perm(devpath, st.S_IFREG | 0o644)
            os.chown(host, uid, gid)
            os.chmod(host, perm)
            if mtime is not None:
                os.utime(host, (mtime, mtime))

        if after <= 0:
            write()
        else:
            timer = threading.Timer(after, write)
            timer.daemon = True
            timer.start()


# -- running a command ----------------------------------------------------------------------


class _Run:
    """One shell process: what the brokered commands need to know about it."""

    def __init__(self, terminal: Terminal, pty: bool) -> None:
        self.terminal, self.pty = terminal, pty
        self.waiting = False  # a brokered command will never end (a live logcat)


def _app_groups(uid: int) -> tuple[int, ...]:
    """An app's groups as run-as gives them: its own, inet, everybody, its cache and all_a groups."""
    return uid, 3003, 9997, uid + 10000, uid + 40000


def _identity(terminal: Terminal, caller: Caller) -> tuple[int, tuple[int, ...], str]:
    if caller == ROOT:
        return 0, (0,), "/"
    if caller.kind == "app":
        uid = terminal.packages[caller.package].uid
        return uid, _app_groups(uid), _data_dir(terminal, caller.package)
    return SHELL_UID, SHELL_GROUPS, "/"


def run(terminal: Terminal, command: str, caller: Caller = SHELL, *, pty: bool = False, merged: bool = False):
    """``sh -c command`` in the root: a generator of ``(fd, bytes)`` returning the exit status.

    ``merged``: stdout and stderr share one pipe, in the order they were written — what adbd
    does for ``shell:`` v1 and ``exec:`` (everything then comes as stdout).
    """
    from .shell import STDERR, STDOUT, WAIT, default_env

    root = terminal.root
    uid, groups, cwd = _identity(terminal, caller)
    if cwd != "/":
        command = f"cd {cwd} || exit 1\n{command}"
    sockets = terminal.fs.writable / "dev/socket"  # the same folder the read-only view shows
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fresh = sockets / f".new-{os.getpid()}-{next(_counter)}"
    listener.bind(str(fresh))
    fresh.chmod(0o666)
    listener.listen(8)
    env = default_env(terminal)
    if caller == ROOT:
        env["USER"] = "root"
    # chroot --userspec=UID:GID --groups=… ROOT sh -c CMD, by the static helper (android_cmds.c):
    # coreutils' chroot is a dynamic binary, ~0.6 ms more of this host's CPU per command
    argv = ["tsd-enter", str(root), str(uid), str(groups[0]), ",".join(map(str, groups)),
            "/system/bin/sh", "-c", command]
    proc = subprocess.Popen(argv, executable=_helper(), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merged else subprocess.PIPE, start_new_session=True)
    named = sockets / f"fakeadb.{proc.pid}"
    os.rename(fresh, named)  # the session id of everything the shell starts is its pid
    state = _Run(terminal, pty)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, STDOUT)
    if not merged:
        sel.register(proc.stderr, selectors.EVENT_READ, STDERR)
    sel.register(listener, selectors.EVENT_READ, None)
    line_start = True
    held: dict[int, bytes] = {}  # a short piece without its newline, waiting briefly for the rest
    try:
        streams = 1 if merged else 2
        while streams:
            events = sel.select(_SETTLE if held else 0.05)
            if not events:
                for fd in list(held):  # quiet for a moment: what is held goes out as it is
                    yield fd, held.pop(fd)
                if state.waiting:
                    yield WAIT, b""  # nothing more will come: the caller waits for its client, or not
                    return 0
            for key, _ in events:
                if key.data is None:
                    conn, _ = listener.accept()
                    threading.Thread(target=_serve, args=(conn, state), daemon=True,
                                     name="fake-android-cmd").start()
                    continue
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    streams -= 1
                    if key.data in held:
                        yield key.data, held.pop(key.data)
                    continue
                if key.data == STDERR or merged:
                    data, line_start = _unprefix(data, line_start)
                data = held.pop(key.data, b"") + data
                if len(data) < 4096 and not data.endswith(b"\n"):
                    held[key.data] = data  # toybox writes "ls: ", "/x", ": …", "\n" one by one
                    continue
                yield key.data, data
        for fd in list(held):
            yield fd, held.pop(fd)
        status = proc.wait()
        return status if status >= 0 else 128 - status
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        sel.close()
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            named.unlink()


def _unprefix(data: bytes, line_start: bool) -> tuple[bytes, bool]:
    """Android's mksh (R59c) prints ``/system/bin/sh: X: …``; Debian's adds ``E: ``/``W: `` in front."""
    for prefix in _MKSH_PREFIXES:
        if line_start and data.startswith(prefix):
            data = data[3:]
        data = data.replace(b"\n" + prefix, b"\n" + prefix[3:])
    return data, data.endswith(b"\n")


def _serve(conn: socket.socket, state: _Run) -> None:
    """Answer one Android-only command from android_cmds.c: argv, cwd and its three fds."""
    from .shell import WAIT, Session, default_env, run_argv

    fds: list[int] = []
    try:
        conn.settimeout(10)
        data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
        while len(data) < 4 or len(data) < 4 + struct.unpack("<I", data[:4])[0]:
            more = conn.recv(65536)
            if not more:
                return
            data += more
        body = data[4:].split(b"\0")
        cut = body.index(b"")
        argv = [a.decode("utf-8", "surrogateescape") for a in body[:cut]]
        cwd = body[cut + 1].decode("utf-8", "surrogateescape") or "/"
        _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        terminal = state.terminal
        caller = ROOT if uid == 0 else SHELL
        for pkg in terminal.packages.values():
            if uid == pkg.uid and uid != SHELL_UID:
                caller = Caller.app(pkg.name)
        session = Session(terminal, caller, cwd, env=default_env(terminal), pty=state.pty)
        # gzip reads its stdin (a pipe) as it comes; the other commands read none
        stdin = os.fdopen(fds[0], "rb", buffering=0, closefd=False) if argv[:1] == ["gzip"] else b""
        gen = run_argv(session, argv, stdin)
        status = 0
        try:
            while True:
                fd, chunk = next(gen)
                if fd == WAIT:
                    state.waiting = True
                    conn.settimeout(None)
                    conn.recv(1)  # until the command is killed with its shell
                    return
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fds[fd], view):]  # fds are the client's 0, 1, 2
        except StopIteration as stop:
            status = stop.value or 0
        except BrokenPipeError:
            status = 141
        conn.sendall(bytes([status & 0xFF]))
    except OSError:
        pass  # the command was killed meanwhile
    finally:
        for fd in fds:
            os.close(fd)
        conn.close()

