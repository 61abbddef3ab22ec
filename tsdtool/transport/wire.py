"""The adb wire without adbutils: a command's first requests, sent before the heavy imports.

``tsdtool pull`` imports adbutils, the output folder, hashing, progress and the views before it
can write a byte: about 60–100 ms in which adb's own client, a C program, has long sent RECV.
:func:`first_pull` asks what the pull will ask first (the device list, STAT and RECV of the
first path) with nothing but the standard library, and a thread drains the RECV reply into
memory while the rest is imported, so the terminal's link carries data from the start instead
of stalling on a full socket buffer (a loopback socket holds only 128–400 KB). For ``pull-db``,
:func:`first_shell` starts ``pm path PKG`` the same way, and run-as's listing
(:mod:`tsdtool.apps.listing`); their answers wait in their sockets, but for the listing's, which
:mod:`tsdtool.apps.early` reads on a thread (:meth:`First.follow`) to ask the headers, the probe and
the ranges (:func:`ask`, :func:`answer`), each answer put back for the usual code as a :class:`Replay`.
What these need before any heavy import lives here too: the server's address, the checks of a
device path and a package name, the shell quoting.

Only clean answers are kept. Anything else (no server, a terminal not in ``device`` state,
none or several attached, a missing or unusual path, a refusal, a lost or silent connection)
stops the early requests where they are, and the usual code (:mod:`tsdtool.transport.adb`)
asks that question again and words the error as it always did. An answer slower than
:data:`PATIENCE` is left to the usual code as well, so a silent server or terminal makes a
command wait at most that much longer than its ``--timeout`` before the usual error.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import socket
import stat as _stat
import struct
import sys
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence

from tsdtool import errors

# No dataclasses or typing here, nor in what runs before RECV (quick.py's parse, the device
# list's parser): importing dataclasses alone (inspect, ast, dis, tokenize) took 15-40 ms.

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5037
MAX_SYNC_PATH = 1024  # adb's sync protocol refuses longer paths
HOLD = 8 * 1024 * 1024  # at most this much of a reply is held in memory before it has a sink
PATIENCE = 2.0  # seconds an early answer may take (server and terminal answer these in milliseconds)
_READ = 1024 * 1024


class ServerAddress(namedtuple("ServerAddress", "host port host_given source")):
    """Where the adb server is (``host``, ``port``), whether tsdtool may start one there
    (``host_given`` by -H or the environment: then a server is never started), and where the
    address came from (``source``, for messages)."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def resolve_server(
    host: str | None = None, port: int | None = None, env: Mapping[str, str] | None = None
) -> ServerAddress:
    """Pick the adb server address: flags, then the adb environment variables, then the default."""
    env = os.environ if env is None else env
    if host or port:
        return ServerAddress(host or DEFAULT_HOST, port or DEFAULT_PORT, bool(host), "-H/-P")
    spec = env.get("ADB_SERVER_SOCKET", "")
    if spec:
        # adb's socket spec: tcp:PORT, tcp:HOST:PORT (IPv6 hosts come bracketed).
        parts = spec.split(":")
        if parts[0] != "tcp" or not parts[-1].isdigit():
            raise errors.UsageError(
                f"ADB_SERVER_SOCKET={spec!r} is not of the form tcp:HOST:PORT"
            )
        given = len(parts) > 2
        h = ":".join(parts[1:-1]).strip("[]") if given else DEFAULT_HOST
        return ServerAddress(h, int(parts[-1]), given, "ADB_SERVER_SOCKET")
    env_host = env.get("ANDROID_ADB_SERVER_ADDRESS") or env.get("ANDROID_ADB_SERVER_HOST")
    env_port = env.get("ANDROID_ADB_SERVER_PORT", "")
    if env_port and not env_port.isdigit():
        raise errors.UsageError(f"ANDROID_ADB_SERVER_PORT={env_port!r} is not a port number")
    if env_host or env_port:
        return ServerAddress(
            env_host or DEFAULT_HOST,
            int(env_port) if env_port else DEFAULT_PORT,
            bool(env_host),
            "environment",
        )
    return ServerAddress(DEFAULT_HOST, DEFAULT_PORT, False, "default")


def check_device_path(path: str) -> str:
    if not path.startswith("/"):
        raise errors.UsageError(f"{path!r}: device paths are absolute (like /sdcard/Download)")
    if "\x00" in path or "\n" in path:
        raise errors.UsageError(f"{path!r}: a device path cannot hold NUL or a newline")
    if len(path.encode("utf-8", "surrogateescape")) > MAX_SYNC_PATH:
        raise errors.UsageError(f"{path[:40]!r}…: a device path is at most {MAX_SYNC_PATH} bytes (adb sync)")
    return path


