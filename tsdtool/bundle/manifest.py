"""The bundle's ``manifest.json`` as dataclasses: what was collected, from where, and proof of it.

No I/O here: :mod:`tsdtool.bundle.writer` streams the files and fills sizes and hashes,
:func:`Manifest.to_dict` gives the JSON that ``docs/bundle.schema.json`` describes, and
:func:`Manifest.from_dict` reads it back for ``report``, ``verify`` and ``send``.

Schema versions only grow: a reader accepts any manifest whose ``schema_version`` it knows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
COMPLETE, PARTIAL = "complete", "partial"
OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class BundleItem:
    """One file in the bundle, or one that should have been and is not.

    ``sha256`` is set exactly when bytes for the item are stored in the zip at ``path``;
    a failed item may still store what arrived before the failure (a logcat cut short by a
    pulled cable), a skipped one never stores anything.
    """

    path: str  # inside the zip, '/'-separated
    kind: str  # facts, apps, database, log, crash, screenshot, attachment, report, ticket, …
    source: str  # device path, device command, or local path it came from
    status: str = OK  # ok | failed | skipped
    reason: str = ""
    size: int = 0
    sha256: str | None = None
    redacted: int = 0  # how many values --redact replaced in this item
    check: str = ""  # what a check of the content found: "integrity ok", "all-black frame", …

    @property
    def stored(self) -> bool:
        return self.sha256 is not None


@dataclass
class TicketState:
    """Whether the ticket can be sent as is: every field the desk requires has a value."""

    desk: str
    ready: bool = False
    required: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # required entries without a valid value
    invalid: dict[str, str] = field(default_factory=dict)  # field key → why its value is wrong


@dataclass
class Redaction:
    enabled: bool = False
    counts: dict[str, int] = field(default_factory=dict)  # kind (imei, serial, mac, phone, email) → n
    note: str = ""
    not_rewritten: list[str] = field(default_factory=list)  # stored items left as they are (binary)


@dataclass
class Manifest:
    tool_version: str
    created_at: str  # UTC, ISO 8601 with a trailing Z
    host: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    profiles: dict[str, str | None] = field(default_factory=dict)  # device, app, desk → id
    apps: list[dict[str, Any]] = field(default_factory=list)  # package, version_name, version_code, …
    databases: list[dict[str, Any]] = field(default_factory=list)  # one per app database: path, check, …
    form: dict[str, str] = field(default_factory=dict)  # what a person gave (--field, --form, prompts)
    options: dict[str, Any] = field(default_factory=dict)  # how collect was run
    ticket: TicketState | None = None
    redaction: Redaction = field(default_factory=Redaction)
    interrupted: bool = False
    items: list[BundleItem] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    @property
    def status(self) -> str:
        """``complete`` only when nothing failed and nobody pressed Ctrl-C."""
        bad = self.interrupted or any(i.status == FAILED for i in self.items)
        return PARTIAL if bad else COMPLETE

    def item(self, path: str) -> BundleItem | None:
        return next((i for i in self.items if i.path == path), None)

    def of_kind(self, kind: str) -> list[BundleItem]:
        return [i for i in self.items if i.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status
        data["tool"] = {"name": "tsdtool", "version": data.pop("tool_version")}
        # Readers see the version first, as in the schema document.
        order = ["schema_version", "tool", "created_at", "status"]
        return {k: data[k] for k in order} | {k: v for k, v in data.items() if k not in order}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Read a manifest back; unknown keys (from a newer minor writer) are ignored."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["tool_version"] = data.get("tool", {}).get("version", "")
        kwargs["items"] = [_build(BundleItem, i) for i in data.get("items", [])]
        kwargs["ticket"] = _build(TicketState, data["ticket"]) if data.get("ticket") else None
        kwargs["redaction"] = _build(Redaction, data.get("redaction") or {})
        return cls(**kwargs)


def _build(cls, data: dict[str, Any]):
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp_utc(moment: datetime) -> str:
    """``yyyymmddThhmmssZ``: the bundle file name's timestamp."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
