"""``--redact``: identifiers in every text item, every name and the manifest become keyed hash tokens.

Replaced: IMEIs (15 digits passing the Luhn check, also dashed or spaced 2-6-6-1 / 8-6-1),
IMEISVs (16 digits after ``IMEISV``/``SVN``, or dashed 2-6-6-2), serial numbers (the
terminal's own — adb serial and hardware serial — and any ``serial…=value``, ``sn=``,
``S/N:``, ``Serial No.:``), MAC addresses (``a4:5e:…``, ``a4-5e-…``, ``a45e.60e8.123f``,
``a45e60e8123f``), phone numbers (international ``+`` form; Russian ``8 900 123-45-67``,
``8 (900) 123-45-67``, ``89001234567``, ``79001234567``; also after ``tel:``/``phone:``) and
e-mail addresses.

A token is ``<KIND-xxxxxxxxxx>``: HMAC-SHA256 of the normalised value under a random key made
for one bundle and never stored, so the same value gives the same token everywhere in that
bundle (an engineer can still follow "this terminal" across logs) and cannot be looked up or
linked across bundles. In a file name the token loses its brackets (``KIND-xxxxxxxxxx``).
Binary items (the database, the screenshot, archives) are not touched: the desks need the
database as it is, and the report lists them.

Every pattern is linear in its input: no nested quantifiers, every run of a repeated class
starts only where the class cannot continue backwards (a run of ``%`` used to make the
e-mail pattern quadratic: 1 MiB took minutes).
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

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_HEX = "[0-9A-Fa-f]"
_MAC = re.compile(
    rf"(?<![0-9A-Fa-f:-])(?:{_HEX}{{2}}([:-]))(?:{_HEX}{{2}}\1){{4}}{_HEX}{{2}}(?![0-9A-Fa-f:-])"
)
# Without separators or in Cisco's dotted form: only with a letter among the digits (a bare
# 12-digit number is more often a count or a time than a MAC).
_MAC_BARE = re.compile(rf"(?<![\w.:-])(?:{_HEX}{{12}}|{_HEX}{{4}}\.{_HEX}{{4}}\.{_HEX}{{4}})(?![\w.:-])")
# Digits bounded by anything but letters, digits and a '.'/'-' joining more digits: '_' too,
# as in a file name (traces_490154203237518.txt).
_IMEI = re.compile(r"(?<![\dA-Za-z])(?<!\d[.-])(?:\d{15}|\d{2}[- ]\d{6}[- ]\d{6}[- ]\d|\d{8}[- ]\d{6}[- ]\d)"
                   r"(?![\dA-Za-z])(?![.-]\d)")
_IMEISV = re.compile(
    r"(?i)(\b(?:imei[ _-]?sv|svn)[\]\s:=#\[]{0,4})(\d{16}|\d{2}[- ]\d{6}[- ]\d{6}[- ]\d{2})(?![\w-])"
    r"|(?<![\w.-])(\d{2}-\d{6}-\d{6}-\d{2})(?![\w.-])"
)
_PHONE = re.compile(
    r"(?<![\w+.-])(?:\+\d{1,3}[\s-]?\(?\d{2,4}\)?[\s-]?\d{2,4}[\s-]?\d{2}[\s-]?\d{2,4}"
    r"|[78][\s-]?\(?\d{3}\)?[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2})(?![\w.:/-])"
)
_SERIAL_KV = re.compile(
    r"(?i)(\b(?:(?:ro\.(?:boot\.)?)?serial(?:no|_?number|[ _]no\.?|[ _]number)?|s/n|sn)"
    r"\]?[ \t]{0,3}(?:[:=#]|\]:)[ \t]{0,3}\[?)([A-Za-z0-9-]{4,})"
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
            if value is None or _TOKEN.fullmatch(value) or (check and not check(value)):
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
        text = self._sub("mac", _MAC, text, check=_real_mac)
        text = self._sub("mac", _MAC_BARE, text, check=lambda v: _real_mac(v) and not v.replace(".", "").isdigit())
        text = self._sub("serial", _SERIAL_KV, text, group=2)
        text = self._sub("imei", _IMEISV, text, group=2)
        text = self._sub("imei", _IMEISV, text, group=3)
        text = self._sub("imei", _IMEI, text, check=lambda v: luhn_ok(re.sub(r"\D", "", v)))
        text = self._sub("phone", _PHONE, text)
        return text

    def name(self, path: str) -> str:
        """A file name or bundle path with every identifier replaced; tokens without the
        brackets, which Windows does not allow in a file name."""
        return _TOKEN.sub(lambda m: m.group()[1:-1], self.text(path))

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


def _real_mac(value: str) -> bool:
    return _normal("mac", value) not in _TRIVIAL_MACS


def _normal(kind: str, value: str) -> str:
    if kind in ("imei", "serial") and re.fullmatch(r"[\d -]+", value):
        return re.sub(r"\D", "", value)
    if kind == "mac":
        return re.sub(r"[^0-9a-f]", "", value.lower())
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return "7" + digits[1:] if len(digits) == 11 and digits[0] == "8" else digits
    if kind == "email":
        return value.lower()
    return value.strip()


# Binary whatever the name says: a rewrite would corrupt it (and the desk needs it as it is).
_BINARY_SUFFIXES = (".db", ".sqlite", ".sqlite3", "-wal", "-shm", "-journal", ".png", ".jpg", ".jpeg", ".zip",
                    ".gz", ".7z", ".apk", ".mp4", ".pb")
_BINARY_MAGIC = (b"SQLite format 3\0", b"\x89PNG", b"PK\x03\x04", b"\x1f\x8b", b"\xff\xd8\xff", b"7z\xbc\xaf")
HEAD = 8192  # how much of an item is looked at to tell text from binary


# Text by its name alone (when the bytes are not at hand).
TEXT_SUFFIXES = (".txt", ".log", ".json", ".xml", ".csv", ".ini", ".cfg", ".conf", ".properties", ".md", ".trace")


def is_text(path: str, head: bytes | None = None) -> bool:
    """Whether an item is text to rewrite. Given its first bytes (``head``, what ``collect``
    passes) it is judged by them whatever its name: ANR traces, tombstones, ``app.log.1`` and
    logs without a suffix are text; NUL bytes or a binary signature (SQLite, PNG, zip, gzip …)
    make it binary. Without them, only a known text suffix says text."""
    name = path.lower().removesuffix(".part")
    if name.endswith(_BINARY_SUFFIXES) or (head or b"").startswith(_BINARY_MAGIC):
        return False
    if head is None:
        return name.endswith(TEXT_SUFFIXES)
    return b"\0" not in head[:HEAD]


# The person filing the ticket: the desk replies to these, so they stay (the report says so).
KEEP_FORM = ("contact_name", "contact_email", "contact_phone")


def redact_manifest(r: Redactor, manifest: Any) -> None:
    """The manifest's values: terminal facts, apps, the PC, options, every field a person
    typed (but :data:`KEEP_FORM`), the databases (their bundle paths as names)."""
    manifest.device = r.value(manifest.device)
    manifest.apps = r.value(manifest.apps)
    manifest.host = r.value(manifest.host)
    manifest.options = r.value(manifest.options)
    manifest.form = {k: v if k in KEEP_FORM else r.text(v) for k, v in manifest.form.items()}
    rows = []
    for row in manifest.databases:
        path = row.get("path")
        row = r.value(row)
        if path:
            row["path"] = r.name(path)
        rows.append(row)
    manifest.databases = rows
