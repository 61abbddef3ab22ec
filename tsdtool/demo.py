"""`tsdtool demo`: the whole tool against the simulated terminal, with no adb and no hardware.

The simulated terminal is a loopback adb server speaking the real protocol. An installed wheel
carries it as ``tsdtool.sim`` with the demo's fixture (pyproject.toml force-include); a source
checkout uses ``tests/fake_adb`` itself. It runs a real shell (mksh + toybox in a chroot) where
it can — Linux as root — and its Python emulation everywhere else (Windows, macOS, no root).
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
    """The simulator and the folder of its fixtures: the checkout's if there is one, else the wheel's."""
    for name, fixtures in (("tests.fake_adb", ROOT / "tests" / "fake_adb" / "fixtures"),
                           ("tsdtool.sim", Path(__file__).resolve().parent / "sim" / "fixtures")):
        if (fixtures / DEMO_FIXTURE / "device.toml").is_file():
            if name.startswith("tests.") and str(ROOT) not in sys.path:
                sys.path.insert(0, str(ROOT))
            try:
                return importlib.import_module(name), fixtures
            except ImportError:
                continue
    raise errors.UsageError("the simulated terminal is missing from this installation",
                            fix="reinstall tsdtool (`pip install --force-reinstall tsdtool`)")


def _backend(sim) -> str:
    """The real shell where it can run, else the emulation — never an error for a demo."""
    return "python" if importlib.import_module(f"{sim.__name__}.realshell").missing() else "real"


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
    from tsdtool.texts import texts
    from tsdtool.transport.adb import Adb

    fake, fixtures = _fake_adb()
    fixture = fixtures / DEMO_FIXTURE
    options = CollectOptions(
        out_dir=output, package=SAMPLE_APP, desk=SAMPLE_DESK,
        fields=[f"{k}={v}" for k, v in SAMPLE_FIELDS.items()],
        config_dir=output / ".no-user-config", use_user_profiles=False,  # the same demo on every machine
    )
    backend = _backend(fake)
    with fake.FakeAdbServer([fake.Terminal(fixture, backend=backend)]) as server:
        shell = "real mksh/toybox" if backend == "real" else "emulated shell"
        console.note(f"simulated terminal {DEMO_FIXTURE} on 127.0.0.1:{server.port} ({shell})")
        result = collect(Adb("127.0.0.1", server.port, start_server=False), None, options)
    info = result.manifest.device
    console.out().print(f"[bold]{escape(info.get('vendor'))} {escape(info.get('model'))}[/], "
                        f"Android {escape(info.get('android_release'))}, build {escape(info.get('build_id'))}")
    views.collect_result(result)
    t = texts(result.desk.language)
    console.out().print(t("result.report", command=f"tsdtool report {console.path(result.bundle)}"), soft_wrap=True)
    return int(result.exit_code)
