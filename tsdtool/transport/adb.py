"""The ADB seam: the only module that imports adbutils.

Everything tsdtool asks of a terminal goes through :class:`Adb` (the server) and
:class:`Device` (one selected terminal). The seam

* finds the server the way the adb CLI does (flags, then ``ADB_SERVER_SOCKET``,
  ``ANDROID_ADB_SERVER_ADDRESS``/``ANDROID_ADB_SERVER_HOST``, ``ANDROID_ADB_SERVER_PORT``),
  and starts a local one only when no host was given;
* never lets adbutils spawn a server behind our back (its connection class runs
  ``adb start-server`` on any refused connect);
* quotes every argument that reaches a device shell (``shlex.quote``);
* puts a deadline on every call: an inactivity timeout on each read, plus an overall
  deadline for shell commands;
* turns adbutils and socket errors into :mod:`tsdtool.errors`, cause kept.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO


class _OnFirstUse(types.ModuleType):
    """Stands in for a module while adbutils is imported, and imports the module the first time
    one of its attributes is used. adbutils imports at start-up what only features tsdtool does
    not use need. ``adbutils._device`` is its AdbDevice with the extensions for installing,
    screen recording, screenshots (PIL), shell helpers (retry, decorator) and logging: tsdtool
    opens its own streams through ``AdbClient.make_connection`` and never builds an AdbDevice.
    ``zipfile``, ``hashlib`` and ``importlib.resources`` (with tempfile) serve adbutils' APK
    reader and its bundled adb (tsdtool finds adb itself). Before, these (with requests, which
    only the installer imports) were a third of a ``devices``. importlib's LazyLoader does not
    do: ``adbutils/__init__.py`` reads ``AdbDevice`` and ``Sync`` at once (``from … import``,
    and annotations such as ``-> typing.List[AdbDevice]`` evaluated as the class is defined).

    ``classes`` are such names: each stands in as a class that, built, loads the module and
    builds the real class instead (``AdbClient.device()`` still hands back a real AdbDevice)."""

    def __init__(self, name: str, classes: tuple[str, ...] = ()):
        super().__init__(name)
        for attr in classes:
            setattr(self, attr, self._class(attr))
        self._classes = classes

    def _class(self, attr: str) -> type:
        stand_in = self

        def build(cls, *args, **kwargs):
            return getattr(stand_in._load(), attr)(*args, **kwargs)

        return type(attr, (), {"__new__": build, "__module__": self.__name__, "__doc__": "loads on first use"})

    def _load(self) -> types.ModuleType:
        import importlib

        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        module = importlib.import_module(self.__name__)
        for name in self._classes:
            self.__dict__.pop(name, None)  # from now on found in the real module
        return module

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # `from M import X` asks for M.__path__: that is not a use of M
            raise AttributeError(attr)
        return getattr(self._load(), attr)


# module → the classes adbutils reads from it while it is imported
_DEFERRED = {"adbutils._device": ("AdbDevice", "Sync"), "zipfile": (), "hashlib": (), "importlib.resources": (),
             "platform": (),  # adbutils._adb's, for platform.system() in the connect _Connection replaces
             "deprecation": ()}  # its `deprecated` is _deprecated_when_called while adbutils is imported


def _deprecated_when_called(**kwargs):
    """``deprecation.deprecated`` as adbutils applies it to three client methods tsdtool never
    calls, put off until one is called: the real decorator compares version strings with
    ``packaging`` as it decorates, and imported that (with textwrap) into every start. Called,
    the method warns as the real decorator's wrapper does; its docstring lacks the notice."""
    import functools

    def decorate(function):
        @functools.wraps(function)
        def call(*args, **kw):
            import deprecation

            return deprecation.deprecated(**kwargs)(function)(*args, **kw)

        return call

    return decorate


def _import_adbutils() -> types.ModuleType:
    """``import adbutils`` with the modules of :data:`_DEFERRED` standing in until used.
    Afterwards the stand-ins leave ``sys.modules`` (an ``import zipfile`` elsewhere gets the
    real module at once); adbutils' own references and the parent packages' attributes keep
    them, and each imports its module the first time it is used."""
    import importlib.util

    spec = importlib.util.find_spec("adbutils")
    package = Path(spec.origin).parent if spec and spec.origin else None
    placed = []
    for name, classes in _DEFERRED.items():
        parent, _, child = name.rpartition(".")
        if parent == "adbutils":  # find_spec would import adbutils itself: look for the file
            found = package is not None and (package / f"{child}.py").is_file()
        else:
            found = importlib.util.find_spec(name) is not None
        if name in sys.modules or not found:
            continue
        stand_in = sys.modules[name] = _OnFirstUse(name, classes)
        if name == "deprecation":
            stand_in.deprecated = _deprecated_when_called
        placed.append(stand_in)
        if parent in sys.modules:  # `import importlib.resources` reads the parent's attribute
            setattr(sys.modules[parent], child, stand_in)
    _adbutils_version_from_its_folder()
    try:
        import adbutils
    finally:
        for stand_in in placed:
            if sys.modules.get(stand_in.__name__) is stand_in:
                del sys.modules[stand_in.__name__]
    return adbutils


