"""One escaping function per sink, for every value that came from a terminal or a bundle.

A terminal (compromised, or just odd) and a bundle from anyone are untrusted: a model name
may hold an ANSI escape, an RFC 2047 encoded word hiding CR/LF, HTML, backticks or ``$()``.
Each sink has exactly one function here; the modules that write to a sink call it:

==============  ==========================================  ===============================
sink            function                                    used by
==============  ==========================================  ===============================
mail header     :func:`header`                              bundle/ticket.py (message)
Markdown        :func:`markdown`                            bundle/ticket.py (markdown)
console         :func:`tsdtool.console.escape`              report.py, console.py
JSON            :func:`json_text`                           console.print_json
HTML            :func:`html`                                bundle/report_html.py, report_repro.py
file name       :func:`tsdtool.paths.safe_component`        outdir, collect (bundle name)
printed path    :func:`shell_path`                          report.py (paths a person pastes)
==============  ==========================================  ===============================
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from tsdtool.console import FORMAT_CHARS

_ENCODED_WORD = "=?"  # RFC 2047's opener: a parser may decode CR/LF out of what follows


def header(value: object) -> str:
    """One mail-header value: one line of printable text with no RFC 2047 encoded word.

    Every character that is not printable (C0/C1 controls, CR/LF, line/paragraph
    separators, bidi and other format characters, lone surrogates) becomes a space, runs of
    white space become one, and ``=?`` becomes ``= ?``. Python before 3.11.10/3.12.5
    (CVE-2024-6923) decodes an encoded word while parsing a header value and then writes the
    CR/LF inside it raw, so the decoded text could add headers (``Bcc:``); with no ``=?``
    left there is nothing to decode, whatever the runtime. The email library still folds and
    encodes the (now harmless) non-ASCII text per RFC 2047.
    """
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    return " ".join(text.split()).replace(_ENCODED_WORD, "= ?")


# What can make Markdown (CommonMark, GitHub, portals) show other than the text: raw HTML
# starts with '<', links and images need '[' ']', code spans '`', emphasis '*' and '_' (an
# underscore only where it is not inside a word: snake_case stays as typed), an entity '&…;';
# a backslash escapes them all. A backslash is markup only before ASCII punctuation
# (CommonMark 2.4) or at a line's end (a hard break): a Windows path (C:\ProgramData\Cleverence)
# stays as typed in the plain-text .eml.
_MD_SPECIAL = re.compile(r"([`*\[\]<|]|(?<![^\W_])_|_(?![^\W_])|&(?=#?\w+;)|\\(?=[!-/:-@\[-`{-~]|$))", re.M)
# What makes a line a block of its own where a value's line starts a line of the ticket (a
# multi-line value is written one line per line): an ATX heading, a quote, a bullet or ordered
# list item, a setext underline or thematic break, a tilde fence (CommonMark 4.1-4.5, 5.1-5.2);
# '|' (GitHub's tables), '*', '_', '`' and '<' are escaped wherever they are. Escaped only where
# they do make a block, so a phone number "+7 916…" stays as typed.
_MD_BLOCK = re.compile(r"^([ \t]*)(#{1,6}(?=[ \t]|$)|>|[-+](?=[ \t]|$)|-[ \t-]*$|=+[ \t]*$|~{3,})", re.M)
_MD_ORDERED = re.compile(r"^([ \t]*\d{1,9})([.)])(?=[ \t]|$)", re.M)


def markdown(value: object, *, blocks: bool = True) -> str:
    """Text for Markdown (ticket.md, the .eml body): HTML, link/code and table markup
    backslash-escaped, control characters shown as ``\\xNN`` as on the console, and with
    ``blocks`` what would start a block (heading, quote, list…) at the start of any of its lines:
    off only for text placed after a label, and for a person's own lines (typed steps "1. …")."""
    from tsdtool.console import printable

    text = _MD_SPECIAL.sub(r"\\\1", printable(value))
    return _MD_ORDERED.sub(r"\1\\\2", _MD_BLOCK.sub(r"\1\\\2", text)) if blocks else text


# DEL, C1 and the format characters console.printable makes visible (bidi, zero-width, separators)
_C1 = re.compile(rf"[\x7f-\x9f{FORMAT_CHARS}]")


def json_text(data: Any, **dumps: Any) -> str:
    """``json.dumps`` that keeps Cyrillic readable (``ensure_ascii=False``) but writes DEL, C1
    controls, the line/paragraph separators and bidi/zero-width characters as ``\\uXXXX``: a
    terminal acts on C1 (CSI is ``\\x9b``) exactly as on ESC, a bidi override reverses what
    follows, and json escapes only C0 by itself."""
    import json  # here: a piped pull prints no JSON and need not load it

    text = json.dumps(data, ensure_ascii=False, **dumps)
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def html(value: object) -> str:
    """HTML text or attribute value (``html.escape``, quotes too), with control and format
    characters shown as on the console (``\\x1b``, ``\\u202e``): a bidi override in a model
    name showed "gnp.exe" as "exe.png" to the desk engineer."""
    from html import escape

    from tsdtool.console import printable

    return escape(printable(value))


def shell_path(path: object) -> str:
    """A path as a person may paste it into a shell: quoted when it needs it (a model name
    with backticks or ``$()`` ran as a command when the printed path was pasted)."""
    from tsdtool.console import printable

    return shlex.quote(printable(path))
