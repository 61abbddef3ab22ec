"""``dumpsys activity activities``: the lock-task (kiosk) state.

``LockTaskController.dump`` prints ``mLockTaskModeState=NONE|LOCKED|PINNED``: LOCKED is
lock-task mode started by an allow-listed app (a kiosk set up by the device owner), PINNED
is screen pinning started by a person.
"""

from __future__ import annotations

import re

from tsdtool.parsers import decode

_STATE = re.compile(r"mLockTaskModeState=(?P<state>[A-Z_]+)")


def lock_task_state(data: bytes) -> str | None:
    """``NONE``, ``LOCKED`` or ``PINNED``; None when the dump has no such line."""
    m = _STATE.search(decode(data))
    return m["state"] if m else None
