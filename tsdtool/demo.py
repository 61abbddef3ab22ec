"""`tsdtool demo`: the whole tool against the simulated terminal, with no adb and no hardware.

The simulated terminal is the test harness in ``tests/fake_adb`` (a loopback adb server
speaking the real protocol), so the demo needs a source checkout.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from tsdtool import console, errors
from tsdtool.console import escape

ROOT = Path(__file__).resolve().parent.parent
DEMO_FIXTURE = "zebra_tc52"


def _fake_adb():
    if not (ROOT / "tests" / "fake_adb" / "__init__.py").is_file():
        raise errors.UsageError("the demo needs a source checkout (tests/fake_adb is not installed)",
                                fix="clone the repository and run `pip install -e .` there")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("tests.fake_adb")


def run(output: Path, *, verbose: bool = False) -> int:
    from tsdtool.collectors import screenshot
    from tsdtool.devices import facts
    from tsdtool.paths import write_new
    from tsdtool.transport.adb import Adb

    fake = _fake_adb()
    fixture = ROOT / "tests" / "fake_adb" / "fixtures" / DEMO_FIXTURE
    with fake.FakeAdbServer([fixture]) as server:
        console.note(f"simulated terminal {DEMO_FIXTURE} on 127.0.0.1:{server.port}")
        adb = Adb("127.0.0.1", server.port, start_server=False)
        device = adb.select(None)
        info = facts.read(device)
        info_path = write_new(output / "info.json", json.dumps(info, indent=2).encode())
        shot = screenshot.capture(device)
        shot_path = write_new(output / "screenshot.png", shot.data)
    console.out().print(f"[bold]{escape(info['vendor'])} {escape(info['model'])}[/], "
                        f"Android {escape(info['android_release'])}, build {escape(info['build_id'])}")
    console.out().print(f"device facts: {escape(info_path)}")
    console.out().print(f"screenshot:   {escape(shot_path)} ({shot.width}x{shot.height})")
    return 0
