"""The bundle stores data that does not shrink instead of deflating it for nothing."""

from __future__ import annotations

import os
import zipfile
from datetime import UTC, datetime

import pytest

from tsdtool.bundle.manifest import BundleItem
from tsdtool.bundle.writer import BundleWriter


def test_incompressible_items_are_stored_text_is_deflated(tmp_path):
    writer = BundleWriter(tmp_path / "b.zip", datetime(2026, 1, 2, tzinfo=UTC))
    with writer:
        writer.add_bytes(BundleItem("db/random.db", "database", "x", "ok", ""), os.urandom(200_000))
        writer.add_bytes(BundleItem("logs/logcat.txt", "logcat", "x", "ok", ""), b"I/Tag: same line\n" * 20_000)
        writer._zip.close()
    with zipfile.ZipFile(writer.part) as z:
        assert z.getinfo("db/random.db").compress_type == zipfile.ZIP_STORED
        assert z.getinfo("logs/logcat.txt").compress_type == zipfile.ZIP_DEFLATED


def test_a_file_sparse_at_the_start_is_judged_by_its_middle(tmp_path):
    from tsdtool.outdir import Item

    staged = tmp_path / "staging"
    (staged / "db").mkdir(parents=True)
    (staged / "db" / "scans.db").write_bytes(bytes(300_000) + os.urandom(600_000))  # zeros, then noise
    writer = BundleWriter(tmp_path / "c.zip", datetime(2026, 1, 2, tzinfo=UTC))
    with writer:
        writer.add_staged(staged, Item("db/scans.db", "adb", kind="database"))
        writer._zip.close()
    with zipfile.ZipFile(writer.part) as z:
        assert z.getinfo("db/scans.db").compress_type == zipfile.ZIP_STORED


def test_the_level_follows_the_kind_and_the_bytes_come_back(tmp_path):
    import random
    import zlib

    rnd = random.Random(5)
    text = "".join(f"{rnd.randrange(10**12)} Склад Север {rnd.choice(['ok', 'fail'])}\n" for _ in range(40_000))
    data = text.encode()
    writer = BundleWriter(tmp_path / "d.zip", datetime(2026, 1, 2, tzinfo=UTC))
    with writer:
        writer.add_bytes(BundleItem("apps/x/scans.db", "database", "x", "ok", ""), data)
        writer.add_bytes(BundleItem("crash/anr/traces.txt", "crash", "x", "ok", ""), data)
        writer._zip.close()
    with zipfile.ZipFile(writer.part) as z:
        db, log = z.getinfo("apps/x/scans.db"), z.getinfo("crash/anr/traces.txt")
        assert z.read(db) == data and z.read(log) == data
    # level 1 for the database, the default 6 for a crash file: the sizes deflate gives at those levels
    assert abs(db.compress_size - len(zlib.compress(data, 1))) < 64
    assert abs(log.compress_size - len(zlib.compress(data, 6))) < 64
    assert db.compress_size > log.compress_size


def test_items_deflated_while_they_stream_in_go_into_the_bundle_as_they_are(tmp_path, monkeypatch):
    """A staging folder with ``deflate`` deflates each item as it arrives; packing copies those
    bytes (no second deflate, no second hash), stores what did not shrink, and the zip reads
    back byte for byte with the CRCs and hashes right."""
    import hashlib
    import random
    import zlib

    from tests.test_bundle import manifest
    from tsdtool.bundle import writer as writer_mod
    from tsdtool.bundle.verify import verify
    from tsdtool.outdir import OutputDir

    rnd = random.Random(7)
    text = "".join(f"{rnd.randrange(10**9)} Склад {rnd.choice(['ok', 'fail'])}\n" for _ in range(60_000)).encode()
    noise = os.urandom(3 << 20)
    out = OutputDir(tmp_path / "staging", deflate=True)
    items = {"apps/x/scans.db": ("database", text), "logcat.txt": ("logcat", text), "traces.txt": ("crash", text),
             "noise.db": ("database", noise),
             "tiny.txt": ("facts", b"x"), "empty.txt": ("facts", b"")}
    for name, (kind, data) in items.items():
        with out.open(name, "test", kind) as sink:
            for i in range(0, len(data), 65536):
                sink.write(data[i:i + 65536])
    deflates = []
    real = zlib.compressobj
    monkeypatch.setattr(writer_mod.zipfile.zlib, "compressobj", lambda *a, **k: deflates.append(a) or real(*a, **k))
    m = manifest()
    with BundleWriter(tmp_path / "b.zip", datetime(2026, 1, 2, tzinfo=UTC)) as writer:
        for staged in out.items:
            deflated = out.deflated(staged)
            assert deflated is not None, staged.path
            m.items.append(writer.add_staged(out.root, staged, deflated=deflated))
            deflated.close()
        path = writer.finish(m)
    assert deflates == [(6, zlib.DEFLATED, -15)]  # only the manifest, written last
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        for name, (_, data) in items.items():
            assert z.read(name) == data
            assert m.item(name).sha256 == hashlib.sha256(data).hexdigest() and m.item(name).size == len(data)
        info = {i.filename: i for i in z.infolist()}
    assert info["noise.db"].compress_type == zipfile.ZIP_STORED
    assert info["logcat.txt"].compress_type == info["apps/x/scans.db"].compress_type == zipfile.ZIP_DEFLATED
    # level 1 for the database and the logcat dump (the two largest), the default 6 for a crash
    # file, by the compressor in use (ISA-L or zlib)
    assert abs(info["apps/x/scans.db"].compress_size - _deflated_size(text, 1)) < 64
    assert abs(info["logcat.txt"].compress_size - _deflated_size(text, 1)) < 64
    assert abs(info["traces.txt"].compress_size - _deflated_size(text, 6)) < 64
    assert verify(path).ok


