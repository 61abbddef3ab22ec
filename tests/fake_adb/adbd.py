"""The fake *adbd*: one terminal on a loopback TCP port, for ``adb connect 127.0.0.1:PORT``.

A real adb server connects to it like to a terminal in TCP/IP mode and then forwards its
clients' services into OPEN/WRTE/CLSE streams. Wire protocol: ``shared/adb_protocol.md`` §3
(aosp@29.0.6:adb/protocol.txt, adb/adb.h, adb/transport.cpp, adb/client/auth.cpp).

* Every message is a 24-byte header (six little-endian u32: command, arg0, arg1,
  data_length, data_check, magic = command ^ 0xffffffff) and a payload.
* Handshake: the host sends CNXN; a ``device`` fixture answers CNXN with its banner. An
  ``unauthorized`` fixture answers AUTH TOKEN, answers each SIGNATURE with a new TOKEN and
  stays silent after the host's RSAPUBLICKEY (answering it again would make the host loop).
  An ``offline`` fixture never answers (the host gives up after its handshake timeout).
* Streams: OPEN → OKAY or CLSE (refused); each WRTE is acknowledged with OKAY and the sender
  waits for that OKAY before its next WRTE; either side ends a stream with CLSE.
* The same :func:`services.serve` as the fake server runs the services.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Callable

from . import services
from .terminal import Terminal

A_SYNC, A_CNXN, A_OPEN, A_OKAY = 0x434E5953, 0x4E584E43, 0x4E45504F, 0x59414B4F
A_CLSE, A_WRTE, A_AUTH = 0x45534C43, 0x45545257, 0x48545541
A_VERSION = 0x01000001  # skip-checksum version (adb.h)
A_VERSION_MIN = 0x01000000
MAX_PAYLOAD = 1024 * 1024
AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3
_HEADER = struct.Struct("<6I")


def pack_message(
    command: int, arg0: int, arg1: int, payload: bytes = b"", *, checksum: bool = False
) -> bytes:
    """One adb message. ``checksum`` is only needed by peers older than A_VERSION."""
    check = sum(payload) & 0xFFFFFFFF if checksum else 0
    return _HEADER.pack(command, arg0, arg1, len(payload), check, command ^ 0xFFFFFFFF) + payload


class _Stream:
    """One OPEN'd stream seen from the device; implements services.Channel.

    Outgoing bytes are queued and leave as WRTE messages of up to maxdata bytes, one at a
    time: the next WRTE goes out only when the host's OKAY for the previous one arrived
    (like adbd, which packs whatever the service wrote meanwhile into the next WRTE).
    """

    def __init__(self, transport: _Transport, local_id: int, remote_id: int) -> None:
        self.transport, self.local_id, self.remote_id = transport, local_id, remote_id
        self._cond = threading.Condition()
        self._inbound = bytearray()
        self._outbound = bytearray()
        self._acked = True  # no WRTE of ours is waiting for its OKAY
        self.closed = False  # by either side
        self._we_closed = False

    def _alive(self) -> bool:
        return not self.closed and not self.transport.dead

    def _take_locked(self) -> bytes:
        """The next WRTE payload if one may be sent now (caller holds the lock)."""
        if not self._acked or not self._outbound or self.transport.dead:
            return b""
        chunk = bytes(self._outbound[: self.transport.max_payload])
        del self._outbound[: len(chunk)]
        self._acked = False
        self._cond.notify_all()
        return chunk

    def _write(self, chunk: bytes) -> None:
        # Outside the lock; ordering is safe because only one WRTE is ever in flight.
        if chunk:
            self.transport.write(A_WRTE, self.local_id, self.remote_id, chunk)

    # called from the transport's reader thread
    def deliver(self, data: bytes) -> None:
        with self._cond:
            self._inbound += data
            self._cond.notify_all()

    def acked(self) -> None:
        with self._cond:
            self._acked = True
            chunk = self._take_locked()
            self._cond.notify_all()
        self._write(chunk)

    def remote_closed(self) -> bool:
        """The host sent CLSE; returns whether we must answer with our own CLSE."""
        with self._cond:
            answer = not self._we_closed
            self.closed = self._we_closed = True
            self._cond.notify_all()
        return answer

    # services.Channel
    def send(self, data: bytes) -> None:
        limit = 2 * self.transport.max_payload  # backpressure: a slow host slows the service
        with self._cond:
            while len(self._outbound) >= limit and self._alive():
                self._cond.wait(0.5)
            if not self._alive():
                raise ConnectionResetError("stream closed by the host")
            self._outbound += data
            chunk = self._take_locked()
        self._write(chunk)

    def recv(self, n: int) -> bytes:
        with self._cond:
            while not self._inbound and self._alive():
                self._cond.wait(0.5)
            data = bytes(self._inbound[:n])
            del self._inbound[:n]
            return data

    def abort(self) -> None:
        # The cable is pulled: the whole transport dies, not only this stream.
        self.transport.kill()

    def wait_closed(self) -> None:
        with self._cond:
            while self._alive():
                self._cond.wait(0.5)

    def close(self) -> None:
        """Flush what is queued, then CLSE (unless the host closed first)."""
        with self._cond:
            while (self._outbound or not self._acked) and self._alive():
                self._cond.wait(0.5)
            if self._we_closed:
                return
            self._we_closed = self.closed = True
            self._cond.notify_all()
        if not self.transport.dead:
            self.transport.write(A_CLSE, self.local_id, self.remote_id)


class _Transport:
    """One TCP connection from an adb server: the handshake and the stream table."""

    def __init__(self, sock: socket.socket, terminal: Terminal, spawn: Callable[..., None]) -> None:
        self.sock, self.terminal, self.spawn = sock, terminal, spawn
        self._write_lock = threading.Lock()
        self.streams: dict[int, _Stream] = {}
        self._next_id = 100
        self.max_payload = 4096
        self.checksum = True
        self.dead = False
        self.online = False

    def write(self, command: int, arg0: int, arg1: int, payload: bytes = b"") -> None:
        message = pack_message(command, arg0, arg1, payload, checksum=self.checksum)
        with self._write_lock:
            try:
                self.sock.sendall(message)
            except OSError:
                self.kill()
                raise

    def kill(self) -> None:
        """Drop the connection abruptly (RST): a pulled cable."""
        if self.dead:
            return
        self.dead = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for stream in list(self.streams.values()):
            with stream._cond:
                stream._cond.notify_all()

    def _read_exact(self, n: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            data = self.sock.recv(n - len(buf))
            if not data:
                return None
            buf += data
        return bytes(buf)

    def run(self) -> None:
        """Read messages until the host disconnects (runs in the connection's thread)."""
        try:
            while not self.dead:
                head = self._read_exact(_HEADER.size)
                if head is None:
                    break
                command, arg0, arg1, length, _check, magic = _HEADER.unpack(head)
                if magic != command ^ 0xFFFFFFFF or length > MAX_PAYLOAD:
                    break  # transport.cpp drops a connection with a bad header
                payload = self._read_exact(length) if length else b""
                if payload is None:
                    break
                self._dispatch(command, arg0, arg1, payload)
        except OSError:
            pass
        finally:
            self.dead = True
            for stream in list(self.streams.values()):
                with stream._cond:
                    stream._cond.notify_all()
            self.sock.close()

    def _dispatch(self, command: int, arg0: int, arg1: int, payload: bytes) -> None:
        if command == A_CNXN:
            self._on_connect(arg0, arg1)
        elif command == A_AUTH:
            self._on_auth(arg0)
        elif not self.online:
            return  # nothing but the handshake before CNXN was answered
        elif command == A_OPEN:
            self._on_open(arg0, payload.rstrip(b"\0").decode("utf-8", "surrogateescape"))
        elif command == A_WRTE:
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.deliver(payload)
                self.write(A_OKAY, stream.local_id, stream.remote_id)  # ready for more
        elif command == A_OKAY:
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.acked()
        elif command == A_CLSE:
            stream = self.streams.pop(arg1, None)
            if stream is not None and stream.remote_closed():
                self.write(A_CLSE, stream.local_id, stream.remote_id)

    def _on_connect(self, version: int, maxdata: int) -> None:
        self.checksum = min(version, A_VERSION) < A_VERSION
        self.max_payload = max(256, min(maxdata, MAX_PAYLOAD))
        state = self.terminal.state
        if state == "unauthorized":
            self.write(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))
        elif state == "device":
            self.online = True
            self.write(A_CNXN, A_VERSION, MAX_PAYLOAD, self.terminal.banner().encode())
        # offline (or any other state): no answer at all

    def _on_auth(self, kind: int) -> None:
        # A signature can never verify against the fake (it holds no keys): ask again.
        # After RSAPUBLICKEY the host shows "unauthorized" and waits; so do we.
        if kind == AUTH_SIGNATURE and self.terminal.state == "unauthorized":
            self.write(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))

    def _on_open(self, remote_id: int, service: str) -> None:
        if not services.accepts(service, self.terminal.sdk):
            self.write(A_CLSE, 0, remote_id)
            return
        local_id, self._next_id = self._next_id, self._next_id + 1
        stream = _Stream(self, local_id, remote_id)
        self.streams[local_id] = stream
        self.write(A_OKAY, local_id, remote_id)
        self.spawn(self._serve_stream, stream, service)

    def _serve_stream(self, stream: _Stream, service: str) -> None:
        try:
            services.serve(self.terminal, service, stream)
        except (OSError, EOFError):
            pass
        finally:
            try:
                stream.close()
            except OSError:
                pass


