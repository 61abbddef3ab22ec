"""Nothing is written outside the output folder — not even a cache in the user's own folders.

The developers' brief says so in as many words, and a technician's PC (often a shared Windows
account in a warehouse) keeps no trace of tsdtool but the bundles it was asked to make. Each
command below runs as a user runs it: a new process, with HOME, XDG_* and Windows' APPDATA /
LOCALAPPDATA pointing into an empty folder that must stay empty. (Issue 18 proposed keeping parsed
profile files in the user's cache folder to save 7–10 ms of start-up; that breaks this rule.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_devices_pull_and_pull_db_leave_the_users_folders_as_they_were(fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), APPDATA=str(home / "AppData" / "Roaming"),
               LOCALAPPDATA=str(home / "AppData" / "Local"), USERPROFILE=str(home))
    before = _files(home)
    head = [sys.executable, "-m", "tsdtool", "-H", "127.0.0.1", "-P", str(server.port)]
    out = tmp_path / "out"
    for args in (["devices"], ["pull", "/sdcard/Download", "-o", str(out)],
                 ["pull-db", "com.example.scanner.demo", "-o", str(out)], ["profiles", "list"]):
        proc = subprocess.run(head + args, cwd=REPO, env=env, capture_output=True, timeout=120)
        assert proc.returncode in (0, 3), (args, proc.returncode, proc.stderr[-2000:])
        assert _files(home) == before, (args, sorted(map(str, _files(home) - before)))
    assert any(out.rglob("*")), "the commands ran but wrote nothing into -o: the check above proved nothing"
