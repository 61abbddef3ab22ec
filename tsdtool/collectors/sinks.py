"""A sink that opens its OutputDir item at the first byte.

A file the terminal refuses outright (``Permission denied`` before any data) then leaves
nothing on disk and the caller records why; once data flows, the usual OutputDir rules hold
(``NAME.part`` while streaming, renamed when complete, left behind and marked failed when
the stream breaks).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from tsdtool.outdir import HashingWriter, Item, OutputDir


class LazyItem:
    """Use as ``with LazyItem(out, wanted, source, kind) as sink: device.pull(path, sink)``."""

    def __init__(self, out: OutputDir, wanted: str, source: str, kind: str = ""):
        self.out, self.wanted, self.source, self.kind = out, wanted, source, kind
        self._cm: AbstractContextManager[HashingWriter] | None = None
        self._writer: HashingWriter | None = None
        self.item: Item | None = None

    @property
    def opened(self) -> bool:
        return self._cm is not None

    def _open(self) -> HashingWriter:
        if self._writer is None:
            self._cm = self.out.open(self.wanted, self.source, self.kind)
            self._writer = self._cm.__enter__()
            self.item = self.out.items[-1]
        return self._writer

    def write(self, data) -> int:
        return self._open().write(data)

    def writev(self, pieces: list) -> int:
        return self._open().writev(pieces)

    def __enter__(self) -> LazyItem:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if self._cm is None:
            if exc is None:  # complete and empty: an empty file is still a file
                self.item = self.out.write_bytes(self.wanted, b"", self.source, self.kind)
            return False
        return bool(self._cm.__exit__(kind, exc, tb))
