"""Console views: what people read on stdout (tables, results). Never talks to a device.

No view cuts a value: serials, packages, paths, property names and fingerprints are what a
person copies into the next command or a ticket. :func:`table` aligns columns when they fit
the terminal, prints one record per block when they do not, and prints full-width plain lines
when stdout is not a terminal (``| cat``, ``> file``). Device text is shown with its control
characters made visible and is never read as Rich markup.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from tsdtool import console
from tsdtool.console import escape
from tsdtool.errors import ExitCode, NoDevice

Cell = str | tuple[str, str]  # text, or (text, Rich style)


def table(headers: list[str] | None, rows: list[list[Cell]], title: str | None = None) -> None:
    """Rows under headers, every value whole.

    Columns are padded to their widest value. When that is wider than the terminal, each
    row becomes a block of ``header  value`` lines (a long value wraps, it is never cut);
    piped or redirected output always gets the aligned full-width lines.
    """
    cells = [[(console.one_line(c), "") if isinstance(c, str) else (console.one_line(c[0]), c[1])
              for c in row] for row in rows]
    columns = list(zip(*([[(h, "") for h in headers]] if headers else []) + cells, strict=True))  # headers alone too
    widths = [max(console.cell_len(text) for text, _ in column) for column in columns]
    if not console.surely_plain(sys.stdout):
        out = console.out()
        if out.is_terminal and sum(widths) + 2 * (len(widths) - 1) > out.width:
            _blocks(headers, cells, title)
            return
    lines = ([[(h, "bold") for h in headers]] if headers else []) + cells
    aligned = [_rstrip([piece for n, (text, style) in enumerate(row) for piece in (
        (text, style or ("bold" if not headers and n == 0 else "")),
        (" " * (widths[n] - console.cell_len(text) + 2) if n < len(row) - 1 else "", ""))]) for row in lines]
    console.lines(([[(title, "bold")]] if title else []) + aligned)


def _rstrip(pieces: list[tuple[str, str]]) -> list[console.Piece]:
    """The pieces without the line's trailing blanks (padding after an empty last column)."""
    while pieces and not pieces[-1][0].rstrip():
        pieces.pop()
    if pieces:
        pieces[-1] = (pieces[-1][0].rstrip(), pieces[-1][1])
    return list(pieces)


def _blocks(headers: list[str] | None, cells: list[list[tuple[str, str]]], title: str | None) -> None:
    """A table too wide for the terminal: one block of ``header  value`` lines per row, or
    ``key: value`` lines without headers; a long value wraps in the terminal, whole."""
    from rich.text import Text

    out = console.out()
    if title:
        out.print(Text(title, style="bold"), soft_wrap=True)
    if headers:
        label = max(console.cell_len(h) for h in headers)
        for n, row in enumerate(cells):
            if n:
                out.print()
            for head, (text, style) in zip(headers, row, strict=True):
                out.print(Text.assemble((head.ljust(label), "bold"), "  ", (text, style)), soft_wrap=True)
        return
    for row in cells:  # key: value, unpadded; a long value wraps in the terminal
        parts = [(row[0][0] + ":", "bold")] + [piece for cell in row[1:] for piece in (" ", cell)]
        out.print(Text.assemble(*parts), soft_wrap=True)


