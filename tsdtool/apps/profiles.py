"""App profiles: where an app keeps its databases and logs, matched by package glob.

A profile is one TOML file in ``app_profiles/`` (or a user drop-in folder, see
:mod:`tsdtool.profile_files`)::

    id = "cleverence"
    kind = "app"
    name = "Cleverence Mobile SMARTS"
    packages = ["com.cleverence.*"]     # fnmatch globs on the package name (case-sensitive)
    # internal = ["databases", "files"]  # folders of /data/data/<package> (run-as / su)
    # external = ["."]                   # folders of /sdcard/Android/data/<package>/
    # shared = ["/sdcard/Documents/X"]   # absolute folders; "{package}" is replaced
    # logs = ["*.log", "logs/*"]         # which files in those folders are logs

    [[fact]]                             # a fact read from the terminal (project, version…)
    name = "project"                     # snake_case; the desk field it may prefill
    label = "Project"
    file = "/sdcard/App/crash.log"       # a small device file ("{package}" is replaced) …
    # version_name = true                # … or the app's versionName instead of a file
    regex = '(?m)^project=(.+)$'         # group 1 is the value; first match wins

    [pc]                                 # where the product keeps things on the PC (Windows),
    server_ini = ["Program Files*/X/x.ini"]  # globs relative to the PC root ("C:\\" or --pc-root)

The ``fallback = true`` profile (``generic``) has no ``packages`` and matches any app; the
folder lists and log globs it declares are the auto-discovery every other profile inherits
for the keys it leaves out. A log glob without ``/`` matches a file name at any depth; one
with ``/`` matches the path below the folder searched (``*`` also crosses ``/``).

Matching. The most specific glob wins: a glob's specificity is its number of literal
characters (``com.cleverence.*`` → 15). Two profiles sharing the best specificity are a
tie: :func:`match` then answers the fallback and names them, and :func:`check` reports
profiles with identical globs, the certain source of ties.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsdtool import profile_files
from tsdtool.profile_files import Problem

KIND = "app"
_TOP_KEYS = {"id", "kind", "name", "fallback", "packages", "internal", "external", "shared", "logs", "fact", "pc"}
_FACT_KEYS = {"name", "label", "file", "version_name", "regex"}
MAX_FACT_BYTES = 64 * 1024  # a fact file is read up to this size (crash logs are a few KiB)
_GLOB = re.compile(r"^[A-Za-z0-9_.*?\[\]!-]+$")
_WILDCARDS = re.compile(r"\[[^\]]*\]|[*?]")
_PLACEHOLDER = "{package}"
# Used when no fallback profile loads at all (a broken or deleted generic.toml).
_BARE = {"internal": ("databases", "files", "shared_prefs"), "external": (".",), "shared": (),
         "logs": ("*.log",)}


@dataclass(frozen=True)
class AppFact:
    """One ``[[fact]]``: where a value is read on the terminal and the regex that finds it."""

    name: str
    label: str
    regex: str
    file: str = ""  # device path, "{package}" not yet replaced; "" when version_name
    version_name: bool = False

    def path(self, package: str) -> str:
        return self.file.replace(_PLACEHOLDER, package)

    def find(self, text: str) -> str:
        """The first match's group 1, stripped ('' when none). ``re`` on a bounded text."""
        m = re.search(self.regex, text[:MAX_FACT_BYTES])
        return (m.group(1) or "").strip() if m else ""


@dataclass(frozen=True)
class AppProfile:
    id: str
    name: str
    path: Path
    packages: tuple[str, ...] = ()
    internal: tuple[str, ...] = ()  # relative to /data/data/<package>
    external: tuple[str, ...] = ()  # relative to /sdcard/Android/data/<package>/
    shared: tuple[str, ...] = ()  # absolute, "{package}" not yet replaced
    logs: tuple[str, ...] = ()
    fallback: bool = False
    facts: tuple[AppFact, ...] = ()
    pc: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name → globs below the PC root

    def shared_dirs(self, package: str) -> tuple[str, ...]:
        return tuple(d.replace(_PLACEHOLDER, package) for d in self.shared)

    def is_log(self, relpath: str) -> bool:
        """Whether a file (path below the folder searched) is a log by this profile's globs."""
        name = relpath.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(relpath if "/" in g else name, g) for g in self.logs)


