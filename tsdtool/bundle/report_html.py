"""``report.html``: the one page a support engineer opens first.

Self-contained: inline CSS, no script, no network; the screenshot is a ``data:`` URI.
Every word on it is the desk's language (:mod:`tsdtool.texts`; ``lang`` says which).
Everything from a terminal or a person is escaped with :func:`html.escape`. Top to
bottom: what is missing (red), the device card with the screen, app versions, database
check, the log around the last crash or errors, the form, every item, the PC.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tsdtool.bundle import fields, ticket
from tsdtool.bundle.desks import Desk
from tsdtool.bundle.manifest import OK, Manifest
from tsdtool.escapes import html as escape
from tsdtool.parsers import decode, logcat
from tsdtool.texts import Texts, texts

# path in the bundle → its bytes (None: not stored, or its sizes do not check out); with the
# keyword ``tail=N`` only the last N bytes
Reader = Callable[..., "bytes | None"]

# No script, no fetch: only the inline style and the embedded screenshot may load.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
LOG_TAIL = 2 * 1024 * 1024  # only the end of a log is searched for the last problem
SCREENSHOT_LIMIT = 4 * 1024 * 1024  # a bigger PNG is linked by name, not embedded

# overflow-wrap:anywhere (inherited): a terminal's 3000-character model or file name breaks inside
# the word, also in a table's column widths, instead of widening the page; a <pre> keeps its scroll.
_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f4f5f7;color:#1d2329;overflow-wrap:anywhere}
header{background:#1d2329;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header .meta{color:#b8c0c8;font-size:13px}main{padding:16px 24px;max-width:1220px}
section{background:#fff;border-radius:6px;padding:12px 16px;margin:0 0 14px;box-shadow:0 1px 2px #0002}
h2{font-size:16px;margin:0 0 8px}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:3px 8px 3px 0;vertical-align:top;border-bottom:1px solid #eef0f2}
th{color:#5b6670;font-weight:600;white-space:nowrap;width:1%}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;margin-left:6px}
.complete,.ok,.ready{background:#d9f2e0;color:#145a2a}.partial,.failed,.notready{background:#fde0e0;color:#8a1010}
.skipped{background:#fff1cc;color:#6b4e00}
.missing{border-left:6px solid #c62828;background:#fff5f5}.missing h2,.missing li{color:#b71c1c}
.card{display:flex;gap:20px}.card .facts{flex:1}.card img{width:240px;height:auto;border:1px solid #ccd}
.gap{color:#b71c1c}
pre{background:#1d2329;color:#e6e6e6;padding:8px;overflow:auto;font-size:12px;line-height:1.35;margin:0}
pre .hit{background:#7a1f1f;color:#fff}.muted{color:#6b7680}
"""


@dataclass(frozen=True)
class Excerpt:
    title: str
    source: str
    lines: list[tuple[int, str, bool]]  # line number, text, is the problem line


# scan_log's answer: the title's key in the catalogue, its values, the lines
Scan = tuple[str, dict[str, int], list[tuple[int, str, bool]]]


def log_excerpt(
    data: bytes, source: str, before: int = 6, after: int = 24, max_errors: int = 20, t: Texts | None = None
) -> Excerpt | None:
    """Around the last crash (FATAL EXCEPTION, ANR, Fatal signal), else the last error lines."""
    found = scan_log(data, before, after, max_errors)
    return _excerpt(found, source, t or texts(None))


def scan_log(data: bytes, before: int = 6, after: int = 24, max_errors: int = 20) -> Scan | None:
    """What :func:`log_excerpt` shows, before it is worded: the title's catalogue key and values,
    and the lines. The scan of a log's end takes ~25 ms for the bench's 2 MiB: collect makes it
    while the database still arrives (:func:`render`'s ``scanned``)."""
    offset_lines = 0
    if len(data) > LOG_TAIL:
        cut = data[-LOG_TAIL:]
        offset_lines = data[: len(data) - LOG_TAIL].count(b"\n")
        data = cut[cut.find(b"\n") + 1 :]
        offset_lines += 1
    # Lines end at "\n" only, as logcat numbers them: splitlines() also ends one at \x1c,
    # \u2028, a lone \r…, and a message holding one shifted every row after it off its number.
    text = decode(data)
    starts = logcat.problem_starts(text)
    crashes = logcat.crashes(data)
    if crashes:
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # after the last line end
        at = crashes[-1].line_no - 1
        window = range(max(0, at - before), min(len(lines), at + after))
        hits = {n - 1 for n in logcat.line_numbers(text, starts)}
        rows = [(i + 1 + offset_lines, lines[i], i in hits) for i in window]
        return "report.last_crash", {"n": len(crashes)}, rows
    if not starts:
        return None
    # only the lines shown are numbered and cut out: a log's thousands of errors are counted
    shown = starts[-max_errors:]
    numbers = logcat.line_numbers(text, shown)
    rows = [(n + offset_lines, _line_at(text, start), True) for n, start in zip(numbers, shown, strict=True)]
    return "report.last_errors", {"shown": len(rows), "total": len(starts)}, rows


