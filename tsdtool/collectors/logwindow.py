"""The logs' options (``--since``, ``--buffers``), checked without importing the collectors:
``collect`` checks every option before its first request to the terminal, and that request goes
out before :mod:`tsdtool.collectors.logs` and what it needs (adbutils, the app access) are imported."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from tsdtool import errors

# logcat -b names (AOSP liblog android_log_id_to_name); "default" = main,system,crash.
BUFFERS = ("main", "system", "crash", "events", "radio", "kernel", "security", "stats", "default", "all")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Since:
    """A ``--since`` value: a duration back from the terminal's clock, or a time on it."""

    text: str
    back: timedelta | None = None
    at: datetime | None = None  # terminal local time

    def start(self, device_now: datetime) -> datetime:
        return device_now - self.back if self.back is not None else self.at  # type: ignore[return-value]


def parse_since(text: str) -> Since:
    """``10m``, ``2h``, ``1h30m``, ``45s``, ``1d`` or ``2026-11-25 12:00[:SS]``; UsageError otherwise."""
    value = text.strip()
    match = _DURATION.match(value.lower())
    if value and match and any(match.groups()):
        d, h, m, s = (int(g or 0) for g in match.groups())
        back = timedelta(days=d, hours=h, minutes=m, seconds=s)
        if back <= timedelta(0) or back > timedelta(days=365):
            raise errors.UsageError(f"--since {text!r}: give a duration between 1s and 365d")
        return Since(value, back=back)
    for fmt in _TIME_FORMATS:
        try:
            return Since(value, at=datetime.strptime(value, fmt))
        except ValueError:
            continue
    raise errors.UsageError(f"--since {text!r}: give a duration (10m, 2h, 1d) or a time ('2026-11-25 12:00')")


def check_since(text: str | None) -> str | None:
    """Typer callback: validate while parsing, so a bad value exits 2 before any device call."""
    if text is not None:
        parse_since(text)
    return text


def parse_buffers(text: str | None) -> tuple[str, ...]:
    """``main,system,crash,events`` → names checked against :data:`BUFFERS`; UsageError otherwise."""
    if text is None:
        return ()
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in BUFFERS]
    if bad or not names:
        raise errors.UsageError(f"--buffers {text!r}: choose from {', '.join(BUFFERS)}")
    return names


def check_buffers(text: str | None) -> str | None:
    """Typer callback for ``--buffers``."""
    parse_buffers(text)
    return text
