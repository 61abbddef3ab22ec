"""tsdtool.apps.tarstream: each member of an untrusted tar stream gets exactly one fate, and its reason.

Streams come from two places: tarfile here (for members a terminal may send but our fake does
not make, such as GNU sparse files) and the fake terminal's own ``tar -c`` (directories and
symbolic links, as toybox writes them).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.appdata_helpers import terminals
from tsdtool.apps import tarstream
from tsdtool.apps.tarstream import Target
from tsdtool.outdir import FAILED, OK, SKIPPED, OutputDir


@pytest.fixture
def fake_terminal(tmp_path):
    yield from terminals(tmp_path)


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    buf.seek(0)
    return buf


def _fates(out: OutputDir) -> list[tuple[str, str, str, str]]:
    return [(i.path, i.source, i.status, i.reason) for i in out.items]


GNU = tarfile.GNU_FORMAT
WANTED = {"db/ok.db": Target("internal/db/ok.db", "/data/data/p/db/ok.db")}


# -- names ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "key"),
    [("./a/b", "a/b"), ("././a", "a"), ("a/./b", "a/./b"), ("a", "a"), (".hidden", ".hidden"), ("./", "")],
)
def test_member_key_drops_only_leading_dot_slashes(name, key):
    assert tarstream.member_key(name) == key


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("/etc/passwd", "absolute name"),
        ("C:/Windows/x", "absolute name"),
        ("c:", "absolute name"),
        ("/../x", "absolute name"),  # the first reason found is the one given
        ("..", "'..' in the name"),
        ("../x", "'..' in the name"),
        ("a/../../x", "'..' in the name"),
        ("a\\..\\x", "'..' in the name"),
        ("a/..", "'..' in the name"),
        ("a\x00b", "NUL in the name"),
        ("a", ""),
        ("a..b/c..", ""),
        ("./a/b", ""),
        ("...", ""),
    ],
)
def test_unsafe_names_each_reason(name, why):
    assert tarstream.unsafe(name) == why


# -- extract: every member's fate -----------------------------------------------------------------

def test_each_skipped_member_is_recorded_under_its_own_name_with_its_own_reason(tmp_path):
    stream = _tar([
        (_member("/etc/passwd"), b"root"),
        (_member("../escape.db"), b"x"),
        (_member("db/link", tarfile.SYMTYPE, "/"), b""),
        (_member("db/hard", tarfile.LNKTYPE, "db/ok.db"), b""),
        (_member("db/chr", tarfile.CHRTYPE), b""),
        (_member("db/blk", tarfile.BLKTYPE), b""),
        (_member("db/fifo", tarfile.FIFOTYPE), b""),
        (_member("db/extra.db"), b"unasked"),
        (_member("./db/ok.db"), b"fine"),
        (_member("db/ok.db"), b"again"),
    ])
    out = OutputDir(tmp_path / "out")
    done = tarstream.extract(stream, WANTED, out, kind="database")
    assert _fates(out) == [
        ("skipped/etc/passwd", "/etc/passwd", SKIPPED, "tar member skipped: absolute name"),
        ("skipped/escape.db", "../escape.db", SKIPPED, "tar member skipped: '..' in the name"),
        ("skipped/db/link", "db/link", SKIPPED, "tar member skipped: not a regular file (symbolic link)"),
        ("skipped/db/hard", "db/hard", SKIPPED, "tar member skipped: not a regular file (hard link)"),
        ("skipped/db/chr", "db/chr", SKIPPED, "tar member skipped: not a regular file (character device)"),
        ("skipped/db/blk", "db/blk", SKIPPED, "tar member skipped: not a regular file (block device)"),
        ("skipped/db/fifo", "db/fifo", SKIPPED, "tar member skipped: not a regular file (FIFO)"),
        ("skipped/db/extra.db", "db/extra.db", SKIPPED, "tar member skipped: not asked for"),
        ("internal/db/ok.db", "/data/data/p/db/ok.db", OK, ""),
        ("skipped/db/ok.db", "db/ok.db", SKIPPED, "tar member skipped: repeated in the stream"),
    ]
    assert {i.kind for i in out.items} == {"database"}
    assert done == {"db/ok.db": out.items[8]}
    assert (tmp_path / "out/internal/db/ok.db").read_bytes() == b"fine"  # the first copy, not "again"
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["out/internal/db/ok.db"]


def test_directory_members_are_passed_over_silently_unless_their_name_is_unsafe(tmp_path):
    stream = _tar([
        (_member("./", tarfile.DIRTYPE), b""),
        (_member("./db/", tarfile.DIRTYPE), b""),
        (_member("../up/", tarfile.DIRTYPE), b""),
        (_member("./db/ok.db"), b"fine"),
    ])
    out = OutputDir(tmp_path / "out")
    done = tarstream.extract(stream, WANTED, out, kind="database")
    assert _fates(out) == [
        ("skipped/up", "../up", SKIPPED, "tar member skipped: '..' in the name"),
        ("internal/db/ok.db", "/data/data/p/db/ok.db", OK, ""),
    ]
    assert list(done) == ["db/ok.db"]


def test_a_member_of_an_unknown_type_is_named_by_its_type_byte(tmp_path):
    stream = _tar([(_member("db/cont", tarfile.CONTTYPE), b"")])  # '7': contiguous file, rare
    out = OutputDir(tmp_path / "out")
    tarstream.extract(stream, WANTED, out, kind="database")
    # tarfile counts CONTTYPE as a regular file: it is "not asked for", not a type problem
    assert _fates(out) == [("skipped/db/cont", "db/cont", SKIPPED, "tar member skipped: not asked for")]
    stream = _tar([(_member("db/odd", b"Z"), b"")])
    out = OutputDir(tmp_path / "out2")
    tarstream.extract(stream, WANTED, out, kind="database")
    assert _fates(out) == [("skipped/db/odd", "db/odd", SKIPPED, "tar member skipped: not a regular file (type b'Z')")]


def _sparse_member(name: str, size: int, chunks: list[tuple[int, bytes]]) -> bytes:
    """An old-GNU sparse member (type 'S', as GNU tar --sparse writes it): header, then the data runs."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.GNUTYPE_SPARSE
    info.size = sum(len(d) for _, d in chunks)
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    for n, (offset, data) in enumerate(chunks):
        pos = 386 + 24 * n
        header[pos : pos + 24] = tarfile.itn(offset, 12, GNU) + tarfile.itn(len(data), 12, GNU)
    header[483:495] = tarfile.itn(size, 12, GNU)
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header[:512])
    body = b"".join(d for _, d in chunks)
    return bytes(header) + body + b"\0" * (-len(body) % 512)


