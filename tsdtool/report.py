"""What people read: Rich tables on stdout. Never talks to a device; every device string is escaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tsdtool import console
from tsdtool.console import escape
from tsdtool.errors import ExitCode

_STATE_STYLE = {"device": "green", "unauthorized": "yellow", "offline": "red"}


def devices_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    if not rows:
        console.out().print("No terminal attached. Plug one in with a data cable and enable USB debugging.")
        return
    table = Table("serial", "state", "transport", "vendor", "model", "fix", box=None, pad_edge=False)
    for r in rows:
        style = _STATE_STYLE.get(r["state"], "red")
        table.add_row(escape(r["serial"]), f"[{style}]{escape(r['state'])}[/]", r["transport"],
                      escape(r.get("vendor") or ""), escape(r.get("model") or ""), escape(r.get("fix") or ""))
    console.out().print(table)


def info_table(info: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in info.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                table.add_row(escape(f"{key}.{sub}"), escape("—" if v is None else v))
        else:
            table.add_row(escape(key), escape("—" if value is None else value))
    console.out().print(table)


def screenshot_result(shot: Any, path: Path) -> int:
    if shot.warning:
        console.warn(f"screencap said: {shot.warning}")
    console.out().print(f"screenshot {shot.width}x{shot.height} written to {escape(path)}")
    if shot.black:
        console.warn("the frame is all black: a secure window (FLAG_SECURE) or the screen is off")
        return ExitCode.PARTIAL
    return ExitCode.OK


def fleet_table(results: list) -> None:
    from rich.table import Table

    table = Table("serial", "state", "result", box=None, pad_edge=False)
    for r in results:
        if r.exit_code == 0:
            value = r.value if isinstance(r.value, dict) else {}
            text = " ".join(str(value.get(k) or "") for k in ("vendor", "model", "bundle") if value.get(k)) or "ok"
            table.add_row(escape(r.serial), escape(r.state), f"[green]{escape(text)}[/]")
        else:
            table.add_row(escape(r.serial), escape(r.state), f"[red]{escape(r.error or 'partial')}[/]")
    console.out().print(table)


# --- field helpers: doctor, watch ---
_CHECK_STYLE = {"ok": "green", "problem": "red", "skipped": "dim"}


def doctor_report(checks: list[Any]) -> None:
    """One line per check; a problem's fix follows, indented, unwrapped so commands copy whole."""
    out = console.out()
    for check in checks:
        style = _CHECK_STYLE.get(check.status, "red")
        out.print(f"[{style}]{check.status:<8}[/] [bold]{escape(check.name)}[/]: {escape(check.detail)}",
                  soft_wrap=True)
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
    console.out().print(f"[{style}]{outcome.status:<7}[/] {escape(outcome.serial or '?')} "
                        f"{escape(outcome.label)}: {escape(outcome.message)}{where}", soft_wrap=True)
