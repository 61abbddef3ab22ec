"""`tsdtool demo`: the whole tool against the simulated terminal, with no adb and no hardware.

The simulated terminal is the test harness in ``tests/fake_adb`` (a loopback adb server
speaking the real protocol), so the demo needs a source checkout.
"""

from __future__ import annotations

import importlib
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


# What a person would type for the simulated terminal's problem (the desk wants all of it).
SAMPLE_APP = "com.example.scanner.demo"
SAMPLE_DESK = "grsoft"
SAMPLE_FIELDS = {
    "description": "The scanner app closes when a pallet label is scanned on the Receiving screen",
    "steps": "1. Open Receiving\n2. Scan any SSCC pallet label\n3. The app closes",
    "impact": "Goods cannot be received at gate 3",
    "affected_users": "4",
    "project": "Demo Warehouse",
    "contact_name": "Demo User",
    "contact_email": "demo.user@example.com",
    "exchange_link": "https://files.example.com/exchange-folder.zip",
}


def run(output: Path, *, verbose: bool = False) -> int:
    """Collect the simulated terminal into a bundle and a ticket, with sample answers."""
    from tsdtool import views
    from tsdtool.bundle.collect import CollectOptions, collect
    from tsdtool.transport.adb import Adb

    fake = _fake_adb()
    fixture = ROOT / "tests" / "fake_adb" / "fixtures" / DEMO_FIXTURE
    options = CollectOptions(
        out_dir=output, package=SAMPLE_APP, desk=SAMPLE_DESK,
        fields=[f"{k}={v}" for k, v in SAMPLE_FIELDS.items()],
        config_dir=output / ".no-user-config", use_user_profiles=False,  # the same demo on every machine
    )
    with fake.FakeAdbServer([fixture]) as server:
        console.note(f"simulated terminal {DEMO_FIXTURE} on 127.0.0.1:{server.port}")
        result = collect(Adb("127.0.0.1", server.port, start_server=False), None, options)
    info = result.manifest.device
    console.out().print(f"[bold]{escape(info.get('vendor'))} {escape(info.get('model'))}[/], "
                        f"Android {escape(info.get('android_release'))}, build {escape(info.get('build_id'))}")
    views.collect_result(result)
    console.out().print(f"open the report: tsdtool report {escape(result.bundle)}", soft_wrap=True)
    return int(result.exit_code)
