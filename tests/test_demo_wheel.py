"""`tsdtool demo` from a plain install of the built wheel, and with the emulation Windows gets."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIM = REPO / "tests" / "fake_adb"


def test_the_wheel_lists_every_module_of_the_simulator():
    """pyproject force-includes the simulator file by file: a new module must be added there."""
    with (REPO / "pyproject.toml").open("rb") as f:
        included = f"{tomllib.load(f)['tool']['hatch']['build']['targets']['wheel']['force-include']}"
    for path in sorted(SIM.glob("*.py")) + [SIM / "android_cmds.c"]:
        assert f"'tests/fake_adb/{path.name}': 'tsdtool/sim/{path.name}'" in included, path.name


def test_demo_runs_from_an_installed_wheel(tmp_path):
    """Build the wheel, install it alone into a fresh venv, run `tsdtool demo` away from the checkout.

    The venv borrows tsdtool's dependencies (typer, rich, adbutils …) from the test venv through
    a path line, so no index is needed; .pth files there (the editable install's hook) are not
    processed from such a path, so `tsdtool` itself can only come from the wheel.
    """
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(dist), str(REPO)], capture_output=True, text=True, timeout=600, check=False)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next(dist.glob("tsdtool-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                              str(wheel)], capture_output=True, text=True, timeout=600, check=False)
    assert install.returncode == 0, install.stderr[-3000:]
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    Path(site, "zz_test_deps.pth").write_text(deps + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    home = tmp_path / "elsewhere"  # no checkout in sight: only the wheel's tsdtool.sim can serve
    home.mkdir()
    where = subprocess.run([str(python), "-c", "import tsdtool, tsdtool.sim; print(tsdtool.__file__)"],
                           cwd=home, capture_output=True, text=True, env=env, check=False)
    assert where.stdout.startswith(site), where
    demo = subprocess.run([str(env_dir / "bin" / "tsdtool"), "demo", "-o", str(home / "out")], cwd=home,
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "simulated terminal zebra_tc52" in demo.stderr + demo.stdout
    assert list((home / "out").glob("*.zip")), demo.stdout


def test_demo_on_windows_uses_the_emulation(tmp_path, monkeypatch, capsys):
    from tsdtool import console, demo

    sim, _fixtures = demo._fake_adb()
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", "win32")  # what the real-shell probe sees on Windows
        assert demo._backend(sim) == "python"
    monkeypatch.setattr(demo, "_backend", lambda _sim: "python")
    console.reset()  # consoles made for an earlier test's captured streams
    assert demo.run(tmp_path / "out") == 0
    assert "(emulated shell)" in capsys.readouterr().err
