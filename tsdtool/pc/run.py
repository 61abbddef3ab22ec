"""The PC collectors as one list, and ``tsdtool pc``: the PC facts into an output folder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from tsdtool.collectors.base import Collector, Context, run_all
from tsdtool.outdir import OutputDir
from tsdtool.pc.root import PcRoot
from tsdtool.progress import NullProgress, Progress


def collectors() -> list[Collector]:
    from tsdtool.pc.grserver import GRServerCollector
    from tsdtool.pc.mobilesmarts import MobileSmartsCollector
    from tsdtool.pc.onec import OneCCollector
    from tsdtool.pc.windows import WindowsCollector

    return [WindowsCollector(), OneCCollector(), MobileSmartsCollector(), GRServerCollector()]


def root_for(folder: Path | None) -> PcRoot:
    """``--pc-root DIR`` (a copied or mounted drive), else this machine."""
    if folder is None:
        return PcRoot.here()
    from tsdtool import errors

    if not Path(folder).is_dir():
        raise errors.UsageError(f"--pc-root {folder}: not a folder", fix="give the folder that holds the Windows drive")
    return PcRoot.given(Path(folder))


def collect_pc(
    root: PcRoot, output: Path | None = None, *, since: str | None = None, profile_dirs: Sequence[Path] = (),
    progress: Progress | None = None,
) -> tuple[dict, OutputDir]:
    """Run every PC collector into a fresh output folder; returns the facts and the folder."""
    out = OutputDir(output or Path("tsd-output") / f"pc-{datetime.now():%Y%m%d-%H%M%S}")
    ctx = Context(None, out, progress or NullProgress(),  # type: ignore[arg-type] - no terminal on the PC side
                  options={"pc_root": root, "since": since, "profile_dirs": list(profile_dirs)})
    run_all(collectors(), ctx)
    return ctx.facts.get("pc", {}), out


def field_defaults(pc: dict) -> dict[str, str]:
    """Desk field defaults from ``ctx.facts["pc"]`` — values to offer for the person to confirm,
    never to fill silently (the collect plan decides; see issue 12): ``pc_os``, ``pc_bitness``,
    ``onec_version`` (every platform found, newest first, with its bitness), ``ms_version`` (the
    file version of Mobile SMARTS's updater, named as such), ``ms_bases`` (the bases' folders).
    Unknown values are left out."""
    found: dict[str, str] = {}
    win = pc.get("windows", {})
    if win.get("found") and win.get("version") not in (None, "", "unknown"):
        found["pc_os"] = str(win["version"])
    if win.get("found") and win.get("bitness") not in (None, "", "unknown"):
        found["pc_bitness"] = str(win["bitness"])
    versions = sorted(pc.get("onec", {}).get("versions", []),
                      key=lambda v: tuple(int(p) for p in v["version"].split(".")), reverse=True)
    if versions:
        found["onec_version"] = ", ".join(f"{v['version']} ({v['bitness']})" for v in versions)
    ms = pc.get("mobilesmarts", {})
    if ms.get("found") and ms.get("updater_version"):
        # The platform's updater (kb.cleverence.com/3.4/how-to-update-server): its file version is
        # shown with the file it came from, so the desk sees what was read.
        found["ms_version"] = f"{ms['updater_version']} ({ms['updater'].rsplit('/', 1)[-1]})"
    if ms.get("found") and ms.get("bases"):
        found["ms_bases"] = ", ".join(ms["bases"])
    return found
