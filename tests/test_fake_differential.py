"""The Python emulation against the real shell: every command tsdtool sends, and hostile variants.

The corpus is what tsdtool builds (grep tsdtool/ for ``shell(``/``stream_shell``/``exec_out``:
transport/adb.py, apps/access.py, collectors/*.py, devices/*.py, repro.py) quoted with its own
:func:`~tsdtool.transport.adb.join`, plus the same lines on hostile file names. Each runs on the
same fixture through both backends; stdout, stderr and the exit status must be equal, except
the differences listed in :data:`KNOWN` with the reason the emulation keeps them — and a listed
difference that no longer occurs fails too, so the list stays true.
"""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from tests.conftest import need_backend
from tests.fake_adb import Terminal, make_fixture
from tsdtool.apps import gzpull
from tsdtool.apps.access import RunAs
from tsdtool.collectors import logs
from tsdtool.transport.adb import join

APP, PLAIN = "com.acme.scan", "com.acme.release"
HOSTILE = "it's \"q\" $(id) `id` ;&| *?[a]\\ x.db"
NEWLINE = "two\nlines.db"
DATA = f"/data/data/{APP}"
LOGCAT = ("--------- beginning of main\n"
          "05-14 10:00:00.000  1234  1250 I ActivityManager: Start proc 4321:com.acme.scan\n"
          "05-14 10:00:05.500  4321  4321 E TsdTool: marker\n")


def su(args: list[str]) -> str:
    return join(["su", "0", "sh", "-c", join(args)])


def su_c(args: list[str]) -> str:
    return join(["su", "-c", join(args)])


def run_as(*args: str) -> str:
    return join(["run-as", APP, *args])