class FakeAdbd:
    """A fake terminal in TCP/IP mode: ``adb connect 127.0.0.1:<port>`` reaches it.

    Args:
        fixture: a fixture folder or a :class:`Terminal`.
        host, port: where to listen (port 0 = any free port; read :attr:`port`).
    """

    def __init__(
        self, fixture: str | os.PathLike[str] | Terminal, *, host: str = "127.0.0.1", port: int = 0,
        backend: str | None = None,
    ) -> None:
        self.terminal = fixture if isinstance(fixture, Terminal) else Terminal(fixture, backend=backend)
        self.host, self._want_port = host, port
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self.connections: list[_Transport] = []

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("adbd not started")
        return self._listener.getsockname()[1]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> FakeAdbd:
        self._listener = socket.create_server((self.host, self._want_port))
        self._spawn(self._accept_loop)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the port and every transport, and join all threads (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            transports, threads = list(self.connections), list(self._threads)
        for transport in transports:
            transport.kill()
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        for transport in transports:
            transport.sock.close()

    def __enter__(self) -> FakeAdbd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        def run() -> None:
            try:
                target(*args)
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=run, daemon=True, name=f"fake-adbd-{target.__name__}")
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = _Transport(sock, self.terminal, self._spawn)
            with self._lock:
                if self._stopping.is_set():
                    sock.close()
                    return
                self.connections.append(transport)
            self._spawn(transport.run)
