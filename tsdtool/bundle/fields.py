"""The ticket's field vocabulary: one snake_case key per fact a desk may ask for, with its rules.

The vocabulary is data: the ``[fields.KEY]`` tables of the shipped ``desk_profiles/generic.toml``
(see the comment there). Keys are shared by every desk profile, so ``--field contact_name=…``
means the same thing whichever desk gets the ticket; a desk may refine a field's label, hint
or type in its own ``[fields.KEY]`` table. Each field has a *source*: ``person`` (typed),
``pc`` (typed; about the PC the desk means), ``terminal`` (read from the terminal only) or
``file`` (only from ``--attach``). A key outside the vocabulary is still accepted and shown
in the ticket under its key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from typing import Any

KEY = re.compile(r"^[a-z][a-z0-9_]*$")
SOURCES = ("person", "pc", "terminal", "file")
TYPES = ("text", "email", "url", "count")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_URL = re.compile(r"^(https?|ftp)://[^\s/?#]+\.[^\s/?#]+(/\S*)?$|^(https?|ftp)://[^\s/?#]+/\S*$", re.I)
_COUNT = re.compile(r"^[1-9][0-9]{0,6}$")
_RULE_KEYS = {"label", "source", "type", "lines", "hint", "fix"}


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    source: str = "person"
    type: str = "text"
    multiline: bool = False  # prompted for and shown as a block
    hint: str = ""  # one line shown in prompts
    fix: str = ""  # for terminal/file fields: how to get the value (shown when it is missing)

    @property
    def auto(self) -> bool:
        """Only tsdtool fills it (from the terminal or an attached file): never typed."""
        return self.source in ("terminal", "file")

    def check(self, value: str) -> str:
        """Why ``value`` is wrong for this field ("" when it is right)."""
        if not is_text(value):
            return "is not text in this console's encoding"
        if not self.multiline and any(c in value for c in "\r\n\x00"):
            return "must be one line"
        if self.type == "email" and not mailbox(value):
            if _EMAIL.match(value) and not value.rpartition("@")[0].isascii():
                return "needs Latin letters before @ (a mail server refuses others)"
            return "is not an e-mail address (name@example.com)"
        if self.type == "url" and not _URL.match(value):
            return "is not a link (https://…)"
        if self.type == "count" and not _COUNT.match(value):
            return "is not a whole number (e.g. 12)"
        return ""


def is_text(value: str) -> bool:
    """False for bytes of another code page than the console's, which reach a ``str`` (argv, a
    prompt's answer) as lone surrogates (PEP 383) and cannot be written as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def rule_problems(key: str, table: Any, *, base: Field | None = None) -> list[tuple[str, str]]:
    """``(toml key, problem)`` for one ``[fields.KEY]`` table; a desk may not change a source."""
    if not isinstance(table, dict):
        return [(f"fields.{key}", "must be a table")]
    found = [(f"fields.{key}.{k}", "unknown key") for k in table if k not in _RULE_KEYS]
    for k, allowed in (("source", SOURCES), ("type", TYPES), ("lines", ("one", "many"))):
        if k in table and table[k] not in allowed:
            found.append((f"fields.{key}.{k}", f"must be one of {', '.join(allowed)}"))
    for k in ("label", "hint", "fix"):
        if k in table and not isinstance(table[k], str):
            found.append((f"fields.{key}.{k}", "must be a string"))
    if base is not None and "source" in table and table["source"] != base.source:
        found.append((f"fields.{key}.source", f"is {base.source!r} for every desk"))
    return found


def from_table(key: str, table: dict[str, Any], base: Field | None = None) -> Field:
    """A field from its ``[fields.KEY]`` table, over ``base`` (the shared rule) when given."""
    f = base or Field(key, key.replace("_", " ").capitalize())
    return replace(
        f,
        label=table.get("label", f.label),
        source=table.get("source", f.source),
        type=table.get("type", f.type),
        multiline=table["lines"] == "many" if "lines" in table else f.multiline,
        hint=table.get("hint", f.hint),
        fix=table.get("fix", f.fix),
    )


def _load() -> dict[str, Field]:
    from tsdtool.profile_files import builtin_dir

    data = tomllib.loads((builtin_dir("desk_profiles") / "generic.toml").read_text("utf-8"))
    return {key: from_table(key, table) for key, table in data.get("fields", {}).items()}


CATALOG: dict[str, Field] = _load()

# Human fields a saved contact (user config contact.toml) may pre-fill.
CONTACT_KEYS = ("contact_name", "contact_email", "contact_phone", "company")


def field(key: str) -> Field:
    """The catalogue entry, or a plain one for a key the catalogue does not know."""
    return CATALOG.get(key) or Field(key, key.replace("_", " ").capitalize())


def alternatives(requirement: str) -> list[str]:
    """``"exchange_link|attachments"`` → either key satisfies the requirement."""
    return [k.strip() for k in requirement.split("|") if k.strip()]


# A plain ``local@domain`` address: the only form a header is built from (a hand-edited or
# hostile manifest may hold anything in contact_email).
_MAILBOX = re.compile(r"[A-Za-z0-9.!#$%&'*+/^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def mailbox(value: str) -> str:
    """``value`` when it is one plain e-mail address, else ''. A Cyrillic domain (``склад.рф``,
    common with these desks' customers) is written in its ASCII form (``xn--…``, RFC 5891), the
    form every mail server takes; a non-ASCII local part needs SMTPUTF8 and gives ''."""
    local, at, domain = (value or "").rpartition("@")
    if at and not domain.isascii() and len(domain) <= 253:
        try:
            value = f"{local}@{domain.encode('idna').decode('ascii')}"
        except UnicodeError:  # not a valid internationalised name
            return ""
    return value if _MAILBOX.fullmatch(value or "") and "=?" not in value else ""
