"""The ``backup:`` device service: ``adb backup`` of a fake terminal's apps.

adbd runs ``/system/bin/bu backup ARGS`` on a raw stream for it (AOSP system/core
adb/daemon/services.cpp); the service came with Android 4.0, so :func:`services.accepts`
refuses it below API 14. Android then shows the person a confirmation screen; nothing is
sent until they tap «Back up my data». A declined or unanswered confirmation ends with an
empty stream (BackupManagerService waits for the answer, then closes the output).

What the stream holds (frameworks/base BackupManagerService / PerformAdbBackupTask and
android.app.backup.FullBackup): ``ANDROID BACKUP``, the format version, ``1``/``0`` for zlib
compression, the encryption (``none``; ``AES-256`` when a desktop backup password is set,
followed by key material), then a zlib stream of a tar with ``apps/PKG/_manifest`` and the
app's private files under the tree tokens ``r`` (data root), ``f`` (files/), ``db``
(databases/), ``sp`` (shared_prefs/) and ``ef`` (external files). cache/, code_cache/,
no_backup/ and lib/ are never backed up.

Which apps give data: a package with ``allow_backup = false`` (packages.toml) gives nothing;
on API 31+ an app targeting 31+ that is not debuggable gives nothing (Android 12's adb
backup restriction). The person's answer comes from device.toml::

    [backup]
    answer = "confirm"     # "confirm" (default) | "deny" | "none" (never answered)
    after_ms = 0           # how long the person takes to tap
    timeout_ms = 60000     # how long Android waits for an answer before giving up
    password = false       # a desktop backup password is set: the stream is encrypted

Nothing on the terminal changes.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import time
import tomllib
import zlib

from .devicefs import ROOT
from .terminal import FixtureError, Terminal

_KEYS = {"answer", "after_ms", "timeout_ms", "password"}
_SKIPPED_DIRS = {"cache", "code_cache", "no_backup", "lib"}
_TOKENS = {"files": "f", "databases": "db", "shared_prefs": "sp"}


def settings(terminal: Terminal) -> dict:
    with (terminal.fixture / "device.toml").open("rb") as f:
        table = tomllib.load(f).get("backup", {})
    unknown = set(table) - _KEYS
    answer = table.get("answer", "confirm")
    if unknown or answer not in ("confirm", "deny", "none"):
        raise FixtureError(f"{terminal.fixture}/device.toml: [backup] takes {sorted(_KEYS)}; "
                           f"answer is confirm|deny|none; got {table!r}")
    return {"answer": answer, "after": table.get("after_ms", 0) / 1000,
            "timeout": table.get("timeout_ms", 60000) / 1000, "password": bool(table.get("password", False))}


def format_version(sdk: int) -> int:
    """The backup format version by Android release (1: 4.0, 2: 4.4.3, 3: 7, 4: 8, 5: 9+)."""
    return 5 if sdk >= 28 else 4 if sdk >= 26 else 3 if sdk >= 24 else 2 if sdk >= 19 else 1


def serve_backup(terminal: Terminal, args: str, channel, meter) -> None:
    conf = settings(terminal)
    words = shlex.split(args)
    packages = [w for w in words if not w.startswith("-")]
    compress = "-nocompress" not in words
    answered = conf["answer"] != "none" and conf["after"] <= conf["timeout"]
    time.sleep(conf["after"] if answered else conf["timeout"])
    if not answered or conf["answer"] == "deny":
        return  # declined, or not answered in time: an empty stream
    if conf["password"]:
        header = f"ANDROID BACKUP\n{format_version(terminal.sdk)}\n1\nAES-256\n".encode()
        meter.send(b"", header + b"0" * 64 + b"\n" + bytes(range(256)))
        return
    header = f"ANDROID BACKUP\n{format_version(terminal.sdk)}\n{int(compress)}\nnone\n".encode()
    body = _archive(terminal, packages)
    payload = zlib.compress(body) if compress else body
    meter.send(b"", header)
    for at in range(0, len(payload), 64 * 1024):
        meter.send(b"", payload[at:at + 64 * 1024])


def _gives_data(terminal: Terminal, name: str) -> bool:
    pkg = terminal.packages.get(name)
    if pkg is None or not pkg.allow_backup:
        return False
    return not (terminal.sdk >= 31 and pkg.target_sdk >= 31 and not pkg.debuggable)


def _archive(terminal: Terminal, packages: list[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in packages:
            if not _gives_data(terminal, name):
                continue
            pkg = terminal.packages[name]
            manifest = f"1\n{name}\n{pkg.version_code}\n{terminal.sdk}\n{pkg.installer}\n0\n1\n00\n".encode()
            _add(tar, f"apps/{name}/_manifest", manifest)
            for member, data in _app_files(terminal, name):
                _add(tar, member, data)
    return buf.getvalue()


def _app_files(terminal: Terminal, package: str):
    """(tar name, bytes) of the app's files in FullBackup's order: r, f, db, sp, ef."""
    roots = {"r": [], "f": [], "db": [], "sp": [], "ef": []}
    top = f"/data/data/{package}"
    try:
        entries = list(terminal.fs.walk(top, ROOT))
    except OSError:
        entries = []
    for path, info, _ in entries:
        if isinstance(info, Exception) or not info.is_file:
            continue
        rel = path[len(top) + 1:]
        first, _, rest = rel.partition("/")
        if first in _SKIPPED_DIRS:
            continue
        token = _TOKENS.get(first) if rest else None
        roots[token or "r"].append((f"apps/{package}/{token}/{rest}" if token else f"apps/{package}/r/{rel}", path))
    ext = f"/sdcard/Android/data/{package}/files"
    try:
        for path, info, _ in terminal.fs.walk(ext, ROOT):
            if not isinstance(info, Exception) and info.is_file:
                roots["ef"].append((f"apps/{package}/ef/{path[len(ext) + 1:]}", path))
    except OSError:
        pass
    for token in ("r", "f", "db", "sp", "ef"):
        for member, path in roots[token]:
            yield member, terminal.fs.read_bytes(path, ROOT)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o600
    tar.addfile(info, io.BytesIO(data))
