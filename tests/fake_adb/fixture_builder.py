"""Build small fixture folders in a test's ``tmp_path`` (the format is in README.md).

Recorded fixtures live in ``tests/fake_adb/fixtures/``; these helpers are for tests that need a
terminal with one specific property, e.g.::

    fixture = make_fixture(tmp_path, "TC52A1", state="unauthorized")
    fixture = make_fixture(tmp_path, files={"sdcard/a.txt": b"hi"}, sdk=22, faults={"hang": True})
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .terminal import make_png

__all__ = ["default_props", "make_fixture", "make_png", "write_getprop", "write_toml"]


def default_props(
    serial: str = "TSD0001",
    *,
    model: str = "TC52",
    manufacturer: str = "Zebra Technologies",
    brand: str = "Zebra",
    device: str = "TC52",
    product: str = "TC52",
    sdk: int = 30,
    release: str | None = None,
    build_id: str = "11-49-09.00-RG-U00-STD-HEL-04",
) -> dict[str, str]:
    """A plausible, small set of properties for a rugged terminal."""
    release = release or {
        21: "5.0",
        22: "5.1.1",
        23: "6.0.1",
        24: "7.0",
        25: "7.1.2",
        26: "8.0.0",
        27: "8.1.0",
        28: "9",
        29: "10",
        30: "11",
        31: "12",
        32: "12",
        33: "13",
        34: "14",
    }.get(sdk, str(sdk))
    return {
        "ro.build.display.id": build_id,
        "ro.build.fingerprint": f"{brand}/{product}/{device}:{release}/{build_id}/1:user/release-keys",
        "ro.build.version.release": release,
        "ro.build.version.sdk": str(sdk),
        "ro.product.brand": brand,
        "ro.product.device": device,
        "ro.product.manufacturer": manufacturer,
        "ro.product.model": model,
        "ro.product.name": product,
        "ro.serialno": serial,
        "persist.sys.timezone": "Europe/Berlin",
    }


def write_getprop(path: Path, props: Mapping[str, str]) -> None:
    """``getprop`` output: sorted ``[key]: [value]`` lines."""
    path.write_text("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())), encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml_value(key)


def write_toml(path: Path, data: Mapping[str, Any]) -> None:
    """Minimal TOML writer: scalars, arrays, tables and arrays of tables (one level deep)."""
    lines = []
    for key, value in data.items():
        if not isinstance(value, Mapping) and not (
            isinstance(value, list) and value and isinstance(value[0], Mapping)
        ):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += ["", f"[{_toml_key(key)}]"] + [
                f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()
            ]
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            for row in value:
                lines += ["", f"[[{_toml_key(key)}]]"] + [
                    f"{_toml_key(k)} = {_toml_value(v)}" for k, v in row.items()
                ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_fixture(
    root: str | os.PathLike[str],
    serial: str = "TSD0001",
    *,
    state: str = "device",
    transport: str = "usb",
    sdk: int = 30,
    model: str = "TC52",
    props: Mapping[str, str] | None = None,
    packages: Sequence[Mapping[str, Any]] = (),
    system_packages: Sequence[str] = (),
    files: Mapping[str, bytes | str] | None = None,
    symlinks: Mapping[str, str] | None = None,
    screen: bytes | None = None,
    logcat: str | None = None,
    faults: Mapping[str, Any] | None = None,
    device: Mapping[str, Any] | None = None,
    mtime: int | None = 1_700_000_000,
    name: str | None = None,
) -> Path:
    """Write a fixture folder ``root/<name or serial>`` and return its path.

    Args:
        root: parent folder, usually pytest's ``tmp_path``.
        serial: the adb serial (also ``ro.serialno``).
        state, transport: device.toml ``state`` and ``transport``.
        sdk, model: shortcuts for ``ro.build.version.sdk`` / ``ro.product.model``.
        props: extra or overriding properties for getprop.txt.
        packages: ``[[package]]`` rows of packages.toml (dicts with the documented keys).
        system_packages: names listed as ``system_packages`` in packages.toml.
        files: device path (``"sdcard/x.txt"`` or ``"/sdcard/x.txt"``) → content, under ``fs/``.
        symlinks: device path → link target (a device path), under ``fs/``.
        screen: screen.png bytes (None = no screen.png; the fake then draws a 2x2 PNG).
        logcat: logcat.txt text.
        faults: the ``[faults]`` table.
        device: any other device.toml keys (``rooted``, ``shell``, ``unreadable`` …).
        mtime: set every file under ``fs/`` to this epoch (None keeps the write time).
        name: folder name (default: the serial with ``:`` replaced).
    """
    folder = Path(root) / (name or serial.replace(":", "_"))
    folder.mkdir(parents=True, exist_ok=True)
    all_props = default_props(serial, model=model, sdk=sdk)
    all_props.update(props or {})
    write_getprop(folder / "getprop.txt", all_props)
    table: dict[str, Any] = {"serial": serial, "state": state, "transport": transport}
    if transport == "usb":
        table["usb_vendor_id"] = "05e0"
    table.update(device or {})
    if faults:
        table["faults"] = dict(faults)
    write_toml(folder / "device.toml", table)
    if packages or system_packages:
        data: dict[str, Any] = {}
        if system_packages:
            data["system_packages"] = list(system_packages)
        if packages:
            data["package"] = [dict(p) for p in packages]
        write_toml(folder / "packages.toml", data)
    fs = folder / "fs"
    fs.mkdir(exist_ok=True)
    for devpath, content in (files or {}).items():
        target = fs / devpath.lstrip("/")
        if devpath.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    for devpath, link in (symlinks or {}).items():
        target = fs / devpath.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link, target)
    if mtime is not None:
        for dirpath, dirnames, filenames in os.walk(fs, topdown=False):
            for entry in filenames + dirnames:
                os.utime(os.path.join(dirpath, entry), (mtime, mtime), follow_symlinks=False)
        os.utime(fs, (mtime, mtime))
    if screen is not None:
        (folder / "screen.png").write_bytes(screen)
    if logcat is not None:
        (folder / "logcat.txt").write_text(logcat, encoding="utf-8")
    return folder
