"""A probe script run in a fresh interpreter against a fake server (what a user's new process sees)."""

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
