"""Pure parsers: bytes a terminal printed → plain values. No I/O, no device, no printing.

One module per device command, named after it (``getprop.py``, ``dumpsys_package.py``, …);
collectors fetch, these only parse, so the same parser serves a live device, a saved
bundle and a test fixture. Every parser accepts *any* bytes: output is never assumed to be
UTF-8, old terminals running ``shell:`` under a PTY turn ``\\n`` into ``\\r\\n``, and a cable
pulled mid-transfer truncates it. Garbage yields fewer results, never an exception.
"""

from __future__ import annotations

import re

# Only from the first \r of a run: a plain \r+\n retries at every \r of a long run (quadratic).
_CRLF = re.compile(r"(?<!\r)\r+\n")


def decode(data: bytes) -> str:
    """Device output as text: invalid UTF-8 becomes U+FFFD, ``\\r\\n`` (PTY) becomes ``\\n``."""
    text = data.decode("utf-8", errors="replace")
    return _CRLF.sub("\n", text) if "\r" in text else text  # the scan costs on megabytes


def lines(data: bytes) -> list[str]:
    """Decoded lines without their line ends (only ``\\n`` splits; other controls are data)."""
    return decode(data).split("\n")
