"""Bundle items ``pc/mobilesmarts/…``: Cleverence Mobile SMARTS bases, the updater's version, logs.

Where things are comes from the ``cleverence`` app profile's ``[pc]`` table (cited there):
the data root with ``apps.xml`` (the list of bases), ``Databases/<base>/Logs`` (which also
holds the logs copied from every terminal), the control panel's logs, and the updater
``MobileSMARTSUpdater.exe`` whose file version (VS_FIXEDFILEINFO, :mod:`tsdtool.pc.pe`) is
recorded as the updater's — which product version a base runs is not documented in a file we
know, so it stays a question for the person. Logs are taken within ``--since`` (file times on
the PC's clock) and up to :data:`LOG_BUDGET` bytes in all, newest first; the rest is listed
as skipped with the reason.
"""

from __future__ import annotations

import json

from tsdtool.collectors.base import Collector, Context
from tsdtool.outdir import SKIPPED
from tsdtool.paths import safe_component, safe_relpath
from tsdtool.pc import pe
from tsdtool.pc.common import copy_file, cutoff, files_below, pc_root, profile_pc
from tsdtool.pc.root import PcRoot

KIND = "pc"
LOG_BUDGET = 200 * 1024 * 1024
MAX_LIST = 1024 * 1024  # apps.xml is copied up to this size


def read_mobilesmarts(root: PcRoot, pc: dict) -> dict:
    """What the PC root says about Mobile SMARTS, without copying anything: the bases and the
    updater's file version (``found`` False when there is no data root)."""
    data_root = root.first(pc.get("data_root", ()))
    if data_root is None:
        return {"found": False}
    bases = _bases(root, pc)
    updater = root.first(pc.get("updater", ()))
    return {
        "found": True,
        "bases": [b.name for b in bases],
        "updater_version": pe.file_version(updater) if updater else "",
        "updater": updater.relative_to(root.path).as_posix() if updater else "",
        "product_version": "unknown: not recorded in a file we know; ask the person (Control Panel → About)",
    }


def _bases(root: PcRoot, pc: dict) -> list:
    return [p for pattern in pc.get("bases", ()) for p in root.glob(pattern) if p.is_dir()]


class MobileSmartsCollector(Collector):
    name = "pc/mobilesmarts"
    kind = KIND
    profile_id = "cleverence"

    def collect(self, ctx: Context) -> None:
        root = pc_root(ctx)
        pc = profile_pc(self.profile_id, ctx.options.get("profile_dirs", ()))
        summary = read_mobilesmarts(root, pc)
        ctx.facts.setdefault("pc", {})["mobilesmarts"] = summary
        if not summary["found"]:
            ctx.out.skip(f"{self.name}/summary.json", str(root.path),
                         "Mobile SMARTS is not installed here (no ProgramData/Cleverence)", kind=KIND)
            return
        bases = _bases(root, pc)
        listing = root.first(pc.get("bases_list", ()))
        if listing is not None and listing.stat().st_size <= MAX_LIST:
            copy_file(ctx, listing, f"{self.name}/apps.xml", "ProgramData/Cleverence/apps.xml", KIND)
        since = cutoff(ctx)
        folders = [(f"bases/{safe_component(b.name)}/Logs", b / "Logs") for b in bases]
        folders += [("control-panel/Logs", p) for p in map(root.first, [pc.get("panel_logs", ())]) if p]
        budget = LOG_BUDGET
        for label, folder in folders:
            found, cut = files_below(folder, since)
            for f in sorted(found, key=lambda f: -f.mtime):
                wanted, source = f"{self.name}/{label}/{safe_relpath(f.rel)}", f"{label}/{f.rel}"
                if f.size > budget:
                    ctx.out.skip(wanted, source, f"over the {LOG_BUDGET // 2**20} MiB budget for PC logs",
                                 kind=KIND, status=SKIPPED)
                    continue
                if copy_file(ctx, f.path, wanted, source, KIND):
                    budget -= f.size
            if cut:
                ctx.out.skip(f"{self.name}/{label}/more", label, "more files than listed: cut short", kind=KIND)
        text = json.dumps(summary, indent=2, ensure_ascii=False).encode("utf-8")
        ctx.out.write_bytes(f"{self.name}/summary.json", text, "ProgramData/Cleverence", kind=KIND)
