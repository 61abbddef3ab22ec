"""System commands of the fake shell: properties, packages, dumpsys, logs, screen, identity.

Formats follow the AOSP sources named in each docstring; when a fixture has canned output
for a command line (``device.toml`` ``[shell]``) that wins over everything here.
"""

from __future__ import annotations

import base64
import re
import zlib
from datetime import timedelta
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING

from .devicefs import ROOT, Caller, FsError
from .shell import STDERR, STDOUT, WAIT, Output, Session, command, lookup, run_argv, run_script

if TYPE_CHECKING:
    from .terminal import Package, Terminal

# -- getprop --------------------------------------------------------------------------------


@command("getprop")
def getprop(session: Session, argv: list[str], stdin: bytes) -> Output:
    """toolbox getprop.cpp: no args → every property; NAME → value or empty line; exit 0."""
    terminal = session.terminal
    if len(argv) == 1:
        yield STDOUT, terminal.getprop_text
        return 0
    value = terminal.props.get(argv[1])
    if value is None:
        value = argv[2] if len(argv) > 2 else ""
    yield STDOUT, (value + "\n").encode()
    return 0


# -- pm / cmd package ---------------------------------------------------------------------


def code_path(terminal: Terminal, pkg: Package) -> str:
    """Where the APK lives, shaped like the terminal's Android release would place it."""
    if pkg.code_path:
        return pkg.code_path
    if pkg.system:
        short = pkg.name.rsplit(".", 1)[-1].capitalize()
        return f"/system/app/{short}"

    def token(salt: str) -> str:  # stable stand-in for the random base64 names of /data/app
        digest = zlib.crc32((salt + pkg.name).encode()).to_bytes(4, "big") * 4
        return base64.urlsafe_b64encode(digest).decode()[:22]

    if terminal.sdk >= 30:
        return f"/data/app/~~{token('a')}==/{pkg.name}-{token('b')}=="
    if terminal.sdk >= 26:
        return f"/data/app/{pkg.name}-{token('b')}=="
    return f"/data/app/{pkg.name}-1"


def apk_path(terminal: Terminal, pkg: Package) -> str:
    path = code_path(terminal, pkg)
    if path.endswith(".apk"):
        return path
    if pkg.system and not pkg.code_path:
        return f"{path}/{path.rsplit('/', 1)[-1]}.apk"
    return f"{path}/base.apk"


_PM_LIST_FLAGS = {"-f", "-d", "-e", "-s", "-3", "-i", "-U", "-u", "--show-versioncode", "-a", "--apex-only"}


def _pm_list_packages(session: Session, args: list[str]) -> Output:
    """PackageManagerShellCommand.runListPackages: ``package:[path=]name[ versionCode:N][ uid:U]``."""
    terminal = session.terminal
    opts: set[str] = set()
    name_filter = ""
    it = iter(args)
    for a in it:
        if a == "--user":
            next(it, None)
        elif a in _PM_LIST_FLAGS:
            opts.add(a)
        elif a.startswith("-"):
            yield STDERR, f"Error: Unknown option: {a}\n".encode()
            return 255
        else:
            name_filter = a
    lines = []
    for pkg in terminal.packages.values():
        if name_filter and name_filter not in pkg.name:
            continue
        if ("-s" in opts and not pkg.system) or ("-3" in opts and pkg.system):
            continue
        if ("-d" in opts and pkg.enabled) or ("-e" in opts and not pkg.enabled):
            continue
        line = "package:"
        if "-f" in opts:
            line += apk_path(terminal, pkg) + "="
        line += pkg.name
        if "--show-versioncode" in opts:
            line += f" versionCode:{pkg.version_code}"
        if "-i" in opts:
            line += f"  installer={pkg.installer or 'null'}"
        if "-U" in opts:
            line += f" uid:{pkg.uid}"
        lines.append(line + "\n")
    yield STDOUT, "".join(lines).encode()
    return 0


