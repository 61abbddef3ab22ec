"""The report's "Reproduction" section: before/after screenshots side by side and the
window's log lines, errors and crashes first (see :mod:`tsdtool.repro`)."""

from __future__ import annotations

import base64
from collections.abc import Callable

from tsdtool.bundle.manifest import Manifest
from tsdtool.escapes import html as escape
from tsdtool.parsers import logcat
from tsdtool.texts import Texts, texts

SHOT_LIMIT = 8 * 1024 * 1024
LINE_LIMIT = 400  # window lines shown after the problems; the full log is in the bundle


def _shot(read: Callable[[str], bytes | None], path: str | None, label: str, t: Texts) -> str:
    data = read(path) if path else None
    label = escape(t(f"repro.{label}"))
    if not data or len(data) > SHOT_LIMIT:
        return (f'<figure><p class="muted">{escape(t("repro.no_shot", label=label))}</p>'
                f"<figcaption>{label}</figcaption></figure>")
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    img = f'<img class="repro-shot" alt="{label}" src="{uri}">'
    return f"<figure>{img}<figcaption>{label}</figcaption></figure>"


def section(manifest: Manifest, read: Callable[[str], bytes | None], t: Texts | None = None) -> str:
    """HTML for a bundle made by ``repro stop``; empty for any other bundle."""
    repro = manifest.options.get("repro")
    if not repro:
        return ""
    t = t or texts(None)
    shots = _shot(read, repro.get("before"), "before", t) + _shot(read, repro.get("after"), "after", t)
    data = read("logcat.txt") or b""
    parsed = logcat.parse(data)
    problems = [ln for ln in parsed if logcat.is_problem(ln)]
    crash_lines = {(ln.line_no) for ln in logcat.crashes(data)}
    crashes = [ln for ln in problems if ln.line_no in crash_lines]
    first = crashes + [ln for ln in problems if ln not in crashes]

    def row(ln: logcat.LogLine, hit: bool) -> str:
        text = f"{ln.timestamp} {ln.level} {ln.tag}: {ln.message}"
        return f'<div class="{"hit" if hit else ""}">{escape(text)}</div>'

    errors_html = "".join(row(ln, True) for ln in first) or escape(t("repro.no_errors"))
    lines_html = "".join(row(ln, logcat.is_problem(ln)) for ln in parsed[-LINE_LIMIT:])
    window = t("repro.window", since=repro.get("since"), start=repro.get("window_from"), lines=len(parsed),
               errors=len(problems), crashes=len(crashes))
    return (f'<section id="repro"><h2>{escape(t("repro.title", id=repro.get("id", "")))}</h2>'
            f'<p>{escape(window)}</p>'
            f'<div class="repro-shots" style="display:flex;gap:1em">{shots}</div>'
            f'<h3>{escape(t("repro.errors"))}</h3><pre class="log">{errors_html}</pre>'
            f'<h3>{escape(t("repro.the_window"))}</h3><pre class="log">{lines_html}</pre></section>')
