"""The fake terminal's link and CPU model (``[link]`` / ``[cpu]`` of device.toml).

Only lower bounds on time are asserted: the link may never deliver faster than its rate
(sleeping guarantees a minimum, never a maximum, so these cannot flake on a busy machine).
"""

from __future__ import annotations

import io
import threading
import time

import pytest

from tests.fake_adb import FakeAdbServer, make_fixture
from tests.fake_adb.terminal import Cpu, FixtureError, Link, Terminal


def test_a_link_never_delivers_faster_than_its_rate():
    link = Link(50)  # MB/s
    start = time.monotonic()
    for _ in range(40):
        link.charge(125_000)  # 5 MB in all
    assert time.monotonic() - start >= 0.1 - 0.002


def test_streams_of_one_terminal_share_its_link():
    link = Link(50)
    start = time.monotonic()
    threads = [threading.Thread(target=lambda: [link.charge(125_000) for _ in range(20)]) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 2 × 2.5 MB through one 50 MB/s link: 0.1 s, not the 0.05 s each stream alone would take
    assert time.monotonic() - start >= 0.1 - 0.002


def test_an_unlimited_link_does_not_wait():
    link = Link(0)
    link.charge(10**12)  # would be hours at any real rate


def test_unknown_or_bad_link_and_cpu_keys_are_fixture_errors(tmp_path):
    for table in ({"link": {"mbps": 35}}, {"cpu": {"cores": 4, "speed": 1}}, {"cpu": {"cores": 0}},
                  {"link": {"mb_per_s": -1}}):
        with pytest.raises(FixtureError):
            Terminal(make_fixture(tmp_path, "BAD1", device=table))


def test_cpu_costs_scale_with_level():
    cpu = Cpu(cores=4, deflate_mb_per_s=30)
    assert cpu.deflate_seconds(30_000_000, 1) == pytest.approx(1.0)
    assert cpu.deflate_seconds(30_000_000, 6) > 2 * cpu.deflate_seconds(30_000_000, 1)
    assert Cpu().deflate_seconds(10**9) == 0  # unpaced by default


def test_a_sync_pull_over_the_wire_is_paced_by_the_link(tmp_path):
    import adbutils

    data = bytes(range(256)) * 8192  # 2 MiB
    fixture = make_fixture(tmp_path, "LINK1", files={"sdcard/f.bin": data}, device={"link": {"mb_per_s": 20}})
    with FakeAdbServer([fixture]) as srv:
        device = adbutils.AdbClient(host="127.0.0.1", port=srv.port).device("LINK1")
        start = time.monotonic()
        got = io.BytesIO()
        for chunk in device.sync.iter_content("/sdcard/f.bin"):
            got.write(chunk)
        took = time.monotonic() - start
    assert got.getvalue() == data
    assert took >= len(data) / 20e6 - 0.005


def _gzip_seconds(terminal: Terminal, command: str) -> tuple[float, bytes]:
    start = time.monotonic()
    result = terminal.execute(command)
    assert result.exit_code == 0, result.stderr
    return time.monotonic() - start, result.stdout


@pytest.mark.parametrize("backend", ["python", "real"])
def test_gzip_takes_the_terminals_cpu_time(tmp_path, backend):
    import gzip

    from tests.conftest import need_backend

    need_backend(backend)
    data = bytes(range(256)) * 12_000  # 3 MB: 0.1 s on one 30 MB/s core at -1, 0.25 s at -6
    fixture = make_fixture(tmp_path, "CPU1", files={"sdcard/f.bin": data},
                           device={"cpu": {"cores": 1, "deflate_mb_per_s": 30}})
    terminal = Terminal(fixture, backend=backend)
    took, out = _gzip_seconds(terminal, "gzip -1 -c /sdcard/f.bin")
    assert gzip.decompress(out) == data and took >= 0.1 - 0.005
    took, out = _gzip_seconds(terminal, "cat /sdcard/f.bin | gzip -6")
    assert gzip.decompress(out) == data and took >= 0.25 - 0.005
    # two gzips on one core share it: 0.2 s, where each alone would take 0.1 s
    start = time.monotonic()
    threads = [threading.Thread(target=_gzip_seconds, args=(terminal, "gzip -1 -c /sdcard/f.bin")) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - start >= 0.2 - 0.005


def test_a_repeated_deflate_replays_the_same_bytes_and_a_changed_one_is_deflated_anew():
    import gzip
    import zlib

    from tests.fake_adb.shell_files import CHUNK, _Deflater

    def deflate(data: bytes) -> bytes:
        d = _Deflater(1)
        pieces = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
        return b"".join(d.compress(p) for p in pieces) + d.flush()

    data = bytes(range(256)) * 1000  # 4 pieces
    first = deflate(data)
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    assert first == b"".join(z.compress(data[i:i + CHUNK]) for i in range(0, len(data), CHUNK)) + z.flush()
    assert deflate(data) == first  # replayed: the same bytes
    changed = data[: 2 * CHUNK] + b"x" * 100 + data[2 * CHUNK + 100:]  # same start, then different
    assert gzip.decompress(deflate(changed)) == changed
    assert gzip.decompress(deflate(data[: CHUNK + 5])) == data[: CHUNK + 5]  # ends early


class _Clock:
    """time.monotonic/time.sleep for the link: every sleep wakes ``late`` seconds after it was due."""

    def __init__(self, late: float):
        self.now, self.late = 100.0, late

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds + self.late


def test_late_wake_ups_are_made_up_and_a_pause_is_not(monkeypatch):
    import tests.fake_adb.terminal as terminal_module

    clock = _Clock(late=0.0004)  # this machine's sleep oversleeps ~0.4 ms
    monkeypatch.setattr(terminal_module, "time", clock)
    link = Link(35)
    start = clock.now
    for _ in range(1000):
        link.charge(65_544)  # a sync DATA message
        clock.now += 0.0003  # the fake's own work before it sends the next one
    # 65.5 MB at 35 MB/s: 1.873 s, whatever the late wake-ups (booking from "now" took 2.57 s)
    assert clock.now - start == pytest.approx(1000 * 65_544 / 35e6 + 0.0004 + 0.0003, abs=1e-6)
    clock.now += 0.05  # the stream pauses (a terminal that has nothing to send): the link idles
    before = clock.now
    link.charge(350_000)
    assert clock.now - before == pytest.approx(350_000 / 35e6 + 0.0004, abs=1e-6)  # no credit for the pause