@command("pm")
def pm(session: Session, argv: list[str], stdin: bytes) -> Output:
    args = argv[1:]
    if args[:2] == ["list", "packages"]:
        return (yield from _pm_list_packages(session, args[2:]))
    if args[:1] == ["path"] and len(args) >= 2:
        pkg = session.terminal.packages.get(args[-1])
        if pkg is None:
            return 1  # PackageManagerShellCommand.displayPackageFilePath: nothing printed
        yield STDOUT, f"package:{apk_path(session.terminal, pkg)}\n".encode()
        return 0
    if args[:1] == ["dump"] and len(args) >= 2:
        return (yield from dumpsys(session, ["dumpsys", "package", args[1]], stdin))
    if args[:1] in (
        ["install"],
        ["uninstall"],
        ["clear"],
        ["grant"],
        ["revoke"],
        ["disable"],
        ["enable"],
        ["disable-user"],
        ["hide"],
        ["suspend"],
    ):
        session.terminal.journal_write("pm", " ".join(args))
        yield STDERR, f"Error: fake terminal refuses 'pm {args[0]}' (read-only)\n".encode()
        return 1
    yield STDERR, f"Unknown command: {args[0] if args else ''}\n".encode()
    return 255


@command("cmd")
def cmd(session: Session, argv: list[str], stdin: bytes) -> Output:
    if argv[1:2] == ["package"]:
        return (yield from pm(session, ["pm"] + argv[2:], stdin))
    yield STDERR, f"cmd: Can't find service: {argv[1] if len(argv) > 1 else ''}\n".encode()
    return 20


# -- dumpsys ----------------------------------------------------------------------------------


def _hex_id(*parts: str) -> str:
    return f"{zlib.crc32('/'.join(parts).encode()) & 0xFFFFFFF:x}"


def _flags(pkg: Package) -> str:
    flags = (["SYSTEM"] if pkg.system else []) + (["DEBUGGABLE"] if pkg.debuggable else [])
    flags += ["HAS_CODE", "ALLOW_CLEAR_USER_DATA"] + (["ALLOW_BACKUP"] if pkg.allow_backup else [])
    if pkg.system and pkg.updated:
        flags.insert(1, "UPDATED_SYSTEM_APP")
    return "[ " + " ".join(flags) + " ]"


def _package_block(terminal: Terminal, pkg: Package, *, hidden: bool = False) -> list[str]:
    """One ``Package [name] (id):`` block as Settings.dumpPackageLPr prints it."""
    version_code, version_name = pkg.version_code, pkg.version_name
    path = code_path(terminal, pkg)
    if hidden:  # the factory copy of an updated system app
        version_code, version_name = pkg.factory_version_code, pkg.factory_version_name
        short = pkg.name.rsplit(".", 1)[-1].capitalize()
        path = f"/system/app/{short}"
    sdk_line = f"versionCode={version_code}"
    sdk_line += f" minSdk={pkg.min_sdk}" if terminal.sdk >= 24 else ""
    sdk_line += f" targetSdk={pkg.target_sdk}"
    pid = _hex_id(pkg.name, "pkg", str(hidden))
    lines = [
        f"  Package [{pkg.name}] ({_hex_id(pkg.name, str(hidden))}):",
        f"    userId={pkg.uid}",
        f"    pkg=Package{{{pid} {pkg.name}}}",
        f"    codePath={path}",
        f"    resourcePath={path}",
        f"    legacyNativeLibraryDir={path}/lib",
        "    primaryCpuAbi=null",
        "    secondaryCpuAbi=null",
        f"    {sdk_line}",
        f"    versionName={version_name}",
        "    splits=[base]",
        "    apkSigningVersion=2",
        f"    applicationInfo=ApplicationInfo{{{pid} {pkg.name}}}",
        f"    flags={_flags(pkg)}",
        f"    dataDir=/data/user/0/{pkg.name}",
        "    supportsScreens=[small, medium, large, xlarge, resizeable, anyDensity]",
        f"    timeStamp={pkg.last_update_time}",
        f"    firstInstallTime={pkg.first_install_time}",
        f"    lastUpdateTime={pkg.last_update_time}",
        f"    installerPackageName={pkg.installer or 'null'}",
        f"    signatures=PackageSignatures{{{_hex_id(pkg.name, 'sigs')} version:2, "
        f"signatures:[{_hex_id(pkg.name, 'cert')}], past signatures:[]}}",
        "    installPermissionsFixed=true",
        f"    pkgFlags={_flags(pkg)}",
        "    User 0: ceDataInode=0 installed=true hidden=false suspended=false stopped=false "
        f"notLaunched=false enabled={0 if pkg.enabled else 3} instant=false virtual=false",
        "",
    ]
    return lines