def test_a_sparse_member_asked_for_is_refused_and_the_stream_goes_on(tmp_path):
    """Issue 14: toybox tar sends no sparse member unless asked (-S), and a few stored bytes
    may expand to any size (a 2 KB member became a written 1 GiB file): refused, whatever size
    it declares, with the reason; nothing is written for it and the next member still is."""
    raw = _sparse_member("db/ok.db", 10_000, [(0, b"SQLite format 3\x00"), (8192, b"page")])
    after = _tar([(_member("db/b.db"), b"bee")])
    stream = io.BytesIO(raw + after.getvalue())
    wanted = dict(WANTED, **{"db/b.db": Target("b.db", "/d/b.db")})
    out = OutputDir(tmp_path / "out")
    seen = []
    done = tarstream.extract(stream, wanted, out, kind="database", progress=seen.append)
    assert _fates(out)[0] == ("internal/db/ok.db", "/data/data/p/db/ok.db", FAILED,
                              "tar member refused: sparse member declaring 9.8 KiB")
    assert not (tmp_path / "out/internal/db/ok.db").exists() and done["db/ok.db"].status == FAILED
    assert (tmp_path / "out/b.db").read_bytes() == b"bee" and sum(seen) == 3


def test_progress_is_told_every_chunk_and_a_given_done_map_is_filled(tmp_path):
    big = bytes(range(256)) * 1024  # 256 KiB: four chunks
    stream = _tar([(_member("db/ok.db"), big), (_member("db/b.db"), b"bee")])
    wanted = dict(WANTED, **{"db/b.db": Target("b.db", "/d/b.db")})
    out = OutputDir(tmp_path / "out")
    seen, done = [], {}
    returned = tarstream.extract(stream, wanted, out, kind="database", progress=seen.append, done=done)
    assert returned is done and list(done) == ["db/ok.db", "db/b.db"]
    assert seen == [tarstream.CHUNK] * 4 + [3]
    assert (done["db/ok.db"].size, done["db/b.db"].size) == (len(big), 3)
    assert (tmp_path / "out/internal/db/ok.db").read_bytes() == big


