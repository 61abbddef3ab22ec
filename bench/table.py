"""Benchmark rows and the table they print as."""

from __future__ import annotations

from dataclasses import dataclass

PASS, MISS, NA = "PASS", "MISS", "n/a"


@dataclass(frozen=True)
class Row:
    section: str
    what: str
    value: str
    target: str = ""  # empty for an informative row
    status: str = ""  # PASS | MISS | n/a | ""
    note: str = ""


def judge(ok: bool | None) -> str:
    return NA if ok is None else PASS if ok else MISS


def render(rows: list[Row], title: str) -> str:
    """The table as text (Rich, no colour when not a terminal)."""
    import io

    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for name, justify in (
        ("section", "left"),
        ("measure", "left"),
        ("value", "right"),
        ("target", "right"),
        ("", "left"),
        ("note", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(row.section, row.what, row.value, row.target, row.status, row.note)
    buffer = io.StringIO()
    Console(file=buffer, width=160, no_color=True, highlight=False).print(table)
    return buffer.getvalue()


def markdown(rows: list[Row]) -> str:
    """The same rows as a Markdown table (for the README)."""
    lines = ["| section | measure | value | target | | note |", "|---|---|---:|---:|---|---|"]
    for r in rows:
        cells = [r.section, r.what, r.value, r.target, r.status, r.note]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
