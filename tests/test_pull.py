"""`tsdtool pull`: files and folders through sync, contained, hashed, ``.part`` until complete."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.appdata_helpers import sha, terminals
from tsdtool.collectors.files import pull_paths
from tsdtool.outdir import OutputDir

BIG = bytes(range(256)) * 800  # 204 800 bytes: several 64 KiB DATA chunks


@pytest.fixture
def fake_terminal(tmp_path):
    yield from terminals(tmp_path)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_pull_a_folder_and_a_file_like_adb(fake_terminal, tsd, tmp_path):
    fake = fake_terminal(files={"/sdcard/Download/a.txt": "alpha", "/sdcard/Download/sub/b.bin": BIG,
                                "/sdcard/Download/sub/empty.txt": "", "/sdcard/notes.txt": "n"})
    out = tmp_path / "out"
    code, stdout, stderr = tsd(*fake.args, "pull", "/sdcard/Download", "/sdcard/notes.txt", "-o", out)
    assert code == 0, stderr
    assert _files(out) == {"Download/a.txt": b"alpha", "Download/sub/b.bin": BIG,
                           "Download/sub/empty.txt": b"",
                           "notes.txt": b"n"}
    assert "4 files" in stdout
    assert fake.terminal.journal == []


def test_items_hash_what_arrived(fake_terminal, tmp_path):
    fake = fake_terminal(files={"/sdcard/x/b.bin": BIG})
    out = OutputDir(tmp_path / "out")
    result = pull_paths(fake.device(), ["/sdcard/x/b.bin"], out)
    assert (result.files, result.bytes, result.failed) == (1, len(BIG), 0)
    assert out.items[0].sha256 == sha(BIG) and out.items[0].path == "b.bin"


def test_missing_and_refused_paths_say_why(fake_terminal, tsd, tmp_path):
    fake = fake_terminal(files={"/sdcard/ok.txt": "ok", "/sdcard/secret/key.txt": "k"},
                         device={"unreadable": {"paths": ["/sdcard/secret/key.txt"]}})
    out = tmp_path / "out"
    paths = ["/sdcard/ok.txt", "/sdcard/nope", "/sdcard/secret/key.txt"]
    code, _, stderr = tsd(*fake.args, "pull", *paths, "-o", out)
    assert code == 3
    assert "/sdcard/nope: No such file or directory" in stderr
    assert "key.txt: /sdcard/secret/key.txt: Permission denied" in stderr
    assert _files(out) == {"ok.txt": b"ok"}  # a file refused before its first byte leaves nothing


def test_an_unreadable_folder_is_not_an_empty_one(fake_terminal, tsd, tmp_path):
    fake = fake_terminal(files={"/sdcard/locked/a.txt": "a", "/sdcard/empty/": ""},
                         device={"unreadable": {"paths": ["/sdcard/locked"]}})
    code, stdout, stderr = tsd(*fake.args, "pull", "/sdcard/locked", "/sdcard/empty", "-o", tmp_path / "out")
    assert code == 3 and "locked: /sdcard/locked: Permission denied" in stderr
    assert "empty" not in stderr and "0 files" in stdout


def test_relative_path_is_a_usage_error(tsd):
    code, _, stderr = tsd("-H", "127.0.0.1", "-P", "9", "pull", "sdcard/x")
    assert code == 2 and "absolute" in stderr


def test_hostile_names_are_contained_and_distinct(fake_terminal, tmp_path):
    names = ["new\nline.txt", "esc\x1b[2J.txt", "a:b.txt", "a?b.txt", "A:B.txt", "CON", ".hidden", "..dots",
             "é" * 120, "tab\tname", "back\\slash"]
    fake = fake_terminal(files={f"/sdcard/evil/{n}": n for n in names}, symlinks={"/sdcard/evil/root": "/"})
    out = OutputDir(tmp_path / "out")
    result = pull_paths(fake.device(), ["/sdcard/evil"], out)
    assert result.files == len(names) and result.failed == 0
    written = _files(tmp_path / "out")
    assert sorted(written.values()) == sorted(n.encode() for n in names)  # every file, none overwritten
    root = (tmp_path / "out").resolve()
    for rel in written:
        assert root in (root / rel).resolve().parents
        assert not any(ord(c) < 32 for c in rel)
        assert all(len(part.encode()) <= 120 for part in rel.split("/"))
    link = [i for i in out.items if i.status == "skipped"]
    assert [(i.source, i.reason) for i in link] == [("/sdcard/evil/root", "symbolic link (not followed)")]


def test_a_link_named_on_the_command_line_is_followed(fake_terminal, tmp_path):
    fake = fake_terminal(files={"/storage/emulated/0/Download/a.txt": "a"},
                         symlinks={"/sdcard": "/storage/emulated/0"})
    out = OutputDir(tmp_path / "out")
    pull_paths(fake.device(), ["/sdcard/Download", "/sdcard"], out)
    assert _files(tmp_path / "out") == {"Download/a.txt": b"a", "sdcard/Download/a.txt": b"a"}


def test_dropped_connection_keeps_a_failed_part(fake_terminal, tsd, tmp_path):
    fake = fake_terminal(files={"/sdcard/big.bin": BIG, "/sdcard/later.txt": "x"},
                         faults={"drop_after_bytes": 100_000})
    out = tmp_path / "out"
    code, _, stderr = tsd(*fake.args, "pull", "/sdcard/big.bin", "/sdcard/later.txt", "-o", out)
    assert code == 3
    assert not (out / "big.bin").exists()
    assert 0 < (out / "big.bin.part").stat().st_size < len(BIG)
    assert "big.bin.part" in stderr and "lost" in stderr
    assert "later.txt: not copied" in stderr  # nothing more is asked of a terminal that went away


def test_memory_stays_flat_on_a_big_pull(tmp_path):
    """A 48 MiB pull in a fresh interpreter allocates no more than a small 1 MiB one does."""
    script = textwrap.dedent("""
        import sys, tracemalloc
        from pathlib import Path
        from tests.fake_adb import FakeAdbServer, make_fixture
        from tsdtool.transport.adb import Adb
        from tsdtool.collectors.files import pull_paths
        from tsdtool.outdir import OutputDir
        tmp = Path(sys.argv[1]); size = int(sys.argv[2])
        fixture = make_fixture(tmp, name=str(size))
        target = fixture / "fs/sdcard/big.bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as f:
            f.truncate(size)
        with FakeAdbServer([fixture]) as server:
            device = Adb("127.0.0.1", server.port, start_server=False).select(None)
            tracemalloc.start()
            result = pull_paths(device, ["/sdcard/big.bin"], OutputDir(tmp / f"out{size}"))
            print(tracemalloc.get_traced_memory()[1], result.bytes)
    """)
    peaks = {}
    for size in (1 << 20, 48 << 20):
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(size)], capture_output=True,
                              text=True, cwd=Path(__file__).parent.parent, timeout=120)
        assert done.returncode == 0, done.stderr
        peak, copied = map(int, done.stdout.split())
        assert copied == size
        peaks[size] = peak
    assert peaks[48 << 20] < peaks[1 << 20] + (2 << 20), peaks


@pytest.mark.parametrize("path", ["/sdcard/a\nb", "/sdcard/\x00x"])
def test_device_paths_with_newline_or_nul_are_refused(tsd, path):
    code, _, stderr = tsd("-H", "127.0.0.1", "-P", "9", "pull", path)
    assert code == 2
