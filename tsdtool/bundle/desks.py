"""Desk profiles: who gets the ticket, what they require, how big an attachment may be.

One TOML file per support desk in ``desk_profiles/`` (shipped), the user's
``desk_profiles/`` drop-in folder, or ``--profiles-dir``; loaded through
:mod:`tsdtool.profile_files`, so a user file with the same ``id`` replaces a shipped one.
Keys a desk profile may hold::

    kind = "desk"                       # required
    name = "Shown name"                 # required
    channel = "email" | "portal"        # how the desk takes requests
    to = "desk@example.com"             # e-mail channel: the address ("" leaves it to the user)
    language = "en" | "ru"              # the ticket's headings
    subject = "{product} {app_version}: {summary}"   # placeholders: field keys, summary, serial
    subject_max = 78                    # longer subjects are cut at a word (default 78)
    max_attachment_mb = 15              # larger bundles are linked, not attached
    required = ["description", "exchange_link|attachments", …]  # "a|b": either satisfies it
    recommended = [ … ]                 # asked for and shown, never blocking
    attach_required = ["database"]      # item kinds mailed on their own when the bundle is too big
    portal = "https://…"                # portal channel: where requests are filed ("" when unknown)
    phone = "…"                         # the desk's phone, as its rules give it
    instructions = "…"                  # one paragraph put at the top of the ticket
    too_big = "…"                       # what to do when the bundle cannot be attached
    [labels]                            # field key → label in the desk's language
    [fields.KEY]                        # refine a field's rules for this desk (see bundle/fields.py)
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tsdtool import errors, profile_files
from tsdtool.bundle import fields

KIND = "desk"
FOLDER = "desk_profiles"
DEFAULT = "generic"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SUBJECT_EXTRA = {"summary", "serial", "desk"}


@dataclass(frozen=True)
class Desk:
    id: str
    name: str
    channel: str = "email"
    to: str = ""
    language: str = "en"
    subject: str = "{device_model}: {summary}"
    # Longest subject, cut at a word: RFC 5322 2.1.1's 78 characters a line (no desk rule names one).
    subject_max: int = 78
    max_attachment_mb: float = 15.0
    required: tuple[str, ...] = ()
    recommended: tuple[str, ...] = ()
    instructions: str = ""
    too_big: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    path: str = ""
    portal: str = ""
    phone: str = ""
    rules: dict[str, fields.Field] = field(default_factory=dict)  # this desk's refinements
    attach_required: tuple[str, ...] = ()  # item kinds that travel in the mail even when the bundle cannot

    @property
    def max_attachment_bytes(self) -> int:
        return int(self.max_attachment_mb * 1024 * 1024)

    def rule(self, key: str) -> fields.Field:
        """The field's rules for this desk: the shared vocabulary, refined by the desk."""
        from tsdtool.texts import texts

        found = self.rules.get(key) or fields.field(key)
        t = texts(self.language)  # a Russian desk's technician is asked in Russian, hint included
        return replace(found, label=self.labels.get(key) or t.get("fields", key, found.label),
                       hint=t.get("hints", key, found.hint) if found.hint else "",
                       fix=t.get("fixes", key, found.fix) if found.fix else "")

    def label(self, key: str) -> str:
        return self.rule(key).label

    def requirement_label(self, requirement: str) -> str:
        return " / ".join(self.label(k) for k in fields.alternatives(requirement))

    def all_keys(self) -> list[str]:
        """Every field key this desk names, required first, in its order."""
        keys: list[str] = []
        for requirement in (*self.required, *self.recommended):
            keys += [k for k in fields.alternatives(requirement) if k not in keys]
        return keys


