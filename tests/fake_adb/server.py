"""The fake adb *server*: the host smart-socket protocol on a loopback TCP port.

Clients (adbutils, ppadb, the Debian ``adb`` CLI with ``-H 127.0.0.1 -P PORT``) connect to
it exactly as to ``adb start-server``'s port 5037; behind it sit :class:`Terminal` objects
instead of USB devices. Protocol notes: ``shared/adb_protocol.md`` §1 and §5 (sources:
aosp@29.0.6:adb/adb.cpp ``handle_host_request``, adb/transport.cpp, adb/sockets.cpp).

Quirks every client depends on:

* a reply (status + hex4 + payload) is written with one ``sendall`` — ppadb and adbutils
  read some replies with a single ``recv``;
* the server closes after each host query — the AOSP client waits for EOF;
* ``host:version`` answers 41 (``0029``), or the Debian CLI kills us and starts a real server;
* clients may reset the connection at any time (ppadb sets ``SO_LINGER {1, 0}``).
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from . import services
from .terminal import NO_PERMISSIONS_TEXT, Terminal

ADB_SERVER_VERSION = 41  # aosp adb.h; the only value the Debian 29.0.6 client accepts
# What `host:host-features` returned from Debian's adb 29.0.6 server (captured).
HOST_FEATURES = (
    "push_sync,remount_shell,abb_exec,abb,apex,fixed_push_mkdir,ls_v2,stat_v2,"
    "fixed_push_symlink_timestamp,cmd,shell_v2"
)
_MAX_REQUEST = 1024 * 1024  # sockets.cpp rejects longer requests

_NONE_FOUND = {"any": "no devices/emulators found", "usb": "no devices found", "local": "no emulators found"}
_MORE_THAN_ONE = {
    "any": "more than one device/emulator",
    "usb": "more than one device",
    "local": "more than one emulator",
}
# Commands that may follow `host-serial:<serial>:` (serials may contain ':'); the first six are
# the exact device queries, the rest prefixes.
_SERIAL_COMMANDS = (
    "features",
    "get-state",
    "get-serialno",
    "get-devpath",
    "list-forward",
    "killforward-all",
    "killforward:",
    "forward:",
    "wait-for-",
    "reconnect",
)


def unauthorized_text(vendor_keys: str | None) -> str:
    """transport.cpp acquire_one_transport's text for a device that has not accepted our key."""
    return (
        "device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is "
        f"{vendor_keys if vendor_keys else 'not set'}\n"
        "Try 'adb kill-server' if that seems wrong.\n"
        "Otherwise check for a confirmation dialog on your device."
    )


def _okay(payload: str) -> bytes:
    data = payload.encode()
    return b"OKAY" + b"%04x" % len(data) + data


def _fail(message: str) -> bytes:
    data = message.encode()
    return b"FAIL" + b"%04x" % len(data) + data


@dataclass
class _Entry:
    terminal: Terminal
    transport_id: int
    devpath: str


