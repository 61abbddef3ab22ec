"""pull-db's command lines up to its ranges, and the readers of their answers (standard library only).

pull-db asks run-as's listing with ``pm path`` before its heavy imports (:func:`tsdtool.quick.pull_db`
through :func:`tsdtool.transport.wire.first_shell`), for the folders of the fallback app profile that
most apps match, and :mod:`tsdtool.apps.early` asks what follows from its answer (the headers, gzip and
the sizes, the ranges) before those imports end. :class:`~tsdtool.apps.access.RunAs`,
:mod:`tsdtool.collectors.database` and :mod:`tsdtool.apps.gzpull` build their lines with the same
functions, once the app's own profile is read: where a line is the same, byte for byte, the answer
asked early is read instead of asking again; where it is not (an app profile with other folders),
the early answer is dropped unread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tsdtool.transport.wire import join

DATA_ROOT = "/data/data/{package}"  # the private folder of user 0 (a link to /data/user/0/… on 7+)
# app_profiles/generic.toml's `internal` (tests/test_pull_db.py holds them equal)
FALLBACK_INTERNAL = ("databases", "files", "shared_prefs")
SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database file
SIDECARS = ("-wal", "-shm", "-journal")
HEADS_AT_ONCE = 64  # files whose headers one ``head`` is asked for (its command line stays short)

# gzpull's ranges (its module docstring says why)
STREAMS = 4  # ranges of a large set: a 4-core terminal deflates ~120 MB/s at -1, past what USB 2.0 carries
MAX_STREAMS = 8  # at most this many streams at once (a set of many small files)
# Smaller pieces are not worth a stream of their own (a few processes to start on the terminal);
# larger ones would leave a mid-sized file on one core, which deflates slower than USB carries.
MIN_RANGE = 1024 * 1024
MIN_TOTAL = 1024 * 1024  # below this one tar stream (one request, no gzip to start) is as quick
MAX_PROBED = 64  # files probed beside the reading of their headers (a longer listing: one probe after)

Wrap = Callable[[Sequence[str]], str]  # a way's shell line for a command (access.Way.wrap)


def find_args(dirs: Sequence[str]) -> list[str]:
    """``find`` listing every regular file below ``dirs``, each name ended by a NUL."""
    return ["find", *dirs, "-type", "f", "-print0"]


def run_as_find(package: str, folders: Sequence[str] = FALLBACK_INTERNAL) -> list[str]:
    """The listing RunAs asks for ``folders`` (relative to the app's private folder)."""
    return ["run-as", package, *find_args(_dirs(package, folders))]


def _dirs(package: str, folders: Sequence[str]) -> list[str]:
    root = DATA_ROOT.format(package=package)
    return [root if f in ("", ".") else f"{root}/{f}" for f in folders]


# What pull-db asks beside run-as's listing, before its answer: ``command -v gzip``, then the same
# ``find`` hands every file it finds to ``stat`` (the sizes, as :func:`probe_line`) and to ``head``
# (the headers, as :func:`split_heads` reads them), so the ranges need not wait for a second round
# trip after the listing (apps/early.py). ``-exec CMD {} +`` runs CMD once with every name, in the
# order found, after the walk, each ``-exec`` in the order given: toybox's find has it since its 2014
# rewrite (toys/posix/find.c: "End with ';' to run each file, or '+' … to collect and run with
# multiple files"; the names go in one list per -exec, run at the end in the order of the -execs).
def run_as_find_beside(package: str, folders: Sequence[str] = FALLBACK_INTERNAL) -> str:
    """``command -v gzip``, then ``stat -c '%s %n'`` and ``head -c 16`` of every file run-as's
    listing of ``folders`` finds."""
    return join(["command", "-v", "gzip"]) + " && " + join(
        ["run-as", package, "find", *_dirs(package, folders), "-type", "f",
         "-exec", "stat", "-c", "%s %n", "{}", "+", "-exec", "head", "-c", str(len(SQLITE_MAGIC)), "{}", "+"])


def beside_answer(stdout: bytes, paths: Sequence[str]) -> tuple[dict[str, int], dict[str, bytes]] | None:
    """``(sizes, headers)`` of ``paths`` (the listing's, in its order) from :func:`run_as_find_beside`'s
    output, or None when gzip was not found or the output does not name exactly these files in
    this order (a file came or went between the two ``find``)."""
    found, _, rest = stdout.partition(b"\n")
    if not found.strip().endswith(b"gzip"):
        return None
    sizes: dict[str, int] = {}
    pos = 0
    for path in paths:  # "SIZE PATH\n" each, whatever PATH holds: it is known whole
        line_end = b" " + path.encode("utf-8", "surrogateescape") + b"\n"
        end = rest.find(line_end, pos)
        if end < 0 or not rest[pos:end].isdigit():
            return None
        sizes[path], pos = int(rest[pos:end]), end + len(line_end)
    n = len(SQLITE_MAGIC)
    heads = rest[pos:]
    if len(paths) == 1:  # one file: head prints its bytes without a header, at most n of them
        return (sizes, {paths[0]: heads}) if len(heads) <= n else None
    read = split_heads(heads, paths, n)
    return None if read is None else (sizes, read)


def groups(paths: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """``(path, {suffix: sidecar path})`` for each listed file that is not itself a listed file's
    ``-wal``/``-shm``/``-journal``, with those of its sidecars that are listed."""
    listed = set(paths)
    return [(p, {s: p + s for s in SIDECARS if p + s in listed}) for p in paths
            if not any(p.endswith(s) and p[: -len(s)] in listed for s in SIDECARS)]


def split_heads(out: bytes, paths: Sequence[str], n: int) -> dict[str, bytes] | None:
    """``head -c N`` of several files as toybox prints it: ``==> PATH <==`` and a newline before the
    first N bytes of each file it opened, an empty line between files (toys/posix/head.c); a file
    it could not open has no header (b"" here, as :meth:`Way.head` gives). None when ``out`` is not
    in that form. A file's bytes end where the next opened file's header starts, at most N bytes
    on: the longest such reading is taken (a header is longer than N bytes, and every path starts
    with its way's root, so the bytes of one file cannot pass for a header)."""
    names = [path.encode("utf-8", "surrogateescape") for path in paths]
    found: dict[str, bytes] = {}
    pos, sep = 0, b""
    for i, name in enumerate(names):
        header = sep + b"==> " + name + b" <==\n"
        if not out.startswith(header, pos):
            found[paths[i]] = b""
            continue
        pos += len(header)
        later = [b"\n==> " + other + b" <==\n" for other in names[i + 1:]]
        end = next((q for q in range(min(pos + n, len(out)), pos - 1, -1)
                    if q == len(out) or any(out.startswith(header, q) for header in later)), None)
        if end is None:
            return None
        found[paths[i]], pos, sep = out[pos:end], end, b"\n"
    return found if pos == len(out) else None


def probe_line(wrap: Wrap, paths: Sequence[str]) -> str:
    """``command -v gzip`` (as the adb shell user, who runs gzip), then the sizes through the way."""
    return join(["command", "-v", "gzip"]) + " && " + wrap(["stat", "-c", "%s %n", *paths])


def probe_answer(stdout: bytes, paths: Sequence[str]) -> tuple[bool, dict[str, int]]:
    """``(gzip found, sizes)`` from :func:`probe_line`'s output."""
    lines = stdout.decode("utf-8", "surrogateescape").split("\n")
    return lines[0].strip().endswith("gzip"), sizes(lines[1:], set(paths))


def sizes(lines: Sequence[str], known: set[str]) -> dict[str, int]:
    """device path → size, from ``stat -c '%s %n'`` lines (a name with a newline stays unknown)."""
    found: dict[str, int] = {}
    for line in lines:
        size, _, name = line.partition(" ")
        if size.isdigit() and name in known:
            found[name] = int(size)
    return found


def plan(size: int, total: int, streams: int = STREAMS) -> list[tuple[int, int | None]]:
    """``(offset, length)`` ranges for a file of ``size`` bytes out of ``total`` to copy; the last
    range has length None (to the end of the file)."""
    piece = max(MIN_RANGE, total // streams)
    count = min(streams, max(1, size // piece))  # each range at least a piece (≥ MIN_RANGE)
    step = size // count
    return [(k * step, step if k < count - 1 else None) for k in range(count)]


def plans(paths: Sequence[str], known: dict[str, int]) -> dict[str, list[tuple[int, int | None]]] | None:
    """Each file's ranges, or None when the set goes in one uncompressed stream (small, all sizes known)."""
    total = sum(known.get(p, 0) for p in paths)
    if total < MIN_TOTAL and all(p in known for p in paths):
        return None
    return {p: plan(known[p], total) if p in known else [(0, None)] for p in paths}


def range_line(wrap: Wrap, path: str, offset: int, length: int | None, size: int | None = None) -> str:
    """The shell line sending one range deflated: the way reads, head/gzip run as the shell user.
    A range after the first is counted from the end of the file of ``size`` bytes."""
    if offset == 0 and length is None:
        read = wrap(["cat", path])
    elif offset == 0:
        return f"{wrap(['head', '-c', str(length), path])} | gzip -1"
    else:
        assert size is not None and size > offset
        read = wrap(["tail", "-c", str(size - offset), path])
        if length is not None:
            read += " | " + join(["head", "-c", str(length)])
    return f"{read} | gzip -1"