def quote(arg: str) -> str:
    """Quote one argument for the device shell (mksh/toybox parse POSIX quoting)."""
    return shlex.quote(arg)


def join(args: Sequence[str]) -> str:
    """Quote every argument and join them into one device shell command."""
    return " ".join(quote(str(a)) for a in args)


_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")


def check_package(package: str) -> str:
    """The package name, or UsageError: nothing else ever reaches run-as or a device path."""
    if not _PACKAGE.match(package):
        raise errors.UsageError(f"{package!r} is not an Android package name (like com.example.app)")
    return package


def reach(address: ServerAddress) -> socket.socket:
    """A connection to the server, made as the usual reachability probe makes it (3 s to connect;
    an ASCII host as bytes, so getaddrinfo skips the idna codec)."""
    host: str | bytes = address.host
    if host.isascii():
        host = host.encode("ascii")
    return socket.create_connection((host, address.port), timeout=3)


def keep_alive(sock: socket.socket) -> None:
    """adbutils' socket options: keep-alive, and on Linux its probe timings."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if sys.platform.startswith("linux"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 10)


class Unclean(Exception):
    """An answer other than the plain one: left for the usual code to ask again and word."""


def _exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise Unclean("closed")
        data += chunk
    return data


def _request(sock: socket.socket, service: str) -> None:
    data = service.encode("utf-8", "surrogateescape")
    sock.sendall(b"%04x" % len(data) + data)
    if _exact(sock, 4) != b"OKAY":
        raise Unclean(service)


class First:
    """What a command learned before its heavy imports; each part None when it was not (cleanly) had.

    ``reached``: the server took a connection (the usual reachability probe, already made).
    ``listing``: its answer to ``host:devices-l``; ``serial``: the terminal the usual selection
    picks from it, when it picks one; ``features``: that terminal's. A pull's ``path``: ``top``,
    its STAT (mode, size, mtime), and ``receiving``, its RECV under way. ``asked``: services
    started on that terminal (sent after ``host:transport``'s OKAY; their own OKAY not read), by
    the exact service string: a socket, a :class:`Replay` of an answer read already, or a
    :class:`Draining`. Whoever takes one of these closes it; :meth:`close` closes what nobody
    took. ``address``: the server's, when a terminal was picked. :meth:`follow` runs what asks
    on from these answers on a thread; :meth:`settle` waits for it."""

    def __init__(self, path: str | None = None):
        self.path = path
        self.reached: bool | None = None
        self.listing: str | None = None
        self.serial: str | None = None
        self.address: ServerAddress | None = None
        self.features: set[str] | None = None
        self.top: tuple[int, int, int] | None = None
        self.receiving: Draining | None = None
        self.asked: dict[str, socket.socket | Replay | Draining] = {}
        self.patience = PATIENCE  # how long an early answer may take: PATIENCE, or --timeout when shorter
        self._following: tuple[object, socket.socket, socket.socket] | None = None  # thread, wake, waker

    def follow(self, work: Callable[[First, socket.socket], None]) -> None:
        """Run ``work(self, wake)`` on a thread: it may read answers in :attr:`asked` (handing
        each back as a :class:`Replay` of what it read) and ask more there. ``wake`` turns
        readable when :meth:`close` wants it to stop."""
        from tsdtool import threads

        wake, waker = socket.socketpair()
        self._following = (threads.start(work, self, wake, name="tsdtool-early"), wake, waker)

    def settle(self) -> None:
        """Wait until the thread of :meth:`follow` has asked all it will."""
        if self._following is not None:
            self._following[0].join()  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._following is not None:
            thread, wake, waker = self._following
            waker.send(b".")
            thread.join()  # type: ignore[attr-defined]
            wake.close()
            waker.close()
            self._following = None
        if self.receiving is not None:
            self.receiving.close()
        while self.asked:
            self.asked.popitem()[1].close()


def _first(host: str | None, port: int | None, serial: str | None, timeout: float,
           env: Mapping[str, str], first: First) -> ServerAddress | None:
    """The reachability probe and the device list into ``first``; the server's address when a
    terminal was picked (``first.serial``), else None."""
    try:
        address = resolve_server(host, port, env)
    except errors.UsageError:
        return None
    try:
        sock = reach(address)
    except OSError:
        first.reached = False
        return None
    first.reached = True
    with sock:
        sock.settimeout(timeout)
        _request(sock, "host:devices-l")
        first.listing = _read_block(sock)
    first.serial = _the_one(first.listing, serial or env.get("ANDROID_SERIAL") or None)
    return address if first.serial else None


def _read_block(sock: socket.socket) -> str:
    return _exact(sock, int(_exact(sock, 4), 16)).decode("utf-8", "replace")


def _transport(address: ServerAddress, serial: str, timeout: float) -> socket.socket:
    """A connection switched to ``serial`` (``host:transport`` answered OKAY), made as adbutils
    makes every connection."""
    sock = reach(address)
    try:
        keep_alive(sock)
        sock.settimeout(timeout)
        _request(sock, f"host:transport:{serial}")
    except BaseException:
        sock.close()
        raise
    return sock


def first_pull(host: str | None, port: int | None, serial: str | None, path: str, timeout: float,
               env: Mapping[str, str] | None = None) -> First:
    """Ask the server and the terminal what a pull of ``path`` asks first, as far as the answers
    are plain; RECV only for a regular file on the one terminal the usual selection would pick."""
    first = First(path)
    sock = None
    wait = min(timeout, PATIENCE)
    try:
        check_device_path(path)
        address = _first(host, port, serial, wait, os.environ if env is None else env, first)
        if address is None:
            return first
        sock = _transport(address, first.serial, wait)
        _request(sock, "sync:")
        encoded = path.encode("utf-8", "surrogateescape")
        sock.sendall(b"STAT" + struct.pack("<I", len(encoded)) + encoded)
        reply = _exact(sock, 16)
        if reply[:4] != b"STAT":
            raise Unclean("STAT")
        first.top = struct.unpack("<III", reply[4:])
        if not _stat.S_ISREG(first.top[0]):
            sock.close()
            return first
        sock.sendall(b"RECV" + struct.pack("<I", len(encoded)) + encoded)
        sock.settimeout(timeout)  # the usual reads' limit on silence, once they take the stream
        first.receiving = Draining(sock)
    except (OSError, ValueError, Unclean, errors.UsageError):
        if sock is not None:
            sock.close()
    except BaseException:  # Ctrl-C: nothing is left open behind the message
        if sock is not None:
            sock.close()
        raise
    return first


def first_shell(host: str | None, port: int | None, serial: str | None, args: list[str], timeout: float,
                env: Mapping[str, str] | None = None, also: Sequence[list[str] | str] = ()) -> First:
    """The device list and the picked terminal's features, then ``args`` (and each of ``also``, a
    command or a shell line already quoted, on a connection of its own) started on it as the usual
    :meth:`~tsdtool.transport.adb.Device.shell` starts them over shell v2 (no early shell without
    it); the usual code reads each answer, OKAY first, from the connection handed on."""
    first = First()
    wait = first.patience = min(timeout, PATIENCE)  # the connections handed on get the usual limit from Device._open
    try:
        address = _first(host, port, serial, wait, os.environ if env is None else env, first)
        if address is None:
            return first
        first.address = address
        with reach(address) as asking:
            asking.settimeout(wait)
            _request(asking, f"host-serial:{first.serial}:features")
            first.features = set(_read_block(asking).split(","))
        if "shell_v2" not in first.features:
            return first
        for each in (args, *also):
            service = shell_service(each if isinstance(each, str) else join(each))
            first.asked[service] = ask(first, service, wait)
    except (OSError, ValueError, Unclean):
        pass  # what was asked is kept; the usual code asks the rest and words any error
    return first


def shell_service(script: str) -> str:
    """The service :meth:`~tsdtool.transport.adb.Device.shell_script` starts over shell v2."""
    return f"shell,v2,raw:{script}"


def switched(first: First, wait: float) -> socket.socket:
    """A connection to the server switched to ``first``'s terminal (``host:transport`` answered OKAY)."""
    return _transport(first.address, first.serial, wait)  # type: ignore[arg-type]


