"""``tsdtool inspect BUNDLE``: what a bundle holds, and whether it still proves itself.

:func:`inspect` reads the manifest (never a terminal) and runs
:func:`~tsdtool.bundle.verify.verify` on it: sizes, SHA-256 of every stored item and the
JSON Schema. The summary is a plain dict, ready for ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsdtool.bundle.verify import Verification, open_bundle, verify

DEVICE_KEYS = ("serial", "vendor", "manufacturer", "model", "android_release", "sdk", "build_id",
               "build_display", "security_patch", "profile")


@dataclass
class Inspection:
    bundle: Path
    verification: Verification
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verification.ok

    def to_dict(self) -> dict[str, Any]:
        return {"bundle": str(self.bundle), "ok": self.ok, "problems": self.verification.problems,
                "checked": self.verification.checked, **self.summary}


def inspect(path: Path) -> Inspection:
    """Summarise a bundle (device, apps, items, missing ticket fields) and verify it."""
    with open_bundle(path) as bundle:
        m = bundle.manifest
        device = {k: m.device.get(k) for k in DEVICE_KEYS if k in m.device}
        summary = {
            "status": m.status, "created_at": m.created_at, "tool_version": m.tool_version,
            "device": device,
            "managed": m.device.get("managed") or {},
            "apps": [{"package": a.get("package"), "version_name": a.get("version_name"),
                      "version_code": a.get("version_code")} for a in m.apps],
            "items": [{"path": i.path, "kind": i.kind, "status": i.status, "reason": i.reason, "size": i.size}
                      for i in m.items],
            "missing_fields": list(m.ticket.missing) if m.ticket else [],
            "device_actions": m.options.get("device_actions", []),
        }
    return Inspection(Path(path), verify(path), summary)