def _adbutils_version_from_its_folder() -> None:
    """adbutils/_version.py asks ``importlib.metadata`` for adbutils' own version at import,
    which loads importlib.metadata, email (metadata files are read as mail headers) and
    zipfile and searches every ``sys.path`` entry: a tenth of a ``devices``. The version is
    also the name of the ``adbutils-<version>.dist-info`` folder beside the package; that
    name stands in for the module. Found other than once, the module imports as shipped."""
    import importlib.util

    spec = importlib.util.find_spec("adbutils")
    if "adbutils._version" in sys.modules or spec is None or not spec.origin:
        return
    folder = Path(spec.origin).parent.parent
    try:
        found = [n for n in os.listdir(folder) if n.startswith("adbutils-") and n.endswith(".dist-info")]
    except OSError:
        return
    if len(found) == 1:
        module = types.ModuleType("adbutils._version")
        module.__version__ = found[0].removeprefix("adbutils-").removesuffix(".dist-info")
        sys.modules["adbutils._version"] = module


adbutils = _import_adbutils()
from adbutils import errors as adb_errors  # noqa: E402

from tsdtool import budgets, errors  # noqa: E402
from tsdtool.parsers.adb_devices import parse_devices_l  # noqa: E402
from tsdtool.transport.types import DeviceEntry, RemoteFile, ShellResult  # noqa: E402
from tsdtool.transport.wire import (  # noqa: E402, F401 - the address's parts are this seam's API too
    DEFAULT_HOST,
    DEFAULT_PORT,
    Draining,
    First,
    ServerAddress,
    join,
    keep_alive,
    quote,
    resolve_server,
)

DEFAULT_TIMEOUT = 20.0  # seconds of silence before a call is declared wedged
SYNC_CHUNK = 64 * 1024  # the largest DATA payload adbd sends (file_sync_protocol.h)
RECV_BUFFER = 1024 * 1024  # one socket read of a pull: up to sixteen DATA messages

ProgressFn = Callable[[int], None]  # called with the number of bytes just received


def find_adb_binary(env: Mapping[str, str] | None = None) -> str | None:
    """The adb binary a server would be started with: $ADBUTILS_ADB_PATH, PATH, the wheel's."""
    env = os.environ if env is None else env
    if env.get("ADBUTILS_ADB_PATH"):
        return env["ADBUTILS_ADB_PATH"]
    on_path = shutil.which("adb", path=env.get("PATH"))
    if on_path:
        return on_path
    bundled = Path(adbutils.__file__).parent / "binaries" / ("adb.exe" if os.name == "nt" else "adb")
    return str(bundled) if bundled.is_file() else None


class ServiceRefused(errors.TransferError):
    """adbd closed a service stream at once: this terminal does not have that service."""


class _Connection(adbutils.AdbConnection):
    """adbutils' connection without its hidden `adb start-server` on a refused connect; or on a
    socket made already (``sock``)."""

    def __init__(self, host: str, port: int, sock: socket.socket | None = None):
        self._made = sock
        super().__init__(host, port)

    def _safe_connect(self):  # noqa: D401 - overriding adbutils
        return self._made or self._create_socket()

    def _create_socket(self) -> socket.socket:
        """The socket adbutils makes (keep-alive, and Linux's probe timings; 3 s to connect),
        without its ``platform.system()`` on every connect: that alone imported the platform
        module into every start. A socket that does not connect is closed, not left behind."""
        sock = socket.socket()
        try:
            keep_alive(sock)
            sock.settimeout(3)
            sock.connect((self._AdbConnection__host, self._AdbConnection__port))
            sock.settimeout(None)
            return sock
        except TimeoutError as exc:
            sock.close()
            raise adb_errors.AdbTimeout("connect to adb server timeout") from exc
        except OSError as exc:
            sock.close()
            raise adb_errors.AdbConnectionError(f"connect to adb server failed: {exc}") from exc

    def send_command(self, cmd: str) -> None:
        # A device path is raw bytes (listings decode them with surrogateescape); adbutils
        # encodes strictly and would refuse a name that is not UTF-8. Send the bytes back.
        data = cmd.encode("utf-8", "surrogateescape")
        self.conn.sendall(b"%04x" % len(data) + data)

    def close(self) -> None:
        # adbutils sleeps 10 ms after shutdown(SHUT_WR) on every close; a collect opens ~30
        # streams, so that was a third of its time. The half-close is kept, the sleep is not:
        # nothing is read after it and close() waits for nothing on a TCP socket.
        if self.closed:
            return
        sock = self.conn
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        sock.close()
        self._AdbConnection__conn = None


class _Client(adbutils.AdbClient):
    def __init__(self, host: str, port: int, timeout: float):
        super().__init__(host, port, socket_timeout=timeout)
        self.timeout = timeout
        self._version: int | None = None

    def make_connection(self, timeout: float | None = None) -> adbutils.AdbConnection:
        c = _Connection(self.host, self.port)
        c.conn.settimeout(timeout or self.timeout)
        return c

    def server_version(self) -> int:
        # adbutils asks before every transport switch; the answer cannot change under us.
        if self._version is None:
            self._version = super().server_version()
        return self._version