def _line_at(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)]


def _excerpt(found: Scan | None, source: str, t: Texts) -> Excerpt | None:
    if found is None:
        return None
    key, values, rows = found
    return Excerpt(t(key, **values), source, rows)


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape('—' if v in (None, '') else str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


def _status(t: Texts, status: str) -> str:
    return t.get("status", status, status)


_BADGES = {"complete", "partial", "ok", "failed", "skipped", "ready", "notready"}


def _badge(text: str, css: str) -> str:
    """A coloured label; the class is one of ours whatever a bundle says (a crafted status
    once closed the attribute and added a meta refresh)."""
    return f'<span class="badge {css if css in _BADGES else "unknown"}">{escape(text)}</span>'


def _kb(n: int | None, t: Texts) -> str:
    if n is None:
        return "—"
    return t("units.gb", n=f"{n / 1024 / 1024:.1f}") if n >= 1024 * 1024 else t("units.mb", n=f"{n / 1024:.0f}")


def _size(n: int, t: Texts) -> str:
    if n >= 1024 * 1024:
        return t("units.mb", n=f"{n / 1024 / 1024:.1f}")
    return t("units.kb", n=f"{n / 1024:.1f}") if n >= 1024 else t("units.b", n=n)


def _missing(manifest: Manifest, desk: Desk | None, t: Texts) -> str:
    entries = []
    if manifest.ticket and manifest.ticket.missing:
        for requirement in manifest.ticket.missing:
            label = t.requirement(desk, requirement) if desk else requirement
            entries.append(
                f"{escape(t('report.ticket_field'))}: <b>{escape(label)}</b> "
                f"<span class=muted>({escape(requirement)})</span>"
            )
    for item in sorted((i for i in manifest.items if i.status != OK), key=lambda i: i.status != "failed"):
        text = f"{escape(item.path)} — {escape(_status(t, item.status))}: {escape(t.reason(item.reason))}"
        entries.append(text if item.status == "failed" else f'<span class="muted">{text}</span>')
    if manifest.interrupted:
        entries.insert(0, escape(t("report.interrupted")))
    if not entries:
        return ""
    lis = "".join(f"<li>{e}</li>" for e in entries)
    heading = escape(t("report.missing", n=len(entries)))
    return f'<section class="missing" id="missing"><h2>{heading}</h2><ul>{lis}</ul></section>'


def _identified_by(d: dict, t: Texts) -> str | None:
    """``weak evidence: ro.product.model = DT50`` — how sure the vendor is, and why."""
    evidence = [e for e in d.get("profile_evidence") or [] if isinstance(e, dict)]
    if not d.get("profile_confidence"):
        return None
    confidence = t.get("confidence", str(d["profile_confidence"]), str(d["profile_confidence"]))
    clues = ", ".join(f"{e.get('source')} = {e.get('value')}" for e in evidence)
    return t("report.evidence_clues", confidence=confidence, clues=clues) if clues else \
        t("report.evidence", confidence=confidence)


def _device(manifest: Manifest, read: Reader, t: Texts) -> str:
    d = manifest.device
    rows = [
        (t("report.vendor"), d.get("vendor") or d.get("manufacturer")),
        (t("report.model"), d.get("model")),
        (t("report.serial"), d.get("serial")),
        (t("report.android"), t("report.android_value", release=d.get("android_release") or "—",
                                 sdk=d.get("sdk") or "—")),
        (t("report.build"), d.get("build_display") or d.get("build_id")),
        (t("report.security_patch"), d.get("security_patch")),
        (t("report.fingerprint"), d.get("fingerprint")),
        (t("report.battery"), f"{d['battery_level']} %" if d.get("battery_level") is not None else None),
        (t("report.free_data"), _kb(d.get("storage_data_free_kb"), t)),
        (t("report.profile"), d.get("profile")),
        (t("report.identified_by"), _identified_by(d, t)),
    ]
    rows += [(k.replace("_", " "), v) for k, v in (d.get("vendor_facts") or {}).items()]
    shot = next((i for i in manifest.items if i.kind == "screenshot" and i.stored), None)
    image = f'<p class="muted">{escape(t("report.no_screenshot"))}</p>'
    if shot and shot.size <= SCREENSHOT_LIMIT:
        data = read(shot.path)
        if data:
            uri = "data:image/png;base64," + base64.b64encode(data).decode()
            image = f'<img id="screenshot" alt="{escape(t("report.screen_alt"))}" src="{uri}">'
    if not d:
        rows = [(t("report.device_facts"), t("report.not_read"))]
    return (
        f'<section id="device"><h2>{escape(t("report.terminal"))}</h2>'
        f'<div class="card"><div class="facts">{_table(rows)}</div>'
        f"<div>{image}</div></div></section>"
    )


def _apps(manifest: Manifest, t: Texts) -> str:
    if not manifest.apps:
        return _section("apps", t("report.apps"), f'<p class="muted">{escape(t("report.no_app"))}</p>')
    head = "<tr>" + "".join(f"<th>{escape(t('report.' + k))}</th>" for k in
                            ("col_package", "col_version", "col_code", "col_installed")) + "</tr>"
    rows = "".join(
        f"<tr><td>{escape(a['package'])}</td><td>{escape(str(a.get('version_name') or '—'))}</td>"
        f"<td>{escape(str(a.get('version_code') if a.get('version_code') is not None else '—'))}</td>"
        f"<td>{escape(str(a.get('first_install_time') or '—'))} / "
        f"{escape(str(a.get('last_update_time') or '—'))}"
        f"{'' if a.get('installed') else ' <b>' + escape(t('report.not_installed')) + '</b>'}</td></tr>"
        for a in manifest.apps
    )
    return _section("apps", t("report.apps"), f"<table>{head}{rows}</table>")


def _databases(manifest: Manifest, t: Texts) -> str:
    whole = (t("report.db_complete"), "ok"), (t("report.db_incomplete"), "failed")
    rows = "".join(
        f"<tr><td>{escape(d['package'])}</td><td>{escape(d.get('path') or d.get('device_path') or '—')}</td>"
        f"<td>{_badge(*whole[0 if d.get('complete') else 1])}</td>"
        f"<td>{escape(t.check(d.get('check') or ''))}</td></tr>"
        for d in manifest.databases
    )
    rows += "".join(
        f"<tr><td colspan=2>{escape(i.path)}</td><td>{_badge(_status(t, i.status), i.status)}</td>"
        f"<td>{escape(t.reason(i.reason))}</td></tr>"
        for i in manifest.of_kind("database")
        if i.status != OK
    )
    if not rows:
        return _section("database", t("report.database"), f'<p class="muted">{escape(t("report.no_database"))}</p>')
    return _section("database", t("report.database"), f"<table>{rows}</table>")


def _logs(manifest: Manifest, read: Reader, t: Texts, scanned: Mapping[str, tuple[bytes, Scan | None]]) -> str:
    logs = sorted(
        (i for i in manifest.items if i.kind in ("logcat", "log", "app_log") and i.stored),
        key=lambda i: (i.kind != "logcat", i.path),
    )
    crashes = [i for i in manifest.items if i.kind == "crash" and i.stored]
    parts = []
    for item in logs:
        data = read(item.path, tail=LOG_TAIL)  # the end is what is searched; never the whole log in memory
        early = scanned.get(item.path)
        if early is not None and early[0] == data:  # scanned already, these very bytes
            found = _excerpt(early[1], item.path, t)
        else:
            found = log_excerpt(data, item.path, t=t) if data else None
        if found:
            rows = "".join(
                f'<span class="{"hit" if hit else ""}">{n:>6}  {escape(text)}</span>\n'
                for n, text, hit in found.lines
            )
            parts.append(f"<h3>{escape(found.source)}: {escape(found.title)}</h3><pre>{rows}</pre>")
            break
    if crashes:
        names = "".join(f"<li>{escape(i.path)} ({_size(i.size, t)})</li>" for i in crashes)
        parts.append(f"<h3>{escape(t('report.crash_files'))}</h3><ul>{names}</ul>")
    if not parts:
        parts.append(f'<p class="muted">{escape(t("report.no_errors"))}</p>')
    return _section("logs", t("report.logs"), "".join(parts))


def _form(manifest: Manifest, desk: Desk | None, t: Texts) -> str:
    filled = ticket.values(manifest, t)
    keys = desk.all_keys() if desk else []
    keys += [k for k in manifest.form if k not in keys]
    gaps = {k for r in (manifest.ticket.missing if manifest.ticket else []) for k in fields.alternatives(r)}

    def cell(key: str) -> str:
        if not filled.get(key):
            gap = f'<b class="gap">{escape(t("report.field_missing"))}</b>'
            return gap if key in gaps else '<span class="muted">—</span>'
        auto = "" if key in manifest.form else f' <span class="muted">{escape(t("report.auto"))}</span>'
        return escape(filled[key]) + auto

    rows = "".join(f"<tr><th>{escape(t.label(desk, k) if desk else k)}</th><td>{cell(k)}</td></tr>" for k in keys)
    title = escape(t("report.ticket_for", desk=desk.name) if desk else t("report.form"))
    return f'<section id="form"><h2>{title}</h2><table style="white-space:pre-wrap">{rows}</table></section>'


def _items(manifest: Manifest, t: Texts) -> str:
    rows = "".join(
        f"<tr><td>{escape(i.path)}</td><td>{escape(t.get('kinds', i.kind, i.kind))}</td>"
        f"<td>{_size(i.size, t) if i.stored else '—'}</td>"
        f"<td>{_badge(_status(t, i.status), i.status)}</td>"
        f"<td>{escape(t.reason(i.reason) or t.check(i.check))}</td></tr>"
        for i in manifest.items
    )
    return _section("items", t("report.items", n=len(manifest.items)), f"<table>{rows}</table>")


def _host(manifest: Manifest, t: Texts) -> str:
    h = manifest.host
    rows = [
        (t("report.pc_os"), f"{h.get('os_name', '')} {h.get('os_version', '')}"),
        (t("report.bitness"), t("report.bits", n=h.get("os_bitness", "—"))),
        ("Python", h.get("python")),
        ("tsdtool", h.get("tool_version")),
        ("adb server", h.get("adb_server_version")),
    ]
    return _section("host", t("report.pc"), _table(rows))


def _redaction(manifest: Manifest, t: Texts) -> str:
    r = manifest.redaction
    if not r.enabled:
        return ""
    counts = ", ".join(f"{k}: {n}" for k, n in sorted(r.counts.items())) or t("report.nothing_found")
    kept = "".join(f"<li>{escape(path)}</li>" for path in r.not_rewritten)
    kept = f"<p>{escape(t('report.not_rewritten'))}</p><ul>{kept}</ul>" if kept else ""
    return _section("redaction", t("report.redacted"),
                    f"<p>{escape(t('report.redacted_text', counts=counts))} {escape(r.note)}</p>{kept}")


def render(manifest: Manifest, read: Reader, desk: Desk | None = None,
           scanned: Mapping[str, tuple[bytes, Scan | None]] | None = None) -> str:
    """The whole page as one string, in the desk's language (English without a desk).
    ``scanned``: item path → (the bytes of its end, :func:`scan_log` of them), made earlier; used
    where ``read`` gives those very bytes."""
    t = texts(desk.language if desk else None)
    d = manifest.device
    title = (
        " ".join(str(x) for x in (d.get("vendor") or d.get("manufacturer"), d.get("model")) if x)
        or t("report.unknown_terminal")
    )
    ready = manifest.ticket.ready if manifest.ticket else False
    badges = _badge(_status(t, manifest.status), manifest.status) + _badge(
        t("report.ticket_ready") if ready else t("report.ticket_not_ready"), "ready" if ready else "notready"
    )
    meta = (f"{escape(t('report.meta_serial', serial=d.get('serial', '—')))} · {escape(manifest.created_at)} · "
            f"tsdtool {escape(manifest.tool_version)}")
    if desk:
        meta += f" · {escape(t('report.meta_desk', desk=desk.name))}"
    from tsdtool.bundle import report_repro

    body = "".join(
        [
            _missing(manifest, desk, t),
            report_repro.section(manifest, read, t),
            _device(manifest, read, t),
            _apps(manifest, t),
            _databases(manifest, t),
            _logs(manifest, read, t, scanned or {}),
            _form(manifest, desk, t),
            _redaction(manifest, t),
            _items(manifest, t),
            _host(manifest, t),
        ]
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{t.lang}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{escape(t('report.page_title', title=title))}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}{badges}</h1><div class=meta>{meta}</div></header>"
        f"<main>{body}</main></body></html>\n"
    )


def render_bundle(bundle: Any, output: Any = None, profile_dirs: Any = ()) -> Any:
    """Re-render a finished bundle's report next to it (``<bundle>.report.html``) or to ``output``.

    The desk profile is today's; a desk that no longer exists renders without its labels.
    """
    from pathlib import Path

    from tsdtool import errors
    from tsdtool.bundle import desks
    from tsdtool.bundle.verify import open_bundle
    from tsdtool.paths import write_new

    bundle = Path(bundle)
    with open_bundle(bundle) as opened:
        try:
            desk = desks.get(opened.manifest.profiles.get("desk"), profile_dirs)
        except errors.UsageError:
            desk = None
        manifest = opened.manifest
        # The page never lists itself: it was rendered before it was added.
        manifest.items = [i for i in manifest.items if i.kind != "report"]
        html = render(manifest, opened.read, desk)
    target = Path(output) if output else bundle.with_name(bundle.name.removesuffix(".zip") + ".report.html")
    return write_new(target, html.encode("utf-8"))