def dumpsys_package(terminal: Terminal, name: str | None) -> str:
    """``dumpsys package [NAME]``; an unknown NAME only yields the "Unable to find" lines."""
    pkgs = (
        list(terminal.packages.values())
        if name is None
        else [terminal.packages[name]]
        if name in terminal.packages
        else []
    )
    if not pkgs:
        return (
            f"\nDexopt state:\n  Unable to find package: {name}\n"
            f"\nCompiler stats:\n  Unable to find package: {name}\n"
        )
    lines = ["Key Set Manager:"]
    for pkg in pkgs:
        lines += [f"  [{pkg.name}]", "      Signing KeySets: 1"]
    lines += ["", "Packages:"]
    for pkg in pkgs:
        lines += _package_block(terminal, pkg)
    hidden = [p for p in pkgs if p.system and p.updated]
    if hidden:
        lines += ["Hidden system packages:"]
        for pkg in hidden:
            lines += _package_block(terminal, pkg, hidden=True)
    lines += ["Dexopt state:"]
    for pkg in pkgs:
        lines += [
            f"  [{pkg.name}]",
            f"    path: {apk_path(terminal, pkg)}",
            "      arm64: [status=speed-profile] [reason=install]",
        ]
    return "\n".join(lines) + "\n"


def dumpsys_battery(terminal: Terminal) -> str:
    """BatteryService.dumpInternal; values overridable through device.toml ``[battery]``."""
    values: dict[str, object] = {
        "AC powered": False,
        "USB powered": True,
        "Wireless powered": False,
        "Dock powered": False,
        "Max charging current": 500000,
        "Max charging voltage": 5000000,
        "Charge counter": 3000000,
        "status": 2,
        "health": 2,
        "present": True,
        "level": 85,
        "scale": 100,
        "voltage": 4200,
        "temperature": 250,
        "technology": "Li-ion",
    }
    values.update(terminal.battery)
    body = "".join(f"  {k}: {str(v).lower() if isinstance(v, bool) else v}\n" for k, v in values.items())
    return "Current Battery Service state:\n" + body


_DEVICE_POLICY = """\
Current Device Policy Manager state:
  Immutable state:
    mHasFeature=true
    mIsWatch=false
    mIsAutomotive=false
    mHasTelephonyFeature=false
  Device policy cache:
    Screen capture disallowed users: {}
    Password quality: {}
  Device state cache:
    Device owner type: -1
    Has device owner: false

  Enabled Device Admins (User 0, provisioningState: 0):

  Stay on while plugged in: 0
"""


@command("dumpsys")
def dumpsys(session: Session, argv: list[str], stdin: bytes) -> Output:
    terminal = session.terminal
    service = argv[1] if len(argv) > 1 else ""
    if service == "package":
        names = [a for a in argv[2:] if not a.startswith("-")]
        yield STDOUT, dumpsys_package(terminal, names[0] if names else None).encode()
        return 0
    if service == "battery":
        yield STDOUT, dumpsys_battery(terminal).encode()
        return 0
    if service == "device_policy":
        yield STDOUT, _DEVICE_POLICY.encode()
        return 0
    # frameworks/native/cmds/dumpsys: a missing service is reported on stderr, exit 0.
    yield STDERR, f"Can't find service: {service}\n".encode()
    return 0


