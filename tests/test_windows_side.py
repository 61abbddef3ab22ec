"""Windows code paths without Windows: imports, console code pages, the bundled adb.

The platform is simulated (patched ``sys.platform``/``os.name``, blocked Linux-only modules,
streams in cp866/cp1251); what was verified where is listed in README.md.
"""

from __future__ import annotations

import io
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tsdtool import console

LINUX_ONLY = ("fcntl", "termios", "pyudev", "resource", "pwd", "grp", "pty", "tty")

IMPORT_ALL = f"""
import sys, importlib, pkgutil
for name in {LINUX_ONLY!r}:
    sys.modules[name] = None  # any import of it now raises ImportError, as on Windows
import tsdtool
names = [m.name for m in pkgutil.walk_packages(tsdtool.__path__, "tsdtool.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print("imported", len(names))
"""


def test_every_module_imports_without_linux_only_modules():
    run = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert int(run.stdout.split()[-1]) > 40  # every module, not an empty walk


@pytest.mark.parametrize("encoding", ["cp866", "cp1251"])
def test_a_legacy_code_page_stream_gets_cyrillic_and_no_crash(monkeypatch, encoding):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    console.reset()
    try:
        console.out().print("✓ Склад 15 «Клеверенс» 📦", markup=False)
        console.print_json({"база": "Склад 15 ✓"})
    finally:
        console.reset()
    text = raw.getvalue().decode(encoding)
    assert "Склад 15" in text and "Клеверенс" in text and "?" in text


def test_utf8_streams_are_left_alone(monkeypatch):
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stream)
    console.tolerate_legacy_encodings()
    assert stream.errors == "strict"


def test_the_adb_adbutils_bundles_for_windows_is_used_when_none_is_on_path(tmp_path, monkeypatch):
    import os

    import adbutils

    from tsdtool.transport import adb

    (tmp_path / "binaries").mkdir()
    (tmp_path / "binaries/adb.exe").write_bytes(b"MZ")
    monkeypatch.setattr(adbutils, "__file__", str(tmp_path / "__init__.py"))
    # os.name is patched for this module only: pathlib itself must stay POSIX here
    monkeypatch.setattr(adb, "os", types.SimpleNamespace(name="nt", environ=os.environ))
    found = adb.find_adb_binary({"PATH": str(tmp_path / "empty")})
    assert found == str(Path(tmp_path / "binaries/adb.exe"))
    monkeypatch.setattr(adb, "os", types.SimpleNamespace(name="posix", environ=os.environ))
    assert adb.find_adb_binary({"PATH": str(tmp_path / "empty")}) is None  # no Linux adb bundled there
