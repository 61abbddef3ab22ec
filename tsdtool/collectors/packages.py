"""Installed packages and the versions of the app under investigation.

``pm list packages`` gives every package with its version code (Android 9+ understands
``--show-versioncode``; older ``pm`` rejects it, so the plain list is asked for then);
``dumpsys package PKG`` gives one app's version name, install and update times, flags.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict

from tsdtool import errors
from tsdtool.collectors.base import Collector, Context
from tsdtool.parsers import dumpsys_package, pm_list
from tsdtool.transport.adb import Device


def list_packages(ctx: Context | Device) -> bytes:
    """``pm list packages`` output, with version codes when this ``pm`` knows the option."""
    device = ctx.device if isinstance(ctx, Context) else ctx
    result = device.shell(["pm", "list", "packages", "-i", "--show-versioncode"])
    if not result.ok or b"Unknown option" in result.stderr + result.stdout[:200]:
        result = device.shell(["pm", "list", "packages", "-i"])
    if not result.ok:
        raise errors.TransferError(f"pm list packages failed: {result.error_text()}")
    return result.stdout


class AppVersionsCollector(Collector):
    """``apps/packages.txt`` and ``apps/<package>/dumpsys-package.txt`` for each package under investigation.

    Args:
        choose: installed package names → the packages to look at, each with a label (the
            app profile's name, or None). The choice goes to ``ctx.facts["packages"]`` and
            the versions to ``ctx.facts["apps"]``.
    """

    name = "apps/packages.txt"
    kind = "apps"

    def __init__(self, choose: Callable[[list[str]], dict[str, str | None]], listing: bytes | None = None,
                 chosen: threading.Event | None = None):
        self.choose = choose
        self.listing = listing  # `pm list packages` already read (collect checks the choice first)
        # set once ctx.facts holds the packages and whether each is installed, before their
        # versions are asked (what the app's data needs to start); whatever happens, by the end
        self.chosen = chosen or threading.Event()

    def collect(self, ctx: Context) -> None:
        try:
            self._collect(ctx)
        finally:
            self.chosen.set()

    def _collect(self, ctx: Context) -> None:
        ctx.progress.start("app versions")
        listing = self.listing if self.listing is not None else list_packages(ctx)
        ctx.out.write_bytes(
            "apps/packages.txt", listing, "pm list packages -i --show-versioncode", kind=self.kind
        )
        installed = {p.name: p for p in pm_list.parse(listing)}
        chosen = self.choose(sorted(installed))
        apps = ctx.facts.setdefault("apps", [])
        entries = [{"package": package, "installed": package in installed, "label": label}
                   for package, label in chosen.items()]
        apps += entries
        ctx.facts["packages"] = list(chosen)
        self.chosen.set()
        for entry in entries:
            package = entry["package"]
            if not entry["installed"]:
                continue
            entry["installer"] = installed[package].installer
            raw = ctx.device.shell(["dumpsys", "package", package]).stdout
            ctx.out.write_bytes(
                f"apps/{package}/dumpsys-package.txt", raw, f"dumpsys package {package}", kind=self.kind
            )
            info = dumpsys_package.parse(raw, package)
            if info:
                entry.update({k: v for k, v in asdict(info).items() if k not in ("name", "flags")})
