"""Device profiles: which vendor a terminal is, and which vendor facts to read from it.

A profile is one TOML file in ``device_profiles/`` (or a user drop-in folder, see
:mod:`tsdtool.profile_files`)::

    id = "zebra"
    kind = "device"
    name = "Zebra Technologies"
    usb_vendor_ids = ["05e0"]

    [[match]]                       # one rule: the first property present is tested
    props = ["ro.product.manufacturer", "ro.product.vendor.manufacturer"]
    regex = "^Zebra"                # re.search; write (?i) for case-insensitive

    [[fact]]
    name = "osx_version"            # snake_case, unique in the file
    label = "Zebra OSX version"
    props = ["ro.symbol.osx.version"]        # ordered fallbacks …
    # shell = ["cat", "/proc/version"]       # … or a command (a list: the seam quotes it)
    # regex = "Linux version (\\S+)"         # optional: the named group `value`, else group 1

Matching is evidence, declared per profile (:func:`match`). Each ``[[match]]`` rule has a
``strength``: ``strong`` for what only the vendor's own build reports (manufacturer or brand
values, vendor-only property keys), ``weak`` for model and device families, which other
companies' devices can share. A rule is satisfied when the first of its ``props`` that the
terminal reports (non-empty) matches its regex (``re.search``; write ``(?i)`` to ignore case).
Without ``strength`` a rule on model/device/name keys only is weak, any other strong. Two more
kinds of strong evidence: ``usb_vendor_ids = ["05e0"]`` and ``packages = ["com.symbol.datawedge"]``
(vendor system packages, looked up in the package list the caller already fetched).

Weak evidence never stands against a manufacturer or brand that names another company: one
whose manufacturer/brand rules match another profile, or one of the fallback profile's
``consumer_manufacturers`` (phone, tablet and TV-box makers). The profile with the most strong
evidence wins, then the one with the most weak; ``confidence`` says which kind decided. The
profile marked ``fallback = true`` (``generic``) has no rules and wins when nothing else is
left. Two profiles with the same evidence counts are a tie: :func:`match` then answers the
fallback and names the tied profiles, and :func:`check` reports profiles whose rules are
identical, the certain source of ties, and weak rules that match a common consumer model name
(``device_profiles/consumer_models.txt``, each name cited there).

``emm_agents = [{ package = "…", name = "…" }]`` names device-management agents by package;
the fallback's list is inherited by every profile (:mod:`tsdtool.devices.managed`).

``[[logger]]`` declares a vendor's on-device logger (schema in :mod:`tsdtool.devices.loggers`).

Standard facts (model, Android release, build id, …) are the ``[[standard]]`` entries of the
fallback profile; every profile inherits them (:func:`read_standard`), and its own
``[[fact]]`` entries add the vendor's (:func:`read_facts`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tsdtool import profile_files
from tsdtool.devices import loggers as logger_decl
from tsdtool.errors import TsdError
from tsdtool.profile_files import Problem
from tsdtool.transport.types import ShellResult

KIND = "device"
_USB_ID = re.compile(r"^[0-9a-fA-F]{4}\Z")
_TOP_KEYS = {"id", "kind", "name", "fallback", "match", "usb_vendor_ids", "packages", "fact", "standard",
             "emm_agents", "logger", "consumer_manufacturers"}
_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+\Z")
_RULE_KEYS = {"props", "regex", "strength"}
_STRENGTHS = ("strong", "weak")
# Keys whose values name a product, not its maker: a rule on these alone is weak by default.
_PRODUCT_KEY = re.compile(r"^ro\.product\.(?:[a-z_]+\.)?(?:model|device|name)$")
# Keys whose values name the company: rules on them are the profile's identity claims.
_IDENTITY_KEY = re.compile(r"^ro\.product\.(?:[a-z_]+\.)?(?P<field>manufacturer|brand)$")
CONSUMER_MODELS = "consumer_models.txt"
_FACT_KEYS = {"name", "label", "props", "shell", "regex"}

RunShell = Callable[[Sequence[str]], ShellResult]
FactStatus = Literal["ok", "missing", "failed"]
Strength = Literal["strong", "weak"]


@dataclass(frozen=True)
class Rule:
    """One match rule: the first reported property of ``props`` must match ``regex``."""

    props: tuple[str, ...]
    regex: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)
    strength: Strength = "strong"

    def reported(self, props: Mapping[str, str]) -> tuple[str, str] | None:
        """The first of ``props`` the terminal reports (non-empty), with its value."""
        for key in self.props:
            if props.get(key, ""):
                return key, props[key]
        return None

    def explain(self, props: Mapping[str, str]) -> str | None:
        """``"ro.product.manufacturer ~ /^Zebra/"`` when satisfied, else None."""
        found = self.reported(props)
        if found and self.pattern.search(found[1]):
            return f"{found[0]} ~ /{self.regex}/"
        return None

    @property
    def identity(self) -> str | None:
        """``"manufacturer"`` or ``"brand"`` when every key names the company, else None."""
        fields = {m["field"] if (m := _IDENTITY_KEY.match(k)) else None for k in self.props}
        return fields.pop() if len(fields) == 1 else None


@dataclass(frozen=True)
class Fact:
    """What to read and how: ordered property fallbacks, or one shell command."""

    name: str
    label: str
    props: tuple[str, ...] = ()
    shell: tuple[str, ...] = ()
    regex: str | None = None


@dataclass(frozen=True)
class EmmAgent:
    """An EMM/MDM agent app: ``emm_agents = [{ package = "…", name = "…" }]`` in a profile."""

    package: str
    name: str


@dataclass(frozen=True)
class DeviceProfile:
    """One vendor's profile file, validated and built."""

    id: str
    name: str  # vendor name as shown to people
    path: Path
    rules: tuple[Rule, ...] = ()
    usb_vendor_ids: tuple[str, ...] = ()  # lower-case hex, e.g. "05e0"
    facts: tuple[Fact, ...] = ()
    standard: tuple[Fact, ...] = ()  # only on the fallback profile
    fallback: bool = False
    emm_agents: tuple[EmmAgent, ...] = ()  # device-management agents known by package name
    loggers: tuple[logger_decl.Logger, ...] = ()  # on-device loggers ([[logger]], see devices/loggers.py)
    packages: tuple[str, ...] = ()  # vendor system packages: strong evidence
    consumer_manufacturers: frozenset[str] = frozenset()  # casefolded; only on the fallback profile


