"""``tsdtool diff A.zip B.zip``: what differs between two bundles.

Good terminal against bad one, or the same terminal before and after an update. Compared,
each as ``(section, key, a, b)`` rows:

* ``device`` — the standard facts (model, build id, security patch, …) and ``managed.*``;
* ``profile`` — the vendor profile's facts (``vendor_facts``: BSP, patch version, …);
* ``property`` — every ``getprop`` key (``device/getprop.txt``);
* ``app`` — each package's ``version_name (version_code)``, or absent;
* ``database`` — per app database: each table's schema (``CREATE`` text) and row count;
* ``log`` — error and crash *signatures* found in B's logcat and not in A's (numbers, hex
  ids and pids folded, so the same crash on another pid is the same signature), in the order
  B's log has them; :attr:`BundleDiff.crashes` groups them per crash (one pid and tag in a row),
  so a stack trace reads top-down.

:attr:`BundleDiff.heads` keeps what a person needs to read the differences (device, Android,
build, firmware of each side); it is not part of ``--json``, which lists the changes only.

Runtime readings that change by the minute (battery, free storage, uptime) are left out:
they would bury the differences that matter. Nothing here talks to a terminal.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsdtool.bundle.verify import Bundle, open_bundle
from tsdtool.parsers import getprop, logcat

VOLATILE = re.compile(r"^(battery_level|charging|uptime_s|storage_\w+_free_kb)$")
HEAD_KEYS = ("vendor", "model", "serial", "android_release", "sdk", "build_id", "security_patch")
SECTIONS = ("device", "profile", "property", "app", "database", "log")
_NUMBERS = re.compile(r"0x[0-9a-fA-F]+|\b[0-9a-f]{7,}\b|\d+")


@dataclass(frozen=True)
class Change:
    section: str
    key: str
    a: Any  # None: absent in A
    b: Any  # None: absent in B


@dataclass
class BundleDiff:
    a: Path
    b: Path
    changes: list[Change] = field(default_factory=list)
    heads: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    crashes: list[list[str]] = field(default_factory=list)  # new log signatures, grouped per crash

    def to_dict(self) -> dict[str, Any]:
        return {"a": str(self.a), "b": str(self.b), "same": not self.changes,
                "changes": [{"section": c.section, "key": c.key, "a": c.a, "b": c.b} for c in self.changes]}


def diff(a: Path, b: Path) -> BundleDiff:
    """Every difference between bundle ``a`` and bundle ``b`` (see the module docstring)."""
    result = BundleDiff(Path(a), Path(b))
    with open_bundle(a) as left, open_bundle(b) as right:
        views = [snapshot(left), snapshot(right)]
    result.heads = (views[0]["head"], views[1]["head"])
    for section in SECTIONS:
        if section == "log":
            seen = set().union(*views[0]["log"])
            for group in views[1]["log"]:
                new = [sig for sig in group if sig not in seen]
                seen.update(new)
                if new:
                    result.crashes.append(new)
                    result.changes += [Change("log", sig, None, "new") for sig in new]
            continue
        before, after = views[0][section], views[1][section]
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                result.changes.append(Change(section, key, before.get(key), after.get(key)))
    return result


def snapshot(bundle: Bundle) -> dict[str, Any]:
    """One bundle as flat, comparable maps (and a set of log signatures)."""
    device = bundle.manifest.device
    facts: dict[str, Any] = {}
    for key, value in device.items():
        if key == "vendor_facts" or VOLATILE.match(key):
            continue
        if isinstance(value, dict):
            facts.update({f"{key}.{k}": _plain(v) for k, v in value.items()})
        else:
            facts[key] = value
    apps = {a.get("package"): f"{a.get('version_name')} ({a.get('version_code')})" if a.get("installed", True)
            else "not installed" for a in bundle.manifest.apps}
    props = getprop.parse(bundle.read("device/getprop.txt") or b"")
    head = {"name": bundle.path.name, "created_at": bundle.manifest.created_at, "status": bundle.manifest.status,
            **{k: device.get(k) for k in HEAD_KEYS},
            "firmware": dict(device.get("vendor_facts") or {})}
    return {"device": facts, "profile": dict(device.get("vendor_facts") or {}), "property": props,
            "app": apps, "database": _databases(bundle), "log": _signatures(bundle), "head": head}


def _plain(value: Any) -> Any:
    """A ``{"status", "value"}`` fact compares by its value when ok, else by its status."""
    if isinstance(value, dict) and set(value) == {"status", "value"}:
        return value["value"] if value["status"] == "ok" else value["status"]
    return value


def signature(line: logcat.LogLine) -> str:
    """``E/AndroidRuntime: FATAL EXCEPTION: main`` with numbers folded to ``#``."""
    return f"{line.level}/{line.tag}: {_NUMBERS.sub('#', line.message)}"[:200]


def _signatures(bundle: Bundle) -> list[list[str]]:
    """Problem signatures in log order, one group per run of problem lines from one pid and tag
    (a crash and its stack trace), each signature once."""
    groups: list[list[str]] = []
    seen: set[str] = set()
    for item in bundle.manifest.items:
        if item.stored and item.kind in ("logcat", "log") and item.path.endswith(".txt"):
            last = None
            for line in logcat.problems(bundle.read(item.path) or b""):
                if (line.pid, line.tag) != last:
                    groups.append([])
                last = (line.pid, line.tag)
                sig = signature(line)
                if sig not in seen:
                    seen.add(sig)
                    groups[-1].append(sig)
    return [g for g in groups if g]


def _databases(bundle: Bundle) -> dict[str, Any]:
    """``package:db_path:table`` → ``{"schema": CREATE text, "rows": n}`` for each stored main database."""
    out: dict[str, Any] = {}
    for row in bundle.manifest.databases:
        path = row.get("path")
        data = bundle.read(path) if path else None
        if data:
            where = f"{row.get('package')}:{row.get('device_path')}"
            out.update({f"{where}:{table}": shape for table, shape in _tables(data).items()})
    return out


def _tables(data: bytes) -> dict[str, Any]:
    """Each table's ``CREATE`` text and row count, read from a private copy of the file."""
    import sqlite3

    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "db.sqlite"
        copy.write_bytes(data)
        try:
            con = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
            try:
                tables = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
                for name, sql in tables:
                    quoted = '"' + name.replace('"', '""') + '"'
                    rows = con.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
                    found[name] = {"schema": sql, "rows": rows}
            finally:
                con.close()
        except sqlite3.Error as exc:
            found["(unreadable)"] = {"error": str(exc)}
    return found