# -- run-as / su ----------------------------------------------------------------------------


@command("run-as")
def run_as(session: Session, argv: list[str], stdin: bytes) -> Output:
    """system/core/run-as: texts differ before Android 8 (run-as.c) and after (run-as.cpp)."""
    terminal = session.terminal
    args = argv[1:]
    if not args:
        yield STDERR, b"run-as: usage: run-as <package-name> [--user <uid>] <command> [<args>]\n"
        return 1
    name, rest = args[0], args[1:]
    if rest[:1] == ["--user"]:
        rest = rest[2:]
    old = terminal.sdk <= 25
    pkg = terminal.packages.get(name)
    if pkg is None:
        yield (
            STDERR,
            (
                f"run-as: Package '{name}' is unknown\n" if old else f"run-as: unknown package: {name}\n"
            ).encode(),
        )
        return 1
    if not pkg.debuggable:
        yield (
            STDERR,
            (
                f"run-as: Package '{name}' is not debuggable\n"
                if old
                else f"run-as: package not debuggable: {name}\n"
            ).encode(),
        )
        return 1
    cwd = f"/data/data/{name}"  # Android ≥ 7 reports /data/user/0/<pkg> when the fixture has it
    for candidate in (f"/data/user/0/{name}", cwd):
        try:
            terminal.fs.stat(candidate, Caller.app(name))
        except FsError:
            continue
        cwd = candidate
        break
    child = session.child(Caller.app(name), cwd)
    if not rest:  # interactive: read the script from stdin
        return (yield from run_script(child, stdin.decode("utf-8", "replace")))
    if terminal.canned(rest) is None and lookup(rest[0]) is None:
        yield STDERR, f"run-as: exec failed for {rest[0]}: No such file or directory\n".encode()
        return 1
    return (yield from run_argv(child, rest, stdin))


@command("su")
def su(session: Session, argv: list[str], stdin: bytes) -> Output:
    """AOSP debug su (``su [UID [CMD…]]``) plus the ``su -c SCRIPT`` form of Magisk/SuperSU.

    Only present when device.toml says ``rooted = true`` (Terminal.has_command).
    """
    args = argv[1:]
    if args[:1] in (["0"], ["root"]):
        args = args[1:]
    child = session.child(ROOT, session.cwd)
    child.env["USER"] = "root"
    if args[:1] == ["-c"]:
        return (yield from run_script(child, " ".join(args[1:])))
    if args:
        return (yield from run_argv(child, args, stdin))
    return (yield from run_script(child, stdin.decode("utf-8", "replace")))


@command("id")
def id_cmd(session: Session, argv: list[str], stdin: bytes) -> Output:
    caller = session.caller
    if caller.kind == "root":
        text = "uid=0(root) gid=0(root) groups=0(root) context=u:r:su:s0"
    elif caller.kind == "app":
        uid = session.terminal.packages[caller.package].uid
        name = f"u0_a{uid - 10000}"
        text = (
            f"uid={uid}({name}) gid={uid}({name}) groups={uid}({name}),3003(inet),9997(everybody),"
            f"{uid + 10000}({name}_cache),{uid + 40000}(all_a{uid - 10000}) "
            f"context=u:r:untrusted_app:s0:c{uid - 10000},c256,c512,c768"
        )
    else:
        text = (
            "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),"
            "1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),"
            "3006(net_bw_stats),3009(readproc),3011(uhid) context=u:r:shell:s0"
        )
    yield STDOUT, (text + "\n").encode()
    return 0


@command("whoami")
def whoami(session: Session, argv: list[str], stdin: bytes) -> Output:
    caller = session.caller
    name = {"root": "root", "shell": "shell"}.get(
        caller.kind
    ) or f"u0_a{session.terminal.packages[caller.package].uid - 10000}"
    yield STDOUT, (name + "\n").encode()
    return 0


