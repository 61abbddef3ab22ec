"""Size budgets: how much a terminal or a bundle may make tsdtool write, hold or read.

A terminal is not trusted (a 2 KB sparse tar member declares 1 GiB; ``cat`` of a growing
log never ends) and neither is a bundle (a manifest or a zip entry may claim anything).
The limits are declared here once and enforced at three places: the writers
(:class:`tsdtool.outdir.HashingWriter`: per item and per bundle), the seam
(:mod:`tsdtool.transport.adb`: shell output held in memory) and the bundle readers
(:mod:`tsdtool.bundle.verify`: per member, before reading it).

Defaults fit the largest real case with room: a 4 GB app database with its ``-wal``, and
100 MB of logs. Each can be raised (or lowered) with an environment variable holding a
size (``6G``, ``500M``, ``65536``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tsdtool import errors

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

ENV = {"item": "TSDTOOL_MAX_ITEM", "bundle": "TSDTOOL_MAX_BUNDLE", "shell": "TSDTOOL_MAX_SHELL_OUTPUT"}


@dataclass(frozen=True)
class Budgets:
    """Byte budgets: the most one file, one collection and one command's output may take."""

    item: int = 5 * GiB  # one file: a 4 GB database, with room
    bundle: int = 8 * GiB  # everything one collection writes: the database, its -wal, 100 MB of logs, …
    shell: int = 64 * MiB  # one command's output held in memory (getprop, dumpsys, a screenshot)


class OverBudget(errors.RemoteFileError):
    """An item, a bundle or a command's output is bigger than its budget: refused, not truncated."""

    fix = "if the terminal really holds that much, raise the budget (" + ", ".join(ENV.values()) + ")"


_SIZE = re.compile(r"(\d+)\s*([KMGT]?)i?B?", re.IGNORECASE)


def parse_size(text: str) -> int:
    found = _SIZE.fullmatch(text.strip())
    if not found:
        raise errors.UsageError(f"{text!r} is not a size", fix="for example 6G, 500M or 65536 (bytes)")
    return int(found.group(1)) * 1024 ** " KMGT".index(found.group(2).upper() or " ")


def current(env: Mapping[str, str] | None = None) -> Budgets:
    """The budgets in force: the defaults, overridden by the environment."""
    env = os.environ if env is None else env
    given = {key: parse_size(env[var]) for key, var in ENV.items() if env.get(var)}
    return Budgets(**given)


def human(n: int) -> str:
    for unit, size in (("TiB", GiB << 10), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def check(size: int, limit: int, what: str) -> None:
    """Raise :class:`OverBudget` when ``size`` is over ``limit``."""
    if size > limit:
        raise OverBudget(f"{what} is over its budget of {human(limit)}")


class Meter:
    """Counts what one output folder writes, against the per-item and per-bundle budgets."""

    def __init__(self, budgets: Budgets | None = None):
        self.budgets = budgets or current()
        self.total = 0

    def charge(self, item_size: int, n: int) -> None:
        """``n`` more bytes for an item that already has ``item_size``; raise before writing them."""
        check(item_size + n, self.budgets.item, "the item")
        check(self.total + n, self.budgets.bundle, "the collection")
        self.total += n
