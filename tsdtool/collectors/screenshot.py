"""Screen capture through exec-out (binary-safe), checked before it is called a screenshot."""

from __future__ import annotations

from dataclasses import dataclass

from tsdtool import errors
from tsdtool.collectors.base import Collector, Context
from tsdtool.parsers import png
from tsdtool.transport.adb import Device


@dataclass(frozen=True)
class Screenshot:
    data: bytes
    width: int
    height: int
    black: bool  # an all-black frame: a secure window (FLAG_SECURE) or the screen is off
    warning: str  # what screencap printed before the PNG, if anything


def capture(device: Device, display: str | None = None) -> Screenshot:
    args = ["screencap", "-p"] + (["-d", display] if display else [])
    raw = device.exec_out(args)
    try:
        data, warning = png.unwrap(raw)
        info = png.inspect(data)
    except (ValueError, IndexError) as exc:
        head = raw[:80].decode("utf-8", "replace").strip().splitlines()
        detail = head[0] if head else "no output"
        raise errors.TransferError(f"screencap gave no PNG ({exc}): {detail}",
                                   fix="unlock the terminal's screen and try again") from exc
    return Screenshot(data, info.width, info.height, bool(info.black), warning)


class ScreenshotCollector(Collector):
    """``screenshot.png`` for the bundle; a black frame is kept and flagged in ``ctx.facts["checks"]``."""

    name = "screenshot.png"
    kind = "screenshot"

    def collect(self, ctx: Context) -> None:
        ctx.progress.start("screenshot")
        shot = capture(ctx.device)
        item = ctx.out.write_bytes("screenshot.png", shot.data, "screencap -p", kind=self.kind)
        note = f"{shot.width}x{shot.height}"
        if shot.black:
            note += ", all black: a secure window (FLAG_SECURE) or the screen is off"
        ctx.facts.setdefault("checks", {})[item.path] = note
