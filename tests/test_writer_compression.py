"""The bundle stores data that does not shrink instead of deflating it for nothing."""

from __future__ import annotations

import os
import zipfile
from datetime import UTC, datetime

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
        writer.add_bytes(BundleItem("logcat.txt", "logcat", "x", "ok", ""), data)
        writer._zip.close()
    with zipfile.ZipFile(writer.part) as z:
        db, log = z.getinfo("apps/x/scans.db"), z.getinfo("logcat.txt")
        assert z.read(db) == data and z.read(log) == data
    # level 1 for the database, the default 6 for the log: the sizes deflate gives at those levels
    assert abs(db.compress_size - len(zlib.compress(data, 1))) < 64
    assert abs(log.compress_size - len(zlib.compress(data, 6))) < 64
    assert db.compress_size > log.compress_size
