"""Read a finished bundle back, and prove it: every stored item's size and SHA-256, and the schema.

:func:`open_bundle` is what ``report`` and ``send`` use to read a bundle; :func:`verify`
is ``tsdtool verify``: it lists every problem instead of stopping at the first.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from tsdtool import errors
from tsdtool.bundle.manifest import MANIFEST_NAME, SCHEMA_VERSION, Manifest

SCHEMA_NAME = "bundle.schema.json"


def schema_path() -> Path:
    """The JSON Schema: ``docs/`` in a source tree, packaged next to this module in a wheel."""
    in_tree = Path(__file__).resolve().parents[2] / "docs" / SCHEMA_NAME
    if in_tree.is_file():
        return in_tree
    return Path(str(resources.files("tsdtool.bundle") / SCHEMA_NAME))


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text("utf-8"))


def schema_problems(data: Any, *, types_only: bool = False) -> list[str]:
    """Every way ``data`` breaks the manifest schema, as ``at.path: message`` lines.

    ``types_only``: only values of the wrong JSON type (a list where an object belongs) —
    what a reader cannot work with; a missing key or an odd value it can.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    found = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        if types_only and (error.validator != "type" or "allOf" in error.schema_path):
            continue
        where = ".".join(str(p) for p in error.absolute_path) or "manifest"
        found.append(f"{where}: {error.message}")
    return found


class Bundle:
    """An open bundle zip: the manifest and the bytes of each stored item."""

    def __init__(self, path: Path, *, strict: bool = True):
        """``strict``: refuse a manifest whose values have the wrong types (a tampered or
        foreign file) instead of failing somewhere inside a reader; ``verify`` lists them."""
        self.path = Path(path)
        try:
            self.zip = zipfile.ZipFile(self.path)
            raw = self.zip.read(MANIFEST_NAME)
        except FileNotFoundError as exc:
            raise errors.UsageError(f"{path}: no such file") from exc
        except (OSError, zipfile.BadZipFile, zlib.error) as exc:
            raise errors.UsageError(f"{path}: not a readable zip ({exc})") from exc
        except KeyError as exc:
            raise errors.UsageError(
                f"{path}: no {MANIFEST_NAME} in it — not a tsdtool bundle, or unfinished"
            ) from exc
        try:
            self.data: dict[str, Any] = json.loads(raw)
            wrong = schema_problems(self.data, types_only=True) if strict else []
            if wrong:
                raise ValueError(wrong[0] + (f", and {len(wrong) - 1} more" if len(wrong) > 1 else ""))
            self.manifest = Manifest.from_dict(self.data)
        except (ValueError, TypeError, AttributeError) as exc:
            self.zip.close()
            raise errors.UsageError(f"{path}: {MANIFEST_NAME} is not a tsdtool manifest ({exc})",
                                    fix="`tsdtool verify` lists every problem") from exc

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def read(self, path: str, limit: int | None = None) -> bytes | None:
        """An item's bytes (the first ``limit`` of them), or None when not stored."""
        try:
            with self.zip.open(path) as fh:
                return fh.read(limit) if limit else fh.read()
        except (KeyError, zipfile.BadZipFile, OSError, zlib.error):
            return None


def open_bundle(path: Path, *, strict: bool = True) -> Bundle:
    return Bundle(path, strict=strict)


@dataclass
class Verification:
    bundle: Path
    checked: int = 0  # stored items whose hash was recomputed
    problems: list[str] = field(default_factory=list)
    status: str = ""  # the manifest's complete | partial

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path) -> Verification:
    """Recompute every stored item's size and SHA-256 and validate the manifest."""
    result = Verification(Path(path))
    with open_bundle(path, strict=False) as bundle:
        result.status = bundle.manifest.status
        if bundle.data.get("schema_version") != SCHEMA_VERSION:
            result.problems.append(
                f"schema_version {bundle.data.get('schema_version')!r} is not {SCHEMA_VERSION}"
            )
        result.problems += [f"schema: {p}" for p in schema_problems(bundle.data)]
        listed = set()
        for item in bundle.manifest.items:
            if item.sha256 is None:
                continue
            listed.add(item.path)
            result.checked += 1
            result.problems += _check_item(bundle.zip, item.path, item.size, item.sha256)
        for name in bundle.zip.namelist():
            if name != MANIFEST_NAME and name not in listed:
                result.problems.append(f"{name}: in the zip but not in the manifest")
        if bundle.data.get("status") != bundle.manifest.status:
            result.problems.append(
                f"status says {bundle.data.get('status')!r} but the items say {bundle.manifest.status!r}"
            )
    return result


def _check_item(zf: zipfile.ZipFile, name: str, size: int, sha256: str) -> list[str]:
    digest, total = hashlib.sha256(), 0
    try:
        with zf.open(name) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                total += len(chunk)
    except KeyError:
        return [f"{name}: listed but missing from the zip"]
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:  # a bad CRC, or broken deflate data
        return [f"{name}: damaged in the zip ({exc})"]
    problems = []
    if total != size:
        problems.append(f"{name}: {total} bytes, the manifest says {size}")
    if digest.hexdigest() != sha256:
        problems.append(f"{name}: SHA-256 does not match the manifest")
    return problems
