"""TOML profile files, shared by every profile kind (``device``, ``app``, ``desk``).

Where profiles come from, later overriding earlier by ``id``:

1. the built-in folder shipped with tsdtool (for devices: ``device_profiles/`` at the top of
   the repository, ``tsdtool/device_profiles`` inside an installed wheel);
2. the user's drop-in folder, ``user_config_dir("tsdtool")/<kind>_profiles/``;
3. every ``--profiles-dir DIR`` given, in order.

Each ``*.toml`` file holds one profile: ``id`` (defaults to the file name without
``.toml``), ``kind`` (must name the kind being loaded) and whatever the kind's validator
accepts. Every mistake becomes a :class:`Problem` printed ``file:key: problem``. A file with
problems is skipped with one warning and the others still load: a broken user profile
never stops a collection, and `tsdtool profiles check` lists every problem.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
KINDS = ("device", "app", "desk")
MAX_FILE = 1 << 20  # a profile, form or config file: the largest shipped profile is 6 KB


def read_toml(path: Path) -> dict[str, Any]:
    """A small TOML file of the user's: over :data:`MAX_FILE` (a log dropped in by mistake,
    ``/dev/zero``) it is an OSError, never read whole (tomllib held ~80 bytes per byte of it)."""
    import errno

    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise OSError(errno.EFBIG, f"over {MAX_FILE >> 20} MiB, not a profile or form")
    return tomllib.loads(data.decode("utf-8"))


@dataclass(frozen=True)
class Problem:
    """One mistake in one profile file. ``key`` is a TOML path such as ``fact[2].props``."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.key}: {self.message}" if self.key else f"{self.file}: {self.message}"


# A kind's checks on one parsed file; returns [] when the file is fine.
Validator = Callable[[dict[str, Any], Path], list[Problem]]


@dataclass(frozen=True)
class Loaded:
    """Profiles by id, each with the file it came from, plus what went wrong."""

    profiles: dict[str, tuple[dict[str, Any], Path]]
    problems: list[Problem] = field(default_factory=list)  # every problem, for `profiles check`
    warnings: list[str] = field(default_factory=list)  # one line per skipped file


def builtin_dir(folder: str) -> Path:
    """The shipped profile folder: in the source tree, else inside the installed package."""
    in_tree = Path(__file__).resolve().parent.parent / folder
    if in_tree.is_dir():
        return in_tree
    from importlib import resources  # only here: with tempfile and random ~15 ms, before collect's first request

    return Path(str(resources.files("tsdtool") / folder))


def user_dir(kind: str) -> Path:
    """The user's drop-in folder for one kind (it need not exist)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("tsdtool")) / f"{kind}_profiles"


def toml_files(paths: Sequence[Path]) -> list[Path]:
    """``*.toml`` files of each folder (sorted by name) and each file given; missing paths give none."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.glob("*.toml") if p.is_file())
        elif path.is_file():
            files.append(path)
    return files