# -- screen ---------------------------------------------------------------------------------

MULTI_DISPLAY_WARNING = (
    "[Warning] Multiple displays were found, but no display id was specified! Defaulting to the "
    "first display found, however this default is not guaranteed to be consistent across captures. "
    "A display id should be specified.\n"
    "A display ID can be specified with the [-d display-id] option.\n"
    'See "dumpsys SurfaceFlinger --display-id" for valid display IDs.\n'
)


@command("screencap")
def screencap(session: Session, argv: list[str], stdin: bytes) -> Output:
    """frameworks/base/cmds/screencap: ``-p`` PNG to stdout, ``-d ID`` picks a display.

    The multi-display warning goes to stderr — which ``exec:`` and ``shell:`` merge into the
    PNG stream (adbd's raw protocol has one output stream).
    """
    terminal = session.terminal
    args = argv[1:]
    png, display, files = False, None, []
    while args:
        a = args.pop(0)
        if a == "-p":
            png = True
        elif a == "-d" and args:
            display = args.pop(0)
        elif a == "-h":
            yield STDERR, b"usage: screencap [-hp] [-d display-id] [FILENAME]\n"
            return 0
        elif a.startswith("-"):
            yield STDERR, f"screencap: invalid option -- '{a[1:]}'\n".encode()
            return 1
        else:
            files.append(a)
    if files:
        terminal.journal_write("screencap", files[0])
        yield STDERR, f"Error opening file: {files[0]} (Read-only file system)\n".encode()
        return 1
    if not png:
        yield STDERR, b"screencap: the fake terminal only produces PNG output (-p)\n"
        return 1
    data = terminal.screen_png(display)
    if data is None:
        yield STDERR, f"Unable to get handle for display {display}\n".encode()
        return 1
    if display is None and terminal.screencap_warning:
        yield STDERR, terminal.screencap_warning.encode()
    if session.pty and terminal.screencap_crlf and not terminal.pty_crlf:
        data = data.replace(b"\n", b"\r\n")  # an old PTY shell translating the PNG
    yield STDOUT, data
    return 0


@command("wm")
def wm(session: Session, argv: list[str], stdin: bytes) -> Output:
    terminal = session.terminal
    if argv[1:2] == ["size"] and len(argv) == 2:
        yield STDOUT, f"Physical size: {terminal.screen_size}\n".encode()
        return 0
    if argv[1:2] == ["density"] and len(argv) == 2:
        yield STDOUT, f"Physical density: {terminal.density}\n".encode()
        return 0
    yield STDERR, b"Error: fake terminal only answers 'wm size' and 'wm density'\n"
    return 1


# -- logs -------------------------------------------------------------------------------------

_THREADTIME = re.compile(
    r"^(?P<ts>\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\s+(?P<pid>\d+)\s+(?P<tid>\d+) "
    r"(?P<pri>[VDIWEFS]) (?P<tag>.*?)\s*: (?P<msg>.*)$"
)
_PRIORITIES = "VDIWEFS"
_DEFAULT_BUFFERS = ("main", "system", "crash")


def _parse_time(text: str) -> tuple | None:
    m = re.fullmatch(r"(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?", text.strip())
    if not m:
        return None
    return tuple(int(g or 0) for g in m.groups())


_AS_STORED = ("threadtime", "long", "")  # formats printed as the lines are stored


def _format_line(line: str, fmt: str) -> str:
    if fmt in _AS_STORED:  # as stored: no match needed (50k lines per bench dump)
        return line
    m = _THREADTIME.match(line)
    if not m:
        return line
    d = m.groupdict()
    tag = f"{d['tag']:<8}"
    if fmt == "time":
        return f"{d['ts']} {d['pri']}/{tag}({int(d['pid']):>5}): {d['msg']}"
    if fmt == "brief":
        return f"{d['pri']}/{tag}({int(d['pid']):>5}): {d['msg']}"
    if fmt == "tag":
        return f"{d['pri']}/{tag}: {d['msg']}"
    if fmt == "raw":
        return d["msg"]
    return line


