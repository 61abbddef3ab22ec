"""Bundle item ``pc/1c.json``: the 1C:Enterprise platform versions installed, with their bitness.

Where 1C puts them (1C's administrator guide, "Structure of the installation directory",
support.1ci.com/hc/en-us/articles/360020614899): for the computer ``%PROGRAMFILES%\\1cv8``
(``%PROGRAMFILES(x86)%\\1cv8`` for 32-bit on 64-bit Windows); for one user
``%LOCALAPPDATA%\\Programs\\1cv8``, ``1cv8_x86`` or ``1cv8_x64``; each version in its own
``A.B.C.D`` folder. The launcher's 1cestart.cfg (kb.1ci.com, 8.3.23 Administrator Guide,
3.5 1cestart.cfg: UTF-16LE, ``Parameter=Value`` lines) lives in ``%APPDATA%\\1C\\1CEStart``
and ``%ALLUSERSPROFILE%\\1C\\1CEStart``; its ``InstalledLocation=`` lines name more roots.
The bitness of each version is the PE header of its ``bin\\1cv8s.exe`` (else 1cv8.exe,
1cv8c.exe), see :mod:`tsdtool.pc.pe`. The platform paths are 1C's documented layout, not a
vendor rule, so they stay here rather than in a profile.
"""

from __future__ import annotations

import json
import re

from tsdtool.collectors.base import Collector, Context
from tsdtool.pc import pe
from tsdtool.pc.common import pc_root
from tsdtool.pc.root import PcRoot

KIND = "pc"
ROOTS = ("Program Files/1cv8", "Program Files (x86)/1cv8", "Users/*/AppData/Local/Programs/1cv8",
         "Users/*/AppData/Local/Programs/1cv8_x86", "Users/*/AppData/Local/Programs/1cv8_x64")
CONFIGS = ("ProgramData/1C/1CEStart/1CEStart.cfg", "Users/*/AppData/Roaming/1C/1CEStart/1CEStart.cfg")
EXES = ("bin/1cv8s.exe", "bin/1cv8.exe", "bin/1cv8c.exe")
MAX_CFG = 256 * 1024
_VERSION = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def decode_cfg(data: bytes) -> str:
    """1cestart.cfg is UTF-16LE (with or without BOM); older or hand-made ones may be UTF-8/cp1251."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    if len(data) > 1 and data[1:2] == b"\0":
        return data.decode("utf-16-le", "replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", "replace")


def installed_locations(root: PcRoot) -> list[str]:
    found: list[str] = []
    for pattern in CONFIGS:
        for cfg in root.glob(pattern):
            try:
                text = decode_cfg(cfg.read_bytes()[:MAX_CFG])
            except OSError:
                continue
            for line in text.splitlines():
                key, sep, value = line.partition("=")
                if sep and key.strip().lower() == "installedlocation" and value.strip():
                    found.append(value.strip())
    return found


def read_onec(root: PcRoot) -> dict:
    folders = [p for pattern in ROOTS for p in root.glob(pattern)]
    notes = []
    for location in installed_locations(root):
        path, why = root.windows_path(location)
        if path is None:
            notes.append(why)
        elif path.is_dir() and path not in folders:
            folders.append(path)
    versions = []
    for folder in folders:
        for entry in sorted(folder.iterdir(), key=lambda p: p.name) if folder.is_dir() else []:
            if not (entry.is_dir() and _VERSION.match(entry.name)):
                continue
            exe = next((entry / e for e in EXES if (entry / e).is_file()), None)
            bits = pe.bitness(exe) if exe is not None else ""
            versions.append({"version": entry.name, "bitness": bits or "unknown",
                             "folder": entry.relative_to(root.path).as_posix(),
                             "bitness_source": exe.name if exe is not None and bits else "no bin\\1cv8*.exe"})
    return {"versions": versions, "notes": notes}


class OneCCollector(Collector):
    name = "pc/1c.json"
    kind = KIND

    def collect(self, ctx: Context) -> None:
        root = pc_root(ctx)
        facts = read_onec(root)
        ctx.facts.setdefault("pc", {})["onec"] = facts
        if not facts["versions"]:
            ctx.out.skip(self.name, str(root.path), "no 1C:Enterprise platform found (1cv8 folders, 1CEStart.cfg)",
                         kind=KIND)
            return
        data = json.dumps(facts, indent=2, ensure_ascii=False).encode("utf-8")
        ctx.out.write_bytes(self.name, data, "1cv8 folders", kind=KIND)
