"""Bundle item ``apps/<package>/facts.json``: what the app profile's ``[[fact]]`` tables found.

The values (the project name from Napoleon's crash.log, say) also go to
``ctx.facts["app_facts"][package]`` as ``{name: {name, value, source}}`` so the ticket can
offer them as defaults the person confirms.
"""

from __future__ import annotations

import json

from tsdtool.apps import facts as app_facts
from tsdtool.apps import profiles as app_profiles
from tsdtool.collectors.base import AppCollector, Context

KIND = "app_facts"


class AppFactsCollector(AppCollector):
    name = "app_facts"
    kind = KIND

    def collect(self, ctx: Context) -> None:
        match = app_profiles.for_package(self.package, ctx.options.get("profile_dirs", ()))
        if not match.profile.facts:
            return  # nothing was asked for, so nothing is missing: no row for the desk to puzzle over
        ctx.progress.start(f"app facts: {self.package}")
        version = next((a.get("version_name") or "" for a in ctx.facts.get("apps", [])
                        if a.get("package") == self.package), "")
        found = app_facts.read_facts(ctx.device, self.package, match.profile, version)
        values = {name: v.to_dict() for name, v in found.items()}
        ctx.facts.setdefault("app_facts", {})[self.package] = values
        data = {"package": self.package, "profile": match.profile.id, "facts": values,
                "declared": sorted({f.name for f in match.profile.facts})}
        text = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8", "backslashreplace")
        ctx.out.write_bytes(f"{self.prefix}facts.json", text, f"app profile {match.profile.id}", kind=KIND)