@dataclass(frozen=True)
class ProfileSet:
    """Every loaded profile by id, with the problems and warnings of loading them."""

    profiles: dict[str, DeviceProfile]
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def fallback(self) -> DeviceProfile:
        """The profile that matches any terminal (``generic``); a bare one if none loaded."""
        for profile in self.profiles.values():
            if profile.fallback:
                return profile
        return DeviceProfile("generic", "Android device", Path("<built-in>"), fallback=True)

    @property
    def standard(self) -> tuple[Fact, ...]:
        """The standard facts every profile inherits."""
        return self.fallback.standard


@dataclass(frozen=True)
class Evidence:
    """One thing that points at a vendor: ``ro.product.manufacturer = "UBX"`` matched ``/…/``."""

    strength: Strength
    source: str  # a property key, "package" or "usb vendor id"
    value: str
    rule: str = ""  # the regex it matched, for rules

    def to_dict(self) -> dict[str, str]:
        return {"strength": self.strength, "source": self.source, "value": self.value, "rule": self.rule}


@dataclass(frozen=True)
class Match:
    """The profile a terminal's evidence points at, and why."""

    profile: DeviceProfile
    rule: str  # why, for people: "ro.product.manufacturer ~ /^Zebra/ and usb vendor id 05e0"
    score: int
    ties: tuple[str, ...] = ()  # ids of tied profiles; non-empty means the fallback was used
    confidence: Strength | None = None  # None for the fallback
    evidence: tuple[Evidence, ...] = ()  # the winner's, strong first
    rejected: tuple[str, ...] = ()  # weak evidence set aside, and why ("chainway: manufacturer 'CUBOT' …")

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile.id, "confidence": self.confidence,
                "evidence": [e.to_dict() for e in self.evidence], "rejected": list(self.rejected),
                "ties": list(self.ties)}


