"""Read a finished bundle back, and prove it: every stored item's size and SHA-256, and the schema.

:func:`open_bundle` is what ``report`` and ``send`` use to read a bundle; :func:`verify`
is ``tsdtool verify``: it lists every problem instead of stopping at the first.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from tsdtool import budgets, errors
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
        foreign file) and a zip with duplicate entry names instead of failing somewhere inside
        a reader; ``verify`` lists them."""
        self.path = Path(path)
        try:
            self.zip = zipfile.ZipFile(self.path)
        except FileNotFoundError as exc:
            raise errors.UsageError(f"{path}: no such file") from exc
        except (OSError, zipfile.BadZipFile, ValueError, zlib.error) as exc:
            raise errors.UsageError(f"{path}: not a readable zip ({exc})") from exc
        self.duplicates = sorted(n for n, count in Counter(self.zip.namelist()).items() if count > 1)
        if strict and self.duplicates:
            self.zip.close()
            raise errors.UsageError(f"{path}: {len(self.duplicates)} names are in the zip twice, e.g. "
                                    f"{self.duplicates[0]!r} (unzip would extract unchecked copies)",
                                    fix="ask for the bundle again; `tsdtool verify` lists every problem")
        raw = self._member(MANIFEST_NAME, MANIFEST_LIMIT)
        if raw is None:
            self.zip.close()
            raise errors.UsageError(f"{path}: no {MANIFEST_NAME} in it (or one over {MANIFEST_LIMIT >> 20} MiB)"
                                    " — not a tsdtool bundle, or unfinished")
        try:
            self.data: dict[str, Any] = json.loads(raw)
            # A lone surrogate ("\udc80" in the JSON) is valid JSON, but no text can be written with it.
            json.dumps(self.data, ensure_ascii=False).encode("utf-8")
            wrong = schema_problems(self.data, types_only=True) if strict else []
            if wrong:
                raise ValueError(wrong[0] + (f", and {len(wrong) - 1} more" if len(wrong) > 1 else ""))
            self.manifest = Manifest.from_dict(self.data)
        except (ValueError, TypeError, AttributeError, RecursionError, zipfile.BadZipFile, OSError) as exc:
            self.zip.close()
            what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:300]
            raise errors.UsageError(f"{path}: {MANIFEST_NAME} is not a tsdtool manifest ({what})",
                                    fix="`tsdtool verify` lists every problem") from exc
        self.sizes = {i.path: i.size for i in self.manifest.items if i.stored}

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def _member(self, name: str, limit: int) -> bytes | None:
        """A member of at most ``limit`` bytes (by the central directory), else None."""
        try:
            if self.zip.getinfo(name).file_size > limit:
                return None
            return read_member(self.zip, name)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, zlib.error):
            return None

    def read(self, path: str, limit: int | None = None, *, tail: int | None = None) -> bytes | None:
        """An item's bytes (the first ``limit`` or the last ``tail`` of them), or None when not
        stored. A member whose size in the zip's central directory is not the manifest's, or
        is over the item budget without a ``limit``/``tail``, is refused (UsageError, one
        line): a reader never trusts either number alone and never unpacks more than it checked."""
        try:
            info = self.zip.getinfo(path)
        except KeyError:
            return None
        declared = self.sizes.get(path)
        if declared is not None and info.file_size != declared:
            raise errors.UsageError(f"{self.path}: {path} holds {info.file_size} bytes but the manifest says "
                                    f"{declared}: refusing to unpack it", fix="`tsdtool verify` lists every problem")
        limit_item = budgets.current().item
        if limit is None and tail is None and info.file_size > limit_item:
            raise errors.UsageError(f"{self.path}: {path} is {budgets.human(info.file_size)}, over its budget of "
                                    f"{budgets.human(limit_item)}: refusing to unpack it",
                                    fix=f"if it is genuine, raise {budgets.ENV['item']}")
        try:
            return read_member(self.zip, path, limit=limit, tail=tail)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):
            return None


MANIFEST_LIMIT = 64 << 20  # a manifest of 10^5 items is ~30 MB


def read_member(zf: zipfile.ZipFile, name: str, *, limit: int | None = None, tail: int | None = None) -> bytes:
    """One zip member, streamed: with ``limit`` only its first bytes, with ``tail`` only its
    last ones (constant memory). Check its size before calling (:meth:`Bundle.read`)."""
    from collections import deque

    with zf.open(name) as fh:
        if tail is None:
            return fh.read(limit) if limit else fh.read()
        kept: deque[bytes] = deque()
        size = 0
        while chunk := fh.read(1 << 20):
            kept.append(chunk)
            size += len(chunk)
            while kept and size - len(kept[0]) >= tail:  # tail=0 empties it: nothing to give
                size -= len(kept.popleft())
        return b"".join(kept)[-tail:] if tail else b""


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
    try:
        opened = open_bundle(path, strict=False)
    except errors.UsageError as exc:
        # A file that is there but is no longer a zip (cut short in a copy, a damaged sector) is
        # what verify exists to find: a problem (exit 1), not a usage error.
        if Path(path).is_file() and isinstance(exc.__cause__, (zipfile.BadZipFile, EOFError, zlib.error)):
            result.problems.append(f"not a readable zip, damaged or cut short ({exc.__cause__})")
            return result
        raise
    with opened as bundle:
        result.status = bundle.manifest.status
        if bundle.data.get("schema_version") != SCHEMA_VERSION:
            result.problems.append(
                f"schema_version {bundle.data.get('schema_version')!r} is not {SCHEMA_VERSION}"
            )
        result.problems += [f"schema: {p}" for p in schema_problems(bundle.data)]
        result.problems += [f"{name}: in the zip more than once" for name in bundle.duplicates]
        listed = set()
        for item in bundle.manifest.items:
            if item.sha256 is None:
                continue
            if item.path in listed:  # each member is read once, however often it is listed
                result.problems.append(f"{item.path}: listed more than once in the manifest")
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
        info = zf.getinfo(name)
        limit = budgets.current().item
        if info.file_size > limit:  # a bomb (or a genuine giant): not unpacked, hours of hashing
            skipped = [f"{name}: not hashed: {budgets.human(info.file_size)} is over the item budget of "
                       f"{budgets.human(limit)} ({budgets.ENV['item']})"]
            wrong = [f"{name}: {info.file_size} bytes, the manifest says {size}"] if info.file_size != size else []
            return wrong + skipped
        with zf.open(info) as fh:
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