def _dash(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "—" if value is None or value == "" else str(value)

_STATE_STYLE = {"device": "green", "unauthorized": "yellow", "offline": "red"}


def devices_table(rows: list[dict[str, Any]]) -> None:
    """The terminals; what is wrong with one and its fix in the PC's language, as errors are."""
    from tsdtool import texts

    say = texts.errors_in(texts.pc_language())
    if not rows:
        console.out().print(f"{say('no terminal attached')} — {say(NoDevice.fix)}")
        return
    table(["serial", "state", "transport", "vendor", "model", "fix"],
          [[r["serial"], (r["state"], _STATE_STYLE.get(r["state"], "red")), r["transport"], r.get("vendor") or "",
            r.get("model") or "", " — ".join(map(say, (r.get("fix") or "").split(" — ")))] for r in rows])


def gigabytes(kb: int | None) -> str:
    """Storage as Android's Settings shows it (decimal GB, since Android 8); df counts 1 KiB blocks."""
    return "—" if kb is None else f"{kb * 1024 / 1e9:.1f} GB"


def duration(seconds: int | None) -> str:
    """``3 d 4 h``, ``4 h 5 min``, ``5 min``: the two largest units, enough to read an uptime."""
    if seconds is None:
        return "—"
    d, rest = divmod(int(seconds), 86400)
    h, rest = divmod(rest, 3600)
    parts = [(d, "d"), (h, "h"), (rest // 60, "min")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{n} {unit}" for n, unit in parts[:2])


def _battery(info: dict[str, Any]) -> str:
    level, charging = info.get("battery_level"), info.get("charging")
    text = "—" if level is None else f"{level} %"
    return text + {True: ", charging", False: ", not charging"}.get(charging, "")


def _storage(info: dict[str, Any], volume: str) -> str:
    free, total = info.get(f"storage_{volume}_free_kb"), info.get(f"storage_{volume}_total_kb")
    return "—" if free is None else f"{gigabytes(free)} free of {gigabytes(total)}"


# info's keys a person reads under another label, or folded into another row
_INFO_SHOWN = {"serial", "transport", "vendor", "manufacturer", "brand", "model", "device", "product",
               "android_release", "sdk", "security_patch", "build_id", "build_type", "battery_level", "charging",
               "uptime_s", "vendor_facts", "managed", "profile", "profile_match", "profile_confidence",
               "profile_evidence", "profile_rejected"}


def _confidence(info: dict[str, Any]) -> str:
    confidence = info.get("profile_confidence")
    return f", {confidence} evidence" if confidence else ""


def _evidence(info: dict[str, Any]) -> str:
    """What the vendor was recognised by, and any weak evidence set aside."""
    found = [f"{e.get('source')} = {e.get('value')} ({e.get('strength')})" for e in info.get("profile_evidence") or []]
    return "; ".join(found + [f"set aside: {r}" for r in info.get("profile_rejected") or []]) or "none"


def info_rows(info: dict[str, Any]) -> list[list[str]]:
    """``info`` for a person: labels and units; every key the JSON has is shown somewhere."""
    g = info.get
    rows = [["serial", f"{g('serial')} ({g('transport')})"],
            ["vendor", f"{_dash(g('vendor'))} (profile {_dash(g('profile'))}{_confidence(info)})"],
            ["evidence", _evidence(info)],
            ["manufacturer", f"{_dash(g('manufacturer'))}, brand {_dash(g('brand'))}"],
            ["model", f"{_dash(g('model'))} (device {_dash(g('device'))}, product {_dash(g('product'))})"],
            ["Android", f"{_dash(g('android_release'))} (SDK {_dash(g('sdk'))}), "
                        f"security patch {_dash(g('security_patch'))}"],
            ["build", f"{_dash(g('build_id'))} ({_dash(g('build_type'))})"]]
    for key, value in info.items():
        if key in _INFO_SHOWN:
            continue
        if key.startswith("storage_") and key.endswith("_free_kb"):
            volume = key[len("storage_"):-len("_free_kb")]
            rows.append([f"{volume} storage", _storage(info, volume)])
        elif not (key.startswith("storage_") and key.endswith("_kb")):
            rows.append([key, _dash(value)])
    rows += [[f"firmware {k}", _dash(v)] for k, v in (g("vendor_facts") or {}).items()]
    rows += [["battery", _battery(info)], ["uptime", duration(g("uptime_s"))]]
    rows += [[f"managed {k.replace('_', ' ')}", fact_text(v)] for k, v in (g("managed") or {}).items()]
    return rows


def info_table(info: dict[str, Any]) -> None:
    table(None, info_rows(info))


def info_all_table(results: list) -> None:
    """``info --all``: one row per terminal; a terminal that failed shows why."""
    rows = []
    for r in results:
        i = r.value if isinstance(r.value, dict) else {}
        if r.error or not i:
            rows.append([r.serial, (r.error or r.state, "red"), "", "", "", ""])
            continue
        rows.append([r.serial, f"{_dash(i.get('vendor'))} {_dash(i.get('model'))}",
                     f"{_dash(i.get('android_release'))} (SDK {_dash(i.get('sdk'))})", _dash(i.get("build_id")),
                     _battery(i), gigabytes(i.get("storage_data_free_kb"))])
    table(["serial", "model", "Android", "build", "battery", "data free"], rows)


def versions(host: str | None, port: int | None) -> int:
    from tsdtool import doctor
    from tsdtool.transport.adb import Adb

    table(None, [list(row) for row in doctor.versions(Adb(host, port, timeout=3, start_server=False))])
    return ExitCode.OK


def screenshot_result(shot: Any, path: Path) -> int:
    if shot.warning:
        console.warn(f"screencap said: {shot.warning}")
    console.out().print(f"screenshot {shot.width}x{shot.height} written to {console.path(path)}", soft_wrap=True)
    if shot.black:
        console.warn("the frame is all black: a secure window (FLAG_SECURE) or the screen is off")
        return ExitCode.PARTIAL
    return ExitCode.OK


def fleet_table(results: list) -> None:
    rows = []
    tickets = any(isinstance(r.value, dict) and "ticket" in r.value for r in results)
    for r in results:
        value = r.value if isinstance(r.value, dict) else {}
        text = r.error or " ".join(str(value[k]) for k in ("status", "vendor", "model", "bundle") if value.get(k))
        style = {0: "green", 3: "yellow"}.get(int(r.exit_code), "red")
        rows.append([r.serial, r.state, (text or "ok", style)] + ([ticket_state(value)] if tickets else []))
    table(["serial", "state", "result"] + (["ticket"] if tickets else []), rows)


def ticket_state(value: dict) -> str:
    """One cell: "ready" or "not ready: missing a, b" (collect results; "" for others)."""
    ticket = value.get("ticket") if isinstance(value.get("ticket"), dict) else None
    if ticket is None:
        return ""
    return "ready" if ticket.get("ready") else "not ready: missing " + ", ".join(ticket.get("missing") or ["?"])


# --- field helpers: doctor, watch ---
_CHECK_STYLE = {"ok": "green", "problem": "red", "skipped": "dim"}


def doctor_report(checks: list[Any]) -> None:
    """One line per check; a problem's fix follows, indented, unwrapped so commands copy whole."""
    out = console.out()
    for check in checks:
        style = _CHECK_STYLE.get(check.status, "red")
        name, detail = escape(console.one_line(check.name)), escape(console.one_line(check.detail))
        out.print(f"[{style}]{check.status:<8}[/] [bold]{name}[/]: {detail}", soft_wrap=True)  # USB strings: one line
        if check.problem and check.fix:
            first, *rest = check.fix.splitlines()
            out.print(f"         fix: {escape(first)}", soft_wrap=True)
            for line in rest:
                out.print(f"              {escape(line)}", soft_wrap=True)
    count = sum(1 for c in checks if c.problem)
    out.print("[green]no problem found[/]" if not count else f"[red]{count} problem(s) found[/]")


def watch_line(outcome: Any) -> None:
    """One line per terminal handled by `watch`: status, serial, what, where."""
    style = {"ok": "green", "partial": "yellow"}.get(outcome.status, "red")
    where = f" → {escape(outcome.path)}" if outcome.path else ""
    label, message = (escape(console.one_line(text)) for text in (outcome.label, outcome.message))  # USB strings
    console.out().print(f"[{style}]{outcome.status:<7}[/] {escape(outcome.serial or '?')} "
                        f"{label}: {message}{where}", soft_wrap=True)


# --- bundle: collect, report, verify, send ---------------------------------------------------------


def ask_field(question: Any) -> str:
    """Ask one question (a :class:`~tsdtool.bundle.plan.Question`) on stderr, each on its own
    line; Enter keeps the default shown in brackets. A multi-line answer ends with an empty
    line; a pick list is answered with a number."""
    from rich.prompt import Prompt

    err = console.err()
    if question.error:
        err.print(f"[red]{escape(question.error)}[/]")
    hint = f" [dim]({escape(question.hint)})[/]" if question.hint else ""
    default = f" [cyan]\\[{escape(question.default)}][/]" if question.default else ""
    if question.choices:
        err.print(f"[bold]{escape(question.label)}[/]{hint}")
        for n, choice in enumerate(question.choices, 1):
            err.print(f"  {n:>2}. {escape(choice)}")
        answer = Prompt.ask(f"  {escape(question.pick)}", console=err, default="", show_default=False,
                            stream=console.keyboard).strip()
        pick = int(answer) if answer.isdigit() else 0
        return question.choices[pick - 1] if 1 <= pick <= len(question.choices) else answer
    if not question.multiline:
        return Prompt.ask(f"[bold]{escape(question.label)}[/]{hint}{default}", console=err, default="",
                          show_default=False, stream=console.keyboard)
    ends = escape(question.ends or "end with an empty line")
    err.print(f"[bold]{escape(question.label)}[/]{hint}{default} [dim]— {ends}[/]")
    lines = []
    while line := Prompt.ask("  ", console=err, default="", show_default=False, stream=console.keyboard):
        lines.append(line)
    return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{n / 1024:.0f} KB"


def collect_result(result: Any) -> None:
    """What `collect` made, what failed, and what the ticket still lacks: whole lines
    (:func:`console.lines`, written without Rich when stdout is no terminal; values are never
    read as markup)."""
    from tsdtool.escapes import shell_path
    from tsdtool.texts import texts

    t = texts(result.desk.language)
    m = result.manifest
    desk = result.desk.name
    status = (t.get("status", m.status, m.status), "green" if m.status == "complete" else "yellow")
    rows = [_styled(t("result.bundle", status=_SLOT, path=shell_path(result.bundle),
                      size=_size(result.bundle.stat().st_size)), status)]
    for item in m.items:
        if item.status != "ok":
            style = "red" if item.status == "failed" else "dim"
            rows.append(["  ", (t.get("status", item.status, item.status), style),
                         " " + console.one_line(f"{item.path}: {t.reason(item.reason)}")])
    state = m.ticket
    if state and state.ready:
        if result.desk.channel == "portal" and not result.to:
            where = result.desk.portal or t("result.portal")
            phone = " " + t("result.phone", phone=result.desk.phone) if result.desk.phone else ""
            line = t("result.ready_portal", desk=desk, ticket=shell_path(result.ticket_md), where=where,
                     bundle=shell_path(result.bundle)) + phone
        else:
            line = t("result.ready", desk=desk, path=shell_path(result.ticket_eml))
        rows.append([(line, "green")])
    else:
        rows.append([(t("result.not_ready", desk=desk), "red")])
        for requirement in state.missing if state else []:
            rows.append(["  ", ("•", "red"), f" {result.desk.requirement_label(requirement)} ",
                         (f"({_fix_for(result.desk, requirement, state.invalid, t)})", "dim")])
    rows.append([t("result.text", path=shell_path(result.ticket_md))])
    console.lines(rows)
    for note in result.notes:  # recorded in English (the JSON result), shown in the desk's language
        console.warn(t.reason(note, "notes"), t("result.warning"))


_SLOT = "\0"  # where a styled value goes in a line from the catalogue (values never hold it)


def _styled(line: str, value: tuple[str, str]) -> list[console.Piece]:
    """A catalogue line with ``value`` (text, style) in place of :data:`_SLOT`."""
    before, _, after = line.partition(_SLOT)
    return [before, value, after]


def _fix_for(desk: Any, requirement: str, invalid: dict[str, str], t: Any) -> str:
    """The real way to fill a requirement: a terminal field names its option, a typed one --field."""
    ways = []
    for key in requirement.split("|"):
        rule = desk.rule(key)
        why = f"{key} {t.reason(invalid[key], 'invalid')}: " if key in invalid else ""
        ways.append(why + (rule.fix if rule.auto else f"--field {key}=…"))
    return t("result.field_or").join(ways)


def report_written(path: Path, open_it: bool) -> int:
    console.out().print(f"report: {console.path(path)}", soft_wrap=True)
    if open_it:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return ExitCode.OK


def verify_result(result: Any, as_json: bool) -> int:
    code = ExitCode.OK if result.ok else ExitCode.PROBLEMS
    if as_json:
        console.print_json({"bundle": str(result.bundle), "ok": result.ok, "status": result.status,
                            "checked": result.checked, "problems": result.problems})
        return code
    for problem in result.problems:  # one line each: a member's name may hold a line break
        console.out().print(f"[red]✗[/] {shown(problem)}", soft_wrap=True)
    verdict = "[green]verified[/]" if result.ok else f"[red]{len(result.problems)} problem(s)[/]"
    done = f"{result.checked} files hashed, manifest schema checked" if result.status else "nothing could be checked"
    status = f", {escape(result.status)}" if result.status else ""
    console.out().print(f"{verdict}: {done} ({console.path(result.bundle)}{status})", soft_wrap=True)
    return code


def send_preview(plan: Any) -> None:
    """Who gets what, and how big it is, before anything is sent."""
    out = console.out()
    out.print(f"to:      {escape(plan.to)} ({escape(plan.desk.name)})", soft_wrap=True)
    out.print(f"from:    {escape(plan.sender)}", soft_wrap=True)
    out.print(f"subject: {escape(plan.subject)}", soft_wrap=True)
    how = "attached" if plan.attachment.attached else f"linked: {escape(plan.attachment.link)}"
    out.print(f"bundle:  {escape(plan.attachment.name)}, {_size(plan.attachment.size)}, {how} "
              f"(limit {plan.desk.max_attachment_mb:g} MB); message {_size(plan.size)}",
              soft_wrap=True)


def confirm_send(plan: Any) -> bool:
    from rich.prompt import Confirm

    return Confirm.ask(f"Send it to {escape(plan.to)}?", console=console.err(), default=False)


def ask_password(user: str) -> str:
    from rich.prompt import Prompt

    return Prompt.ask(f"SMTP password for {escape(user)}", console=console.err(), password=True)


def send_result(result: Any) -> int:
    if result.cancelled:
        console.err().print("not sent", style="yellow", markup=False)
        return ExitCode.PROBLEMS
    if not result.sent:
        console.out().print("dry run: nothing sent")
        return ExitCode.OK
    for rcpt, why in result.refused.items():
        console.warn(f"refused {rcpt}: {why}")
    console.out().print(f"[green]sent[/] to {escape(result.plan.to)}")
    return ExitCode.PROBLEMS if result.refused else ExitCode.OK


def profiles_table(entries: list) -> None:
    table(["kind", "id", "name", "origin", "file"], [[e.kind, e.id, e.name, e.origin, str(e.path)] for e in entries])


def apps_table(apps: list[dict[str, Any]]) -> None:
    if not apps:
        console.out().print("No matching app installed.")
        return
    table(["package", "version", "code", "installed", "updated", "debuggable"],
          [[_dash(a.get(k)) for k in ("package", "version_name", "version_code", "first_install_time",
                                      "last_update_time", "debuggable")] for a in apps])


# --- app data: pull-db, pull, logs ---------------------------------------------------------------


def shown(text: object) -> str:
    """Device text made safe to print as Rich markup: :func:`visible`, markup escaped."""
    return escape(visible(text))


def visible(text: object) -> str:
    """Device text with control and format characters (:func:`console.printable`, newline and tab
    too) and undecodable bytes made visible (a file name may carry an ANSI escape, a newline or a
    bidi override)."""
    raw = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return console.printable(re.sub(r"[\t\n]", lambda m: f"\\x{ord(m.group()):02x}", raw))


def _problems(items: list[Any]) -> int:
    """One line per item that is not ok; returns how many failed."""
    for item in items:
        if item.status != "ok":
            style = "red" if item.status == "failed" else "yellow"
            console.err().print(f"  [{style}]{item.status}[/] {shown(item.path)}: {shown(item.reason)}", soft_wrap=True)
    return sum(i.status == "failed" for i in items)


def pull_db_result(pull: Any, out: Any) -> int:
    """Each way tried and why, each database with its check, then the folder; 3 when partial.
    Written as plain lines where Rich would write the same (:func:`console.lines`)."""
    profile = visible(pull.profile.profile.name)
    rows: list[list[console.Piece]] = [[(visible(pull.package), "bold"), f" — app profile {profile}"]]
    for a in pull.attempts:
        rows.append(["  ", ("✓", "green") if a.ok else ("✗", "red"), f" {a.way:<8} {visible(a.reason)}"])
    if pull.not_readable and pull.databases:  # found elsewhere (shared storage); the private folder stays unread
        rows.append(["  ", (visible(pull.not_readable), "yellow")])
    for db in pull.databases:
        check = db.get("check") or {}
        summary: list[console.Piece]
        if check.get("error"):
            summary = [("cannot open:", "red"), f" {visible(check['error'])}"]
        elif check:
            rows_ = sum(n for n in check["tables"].values() if n)
            state = ("integrity ok", "green") if check["ok"] else \
                ("integrity: " + visible("; ".join(check["integrity"][:3])), "red")
            applied = f" ({', '.join(check['sidecars'])} applied)" if check["sidecars"] else ""
            summary = [state, f", {check['table_count']} tables, {rows_} rows, {check['journal']}{applied}"]
        else:
            summary = [("not copied", "red")]
        rows.append([f"  {visible(db['device_path'])} → {visible(db['files'].get('db', '—'))}: ", *summary])
        for role, why in db["missing"].items():
            rows.append(["    ", (f"{role} missing:", "red"), f" {visible(why)}"])
    if not pull.databases:
        rows.append([("  " + visible(pull.not_readable), "red")] if pull.not_readable
                    else ["  no database in the app's folders"])
    console.lines(rows)
    failed = _problems(out.items)
    from tsdtool.escapes import shell_path

    console.lines([[f"written to {console.printable(shell_path(out.root))}"]])
    partial = failed or not pull.complete or not any(a.ok for a in pull.attempts)
    return ExitCode.PARTIAL if partial else ExitCode.OK


def pull_result(result: Any, out: Any) -> int:
    """Files and bytes copied, what failed or was skipped and why; 3 when something failed."""
    failed = _problems(out.items)
    private = sorted({m[1] for i in out.items if i.status == "failed" and "denied" in i.reason.lower()
                      and (m := re.match(r"/data/(?:data|user/\d+)/([^/]+)", i.source))})
    for package in private:  # an app's own folder: only run-as (debuggable) or su reach it
        console.warn(f"{package}'s files are private to the app: `tsdtool pull-db {package}` tries "
                     "run-as, su and backup for its databases")
    from tsdtool.escapes import shell_path

    console.lines([[f"{result.files} files, {_size(result.bytes)} written to ", console.printable(shell_path(out.root)),
                    *([", ", (f"{failed} failed", "red")] if failed else [])]])
    return ExitCode.PARTIAL if failed else ExitCode.OK


def backup_notice(wait: float) -> None:
    """Said before the work starts, also when nothing draws progress: the tap is the person's job."""
    console.err().print(f"--backup: if the app's own folder cannot be read, Android will ask on the terminal: "
                        f"unlock it and tap «Back up my data» within {wait:g} s.", markup=False, soft_wrap=True)


def pc_result(facts: dict, out: Any) -> int:
    """One line per PC fact family, then the folder; 3 when an item failed."""
    con = console.out()
    win, onec = facts.get("windows", {}), facts.get("onec", {})
    ms, grs = facts.get("mobilesmarts", {}), facts.get("grserver", {})
    con.print(f"Windows: {shown(win.get('version', '—'))}, {shown(win.get('bitness', '—'))}" if win.get("found")
              else f"Windows: {shown(win.get('reason', 'not found'))}", soft_wrap=True)
    versions = ", ".join(f"{v['version']} {v['bitness']}" for v in onec.get("versions", []))
    con.print(f"1C:Enterprise: {shown(versions or 'not found')}", soft_wrap=True)
    con.print(f"Mobile SMARTS: bases {shown(', '.join(ms.get('bases', [])) or '—')}, updater "
              f"{shown(ms.get('updater_version') or '—')}" if ms.get("found") else "Mobile SMARTS: not found",
              soft_wrap=True)
    con.print(f"GRServer exchange folder: {shown(grs.get('exchange_folder') or '—')} "
              f"({shown(grs.get('reason') or ('attached' if grs.get('attached') else '—'))})"
              if grs.get("found") else "GRServer: not found", soft_wrap=True)
    failed = _problems(out.items)
    con.print(f"written to {shown(out.root)}", soft_wrap=True)
    return ExitCode.PARTIAL if failed else ExitCode.OK


def logs_result(result: Any) -> int:
    """Where the logcat dump went, what it holds, crash files and app logs; 3 when partial."""
    con = console.out()
    facts = result.facts.get("logcat", {})
    if result.logcat is not None:
        counts = f" ({facts['lines']} lines, {facts['problems']} errors)" if "lines" in facts else ""
        con.print(f"logcat{counts}: {shown(result.logcat)}", soft_wrap=True)
        for line in facts.get("crashes", [])[:10]:
            con.print(f"  [red]crash[/] {shown(line)}", soft_wrap=True)
    for label, info in result.facts.get("crash", {}).items():
        why = f" — {shown(info['reason'])}" if info.get("reason") else ""
        con.print(f"{label}: {info['files']} files{why}")
    for package, info in result.facts.get("app_files", {}).items():
        con.print(f"{shown(package)}: {len(info['files'])} log files")
    failed = _problems(result.out.items)
    return ExitCode.PARTIAL if failed else ExitCode.OK


# --- beyond: managed facts, repro, inspect, diff ---


def fact_text(value: Any) -> str:
    """One cell for a fact: a ``{"status", "value"}`` fact reads as its value, or its status."""
    if isinstance(value, dict) and set(value) == {"status", "value"}:
        if value["status"] != "ok":
            return value["status"]
        value = value["value"]
        if value is None:
            return "none"
        if isinstance(value, list):
            return ", ".join(str(v.get("package", v)) if isinstance(v, dict) else str(v) for v in value) or "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
    return "—" if value is None else str(value)


def inspect_result(result: Any, as_json: bool) -> int:
    """A bundle's summary and its verification; exit 1 when anything does not verify."""
    code = ExitCode.OK if result.ok else ExitCode.PROBLEMS
    if as_json:
        console.print_json(result.to_dict())
        return code
    s, out = result.summary, console.out()
    out.print(f"[bold]{escape(result.bundle.name)}[/] — {escape(s['status'])}, made {escape(s['created_at'])} "
              f"by tsdtool {escape(s['tool_version'])}", soft_wrap=True)
    table(None, [[key, fact_text(value)] for key, value in
                 list(s["device"].items()) + [(f"managed.{k}", v) for k, v in s["managed"].items()]])
    table(["package", "version"], [[_dash(a["package"]), f"{a['version_name']} ({a['version_code']})"]
                                   for a in s["apps"]])
    items = []
    for item in s["items"]:
        style = {"ok": "green", "failed": "red"}.get(item["status"], "dim")
        status = item["status"] + (f" {item['reason']}" if item["reason"] else "")
        items.append([item["path"], item["kind"], (status, style), _size(item["size"])])
    table(["item", "kind", "status", "size"], items)
    if s["missing_fields"]:
        out.print(f"[yellow]missing ticket fields:[/] {escape(', '.join(s['missing_fields']))}", soft_wrap=True)
    for problem in result.verification.problems:
        out.print(f"[red]✗[/] {shown(problem)}", soft_wrap=True)
    verdict = "[green]verified[/]" if result.ok else f"[red]{len(result.verification.problems)} problem(s)[/]"
    out.print(f"{verdict}: {result.verification.checked} files hashed, manifest schema checked")
    return code


def _change(a: Any, b: Any) -> str:
    return f"{_dash(a)} → {_dash(b)}" if a != b else _dash(a)


def _db_change(a: Any, b: Any) -> str:
    if a is None or b is None:
        return "only in B" if a is None else "only in A"
    if a.get("schema") != b.get("schema"):
        rows = a.get("rows") != b.get("rows")
        return "schema changed" + (f", rows {a.get('rows')} → {b.get('rows')}" if rows else "")
    return f"rows {_change(a.get('rows'), b.get('rows'))}" if "rows" in a else _change(a, b)


_HEAD_FACTS = {"vendor", "model", "serial", "android_release", "sdk", "build_id", "security_patch"}


def diff_result(result: Any, as_json: bool, props: bool = False) -> int:
    """What differs between two bundles, what matters first: one summary (device, Android,
    build, firmware, apps, databases), then the errors and crashes new in B in log order,
    grouped per crash; raw properties only with ``--props``. JSON for tools."""
    from rich.text import Text

    if as_json:
        console.print_json(result.to_dict())
        return ExitCode.OK
    out = console.out()
    if not result.changes:
        out.print("no differences")
        return ExitCode.OK
    a, b = result.heads
    by = {s: [c for c in result.changes if c.section == s] for s in ("device", "profile", "property", "app",
                                                                        "database", "log")}
    rows: list[list[Cell]] = [
        ["A", f"{a.get('name')} ({_dash(a.get('created_at'))}, {_dash(a.get('status'))})"],
        ["B", f"{b.get('name')} ({_dash(b.get('created_at'))}, {_dash(b.get('status'))})"],
        ["terminal", _change(*(f"{_dash(h.get('vendor'))} {_dash(h.get('model'))} ({_dash(h.get('serial'))})"
                             for h in (a, b)))],
        ["Android", _change(*(f"{_dash(h.get('android_release'))} (SDK {_dash(h.get('sdk'))}), "
                              f"security patch {_dash(h.get('security_patch'))}" for h in (a, b)))],
        ["build", _change(a.get("build_id"), b.get("build_id"))]]
    rows += [[c.key, _change(c.a, c.b)] for c in by["device"] if c.key not in _HEAD_FACTS]
    rows += [[f"firmware {c.key}", _change(c.a, c.b)] for c in by["profile"]]
    rows += [["app", f"{c.key} {_change(c.a, c.b)}"] for c in by["app"]] or [["apps", "same versions"]]
    rows += [["database", f"{c.key} {_db_change(c.a, c.b)}"] for c in by["database"]] or [["databases", "same"]]
    crashes = f"{len(result.crashes)} new in B ({len(by['log'])} log lines, below)" if by["log"] else "none new in B"
    rows += [["errors", crashes]]
    if by["property"]:
        rows.append(["properties", f"{len(by['property'])} differ" + ("" if props else " (--props lists them)")])
    table(None, rows)
    if result.crashes:
        out.print()
        out.print(Text("errors and crashes new in B, in log order:", style="bold"))
        for group in result.crashes:
            out.print(Text("  + " + console.printable(group[0]), style="red"), soft_wrap=True)
            for sig in group[1:]:
                out.print(Text("      " + console.printable(sig)), soft_wrap=True)
    if props and by["property"]:
        out.print()
        table(["property", "A", "B"], [[c.key, _dash(c.a), _dash(c.b)] for c in by["property"]])
    return ExitCode.OK


def repro_started(state: Any) -> int:
    out = console.out()
    out.print(f"repro {escape(state.id)} started on {escape(state.serial)} at {escape(state.started_local)} "
              f"(terminal clock); marker written to its log with tag tsdtool", soft_wrap=True)
    if not state.before:
        console.warn("no \"before\" screenshot (screencap failed); the window is still collected")
    out.print("Reproduce the problem on the terminal, then run `tsdtool repro stop`.")
    return ExitCode.OK
