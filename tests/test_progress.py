"""What a technician sees while a slow terminal sends nothing yet: it must not look hung."""

from __future__ import annotations

import io
import time

from rich.console import Console

from tsdtool import progress


def test_a_transfer_of_unknown_size_shows_a_spinner_and_the_time_elapsed(monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr("tsdtool.console.err", lambda: Console(file=screen, width=120, force_terminal=True))
    shown = progress.RichProgress()
    shown.start("logcat", total=None)  # a slow terminal: no size, no byte yet
    time.sleep(1.1)
    row = Console(file=io.StringIO(), width=120, color_system=None, record=True)
    row.print(shown._p.make_tasks_table(shown._p.tasks))
    text = row.export_text()
    shown.finish()
    assert "logcat" in text and "0/? bytes" in text, text
    assert "0:00:01" in text, text  # the elapsed time ticks while nothing arrives
    assert any(frame in text for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"), text  # the spinner


def test_preloading_imports_on_a_thread_and_shrugs_off_a_module_that_fails(monkeypatch):
    import sys

    from tsdtool import quick

    for name in ("json.tool", "tsdtool.no_such_module"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    quick.preload(("tsdtool.no_such_module", "json.tool"))  # stops at the first failure, quietly
    quick.preload(("json.tool",))
    import threading

    for thread in threading.enumerate():
        if thread.name == "tsdtool-preload":
            thread.join(10)
    assert "json.tool" in sys.modules and "tsdtool.no_such_module" not in sys.modules
