"""A small, honest stand-in for the terminal's ``/system/bin/sh`` (mksh).

It understands what tsdtool and the adb clients send, and refuses the rest loudly:

* lists joined by ``;``, ``&&``, ``||`` and newlines; pipelines ``a | b`` (the left side runs
  to completion first, its stdout becomes the right side's stdin);
* quoting ``'…'``, ``"…"``, ``\\x`` as in POSIX sh (the same rules ``shlex`` implements, but
  the lexer here also keeps operators apart from quoted text, so ``echo ';'`` stays a word);
* ``$?``, ``$$``, ``$NAME``/``${NAME}`` from a fixed environment;
* redirections ``N>/dev/null``, ``N>&M``, ``>&2``, ``<FILE``; writing to any other file fails
  with ``Read-only file system`` (the fake never changes the terminal's files);
* builtins ``echo``, ``true``, ``false``, ``exit``, ``cd``, ``pwd``, ``command -v``, ``which``,
  ``export NAME=VALUE``, ``exec CMD…`` and ``sh -c SCRIPT``; ``NAME=VALUE`` words before a
  command set the variable (for that command only, or for the shell when no command follows).

* globbing ``*``, ``?``, ``[…]`` against the device tree (no match: the word stays as typed).

Not supported (they answer an error instead of a wrong result): command substitution ``$(…)``
and backticks. Background jobs (``&``) run in the foreground.

Every command is a generator yielding ``(fd, bytes)`` chunks (1 = stdout, 2 = stderr, or
``WAIT`` = keep the stream open until the client hangs up) and returning its exit status, so
large outputs (``cat``, ``tar``) stream without being held in memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .devicefs import SHELL, Caller, FsError, join

if TYPE_CHECKING:
    from .terminal import Terminal

STDOUT, STDERR, WAIT = 1, 2, -1
Chunk = tuple[int, bytes]
Output = Generator[Chunk, None, int]
Handler = Callable[["Session", list[str], bytes], Output]

SH = "/system/bin/sh"
COMMANDS: dict[str, Handler] = {}


def command(*names: str) -> Callable[[Handler], Handler]:
    """Register a generator function as the emulation of ``names``."""

    def register(fn: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = fn
        return fn

    return register


class ShellSyntaxError(Exception):
    """Input the fake shell cannot run; the message is printed after ``/system/bin/sh: ``."""


@dataclass
class Session:
    """One shell process: who runs it, where, and the last exit status."""

    terminal: Terminal
    caller: Caller = SHELL
    cwd: str = "/"
    status: int = 0
    exited: bool = False
    env: dict[str, str] = field(default_factory=dict)
    pty: bool = False  # running under `shell:` v1 (a PTY on old terminals)

    def child(self, caller: Caller, cwd: str) -> Session:
        return Session(self.terminal, caller, cwd, 0, False, dict(self.env), self.pty)

    def path(self, arg: str) -> str:
        return join(self.cwd, arg)


def default_env(terminal: Terminal) -> dict[str, str]:
    return {
        "HOME": "/",
        "PATH": "/product/bin:/apex/com.android.runtime/bin:/system/bin:/system/xbin:/vendor/bin",
        "TMPDIR": "/data/local/tmp",
        "USER": "shell",
        "HOSTNAME": terminal.prop("ro.product.device"),
        "ANDROID_DATA": "/data",
        "ANDROID_ROOT": "/system",
        "EXTERNAL_STORAGE": "/sdcard",
    }


# -- lexing and parsing --------------------------------------------------------------------


@dataclass
class _Redirect:
    fd: int  # -1 = both stdout and stderr (&>)
    op: str  # ">", ">>", "<", ">&", "<&"
    target: str = ""  # raw word


@dataclass
class _Simple:
    words: list[str] = field(default_factory=list)  # raw words, expanded when run
    redirects: list[_Redirect] = field(default_factory=list)

    def empty(self) -> bool:
        return not self.words and not self.redirects


def _tokens(script: str) -> list[tuple]:
    """Split into ("word", raw) / ("op", op) / ("redir", fd, op) tokens, quote-aware."""
    toks: list[tuple] = []
    word: list[str] | None = None
    i, n = 0, len(script)

    def flush() -> None:
        nonlocal word
        if word is not None:
            toks.append(("word", "".join(word)))
            word = None

    while i < n:
        c = script[i]
        if c in " \t":
            flush()
            i += 1
        elif c == "\n":
            flush()
            toks.append(("op", ";"))
            i += 1
        elif c == "#" and word is None:
            while i < n and script[i] != "\n":
                i += 1
        elif c == "'":
            j = script.find("'", i + 1)
            if j < 0:
                raise ShellSyntaxError("no closing quote")
            word = (word or []) + [script[i : j + 1]]
            i = j + 1
        elif c == '"':
            j = i + 1
            while j < n and script[j] != '"':
                j += 2 if script[j] == "\\" else 1
            if j >= n:
                raise ShellSyntaxError("no closing quote")
            word = (word or []) + [script[i : j + 1]]
            i = j + 1
        elif c == "\\":
            word = (word or []) + [script[i : i + 2]]
            i += 2
        elif c in "<>":
            fd = 0 if c == "<" else 1
            if word is not None and "".join(word).isdigit():
                fd, word = int("".join(word)), None
            flush()
            op, i = c, i + 1
            if c == ">" and script[i : i + 1] in (">", "|"):
                op += ">" if script[i] == ">" else ""
                i += 1
            elif script[i : i + 1] == "&":
                op, i = op + "&", i + 1
            toks.append(("redir", fd, op))
        elif c == "&" and script[i : i + 2] == "&>":
            flush()
            toks.append(("redir", -1, ">"))
            i += 2
        elif c in ";&|":
            flush()
            op = script[i : i + 2] if script[i : i + 2] in ("&&", "||", ";;") else c
            if op == ";;":
                raise ShellSyntaxError("syntax error: ';;' unexpected")
            toks.append(("op", op))
            i += len(op)
        else:
            word = (word or []) + [c]
            i += 1
    flush()
    return toks


def parse(script: str) -> list[tuple[str, list[_Simple]]]:
    """``[(connector, pipeline), …]`` where connector is ``""``, ``;``, ``&&`` or ``||``."""
    items: list[tuple[str, list[_Simple]]] = []
    pipeline: list[_Simple] = []
    cmd = _Simple()
    connector = ""
    pending: _Redirect | None = None
    for tok in _tokens(script):
        if tok[0] == "word":
            if pending is not None:
                pending.target, pending = tok[1], None
            else:
                cmd.words.append(tok[1])
            continue
        if pending is not None:
            raise ShellSyntaxError(f"syntax error: '{tok[-1]}' unexpected")
        if tok[0] == "redir":
            pending = _Redirect(tok[1], tok[2])
            cmd.redirects.append(pending)
            continue
        op = tok[1]
        if cmd.empty():
            # Blank lines and a trailing ";" are fine; "a && ;", "| b" and "; ;" are not.
            if op in (";", "&") and not pipeline and connector in ("", ";"):
                continue
            raise ShellSyntaxError(f"syntax error: '{op}' unexpected")
        pipeline.append(cmd)
        cmd = _Simple()
        if op == "|":
            continue
        items.append((connector, pipeline))
        pipeline, connector = [], ";" if op in (";", "&") else op
    if pending is not None:
        raise ShellSyntaxError("syntax error: unexpected end of input")
    if not cmd.empty():
        pipeline.append(cmd)
    elif pipeline or connector in ("&&", "||"):
        raise ShellSyntaxError("syntax error: unexpected end of input")
    if pipeline:
        items.append((connector, pipeline))
    return items


def _dollar(raw: str, i: int, session: Session) -> tuple[str, int]:
    """Expand the ``$…`` starting at raw[i]; returns (text, index after it)."""
    nxt = raw[i + 1 : i + 2]
    if nxt == "?":
        return str(session.status), i + 2
    if nxt == "$":
        return "4321", i + 2
    if nxt == "(":
        raise ShellSyntaxError("command substitution is not supported by the fake shell")
    if nxt == "{":
        end = raw.find("}", i)
        if end < 0:
            raise ShellSyntaxError("${: bad substitution")
        return session.env.get(raw[i + 2 : end], ""), end + 1
    j = i + 1
    while j < len(raw) and (raw[j].isalnum() or raw[j] == "_"):
        j += 1
    if j == i + 1:
        return "$", i + 1
    return session.env.get(raw[i + 1 : j], ""), j


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?[])", r"[\1]", text)


def expand(raw: str, session: Session) -> list[str]:
    """Quote removal, parameter expansion and globbing of one raw word (no field splitting).

    A pattern with unquoted ``*``/``?``/``[`` expands to the sorted matching device paths, or
    stays as typed when nothing matches (mksh's behaviour).
    """
    out: list[str] = []
    pattern: list[str] = []  # the same text with quoted metacharacters escaped for glob
    quoted = magic = False

    def literal(text: str) -> None:
        out.append(text)
        pattern.append(_glob_escape(text))

    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "'":
            j = raw.index("'", i + 1)
            literal(raw[i + 1 : j])
            quoted, i = True, j + 1
        elif c == '"':
            quoted, i = True, i + 1
            while raw[i] != '"':
                if raw[i] == "\\" and raw[i + 1 : i + 2] in ("$", "`", '"', "\\", "\n"):
                    literal(raw[i + 1])
                    i += 2
                elif raw[i] == "$":
                    text, i = _dollar(raw, i, session)
                    literal(text)
                elif raw[i] == "`":
                    raise ShellSyntaxError("command substitution is not supported by the fake shell")
                else:
                    literal(raw[i])
                    i += 1
            i += 1
        elif c == "\\":
            literal(raw[i + 1 : i + 2])
            quoted, i = True, i + 2
        elif c == "$":
            text, i = _dollar(raw, i, session)
            literal(text)
        elif c == "`":
            raise ShellSyntaxError("command substitution is not supported by the fake shell")
        else:
            out.append(c)
            pattern.append(c)
            magic = magic or c in "*?["
            i += 1
    text = "".join(out)
    if magic:
        matches = session.terminal.fs.glob("".join(pattern), session.caller, session.cwd)
        if matches:
            return matches
    return [text] if text or quoted else []


# -- running ---------------------------------------------------------------------------------


def run_script(session: Session, script: str, stdin: bytes = b"") -> Output:
    """Run a shell command line as ``sh -c SCRIPT`` would; returns the exit status."""
    try:
        items = parse(script)
    except ShellSyntaxError as exc:
        yield STDERR, f"{SH}: {exc}\n".encode()
        return 1
    status = session.status
    for connector, pipeline in items:
        if (connector == "&&" and status != 0) or (connector == "||" and status == 0):
            continue
        try:
            status = yield from _run_pipeline(session, pipeline, stdin)
        except ShellSyntaxError as exc:
            yield STDERR, f"{SH}: {exc}\n".encode()
            status = 1
        session.status = status
        if session.exited:
            break
    return status


def _run_pipeline(session: Session, pipeline: list[_Simple], stdin: bytes) -> Output:
    data = stdin
    for cmd in pipeline[:-1]:
        buf = bytearray()
        gen = _run_simple(session, cmd, data)
        try:
            while True:
                fd, chunk = next(gen)
                if fd == STDOUT:
                    buf += chunk
                elif fd == STDERR:
                    yield fd, chunk
        except StopIteration:
            pass
        data = bytes(buf)
    return (yield from _run_simple(session, pipeline[-1], data))


_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _run_simple(session: Session, cmd: _Simple, stdin: bytes) -> Output:
    words, assigned = list(cmd.words), {}
    while words and _ASSIGNMENT.match(words[0]):  # NAME=VALUE before the command (no field splitting)
        name, _, raw = words.pop(0).partition("=")
        assigned[name] = "".join(expand(raw, session)) if raw else ""
    if assigned and not words:
        session.env.update(assigned)
    elif assigned:  # the command sees them; the shell keeps its own (exec's exit still counts)
        temp = Session(session.terminal, session.caller, session.cwd, session.status, False,
                       {**session.env, **assigned}, session.pty)
        status = yield from _run_simple(temp, _Simple(words, cmd.redirects), stdin)
        session.exited = temp.exited
        return status
    argv = [w for raw in words for w in expand(raw, session)]
    table = {STDOUT: "out", STDERR: "err"}
    for r in cmd.redirects:
        target = "".join(expand(r.target, session))
        if r.op in (">&", "<&"):
            if target in ("1", "2"):
                table[r.fd] = table[int(target)]
            elif target == "-":
                table[r.fd] = "null"
            else:
                yield STDERR, f"{SH}: {target}: bad file descriptor\n".encode()
                return 1
        elif r.op in (">", ">>"):
            if target != "/dev/null":
                session.terminal.journal_write("redirect", target)
                yield STDERR, f"{SH}: can't create {target}: Read-only file system\n".encode()
                return 1
            for fd in (STDOUT, STDERR) if r.fd == -1 else (r.fd,):
                table[fd] = "null"
        elif r.op == "<":
            if target == "/dev/null":
                stdin = b""
                continue
            try:
                stdin = session.terminal.fs.read_bytes(session.path(target), session.caller)
            except FsError as exc:
                yield STDERR, f"{SH}: can't open {target}: {exc.strerror}\n".encode()
                return 1
    if not argv:
        return 0
    route = {"out": STDOUT, "err": STDERR, "null": None}
    gen = run_argv(session, argv, stdin)
    try:
        while True:
            fd, chunk = next(gen)
            if fd == WAIT:
                yield fd, chunk
                continue
            dest = route[table.get(fd, "out")]
            if dest is not None and chunk:
                yield dest, chunk
    except StopIteration as stop:
        return stop.value if stop.value is not None else 0


def lookup(name: str) -> Handler | None:
    """The emulation for a command name or an absolute /system/bin-style path."""
    if "/" in name:
        head, _, base = name.rpartition("/")
        if head not in ("/system/bin", "/system/xbin", "/vendor/bin", "/bin", "/product/bin"):
            return None
        name = base
    return COMMANDS.get(name)


def run_argv(session: Session, argv: list[str], stdin: bytes = b"") -> Output:
    """Run one already-split command (what ``run-as``/``su`` exec): canned output first."""
    terminal = session.terminal
    canned = terminal.canned(argv)
    if canned is not None:
        out, err, code = canned
        if out:
            yield STDOUT, out
        if err:
            yield STDERR, err
        return code
    handler = lookup(argv[0])
    if handler is None or not terminal.has_command(argv[0].rsplit("/", 1)[-1]):
        yield STDERR, f"{SH}: {argv[0]}: inaccessible or not found\n".encode()
        return 127
    return (yield from handler(session, argv, stdin))


# -- builtins ----------------------------------------------------------------------------------


@command("echo")
def _echo(session: Session, argv: list[str], stdin: bytes) -> Output:
    args, newline, escapes = argv[1:], True, False
    while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0][1:]
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    yield STDOUT, (text + ("\n" if newline else "")).encode()
    return 0


@command("true")
def _true(session: Session, argv: list[str], stdin: bytes) -> Output:
    return 0
    yield  # pragma: no cover - makes this a generator


@command("false")
def _false(session: Session, argv: list[str], stdin: bytes) -> Output:
    return 1
    yield  # pragma: no cover


@command("exit")
def _exit(session: Session, argv: list[str], stdin: bytes) -> Output:
    session.exited = True
    return int(argv[1]) & 0xFF if len(argv) > 1 and argv[1].isdigit() else session.status
    yield  # pragma: no cover


@command("cd")
def _cd(session: Session, argv: list[str], stdin: bytes) -> Output:
    target = argv[1] if len(argv) > 1 else session.env.get("HOME", "/")
    try:
        info = session.terminal.fs.stat(session.path(target), session.caller)
        if not info.is_dir:
            raise FsError(20, target)
    except FsError as exc:
        yield STDERR, f"{SH}: cd: {target}: {exc.strerror}\n".encode()
        return 2
    session.cwd = info.path
    return 0


@command("pwd")
def _pwd(session: Session, argv: list[str], stdin: bytes) -> Output:
    yield STDOUT, (session.cwd + "\n").encode()
    return 0


@command("export")
def _export(session: Session, argv: list[str], stdin: bytes) -> Output:
    """``export NAME=VALUE…`` (``export NAME`` alone changes nothing the fake can show)."""
    for arg in argv[1:]:
        name, eq, value = arg.partition("=")
        if eq:
            session.env[name] = value
    return 0
    yield  # pragma: no cover


@command("exec")
def _exec(session: Session, argv: list[str], stdin: bytes) -> Output:
    """``exec CMD…`` replaces the shell: CMD's status is the shell's and nothing after it runs."""
    if len(argv) == 1:
        return 0
    status = yield from run_argv(session, argv[1:], stdin)
    session.exited = True
    return status


_BUILTINS = ("echo", "true", "false", "exit", "cd", "pwd", "command", "sh", "export", "exec")


@command("command", "which")
def _command_v(session: Session, argv: list[str], stdin: bytes) -> Output:
    """``command -v NAME…`` / ``which NAME…``: where a command is; ``command CMD…`` runs it."""
    if argv[0] == "command" and argv[1:2] != ["-v"]:
        return (yield from run_argv(session, argv[1:], stdin)) if len(argv) > 1 else 0
    names = argv[2:] if argv[0] == "command" else argv[1:]
    status = 0
    for name in names:
        known = lookup(name) is not None and session.terminal.has_command(name)
        if not known and session.terminal.canned([name]) is None:
            status = 1
        elif argv[0] == "command" and name in _BUILTINS:
            yield STDOUT, f"{name}\n".encode()  # mksh reports builtins by name
        else:
            yield STDOUT, f"/system/bin/{name}\n".encode()
    return status


@command("sh")
def _sh(session: Session, argv: list[str], stdin: bytes) -> Output:
    if len(argv) >= 3 and argv[1] == "-c":
        child = session.child(session.caller, session.cwd)
        return (yield from run_script(child, argv[2], stdin))
    if len(argv) == 1:  # `sh` reading a script from stdin
        child = session.child(session.caller, session.cwd)
        return (yield from run_script(child, stdin.decode("utf-8", "replace")))
    yield STDERR, f"{SH}: {argv[1]}: can't open: No such file or directory\n".encode()
    return 127


# Registers the remaining commands (import at the bottom: they use `command` from above).
from . import shell_files, shell_system  # noqa: E402,F401