def _deflated_size(data: bytes, level: int) -> int:
    from tsdtool.outdir import compressobj

    z = compressobj(level)
    return len(z.compress(data) + z.flush())


def test_isal_where_installed_else_zlib_and_both_are_plain_deflate(monkeypatch):
    import builtins
    import importlib.util
    import zlib

    from tsdtool.outdir import compressobj

    data = b"".join(b"%d scanned 4006381333931\n" % i for i in range(50_000))
    z = compressobj(1)
    assert zlib.decompress(z.compress(data) + z.flush(), -15) == data
    if importlib.util.find_spec("isal") is not None:
        assert type(z).__module__.startswith("isal")
    real = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name))
                        if name.startswith("isal") else real(name, *a, **k))
    z = compressobj(6)
    assert type(z) is type(zlib.compressobj())
    assert zlib.decompress(z.compress(data) + z.flush(), -15) == data


def test_the_crc_is_isals_where_installed_else_zlibs_and_the_same(monkeypatch):
    import builtins
    import importlib.util
    import zlib

    from tsdtool.outdir import crc32_function

    data = os.urandom(100_000)
    crc = crc32_function()
    assert crc(data[50_000:], crc(data[:50_000], 0)) == zlib.crc32(data) and crc(b"", 7) == 7
    if importlib.util.find_spec("isal") is not None:
        assert crc is not zlib.crc32
    real = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name))
                        if name.startswith("isal") else real(name, *a, **k))
    assert crc32_function() is zlib.crc32


def test_an_item_whose_kind_changed_or_that_failed_is_packed_from_the_staged_file(tmp_path):
    from tsdtool.outdir import FAILED, OutputDir

    out = OutputDir(tmp_path / "staging", deflate=True)
    out.write_bytes("a.txt", b"a" * 10_000, "test", kind="")
    with out.open("b.db", "test", "database") as sink:
        sink.write(b"b" * 10_000)
    out.items[-1].status = FAILED
    first, second = out.items
    first.kind = "database"  # level 1 now, deflated at 6
    assert out.deflated(first) is None and out.deflated(second) is None
    out.write_bytes("c.png", b"c" * 10_000, "test", kind="screenshot")
    assert out.deflated(out.items[-1]) is None  # stored by name: never deflated
    assert OutputDir(tmp_path / "plain").deflate is False


def test_bytes_written_out_of_order_are_deflated_in_file_order_as_they_are_hashed(tmp_path):
    """Byte ranges that arrive in parallel (pwrite) are deflated in file order by hash_written()."""
    import zlib

    from tsdtool.outdir import OutputDir

    data = "".join(f"{i:06d} Склад Север\n" for i in range(40_000)).encode()
    out = OutputDir(tmp_path / "staging", deflate=True)
    with out.open("scans.db", "test", "database") as sink:
        half = len(data) // 2
        sink.pwrite(data[half:], half)
        sink.pwrite(data[:half], 0)
        sink.hash_written()
    deflated = out.deflated(out.items[0])
    assert deflated is not None and deflated.size == len(data) and deflated.crc == zlib.crc32(data)
    assert zlib.decompress(deflated.data.read(), -15) == data
    deflated.close()


def test_what_a_lane_records_after_it_was_joined_reaches_the_folder(tmp_path):
    from tsdtool.outdir import OutputDir

    out = OutputDir(tmp_path / "staging")
    first, second = out.lane(), out.lane()
    second.write_bytes("b.txt", b"b", "test")
    first.write_bytes("a.txt", b"a", "test")
    out.join(first)
    out.join(second)
    assert [i.path for i in out.items] == ["a.txt", "b.txt"]  # in lane order, not in time order
    first.write_bytes("later.json", b"{}", "test")  # a check finished after the lanes
    assert [i.path for i in out.items] == ["a.txt", "b.txt", "later.json"]
    assert len(first.items) == 2


@pytest.mark.parametrize("way", ["write", "writev"])
def test_every_write_path_is_held_to_the_item_budget(tmp_path, way):
    """A sync pull writes with writev: a terminal that streams past the item budget is refused
    there as through write(), before the bytes reach the disk."""
    from tsdtool import budgets
    from tsdtool.outdir import HashingWriter

    meter = budgets.Meter(budgets.Budgets(item=10, bundle=100))
    with open(tmp_path / "item", "wb") as fh:
        writer = HashingWriter(fh, meter)
        (writer.write if way == "write" else lambda b: writer.writev([b]))(b"x" * 10)  # exactly the budget
        with pytest.raises(budgets.OverBudget, match="the item is over its budget of 10 bytes"):
            writer.writev([b"y", b"z"]) if way == "writev" else writer.write(b"yz")
    assert (tmp_path / "item").read_bytes() == b"x" * 10 and writer.size == 10 and meter.total == 10
