"""Managed-device context: who manages the terminal (EMM), kiosk state, debugging policy.

A support desk must know before anything else whether an EMM owns the terminal: a policy
may switch USB debugging off, a kiosk may hide the app, and the fix may be the EMM
administrator's, not the technician's. :func:`read` answers with one :class:`Fact` per
question; every fact carries a status, never an empty value:

* ``ok`` — the value was read (``None`` then means "none": no device owner);
* ``unavailable: permission`` — the terminal refused the dump to the shell user;
* ``unavailable: <why>`` — the command failed (why in one line);
* ``not applicable`` — the terminal has no such feature (no device-policy service,
  no lock-task state on its release).

Which agent apps count as EMM agents is data: the ``emm_agents`` lists of the fallback
profile and of the matched vendor profile (``device_profiles/*.toml``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tsdtool import errors
from tsdtool.devices.profiles import DeviceProfile, EmmAgent
from tsdtool.parsers import dumpsys_activity, dumpsys_device_policy, pm_list
from tsdtool.transport.types import ShellResult

OK = "ok"
DENIED = "unavailable: permission"
NOT_APPLICABLE = "not applicable"
DEBUGGING_RESTRICTION = "no_debugging_features"  # UserManager.DISALLOW_DEBUGGING_FEATURES

RunShell = Callable[[Sequence[str]], ShellResult]


@dataclass(frozen=True)
class Fact:
    status: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "value": self.value}


def _run(run: RunShell, args: Sequence[str]) -> tuple[bytes | None, Fact | None]:
    """stdout, or the fact that explains why there is none."""
    try:
        result = run(list(args))
    except errors.TsdError as exc:
        return None, Fact(f"unavailable: {exc.one_line()}")
    if dumpsys_device_policy.is_denied(result.stdout + result.stderr):
        return None, Fact(DENIED)
    if b"Can't find service" in result.stderr + result.stdout:
        return None, Fact(NOT_APPLICABLE)
    if not result.ok:
        return None, Fact(f"unavailable: {result.error_text()}")
    return result.stdout, None


Installed = tuple[frozenset[str] | None, Fact | None]  # package names, or why there are none


def installed_packages(run: RunShell) -> Installed:
    """``pm list packages`` once: the names, or the fact that explains why there are none."""
    data, why = _run(run, ["pm", "list", "packages"])
    return (None, why) if why else (frozenset(p.name for p in pm_list.parse(data or b"")), None)


def read(run: RunShell, profiles: Sequence[DeviceProfile], installed: Installed | None = None) -> dict[str, Fact]:
    """Every managed-device fact of one terminal.

    Args:
        run: runs one command on the terminal (argument list; the ADB seam quotes it).
        profiles: the profiles whose ``emm_agents`` count (the fallback and the matched one).
        installed: :func:`installed_packages` when the caller has already listed them.
    """
    facts: dict[str, Fact] = {}
    data, why = _run(run, ["dumpsys", "device_policy"])
    policy = dumpsys_device_policy.parse(data) if data is not None else None
    if policy is None or not policy.readable or policy.has_feature is False:
        no_feature = policy is not None and policy.has_feature is False
        why = why or Fact(NOT_APPLICABLE if no_feature else "unavailable: unreadable dump")
        facts["device_owner"] = facts["profile_owners"] = why
    else:
        facts["device_owner"] = Fact(OK, policy.device_owner)
        owners = [{"user": u, "package": p} for u, p in sorted(policy.profile_owners.items())]
        facts["profile_owners"] = Fact(OK, owners)
    facts["lock_task"] = _lock_task(run)
    facts["debugging_restricted"] = _debugging(run, policy)
    facts["emm_agents"] = _agents(run, [a for p in profiles for a in p.emm_agents], installed)
    return facts


def _lock_task(run: RunShell) -> Fact:
    data, why = _run(run, ["dumpsys", "activity", "activities"])
    if why:
        return why
    state = dumpsys_activity.lock_task_state(data or b"")
    return Fact(OK, state) if state else Fact(NOT_APPLICABLE)


def _debugging(run: RunShell, policy: dumpsys_device_policy.DevicePolicy | None) -> Fact:
    """Whether a policy disallows debugging features (USB debugging may be switched off by it)."""
    found = set(policy.restrictions) if policy and policy.readable else set()
    data, why = _run(run, ["dumpsys", "user"])
    if data is not None:
        found |= dumpsys_device_policy.restrictions(data)
    elif not (policy and policy.readable):
        return why or Fact(NOT_APPLICABLE)
    return Fact(OK, DEBUGGING_RESTRICTION in found)


def _agents(run: RunShell, known: list[EmmAgent], installed: Installed | None) -> Fact:
    if not known:
        return Fact(NOT_APPLICABLE)
    names, why = installed or installed_packages(run)
    if why or names is None:
        return why or Fact(NOT_APPLICABLE)
    seen: dict[str, str] = {}
    for agent in known:
        if agent.package in names:
            seen.setdefault(agent.package, agent.name)
    return Fact(OK, [{"package": p, "name": n} for p, n in seen.items()])


def to_dict(facts: dict[str, Fact]) -> dict[str, dict[str, Any]]:
    return {name: fact.to_dict() for name, fact in facts.items()}