@dataclass(frozen=True)
class FactValue:
    """One fact as read: its value (None when missing or failed), where from, and how it went."""

    value: str | None
    source: str  # the property read, or "shell: cat /proc/version"
    status: FactStatus
    detail: str = ""  # why a fact failed


# ------------------------------------------------------------------------ loading


def load_device_profiles(extra_dirs: Sequence[Path] = (), *, include_user_dir: bool = True) -> ProfileSet:
    """Shipped profiles, then the user's drop-in folder, then ``extra_dirs`` (later wins by id).

    Parsed once per process while the files stay the same (:func:`profile_files.fingerprint`):
    ``collect --all``'s fork server parses them before it forks a worker per terminal
    (:mod:`tsdtool.bundle.forkserver`), each of which parsed them again (~30 ms of CPU)."""
    builtin = profile_files.builtin_dir("device_profiles")
    key = profile_files.fingerprint(profile_files.folders(KIND, builtin, extra_dirs, include_user_dir=include_user_dir))
    with _PARSING:  # a second caller meanwhile (collect parses them ahead on a thread) waits for the first
        found = _PARSED.get(key)
        if found is None:
            loaded = profile_files.load(KIND, builtin, extra_dirs, validate, include_user_dir=include_user_dir)
            profiles = {pid: _build(data, path) for pid, (data, path) in loaded.profiles.items()}
            found = ProfileSet(profiles, loaded.problems, loaded.warnings)
            if len(_PARSED) >= 4:  # a long-lived process whose profiles keep changing (watch)
                _PARSED.clear()
            _PARSED[key] = found
    return found


_PARSED: dict[tuple, ProfileSet] = {}  # fingerprint of the files → what they gave
_PARSING = threading.Lock()


def check(paths: Sequence[Path]) -> list[Problem]:
    """Every problem in the profile files (or folders) given, including certain ties.

    Folders are taken in priority order as :func:`load_device_profiles` does, so a file that
    overrides another by id is not a problem; two profiles whose rules are identical are.
    """
    loaded = profile_files.load(KIND, None, paths, validate, include_user_dir=False)
    problems = list(loaded.problems)
    by_rules: dict[frozenset[tuple[tuple[str, ...], str]], str] = {}
    for pid, (data, path) in sorted(loaded.profiles.items()):
        profile = _build(data, path)
        if profile.fallback:
            continue
        key = frozenset((r.props, r.regex) for r in profile.rules)
        if key in by_rules:
            problems.append(
                Problem(str(path), "match", f"same rules as profile {by_rules[key]!r}: always a tie")
            )
        else:
            by_rules[key] = pid
        problems += consumer_collisions(profile, consumer_models())
    return problems + profile_files.one_fallback(loaded)


def consumer_models() -> list[str]:
    """Common consumer model names (``device_profiles/consumer_models.txt``; its header cites them)."""
    path = profile_files.builtin_dir("device_profiles") / CONSUMER_MODELS
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    names = (line.split("  #", 1)[0].strip() for line in text.splitlines() if not line.startswith("#"))
    return [name for name in names if name]


def consumer_collisions(profile: DeviceProfile, models: Sequence[str]) -> list[Problem]:
    """A weak rule that matches a consumer model name would take that phone for a terminal
    whenever its manufacturer is unknown: one problem per rule, naming a few of the hits."""
    problems = []
    for i, rule in enumerate(profile.rules):
        if rule.strength != "weak":
            continue
        hits = [m for m in models if rule.pattern.search(m)]
        if hits:
            shown = ", ".join(repr(h) for h in hits[:5]) + (f" and {len(hits) - 5} more" if len(hits) > 5 else "")
            problems.append(Problem(str(profile.path), f"match[{i}].regex",
                                    f"matches consumer model {shown}: anchor it to the vendor's naming"))
    return problems