def switched_all(first: First, count: int, wait: float) -> list[socket.socket]:
    """``count`` connections switched to ``first``'s terminal, as :func:`switched` makes each, but
    all asked at once: every ``host:transport`` goes out before the first OKAY is read, so they
    take one round trip to the server instead of ``count`` (each is still used only once its
    own OKAY came back)."""
    socks: list[socket.socket] = []
    try:
        data = f"host:transport:{first.serial}".encode("utf-8", "surrogateescape")
        for _ in range(count):
            socks.append(reach(first.address))  # type: ignore[arg-type]
            keep_alive(socks[-1])
            socks[-1].settimeout(wait)
            socks[-1].sendall(b"%04x" % len(data) + data)
        for sock in socks:
            if _exact(sock, 4) != b"OKAY":
                raise Unclean("host:transport")
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def ask(first: First, service: str, wait: float, sock: socket.socket | None = None) -> socket.socket:
    """A connection to ``first``'s terminal (``sock``, :func:`switched` already, or a new one) that
    started ``service`` (its OKAY not read)."""
    sock = sock or switched(first, wait)
    try:
        data = service.encode("utf-8", "surrogateescape")
        sock.sendall(b"%04x" % len(data) + data)
    except BaseException:
        sock.close()
        raise
    return sock


def answer(sock: socket.socket, wake: socket.socket, deadline: float, limit: int = HOLD) -> tuple[Replay, bytes | None]:
    """A service's whole stream (its OKAY first), read until the terminal ends it, and a
    :class:`Replay` of what was read, for the usual code to read as if it had asked. The stream
    is None when it did not end within ``deadline`` (monotonic) and ``limit`` bytes, or ``wake``
    turned readable: then the rest stays in the socket, behind what was read."""
    import time

    held: list[bytes] = []
    size, ended = 0, False
    try:
        while size < limit:
            left = deadline - time.monotonic()
            ready = select.select([sock, wake], [], [], left)[0] if left > 0 else []
            if not ready or wake in ready:
                break
            chunk = sock.recv(min(_READ, limit - size))
            if not chunk:
                ended = True
                break
            held.append(chunk)
            size += len(chunk)
    except OSError:
        pass  # the usual code meets it again and words it
    return Replay(sock, list(held), None), b"".join(held) if ended else None


