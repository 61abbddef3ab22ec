"""The Markdown sink (ticket.md and the .eml body) against a CommonMark renderer: what a desk
engineer's viewer shows is the value as given, and the plain text keeps Windows paths readable."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from tsdtool.escapes import markdown

_RENDER = MarkdownIt("commonmark")


def shown(text: str) -> str:
    """What a CommonMark viewer displays for one paragraph of ``text`` (tags stripped)."""
    rendered = _RENDER.render(text)
    assert rendered.startswith("<p>") and rendered.endswith("</p>\n"), rendered  # no block markup made
    body = rendered[3:-5]
    assert "<" not in body.replace("<br />", ""), body  # no element made from the value
    return html.unescape(body.replace("<br />\n", "\n"))


@pytest.mark.parametrize(("value", "plain"), [
    (r"C:\ProgramData\Cleverence\Databases\Склад 15\Logs", r"C:\ProgramData\Cleverence\Databases\Склад 15\Logs"),
    ("Exp\\", "Exp\\\\"),  # a trailing backslash would be a hard line break
    (r"a\*b", r"a\\\*b"),
    ("<img src=x onerror=alert(1)>", r"\<img src=x onerror=alert(1)>"),
    ("[x](https://evil.example)", r"\[x\](https://evil.example)"),
    ("`code` and *bold*", r"\`code\` and \*bold\*"),
    (r"C:\Users\[name]\x", r"C:\Users\\\[name\]\x"),
    ("_ab_ and __init__ and ro.product_model", r"\_ab\_ and \_\_init\_\_ and ro.product_model"),
    ("&amp; &#65; & a&b", r"\&amp; \&#65; & a&b"),
])
def test_markdown_shows_the_value_and_keeps_windows_paths_as_typed(value, plain):
    assert markdown(value) == plain
    assert shown(markdown(value)) == value


# Printable text with the characters Markdown acts on, kept to one line and without leading
# spaces or block markers (the ticket puts a value after its label, never at a line's start).
_chars = st.sampled_from(list("ab1 \\`*[]<>()!&#;_-.:/") + ["Я", "C:\\", "amp;", "_a_"])


@settings(max_examples=400)
@given(st.lists(_chars, min_size=1, max_size=30).map("".join))
def test_markdown_round_trips_through_a_commonmark_renderer(text):
    line = "x " + text.strip() + " x"  # as after a label: never a block of its own
    assert shown("Label: " + markdown(line)) == "Label: " + line


_GFM = MarkdownIt("commonmark").enable("table")
_line_start = st.sampled_from(["#", "##", "# ", ">", "- ", "-", "---", "+ ", "+7", "* ", "1. ", "2) ", "10.",
                               "===", "=", "~~~", "```", "| a |", "|-|", ":-|", "    ", "x"])


@settings(max_examples=300)
@given(st.lists(st.tuples(_line_start, st.lists(_chars, max_size=8).map("".join)), min_size=1, max_size=6))
def test_each_line_of_a_multi_line_value_is_shown_as_text_under_its_label(rows):
    """ticket.md writes a multi-line value one line per line, indented under its label: no
    line of it may start a heading, quote, list, table, fence or break of its own."""
    lines = [(start + rest).strip() or "x" for start, rest in rows]
    text = "- **Label**:\n" + "\n".join(f"    {markdown(line)}" for line in lines)
    rendered = _GFM.render(text)
    assert rendered.startswith("<ul>\n<li><strong>Label</strong>:\n") and rendered.endswith("</li>\n</ul>\n"), rendered
    body = rendered[len("<ul>\n<li><strong>Label</strong>:\n"):-len("</li>\n</ul>\n")]
    assert "<" not in body, body
    assert html.unescape(body) == "\n".join(lines)