def validate(data: dict[str, Any], path: Path) -> list[Problem]:
    """Schema checks for one device profile file (see the module docstring)."""
    file = str(path)
    problems = profile_files.header(file, data, _TOP_KEYS, "vendor")
    fallback = data.get("fallback", False)
    rules = data.get("match", [])
    if fallback is True:
        if rules:
            problems.append(Problem(file, "match", "the fallback profile matches everything: no rules"))
    elif not rules:
        problems.append(Problem(file, "match", "missing: at least one [[match]] rule"))
    if not isinstance(rules, list):
        problems.append(Problem(file, "match", "must be an array of tables: [[match]]"))
        rules = []
    for i, rule in enumerate(rules):
        problems += _check_rule(file, f"match[{i}]", rule)
    ids = data.get("usb_vendor_ids", [])
    if not isinstance(ids, list):
        problems.append(Problem(file, "usb_vendor_ids", 'must be a list such as ["05e0"]'))
        ids = []
    for i, usb_id in enumerate(ids):
        if not isinstance(usb_id, str) or not _USB_ID.match(usb_id):
            problems.append(Problem(file, f"usb_vendor_ids[{i}]", f"{usb_id!r} is not 4 hex digits"))
    if "standard" in data and fallback is not True:
        problems.append(Problem(file, "standard", "only the fallback profile declares standard facts"))
    problems += _check_names(file, "packages", data.get("packages", []), _PACKAGE, "a package name")
    if "consumer_manufacturers" in data and fallback is not True:
        problems.append(Problem(file, "consumer_manufacturers", "only the fallback profile lists consumer makers"))
    problems += _check_names(file, "consumer_manufacturers", data.get("consumer_manufacturers", []),
                             re.compile(r"^\S(.*\S)?\Z"), "a name")
    for table in ("fact", "standard"):
        problems += _check_facts(file, table, data.get(table, []))
    problems += _check_agents(file, data.get("emm_agents", []))
    problems += logger_decl.check(file, data.get("logger", []))
    return problems


def _check_agents(file: str, agents: Any) -> list[Problem]:
    if not isinstance(agents, list):
        return [Problem(file, "emm_agents", 'must be a list of { package = "…", name = "…" }')]
    problems = []
    for i, agent in enumerate(agents):
        key = f"emm_agents[{i}]"
        if not isinstance(agent, dict) or set(agent) != {"package", "name"}:
            problems.append(Problem(file, key, "needs exactly the keys package and name"))
        elif not isinstance(agent["package"], str) or not _PACKAGE.match(agent["package"]):
            problems.append(Problem(file, f"{key}.package", f"{agent['package']!r} is not a package name"))
        elif not isinstance(agent["name"], str) or not agent["name"].strip():
            problems.append(Problem(file, f"{key}.name", "missing: the name shown to people"))
    return problems


def _check_names(file: str, key: str, names: Any, form: re.Pattern[str], what: str) -> list[Problem]:
    if not isinstance(names, list):
        return [Problem(file, key, "must be a list of strings")]
    return [Problem(file, f"{key}[{i}]", f"{n!r} is not {what}")
            for i, n in enumerate(names) if not isinstance(n, str) or not form.match(n)]


def _check_rule(file: str, key: str, rule: Any) -> list[Problem]:
    if not isinstance(rule, dict):
        return [Problem(file, key, "must be a table with props and regex")]
    problems = [Problem(file, f"{key}.{k}", "unknown key") for k in rule if k not in _RULE_KEYS]
    if rule.get("strength", "strong") not in _STRENGTHS:
        problems.append(Problem(file, f"{key}.strength", 'must be "strong" or "weak"'))
    problems += _check_props(file, f"{key}.props", rule.get("props"))
    problems += _check_regex(file, f"{key}.regex", rule.get("regex"), required=True)
    return problems


def _check_facts(file: str, table: str, facts: Any) -> list[Problem]:
    found, problems = profile_files.tables(file, table, facts, _FACT_KEYS)
    names: set[str] = set()
    for key, fact in found:
        problems += profile_files.name_and_label(file, key, fact, names, "fact")
        if ("props" in fact) == ("shell" in fact):
            problems.append(Problem(file, key, "needs exactly one source: props = [...] or shell = [...]"))
        elif "props" in fact:
            problems += _check_props(file, f"{key}.props", fact["props"])
        else:
            problems += _check_props(file, f"{key}.shell", fact["shell"], what="command arguments")
        problems += _check_regex(file, f"{key}.regex", fact.get("regex"), required=False)
    return problems