# (name, command line, how to compare stdout: "bytes" | "lines" (order-free) | "nul" | "tar" | "gz" |
#  "merged": stdout and stderr as one stream, order included)
CORPUS: list[tuple[str, str, str]] = [
    ("getprop", join(["getprop"]), "bytes"),
    ("getprop key", join(["getprop", "ro.product.model"]), "bytes"),
    ("pm list -i versions", join(["pm", "list", "packages", "-i", "--show-versioncode"]), "bytes"),
    ("pm list -3", join(["pm", "list", "packages", "-3"]), "bytes"),
    ("pm path", join(["pm", "path", APP]), "bytes"),
    ("pm path unknown", join(["pm", "path", "com.nope"]), "bytes"),
    ("dumpsys package", join(["dumpsys", "package", APP]), "bytes"),
    ("dumpsys battery", join(["dumpsys", "battery"]), "bytes"),
    ("df", join(["df", "-k", "/data", "/sdcard"]), "bytes"),
    ("proc version (profile fact)", join(["cat", "/proc/version"]), "bytes"),
    ("proc uptime", join(["cat", "/proc/uptime"]), "bytes"),
    ("logcat", join(["logcat", "-d", "-v", "threadtime"]), "bytes"),
    ("logcat repro tag", join(["logcat", "-d", "-v", "threadtime", "-b", "main", "TsdTool:I", "*:S"]), "bytes"),
    ("ls -d missing", join(["ls", "-d", "/sdcard/Android/data/com.nope/"]), "bytes"),
    ("ls -d data", join(["ls", "-d", DATA + "/"]), "bytes"),
    ("ls -a external", join(["ls", "-a", f"/sdcard/Android/data/{APP}/"]), "bytes"),
    ("ls folder", join(["ls", "/sdcard/logs"]), "bytes"),
    ("head external", join(["head", "-c", "16", f"/sdcard/Android/data/{APP}/files/{HOSTILE}"]), "bytes"),
    ("run-as find -print0", run_as("find", f"{DATA}/databases", f"{DATA}/files", "-type", "f", "-print0"), "nul"),
    ("run-as find", run_as("find", f"{DATA}/databases", "-type", "f"), "lines"),
    ("run-as find missing", run_as("find", f"{DATA}/nope", "-type", "f", "-print0"), "nul"),
    ("run-as ls -l", run_as("ls", "-l", f"{DATA}/databases"), "bytes"),
    ("run-as head", run_as("head", "-c", "16", f"{DATA}/databases/{HOSTILE}"), "bytes"),
    ("run-as head newline", run_as("head", "-c", "16", f"{DATA}/databases/{NEWLINE}"), "bytes"),
    ("run-as cat", run_as("cat", f"{DATA}/databases/app.db"), "bytes"),
    ("run-as cat missing", run_as("cat", f"{DATA}/databases/nope.db"), "bytes"),
    ("run-as tar", run_as("tar", "-c", "-f", "-", "-C", DATA, "./databases", "./files"), "tar"),
    ("run-as tar hostile", run_as("tar", "-c", "-f", "-", "-C", DATA, f"./databases/{HOSTILE}"), "tar"),
    ("run-as tar --version", run_as("tar", "--version"), "bytes"),
    ("run-as not debuggable", join(["run-as", PLAIN, "ls"]), "bytes"),
    ("run-as unknown", join(["run-as", "com.nope", "ls"]), "bytes"),
    ("su probe", su(["echo", "tsdtool-root-ok"]), "bytes"),
    ("su -c probe", su_c(["echo", "tsdtool-root-ok"]), "bytes"),
    ("su cat", su(["cat", f"/data/data/{PLAIN}/files/x"]), "bytes"),
    ("shell cat private", join(["cat", f"{DATA}/databases/app.db"]), "bytes"),
    ("tar gz", join(["tar", "-czf", "-", "-C", "/sdcard", "logs"]), "gz"),
    ("gzip", join(["gzip", "-1", "-c", "/sdcard/logs/a.log"]), "gz"),
    ("export exec (adb logcat)", 'export ANDROID_LOG_TAGS="" ; exec logcat -d', "bytes"),
    ("missing command", join(["nosuchtool", "--x"]), "bytes"),
    ("screencap", join(["screencap", "-p"]), "bytes"),
    ("wm size", join(["wm", "size"]), "bytes"),
    # hostile names and refusals on the same paths
    ("ls -d hostile", join(["ls", "-d", f"/sdcard/Android/data/{APP}/files/{HOSTILE}"]), "bytes"),
    ("ls -a private as shell", join(["ls", "-a", DATA + "/"]), "bytes"),
    ("ls -d private file as shell", join(["ls", "-d", f"{DATA}/databases/app.db"]), "bytes"),
    ("ls -l unreadable", join(["ls", "-l", "/sdcard/locked"]), "bytes"),
    ("ls glob", "ls /sdcard/logs/*.log", "bytes"),
    ("ls glob no match", "ls /sdcard/logs/*.nope", "bytes"),
    ("run-as ls -l old walk", run_as("ls", "-l", f"{DATA}/files"), "bytes"),
    ("run-as find hostile", run_as("find", f"{DATA}/databases/{HOSTILE}", "-type", "f", "-print0"), "nul"),
    ("run-as cat newline", run_as("cat", f"{DATA}/databases/{NEWLINE}"), "bytes"),
    ("run-as glob before run-as", run_as("ls", "databases/*.db"), "bytes"),
    ("run-as sh -c glob", run_as("sh", "-c", "ls databases/*.db"), "lines"),
    ("run-as stat", run_as("stat", "-c", "%s %a %U %n", f"databases/{HOSTILE}"), "bytes"),
    ("su -c hostile cat", su_c(["cat", f"{DATA}/databases/{HOSTILE}"]), "bytes"),
    ("su hostile find", su(["find", f"{DATA}/databases", "-type", "f", "-print0"]), "nul"),
    ("find unreadable", join(["find", "/sdcard", "-type", "f"]), "lines"),
    ("find found, then missing (one stream)", run_as("find", f"{DATA}/files", f"{DATA}/nope", "-type", "f",
                                                     "-print0"), "merged"),
    ("cat missing then found (one stream)", run_as("cat", f"{DATA}/nope", f"{DATA}/files/prefs.xml"), "merged"),
    ("head several, one missing", run_as("head", "-c", "16", f"{DATA}/databases/app.db", f"{DATA}/nope",
                                         f"{DATA}/databases/{HOSTILE}"), "bytes"),
    ("head missing first", join(["head", "-n", "1", "/sdcard/nope", "/sdcard/logs/b.log", "/sdcard/logs/a.log"]),
     "bytes"),
    ("head -q", join(["head", "-q", "-c", "5", "/sdcard/logs/a.log", "/sdcard/logs/b.log"]), "bytes"),
    ("head -v", join(["head", "-v", "-n", "2", "/sdcard/logs/b.log"]), "bytes"),
    ("quoting operators", join(["echo", ";", "&&", "|", "$HOME", "`id`", "'", '"']), "bytes"),
    # pull-db's deflated copy (tsdtool.apps.gzpull): the probe, and ranges read through run-as
    ("gzip probe and stat", gzpull.probe_script(RunAs(None, APP), [f"{DATA}/databases/app.db",  # type: ignore[arg-type]
                                                                   f"{DATA}/databases/{HOSTILE}"]), "bytes"),
    ("range: first", gzpull.command(RunAs(None, APP), f"{DATA}/databases/app.db", 0, 1000), "gz"),  # type: ignore[arg-type]
    ("range: middle", gzpull.command(RunAs(None, APP), f"{DATA}/databases/app.db", 1000, 5000, 10256), "gz"),  # type: ignore[arg-type]
    ("range: last, hostile", gzpull.command(RunAs(None, APP), f"{DATA}/databases/{HOSTILE}", 4, None, 23), "gz"),  # type: ignore[arg-type]
    ("range: the file shrank", gzpull.command(RunAs(None, APP), f"{DATA}/databases/app.db", 9, 100, 20000), "gz"),  # type: ignore[arg-type]
    ("range: whole", gzpull.command(RunAs(None, APP), f"{DATA}/databases/{NEWLINE}", 0, None), "gz"),  # type: ignore[arg-type]
    ("range: missing", gzpull.command(RunAs(None, APP), f"{DATA}/databases/nope.db", 7, None, 99), "gz"),  # type: ignore[arg-type]
    # collect's logcat, deflated on the terminal, logcat's exit status on stderr
    ("logcat deflated", logs.gzip_script(logs.logcat_args()), "gz"),
    ("logcat deflated, bad -T", logs.gzip_script([*logs.logcat_args(), "-T", "it's 'no' time"]), "gz"),
]

