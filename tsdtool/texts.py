"""The words a support desk reads, one catalogue per language: ``tsdtool/locales/<lang>.toml``.

The desk profile's ``language`` picks the catalogue (ru for GRSoft and Cleverence, en for the
generic desk); a key the language lacks, or a language without a file, falls back to English.
Keys are ``table.name`` (``report.terminal``); values are ``str.format`` templates.

Reasons are recorded in ``manifest.json`` in English (the manifest is for tools);
:meth:`Texts.reason` shows a recorded reason in the desk's language when it matches one of
the ``[reasons]`` templates of ``en.toml``, its placeholders carried over, else as recorded.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).parent / "locales"
FALLBACK = "en"
_REASON_LIMIT = 1000  # longer reasons are shown as recorded (no pattern matching on huge text)


@cache
def catalogue(lang: str) -> dict[str, dict[str, str]]:
    """The raw tables of one language ({} when there is no such catalogue)."""
    if not re.fullmatch(r"[a-z]{2,3}", lang or ""):
        return {}
    path = LOCALES / f"{lang}.toml"
    return tomllib.loads(path.read_text("utf-8")) if path.is_file() else {}


@cache
def _patterns(table: str) -> list[tuple[str, re.Pattern[str]]]:
    """Each English template of a table as an anchored pattern: literal text, ``{name}`` → a group."""
    out = []
    for key, template in catalogue(FALLBACK).get(table, {}).items():
        parts = re.split(r"\{(\w+)\}", template)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((key, re.compile(regex + r"\Z", re.S)))
    return out


def _parts(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside parentheses."""
    return re.split(re.escape(separator) + r"(?![^()]*\))", text)


class Texts:
    """Lookups in one language: ``t("report.terminal")``, ``t("report.missing", n=3)``."""

    def __init__(self, lang: str | None):
        self.lang = lang if lang and catalogue(lang) else FALLBACK
        self._own = catalogue(self.lang)
        self._en = catalogue(FALLBACK)

    def __call__(self, key: str, **values: Any) -> str:
        table, _, name = key.partition(".")
        text = self._own.get(table, {}).get(name) or self._en[table][name]
        return text.format(**values) if values else text

    def table(self, name: str) -> dict[str, str]:
        """A whole table, this language over English (``head["not_ready"]``)."""
        return self._en.get(name, {}) | self._own.get(name, {})

    def get(self, table: str, name: str, default: str) -> str:
        """A word from a table when the catalogue has it (a status, an item kind), else ``default``."""
        return self._own.get(table, {}).get(name) or self._en.get(table, {}).get(name) or default

    def label(self, desk: Any, key: str) -> str:
        """A field's label: the desk's own, else this language's, else the shared vocabulary's."""
        return desk.labels.get(key) or self.get("fields", key, desk.label(key))

    def requirement(self, desk: Any, requirement: str) -> str:
        """``exchange_link|attachments`` → ``label / label``."""
        return " / ".join(self.label(desk, k.strip()) for k in requirement.split("|") if k.strip())

    def reason(self, text: str, table: str = "reasons") -> str:
        """A recorded (English) reason in this language; as recorded when no template fits."""
        if self.lang == FALLBACK or len(text) > _REASON_LIMIT:
            return text
        for key, pattern in _patterns(table):
            match = pattern.match(text)
            if match and key in self._own.get(table, {}):
                found = match.groupdict()
                if "why" in found and table != "attempts":  # e.g. the ways tried into an app's folder
                    found["why"] = "; ".join(self.reason(p, "attempts") for p in _parts(found["why"], "; "))
                return self._own[table][key].format(**found)
        return text

    def check(self, text: str) -> str:
        """A recorded database check (``integrity ok, 3 tables, wal journal (wal applied)``), part
        by part; commas inside parentheses belong to their part."""
        whole = self.reason(text)  # a row no way reached carries its reason as its check
        if whole != text:
            return whole
        return ", ".join(self.reason(part, "checks") for part in _parts(text, ", "))


def texts(lang: str | None) -> Texts:
    return Texts(lang)


def pc_language() -> str:
    """The language of the PC tsdtool runs on, for what it says outside a desk's texts (errors):
    ``TSDTOOL_LANG``; else the first locale variable set of ``LC_ALL``, ``LC_MESSAGES``, ``LANG``
    (``ru_RU.UTF-8`` → ``ru``; ``C`` and ``POSIX`` are English), as gettext reads them; else, on
    Windows, where they are usually unset, the user's display language
    (``GetUserDefaultUILanguage``, its LCID named by :data:`locale.windows_locale`); else English."""
    chosen = os.environ.get("TSDTOOL_LANG", "").strip().lower()
    if chosen:
        return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            lang = re.split(r"[_.@-]", value, maxsplit=1)[0].lower()
            return FALLBACK if lang in ("c", "posix") else lang
    if sys.platform == "win32":
        return _windows_language() or FALLBACK
    return FALLBACK


def _windows_language() -> str:
    import ctypes
    import locale

    try:
        lcid = ctypes.windll.kernel32.GetUserDefaultUILanguage()  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return ""
    return locale.windows_locale.get(lcid, "").partition("_")[0]


def errors_in(lang: str) -> Any:
    """A function showing an English error message or fix in ``lang`` when its catalogue has it
    (``[errors]``, then the reasons a bundle records), else as written."""
    t = Texts(lang)
    if t.lang == FALLBACK:
        return str

    def say(text: str) -> str:
        shown = t.reason(text, "errors")
        return t.reason(text) if shown == text else shown

    return say
