"""The pull path: sync RECV read in large blocks, DATA headers parsed inside the block, payloads
written with writev and hashed on the way. Byte-identical results whatever the split of the
stream, FAIL and garbage still recognised, and the fallbacks (no writev, short writes)."""

from __future__ import annotations

import hashlib
import io
import os
import random
import struct

import pytest

from tsdtool import errors
from tsdtool.outdir import OutputDir
from tsdtool.transport import adb as seam


def sync_reply(data: bytes, chunk: int = 64 * 1024, tail: bytes = b"DONE\0\0\0\0") -> bytes:
    out = bytearray()
    for i in range(0, len(data), chunk):
        piece = data[i:i + chunk]
        out += b"DATA" + struct.pack("<I", len(piece)) + piece
    return bytes(out) + tail


class Trickle:
    """A socket whose recv_into hands out the stream in pieces of the sizes given (cycled)."""

    def __init__(self, stream: bytes, sizes):
        self.stream, self.pos, self.sizes, self.calls = stream, 0, list(sizes), 0

    def recv_into(self, view, n=0):
        size = self.sizes[self.calls % len(self.sizes)]
        self.calls += 1
        piece = self.stream[self.pos:self.pos + min(size, len(view))]
        view[:len(piece)] = piece
        self.pos += len(piece)
        return len(piece)

    def recv(self, n):
        piece = self.stream[self.pos:self.pos + n]
        self.pos += len(piece)
        return piece


@pytest.mark.parametrize("sizes", [[1], [3, 5, 7], [8], [13, 1 << 20], [65536 + 8], [1 << 20]])
def test_any_split_of_the_stream_gives_the_same_bytes(sizes):
    rnd = random.Random(len(sizes))
    data = rnd.randbytes(300_000)
    stream = sync_reply(data, chunk=rnd.choice([1000, 4096, 65536]))
    sink = io.BytesIO()  # no writev: written piece by piece
    seen = []
    got = seam._receive_file(Trickle(stream, sizes), sink, seen.append, "/sdcard/x", "S1")
    assert got == len(data) and sink.getvalue() == data and sum(seen) == len(data)


def test_an_empty_file_and_a_failure_after_some_data():
    assert seam._receive_file(Trickle(b"DONE\0\0\0\0", [5]), io.BytesIO(), None, "/e", "S1") == 0
    text = b"open failed: Permission denied"
    failing = sync_reply(b"abc" * 10, tail=b"FAIL" + struct.pack("<I", len(text)) + text)
    with pytest.raises(errors.RemoteFileError, match="Permission denied"):
        seam._receive_file(Trickle(failing, [7]), io.BytesIO(), None, "/x", "S1")


@pytest.mark.parametrize("stream", [b"ATAD\x04\0\0\0abcd", b"DATA" + struct.pack("<I", 70000) + b"x" * 10])
def test_garbage_is_a_transfer_error(stream):
    with pytest.raises(errors.TransferError, match="garbled"):
        seam._receive_file(Trickle(stream + b"\0" * 64, [1 << 20]), io.BytesIO(), None, "/x", "S1")


def test_a_stream_that_ends_early_is_eof():
    with pytest.raises(EOFError):
        seam._receive_file(Trickle(sync_reply(b"x" * 1000)[:500], [64]), io.BytesIO(), None, "/x", "S1")


def test_writev_into_the_output_folder_hashes_and_survives_short_writes(tmp_path, monkeypatch):
    data = random.Random(1).randbytes(2_000_000)
    real = os.writev
    monkeypatch.setattr(os, "writev", lambda fd, bufs: real(fd, bufs) if len(bufs) < 2 else
                        os.write(fd, bytes(bufs[0])[: max(1, len(bufs[0]) // 3)]))
    out = OutputDir(tmp_path / "out")
    with out.open("x.bin", "/sdcard/x.bin") as sink:
        sink.write(b"head")  # buffered, must land before what writev writes
        seam._receive_file(Trickle(sync_reply(data), [1 << 20, 333]), sink, None, "/x", "S1")
    item = out.items[-1]
    expected = b"head" + data
    assert (tmp_path / "out" / "x.bin").read_bytes() == expected
    assert item.size == len(expected) and item.sha256 == hashlib.sha256(expected).hexdigest()


def test_without_os_writev_each_piece_is_written(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "writev")
    data = random.Random(2).randbytes(200_000)
    out = OutputDir(tmp_path / "out")
    with out.open("y.bin", "/sdcard/y.bin") as sink:
        seam._receive_file(Trickle(sync_reply(data), [100_000]), sink, None, "/y", "S1")
    assert (tmp_path / "out" / "y.bin").read_bytes() == data
    assert out.items[-1].sha256 == hashlib.sha256(data).hexdigest()


def test_a_real_pull_through_the_fake_is_byte_identical(tmp_path, fake_server):
    from tests.fake_adb import make_fixture
    from tsdtool.collectors.files import pull

    data = random.Random(3).randbytes(5 * 1024 * 1024 + 123)
    fixture = make_fixture(tmp_path, "PULL1", files={"sdcard/big.bin": data})
    server = fake_server(fixture)
    device = seam.Adb("127.0.0.1", server.port, start_server=False).select("PULL1")
    result, out = pull(device, ["/sdcard/big.bin"], tmp_path / "got")
    assert result.files == 1 and (tmp_path / "got" / "big.bin").read_bytes() == data
    assert out.items[0].sha256 == hashlib.sha256(data).hexdigest()
