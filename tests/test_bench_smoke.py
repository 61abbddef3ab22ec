"""`python -m bench --quick` runs end to end and prints its table (no timing is asserted)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_quick_prints_the_table():
    # Its own session: on a timeout the whole group goes (fake servers, adb servers, workers),
    # not just the bench process, which would leave them orphaned.
    with subprocess.Popen([sys.executable, "-m", "bench", "--quick"], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    assert proc.returncode == 0, err
    for label in ("tsdtool benchmark (--quick)", "pull", "database", "collect", "fleet", "start", "tsdtool --help",
                  "adb pull + openssl dgst", "host CPU", "tsdtool devices in a terminal (pty", "floor of the",
                  "target leaves", "database's one pass"):
        assert label in out, out
    assert "PASS" in out or "MISS" in out
    assert "could not measure" not in out, out