def shell_result(stream: bytes) -> tuple[int, bytes, bytes] | None:
    """``(exit status, stdout, stderr)`` of a whole shell v2 stream (OKAY, then packets: id u8,
    length u32 LE, payload; 3 = exit status, shell_protocol.h), or None when it is not one."""
    if not stream.startswith(b"OKAY"):
        return None
    out, err, code, at = bytearray(), bytearray(), None, 4
    while at + 5 <= len(stream):
        kind, length = stream[at], struct.unpack("<I", stream[at + 1:at + 5])[0]
        payload = stream[at + 5:at + 5 + length]
        if len(payload) < length:
            return None
        at += 5 + length
        if kind == 1:
            out += payload
        elif kind == 2:
            err += payload
        elif kind == 3 and payload:
            code = payload[0]
    return None if code is None or at != len(stream) else (code, bytes(out), bytes(err))


def _the_one(listing: str, serial: str | None) -> str | None:
    """The serial the usual selection picks from ``listing`` when that selection succeeds."""
    from tsdtool.parsers.adb_devices import listed

    entries = [(s, state) for s, state, _ in listed(listing) if not serial or s == serial]
    return entries[0][0] if len(entries) == 1 and entries[0][1] == "device" else None


class Draining:
    """A RECV under way: a thread reads its reply into memory (at most :data:`HOLD` bytes)
    until :meth:`take` hands the socket on, the held bytes first. Use as
    ``with draining as c: read from c.conn``; leaving closes the socket."""

    def __init__(self, sock: socket.socket, hold: int = HOLD):
        from tsdtool import threads

        self._sock, self._hold = sock, hold
        self._held: list[bytes] = []
        self._error: OSError | None = None
        self._wake, self._waker = socket.socketpair()
        self._thread = threads.start(self._drain, name="tsdtool-drain")
        self.conn: Replay | None = None

    def _drain(self) -> None:
        held = 0
        try:
            while held < self._hold:
                ready, _, _ = select.select([self._sock, self._wake], [], [])
                if self._wake in ready:
                    return
                chunk = self._sock.recv(_READ)
                if not chunk:
                    return
                self._held.append(chunk)
                held += len(chunk)
        except OSError as exc:  # handed to whoever takes the stream, when it gets there
            self._error = exc

    def take(self) -> Replay:
        """Stop the thread; the stream, what it held coming first."""
        if self.conn is None:
            self._waker.send(b".")
            self._thread.join()
            self._wake.close()
            self._waker.close()
            self.conn = Replay(self._sock, self._held, self._error)
        return self.conn

    def close(self) -> None:
        self.take()
        self._sock.close()

    def __enter__(self) -> Draining:
        self.take()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Replay:
    """A socket's reads with some bytes already received in front of them (and then the error
    met while receiving them, if any)."""

    def __init__(self, sock: socket.socket, held: list[bytes], error: OSError | None):
        self._sock, self._held, self._error = sock, held, error
        self._at = 0  # of the first held piece, already read

    def recv_into(self, view: memoryview, nbytes: int = 0) -> int:
        if not self._held:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            return self._sock.recv_into(view, nbytes)
        piece = self._held[0]
        n = min(nbytes or len(view), len(piece) - self._at)
        view[:n] = memoryview(piece)[self._at:self._at + n]
        self._at += n
        if self._at == len(piece):
            self._held.pop(0)
            self._at = 0
        return n

    def recv(self, n: int) -> bytes:
        buf = bytearray(n)
        got = self.recv_into(memoryview(buf), n)
        return bytes(buf[:got])

    def __getattr__(self, name: str) -> object:  # settimeout, shutdown, close: the socket's own
        return getattr(self._sock, name)
