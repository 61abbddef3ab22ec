"""Progress displays: a protocol, a silent twin for quiet runs and tests, and a Rich one on stderr."""

from __future__ import annotations

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
        from rich.progress import (BarColumn, DownloadColumn, Progress as _P, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)

        from tsdtool import console

        self._p = _P(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                     TransferSpeedColumn(), TimeRemainingColumn(), console=console.err(),
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
