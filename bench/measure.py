"""Timing subprocesses, their peak RSS, and the fake server's own ceiling."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import statistics
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TIME_BIN = "/usr/bin/time"  # GNU time (Debian package `time`): -f %M is the peak RSS in KiB


@dataclass(frozen=True)
class Run:
    seconds: float
    code: int
    peak_rss_kb: int | None
    stderr: str
    cpu: float = 0.0  # user + system CPU-seconds of the process and everything it waited for


def run(
    cmd: list[str],
    env: dict[str, str],
    *,
    rss: bool = False,
    timeout: float = 600,
    cwd: str | Path | None = None,
    stdout=subprocess.DEVNULL,
) -> Run:
    """Run ``cmd`` once; wall time, host CPU time, exit status, and (with ``rss``) its peak RSS.

    The CPU time is the growth of this process's RUSAGE_CHILDREN across the run: the command
    and every process it waited for (spawned fleet workers included), nothing else (the bench
    runs one command at a time, and the fake server is a child that ends only later).
    """
    report = None
    if rss and os.access(TIME_BIN, os.X_OK):
        fd, report = tempfile.mkstemp(prefix="bench-rss-")
        os.close(fd)
        cmd = [TIME_BIN, "-f", "%M", "-o", report, *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE
    )
    peak = [0]
    watcher = None
    if rss and report is None:  # no GNU time: poll VmHWM while it runs
        watcher = threading.Thread(target=_poll_hwm, args=(proc, peak), daemon=True)
        watcher.start()
    _, err = proc.communicate(timeout=timeout)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if watcher:
        watcher.join()
    peak_kb: int | None = peak[0] or None
    if report:
        text = Path(report).read_text().strip().splitlines()
        os.unlink(report)
        peak_kb = int(text[-1]) if text and text[-1].isdigit() else None
    return Run(seconds, proc.returncode, peak_kb, err.decode("utf-8", "replace"), cpu)


def run_in_pty(cmd: list[str], env: dict[str, str], *, columns: int = 120, rows: int = 40,
               timeout: float = 120) -> Run:
    """Run ``cmd`` once with stdin, stdout and stderr on a new pseudo-terminal of ``columns`` ×
    ``rows`` (what a person at a terminal runs); wall time and exit status, and what it wrote
    to the terminal (in ``stderr``: one terminal holds both streams), read until it closes it."""
    import fcntl
    import pty
    import select
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=dict(env, TERM="xterm-256color"), stdin=follower, stdout=follower,
                            stderr=follower, start_new_session=True)
    os.close(follower)
    output = bytearray()
    deadline = start + timeout
    while True:
        ready, _, _ = select.select([leader], [], [], max(0.0, deadline - time.perf_counter()))
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every process holding the terminal has closed it
            break
        if not chunk:
            break
        output += chunk
    code = proc.wait()
    seconds = time.perf_counter() - start
    os.close(leader)
    return Run(seconds, code, None, output.decode("utf-8", "replace"))


def _poll_hwm(proc: subprocess.Popen, peak: list[int]) -> None:
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.005)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def mb_per_s(size: int, seconds: float) -> float:
    return size / 1e6 / seconds if seconds > 0 else float("inf")


def fresh_dir(parent: Path, name: str) -> Path:
    path = parent / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# -- the fake's ceiling: sync RECV straight off the socket, nothing written ---------------------


def _send_service(sock: socket.socket, service: str) -> None:
    data = service.encode()
    sock.sendall(b"%04x" % len(data) + data)
    status = _recv_exact(sock, 4)
    if status != b"OKAY":
        length = int(_recv_exact(sock, 4), 16)
        raise RuntimeError(f"{service}: {_recv_exact(sock, length).decode('utf-8', 'replace')}")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return bytes(buf)


def raw_recv(port: int, serial: str, path: str) -> tuple[int, float]:
    """Pull ``path`` over sync RECV and drop the bytes; returns (size, seconds)."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        _send_service(sock, f"host:transport:{serial}")
        _send_service(sock, "sync:")
        encoded = path.encode()
        sock.sendall(b"RECV" + struct.pack("<I", len(encoded)) + encoded)
        buf = memoryview(bytearray(1024 * 1024))
        total = 0
        while True:
            head = _recv_exact(sock, 8)
            length = struct.unpack("<I", head[4:])[0]
            if head[:4] == b"DONE":
                break
            if head[:4] != b"DATA":
                raise RuntimeError(f"sync reply {head[:4]!r} pulling {path}")
            left = length
            while left:
                got = sock.recv_into(buf, min(left, len(buf)))
                if not got:
                    raise EOFError("connection closed mid-file")
                left -= got
            total += length
        sock.sendall(b"QUIT" + b"\0" * 4)
    return total, time.perf_counter() - start
