"""The report's "Reproduction" section: before/after screenshots side by side and the
window's log lines, errors and crashes first (see :mod:`tsdtool.repro`)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from html import escape

from tsdtool.bundle.manifest import Manifest
from tsdtool.parsers import logcat

SHOT_LIMIT = 8 * 1024 * 1024
LINE_LIMIT = 400  # window lines shown after the problems; the full log is in the bundle


def _shot(read: Callable[[str], bytes | None], path: str | None, label: str) -> str:
    data = read(path) if path else None
    if not data or len(data) > SHOT_LIMIT:
        return f'<figure><p class="muted">no {label} screenshot</p><figcaption>{label}</figcaption></figure>'
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    img = f'<img class="repro-shot" alt="{label}" src="{uri}">'
    return f"<figure>{img}<figcaption>{label}</figcaption></figure>"


def section(manifest: Manifest, read: Callable[[str], bytes | None]) -> str:
    """HTML for a bundle made by ``repro stop``; empty for any other bundle."""
    repro = manifest.options.get("repro")
    if not repro:
        return ""
    shots = _shot(read, repro.get("before"), "before") + _shot(read, repro.get("after"), "after")
    data = read("logcat.txt") or b""
    parsed = logcat.parse(data)
    problems = [ln for ln in parsed if logcat.is_problem(ln)]
    crash_lines = {(ln.line_no) for ln in logcat.crashes(data)}
    crashes = [ln for ln in problems if ln.line_no in crash_lines]
    first = crashes + [ln for ln in problems if ln not in crashes]

    def row(ln: logcat.LogLine, hit: bool) -> str:
        text = f"{ln.timestamp} {ln.level} {ln.tag}: {ln.message}"
        return f'<div class="{"hit" if hit else ""}">{escape(text)}</div>'

    errors_html = "".join(row(ln, True) for ln in first) or "no errors or crashes in the window"
    lines_html = "".join(row(ln, logcat.is_problem(ln)) for ln in parsed[-LINE_LIMIT:])
    when = f"from {escape(str(repro.get('since')))} ({escape(str(repro.get('window_from')))})"
    return (f'<section id="repro"><h2>Reproduction {escape(str(repro.get("id", "")))}</h2>'
            f'<p>Log window {when}: {len(parsed)} lines, {len(problems)} errors, {len(crashes)} crashes.</p>'
            f'<div class="repro-shots" style="display:flex;gap:1em">{shots}</div>'
            f'<h3>Errors and crashes</h3><pre class="log">{errors_html}</pre>'
            f'<h3>The window</h3><pre class="log">{lines_html}</pre></section>')