def _wanted(line: str, specs: list[tuple[str, int]]) -> bool:
    """logcat filterspecs ``TAG:P`` / ``*:P``; no specs → everything."""
    if not specs:
        return True
    m = _THREADTIME.match(line)
    if not m:
        return True
    level = _PRIORITIES.index(m["pri"])
    default = next((p for t, p in specs if t == "*"), 0)
    return level >= next((p for t, p in specs if t == m["tag"]), default)


@command("logcat")
def logcat(session: Session, argv: list[str], stdin: bytes) -> Output:
    """system/core/logcat: ``-d`` dumps and exits; without it the stream stays open."""
    terminal = session.terminal
    args = argv[1:]
    dump, fmt, buffers, since, tail, specs = False, "threadtime", [], None, None, []
    while args:
        a = args.pop(0)
        if a == "-d":
            dump = True
        elif a in ("-c", "--clear"):
            terminal.clear_log()
            return 0
        elif a == "-v" and args:
            fmt = args.pop(0)
        elif a.startswith("-v") and len(a) > 2:
            fmt = a[2:]
        elif a == "-b" and args:
            buffers += args.pop(0).split(",")
        elif a in ("-t", "-T") and args:
            value = args.pop(0)
            dump = dump or a == "-t"  # -t implies -d, -T does not
            if value.isdigit():
                tail = int(value)
            else:
                since = _parse_time(value)
                if since is None:
                    yield STDERR, f"logcat: unknown time format '{value}'\n".encode()
                    return 1
        elif a == "-s":
            specs.append(("*", len(_PRIORITIES) - 1))
        elif a.startswith("-"):
            yield STDERR, f"logcat: invalid option -- '{a.lstrip('-')}'\n".encode()
            return 1
        else:
            tag, _, pri = a.rpartition(":")
            specs.append(
                (tag or a, _PRIORITIES.index(pri.upper()) if pri and pri.upper() in _PRIORITIES else 0)
            )
    wanted_buffers = set(_DEFAULT_BUFFERS if not buffers or buffers == ["default"] else buffers)
    if since is None and not specs and tail is None and fmt in _AS_STORED:
        # every line of the wanted buffers as stored (the usual dump): a buffer's run of lines
        # at a time, the same lines without a Python step per line (a bench terminal holds 27k),
        # built once while the log stays the same (a benchmark dumps the same 4 MiB log again)
        def runs_of(lines: list[tuple[str, str]]) -> bytes:
            return _dump_text(((buf, map(itemgetter(1), run)) for buf, run in groupby(lines, key=itemgetter(0))),
                              wanted_buffers)

        data = terminal.log_dump(runs_of, frozenset(wanted_buffers))
    else:
        picked: list[tuple[str, str]] = []
        for buf, line in terminal.log_lines():
            if "all" not in wanted_buffers and buf not in wanted_buffers:
                continue
            if since is not None:
                m = _THREADTIME.match(line)
                if m and _parse_time(m["ts"]) < since:
                    continue
            if _wanted(line, specs):
                picked.append((buf, line))
        if tail is not None:
            picked = picked[-tail:] if tail else []
        data = _dump_text(((buf, [_format_line(line, fmt)]) for buf, line in picked), wanted_buffers)
    if data:
        yield STDOUT, data
    if not dump:
        yield WAIT, b""  # a live logcat never ends by itself
    return 0


def _dump_text(runs, wanted_buffers: set[str]) -> bytes:
    """Runs of ``(buffer, lines)`` as logcat prints them, a divider where the buffer changes."""
    out, seen, current = [], set(), None
    for buf, lines in runs:
        if "all" not in wanted_buffers and buf not in wanted_buffers:
            continue
        if buf != current:
            out.append(f"--------- {'beginning of' if buf not in seen else 'switch to'} {buf}")
            seen.add(buf)
            current = buf
        out.extend(lines)
    return ("\n".join(out) + "\n").encode() if out else b""