def test_a_member_already_in_done_counts_as_repeated(tmp_path):
    out = OutputDir(tmp_path / "out")
    earlier = out.write_bytes("internal/db/ok.db", b"first", "/data/data/p/db/ok.db")
    tarstream.extract(_tar([(_member("db/ok.db"), b"second")]), WANTED, out, kind="database",
                      done={"db/ok.db": earlier})
    assert _fates(out)[1] == ("skipped/db/ok.db", "db/ok.db", SKIPPED, "tar member skipped: repeated in the stream")


def test_a_stream_cut_in_a_member_raises_and_leaves_that_member_failed(tmp_path):
    raw = _tar([(_member("db/ok.db"), b"x" * 5000)]).getvalue()[:2048]
    out = OutputDir(tmp_path / "out")
    done = {}
    with pytest.raises(tarfile.ReadError):
        tarstream.extract(io.BytesIO(raw), WANTED, out, kind="database", done=done)
    assert done == {}
    assert [(i.path, i.status) for i in out.items] == [("internal/db/ok.db.part", FAILED)]


# -- the fake terminal's own tar stream: directories and links as toybox writes them --------------

def test_the_fake_terminals_tar_of_a_folder_with_a_subfolder_and_a_link(fake_terminal, tmp_path):
    root = "/sdcard/Android/data/com.acme.scan"
    fake = fake_terminal(
        files={f"{root}/databases/app.db": "main", f"{root}/databases/sub/x.db": "sub"},
        symlinks={f"{root}/databases/alias.db": f"{root}/databases/app.db"},
    )
    wanted = {
        "databases/app.db": Target("internal/databases/app.db", f"{root}/databases/app.db"),
        "databases/sub/x.db": Target("internal/databases/sub/x.db", f"{root}/databases/sub/x.db"),
        "databases/alias.db": Target("internal/databases/alias.db", f"{root}/databases/alias.db"),
    }
    out = OutputDir(tmp_path / "out")
    device = fake.device()
    script = f"tar -c -f - -C {root} ./databases"
    raw = io.BytesIO()
    device.stream_shell((), raw, script=script)
    with tarfile.open(fileobj=io.BytesIO(raw.getvalue())) as archive:
        kinds = {m.name: m.type for m in archive}
    assert kinds == {  # what the stream holds: two folders, two files, one link
        "./databases": tarfile.DIRTYPE, "./databases/sub": tarfile.DIRTYPE,
        "./databases/app.db": tarfile.REGTYPE, "./databases/sub/x.db": tarfile.REGTYPE,
        "./databases/alias.db": tarfile.SYMTYPE,
    }
    result, done = tarstream.pump(
        lambda sink: device.stream_shell((), sink, script=script),
        lambda stream: tarstream.extract(stream, wanted, out, kind="database"),
    )
    assert result.ok, result
    assert sorted(done) == ["databases/app.db", "databases/sub/x.db"]
    skipped = [(i.path, i.reason) for i in out.items if i.status == SKIPPED]
    assert skipped == [("skipped/databases/alias.db", "tar member skipped: not a regular file (symbolic link)")]
    assert (tmp_path / "out/internal/databases/app.db").read_bytes() == b"main"
    assert (tmp_path / "out/internal/databases/sub/x.db").read_bytes() == b"sub"
    assert not (tmp_path / "out/internal/databases/alias.db").exists()
    # the link was asked for and not delivered: mark_failed names it, and only it
    tarstream.mark_failed(out, wanted, done, "not copied: a link")
    failed = [(i.path, i.source, i.reason) for i in out.items if i.status == FAILED]
    assert failed == [("internal/databases/alias.db", f"{root}/databases/alias.db", "not copied: a link")]