# name -> why the emulation differs from the real shell (the difference must still occur)
KNOWN: dict[str, str] = {}


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Terminal, Terminal]:
    need_backend("real")
    fixture = make_fixture(
        tmp_path_factory.mktemp("diff"), "DIFF1", sdk=30, logcat=LOGCAT,
        packages=[{"name": APP, "debuggable": True}, {"name": PLAIN}],
        files={f"data/data/{APP}/databases/app.db": b"SQLite format 3\x00" + bytes(range(256)) * 40,
               f"data/data/{APP}/databases/{HOSTILE}": b"SQLite format 3\x00hostile",
               f"data/data/{APP}/databases/{NEWLINE}": b"SQLite format 3\x00newline",
               f"data/data/{APP}/files/prefs.xml": "<map/>\n", f"data/data/{PLAIN}/files/x": "x",
               f"sdcard/Android/data/{APP}/files/{HOSTILE}": "external hostile",
               "sdcard/logs/a.log": "line\n" * 500, "sdcard/logs/b.log": "b\n", "sdcard/locked/in.txt": "no",
               "proc/version": "Linux version 4.14.186-perf (builder@host) #1 SMP PREEMPT\n",
               "proc/uptime": "12345.67 23456.78\n"},
        device={"rooted": True, "unreadable": {"paths": ["/sdcard/locked"]}},
    )
    return Terminal(fixture, backend="real"), Terminal(fixture, backend="python")


def _tar_view(data: bytes) -> list[tuple]:
    """Members with everything tsdtool reads from them; toybox adds them in readdir order."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return sorted((m.name, m.type, m.size, m.mode, m.uid, m.gid, m.mtime, m.linkname,
                       tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers())


def view(how: str, out: bytes):
    """What must agree: bytes, or the content where the form legitimately varies."""
    if how == "lines":  # toybox find walks in readdir order, the emulation sorts
        return sorted(out.split(b"\n"))
    if how == "nul":
        return sorted(out.split(b"\0"))
    if how == "tar":
        return _tar_view(out)
    if how == "gz":  # the content is what counts (gzip headers may carry a name or a time)
        return _tar_view(gzip.decompress(out)) if out[:2] == b"\x1f\x8b" and b"ustar" in gzip.decompress(
            out)[:512] else gzip.decompress(out) if out else out
    return out


def outcome(term: Terminal, command: str, how: str) -> tuple:
    if how == "merged":  # shell v1 / exec: stdout and stderr in one stream, in the order written
        r = term.execute(command, merged=True)
        return r.output, r.exit_code
    r = term.execute(command)
    return view(how, r.stdout), r.stderr, r.exit_code


@pytest.mark.parametrize(("name", "command", "how"), CORPUS, ids=[c[0] for c in CORPUS])
def test_emulation_matches_the_real_shell(pair, name, command, how):
    real, emulated = (outcome(term, command, how) for term in pair)
    if name in KNOWN:
        assert real != emulated, f"{name}: listed as a known difference but both agree now; drop it"
        return
    assert emulated == real, f"{name}: `{command}`"