class _SocketChannel:
    """services.Channel over the client's TCP socket."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock, self.stopping = sock, stopping

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def abort(self) -> None:
        # When a terminal vanishes mid-transfer the real server closes the client's socket:
        # the client reads what arrived, then EOF. _finish() completes the close.
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def wait_closed(self) -> None:
        while not self.stopping.is_set():
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.2)
                if ready and not self.sock.recv(65536):
                    return
            except (OSError, ValueError):
                return


class FakeAdbServer:
    """A loopback adb server whose devices are fixture folders.

    Args:
        fixtures: fixture folders (or ready :class:`Terminal` objects) attached at start.
        host: address to bind; keep the loopback default.
        port: TCP port; 0 picks a free one (read it back from :attr:`port`).
        allow_kill: whether ``host:kill`` (``adb kill-server``) stops the fake.
        vendor_keys: what the unauthorized message says ``$ADB_VENDOR_KEYS`` is (None = not set).

    Use as a context manager (``with FakeAdbServer([...]) as srv: srv.port``) or call
    :meth:`start`/:meth:`stop`. Terminals can be added, removed and switched between
    states at any time; ``host:track-devices`` clients see each change.
    """

    def __init__(
        self,
        fixtures: Iterable[str | os.PathLike[str] | Terminal] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_kill: bool = True,
        vendor_keys: str | None = None,
        backend: str | None = None,
    ) -> None:
        self.backend = backend  # for fixture folders: "real" | "python" | "auto" (Terminal)
        self.host, self._want_port = host, port
        self.allow_kill, self.vendor_keys = allow_kill, vendor_keys
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._entries: list[_Entry] = []
        self._next_id = 1
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: set[threading.Thread] = set()
        self._socks: set[socket.socket] = set()
        self.requests: list[str] = []  # every smart-socket request received, in order
        for fixture in fixtures:
            self.add_terminal(fixture)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("server not started")
        return self._listener.getsockname()[1]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> FakeAdbServer:
        """Bind and start accepting in a background thread; returns self."""
        self._listener = socket.create_server((self.host, self._want_port))
        thread = threading.Thread(target=self._accept_loop, name=f"fake-adb-{self.port}", daemon=True)
        self._threads.add(thread)
        thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, reset open connections and join every thread (idempotent)."""
        if self._stopping.is_set():
            self._stopped.wait(timeout)
            return
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        self._stopped.set()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` ran (e.g. after ``adb kill-server``)."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> FakeAdbServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- terminals --------------------------------------------------------------------------

    def add_terminal(self, fixture: str | os.PathLike[str] | Terminal) -> Terminal:
        """Attach a terminal (like plugging it in); returns it. Serials must be unique."""
        terminal = fixture if isinstance(fixture, Terminal) else Terminal(fixture, backend=self.backend)
        with self._changed:
            if any(e.terminal.serial == terminal.serial for e in self._entries):
                raise ValueError(f"a terminal with serial {terminal.serial!r} is already attached")
            devpath = terminal.devpath
            if not devpath and terminal.transport == "usb":
                devpath = f"usb:1-{self._next_id}"
            self._entries.append(_Entry(terminal, self._next_id, devpath))
            self._next_id += 1
            terminal.add_listener(self._on_state_change)
            self._changed.notify_all()
        return terminal

    def remove_terminal(self, serial: str) -> Terminal:
        """Detach a terminal (like unplugging it); returns it."""
        with self._changed:
            entry = self._find(serial)
            self._entries.remove(entry)
            entry.terminal.remove_listener(self._on_state_change)
            self._changed.notify_all()
        return entry.terminal

    def set_state(self, serial: str, state: str) -> None:
        """Switch a terminal between device / unauthorized / offline / …"""
        self.terminal(serial).state = state

    def terminal(self, serial: str) -> Terminal:
        with self._lock:
            return self._find(serial).terminal

    @property
    def terminals(self) -> list[Terminal]:
        with self._lock:
            return [e.terminal for e in self._entries]

    def _find(self, serial: str) -> _Entry:
        for entry in self._entries:
            if entry.terminal.serial == serial:
                return entry
        raise KeyError(serial)

    def _on_state_change(self, _terminal: Terminal) -> None:
        with self._changed:
            self._changed.notify_all()

    # -- device lists -------------------------------------------------------------------------

    def devices_text(self, long: bool = False) -> str:
        """The payload of ``host:devices`` / ``host:devices-l`` (transport.cpp list_transports).

        Like the real server, USB transports come first, then local ones, each sorted by serial.
        """
        lines = []
        with self._lock:
            entries = sorted(self._entries, key=lambda e: (e.terminal.transport != "usb", e.terminal.serial))
        for e in entries:
            t = e.terminal
            state = NO_PERMISSIONS_TEXT if t.state == "no permissions" else t.state
            if not long:
                lines.append(f"{t.serial}\t{state}\n")
                continue
            line = f"{t.serial:<22} {state}"
            if e.devpath:
                line += f" {e.devpath}"
            if t.state == "device":  # product/model/device come from the CNXN banner
                for key, value in (("product", t.product), ("model", t.model), ("device", t.device)):
                    if value:
                        value = "".join(c if c.isalnum() else "_" for c in value) if key == "model" else value
                        line += f" {key}:{value}"
            lines.append(f"{line} transport_id:{e.transport_id}\n")
        return "".join(lines)

    def _select(self, kind: str, value: str = "") -> tuple[_Entry | None, str]:
        """acquire_one_transport: (entry, "") or (None, the exact FAIL text)."""
        with self._lock:
            entries = list(self._entries)
        if kind == "serial":
            found = [e for e in entries if value in (e.terminal.serial, e.devpath)]
            if not found:
                return None, f"device '{value}' not found"
        elif kind == "id":
            found = [e for e in entries if str(e.transport_id) == value]
            if not found:
                return None, f"no device with transport id '{value}'"
        else:
            found = [
                e for e in entries if kind == "any" or (kind == "usb") == (e.terminal.transport == "usb")
            ]
            if not found:
                return None, _NONE_FOUND[kind]
            if len(found) > 1:  # counts offline and unauthorized ones too
                return None, _MORE_THAN_ONE[kind]
        entry = found[0]
        state = entry.terminal.state
        if state == "unauthorized":
            return None, unauthorized_text(self.vendor_keys)
        if state == "no permissions":  # UsbNoPermissionsLongHelpText()
            return None, ("insufficient permissions for device: missing udev rules? user is in the plugdev group\n"
                          "see [http://developer.android.com/tools/device.html] for more information")
        if state in ("offline", "connecting", "authorizing"):
            return None, {
                "offline": "device offline",
                "connecting": "device still connecting",
                "authorizing": "device still authorizing",
            }[state]
        return entry, ""

    # -- connections ------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(
                target=self._serve_connection,
                args=(sock,),
                daemon=True,
                name=f"fake-adb-conn-{sock.fileno()}",
            )
            with self._lock:
                if self._stopping.is_set():
                    sock.close()
                    return
                self._socks.add(sock)
                self._threads.add(thread)
                thread.start()  # under the lock: stop() never joins a thread not yet started

    def _serve_connection(self, sock: socket.socket) -> None:
        try:
            self._handle(sock)
        except (OSError, EOFError, ValueError):
            pass  # the client went away (ppadb resets), or sent garbage
        finally:
            _finish(sock)
            with self._lock:
                self._socks.discard(sock)
                self._threads.discard(threading.current_thread())

    def _read_request(self, sock: socket.socket) -> str | None:
        head = _recv_exact(sock, 4)
        if head is None:
            return None
        length = int(head.decode("ascii"), 16)  # any case: ppadb sends upper-case hex
        if not 0 < length <= _MAX_REQUEST:
            return None
        body = _recv_exact(sock, length)
        if body is None:
            return None
        request = body.decode("utf-8", "surrogateescape")
        with self._lock:
            self.requests.append(request)
        return request

    def _handle(self, sock: socket.socket) -> None:
        request = self._read_request(sock)
        if request is None:
            return
        selector = _transport_selector(request)
        if selector is not None:
            kind, value, with_id = selector
            entry, error = self._select(kind, value)
            if entry is None:
                sock.sendall(_fail(error))
                return
            sock.sendall(b"OKAY" + (struct.pack("<Q", entry.transport_id) if with_id else b""))
            service = self._read_request(sock)
            if service is not None:
                self._device_service(sock, entry, service)
            return
        if request.startswith(("host:", "host-serial:", "host-transport-id:", "host-usb:", "host-local:")):
            self._host_service(sock, request)
            return
        # A device service without a transport goes to "any" device (sockets.cpp).
        entry, error = self._select("any")
        if entry is None:
            sock.sendall(_fail(error))
            return
        self._device_service(sock, entry, request)

    def _device_service(self, sock: socket.socket, entry: _Entry, service: str) -> None:
        if not services.accepts(service, entry.terminal.sdk):
            sock.sendall(_fail("closed"))  # adbd refused the stream
            return
        sock.sendall(b"OKAY")
        services.serve(entry.terminal, service, _SocketChannel(sock, self._stopping))

    # -- host services ----------------------------------------------------------------------

    def _host_service(self, sock: socket.socket, request: str) -> None:
        kind, value, cmd = _split_host_request(request)
        simple = {
            "version": lambda: _okay(f"{ADB_SERVER_VERSION:04x}"),
            "devices": lambda: _okay(self.devices_text()),
            "devices-l": lambda: _okay(self.devices_text(long=True)),
            "host-features": lambda: _okay(HOST_FEATURES),
        }
        if kind == "any" and cmd in simple:
            sock.sendall(simple[cmd]())
            return
        if kind == "any" and cmd == "kill":
            sock.sendall(b"OKAY")
            if self.allow_kill:
                threading.Thread(target=self.stop, name="fake-adb-kill", daemon=True).start()
            return
        if kind == "any" and cmd in ("track-devices", "track-devices-l"):
            self._track(sock, long=cmd.endswith("-l"))
            return
        if kind == "any" and cmd.startswith("connect:"):
            sock.sendall(_okay(self._connect(cmd[len("connect:") :])))
            return
        if kind == "any" and cmd.startswith("disconnect:"):
            sock.sendall(self._disconnect(cmd[len("disconnect:") :]))
            return
        if kind == "any" and cmd in ("list-forward", "killforward-all"):
            sock.sendall(_okay("") if cmd == "list-forward" else b"OKAYOKAY")
            return
        if cmd.startswith("wait-for-"):
            self._wait_for(sock, kind, value, cmd)
            return
        if cmd not in _SERIAL_COMMANDS[:6]:  # the device queries answered below
            sock.sendall(_fail("unknown host service"))
            return
        entry, error = self._select(kind, value)
        if entry is None:
            sock.sendall(_fail(error))
            return
        t = entry.terminal
        answers = {
            "features": lambda: _okay(",".join(t.features)),
            "get-state": lambda: _okay(t.state),
            "get-serialno": lambda: _okay(t.serial),
            "get-devpath": lambda: _okay(entry.devpath or "unknown"),
            "list-forward": lambda: _okay(""),
            "killforward-all": lambda: b"OKAYOKAY",
        }
        sock.sendall(answers[cmd]())

    def _connect(self, address: str) -> str:
        """transport_local.cpp connect_device: the fake reaches no network."""
        if ":" not in address:
            address += ":5555"
        with self._lock:
            known = any(e.terminal.serial == address for e in self._entries)
        if known:
            return f"already connected to {address}"
        return f"failed to connect to '{address}': Connection refused"

    def _disconnect(self, address: str) -> bytes:
        with self._lock:
            local = [e for e in self._entries if e.terminal.transport != "usb"]
        if not address:
            for e in local:
                self.remove_terminal(e.terminal.serial)
            return _okay("disconnected everything")
        if ":" not in address:
            address += ":5555"
        for e in local:
            if e.terminal.serial == address:
                self.remove_terminal(address)
                return _okay(f"disconnected {address}")
        return _fail(f"no such device '{address}'")

    def _track(self, sock: socket.socket, long: bool) -> None:
        """``host:track-devices``: OKAY, the list now, then the list after every change."""
        sock.sendall(b"OKAY")
        last = None
        channel = _SocketChannel(sock, self._stopping)
        while not self._stopping.is_set():
            text = self.devices_text(long)
            if text != last:
                data = text.encode()
                sock.sendall(b"%04x" % len(data) + data)
                last = text
            with self._changed:
                self._changed.wait(0.2)
            if _peer_closed(channel.sock):
                return

    def _wait_for(self, sock: socket.socket, kind: str, value: str, cmd: str) -> None:
        """``wait-for-<transport>-<state>``: OKAY now, a second OKAY once the state is reached."""
        parts = cmd[len("wait-for-") :].split("-", 1)
        if len(parts) != 2 or parts[0] not in ("any", "usb", "local"):
            sock.sendall(_fail("unknown host service"))
            return
        transport, state = parts
        if kind == "any":
            kind = transport
        sock.sendall(b"OKAY")
        # services.cpp wait_for_state: acquire_one_transport in a loop; an ambiguous choice
        # fails at once, "disconnect" is reached when nothing usable is selected.
        while not self._stopping.is_set():
            entry, error = self._select(kind, value)
            if state == "disconnect" and entry is None:
                sock.sendall(b"OKAY")
                return
            if entry is not None and state in ("any", entry.terminal.state):
                sock.sendall(b"OKAY")
                return
            if error.startswith("more than one"):
                sock.sendall(_fail(error))
                return
            with self._changed:
                self._changed.wait(0.2)
            if _peer_closed(sock):
                return


def _transport_selector(request: str) -> tuple[str, str, bool] | None:
    """``host:transport*``/``host:tport:*`` → (kind, value, reply_with_id) or None."""
    if request.startswith("host:tport:"):
        rest = request[len("host:tport:") :]
        if rest.startswith("serial:"):
            return "serial", rest[len("serial:") :], True
        if rest in ("any", "usb", "local"):
            return rest, "", True
        return None
    if request.startswith("host:transport:"):
        return "serial", request[len("host:transport:") :], False
    if request.startswith("host:transport-id:"):
        return "id", request[len("host:transport-id:") :], False
    if request in ("host:transport-any", "host:transport-usb", "host:transport-local"):
        return request[len("host:transport-") :], "", False
    return None


def _split_host_request(request: str) -> tuple[str, str, str]:
    """(kind, value, command) for the ``host*:`` prefixes (sockets.cpp parse_host_service)."""
    if request.startswith("host-serial:"):
        rest = request[len("host-serial:") :]
        # The serial may itself contain ':' (e.g. 127.0.0.1:5555): take the first split
        # whose remainder is a command we know.
        for i, ch in enumerate(rest):
            if ch == ":" and rest[i + 1 :].startswith(_SERIAL_COMMANDS):
                return "serial", rest[:i], rest[i + 1 :]
        serial, _, cmd = rest.rpartition(":")
        return "serial", serial, cmd
    if request.startswith("host-transport-id:"):
        ident, _, cmd = request[len("host-transport-id:") :].partition(":")
        return "id", ident, cmd
    if request.startswith("host-usb:"):
        return "usb", "", request[len("host-usb:") :]
    if request.startswith("host-local:"):
        return "local", "", request[len("host-local:") :]
    return "any", "", request[len("host:") :]


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        data = sock.recv(n - len(buf))
        if not data:
            return None
        buf += data
    return bytes(buf)


def _peer_closed(sock: socket.socket) -> bool:
    try:
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready) and not sock.recv(65536)
    except (OSError, ValueError):
        return True


def _finish(sock: socket.socket) -> None:
    """Orderly close: FIN first, then drain until the client closes, then close.

    Closing with unread client bytes in the buffer (the CLI's close-stdin packet, an
    unneeded sync QUIT) would make the kernel send RST and could destroy our last reply.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2.0)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    finally:
        sock.close()
