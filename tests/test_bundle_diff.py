"""`inspect` and `diff` over bundles collected from fixture terminals."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from tests.bundle_util import collect, every_bundle_verifies  # noqa: F401 - autouse: every bundle verifies
from tests.conftest import FIXTURES

PACKAGE = "com.example.scanner.demo"


def _terminal(tmp_path: Path, name: str, build: str, patch: str, version: tuple[str, int]) -> Path:
    """A copy of zebra_tc52 with another firmware build, device patch and app version."""
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "zebra_tc52", folder)
    props = folder / "getprop.txt"
    text = props.read_text("utf-8")
    text = text.replace("[ro.build.id]: [14-32-12.00-UG-U00-STD-HEL-04]", f"[ro.build.id]: [{build}]")
    text = text.replace("[ro.device.patch.version]: [U00]", f"[ro.device.patch.version]: [{patch}]")
    props.write_text(text)
    packages = folder / "packages.toml"
    old = 'version_name = "1.4.2-debug"\nversion_code = 10402'
    new = f'version_name = "{version[0]}"\nversion_code = {version[1]}'
    packages.write_text(packages.read_text("utf-8").replace(old, new))
    return folder


def _bundle(fake_server, tsd, folder: Path, out: Path) -> Path:
    srv = fake_server(folder)
    code, result, err = collect(tsd, srv.port, out, "--package", PACKAGE)
    assert result is not None, err
    return Path(result["bundle"])


def test_diff_names_exactly_the_firmware_and_app_version(fake_server, tsd, tmp_path):
    good = _bundle(fake_server, tsd, _terminal(tmp_path, "a", "14-32-12.00-UG-U00-STD-HEL-04", "U00",
                                               ("1.4.2-debug", 10402)), tmp_path / "out-a")
    bad = _bundle(fake_server, tsd, _terminal(tmp_path, "b", "14-34-10.00-UG-U03-STD-HEL-04", "U03",
                                              ("1.5.0", 10500)), tmp_path / "out-b")
    code, out, err = tsd("diff", good, bad, "--json")
    assert code == 0, err
    changes = {(c["section"], c["key"]): (c["a"], c["b"]) for c in json.loads(out)["changes"]}
    assert changes == {
        ("device", "build_id"): ("14-32-12.00-UG-U00-STD-HEL-04", "14-34-10.00-UG-U03-STD-HEL-04"),
        ("profile", "patch_version"): ("U00", "U03"),
        ("property", "ro.build.id"): ("14-32-12.00-UG-U00-STD-HEL-04", "14-34-10.00-UG-U03-STD-HEL-04"),
        ("property", "ro.device.patch.version"): ("U00", "U03"),
        ("app", PACKAGE): ("1.4.2-debug (10402)", "1.5.0 (10500)"),
    }
    code, out, err = tsd("diff", good, bad)
    assert "patch_version" in out and "1.5.0 (10500)" in out
    code, out, err = tsd("diff", good, good)
    assert (code, out.strip()) == (0, "no differences")


def test_inspect_summarises_and_fails_on_a_tampered_bundle(fake_server, tsd, tmp_path):
    bundle = _bundle(fake_server, tsd, FIXTURES / "zebra_tc52", tmp_path / "out")
    code, out, err = tsd("inspect", bundle, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["ok"], summary["problems"]
    assert summary["device"]["model"] == "TC52"
    assert [a["package"] for a in summary["apps"]] == [PACKAGE]
    assert any(i["path"] == "logcat.txt" and i["status"] == "ok" for i in summary["items"])
    code, out, err = tsd("inspect", bundle)
    assert code == 0 and "verified" in out and PACKAGE in out

    tampered = tmp_path / "tampered" / bundle.name
    tampered.parent.mkdir()
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, data.replace(b"FATAL", b"fatal") if info.filename == "logcat.txt" else data)
    code, out, err = tsd("inspect", tampered)
    assert code == 1
    assert "logcat.txt: SHA-256 does not match the manifest" in out


def test_diff_names_new_crash_signatures_only(fake_server, tsd, tmp_path):
    same = ("1.4.2-debug", 10402)
    a = _terminal(tmp_path, "a", "14-32-12.00-UG-U00-STD-HEL-04", "U00", same)
    b = _terminal(tmp_path, "b", "14-32-12.00-UG-U00-STD-HEL-04", "U00", same)
    with open(b / "logcat.txt", "a", encoding="utf-8") as log:  # the same crash on another pid, and a new one
        log.write("05-14 10:31:02.118  9911  9911 E AndroidRuntime: FATAL EXCEPTION: main\n"
                  "05-14 10:31:05.007  9950  9977 E ScanService: decoder timeout after 3000 ms (0x7f3a)\n")
    left = _bundle(fake_server, tsd, a, tmp_path / "out-a")
    right = _bundle(fake_server, tsd, b, tmp_path / "out-b")
    code, out, err = tsd("diff", left, right, "--json")
    changes = json.loads(out)["changes"]
    new = "E/ScanService: decoder timeout after # ms (#)"
    assert [(c["section"], c["key"]) for c in changes] == [("log", new)]
