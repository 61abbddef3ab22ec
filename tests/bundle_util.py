"""Shared by the bundle tests: run `collect` in-process, and prove every bundle a test made.

``every_bundle_verifies`` is autouse in each module that imports it: after the test, each
``*.zip`` below the test's tmp_path (except under ``tampered/``, for files made not to verify)
must verify — hashes and
the JSON Schema — so no bundle a test makes escapes the schema check.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tsdtool.bundle.verify import schema_problems, verify

FULL_FIELDS = {
    "description": "Scanning a pallet label freezes the Receiving screen",
    "steps": "1. open Receiving\n2. scan any SSCC label",
    "impact": "Goods cannot be received at gate 3",
    "affected_users": "12",
    "contact_name": "Ivan Petrov",
    "contact_email": "ivan.petrov@example.com",
    "contact_phone": "+7 916 123-45-67",
    "project": "Warehouse North",
    "onec_version": "8.3.24.1467 / UT 11.5",
    "product": "Warehouse 15",
    "pc_os": "Windows 10 Pro 22H2",
    "pc_bitness": "64-bit",
    "exchange_link": "https://files.example.com/exchange.zip",
}


def field_args(values: dict[str, str] | None = None) -> list[str]:
    args = []
    for key, value in (FULL_FIELDS if values is None else values).items():
        args += ["--field", f"{key}={value}"]
    return args


def collect(tsd, port: int, out: Path, *args: str):
    """``tsdtool -H 127.0.0.1 -P PORT --timeout 5 collect -o OUT --no-input --json ARGS``."""
    code, stdout, stderr = tsd(
        "-H", "127.0.0.1", "-P", port, "--timeout", "5", "collect", "-o", out, "--no-input", "--json", *args
    )
    result = json.loads(stdout) if stdout.strip().startswith("{") else None
    return code, result, stderr


def manifest_of(bundle: Path) -> dict:
    with zipfile.ZipFile(bundle) as zf:
        return json.loads(zf.read("manifest.json"))


def read_item(bundle: Path, name: str) -> bytes:
    with zipfile.ZipFile(bundle) as zf:
        return zf.read(name)


def assert_verifies(bundle: Path) -> None:
    result = verify(bundle)
    assert result.problems == [], f"{bundle.name}: {result.problems}"
    assert schema_problems(manifest_of(bundle)) == []


@pytest.fixture(autouse=True)
def every_bundle_verifies(tmp_path):
    yield
    for bundle in sorted(tmp_path.rglob("*.zip")):
        if "tampered" in bundle.parts or bundle.name.endswith(".part"):
            continue
        with zipfile.ZipFile(bundle) as zf:
            if "manifest.json" not in zf.namelist():
                continue  # an attachment or a fixture zip, not a bundle
        assert_verifies(bundle)


# -- rendering in a real browser --------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


def chromium_screenshot(
    page: Path, png: Path, width: int = 1280, height: int = 2000, scale: float = 1.0
) -> bytes:
    """Render a local HTML file with headless Debian chromium and return the PNG bytes."""
    import shutil
    import subprocess

    binary = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if binary is None:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    profile = png.parent / f".chromium-{png.stem}"
    args = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        f"--force-device-scale-factor={scale}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(args, capture_output=True, timeout=90)
    shutil.rmtree(profile, ignore_errors=True)
    assert png.is_file(), done.stderr.decode("utf-8", "replace")[-2000:]
    return png.read_bytes()


def png_rows(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what chromium writes): width, height, bytes per pixel, rows."""
    import struct
    import zlib

    width, height, depth, ctype = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    bpp = 4 if ctype == 6 else 3
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:  # Paeth
            for i in range(stride):
                a, b = (line[i - bpp] if i >= bpp else 0), prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def region_colours(rows: list[bytes], bpp: int, x0: int, y0: int, x1: int, y1: int, step: int = 2) -> set:
    """The distinct RGB colours in a rectangle (sampled every ``step`` pixels)."""
    seen = set()
    for y in range(y0, y1, step):
        row = rows[y]
        for x in range(x0, x1, step):
            seen.add(row[x * bpp : x * bpp + 3])
    return seen


def is_reddish(rgb: bytes) -> bool:
    r, g, b = rgb
    return r > 150 and g < 90 and b < 90


def grsoft_with_mail_limit(tmp_path: Path, megabytes: float = 0.01) -> Path:
    """A profiles folder holding GRSoft's shipped profile with another mail size limit (for
    ``--profiles-dir``); fails if the shipped profile no longer says its limit as expected."""
    from tsdtool.bundle import desks

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    shipped = Path(desks.get("grsoft", include_user_dir=False).path).read_text("utf-8")
    assert shipped.count("max_attachment_mb = 15") == 1, "GRSoft's profile changed: update this helper"
    (profiles / "grsoft.toml").write_text(shipped.replace("max_attachment_mb = 15", f"max_attachment_mb = {megabytes}"),
                                          "utf-8")
    return profiles