def network_address(address: str, default_port: int = 5555) -> str:
    """``HOST[:PORT]`` or ``[IPv6][:PORT]`` checked and completed with the default port; a
    blank, spaced or malformed address is a usage error, never a request to the server."""
    text = address.strip()
    port: str | None
    if text.startswith("["):
        host, bracket, rest = text.partition("]")
        host, port = host + bracket, rest[1:]
        ok = bool(bracket) and host != "[]" and rest[:1] in ("", ":") and rest != ":"
    elif text.count(":") > 1:  # a bare IPv6 address: no port can be told apart
        host, port, ok = text, None, True
    else:
        host, sep, port = text.partition(":")
        ok = bool(host) and (not sep or bool(port))
    ok = ok and all(c.isprintable() and not c.isspace() for c in text)
    if not ok or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise errors.UsageError(f"{address!r} is not HOST[:PORT]", fix="for example 192.168.1.50:5555")
    return text if port is None else f"{host}:{port or default_port}"


def _translate(exc: BaseException, serial: str | None = None, what: str = "") -> errors.TsdError:
    """Map an adbutils/socket error to the project's error tree."""
    if isinstance(exc, errors.TsdError):
        return exc
    text = " ".join(str(a) for a in getattr(exc, "args", ()) if isinstance(a, str)) or str(exc)
    where = f"{what}: " if what else ""
    if isinstance(exc, (adb_errors.AdbTimeout, socket.timeout, TimeoutError)):
        return errors.DeviceTimeout(f"{where}no answer from {serial or 'the adb server'} in time")
    if isinstance(exc, adb_errors.AdbConnectionError):
        return errors.ServerUnreachable(f"cannot reach the adb server ({text})")
    low = text.lower()
    if "unauthorized" in low:
        return errors.DeviceUnauthorized(f"terminal {serial or ''} is unauthorized".replace("  ", " "))
    if "offline" in low:
        return errors.DeviceOffline(f"terminal {serial or ''} is offline".replace("  ", " "))
    if "insufficient permissions" in low:
        return errors.DeviceUnavailable(f"no USB permission for terminal {serial or ''}".strip(),
                                        fix=state_fix("no permissions"))
    if ("not found" in low and "device" in low) or "no such device" in low:
        return errors.DeviceNotFound(f"no terminal with serial {serial!r}")
    if isinstance(exc, (EOFError, ConnectionError, OSError)) or "closed" in low:
        peer = serial or "the adb server"
        return errors.TransferError(f"{where}connection to {peer} lost ({text or type(exc).__name__})")
    return errors.TransferError(f"{where}{text or type(exc).__name__}")