def validate(data: dict[str, Any], path: Path) -> list[profile_files.Problem]:
    """Checks for one desk file beyond the common ``id``/``kind`` ones."""
    name = str(path)
    problems = []

    def problem(key: str, message: str) -> None:
        problems.append(profile_files.Problem(name, key, message))

    if not isinstance(data.get("name"), str) or not data["name"].strip():
        problem("name", "must be a non-empty string")
    if data.get("channel", "email") not in ("email", "portal"):
        problem("channel", 'must be "email" or "portal"')
    to = data.get("to", "")
    if not isinstance(to, str) or (to and not _EMAIL.match(to)):
        problem("to", "must be an e-mail address or empty")
    limit = data.get("max_attachment_mb", 15)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
        problem("max_attachment_mb", "must be a positive number")
    for key in ("required", "recommended"):
        value = data.get(key, [])
        if not isinstance(value, list):
            problem(key, "must be a list of field keys")
            continue
        for i, requirement in enumerate(value):
            keys = fields.alternatives(requirement) if isinstance(requirement, str) else []
            if not keys or not all(fields.KEY.match(k) for k in keys):
                problem(f"{key}[{i}]", "must be a snake_case field key (or keys joined by |)")
    labels = data.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        problem("labels", "must be a table of field key = label")
    subject = data.get("subject", Desk.subject)
    if not isinstance(subject, str):
        problem("subject", "must be a string")
    else:
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(subject) if f is not None]
        except ValueError as exc:
            problem("subject", f"bad template: {exc}")
        else:
            for placeholder in names:
                if not fields.KEY.match(placeholder or "-"):
                    problem("subject", f"placeholder {{{placeholder}}} must be a field key")
    kinds = data.get("attach_required", [])
    if not isinstance(kinds, list) or not all(isinstance(k, str) and fields.KEY.match(k) for k in kinds):
        problem("attach_required", "must be a list of item kinds (database, log, …)")
    rules = data.get("fields", {})
    if not isinstance(rules, dict):
        problem("fields", "must be a table of [fields.KEY] tables")
    else:
        vocabulary = path.resolve() == (profile_files.builtin_dir(FOLDER) / "generic.toml").resolve()
        for key, table in rules.items():
            base = None if vocabulary else fields.CATALOG.get(key)
            for at, message in fields.rule_problems(key, table, base=base):
                problem(at, message)
    limit = data.get("subject_max", Desk.subject_max)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 20 <= limit <= 998:
        problem("subject_max", "must be a whole number of characters from 20 to 998")
    for key in ("instructions", "too_big", "language", "portal", "phone"):
        if key in data and not isinstance(data[key], str):
            problem(key, "must be a string")
    return problems


def _from_data(data: dict[str, Any], path: Path) -> Desk:
    return Desk(
        id=data["id"],
        name=data["name"],
        channel=data.get("channel", "email"),
        to=data.get("to", ""),
        language=data.get("language", "en"),
        subject=data.get("subject", Desk.subject),
        subject_max=data.get("subject_max", Desk.subject_max),
        max_attachment_mb=float(data.get("max_attachment_mb", 15)),
        required=tuple(data.get("required", ())),
        recommended=tuple(data.get("recommended", ())),
        instructions=data.get("instructions", "").strip(),
        too_big=data.get("too_big", "").strip(),
        labels=dict(data.get("labels", {})),
        path=str(path),
        portal=data.get("portal", ""),
        attach_required=tuple(data.get("attach_required", ())),
        phone=data.get("phone", ""),
        rules={k: fields.from_table(k, t, fields.CATALOG.get(k)) for k, t in data.get("fields", {}).items()},
    )


def load_all(profile_dirs: Sequence[Path] = (), *, include_user_dir: bool = True) -> profile_files.Loaded:
    return profile_files.load(
        KIND, profile_files.builtin_dir(FOLDER), profile_dirs, validate, include_user_dir=include_user_dir
    )


def get(desk_id: str | None, profile_dirs: Sequence[Path] = (), *, include_user_dir: bool = True) -> Desk:
    """The desk profile with this id (``generic`` when None); an unknown id is a usage error."""
    desk_id = desk_id or DEFAULT
    loaded = load_all(profile_dirs, include_user_dir=include_user_dir)
    if desk_id in loaded.profiles:  # a broken file is skipped with a word: a site's override may be the one
        from tsdtool import console

        for warning in loaded.warnings:
            console.warn(warning)
    else:
        known = ", ".join(sorted(loaded.profiles)) or "none"
        broken = next((w for w in loaded.warnings if f"{desk_id}.toml" in w), "")
        raise errors.UsageError(
            f"no desk profile {desk_id!r} (known: {known})" + (f"; {broken}" if broken else ""),
            fix="pick one with --desk, or add DESK.toml to a --profiles-dir",
        )
    data, path = loaded.profiles[desk_id]
    return _from_data(data, path)
