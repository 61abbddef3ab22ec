"""`getprop` output and ``build.prop`` files → ``{name: value}``.

`getprop` without arguments prints every property sorted, one ``[name]: [value]`` per line
(AOSP toolbox/getprop.cpp; toybox getprop on Android ≥ 9 prints the same). A value may
contain newlines — Android 14 emulators keep ``persist.sys.boot.reason.history`` as three
lines — so an entry runs until the next line that opens a new ``[name]: [``, and its value
ends at the last ``]`` before that.

``build.prop`` (``/system/build.prop``, ``/vendor/build.prop``, …) holds ``name=value``
lines instead; :func:`parse_build_prop` reads those.
"""

from __future__ import annotations

import re

from tsdtool.parsers import decode, lines

_ENTRY = re.compile(r"^\[([^\]\n]+)\]: \[", re.MULTILINE)


def parse(data: bytes) -> dict[str, str]:
    """Every ``[name]: [value]`` entry of a `getprop` dump; text outside entries is ignored."""
    text = decode(data)
    starts = list(_ENTRY.finditer(text))
    props: dict[str, str] = {}
    for i, entry in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        props[entry.group(1)] = _value(text[entry.end() : end])
    return props


def _value(chunk: str) -> str:
    """The value inside ``[...]``: up to the last line ending in ``]`` (later lines are noise)."""
    parts = chunk.split("\n")
    for i in range(len(parts) - 1, -1, -1):
        line = parts[i].rstrip(" \t")
        if line.endswith("]"):
            return "\n".join([*parts[:i], line[:-1]])
    return chunk.rstrip("\n")  # truncated dump: keep what arrived


def parse_build_prop(data: bytes) -> dict[str, str]:
    """``name=value`` lines of a build.prop file; ``#`` comments and other lines are skipped.

    A later line overrides an earlier one, as init does when it loads the file; ``name?=value``
    (Android 11+) only sets a name that is not set yet.
    """
    props: dict[str, str] = {}
    for raw in lines(data):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            continue  # `import /path` directives of old build.prop files, garbage
        if name.endswith("?"):
            name = name[:-1].rstrip()
            if not name or name in props:
                continue
        props[name] = value.strip()
    return props
