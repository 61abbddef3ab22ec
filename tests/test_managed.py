"""Managed-device context: the parsers, the status of each fact, and `info` end to end."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES
from tsdtool.devices import managed
from tsdtool.devices.profiles import DeviceProfile, EmmAgent
from tsdtool.parsers import dumpsys_activity, dumpsys_device_policy
from tsdtool.transport.types import ShellResult

POLICY = (FIXTURES / "chainway_c66" / "dumpsys_device_policy.txt").read_bytes()
PROFILE_OWNER = b"""Current Device Policy Manager state:
  Immutable state:
    mHasFeature=true
  Profile Owner (User 10):\x20
    admin=ComponentInfo{com.airwatch.androidagent/com.airwatch.agent.DeviceAdministratorReceiver}
    name=
    package=com.airwatch.androidagent
    isOrganizationOwnedDevice=false

  Enabled Device Admins (User 10, provisioningState: 3):
    com.airwatch.androidagent/com.airwatch.agent.DeviceAdministratorReceiver:
      userRestrictions:
        no_debugging_features
"""
DENIED = (b"Permission Denial: can't dump DevicePolicyManagerService from from pid=4321, uid=2000"
          b" due to missing android.permission.DUMP permission\n")


def test_device_owner_and_its_restrictions():
    policy = dumpsys_device_policy.parse(POLICY)
    assert policy.readable and policy.has_feature
    assert policy.device_owner == "net.soti.mobicontrol.androidwork"
    assert policy.profile_owners == {}
    assert policy.restrictions == {"no_factory_reset", "no_safe_boot", "no_add_user"}


def test_profile_owner_is_not_a_device_owner():
    policy = dumpsys_device_policy.parse(PROFILE_OWNER.replace(b"\n", b"\r\n"))
    assert policy.device_owner is None
    assert policy.profile_owners == {10: "com.airwatch.androidagent"}
    assert "no_debugging_features" in policy.restrictions


def test_denied_and_garbage_are_unreadable():
    assert dumpsys_device_policy.parse(DENIED).denied
    assert not dumpsys_device_policy.parse(b"\xff\x00 nothing here").readable


def test_lock_task_state():
    data = (FIXTURES / "chainway_c66" / "dumpsys_activity_activities.txt").read_bytes()
    assert dumpsys_activity.lock_task_state(data) == "LOCKED"
    assert dumpsys_activity.lock_task_state(b"  LockTaskController\n    mLockTaskModeState=NONE\n") == "NONE"
    assert dumpsys_activity.lock_task_state(b"") is None


def _shell(answers: dict[str, bytes]):
    def run(args):
        key = " ".join(args)
        if key not in answers:
            return ShellResult(key, 0, b"", f"Can't find service: {args[1]}\n".encode())
        return ShellResult(key, 0, answers[key])
    return run


AGENTS = [DeviceProfile("generic", "g", FIXTURES, emm_agents=(EmmAgent("com.airwatch.androidagent", "Hub"),))]


def test_every_fact_has_a_status_when_the_shell_is_refused():
    facts = managed.read(_shell({"dumpsys device_policy": DENIED, "dumpsys user": DENIED,
                                 "dumpsys activity activities": DENIED, "pm list packages": b""}), AGENTS)
    assert {k: f.status for k, f in facts.items()} == {
        "device_owner": "unavailable: permission", "profile_owners": "unavailable: permission",
        "lock_task": "unavailable: permission", "debugging_restricted": "unavailable: permission",
        "emm_agents": "ok"}


def test_profile_owner_with_debugging_disallowed():
    listed = b"package:com.airwatch.androidagent\npackage:android\n"
    facts = managed.read(_shell({"dumpsys device_policy": PROFILE_OWNER, "pm list packages": listed}), AGENTS)
    assert facts["device_owner"] == managed.Fact("ok", None)
    assert facts["profile_owners"].value == [{"user": 10, "package": "com.airwatch.androidagent"}]
    assert facts["debugging_restricted"] == managed.Fact("ok", True)
    assert facts["lock_task"].status == "not applicable"
    assert facts["emm_agents"].value == [{"package": "com.airwatch.androidagent", "name": "Hub"}]


def test_info_shows_the_managing_emm(fake_server, tsd):
    srv = fake_server("chainway_c66")
    code, out, err = tsd("-P", srv.port, "info", "--json")
    assert code == 0, err
    assert json.loads(out)["managed"] == {
        "device_owner": {"status": "ok", "value": "net.soti.mobicontrol.androidwork"},
        "profile_owners": {"status": "ok", "value": []},
        "lock_task": {"status": "ok", "value": "LOCKED"},
        "debugging_restricted": {"status": "ok", "value": False},
        "emm_agents": {"status": "ok", "value": [
            {"package": "net.soti.mobicontrol.androidwork",
             "name": "SOTI MobiControl (Android Enterprise)"}]},
    }
    code, out, err = tsd("-P", srv.port, "info")
    assert "net.soti.mobicontrol.androidwork" in out and "LOCKED" in out


def test_unmanaged_terminal_says_none(fake_server, tsd):
    srv = fake_server("emulator")
    code, out, err = tsd("-P", srv.port, "info", "--json")
    facts = json.loads(out)["managed"]
    assert facts["device_owner"] == {"status": "ok", "value": None}
    assert facts["emm_agents"] == {"status": "ok", "value": []}
    assert all(f["status"] for f in facts.values())
