"""Bundle items ``pc/grserver/…``: the GRServer exchange folder GRSoft asks a link to.

GRServer.ini is found by the ``napoleon`` app profile's ``[pc] server_ini`` globs; it is
read like GRServer reads it (ServerConfig::Load, cited in the profile): ``key = value``
lines split at the first ``=``, both trimmed; ``exchangeFolder`` relative to the ini's
folder. The ini is ANSI on Windows (cp1251 on Russian systems). Only ``exchangeFolder`` is
taken from it — it also holds jsLogin/jsPassword — and the ini itself is never attached.

The exchange folder (DBF/TXT files exchanged with 1C) is attached file by file when it is
at most :data:`ATTACH_LIMIT` bytes — then the bundle holds the archive of the exchange folder
GRSoft's support page asks for («ссылку на архив каталога обмена», ../shared/seeds/001) and
the ticket names it. A bigger one is recorded with its size and Windows path only, and the
reason says what the person still has to do: zip it, upload it, give the link.
"""

from __future__ import annotations

import json

from tsdtool.collectors.base import Collector, Context
from tsdtool.outdir import FAILED, SKIPPED
from tsdtool.paths import safe_relpath
from tsdtool.pc.common import MAX_FILES, LocalFile, copy_file, files_below, pc_root, profile_pc
from tsdtool.pc.root import PcRoot

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


def read_grserver(root: PcRoot, pc: dict) -> tuple[dict, list[LocalFile]]:
    """GRServer's exchange folder on this root, without copying: ``(facts, files to attach)``.
    ``facts["attached"]`` says whether the folder fits :data:`ATTACH_LIMIT` (the files are
    then returned); a folder too big, elsewhere or missing has ``facts["reason"]``."""
    ini = root.first(pc.get("server_ini", ()))
    facts: dict = {"found": ini is not None}
    if ini is None:
        return facts, []
    facts["ini"] = ini.relative_to(root.path).as_posix()
    try:
        with open(ini, "rb") as fh:
            value = parse_ini(fh.read(MAX_INI)).get("exchangeFolder", "")
    except OSError as exc:
        facts["reason"] = f"GRServer.ini: {exc.strerror or exc}"
        return facts, []
    facts["exchange_folder"] = value
    folder, why = (root.windows_path(value, base=ini.parent) if value
                   else (None, "no exchangeFolder in GRServer.ini"))
    if folder is None or not folder.is_dir():
        facts["reason"] = why or f"{value}: folder not found"
        return facts, []
    files, cut = files_below(folder)
    total = sum(f.size for f in files)
    rel = folder.relative_to(root.path).as_posix()
    where = root.drive + "\\" + rel.replace("/", "\\")
    facts.update(files=len(files), bytes=total, path=rel, windows_path=where)
    if total > ATTACH_LIMIT or cut:
        facts["attached"] = False
        facts["reason"] = (f"{total / 2**20:.1f} MiB in {len(files)}{'+' if cut else ''} files, more than tsdtool "
                           f"attaches ({ATTACH_LIMIT / 2**20:g} MiB, {MAX_FILES} files): zip the folder {where}, "
                           "upload the archive and give its link (--field exchange_link=URL)")
        return facts, []
    facts["attached"] = True
    return facts, files


class GRServerCollector(Collector):
    name = "pc/grserver"
    kind = KIND
    profile_id = "napoleon"

    def collect(self, ctx: Context) -> None:
        root = pc_root(ctx)
        facts, files = read_grserver(root, profile_pc(self.profile_id, ctx.options.get("profile_dirs", ())))
        ctx.facts.setdefault("pc", {})["grserver"] = facts
        if not facts["found"]:
            ctx.out.skip(f"{self.name}/summary.json", str(root.path), "GRServer.ini not found (GRServer not here)",
                         kind=KIND)
            return
        if "path" not in facts:
            ctx.out.skip(f"{self.name}/exchange", facts["ini"], facts["reason"], kind=KIND, status=FAILED)
        elif not facts["attached"]:
            ctx.out.skip(f"{self.name}/exchange", facts["windows_path"], facts["reason"], kind=KIND, status=SKIPPED)
        for f in files:
            copy_file(ctx, f.path, f"{self.name}/exchange/{safe_relpath(f.rel)}", f"exchange/{f.rel}", KIND)
        text = json.dumps(facts, indent=2, ensure_ascii=False).encode("utf-8")
        ctx.out.write_bytes(f"{self.name}/summary.json", text, facts["ini"], kind=KIND)