@dataclass(frozen=True)
class AppProfileSet:
    profiles: dict[str, AppProfile]
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def fallback(self) -> AppProfile:
        for profile in self.profiles.values():
            if profile.fallback:
                return profile
        return AppProfile("generic", "Any app (auto-discovery)", Path("<built-in>"), fallback=True, **_BARE)


@dataclass(frozen=True)
class AppMatch:
    profile: AppProfile
    glob: str  # the glob that won, "" for the fallback
    ties: tuple[str, ...] = ()  # ids of tied profiles; non-empty means the fallback was used

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.profile.id, "name": self.profile.name, "glob": self.glob, "ties": list(self.ties)}


# ------------------------------------------------------------------------ loading


def load_app_profiles(extra_dirs: Sequence[Path] = (), *, include_user_dir: bool = True) -> AppProfileSet:
    """Shipped profiles, then the user's drop-in folder, then ``extra_dirs`` (later wins by id)."""
    builtin = profile_files.builtin_dir("app_profiles")
    loaded = profile_files.load(KIND, builtin, extra_dirs, validate, include_user_dir=include_user_dir)
    fallback_data = next((d for d, _ in loaded.profiles.values() if d.get("fallback")), {})
    defaults = {key: tuple(fallback_data.get(key, bare)) for key, bare in _BARE.items()}
    profiles = {pid: _build(data, path, defaults) for pid, (data, path) in loaded.profiles.items()}
    return AppProfileSet(profiles, loaded.problems, loaded.warnings)


def check(paths: Sequence[Path]) -> list[Problem]:
    """Every problem in the app profile files (or folders) given, including certain ties."""
    loaded = profile_files.load(KIND, None, paths, validate, include_user_dir=False)
    problems = list(loaded.problems)
    owner: dict[str, str] = {}
    for pid, (data, path) in sorted(loaded.profiles.items()):
        for i, glob in enumerate(data.get("packages", [])):
            if glob in owner and owner[glob] != pid:
                problems.append(Problem(str(path), f"packages[{i}]",
                                        f"{glob!r} is also a glob of profile {owner[glob]!r}: always a tie"))
            owner.setdefault(glob, pid)
    return problems + profile_files.one_fallback(loaded)


def validate(data: dict[str, Any], path: Path) -> list[Problem]:
    """Schema checks for one app profile file (see the module docstring)."""
    file = str(path)
    problems = profile_files.header(file, data, _TOP_KEYS, "app")
    fallback = data.get("fallback", False)
    packages = data.get("packages")
    if fallback is True:
        if packages is not None:
            problems.append(Problem(file, "packages", "the fallback profile matches every app: no globs"))
    elif not isinstance(packages, list) or not packages:
        problems.append(Problem(file, "packages", 'missing: package globs such as ["com.example.*"]'))
    else:
        for i, glob in enumerate(packages):
            if not isinstance(glob, str) or not _GLOB.match(glob):
                problems.append(Problem(file, f"packages[{i}]", f"{glob!r} is not a package glob"))
    for key in ("internal", "external"):
        problems += _check_list(file, key, data.get(key, []), _relative_problem)
    problems += _check_list(file, "shared", data.get("shared", []), _absolute_problem)
    problems += _check_list(file, "logs", data.get("logs", []), _glob_problem)
    problems += _check_facts(file, data.get("fact", []))
    problems += _check_pc(file, data.get("pc", {}))
    return problems


def _check_facts(file: str, tables: Any) -> list[Problem]:
    found, problems = profile_files.tables(file, "fact", tables, _FACT_KEYS)
    for key, table in found:
        # one name may have several sources, tried in order: no uniqueness check
        problems += profile_files.name_and_label(file, key, table, set(), "fact")
        path, by_version = table.get("file"), table.get("version_name", False)
        if by_version is not True and by_version is not False:
            problems.append(Problem(file, f"{key}.version_name", "must be true or false"))
        elif by_version == (path is not None):
            problems.append(Problem(file, key, "give exactly one of file = \"/device/path\" or version_name = true"))
        elif path is not None:
            why = _absolute_problem(path) if isinstance(path, str) else "must be a string"
            if why:
                problems.append(Problem(file, f"{key}.file", why))
        regex = table.get("regex")
        try:
            if not isinstance(regex, str) or re.compile(regex).groups < 1:
                problems.append(Problem(file, f"{key}.regex", "must be a regex with one group (the value)"))
        except re.error as exc:
            problems.append(Problem(file, f"{key}.regex", f"not a regex: {exc}"))
    return problems