@command("log")
def log(session: Session, argv: list[str], stdin: bytes) -> Output:
    """``log [-p PRI] [-t TAG] MSG…``: appends to the in-memory main buffer (journaled)."""
    args, tag, pri = argv[1:], "log", "I"
    while args and args[0] in ("-p", "-t") and len(args) > 1:
        if args[0] == "-p":
            pri = args[1][:1].upper()
        else:
            tag = args[1]
        args = args[2:]
    session.terminal.append_log(tag, pri if pri in _PRIORITIES else "I", " ".join(args))
    return 0
    yield  # pragma: no cover


# -- clock, activity manager --------------------------------------------------------------------


@command("date")
def date(session: Session, argv: list[str], stdin: bytes) -> Output:
    now = session.terminal.now()
    fmt = next((a[1:] for a in argv[1:] if a.startswith("+")), "%a %b %e %H:%M:%S %Z %Y")
    fmt = fmt.replace("%s", str(int(now.timestamp())))
    yield STDOUT, (now.strftime(fmt) + "\n").encode()
    return 0


@command("uptime")
def uptime(session: Session, argv: list[str], stdin: bytes) -> Output:
    """toybox uptime.c."""
    terminal = session.terminal
    now = terminal.now()
    if "-s" in argv:
        yield (
            STDOUT,
            (
                (now - timedelta(seconds=terminal.uptime_seconds)).strftime("%Y-%m-%d %H:%M:%S") + "\n"
            ).encode(),
        )
        return 0
    up = int(terminal.uptime_seconds)
    days, rest = divmod(up, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    text = f" {now:%H:%M:%S} up "
    if days:
        text += f"{days} day{'s' if days != 1 else ''}, "
    text += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    text += " 0 users,  load average: 0.52, 0.58, 0.59\n"
    yield STDOUT, text.encode()
    return 0


def _intent(args: list[str]) -> str:
    """Intent.toShortString for the options tsdtool may pass to ``am broadcast``."""
    parts: dict[str, str] = {}
    extras = False
    it = iter(args)
    for a in it:
        if a == "-a":
            parts["act"] = next(it, "")
        elif a == "-c":
            parts["cat"] = f"[{next(it, '')}]"
        elif a == "-d":
            parts["dat"] = next(it, "")
        elif a == "-p":
            parts["pkg"] = next(it, "")
        elif a == "-n":
            parts["cmp"] = next(it, "")
        elif a == "--user":
            next(it, None)
        elif a in ("--es", "--ei", "--ez", "--el", "--ef", "--eu", "--esa", "--eia"):
            next(it, None)
            next(it, None)
            extras = True
        elif a == "--esn":
            next(it, None)
            extras = True
        elif not a.startswith("-") and "act" not in parts:
            parts["dat"] = a
    parts["flg"] = "0x400000"
    order = ["act", "cat", "dat", "flg", "pkg", "cmp"]
    text = " ".join(f"{k}={parts[k]}" for k in order if k in parts)
    return "Intent { " + text + (" (has extras)" if extras else "") + " }"


@command("am")
def am(session: Session, argv: list[str], stdin: bytes) -> Output:
    if argv[1:2] == ["broadcast"]:
        intent = _intent(argv[2:])
        session.terminal.journal_write("broadcast", intent)
        args = argv[2:]
        if "-a" in args[:-1]:
            session.terminal.broadcast(args[args.index("-a") + 1])
        yield STDOUT, f"Broadcasting: {intent}\nBroadcast completed: result=0\n".encode()
        return 0
    yield (
        STDERR,
        f"Error: fake terminal only supports 'am broadcast' (got '{' '.join(argv[1:2])}')\n".encode(),
    )
    return 1
