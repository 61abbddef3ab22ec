"""run-as's listing of an app's private folders, as a command line (standard library only).

pull-db asks it with ``pm path`` before its heavy imports (:func:`tsdtool.quick.pull_db` through
:func:`tsdtool.transport.wire.first_shell`), for the folders of the fallback app profile that most
apps match. :class:`~tsdtool.apps.access.RunAs` asks its listing with :func:`find_args` too, once
the app's own profile is read: where that line is the same, byte for byte, the answer asked early
is read instead of asking again; where it is not (an app profile with other folders), the early
answer is dropped unread.
"""

from __future__ import annotations

from collections.abc import Sequence

DATA_ROOT = "/data/data/{package}"  # the private folder of user 0 (a link to /data/user/0/… on 7+)
# app_profiles/generic.toml's `internal` (tests/test_pull_db.py holds them equal)
FALLBACK_INTERNAL = ("databases", "files", "shared_prefs")


def find_args(dirs: Sequence[str]) -> list[str]:
    """``find`` listing every regular file below ``dirs``, each name ended by a NUL."""
    return ["find", *dirs, "-type", "f", "-print0"]


def run_as_find(package: str, folders: Sequence[str] = FALLBACK_INTERNAL) -> list[str]:
    """The listing RunAs asks for ``folders`` (relative to the app's private folder)."""
    root = DATA_ROOT.format(package=package)
    return ["run-as", package, *find_args([root if f in ("", ".") else f"{root}/{f}" for f in folders])]
