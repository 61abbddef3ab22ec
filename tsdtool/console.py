"""The two Rich consoles (stdout for results, stderr for errors/progress) and output policy.

Device text is untrusted: it goes through :func:`escape` before any markup is applied
(``getprop`` prints ``[key]: [value]``, which Rich would read as markup).
"""

from __future__ import annotations

import builtins
import os
import re
import sys
from functools import cache

TYPE_CHECKING = False  # not typing's: typing is not imported at start-up (a pull's first request waits for it)
if TYPE_CHECKING:  # Rich is imported when something is drawn, not at start-up
    from typing import Any

    from rich.console import Console

# What changes how the text around it is shown without being a control: Unicode's bidi controls
# (UAX #9: ALM, LRM/RLM, LRE…RLO, LRI…PDI; U+202E shows "gnp.exe" as "exe.png", CVE-2021-42574),
# zero-width characters, the BOM, the interlinear annotation marks and the line/paragraph
# separators. A character class's body: the console, JSON (escapes.json_text) and file names
# (paths.safe_component) each take it into their own.
FORMAT_CHARS = "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb"
# C0/C1 controls (not newline, tab), and those
_CONTROL = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{FORMAT_CHARS}]")


def printable(text: object) -> str:
    """``text`` with control characters other than newline and tab made visible (``\\x1b``,
    ``\\u202e``): a model name or an error reply from a terminal may carry an ANSI escape that
    would recolour, clear or retitle the user's terminal, or a bidi override that shows it
    reversed."""
    return _CONTROL.sub(_visible, str(text))


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: object) -> str:
    """:func:`printable` with newline and tab made visible too: one value in one line (a table
    cell, whose line break would print a line that looks like another row)."""
    return printable(text).replace("\n", "\\n").replace("\t", "\\t")


def escape(text: object) -> str:
    from rich.markup import escape as _escape

    return _escape(printable(text))


class ReaderGone(Exception):
    """stdout's reader went away (``tsdtool … | head``): not an error, cli.main exits 0.
    Not an OSError, which click turns into exit 1 (and Rich into SystemExit(1))."""


_PIECE = 1024  # characters: at most 4 KiB encoded, what a file's write buffer takes whole


def _write(text: str) -> None:
    """``text`` on stdout, in flushed pieces the write buffer takes whole: a larger write goes to
    the file in one call, and CPython's text layer drops what a short write leaves (a disk that
    takes only part of it: ``info --json > x`` on a full disk was cut, exit 0). A full disk is an
    :class:`~tsdtool.errors.OutputError`; a reader gone away (``| head``) is :class:`ReaderGone`."""
    try:
        for start in range(0, len(text), _PIECE):
            sys.stdout.write(text[start:start + _PIECE])
            sys.stdout.flush()
    except BrokenPipeError as exc:
        raise ReaderGone from exc
    except OSError as exc:
        raise _not_written(exc) from exc


def _not_written(exc: OSError) -> Exception:
    from tsdtool import errors

    return errors.OutputError(f"cannot write the output: {exc.strerror or exc}",
                              fix="free some space on the disk the output goes to")


Piece = str | tuple[str, str]  # text, or (text, Rich style)


def surely_plain(stream: Any) -> bool:
    """True when Rich would write to ``stream`` exactly the text it is given: not a terminal by
    Console.is_terminal's own rules (TTY_COMPATIBLE, FORCE_COLOR, Jupyter, then isatty), so no
    colour, no wrapping, no control codes. Anything less certain is left to Rich. Lets a
    piped ``devices`` or ``pull`` print without importing Rich (about 25 ms of a 0.2 s start)."""
    if stream is None or "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return False
    if hasattr(stream, "rich_proxied_file") or "get_ipython" in vars(builtins):
        return False
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return False


def cell_len(text: str) -> int:
    """Columns ``text`` takes in a terminal, as Rich counts them."""
    if text.isascii() and text.isprintable():
        return len(text)
    from rich.cells import cell_len as rich_cell_len

    return rich_cell_len(text)


def lines(rows: list[list[Piece]]) -> None:
    """Lines on stdout, each made of pieces (plain, or with a Rich style): never read as markup
    or emoji codes, never wrapped (``soft_wrap``). Written directly when Rich would write the
    same characters (:func:`surely_plain`, and no tab or control character, which Rich would
    expand or drop); through Rich otherwise."""
    texts = ["".join(p if isinstance(p, str) else p[0] for p in row) for row in rows]
    if surely_plain(sys.stdout) and all(t.isprintable() for t in texts):
        _write("".join(t + "\n" for t in texts))
        return
    from rich.text import Text

    for row in rows:
        out().print(Text.assemble(*row), soft_wrap=True)


def say(text: str, style: str = "") -> None:
    """One line on stderr, as ``err().print(text, style=style, markup=False, highlight=False)``
    prints it: directly when Rich would write the same characters (not a terminal, nothing it
    would drop or expand), through Rich otherwise. An error line must not
    cost a Rich import (a 'no adb server' is a start-up too)."""
    if surely_plain(sys.stderr) and text.isprintable():
        try:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        except BrokenPipeError:  # nobody reads stderr any more: nothing to tell
            pass
        return
    err().print(text, style=style or None, markup=False, highlight=False)


