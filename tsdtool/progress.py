"""Progress displays: a protocol, a silent twin for quiet runs and tests, and a Rich one on stderr."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    def start(self, label: str, total: int | None = None) -> None: ...
    def advance(self, n: int) -> None: ...
    def finish(self) -> None: ...


class NullProgress:
    """Does nothing: used when stderr is not a terminal, with --json, and in tests."""

    def start(self, label: str, total: int | None = None) -> None:
        self.label, self.total, self.done = label, total, 0

    def advance(self, n: int) -> None:
        self.done = getattr(self, "done", 0) + n

    def finish(self) -> None:
        pass


class RichProgress:
    """Bytes, rate and ETA on stderr; imports rich.progress only when drawn."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as _P

        from tsdtool import console

        # A slow terminal may send nothing for seconds (size unknown, 0 bytes): the spinner and
        # the elapsed time show that tsdtool is alive and waiting, not hung.
        self._p = _P(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                     TransferSpeedColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console.err(),
                     transient=True)
        self._task = None

    def start(self, label: str, total: int | None = None) -> None:
        from tsdtool.console import escape

        if self._task is None:
            self._p.start()
            self._task = self._p.add_task(escape(label), total=total)
        else:
            self._p.reset(self._task, total=total, description=escape(label))

    def advance(self, n: int) -> None:
        if self._task is not None:
            self._p.advance(self._task, n)

    def finish(self) -> None:
        if self._task is not None:
            self._p.stop()
            self._task = None


def make(enabled: bool) -> Progress:
    return RichProgress() if enabled else NullProgress()


class _Spoken:
    """A :class:`RichProgress` whose labels are shown in a desk's language (``[progress]`` of
    the catalogues; a file's path, or a label no template fits, as it is)."""

    def __init__(self, inner: Progress, words: Callable[[str], str]) -> None:
        self.inner, self.words = inner, words

    def start(self, label: str, total: int | None = None) -> None:
        self.inner.start(self.words(label), total)

    def advance(self, n: int) -> None:
        self.inner.advance(n)

    def finish(self) -> None:
        self.inner.finish()


def spoken(shown: Progress, lang: str | None) -> Progress:
    """``shown`` with its labels in ``lang`` when it is drawn for a person (:class:`RichProgress`):
    while a collect runs the technician reads the desk's language, as in its questions and its
    result. The labels are made in English; `collect --all`'s table stays English, as `devices`."""
    if not isinstance(shown, RichProgress):
        return shown
    from tsdtool.texts import texts

    t = texts(lang)
    return shown if t.lang == "en" else _Spoken(shown, lambda label: t.reason(label, "progress"))


class _Row:
    """One terminal's line in a :class:`FleetView`: what it is doing and how far along."""

    def __init__(self) -> None:
        self.label, self.total, self.done, self.state = "waiting", None, 0, ""

    def start(self, label: str, total: int | None = None) -> None:
        self.label, self.total, self.done = label, total, 0

    def advance(self, n: int) -> None:
        self.done += n

    def finish(self) -> None:
        self.label = "packing"


class FleetView:
    """A Rich live table on stderr with one progress row per terminal (``collect --all``).

    Workers get a :class:`Progress` per terminal from :meth:`row`; with ``enabled`` False
    they get silent ones and nothing is drawn.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.rows: dict[str, _Row] = {}
        self._live = None

    def row(self, serial: str) -> Progress:
        if not self.enabled:
            return NullProgress()
        return self.rows.setdefault(serial, _Row())

    def done(self, serial: str, text: str) -> None:
        self.rows.setdefault(serial, _Row()).state = text

    def _table(self):
        from rich.table import Table

        from tsdtool.console import escape

        table = Table("terminal", "doing", "received", box=None, pad_edge=False)
        for serial, r in list(self.rows.items()):
            size = f"{r.done / 1e6:.1f} MB" + (f" / {r.total / 1e6:.1f} MB" if r.total else "")
            table.add_row(escape(serial), escape(r.state or r.label), "" if r.state else size)
        return table

    def __enter__(self) -> FleetView:
        if self.enabled:
            from rich.live import Live

            from tsdtool import console

            self._live = Live(get_renderable=self._table, console=console.err(), refresh_per_second=4)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
