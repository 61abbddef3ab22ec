"""pull-db's requests after run-as's listing, asked while the heavy imports run (standard library only).

:func:`tsdtool.quick.pull_db` starts ``pm path`` and run-as's listing of the fallback profile's
folders before it imports adbutils and the database code (:func:`tsdtool.transport.wire.first_shell`):
~0.1–0.2 s in which the answers are long back. :func:`follow` reads that listing on a thread and
asks at once what pull-db asks next from it, with the lines the usual code builds
(:mod:`tsdtool.apps.listing`): the headers of the candidates (one ``head``) beside gzip and the
sizes (one probe), then every range of the files that start with the SQLite header, deflated on
the terminal — each range's stream drained into memory by a thread of its own
(:class:`~tsdtool.transport.wire.Draining`, at most :data:`~tsdtool.transport.wire.HOLD` for all),
so the link carries the database while tsdtool imports. pull-db also asks, beside the listing,
gzip, the sizes and the headers of what the same ``find`` finds (:func:`folded`): from a clean
answer the ranges go out as soon as the listing is in, one round trip sooner, and the probe and
the ``head`` of the usual lines only after them, for the usual code to read. When that answer does
not match the listing (a file came or went between), it is set aside and the usual lines are
asked and read first, as without it.

Every answer read here is put back whole under its exact service string
(:class:`~tsdtool.transport.wire.Replay`); the usual code reads it as if it had asked
(:meth:`~tsdtool.transport.adb.Device._open`, which waits for this thread before it asks anything
not asked yet), checks it as always, and asks anew whatever it wants differently (an app profile
with other folders, another plan; what nobody took is closed at the end, its streams held at most
as above). Only a clean answer leads on: the listing with exit status 0, or 1 for folders the app
does not have; toybox's form of the headers; gzip found. Anything else stops here, and the usual
code asks, reads and words it as it always did. All of it within ``first.patience`` (--timeout, at
most :data:`~tsdtool.transport.wire.PATIENCE`).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

from tsdtool.apps import listing
from tsdtool.transport import wire


def follow(first: wire.First, package: str) -> None:
    """Ask, on a thread, what follows from the listing asked early (see the module docstring)."""
    service = wire.shell_service(wire.join(listing.run_as_find(package)))
    if service in first.asked:
        sock = first.asked.pop(service)  # out of the usual code's reach until the thread puts it back
        sizes = folded(package)
        beside = {sizes: first.asked.pop(sizes)} if sizes in first.asked else {}
        first.follow(lambda first, wake: _chain(first, package, service, sock, wake, beside))


def folded(package: str) -> str:
    """The service asked beside the listing, before its answer: gzip, the sizes and the headers of
    every file it finds (:func:`~tsdtool.apps.listing.run_as_find_beside`)."""
    return wire.shell_service(listing.run_as_find_beside(package))


def _chain(first: wire.First, package: str, listed: str, sock: socket.socket, wake: socket.socket,
           beside: dict[str, socket.socket] | None = None) -> None:
    deadline = time.monotonic() + first.patience
    spare: list[socket.socket] = []
    root = listing.DATA_ROOT.format(package=package)
    # into first.asked at the end
    mine: dict[str, socket.socket | wire.Replay | wire.Draining] = {listed: sock, **(beside or {})}

    def wrap(args: Sequence[str]) -> str:  # access.RunAs.wrap
        return wire.join(["run-as", package, *args])

    def result(service: str) -> tuple[int, bytes, bytes] | None:
        mine[service], stream = wire.answer(mine[service], wake, deadline)  # type: ignore[arg-type]
        return None if stream is None else wire.shell_result(stream)

    def ask(service: str) -> socket.socket:
        mine[service] = wire.ask(first, service, first.patience)
        return mine[service]  # type: ignore[return-value]

    def switched() -> list[socket.socket]:
        # the ranges' connections, switched to the terminal while it answers: the ranges then go out
        # at one instant, each one send (a connection not needed is closed unused)
        return wire.switched_all(first, listing.STREAMS, first.patience)

    try:
        if beside:
            spare = switched()  # the sizes and the headers come with the listing: the ranges may follow at once
        found = result(listed)
        if found is None or not _clean(found):
            return
        names = [n.decode("utf-8", "surrogateescape") for n in found[1].split(b"\0") if n]
        paths = [n for n in names if n.startswith(root + "/")]  # access._ShellWay.list
        if len(paths) > listing.MAX_PROBED:  # gzpull probes later what it keeps
            return
        # gzpull.probe_beside, and database.find_databases through Way.heads: the lines they send
        probe = wire.shell_service(listing.probe_line(wrap, paths))
        candidates = [path for path, _ in listing.groups(paths)]
        chunks = [candidates[n:n + listing.HEADS_AT_ONCE] for n in range(0, len(candidates), listing.HEADS_AT_ONCE)]
        heads = [wire.shell_service(wrap(["head", "-c", str(len(listing.SQLITE_MAGIC)), *c])) for c in chunks]

        def usual() -> None:  # asked for the usual code to read
            for service in (probe, *heads):
                ask(service)

        known = _beside(result(next(iter(beside))), paths) if beside else None
        if known is None:
            usual()
            spare = spare or switched()
            read: dict[str, bytes] = {}
            for chunk, service in zip(chunks, heads, strict=True):
                answered = result(service)
                if answered is not None and len(candidates) == 1:  # Way.head: no header for one file
                    split = {chunk[0]: answered[1][:len(listing.SQLITE_MAGIC)] if answered[0] == 0 else b""}
                else:
                    split = listing.split_heads(answered[1], chunk, len(listing.SQLITE_MAGIC)) if answered else None
                if split is None:
                    return
                read.update(split)
            probed = result(probe)
            if probed is None:
                return
            gzip, sizes = listing.probe_answer(probed[1], paths)
        else:
            gzip, (sizes, read) = True, known
        wanted = [f for path, sidecars in listing.groups(paths) if read.get(path) == listing.SQLITE_MAGIC
                  for f in (path, *sidecars.values())]
        plans = listing.plans(wanted, {p: sizes[p] for p in wanted if p in sizes}) if gzip and wanted else None
        if plans is None:
            if known is not None:
                usual()
            return
        # gzpull.fetch's pool starts the first MAX_STREAMS ranges in this order at once
        tasks = [(p, offset, length) for p in wanted for offset, length in plans[p]][:listing.MAX_STREAMS]
        ranges = [wire.shell_service(listing.range_line(wrap, path, offset, length, sizes.get(path)))
                  for path, offset, length in tasks]
        for service in ranges:
            mine[service] = wire.ask(first, service, first.patience, spare.pop() if spare else None)
        for service in ranges:  # each drained by a thread of its own, once all went out
            mine[service] = wire.Draining(mine[service], wire.HOLD // len(tasks))  # type: ignore[arg-type]
        if known is not None:
            usual()
    except (OSError, wire.Unclean):
        return  # what was asked is handed on; the usual code asks the rest
    finally:
        for service in beside or ():  # lines only this thread reads: closed now, read or not
            mine.pop(service).close()
        first.asked.update(mine)
        for sock in spare:
            sock.close()


def _clean(answer: tuple[int, bytes, bytes]) -> bool:
    """Exit status 0 without a word on stderr, or 1 for folders the app does not have."""
    return answer[0] == 0 and not answer[2] or _missing_folders(answer[2])


def _beside(answer: tuple[int, bytes, bytes] | None,
            paths: list[str]) -> tuple[dict[str, int], dict[str, bytes]] | None:
    """``(sizes, headers)`` of ``paths`` from the answer of :func:`folded`'s service, or None when it
    is not clean, gzip was not found, or it does not name the listing's files in its order."""
    return listing.beside_answer(answer[1], paths) if answer is not None and _clean(answer) else None


def _missing_folders(stderr: bytes) -> bool:
    """Whether ``find`` said nothing but that some of its folders do not exist (exit status 1:
    an app without ``files`` or ``shared_prefs``), which the usual listing takes as it is."""
    lines = stderr.decode("utf-8", "replace").splitlines()
    return bool(lines) and all(line.startswith("find: ") and line.endswith(": No such file or directory")
                               for line in lines)