def _check_props(file: str, key: str, value: Any, what: str = "property names") -> list[Problem]:
    if not isinstance(value, list) or not value:
        return [Problem(file, key, f"must be a non-empty list of {what}")]
    if not all(isinstance(v, str) and v.strip() for v in value):
        return [Problem(file, key, f"must hold only non-empty strings ({what})")]
    return []


def _check_regex(file: str, key: str, value: Any, *, required: bool) -> list[Problem]:
    if value is None:
        return [Problem(file, key, "missing")] if required else []
    if not isinstance(value, str):
        return [Problem(file, key, "must be a string")]
    try:
        re.compile(value)
    except re.error as error:
        return [Problem(file, key, f"bad regex: {error}")]
    return []


def _build(data: dict[str, Any], path: Path) -> DeviceProfile:
    """A validated file as a profile."""
    rules = tuple(Rule(tuple(r["props"]), r["regex"], re.compile(r["regex"]), _strength(r))
                  for r in data.get("match", []))

    def facts(table: str) -> tuple[Fact, ...]:
        return tuple(
            Fact(f["name"], f["label"], tuple(f.get("props", ())), tuple(f.get("shell", ())), f.get("regex"))
            for f in data.get(table, [])
        )

    return DeviceProfile(
        id=data["id"],
        name=data["name"],
        path=path,
        rules=rules,
        usb_vendor_ids=tuple(u.lower() for u in data.get("usb_vendor_ids", [])),
        facts=facts("fact"),
        standard=facts("standard"),
        fallback=data.get("fallback", False),
        emm_agents=tuple(EmmAgent(a["package"], a["name"]) for a in data.get("emm_agents", [])),
        loggers=logger_decl.build(data.get("logger", [])),
        packages=tuple(data.get("packages", [])),
        consumer_manufacturers=frozenset(n.casefold() for n in data.get("consumer_manufacturers", [])),
    )


def _strength(rule: dict[str, Any]) -> Strength:
    """Declared, else weak for rules on product keys only (model, device, name), else strong."""
    if "strength" in rule:
        return rule["strength"]
    return "weak" if all(_PRODUCT_KEY.match(k) for k in rule["props"]) else "strong"


# ----------------------------------------------------------------------- matching


def match(profile_set: ProfileSet, props: Mapping[str, str], usb_vendor_id: str | None = None,
          packages: Collection[str] | None = None) -> Match:
    """The profile the evidence points at (see the module docstring for the rule).

    Args:
        props: the terminal's `getprop` dump, parsed.
        usb_vendor_id: four hex digits when known (adb does not report it).
        packages: installed package names from a listing already made; None: not looked at.
    """
    fallback = profile_set.fallback
    vendors = [p for p in profile_set.profiles.values() if not p.fallback]
    owners = _identity_owners(vendors, props)
    consumer = _consumer_name(fallback, props)
    scored: list[tuple[tuple[int, int], DeviceProfile, list[tuple[Evidence, str]]]] = []
    rejected: list[str] = []
    for profile in vendors:
        found = _evidence(profile, props, usb_vendor_id, packages)
        strong = [f for f in found if f[0].strength == "strong"]
        weak = [f for f in found if f[0].strength == "weak"]
        other = consumer or next((f"{what} names {name}" for pid, what, name in owners if pid != profile.id), None)
        if weak and other and not strong:
            rejected.append(f"{profile.id}: {', '.join(e.value for e, _ in weak)} set aside, {other}")
            weak = []
        if strong or weak:
            scored.append(((len(strong), len(weak)), profile, strong + weak))
    if not scored:
        return Match(fallback, "no vendor profile matched", 0, rejected=tuple(rejected))
    best = max(score for score, _, _ in scored)
    winners = sorted((s for s in scored if s[0] == best), key=lambda s: s[1].id)
    if len(winners) > 1:
        ids = tuple(s[1].id for s in winners)
        return Match(fallback, f"tie between {', '.join(ids)} ({sum(best)} rules each): a profile error", 0, ids,
                     rejected=tuple(rejected))
    (n_strong, n_weak), profile, found = winners[0]
    return Match(profile, " and ".join(why for _, why in found), n_strong + n_weak, (),
                 "strong" if n_strong else "weak", tuple(e for e, _ in found), tuple(rejected))


