"""What the early-request tests share: a probe script run in a fresh interpreter against a fake
server (what a user's new process sees), and a record of the early chains a run starts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_probe(probe: str, server, out: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``probe`` (dedented) from the repository root with the server's port and ``out`` as
    its arguments, stop the server afterwards, and fail unless the probe exited 0."""
    try:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(probe), str(server.port), str(out)],
                              cwd=REPO, capture_output=True, text=True, timeout=timeout)
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    return proc


def record_first_shells(monkeypatch) -> list:
    """Patch ``wire.first_shell`` to keep every early chain it starts; returns that list."""
    from tsdtool.transport import wire

    started: list = []
    real = wire.first_shell

    def spy(*args, **kw):
        started.append(real(*args, **kw))
        return started[-1]

    monkeypatch.setattr(wire, "first_shell", spy)
    return started


def interrupt_when_asked(started: list):
    """A stand-in for what runs after the imports: a Ctrl-C once the first early chain has sent
    all its requests."""

    def interrupted(*args, **kwargs):
        started[0].settle()
        raise KeyboardInterrupt

    return interrupted
