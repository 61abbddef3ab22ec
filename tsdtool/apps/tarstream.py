"""Unpack a tar stream from the terminal into an OutputDir without trusting a single byte of it.

The stream is read with stdlib :mod:`tarfile` in streaming mode (``r|``: no seeking, one
member at a time, constant memory) and :meth:`tarfile.TarFile.extract` is never called.
A member is written only when its name is one we asked for; the local name then comes
from our own request (through :class:`~tsdtool.outdir.OutputDir`), never from the archive.
Absolute names, ``..``, links, devices and FIFOs are skipped and recorded. A sparse member
(a few KB that expand to any size) is refused; so is a member that declares more than the
per-item budget (:mod:`tsdtool.budgets`), before a byte of it is read, and the stream stops.

:func:`pump` connects a producer that *writes* (the seam streaming a device command into a
sink) to tarfile, which *reads*, through an OS pipe: the kernel's pipe buffer is the only
buffer, so memory stays flat whatever the size.
"""

from __future__ import annotations

import io
import os
import tarfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from tsdtool import budgets
from tsdtool.outdir import FAILED, Item, OutputDir

CHUNK = 64 * 1024
_KINDS = {tarfile.SYMTYPE: "symbolic link", tarfile.LNKTYPE: "hard link", tarfile.CHRTYPE: "character device",
          tarfile.BLKTYPE: "block device", tarfile.FIFOTYPE: "FIFO"}


class MemberRefused(budgets.OverBudget):
    """A member over the per-item budget: its bytes would have to be read to skip it, so the
    stream stops here (the member is recorded failed with this reason)."""


@dataclass(frozen=True)
class Target:
    """Where a member we asked for goes: ``wanted`` local name, ``source`` device path."""

    wanted: str
    source: str


def member_key(name: str) -> str:
    """A member name as compared with what we asked for: ``./a/b`` and ``a/b`` are the same."""
    while name.startswith("./"):
        name = name[2:]
    return name


def unsafe(name: str) -> str:
    """Why a member name must not be used at all ('' when it is harmless)."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute name"
    if ".." in name.replace("\\", "/").split("/"):
        return "'..' in the name"
    if "\x00" in name:
        return "NUL in the name"
    return ""


def extract(
    stream: BinaryIO,
    wanted: Mapping[str, Target],
    out: OutputDir,
    *,
    kind: str,
    progress: Callable[[int], None] | None = None,
    done: dict[str, Item] | None = None,
) -> dict[str, Item]:
    """Write the members named in ``wanted`` (keys as :func:`member_key` gives them).

    Returns the items written completely, by key (also filled into ``done`` as they
    complete, so a caller still knows them when the stream breaks). Everything else in the archive is recorded
    as skipped with the reason. A broken stream raises (``tarfile.ReadError`` or the
    producer's own error); the member being written is then recorded failed by OutputDir.
    """
    done = {} if done is None else done
    with tarfile.open(fileobj=stream, mode="r|", encoding="utf-8", errors="surrogateescape") as archive:
        for member in archive:
            name = member.name
            why = unsafe(name)
            key = member_key(name)
            if not why and member.isdir():
                continue
            if not why and not member.isreg():
                why = f"not a regular file ({_KINDS.get(member.type, 'type ' + repr(member.type))})"
            if not why and (key not in wanted or key in done):
                why = "not asked for" if key not in wanted else "repeated in the stream"
            if why:
                out.skip(f"skipped/{name}", name, f"tar member skipped: {why}", kind=kind)
                continue
            target = wanted[key]
            refused = _refused(member, out.meter.budgets.item)
            if refused:
                done[key] = out.skip(target.wanted, target.source, f"tar member refused: {refused}",
                                     kind=kind, status=FAILED)
                if not member.issparse():
                    raise MemberRefused(refused)
                continue  # a sparse member's stored bytes are few: the stream goes on
            reader = archive.extractfile(member)
            assert reader is not None  # a regular member always has data
            with out.open(target.wanted, target.source, kind) as sink:
                while chunk := reader.read(CHUNK):
                    sink.write(chunk)
                    if progress:
                        progress(len(chunk))
            done[key] = out.items[-1]
    return done


def _refused(member: tarfile.TarInfo, limit: int) -> str:
    """Why a member's declared size is not accepted ('' when it is)."""
    if member.issparse():
        return f"sparse member declaring {budgets.human(member.size)}"
    if member.size > limit:
        return f"declares {budgets.human(member.size)}, over the per-item budget of {budgets.human(limit)}"
    return ""


class _PipeReader(io.RawIOBase):
    """The read end of the pipe; at EOF it raises the producer's error, if it had one."""

    def __init__(self, fd: int, state: dict[str, Any]):
        self._file = open(fd, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self._state = state

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._file.readinto(buffer)
        if not n and "error" in self._state:
            raise self._state["error"]
        return n or 0

    def close(self) -> None:
        self._file.close()
        super().close()


def pump(produce: Callable[[BinaryIO], Any], consume: Callable[[BinaryIO], Any]) -> tuple[Any, Any]:
    """Run ``produce(sink)`` in a thread and ``consume(stream)`` here, joined by an OS pipe.

    Returns ``(produced, consumed)`` results. An error of the consumer wins (it stops the
    producer by closing the pipe); an error of the producer surfaces where the consumer
    reads past the data it got, and again here if the consumer swallowed it.
    """
    r, w = os.pipe()
    state: dict[str, Any] = {}

    def run() -> None:
        sink = open(w, "wb", buffering=0)  # noqa: SIM115 - closed below, after the result is set
        try:
            state["result"] = produce(sink)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
            state["error"] = exc
        finally:
            sink.close()

    thread = threading.Thread(target=run, name="tsdtool-pump", daemon=True)
    thread.start()
    reader = io.BufferedReader(_PipeReader(r, state), CHUNK)
    try:
        consumed = consume(reader)
        while reader.read(CHUNK):  # drain what follows the archive's end so tar exits cleanly
            pass
    finally:
        reader.close()  # a producer still writing now gets EPIPE and stops
        thread.join()
    if "error" in state:
        raise state["error"]
    return state.get("result"), consumed


def mark_failed(out: OutputDir, keys: Mapping[str, Target], done: Mapping[str, Item], reason: str) -> None:
    """Record the targets no stream delivered (after a fatal error) as failed."""
    seen = {i.source for i in out.items if i.status == FAILED}
    for key, target in keys.items():
        if key not in done and target.source not in seen:
            out.skip(target.wanted, target.source, reason, status=FAILED)

