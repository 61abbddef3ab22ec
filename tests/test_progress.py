"""What a technician sees while a slow terminal sends nothing yet: it must not look hung."""

from __future__ import annotations

import io
import re
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


class _Labels(progress.RichProgress):
    """A person's progress display that keeps the labels it is given instead of drawing them."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.received, self.finished = 0, False

    def start(self, label: str, total: int | None = None) -> None:
        self.labels.append(label)

    def advance(self, n: int) -> None:
        self.received += n

    def finish(self) -> None:
        self.finished = True


def test_a_russian_desk_s_collect_shows_its_progress_in_russian(fake_server, tmp_path):
    from tsdtool.bundle.collect import CollectOptions, collect
    from tsdtool.transport.adb import Adb

    server = fake_server("zebra_tc52")
    shown = _Labels()
    options = CollectOptions(tmp_path / "out", package="com.example.scanner.demo", desk="grsoft",
                             use_user_profiles=False, config_dir=tmp_path / "config")
    collect(Adb("127.0.0.1", server.port, start_server=False), None, options, progress=shown)
    # One line follows one lane at a time (bundle/collect.py _Lanes): which labels reach it
    # depends on the lanes' timing, so every label is checked, whichever they are.
    from tsdtool.texts import _patterns

    english = [pattern for _, pattern in _patterns("progress")]
    assert any(re.search("[а-я]", label) for label in shown.labels), shown.labels
    assert not [label for label in shown.labels if any(p.match(label) for p in english)], shown.labels


def test_the_generic_desk_keeps_the_labels_and_a_silent_progress_is_not_wrapped():
    shown = _Labels()
    assert progress.spoken(shown, "en") is shown and progress.spoken(shown, None) is shown
    silent = progress.NullProgress()
    assert progress.spoken(silent, "ru") is silent
    russian = progress.spoken(shown, "ru")
    russian.start("screenshot")
    russian.start("run-as: 3 files (gzip -1)", 100)
    russian.start("/data/anr/traces.txt")  # a file's path is shown as it is
    assert shown.labels == ["снимок экрана", "run-as: файлов — 3 (gzip -1)", "/data/anr/traces.txt"]


def test_every_progress_label_has_its_russian_wording_with_the_same_placeholders():
    en, ru = progress_templates("en"), progress_templates("ru")
    assert en and set(en) == set(ru), (sorted(en), sorted(ru))
    for key, text in en.items():
        assert ru[key] != text, key
        assert sorted(re.findall(r"\{\w+\}", ru[key])) == sorted(re.findall(r"\{\w+\}", text)), key


def progress_templates(lang: str) -> dict[str, str]:
    """``[progress]`` of one catalogue: key → the label's template."""
    from tsdtool.texts import catalogue

    return catalogue(lang)["progress"]


def test_a_russian_label_is_drawn_whole_at_a_narrow_width(monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr("tsdtool.console.err", lambda: Console(file=screen, width=60, force_terminal=True))
    drawn = progress.RichProgress()
    progress.spoken(drawn, "ru").start("app versions", total=None)
    row = Console(file=io.StringIO(), width=60, color_system=None, record=True)
    row.print(drawn._p.make_tasks_table(drawn._p.tasks))
    drawn.finish()
    assert "версии приложений" in row.export_text(), row.export_text()
