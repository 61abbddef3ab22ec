"""`cat /proc/uptime` → seconds since boot.

``/proc/uptime`` holds two decimals, ``12345.67 23456.78``: time since boot and idle time
summed over CPUs. It reads the same on every Android release, unlike the `uptime` applet
(missing from old toolbox builds).
"""

from __future__ import annotations

import math

from tsdtool.parsers import decode


def parse(data: bytes) -> float | None:
    """Seconds since boot, or None when the first field is not a number."""
    fields = decode(data).split()
    try:
        seconds = float(fields[0]) if fields else math.nan
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
