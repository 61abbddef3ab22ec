"""Shared by the bundle tests: run `collect` in-process, and prove every bundle a test made.

``every_bundle_verifies`` is autouse in each module that imports it: after the test, each
``*.zip`` below the test's tmp_path (except under ``tampered/``) must verify — hashes and
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
    "exchange_link": "https://files.example.com/exchange.zip",
}


def field_args(values: dict[str, str] | None = None) -> list[str]:
    args = []
    for key, value in (FULL_FIELDS if values is None else values).items():
        args += ["--field", f"{key}={value}"]
    return args


def collect(tsd, port: int, out: Path, *args: str):
    """``tsdtool -H 127.0.0.1 -P PORT --timeout 5 collect -o OUT --no-input --json ARGS``."""
    code, stdout, stderr = tsd("-H", "127.0.0.1", "-P", port, "--timeout", "5", "collect", "-o", out,
                               "--no-input", "--json", *args)
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
