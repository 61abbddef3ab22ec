"""Bundle items ``pc/grserver/…``: the GRServer exchange folder GRSoft asks a link to.

GRServer.ini is found by the ``napoleon`` app profile's ``[pc] server_ini`` globs; it is
read like GRServer reads it (ServerConfig::Load, cited in the profile): ``key = value``
lines split at the first ``=``, both trimmed; ``exchangeFolder`` relative to the ini's
folder. The ini is ANSI on Windows (cp1251 on Russian systems). Only ``exchangeFolder`` is
taken from it — it also holds jsLogin/jsPassword — and the ini itself is never attached.

The exchange folder (DBF/TXT files exchanged with 1C) is attached file by file when it is
at most :data:`ATTACH_LIMIT` bytes; a bigger one is recorded with its size and path only,
for the person to share as a link, as GRSoft's support page asks («ссылку на архив каталога
обмена»).
"""

from __future__ import annotations

import json

from tsdtool.apps import profiles as app_profiles
from tsdtool.collectors.base import Collector, Context
from tsdtool.outdir import FAILED, SKIPPED
from tsdtool.paths import safe_relpath
from tsdtool.pc.common import copy_file, files_below, pc_root

KIND = "pc"
ATTACH_LIMIT = 100 * 1024 * 1024
MAX_INI = 256 * 1024


def parse_ini(data: bytes) -> dict[str, str]:
    """GRServer's own reading: ``key = value``, first ``=``, trimmed; later lines win."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251", "replace")
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


class GRServerCollector(Collector):
    name = "pc/grserver"
    kind = KIND
    profile_id = "napoleon"

    def collect(self, ctx: Context) -> None:
        root = pc_root(ctx)
        profile = app_profiles.load_app_profiles(ctx.options.get("profile_dirs", ())).profiles.get(self.profile_id)
        ini = root.first(profile.pc.get("server_ini", ()) if profile else ())
        facts: dict = {"found": ini is not None}
        ctx.facts.setdefault("pc", {})["grserver"] = facts
        if ini is None:
            ctx.out.skip(f"{self.name}/summary.json", str(root.path), "GRServer.ini not found (GRServer not here)",
                         kind=KIND)
            return
        facts["ini"] = ini.relative_to(root.path).as_posix()
        value = parse_ini(ini.read_bytes()[:MAX_INI]).get("exchangeFolder", "")
        facts["exchange_folder"] = value
        folder, why = (root.windows_path(value, base=ini.parent) if value
                       else (None, "no exchangeFolder in GRServer.ini"))
        if folder is None or not folder.is_dir():
            facts["reason"] = why or f"{value}: folder not found"
            ctx.out.skip(f"{self.name}/exchange", facts["ini"], facts["reason"], kind=KIND, status=FAILED)
        else:
            files, cut = files_below(folder)
            total = sum(f.size for f in files)
            facts.update(files=len(files), bytes=total, path=folder.relative_to(root.path).as_posix())
            if total > ATTACH_LIMIT or cut:
                facts["attached"] = False
                facts["reason"] = (f"{total / 2**20:.0f} MiB in {len(files)} files: too big to attach; share a link "
                                   "to an archive of this folder")
                ctx.out.skip(f"{self.name}/exchange", facts["path"], facts["reason"], kind=KIND, status=SKIPPED)
            else:
                facts["attached"] = True
                for f in files:
                    copy_file(ctx, f.path, f"{self.name}/exchange/{safe_relpath(f.rel)}", f"exchange/{f.rel}", KIND)
        text = json.dumps(facts, indent=2, ensure_ascii=False).encode("utf-8")
        ctx.out.write_bytes(f"{self.name}/summary.json", text, facts["ini"], kind=KIND)