def read(
    path: Path, kind: str, validate: Validator | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """One file: its data with ``id`` filled in, or None and the problems that rule it out."""
    name = str(path)
    try:
        data = read_toml(path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return None, [Problem(name, "", f"cannot read: {getattr(error, 'strerror', None) or error}")]
    if data.get("kind") in KINDS and data.get("kind") != kind:
        return None, []  # another kind's file in a shared --profiles-dir: not ours, not a problem
    problems = []
    named_by_file = "id" not in data
    data.setdefault("id", path.stem)
    if not isinstance(data["id"], str) or not _ID.match(data["id"]):
        where = ' (taken from the file name; set id = "...")' if named_by_file else ""
        problems.append(Problem(name, "id", f"must be lower-case letters, digits, '-' or '_'{where}"))
    if data.get("kind") != kind:
        problems.append(Problem(name, "kind", f'must be "{kind}" (got {data.get("kind")!r})'))
    if validate and not problems:
        problems += validate(data, path)
    return (None if problems else data), problems


def folders(kind: str, builtin: Path | None, extra_dirs: Sequence[Path] = (), *,
            include_user_dir: bool = True) -> list[Path]:
    """The folders (or files) :func:`load` reads, lowest priority first."""
    return [p for p in (builtin, user_dir(kind) if include_user_dir else None) if p] + list(extra_dirs)


def fingerprint(paths: Sequence[Path]) -> tuple:
    """What the profile files under ``paths`` (folders or files, in priority order) are now:
    each file's path, size and modification time. The same fingerprint, the same profiles."""
    found: list[tuple[str, int | None, int | None] | None] = []
    for folder in paths:
        for path in toml_files([folder]):
            try:
                st = path.stat()
            except OSError:  # load() reports it
                found.append((str(path), None, None))
                continue
            found.append((str(path), st.st_size, st.st_mtime_ns))
        found.append(None)  # a folder ends: a file moved to another changes its priority
    return tuple(found)


def load(
    kind: str,
    builtin: Path | None,
    extra_dirs: Sequence[Path] = (),
    validate: Validator | None = None,
    *,
    include_user_dir: bool = True,
) -> Loaded:
    """Every profile of one kind, later folders overriding earlier ones by id.

    Args:
        kind: "device", "app", "desk", … — files whose ``kind`` differs are problems.
        builtin: the shipped folder (None: no shipped profiles of this kind).
        extra_dirs: ``--profiles-dir`` folders (or single files), highest priority last.
        validate: the kind's own checks, run on files that passed the common ones.
        include_user_dir: also read :func:`user_dir` between the built-in and extra folders.

    Files are parsed once per process while they stay the same (:func:`fingerprint`): a collect
    asks for the app profiles four times, and ``collect --all``'s fork server parses every kind
    before it forks a worker per terminal (:mod:`tsdtool.bundle.forkserver`), each of which parsed
    them again. The caller gets its own containers; the parsed tables are shared, read only.
    """
    paths = folders(kind, builtin, extra_dirs, include_user_dir=include_user_dir)
    key = (kind, validate, fingerprint(paths))
    found = _LOADED.get(key)
    if found is None:  # two threads at once parse twice, neither waits for the other
        found = _read_all(kind, paths, validate)
        if len(_LOADED) >= 16:  # a long-lived process whose profiles keep changing (watch)
            _LOADED.clear()
        _LOADED[key] = found
    return Loaded(dict(found.profiles), list(found.problems), list(found.warnings))


_LOADED: dict[tuple, Loaded] = {}  # (kind, validator, fingerprint of the files) → what they gave


def _read_all(kind: str, paths: Sequence[Path], validate: Validator | None) -> Loaded:
    profiles: dict[str, tuple[dict[str, Any], Path]] = {}
    problems: list[Problem] = []
    warnings: list[str] = []
    for folder in paths:
        seen: dict[str, Path] = {}
        for path in toml_files([folder]):
            data, found = read(path, kind, validate)
            if data is None and not found:
                continue
            if data is not None and data["id"] in seen:
                found = [
                    Problem(str(path), "id", f"{data['id']!r} is also the id of {seen[data['id']].name}")
                ]
                data = None
            if data is None:
                problems += found
                warnings.append(
                    f"{path}: skipped — {found[0].key or 'file'}: {found[0].message}"
                    + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")
                )
                continue
            seen[data["id"]] = path
            profiles[data["id"]] = (data, path)
    return Loaded(profiles, problems, warnings)


# -- checks shared by the kinds' validators -------------------------------------------------------

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def tables(file: str, key: str, value: Any, allowed: frozenset[str] | set[str]) -> tuple[
        list[tuple[str, dict[str, Any]]], list[Problem]]:
    """The tables of a ``[[key]]`` array with their TOML paths (``key[2]``), and the problems:
    not an array, an element that is not a table, an unknown key."""
    if not isinstance(value, list):
        return [], [Problem(file, key, f"must be an array of tables: [[{key.rsplit('.', 1)[-1]}]]")]
    found, problems = [], []
    for i, table in enumerate(value):
        at = f"{key}[{i}]"
        if not isinstance(table, dict):
            problems.append(Problem(file, at, "must be a table"))
            continue
        problems += [Problem(file, f"{at}.{k}", "unknown key") for k in table if k not in allowed]
        found.append((at, table))
    return found, problems


def name_and_label(file: str, at: str, table: dict[str, Any], seen: set[str], what: str) -> list[Problem]:
    """A unique snake_case ``name`` and a non-empty ``label`` (shown to people)."""
    problems = []
    name = table.get("name")
    if not isinstance(name, str) or not SNAKE.match(name):
        problems.append(Problem(file, f"{at}.name", f"{name!r} is not a snake_case name"))
    elif name in seen:
        problems.append(Problem(file, f"{at}.name", f"duplicate {what} name {name!r}"))
    else:
        seen.add(name)
    if not isinstance(table.get("label"), str) or not table["label"].strip():
        problems.append(Problem(file, f"{at}.label", "missing: the label shown to people"))
    return problems


def header(file: str, data: dict[str, Any], top_keys: frozenset[str] | set[str], what: str) -> list[Problem]:
    """The checks every kind's file shares: unknown top-level keys, a ``name`` shown to people,
    ``fallback`` a boolean."""
    problems = [Problem(file, key, "unknown key") for key in data if key not in top_keys]
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        problems.append(Problem(file, "name", f"missing: the {what} name shown to people"))
    if not isinstance(data.get("fallback", False), bool):
        problems.append(Problem(file, "fallback", "must be true or false"))
    return problems


def one_fallback(loaded: Loaded) -> list[Problem]:
    """At most one profile of a kind may be the fallback (``fallback = true``)."""
    names = [path.name for data, path in loaded.profiles.values() if data.get("fallback") is True]
    if len(names) > 1:
        return [Problem(", ".join(sorted(names)), "fallback", "only one profile may be the fallback")]
    return []