def err_is_terminal() -> bool:
    """Rich's is_terminal for stderr (progress is drawn there), without Rich when surely not."""
    return False if surely_plain(sys.stderr) else err().is_terminal


@cache
def out() -> Console:
    from rich.console import Console

    class Stdout(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise ReaderGone

        def _check_buffer(self) -> None:  # where Rich writes: it turns only a broken pipe into a call
            try:
                super()._check_buffer()
            except OSError as exc:  # a full disk under `tsdtool doctor > report.txt`
                del self._buffer[:]
                raise _not_written(exc) from exc

    # emoji=False: a terminal's ':white_check_mark:' is text, not ✅ (tsdtool writes its own symbols)
    return Stdout(file=sys.stdout, highlight=False, soft_wrap=False, emoji=False)


@cache
def err() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, soft_wrap=True, emoji=False)


def reset() -> None:
    """Forget the consoles (tests swap sys.stdout/sys.stderr between runs)."""
    out.cache_clear()
    err.cache_clear()
    _warned.clear()
    tolerate_legacy_encodings()


def tolerate_legacy_encodings() -> None:
    """A Windows console or pipe in cp866/cp1251 cannot encode ✓ or a terminal's emoji (cp866 not even «»):
    those characters become ``?`` instead of an UnicodeEncodeError half way through a table.
    Cyrillic still comes out in the stream's own code page (a Russian console reads it)."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding and not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):  # a closed or detached stream: nothing to print to anyway
                pass


def interactive() -> bool:
    """Prompts and live progress only for a person at a terminal."""
    return sys.stdin.isatty() and sys.stderr.isatty() and not os.environ.get("CI")


def print_json(data: Any) -> None:
    from tsdtool.escapes import json_text

    _write(json_text(data, indent=2, default=str) + "\n")


def write(text: str) -> None:
    """Text exactly as given on stdout (a file's content: no markup, no wrapping, no width)."""
    _write(text)


def path(value: object) -> str:
    """A file path for a person to read or paste into a shell: quoted when it needs it
    (a model name with backticks or ``$()`` ends up in bundle names), markup-escaped."""
    from tsdtool.escapes import shell_path

    return escape(shell_path(value))


_warned: set[tuple[str, str]] = set()  # said in this run: by collect --all's parent, not again by each fork


def warn(message: str, label: str = "warning") -> None:
    """A warning, once a run (:func:`reset` starts a run)."""
    if (label, message) in _warned:
        return
    _warned.add((label, message))
    err().print(f"[yellow]{escape(label)}:[/] {escape(message)}")


def note(message: str) -> None:
    err().print(escape(message), style="dim")


class Keyboard:
    """The person's answers, read as :func:`input` reads them, except that a Ctrl-C pressed at
    any moment interrupts the read.

    ``input()`` looks for a Ctrl-C only around its blocking read: one that lands after the
    question is drawn but before the read begins is noticed only once Enter is pressed (a
    pty test sending Ctrl-C as soon as the prompt appeared hung 6 times in 40 on a loaded
    machine). On a POSIX terminal the read here waits in ``select()`` on stdin and on the pipe
    given to :func:`signal.set_wakeup_fd`, which Python's signal handler writes to whenever
    it runs, before the wait as well as during it; either way Python then raises
    KeyboardInterrupt. A terminal in canonical mode returns at most one line per read (POSIX
    ``read()``), so nothing typed ahead is taken from the next question. Elsewhere (Windows,
    a pipe, a test's replaced stdin, a thread other than the main one) it is ``input()``.
    """

    def readline(self) -> str:
        import threading

        if (os.name != "posix" or sys.stdin is not sys.__stdin__ or sys.stdin is None
                or threading.current_thread() is not threading.main_thread() or not _stdin_is_tty()):
            return input()
        import select
        import signal

        sys.stdout.flush()
        sys.stderr.flush()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        previous = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        data = b""
        try:
            while not data.endswith(b"\n"):
                ready, _, _ = select.select([0, wake_r], [], [])
                if wake_r in ready:
                    os.read(wake_r, 64)  # a signal arrived: its handler runs at the next line here
                if 0 in ready:
                    chunk = os.read(0, 65536)
                    if not chunk:
                        break
                    data += chunk
        finally:
            signal.set_wakeup_fd(previous)
            os.close(wake_r)
            os.close(wake_w)
        if not data:
            raise EOFError
        # bytes the console's code page lacks stay surrogates (PEP 383), as in argv: the field's
        # check asks again (strict decoding ended the collect in an internal error)
        return data.decode(sys.stdin.encoding or "utf-8", "surrogateescape").removesuffix("\n")


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.fileno() == 0 and os.isatty(0)
    except (OSError, ValueError):
        return False


keyboard = Keyboard()
