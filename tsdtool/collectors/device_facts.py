"""Device facts (``tsdtool info --json``) and the raw ``getprop`` dump behind them."""

from __future__ import annotations

import json

from tsdtool.collectors.base import Collector, Context
from tsdtool.devices import facts


class DeviceFactsCollector(Collector):
    """``device/getprop.txt`` as printed, and ``device/facts.json``; facts also go to
    ``ctx.facts["device"]`` for the manifest, the bundle name and the ticket."""

    name = "device/facts.json"
    kind = "facts"

    def collect(self, ctx: Context) -> None:
        ctx.progress.start("device facts")
        device = facts.Prefetched(ctx.device)  # one round trip for what every terminal is asked
        result = device.shell(["getprop"])
        ctx.out.write_bytes("device/getprop.txt", result.stdout, "getprop", kind=self.kind)
        info = facts.read(device, profile_dirs=ctx.options.get("profile_dirs", ()))
        ctx.facts["device"] = info
        data = json.dumps(info, indent=2, ensure_ascii=False).encode("utf-8")
        ctx.out.write_bytes(
            "device/facts.json", data, "getprop, dumpsys battery, df, /proc/uptime", kind=self.kind
        )
