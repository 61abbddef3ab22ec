"""Device services (what adbd runs after a stream is opened), independent of the carrier.

:func:`serve` is used both by the fake adb *server* (:mod:`.server`, the stream is the
client's TCP socket after ``host:transport``) and by the fake *adbd* (:mod:`.adbd`, the
stream is an OPEN/WRTE/CLSE stream). Both give it a :class:`Channel`.
"""

from __future__ import annotations

import struct
import time
from typing import Protocol

from .shell import STDERR, STDOUT, WAIT
from .terminal import Faults, Link, Terminal

SHELL_ID_STDOUT, SHELL_ID_STDERR, SHELL_ID_EXIT = 1, 2, 3  # adb/shell_protocol.h


class Channel(Protocol):
    """One bidirectional byte stream to an adb client."""

    def send(self, data: bytes) -> None:
        """Send one whole message; raises OSError when the peer is gone."""

    def recv(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` at end of stream."""

    def abort(self) -> None:
        """The cable was pulled: end the stream now (the client sees EOF or a dead transport)."""

    def wait_closed(self) -> None:
        """Block until the peer hangs up or the fake is stopped."""


class CablePulled(Exception):
    """The ``drop_after_bytes`` fault fired; the channel has been aborted."""


def recv_exact(channel: Channel, n: int) -> bytes:
    """Exactly ``n`` bytes, or EOFError if the stream ends first."""
    buf = bytearray()
    while len(buf) < n:
        data = channel.recv(n - len(buf))
        if not data:
            raise EOFError(f"stream closed after {len(buf)} of {n} bytes")
        buf += data
    return bytes(buf)


class Meter:
    """Sends output chunks at the pace of the terminal's link, applying its ``delay``/``drop`` faults."""

    def __init__(self, channel: Channel, faults: Faults, link: Link | None = None) -> None:
        self.channel = channel
        self.left = faults.drop_after_bytes
        self.delay = faults.delay_ms_per_chunk / 1000
        self.link = link

    def send(self, header: bytes, payload: bytes) -> None:
        """Send ``header + payload`` as one message; payload bytes count toward the drop."""
        if self.delay:
            time.sleep(self.delay)
        if self.link is not None:
            self.link.charge(len(header) + len(payload))
        if self.left is not None and len(payload) > self.left:
            self.channel.send(header + payload[: self.left])  # the cable goes mid-message
            self.channel.abort()
            raise CablePulled
        if self.left is not None:
            self.left -= len(payload)
        self.channel.send(header + payload)


def accepts(service: str, sdk: int = 30) -> bool:
    """Whether adbd would open a stream for ``service`` (otherwise: FAIL ``closed``).

    ``exec:`` arrived with Android 5.0 (SDK 21); older adbd closes the stream.
    """
    if service.startswith("exec:") and sdk < 21:
        return False
    if service.startswith("backup:"):  # adb backup came with Android 4.0 (backup.py)
        return sdk >= 14
    return service.startswith(("shell:", "shell,", "exec:", "sync:", "root:", "unroot:"))


def parse_shell(service: str) -> tuple[set[str], str]:
    """``shell,v2,raw,TERM=xterm:cmd`` → ({"v2","raw","TERM=xterm"}, "cmd") (services.h)."""
    head, _, command = service.partition(":")
    return set(head.split(",")[1:]), command


def serve(terminal: Terminal, service: str, channel: Channel) -> None:
    """Run one accepted device service to completion over ``channel``.

    The caller has already told the client OKAY and closes the channel afterwards.
    """
    terminal.note_service()
    if terminal.faults.hang:
        channel.wait_closed()  # a wedged terminal: accepted, then silence
        return
    meter = Meter(channel, terminal.faults, terminal.link)
    try:
        if service.startswith("sync:"):
            from .sync import serve_sync

            serve_sync(terminal, channel, meter)
        elif service.startswith("exec:"):
            _raw(terminal, service[len("exec:") :], channel, meter, pty=False)
        elif service.startswith(("shell:", "shell,")):
            args, command = parse_shell(service)
            if "v2" in args:
                _shell_v2(terminal, command, channel, meter)
            else:
                _raw(terminal, command, channel, meter, pty="raw" not in args)
        elif service.startswith("backup:"):
            from .backup import serve_backup

            serve_backup(terminal, service[len("backup:"):], channel, meter)
        elif service.startswith("root:"):
            text = (
                "adbd is already running as root\n"
                if terminal.rooted
                else "adbd cannot run as root in production builds\n"
            )
            channel.send(text.encode())
        elif service.startswith("unroot:"):
            channel.send(b"adbd not running as root\n")
    except CablePulled:
        pass


def _raw(terminal: Terminal, command: str, channel: Channel, meter: Meter, *, pty: bool) -> None:
    """``shell:`` (v1) and ``exec:``: one raw stream, stdout and stderr merged, no exit status.

    adbd combines stderr into the same socket for the raw protocol
    (aosp@29.0.6:adb/daemon/shell_service.cpp, ``ExecInProcess``/``ForkAndExec``), so
    ``exec-out`` gets error text inside its output too.
    """
    if not command:
        channel.wait_closed()  # an interactive PTY shell: not emulated, stay open until hang-up
        return
    crlf = pty and terminal.pty_crlf
    for fd, data in terminal.shell(command, pty=pty, merged=True):
        if fd == WAIT:
            channel.wait_closed()
            return
        if data:
            meter.send(b"", data.replace(b"\n", b"\r\n") if crlf else data)


def _shell_v2(terminal: Terminal, command: str, channel: Channel, meter: Meter) -> None:
    """Shell protocol v2: ``id:u8 len:u32le payload`` packets, exit packet last.

    Client packets (stdin, close-stdin, window size) are read only when the channel is
    closed; the emulated commands never read interactive stdin.
    """
    gen = terminal.shell(command)
    status = 0
    try:
        while True:
            fd, data = next(gen)
            if fd == WAIT:
                channel.wait_closed()
                return
            if data:
                ident = SHELL_ID_STDOUT if fd == STDOUT else SHELL_ID_STDERR if fd == STDERR else None
                if ident is not None:
                    meter.send(struct.pack("<BI", ident, len(data)), data)
    except StopIteration as stop:
        status = stop.value or 0
    channel.send(struct.pack("<BIB", SHELL_ID_EXIT, 1, status & 0xFF))
