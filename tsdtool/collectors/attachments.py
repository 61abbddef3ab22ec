"""Local folders and files the person adds with ``--attach`` (a desk's exchange folder, say).

Each file becomes one item under ``attachments/<folder name>/``. Symlinks are recorded and
not followed, so an attached folder cannot pull in anything outside itself; the manifest
names the folder, never the full local path (it often holds the user's name).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tsdtool.collectors.base import Collector, Context
from tsdtool.outdir import FAILED, SKIPPED, reason_of
from tsdtool.paths import safe_component

CHUNK = 1024 * 1024


class AttachCollector(Collector):
    name = "attachments"
    kind = "attachment"
    local = True  # read from this PC: still collected when the terminal went away

    def __init__(self, paths: Sequence[Path], exclude: Sequence[Path] = ()):
        """``exclude``: folders never walked into (the output folder, when it lies inside an
        attached one: the bundle must not swallow its own staging copy)."""
        self.paths = [Path(p) for p in paths]
        self.exclude = [Path(p).resolve() for p in exclude]

    def collect(self, ctx: Context) -> None:
        for root in self.paths:
            label = safe_component(root.resolve().name or "attachment")
            if root.is_file() and not root.is_symlink():
                self._copy(ctx, root, f"attachments/{label}", f"attach:{label}")
                continue
            for folder, dirs, files in os.walk(root, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not self._excluded(Path(folder) / d))
                for name in sorted(files) + sorted(d for d in dirs if (Path(folder) / d).is_symlink()):
                    path = Path(folder) / name
                    rel = path.relative_to(root).as_posix()
                    wanted, source = f"attachments/{label}/{rel}", f"attach:{label}/{rel}"
                    if path.is_symlink():
                        ctx.out.skip(
                            wanted, source, "symbolic link: not followed", kind=self.kind, status=SKIPPED
                        )
                    elif path.is_file():
                        self._copy(ctx, path, wanted, source)

    def _excluded(self, path: Path) -> bool:
        real = path.resolve()
        return any(real == e or e in real.parents for e in self.exclude)

    def _copy(self, ctx: Context, path: Path, wanted: str, source: str) -> None:
        ctx.progress.start(source, path.stat().st_size)
        try:
            with open(path, "rb") as src, ctx.out.open(wanted, source, kind=self.kind) as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
                    ctx.progress.advance(len(chunk))
        except OSError as exc:  # unreadable or vanished: this file fails, the rest go on
            if not ctx.out.items or ctx.out.items[-1].source != source:
                ctx.out.skip(wanted, source, reason_of(exc), kind=self.kind, status=FAILED)