# -- mark_failed ----------------------------------------------------------------------------------

def test_mark_failed_records_each_undelivered_target_once(tmp_path):
    out = OutputDir(tmp_path / "out")
    targets = {
        "a.db": Target("internal/a.db", "/d/a.db"),  # delivered
        "b.db": Target("internal/b.db", "/d/b.db"),  # already failed mid-write
        "c.db": Target("internal/c.db", "/d/c.db"),  # never reached
        "d.db": Target("internal/d.db", "/d/d.db"),  # never reached; skipped before, not failed
    }
    a = out.write_bytes("internal/a.db", b"a", "/d/a.db")
    with pytest.raises(OSError), out.open("internal/b.db", "/d/b.db") as sink:
        sink.write(b"half")
        raise OSError("cut")
    out.skip("skipped/d.db", "/d/d.db", "tar member skipped: not asked for")
    before = len(out.items)
    tarstream.mark_failed(out, targets, {"a.db": a}, "not copied: connection lost")
    added = [(i.path, i.source, i.status, i.reason) for i in out.items[before:]]
    assert added == [
        ("internal/c.db", "/d/c.db", FAILED, "not copied: connection lost"),
        ("internal/d.db", "/d/d.db", FAILED, "not copied: connection lost"),
    ]
    assert not (tmp_path / "out/internal/c.db").exists()


def test_mark_failed_with_everything_done_adds_nothing(tmp_path):
    out = OutputDir(tmp_path / "out")
    a = out.write_bytes("a.db", b"a", "/d/a.db")
    tarstream.mark_failed(out, {"a.db": Target("a.db", "/d/a.db")}, {"a.db": a}, "not copied")
    assert _fates(out) == [("a.db", "/d/a.db", OK, "")]


# -- pump -----------------------------------------------------------------------------------------

def test_pump_returns_both_results_and_carries_every_byte():
    payload = bytes(range(256)) * 4096  # 1 MiB: many pipe buffers

    def produce(sink):
        for i in range(0, len(payload), 10_000):
            sink.write(payload[i : i + 10_000])
        return "produced"

    produced, consumed = tarstream.pump(produce, lambda stream: stream.read())
    assert produced == "produced" and consumed == payload


def test_pump_drains_what_the_consumer_left_and_still_raises_a_swallowed_producer_error():
    class Lost(Exception):
        pass

    def produce(sink):
        sink.write(b"x" * 200_000)
        raise Lost("connection lost")

    def consume(stream):
        try:
            return stream.read(100)  # reads only the start
        except Lost:  # pragma: no cover - the error comes after the data
            return b""

    with pytest.raises(Lost, match="connection lost"):
        tarstream.pump(produce, consume)


def test_pump_with_a_clean_tar_stream_extracts_it(tmp_path):
    data = _tar([(_member("./db/ok.db"), b"fine")]).getvalue()
    out = OutputDir(tmp_path / "out")

    def produce(sink):
        sink.write(data)
        return "ok"

    produced, done = tarstream.pump(produce, lambda s: tarstream.extract(s, WANTED, out, kind="database"))
    assert produced == "ok" and list(done) == ["db/ok.db"]
    assert Path(tmp_path / "out/internal/db/ok.db").read_bytes() == b"fine"


def test_pump_hands_over_what_arrived_without_waiting_for_a_full_buffer():
    """A slow terminal's first bytes reach the consumer as they come (progress moves, the first
    member is written), not once 64 KiB have piled up: the producer here sends 5 bytes and then
    waits until the consumer has them."""
    import threading

    seen = threading.Event()

    def produce(sink):
        sink.write(b"hello")
        handed_over = seen.wait(10)  # a reader that waits to fill its buffer never sets it
        sink.write(b" world")
        return handed_over

    def consume(stream):
        first = stream.read1(tarstream.CHUNK)
        seen.set()
        return first + stream.read()

    produced, consumed = tarstream.pump(produce, consume)
    assert (produced, consumed) == (True, b"hello world")