class Adb:
    """One adb server, reached at a resolved address; starts a local one if allowed."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        start_server: bool = True,
        env: Mapping[str, str] | None = None,
        notify: Callable[[str], None] | None = None,
    ):
        self.env = dict(os.environ if env is None else env)
        self.address = resolve_server(host, port, self.env)
        self.timeout = timeout
        self.start_server = start_server
        self.notify = notify or (lambda message: None)
        self._client = _Client(self.address.host, self.address.port, timeout)
        self._checked = False
        self._reached: bool | None = None  # the probe's answer, when it was made before this
        self._listing: str | None = None  # the next devices()' answer, when it was asked before this
        self._known: dict[str, First] = {}  # by serial, what wire asked of that terminal

    def learned(self, first: First) -> None:
        """Take what :mod:`tsdtool.transport.wire` asked before the heavy imports: the
        reachability probe's answer and the device list are not asked again, nor the picked
        terminal's features, and its services already started are read, not started again."""
        self._reached, self._listing = first.reached, first.listing
        if first.serial:
            self._known[first.serial] = first

    # -- server -----------------------------------------------------------------------------
    def _reachable(self) -> bool:
        host: str | bytes = self.address.host
        if host.isascii():  # as bytes, getaddrinfo skips the idna codec (and importing it: ~1 ms)
            host = host.encode("ascii")
        try:
            with socket.create_connection((host, self.address.port), timeout=3):
                return True
        except OSError:
            return False

    def ensure_server(self) -> None:
        """Make sure a server answers; start one locally when that is allowed."""
        if self._checked:
            return
        reached, self._reached = self._reached, None
        if not (self._reachable() if reached is None else reached):
            if self.address.host_given or not self.start_server:
                # `adb start-server` starts on 5037 (or $ANDROID_ADB_SERVER_PORT): name the port in play
                start = "adb start-server" if self.address.port == 5037 else f"adb -P {self.address.port} start-server"
                if self.address.host_given:
                    why, fix = "a host was given", f"start it there ({start}) or fix -H/-P"
                else:
                    why, fix = "--no-start-server", f"start one ({start}) or drop --no-start-server"
                raise errors.ServerUnreachable(
                    f"no adb server at {self.address} ({self.address.source}); not starting one because {why}",
                    fix=fix)
            self._start_server()
        self._checked = True

    def _start_server(self) -> None:
        binary = find_adb_binary(self.env)
        if not binary:
            raise errors.ServerUnreachable(
                f"no adb server at {self.address} and no adb binary to start one",
                fix="install adb (platform-tools) or set ADBUTILS_ADB_PATH",
            )
        self.notify(f"starting adb server on port {self.address.port} with {binary}")
        try:
            proc = subprocess.run(
                [binary, "-P", str(self.address.port), "start-server"],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=self.env,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise errors.ServerUnreachable(f"could not run {binary} start-server ({exc})") from exc
        if proc.returncode != 0 or not self._reachable():
            out = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip().splitlines()
            raise errors.ServerUnreachable(
                f"{binary} start-server failed: {out[-1] if out else f'exit {proc.returncode}'}"
            )

    def _query(self, service: str) -> str:
        self.ensure_server()
        try:
            with self._client.make_connection() as c:
                c.send_command(service)
                c.check_okay()
                return c.read_string_block()
        except (adb_errors.AdbError, OSError, EOFError) as exc:
            raise self._not_a_server(exc, timeouts=service == "host:devices-l") or _translate(exc) from exc

    def server_version(self) -> int:
        self.ensure_server()
        try:
            return self._client.server_version()
        except (adb_errors.AdbError, OSError, EOFError, ValueError) as exc:
            raise self._not_a_server(exc, timeouts=True) or _translate(exc) from exc

    def _not_a_server(self, exc: BaseException, timeouts: bool) -> errors.ServerUnreachable | None:
        """What answers at the address is no adb server (a wrong -P: a web server, a port that
        hangs up): its answer is not OKAY/FAIL, or it closed or reset the connection before one,
        or (``timeouts``: a query any adb server answers at once) it stayed silent."""
        if isinstance(exc, (adb_errors.AdbTimeout, TimeoutError)):
            seen = f"nothing answered in {self.timeout:g} s" if timeouts else None
        elif isinstance(exc, adb_errors.AdbError) and str(exc).startswith("Unknown data: ") \
                and str(exc) != "Unknown data: b''":
            seen = f"it answered {str(exc).removeprefix('Unknown data: ')}"
        elif isinstance(exc, (EOFError, ConnectionError)) or str(exc) == "Unknown data: b''":
            seen = "it closed the connection without an answer"
        else:
            seen = None
        if seen is None:
            return None
        return errors.ServerUnreachable(
            f"no adb server answers at {self.address} ({self.address.source}): {seen}",
            fix="check -H/-P and ANDROID_ADB_SERVER_PORT: another program may listen on that port")

    # -- devices ----------------------------------------------------------------------------
    def devices(self) -> list[DeviceEntry]:
        """Every terminal the server knows, in any state (`adb devices -l`)."""
        listing, self._listing = self._listing, None
        if listing is not None:
            self.ensure_server()  # the probe's answer came with it
            return parse_devices_l(listing)
        return parse_devices_l(self._query("host:devices-l"))

    def select(self, serial: str | None = None) -> Device:
        """Choose one terminal like adb: -s, else $ANDROID_SERIAL, else the only one."""
        serial = serial or self.env.get("ANDROID_SERIAL") or None
        entries = self.devices()
        if serial:
            entry = next((e for e in entries if e.serial == serial), None)
            if entry is None:
                known = ", ".join(e.serial for e in entries) or "none attached"
                fix = "connect it first with `tsdtool connect HOST:PORT`" if ":" in serial else None
                raise errors.DeviceNotFound(f"no terminal with serial {serial!r} (attached: {known})", fix=fix)
        elif not entries:
            raise errors.NoDevice("no terminal attached")
        elif len(entries) > 1:
            listing = ", ".join(f"{e.serial} ({e.state})" for e in entries)
            raise errors.SeveralDevices(f"{len(entries)} terminals attached: {listing}")
        else:
            entry = entries[0]
        check_state(entry)
        return Device(self, entry)

    def device(self, entry: DeviceEntry) -> Device:
        """A handle on a listed terminal in `device` state (used by --all)."""
        check_state(entry)
        return Device(self, entry)

    def connect(self, address: str) -> str:
        """`adb connect`: the server reaches a terminal over TCP; returns its answer."""
        answer = self._query(f"host:connect:{network_address(address)}")
        if answer.startswith(("failed", "unable", "cannot")):
            raise errors.DeviceUnavailable(
                answer, fix="check the address, the network and that adb over TCP is enabled on the terminal")
        return answer

    def disconnect(self, address: str) -> str:
        """`adb disconnect HOST[:PORT]`: one terminal (never all of them, as an empty address would)."""
        address = network_address(address)
        try:
            return self._query(f"host:disconnect:{address}")
        except errors.DeviceNotFound:
            raise errors.DeviceNotFound(f"the adb server has no network terminal {address}",
                                        fix="see `tsdtool devices` for the connected ones") from None

    def track_devices(self) -> Iterator[list[DeviceEntry]]:
        """Yield the device list now and after every change (`host:track-devices`)."""
        self.ensure_server()
        try:
            c = self._client.make_connection(timeout=None)
            c.conn.settimeout(None)
            with c:
                c.send_command("host:track-devices")
                c.check_okay()
                while True:
                    yield parse_devices_l(c.read_string_block())
        except (adb_errors.AdbError, OSError, EOFError) as exc:
            raise _translate(exc) from exc


STATE_FIXES = {
    "unauthorized": errors.DeviceUnauthorized,
    "offline": errors.DeviceOffline,
    "authorizing": errors.DeviceUnauthorized,
    "connecting": errors.DeviceOffline,
}


def state_fix(state: str) -> str:
    """The one-line fix for a terminal in this state ('' when usable)."""
    if state == "device":
        return ""
    if state in STATE_FIXES:
        return STATE_FIXES[state].fix
    if state.startswith("no permissions"):
        return "no USB permission: add a udev rule for the vendor id and join the plugdev group (see `tsdtool doctor`)"
    return f"the terminal is in {state} mode: boot it normally"


def check_state(entry: DeviceEntry) -> None:
    if entry.state == "device":
        return
    cls = STATE_FIXES.get(entry.state, errors.DeviceUnavailable)
    raise cls(f"terminal {entry.serial} is {entry.state}", fix=state_fix(entry.state))


class Device:
    """One terminal in `device` state. Every call carries its serial; nothing falls back to "any"."""

    def __init__(self, adb: Adb, entry: DeviceEntry):
        self.adb = adb
        self.entry = entry
        self.serial = entry.serial
        self.timeout = adb.timeout
        first = adb._known.pop(self.serial, None)
        self._features, self._asked = (first.features, first.asked) if first else (None, {})
        self._settle = first.settle if first else None  # wire's thread still asking more (First.follow)

    def __repr__(self) -> str:
        return f"Device({self.serial!r})"

    def _connection(self, timeout: float | None, request: str) -> adbutils.AdbConnection:
        """One server connection that sent ``request`` and got OKAY; closed on any failure
        (adbutils' own ``open_transport`` leaks the socket when the server answers FAIL)."""
        c = None
        try:
            c = self.adb._client.make_connection(timeout=timeout or self.timeout)
            c.send_command(request)
            c.check_okay()
            return c
        except (adb_errors.AdbError, OSError, EOFError) as exc:
            if c is not None:
                c.close()
            raise _translate(exc, self.serial, request.rsplit(":", 1)[-1]) from exc

    def _open(self, service: str, timeout: float | None = None) -> adbutils.AdbConnection:
        """Switch a connection to this terminal and start ``service`` on it.

        ``host:transport:<serial>`` answers a bare OKAY on every server version, so no
        ``host:version`` round trip is needed first (unlike ``host:tport:``).
        """
        asked = self._asked.pop(service, None)  # started before the heavy imports (wire.First.asked)
        if asked is None and self._settle is not None:
            self._settle()  # what wire's thread asks is asked once: wait until it has
            self._settle = None
            asked = self._asked.pop(service, None)
        if isinstance(asked, Draining):
            asked = asked.take()  # the stream, what its thread held coming first
        if asked is not None:
            c = _Connection(self.adb._client.host, self.adb._client.port, asked)
            c.conn.settimeout(timeout or self.timeout)
        else:
            c = self._connection(timeout, f"host:transport:{self.serial}")
        try:
            if asked is None:
                c.send_command(service)
            c.check_okay()
            return c
        except (adb_errors.AdbError, OSError, EOFError) as exc:
            c.close()
            if isinstance(exc, adb_errors.AdbError) and str(exc) == "closed":
                # the server's word for "adbd closed the stream at once": a service it lacks
                raise ServiceRefused(f"{self.serial} refused {service.split(':', 1)[0]}") from exc
            raise _translate(exc, self.serial, service.split(":", 1)[0]) from exc

    def drop_early(self) -> None:
        """Close the streams wire's thread started that nobody took (the usual code planned its
        ranges otherwise and asked its own): they would go on taking the link until the end."""
        for service, asked in list(self._asked.items()):
            if isinstance(asked, Draining) and self._asked.pop(service, None) is asked:
                asked.close()

    def features(self) -> set[str]:
        if self._features is None:
            c = self._connection(None, f"host-serial:{self.serial}:features")
            try:
                self._features = set(c.read_string_block().split(","))
            except (adb_errors.AdbError, OSError, EOFError) as exc:
                raise _translate(exc, self.serial, "features") from exc
            finally:
                c.close()
        return self._features

    # -- shell ------------------------------------------------------------------------------
    def shell(self, args: Sequence[str], *, timeout: float | None = None) -> ShellResult:
        """Run one command; every argument is quoted. Returns bytes and the exit status."""
        return self.shell_script(join(args), timeout=timeout)

    def shell_script(self, script: str, *, timeout: float | None = None) -> ShellResult:
        """Run a prepared shell line. Callers build it only from :func:`quote`/:func:`join`."""
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        if "shell_v2" in self.features():
            return self._shell_v2(script, timeout, deadline)
        return self._shell_v1(script, timeout, deadline)

    def _shell_v2(self, script: str, timeout: float, deadline: float) -> ShellResult:
        out, err = bytearray(), bytearray()
        code = None
        limit = budgets.current().shell
        with self._open(f"shell,v2,raw:{script}", timeout) as c:
            try:
                # Packets: id u8, length u32 LE, payload (shell_protocol.h). Exit is id 3.
                while code is None:
                    header = _read_exact(c.conn, 5, deadline, self.serial)
                    kind, length = header[0], struct.unpack("<I", header[1:])[0]
                    budgets.check(len(out) + len(err) + length, limit, "the command's output")
                    payload = _read_exact(c.conn, length, deadline, self.serial)
                    if kind == 1:
                        out += payload
                    elif kind == 2:
                        err += payload
                    elif kind == 3 and payload:
                        code = payload[0]
            except (OSError, EOFError) as exc:
                raise _translate(exc, self.serial, "shell") from exc
        return ShellResult(script, code, bytes(out), bytes(err))

    def _shell_v1(self, script: str, timeout: float, deadline: float) -> ShellResult:
        # Old adbd without shell_v2: no exit status on the wire, so append a marker.
        marker = b"X4EXIT:"
        with self._open(f"shell:{script}; echo X4EXIT:$?", timeout) as c:
            data = _read_all(c.conn, deadline, self.serial)
        at = data.rfind(marker)
        if at < 0:
            raise errors.TransferError(f"shell output from {self.serial} ended early (no exit status)")
        tail = data[at + len(marker):].strip()
        return ShellResult(script, int(tail) if tail.isdigit() else 255, data[:at])

    def shell_batch(self, commands: Sequence[Sequence[str]], *, timeout: float | None = None) -> list[ShellResult]:
        """Several commands in one shell session: one round trip instead of one each, each
        with its own output and exit status as :meth:`shell` gives them (over shell v2 its
        own stderr too; shell v1 mixes stderr into stdout for one command as for several).

        After each command the script echoes a marker with a random token on stdout (and
        stderr), so a command's output is what lies before its marker. Only ``echo``, ``$?``
        and ``>&2``: every Android shell has them. Raises what :meth:`shell` raises, and
        TransferError when a marker is missing.
        """
        import secrets

        token = secrets.token_hex(8)
        v2 = "shell_v2" in self.features()
        parts = [f"{join(args)}; echo {token}:{n}:$?" + (f"; echo {token}:{n} >&2" if v2 else "")
                 for n, args in enumerate(commands)]
        whole = self.shell_script("; ".join(parts), timeout=(timeout or self.timeout) * max(1, len(commands)))
        results, out_at, err_at = [], 0, 0
        for n, args in enumerate(commands):
            mark = f"{token}:{n}:".encode()
            end = whole.stdout.find(mark, out_at)
            line_end = whole.stdout.find(b"\n", end)
            if end < 0 or line_end < 0:
                raise errors.TransferError(f"batched shell output from {self.serial} ended early")
            status = whole.stdout[end + len(mark):line_end].strip()
            stdout, out_at = whole.stdout[out_at:end], line_end + 1
            stderr = b""
            if v2:
                err_mark = f"{token}:{n}\n".encode()
                err_end = whole.stderr.find(err_mark, err_at)
                if err_end < 0:
                    raise errors.TransferError(f"batched shell errors from {self.serial} ended early")
                stderr, err_at = whole.stderr[err_at:err_end], err_end + len(err_mark)
            results.append(ShellResult(join(args), int(status) if status.isdigit() else 255, stdout, stderr))
        return results

    def getprop(self, key: str) -> str:
        return self.shell(["getprop", key]).text().strip()

    # -- exec-out ---------------------------------------------------------------------------
    def exec_out(self, args: Sequence[str], *, timeout: float | None = None) -> bytes:
        """Binary stdout of a command (no PTY, no newline translation).

        adbd before Android 5.0 has no ``exec:``; there the output comes through ``shell:``,
        which runs under a PTY that turns ``\n`` into ``\r\n`` — callers that need exact
        bytes (a PNG) must undo that.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            c = self._open(f"exec:{join(args)}", timeout)
        except ServiceRefused:
            c = self._open(f"shell:{join(args)}", timeout)
        with c:
            return _read_all(c.conn, deadline, self.serial)

    def stream_exec(
        self, args: Sequence[str], sink: BinaryIO, progress: ProgressFn | None = None,
        *, script: str | None = None,
    ) -> int:
        """Stream a command's stdout into ``sink`` in chunks; returns the byte count.

        The deadline is on silence, not on the total: a 1 GB stream may take minutes.
        """
        total = 0
        with self._open(f"exec:{script or join(args)}") as c:
            try:
                while chunk := c.conn.recv(SYNC_CHUNK):
                    sink.write(chunk)
                    total += len(chunk)
                    if progress:
                        progress(len(chunk))
            except (OSError, EOFError) as exc:
                raise _translate(exc, self.serial, "exec") from exc
        return total

    def stream_shell(
        self, args: Sequence[str], sink: BinaryIO, progress: ProgressFn | None = None,
        *, script: str | None = None,
    ) -> ShellResult:
        """Stream stdout into ``sink`` and return stderr and the exit status (``stdout`` empty).

        Shell v2 in raw mode (no PTY: binary-safe like exec-out) keeps stderr out of the
        data and reports the exit status, so ``cat: x: Permission denied`` never becomes a
        file's content and a dropped connection (no exit packet) is an error, not a short
        file. adbd < 7.0 has no shell_v2: then this is :meth:`stream_exec`, stderr is mixed
        into the data and ``exit_code`` reads 0 — callers must check the content.
        Memory stays constant; the deadline is on silence only.
        """
        script = script or join(args)
        if "shell_v2" not in self.features():
            self.stream_exec(args, sink, progress, script=script)
            return ShellResult(script, 0, b"")
        err = bytearray()
        header = bytearray(5)
        buf = memoryview(bytearray(SYNC_CHUNK))
        with self._open(f"shell,v2,raw:{script}") as c:
            try:
                # Packets: id u8, length u32 LE, payload (shell_protocol.h); 3 = exit status.
                while True:
                    _recv_into(c.conn, memoryview(header), 5, "shell")
                    kind, left = header[0], struct.unpack("<I", header[1:])[0]
                    if kind == 3:  # one byte; a hostile length is not read (nor held) whole
                        code = _read_exact(c.conn, min(left, 1), None, self.serial)
                        return ShellResult(script, code[0] if code else 255, b"", bytes(err))
                    while left:
                        n = min(left, SYNC_CHUNK)
                        _recv_into(c.conn, buf, n, "shell")
                        left -= n
                        if kind == 1:
                            sink.write(buf[:n])
                            if progress:
                                progress(n)
                        elif kind == 2 and len(err) < SYNC_CHUNK:
                            err += buf[:n]
            except (OSError, EOFError) as exc:
                raise _translate(exc, self.serial, "shell") from exc

    # -- backup -----------------------------------------------------------------------------
    def stream_backup(
        self, package: str, sink: BinaryIO, progress: ProgressFn | None = None, *, wait: float,
    ) -> int:
        """``adb backup -noapk PACKAGE`` streamed into ``sink``; returns the byte count.

        The request is byte for byte what Debian's adb 29 client sends (``backup:`` then each
        argument after a space, in single quotes — checked in tests/test_backup.py); adbd
        runs ``/system/bin/bu backup ARGS`` on a raw stream. Nothing arrives until the person
        confirms on the terminal, so the first read may wait up to ``wait`` seconds; a
        refused or unconfirmed backup is an empty stream.
        """
        total = 0
        # adb's escape_arg: every argument in single quotes, a quote inside as '\''
        service = "backup:" + "".join(" '" + a.replace("'", "'\\''") + "'" for a in ("-noapk", package))
        with self._open(service, wait) as c:
            try:
                while chunk := c.conn.recv(SYNC_CHUNK):
                    if not total:  # confirmed: from now on the usual limit on silence
                        c.conn.settimeout(self.timeout)
                    sink.write(chunk)
                    total += len(chunk)
                    if progress:
                        progress(len(chunk))
            except (OSError, EOFError) as exc:
                raise _translate(exc, self.serial, "backup") from exc
        return total

    # -- sync -------------------------------------------------------------------------------
    def _sync(self, verb: bytes, path: str):
        encoded = path.encode("utf-8", "surrogateescape")
        if len(encoded) > 1024:
            raise errors.RemoteFileError(f"path too long for adb sync: {path[:60]}…")
        c = self._open("sync:")
        try:
            c.conn.sendall(verb + struct.pack("<I", len(encoded)) + encoded)
        except OSError as exc:
            c.close()
            raise _translate(exc, self.serial, "sync") from exc
        return c

    def stat(self, path: str) -> RemoteFile:
        """STAT: a missing or unreadable path comes back all-zero (``exists`` is False)."""
        deadline = time.monotonic() + self.timeout
        with self._sync(b"STAT", path) as c:
            data = _read_exact(c.conn, 16, deadline, self.serial)
        if data[:4] != b"STAT":
            raise errors.TransferError(f"garbled sync reply from {self.serial} for STAT {path}")
        mode, size, mtime = struct.unpack("<III", data[4:])
        return RemoteFile(path, mode, size, mtime)

    def listdir(self, path: str) -> list[RemoteFile]:
        """LIST a folder (without `.` and `..`). Names are raw device bytes, decoded losslessly."""
        deadline = time.monotonic() + self.timeout
        entries = []
        with self._sync(b"LIST", path) as c:
            while True:
                head = _read_exact(c.conn, 20, deadline, self.serial)
                if head[:4] == b"DONE":
                    break
                if head[:4] != b"DENT":
                    raise errors.TransferError(f"garbled sync reply from {self.serial} listing {path}")
                mode, size, mtime, namelen = struct.unpack("<IIII", head[4:])
                if namelen > 1024:  # adb sync's own path limit: anything longer is not a name
                    raise errors.TransferError(f"garbled sync reply from {self.serial} listing {path}")
                name = _read_exact(c.conn, namelen, deadline, self.serial).decode("utf-8", "surrogateescape")
                if name not in (".", ".."):
                    entries.append(RemoteFile(path.rstrip("/") + "/" + name, mode, size, mtime))
        return entries

    def pull(self, path: str, sink: BinaryIO, progress: ProgressFn | None = None, *,
             started: Draining | None = None) -> int:
        """RECV one file into ``sink`` (constant memory); returns its size. ``started``: this
        path's RECV, already sent on this terminal (:func:`tsdtool.transport.wire.first_pull`).

        The socket is read in blocks of up to :data:`RECV_BUFFER` and the DATA headers are
        parsed inside the block, so a block of sixteen 64 KiB messages costs one ``recv_into``
        and one ``writev`` (``sink.writev`` when the sink has it) instead of 32 reads and 16
        writes. Payload slices point into the block and are written before it is reused.
        """
        with started or self._sync(b"RECV", path) as c:
            try:
                return _receive_file(c.conn, sink, progress, path, self.serial)
            except (OSError, EOFError) as exc:
                raise _translate(exc, self.serial, f"pull {path}") from exc


def _receive_file(sock: socket.socket, sink: BinaryIO, progress: ProgressFn | None, path: str,
                  serial: str) -> int:
    """The sync RECV reply loop of :meth:`Device.pull` (DATA…, then DONE or FAIL)."""
    buf = bytearray(RECV_BUFFER)
    view = memoryview(buf)
    writev = getattr(sink, "writev", None)
    start = end = 0  # unparsed bytes are buf[start:end]
    left = 0  # payload bytes of the current DATA message still to come
    total = 0
    while True:
        got = sock.recv_into(view[end:])
        if got == 0:
            raise EOFError(f"connection closed after {total} bytes of {path}")
        end += got
        pieces: list[memoryview] = []
        while start < end:
            if left:
                n = min(left, end - start)
                pieces.append(view[start:start + n])
                start += n
                left -= n
                continue
            if end - start < 8:
                break  # a header cut by the block: completed by the next read
            verb, length = bytes(buf[start:start + 4]), int.from_bytes(buf[start + 4:start + 8], "little")
            start += 8
            if verb == b"DATA":
                if length > SYNC_CHUNK:
                    raise errors.TransferError(f"garbled sync reply from {serial} pulling {path}")
                left = length
            elif verb == b"DONE":
                _write_pieces(sink, writev, pieces)
                total += sum(map(len, pieces))
                if progress and pieces:
                    progress(sum(map(len, pieces)))
                return total
            elif verb == b"FAIL":
                message = bytes(buf[start:min(end, start + length)])
                if len(message) < min(length, 4096):
                    message += _read_exact(sock, min(length, 4096) - len(message), None, serial)
                reason = message.decode("utf-8", "replace").replace("open failed: ", "")
                raise errors.RemoteFileError(f"{path}: {reason}")
            else:
                raise errors.TransferError(f"garbled sync reply from {serial} pulling {path}")
        if pieces:
            _write_pieces(sink, writev, pieces)
            n = sum(map(len, pieces))
            total += n
            if progress:
                progress(n)
        # keep a cut header at the front; the payload bytes were all written
        rest = end - start
        if rest:
            buf[:rest] = buf[start:end]
        start, end = 0, rest


def _write_pieces(sink: BinaryIO, writev: Callable | None, pieces: list[memoryview]) -> None:
    if writev is not None:
        writev(pieces)
    else:
        for piece in pieces:
            sink.write(piece)


def _recv_into(sock: socket.socket, view: memoryview, n: int, what: str) -> None:
    got = 0
    while got < n:
        r = sock.recv_into(view[got:n], n - got)
        if r == 0:
            raise EOFError(f"connection closed after {got} of {n} bytes")
        got += r


def _read_exact(sock: socket.socket, n: int, deadline: float | None, serial: str) -> bytes:
    buf = bytearray()
    try:
        while len(buf) < n:
            _check_deadline(deadline, serial)
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
            buf += chunk
    except (OSError, EOFError) as exc:
        raise _translate(exc, serial) from exc
    return bytes(buf)


def _read_all(sock: socket.socket, deadline: float | None, serial: str) -> bytes:
    buf = bytearray()
    limit = budgets.current().shell
    try:
        while True:
            _check_deadline(deadline, serial)
            chunk = sock.recv(SYNC_CHUNK)
            if not chunk:
                return bytes(buf)
            buf += chunk
            budgets.check(len(buf), limit, "the command's output")
    except (OSError, EOFError) as exc:
        raise _translate(exc, serial) from exc


def _check_deadline(deadline: float | None, serial: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise errors.DeviceTimeout(f"{serial} did not finish in time")
