"""`python -m bench --quick` runs end to end and prints its table (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_quick_prints_the_table():
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    for label in ("tsdtool benchmark (--quick)", "pull", "collect", "fleet", "start", "tsdtool --help"):
        assert label in proc.stdout, proc.stdout
    assert "PASS" in proc.stdout or "MISS" in proc.stdout
    assert "could not measure" not in proc.stdout, proc.stdout
