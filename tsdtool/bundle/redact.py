"""``--redact``: identifiers in text items and the manifest become keyed hash tokens.

Replaced: IMEIs (15 digits passing the Luhn check), serial numbers (the terminal's own, and
any ``serial…=value``/``serial: value``), MAC addresses, phone numbers (international ``+``
form and the Russian ``8 (xxx) xxx-xx-xx`` form) and e-mail addresses.

A token is ``<KIND-xxxxxxxxxx>``: HMAC-SHA256 of the normalised value under a random key made
for one bundle and never stored, so the same value gives the same token everywhere in that
bundle (an engineer can still follow "this terminal" across logs) and cannot be looked up or
linked across bundles. Binary items (the database, the screenshot) are not touched: the
desks need the database as it is, and the report says so.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

KINDS = ("imei", "serial", "mac", "phone", "email")

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_MAC = re.compile(
    r"(?<![0-9A-Fa-f:-])(?:[0-9A-Fa-f]{2}([:-]))(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:-])"
)
_IMEI = re.compile(r"(?<![\w.])\d{15}(?![\w.])")
_PHONE = re.compile(
    r"(?<![\w+.:/-])(?:\+\d{1,3}[\s-]?\(?\d{2,4}\)?|8[\s-]?\(\d{3}\))[\s-]?\d{2,4}[\s-]?\d{2}[\s-]?\d{2,4}(?![\w.:/-])"
)
_SERIAL_KV = re.compile(
    r"(?i)(\b(?:ro\.(?:boot\.)?)?serial(?:no|_?number)?\]?\s*(?:[:=]|\]:)\s*\[?)([A-Za-z0-9-]{4,})"
)
_TOKEN = re.compile(r"<(?:IMEI|SERIAL|MAC|PHONE|EMAIL)-[0-9a-f]{10}>")
_TRIVIAL_MACS = {"000000000000", "ffffffffffff", "020000000000"}  # Android's placeholder MAC


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


class Redactor:
    """Replaces identifiers with per-bundle tokens and counts what it replaced."""

    def __init__(self, known_serials: Iterable[str] = (), key: bytes | None = None):
        self._key = key or os.urandom(32)
        self.counts: Counter[str] = Counter()
        serials = sorted({s for s in known_serials if s and len(s) >= 4}, key=len, reverse=True)
        self._known = re.compile("|".join(re.escape(s) for s in serials)) if serials else None

    def token(self, kind: str, value: str) -> str:
        digest = hmac.new(self._key, f"{kind}:{_normal(kind, value)}".encode(), hashlib.sha256).hexdigest()
        return f"<{kind.upper()}-{digest[:10]}>"

    def _sub(self, kind: str, pattern: re.Pattern[str], text: str, check=None, group: int = 0) -> str:
        def repl(match: re.Match[str]) -> str:
            value = match.group(group)
            if _TOKEN.fullmatch(value) or (check and not check(value)):
                return match.group(0)
            self.counts[kind] += 1
            if group:
                return match.group(0)[: match.start(group) - match.start(0)] + self.token(kind, value)
            return self.token(kind, value)

        return pattern.sub(repl, text)

    def text(self, text: str) -> str:
        """One string with every identifier replaced."""
        if self._known:
            text = self._sub("serial", self._known, text)
        text = self._sub("email", _EMAIL, text)
        text = self._sub("mac", _MAC, text, check=lambda v: _normal("mac", v) not in _TRIVIAL_MACS)
        text = self._sub("serial", _SERIAL_KV, text, group=2, check=lambda v: not _TOKEN.search(v))
        text = self._sub("imei", _IMEI, text, check=luhn_ok)
        text = self._sub("phone", _PHONE, text)
        return text

    def value(self, data: Any) -> Any:
        """Strings inside any JSON-like value, keys kept."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {k: self.value(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.value(v) for v in data]
        return data

    def stream(self, chunks: Iterable[bytes]) -> Iterable[bytes]:
        """Line by line over raw bytes; invalid UTF-8 passes through unchanged."""
        for line in chunks:
            text = line.decode("utf-8", "surrogateescape")
            yield self.text(text).encode("utf-8", "surrogateescape")


def _normal(kind: str, value: str) -> str:
    if kind == "mac":
        return re.sub(r"[^0-9a-f]", "", value.lower())
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return "7" + digits[1:] if len(digits) == 11 and digits[0] == "8" else digits
    if kind == "email":
        return value.lower()
    return value.strip()


# Items whose bytes are text a person reads; only these are rewritten.
TEXT_SUFFIXES = (
    ".txt",
    ".log",
    ".json",
    ".xml",
    ".csv",
    ".ini",
    ".cfg",
    ".conf",
    ".properties",
    ".md",
    ".trace",
)


def is_text(path: str) -> bool:
    name = path.lower().removesuffix(".part")
    return name.endswith(TEXT_SUFFIXES)
