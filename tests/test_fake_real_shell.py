"""The fake terminal's real-shell backend: Debian's mksh and toybox in a root built from the fixture.

What the kernel decides (permissions, uids), what Android's run-as/su say, which commands a
release has, that the root stays read-only, and that tsdtool's quoting survives real mksh.
These run only where the real shell can (Linux, root); under CI a missing piece fails.
"""

from __future__ import annotations

import adbutils
import pytest

from tests.conftest import need_backend
from tests.fake_adb import FakeAdbServer, Terminal, make_fixture
from tsdtool.transport.adb import join

APP, OTHER, PLAIN = "com.acme.scan", "com.acme.other", "com.acme.release"
HOSTILE = "it's a \"test\" $(reboot) `id` ;&| *?[x]\\ \t\nend.db"


@pytest.fixture(autouse=True)
def real_shell():
    need_backend("real")


def terminal(tmp_path, sdk=30, rooted=False, name="REAL1") -> Terminal:
    fixture = make_fixture(
        tmp_path, name, sdk=sdk,
        packages=[{"name": APP, "debuggable": True, "uid": 10123}, {"name": OTHER, "debuggable": True},
                  {"name": PLAIN}],
        files={f"data/data/{APP}/databases/{HOSTILE}": b"SQLite format 3\x00hostile",
               f"data/data/{OTHER}/files/secret": "other's", f"data/data/{PLAIN}/files/x": "x",
               "sdcard/a.txt": "a\n", "sdcard/locked/in.txt": "no"},
        device={"rooted": rooted, "unreadable": {"paths": ["/sdcard/locked"]}},
    )
    return Terminal(fixture, backend="real")


def run(term: Terminal, command: str) -> tuple[int, str, str]:
    r = term.execute(command)
    return r.exit_code, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def test_permissions_are_the_kernels(tmp_path):
    term = terminal(tmp_path)
    assert run(term, "id -u; id -G") == (
        0, "2000\n2000 1004 1007 1011 1015 1028 3001 3002 3003 3006 3009 3011\n", "")
    assert run(term, f"cat /data/data/{OTHER}/files/secret") == (
        1, "", f"cat: /data/data/{OTHER}/files/secret: Permission denied\n")
    assert run(term, "ls /data/data") == (1, "", "ls: /data/data: Permission denied\n")
    assert run(term, "ls /sdcard/locked") == (1, "", "ls: /sdcard/locked: Permission denied\n")
    code, out, _ = run(term, f"ls -ld /data/data/{APP}")
    assert code == 0 and out.startswith("drwx------ ") and " u0_a123 u0_a123 " in out


def test_run_as_switches_uid_and_folder_like_android(tmp_path):
    term = terminal(tmp_path)
    assert run(term, f"run-as {APP} id -u") == (0, "10123\n", "")
    assert run(term, f"run-as {APP} pwd") == (0, f"/data/data/{APP}\n", "")
    assert run(term, f"run-as {APP} cat /data/data/{OTHER}/files/secret") == (
        1, "", f"cat: /data/data/{OTHER}/files/secret: Permission denied\n")
    assert run(term, f"run-as {PLAIN} ls") == (1, "", f"run-as: package not debuggable: {PLAIN}\n")
    assert run(term, "run-as com.nope ls") == (1, "", "run-as: unknown package: com.nope\n")
    assert run(term, f"run-as {APP} nosuch") == (1, "", "run-as: exec failed for nosuch: No such file or directory\n")
    assert run(term, f"run-as {APP} sh -c 'ls databases/*.db' | wc -l") == (0, "2\n", "")  # the name has a \n
    old = terminal(tmp_path, sdk=25, name="OLD25")
    assert run(old, f"run-as {PLAIN} ls") == (1, "", f"run-as: Package '{PLAIN}' is not debuggable\n")
    assert run(old, "run-as com.nope ls") == (1, "", "run-as: Package 'com.nope' is unknown\n")


