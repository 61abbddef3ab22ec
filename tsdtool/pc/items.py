"""Which bundle items of the PC side fill which ticket field: read from the manifest's items.

The PC collectors put the GRServer exchange folder under ``pc/grserver/exchange/`` and the
Mobile SMARTS logs under ``pc/mobilesmarts/bases/<base>/Logs/`` and
``pc/mobilesmarts/control-panel/Logs/``; a folder that was not attached is one item
``pc/grserver/exchange`` whose reason says why (and what the person still has to do). This
module only reads those paths (no I/O, nothing heavy to import), so the ticket and the report
can name the folders as values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

EXCHANGE = "pc/grserver/exchange"
_FOLDERS = {
    "exchange_folder": re.compile(r"^(pc/grserver/exchange/)"),
    "ms_logs": re.compile(r"^(pc/mobilesmarts/(?:bases/[^/]+|control-panel)/Logs/)"),
}


def folders(items: Iterable[Any]) -> dict[str, list[tuple[str, int, int]]]:
    """field key → ``(folder in the bundle, files, bytes)`` for each folder with stored files."""
    found: dict[str, dict[str, list[int]]] = {}
    for item in items:
        if item.status != "ok" or not item.stored or item.kind != "pc":
            continue
        for key, pattern in _FOLDERS.items():
            match = pattern.match(item.path)
            if match:
                count = found.setdefault(key, {}).setdefault(match.group(1), [0, 0])
                count[0] += 1
                count[1] += item.size
    return {key: [(folder, n, size) for folder, (n, size) in groups.items()] for key, groups in found.items()}


def gaps(items: Iterable[Any]) -> dict[str, str]:
    """field key → the recorded reason its folder is not in the bundle (too big, elsewhere…)."""
    found = [i.reason for i in items if i.path == EXCHANGE and i.status != "ok" and i.reason]
    return {"exchange_folder": found[-1]} if found else {}
