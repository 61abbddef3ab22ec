"""`tsdtool profiles`: every kind of profile (device, app, desk) listed, shown and checked.

Each kind is registered as "module:attribute" names and imported on use, so listing
desk profiles never imports the device matcher and a broken kind cannot break the others.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tsdtool import errors, profile_files
from tsdtool.profile_files import Problem

# kind -> (module with `validate` and optionally `check`, shipped folder)
KINDS: dict[str, tuple[str, str]] = {
    "device": ("tsdtool.devices.profiles", "device_profiles"),
    "app": ("tsdtool.apps.profiles", "app_profiles"),
    "desk": ("tsdtool.bundle.desks", "desk_profiles"),
}


@dataclass(frozen=True)
class Entry:
    kind: str
    id: str
    name: str
    path: Path
    origin: str  # shipped | user | --profiles-dir


def _loaded(kind: str, extra_dirs: Sequence[Path]) -> profile_files.Loaded:
    module, folder = KINDS[kind]
    validate = importlib.import_module(module).validate
    return profile_files.load(kind, profile_files.builtin_dir(folder), extra_dirs, validate)


def entries(extra_dirs: Sequence[Path] = ()) -> tuple[list[Entry], list[str]]:
    """Every loadable profile of every kind, and the warnings about skipped files."""
    found, warnings = [], []
    for kind, (_, folder) in KINDS.items():
        loaded = _loaded(kind, extra_dirs)
        warnings += loaded.warnings
        shipped = profile_files.builtin_dir(folder).resolve()
        for pid, (data, path) in sorted(loaded.profiles.items()):
            origin = "shipped" if path.resolve().parent == shipped else (
                "user" if path.parent == profile_files.user_dir(kind) else "--profiles-dir")
            found.append(Entry(kind, pid, str(data.get("name", pid)), path, origin))
    return found, warnings


def show_one(profile_id: str, kind: str | None = None, extra_dirs: Sequence[Path] = ()) -> tuple[Entry, str]:
    """The profile with this id (and kind, when a desk and a device profile share the id) and its
    file's text, unchanged: ``profiles show ID > copy.toml`` must give a file that loads."""
    if kind is not None and kind not in KINDS:
        raise errors.UsageError(f"no profile kind {kind!r}", fix=f"use one of {', '.join(KINDS)}")
    hits = [e for e in entries(extra_dirs)[0] if e.id == profile_id and kind in (None, e.kind)]
    if not hits:
        raise errors.UsageError(f"no {kind + ' ' if kind else ''}profile with id {profile_id!r}",
                                fix="see `tsdtool profiles list`")
    if len(hits) > 1:
        kinds = ", ".join(e.kind for e in hits)
        raise errors.UsageError(f"{len(hits)} profiles have the id {profile_id!r} ({kinds})",
                                fix=f"choose one with --kind, e.g. --kind {hits[0].kind}")
    return hits[0], hits[0].path.read_text(encoding="utf-8")


def check(paths: Sequence[Path] = (), extra_dirs: Sequence[Path] = ()) -> list[Problem]:
    """Every problem in the files or folders given (default: shipped, user and --profiles-dir)."""
    if not paths:
        paths = [profile_files.builtin_dir(folder) for _, folder in KINDS.values()]
        paths += [profile_files.user_dir(kind) for kind in KINDS] + list(extra_dirs)
    by_kind: dict[str, list[Path]] = {kind: [] for kind in KINDS}
    problems: list[Problem] = []
    for path in paths:
        if not path.exists():
            if path.is_relative_to(profile_files.user_dir("x").parent):
                continue  # the user's drop-in folders need not exist
            problems.append(Problem(str(path), "", "no such file or folder"))
            continue
        files = profile_files.toml_files([path])
        if not files and path.is_dir() and not path.is_relative_to(profile_files.user_dir("x").parent):
            problems.append(Problem(str(path), "", "no profile files (*.toml) in this folder"))
        for file in files:
            kind = _kind_of(file, problems)
            if kind:
                by_kind[kind].append(file)
    for kind, files in by_kind.items():
        if files:
            problems += _check_kind(kind, files)
    return problems


def _kind_of(file: Path, problems: list[Problem]) -> str | None:
    try:
        kind = tomllib.loads(file.read_bytes().decode("utf-8")).get("kind")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(Problem(str(file), "", f"cannot read: {exc}"))
        return None
    if kind not in KINDS:
        problems.append(Problem(str(file), "kind", f"must be one of {', '.join(KINDS)} (got {kind!r})"))
        return None
    return kind


def _check_kind(kind: str, files: list[Path]) -> list[Problem]:
    module = importlib.import_module(KINDS[kind][0])
    if hasattr(module, "check"):
        return module.check(files)
    return profile_files.load(kind, None, files, module.validate, include_user_dir=False).problems