def test_su_only_where_rooted(tmp_path):
    assert run(terminal(tmp_path), "su 0 id -u") == (127, "", "/system/bin/sh: su: inaccessible or not found\n")
    rooted = terminal(tmp_path, rooted=True, name="ROOTED")
    assert run(rooted, "su 0 id -u") == (0, "0\n", "")
    assert run(rooted, f"su -c 'cat /data/data/{OTHER}/files/secret'") == (0, "other's", "")


def test_only_the_fake_enters_a_root(tmp_path):
    """Each shell starts through android_cmds.c as `tsd-enter` (chroot, groups, gid, uid, exec); in
    the root the same binary is run-as, setuid root: renamed by `exec -a` it still refuses."""
    term = terminal(tmp_path)
    for cmd in ("run-as", "getprop"):
        assert run(term, f"exec -a tsd-enter /system/bin/{cmd} / 0 0 0 /system/bin/sh -c 'id -u'") == (
            125, "", "tsd-enter: only the fake (root) enters a root\n")


def test_each_release_has_its_own_commands(tmp_path):
    lollipop = terminal(tmp_path, sdk=22, name="L22")
    assert run(lollipop, "tar -cf - /sdcard")[0] == 127
    oreo = terminal(tmp_path, sdk=26, name="O26")
    assert run(oreo, "zcat /dev/null") == (127, "", "/system/bin/sh: zcat: inaccessible or not found\n")
    assert run(oreo, "echo x | tar -cf - -C /sdcard a.txt | wc -c") == (0, "2048\n", "")
    ten = terminal(tmp_path, sdk=29, name="Q29")
    assert run(ten, "echo hi | gzip -1 | zcat") == (0, "hi\n", "")


def test_the_root_is_read_only_and_the_fixture_untouched(tmp_path):
    term = terminal(tmp_path, rooted=True)
    assert run(term, "su 0 sh -c 'echo x > /sdcard/a.txt'")[0] != 0
    assert run(term, "mkdir /data/local/tmp/x")[2].endswith("Read-only file system\n")
    assert run(term, "cat /sdcard/a.txt") == (0, "a\n", "")
    assert (term.fixture / "fs/sdcard/a.txt").read_text() == "a\n"


def test_a_hostile_name_round_trips_through_tsdtools_quoting(tmp_path):
    term = terminal(tmp_path)
    path = f"/data/data/{APP}/databases/{HOSTILE}"
    r = term.execute(join(["run-as", APP, "find", f"/data/data/{APP}/databases", "-type", "f", "-print0"]))
    assert (r.exit_code, r.stdout.split(b"\0")) == (0, [path.encode(), b""])
    r = term.execute(join(["run-as", APP, "head", "-c", "16", path]))
    assert (r.exit_code, r.stdout, r.stderr) == (0, b"SQLite format 3\x00", b"")
    r = term.execute(join(["su", "-c", join(["cat", path])]))  # no su: refused, nothing ran
    assert r.exit_code == 127 and r.stdout == b""


def test_sync_reads_with_the_shell_users_permissions(tmp_path):
    term = terminal(tmp_path)
    with FakeAdbServer([term]) as server:
        device = adbutils.AdbClient(port=server.port).device("REAL1")
        assert device.sync.read_bytes("/sdcard/a.txt") == b"a\n"
        assert device.sync.stat(f"/data/data/{OTHER}/files/secret").mode == 0  # refused: all zero
        assert device.sync.list("/data/data") == []  # opendir refused: an empty listing
        with pytest.raises(adbutils.AdbError, match="Permission denied"):
            device.sync.read_bytes(f"/data/data/{OTHER}/files/secret")
        # a live logcat stays open until the client hangs up; the shell is then killed
        with device.shell("logcat", stream=True) as conn:
            conn.conn.settimeout(2)
            with pytest.raises(adbutils.AdbTimeout):
                conn.read(1)