def _evidence(profile: DeviceProfile, props: Mapping[str, str], usb_vendor_id: str | None,
              packages: Collection[str] | None) -> list[tuple[Evidence, str]]:
    """The profile's satisfied evidence, strong first, each with its explanation for people."""
    found: list[tuple[Evidence, str]] = []
    for rule in profile.rules:
        if why := rule.explain(props):
            key, value = rule.reported(props) or ("", "")
            found.append((Evidence(rule.strength, key, value, rule.regex), why))
    usb = (usb_vendor_id or "").lower()
    if usb and usb in profile.usb_vendor_ids:
        found.append((Evidence("strong", "usb vendor id", usb), f"usb vendor id {usb}"))
    found += [(Evidence("strong", "package", name), f"package {name}")
              for name in profile.packages if packages is not None and name in packages]
    return sorted(found, key=lambda f: f[0].strength != "strong")


def _identity_owners(vendors: Sequence[DeviceProfile], props: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(profile id, "manufacturer 'UBX'", vendor name) for each profile whose manufacturer or brand
    rule the terminal satisfies: the company the terminal names."""
    owners = []
    for profile in vendors:
        for rule in profile.rules:
            if rule.identity and rule.explain(props):
                _, value = rule.reported(props) or ("", "")
                owners.append((profile.id, f"{rule.identity} {value!r}", profile.name))
                break
    return owners


def _consumer_name(fallback: DeviceProfile, props: Mapping[str, str]) -> str | None:
    """``"manufacturer 'CUBOT' is a consumer device maker"`` when the terminal names one."""
    for what in ("manufacturer", "brand"):
        keys = [f"ro.product.{what}"] + [f"ro.product.{part}.{what}" for part in _PARTITIONS]
        value = next((props[k] for k in keys if props.get(k, "").strip()), "")
        if value.strip().casefold() in fallback.consumer_manufacturers:
            return f"{what} {value!r} is a consumer device maker"
    return None


_PARTITIONS = ("vendor", "system", "odm", "product", "system_ext")


# ------------------------------------------------------------------------ facts


def read_facts(profile: DeviceProfile, props: Mapping[str, str], run_shell: RunShell) -> dict[str, FactValue]:
    """The profile's own facts by name; one failing fact never stops the others.

    Args:
        profile: usually ``match(...).profile``.
        props: the terminal's `getprop` dump, parsed.
        run_shell: runs one command on the terminal (argument list; the ADB seam quotes it).
    """
    return {fact.name: _read(fact, props, run_shell) for fact in profile.facts}


def read_standard(
    profile_set: ProfileSet, props: Mapping[str, str], run_shell: RunShell
) -> dict[str, FactValue]:
    """The standard facts every profile inherits (model, android_release, build_id, …)."""
    return {fact.name: _read(fact, props, run_shell) for fact in profile_set.standard}


def _read(fact: Fact, props: Mapping[str, str], run_shell: RunShell) -> FactValue:
    if fact.props:
        for key in fact.props:
            if props.get(key, ""):
                value = _extract(fact.regex, props[key])
                return FactValue(value, key, "ok" if value is not None else "missing")
        return FactValue(None, ", ".join(fact.props), "missing")
    source = "shell: " + " ".join(fact.shell)
    try:
        result = run_shell(list(fact.shell))
    except TsdError as error:
        return FactValue(None, source, "failed", error.one_line())
    if not result.ok:
        return FactValue(None, source, "failed", result.error_text())
    value = _extract(fact.regex, result.text())
    return FactValue(value, source, "ok" if value is not None else "missing")


def _extract(regex: str | None, text: str) -> str | None:
    """The named group ``value``, else group 1, else the whole match; no regex: the stripped text."""
    if regex is None:
        return text.strip() or None
    found = re.search(regex, text)
    if not found:
        return None
    if "value" in found.re.groupindex:
        return found["value"]
    return found[1] if found.re.groups else found[0]