def _check_pc(file: str, table: Any) -> list[Problem]:
    if not isinstance(table, dict):
        return [Problem(file, "pc", "must be a table of name = [globs]")]
    problems: list[Problem] = []
    for name, globs in table.items():
        problems += _check_list(file, f"pc.{name}", globs, _pc_problem)
    return problems


def _pc_problem(text: str) -> str | None:
    if text.startswith(("/", "\\")) or (len(text) > 1 and text[1] == ":"):
        return f"{text!r} must be relative to the PC root (no drive letter)"
    return _common_problem(text.replace("\\", "/"))


def _check_list(file: str, key: str, value: Any, problem_of) -> list[Problem]:
    if not isinstance(value, list):
        return [Problem(file, key, "must be a list of strings")]
    found = []
    for i, item in enumerate(value):
        why = problem_of(item) if isinstance(item, str) else "must be a string"
        if why:
            found.append(Problem(file, f"{key}[{i}]", why))
    return found


def _common_problem(text: str) -> str | None:
    if not text.strip():
        return "must not be empty"
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return "control characters are not allowed"
    if ".." in text.split("/"):
        return "'..' is not allowed"
    return None


def _relative_problem(text: str) -> str | None:
    if text.startswith(("/", "-", "~")):
        return f"{text!r} must be a folder relative to the app's folder"
    return _common_problem(text)


def _absolute_problem(text: str) -> str | None:
    if not text.startswith("/"):
        return f"{text!r} must be an absolute device folder"
    if "{" in text.replace(_PLACEHOLDER, "") or "}" in text.replace(_PLACEHOLDER, ""):
        return "the only placeholder is {package}"
    return _common_problem(text)


def _glob_problem(text: str) -> str | None:
    if text.startswith("/"):
        return f"{text!r} must be relative to the folder searched"
    return _common_problem(text)


def _build(data: dict[str, Any], path: Path, defaults: dict[str, tuple[str, ...]]) -> AppProfile:
    """A validated file as a profile; folder lists and globs it omits come from the fallback."""
    inherited = {key: tuple(data[key]) if key in data else defaults[key] for key in defaults}
    facts = tuple(AppFact(t["name"], t["label"], t["regex"], t.get("file", ""), t.get("version_name", False))
                  for t in data.get("fact", []))
    pc = {name: tuple(globs) for name, globs in data.get("pc", {}).items()}
    return AppProfile(
        id=data["id"], name=data["name"], path=path, packages=tuple(data.get("packages", ())),
        fallback=data.get("fallback", False), facts=facts, pc=pc, **inherited,
    )


# ----------------------------------------------------------------------- matching


def specificity(glob: str) -> int:
    """Literal characters in a glob: ``com.cleverence.*`` → 15, ``*`` → 0."""
    return len(_WILDCARDS.sub("", glob))


def match(profile_set: AppProfileSet, package: str) -> AppMatch:
    """The profile whose most specific glob matches ``package``, else the fallback."""
    scored: list[tuple[int, AppProfile, str]] = []
    for profile in profile_set.profiles.values():
        if profile.fallback:
            continue
        hits = [g for g in profile.packages if fnmatch.fnmatchcase(package, g)]
        if hits:
            best = max(hits, key=specificity)
            scored.append((specificity(best), profile, best))
    fallback = profile_set.fallback
    if not scored:
        return AppMatch(fallback, "")
    top = max(score for score, _, _ in scored)
    winners = sorted(((p, g) for s, p, g in scored if s == top), key=lambda pg: pg[0].id)
    if len(winners) > 1:
        return AppMatch(fallback, "", tuple(p.id for p, _ in winners))
    return AppMatch(winners[0][0], winners[0][1])


def for_package(package: str, extra_dirs: Sequence[Path] = ()) -> AppMatch:
    """Load the profiles and match one package (the common case for collectors)."""
    return match(load_app_profiles(extra_dirs), package)
