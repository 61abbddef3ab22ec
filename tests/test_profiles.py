"""Profile files: loading, overriding, problems as ``file:key: problem``, matching, facts."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

from tsdtool import profile_files
from tsdtool.devices import loggers as logger_decl
from tsdtool.devices import profiles
from tsdtool.errors import DeviceTimeout
from tsdtool.transport.types import ShellResult

SHIPPED = profile_files.builtin_dir("device_profiles")

ACME = """\
id = "acme"
kind = "device"
name = "Acme Rugged"
usb_vendor_ids = ["abcd"]

[[match]]
props = ["ro.product.manufacturer", "ro.product.vendor.manufacturer"]
regex = "^Acme"

[[match]]
props = ["ro.product.model"]
regex = "^AC\\\\d$"

[[fact]]
name = "scanner_fw"
label = "Scanner firmware"
props = ["ro.acme.scanner", "persist.acme.scanner"]

[[fact]]
name = "kernel_short"
label = "Kernel"
shell = ["cat", "/proc/version"]
regex = "Linux version (\\\\d+\\\\.\\\\d+)"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def messages(paths: Sequence[Path]) -> list[str]:
    return [str(p) for p in profiles.check(paths)]


# ------------------------------------------------------------------ shipped set


def test_shipped_profiles_are_clean():
    assert profiles.check([SHIPPED]) == []
    loaded = profiles.load_device_profiles(include_user_dir=False)
    assert loaded.problems == [] and loaded.warnings == []
    assert loaded.fallback.id == "generic"
    expected = {
        "zebra",
        "honeywell",
        "urovo",
        "datalogic",
        "newland",
        "chainway",
        "pointmobile",
        "cipherlab",
        "unitech",
        "m3mobile",
        "sunmi",
        "idata",
        "seuic",
        "bluebird",
        "keyence",
        "denso",
        "casio",
        "kaicom",
        "cilico",
        "mindeo",
        "generic",
        "emulator",
    }
    assert set(loaded.profiles) == expected
    assert {f.name for f in loaded.standard} >= {
        "model",
        "android_release",
        "sdk",
        "build_id",
        "fingerprint",
        "security_patch",
    }


def test_only_real_usb_vendor_ids_are_shipped():
    loaded = profiles.load_device_profiles(include_user_dir=False)
    ids = {p.id: p.usb_vendor_ids for p in loaded.profiles.values() if p.usb_vendor_ids}
    assert ids == {
        "zebra": ("05e0",),
        "honeywell": ("0c2e",),
        "pointmobile": ("2a48",),
        "unitech": ("2e8e",),
        "datalogic": ("05f9", "080c"),
    }


# --------------------------------------------------------------------- problems


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('name = "X"\n[[match]]\nprops = ["ro.a"]\nregex = "(unclosed"\n', "match[0].regex", "bad regex"),
        ('name = "X"\n', "match", "missing: at least one [[match]] rule"),
        (
            'name = "X"\nusb_vendor_ids = ["5e0"]\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n',
            "usb_vendor_ids[0]",
            "'5e0' is not 4 hex digits",
        ),
        ('name = "X"\n[[match]]\nprops = "ro.a"\nregex = "a"\n', "match[0].props", "non-empty list"),
        ('name = "X"\n[[match]]\nprops = []\nregex = "a"\n', "match[0].props", "non-empty list"),
        ('name = "X"\ncolour = "red"\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n', "colour", "unknown key"),
        (
            'name = "X"\n[[match]]\nprops = ["ro.a"]\nregex = "a"\nflags = "i"\n',
            "match[0].flags",
            "unknown key",
        ),
        (
            'name = "X"\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n'
            '[[fact]]\nname = "fw"\nlabel = "F"\nprops = ["ro.b"]\n'
            '[[fact]]\nname = "fw"\nlabel = "F2"\nprops = ["ro.c"]\n',
            "fact[1].name",
            "duplicate fact name 'fw'",
        ),
        (
            'name = "X"\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n'
            '[[fact]]\nname = "Firmware"\nlabel = "F"\nprops = ["ro.b"]\n',
            "fact[0].name",
            "not a snake_case name",
        ),
        (
            'name = "X"\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n'
            '[[fact]]\nname = "fw"\nlabel = "F"\nprops = ["ro.b"]\nshell = ["id"]\n',
            "fact[0]",
            "exactly one source",
        ),
        (
            'name = "X"\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n'
            '[[fact]]\nname = "fw"\nlabel = "F"\nshell = "cat /x"\n',
            "fact[0].shell",
            "non-empty list",
        ),
        (
            'name = "X"\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n'
            '[[fact]]\nname = "fw"\nlabel = "F"\nshell = ["cat", 3]\n',
            "fact[0].shell",
            "only non-empty strings",
        ),
        (
            'name = "X"\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n[[standard]]\nname = "m"\nlabel = "M"\n'
            'props = ["ro.product.model"]\n',
            "standard",
            "only the fallback profile",
        ),
        ('[[match]]\nprops = ["ro.a"]\nregex = "a"\n', "name", "missing"),
    ],
)
def test_wrong_profile_reports_file_key_problem(tmp_path, text, key, message):
    path = write(tmp_path, "bad.toml", 'kind = "device"\n' + text)
    found = messages([tmp_path])
    assert any(m.startswith(f"{path}:{key}: ") and message in m for m in found), found


def test_unreadable_and_wrong_kind(tmp_path):
    broken = write(tmp_path, "broken.toml", 'id = "x"\nkind = \n')
    app = write(tmp_path, "app.toml", 'kind = "app"\nname = "An app profile"\n')
    printer = write(tmp_path, "printer.toml", 'kind = "printer"\nname = "Not a profile kind"\n')
    found = messages([tmp_path])
    assert any(m.startswith(f"{broken}: cannot read: ") for m in found), found
    assert f"{printer}:kind: must be \"device\" (got 'printer')" in found
    # a --profiles-dir may hold every kind: another known kind's file is not a device problem
    assert not any(m.startswith(str(app)) for m in found), found


def test_id_from_file_name_must_be_valid(tmp_path):
    path = write(tmp_path, "My Zebra.toml", ACME.replace('id = "acme"\n', ""))
    [message] = messages([tmp_path])
    assert message.startswith(f"{path}:id: must be lower-case letters")
    assert message.endswith('(taken from the file name; set id = "...")')
    path.rename(tmp_path / "acme2.toml")
    assert profiles.load_device_profiles([tmp_path]).profiles["acme2"].name == "Acme Rugged"


def test_duplicate_id_in_one_folder(tmp_path):
    write(tmp_path, "a.toml", ACME)
    second = write(tmp_path, "b.toml", ACME)
    assert messages([tmp_path]) == [f"{second}:id: 'acme' is also the id of a.toml"]


def test_identical_rules_are_a_tie(tmp_path):
    write(tmp_path, "acme.toml", ACME)
    twin = write(tmp_path, "twin.toml", ACME.replace('id = "acme"', 'id = "twin"'))
    assert messages([tmp_path]) == [f"{twin}:match: same rules as profile 'acme': always a tie"]


# ----------------------------------------------------------- folders, overrides


def test_empty_drop_in_dir_changes_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    base = profiles.load_device_profiles(include_user_dir=False)
    with_empty = profiles.load_device_profiles([tmp_path / "empty", tmp_path / "missing"])
    assert with_empty == base


def test_user_profile_overrides_shipped_by_id(tmp_path):
    user_zebra = ACME.replace('id = "acme"', 'id = "zebra"').replace("Acme Rugged", "Zebra (site rules)")
    write(profile_files.user_dir("device"), "my-zebra.toml", user_zebra)  # XDG_CONFIG_HOME is a tmp dir
    loaded = profiles.load_device_profiles()
    assert loaded.profiles["zebra"].name == "Zebra (site rules)"
    assert loaded.profiles["zebra"].path.name == "my-zebra.toml"
    # and --profiles-dir outranks the user folder
    write(tmp_path / "cli", "z.toml", user_zebra.replace("Zebra (site rules)", "Zebra (from --profiles-dir)"))
    assert (
        profiles.load_device_profiles([tmp_path / "cli"]).profiles["zebra"].name
        == "Zebra (from --profiles-dir)"
    )


def test_broken_user_profile_is_skipped_with_one_warning(tmp_path):
    write(tmp_path, "acme.toml", ACME)
    bad = write(
        tmp_path,
        "bad.toml",
        'kind = "device"\nname = "Bad"\nusb_vendor_ids = ["xyz"]\n[[match]]\nprops = ["ro.a"]\nregex = "("\n',
    )
    loaded = profiles.load_device_profiles([tmp_path])
    assert "acme" in loaded.profiles and "bad" not in loaded.profiles and "zebra" in loaded.profiles
    assert len(loaded.warnings) == 1
    assert loaded.warnings[0].startswith(f"{bad}: skipped — match[0].regex: bad regex")
    assert loaded.warnings[0].endswith("(and 1 more)")
    assert len(loaded.problems) == 2


# --------------------------------------------------------------------- matching


def acme_set(tmp_path: Path) -> profiles.ProfileSet:
    write(tmp_path / "extra", "acme.toml", ACME)
    return profiles.load_device_profiles([tmp_path / "extra"], include_user_dir=False)


def test_match_explains_and_scores(tmp_path):
    profile_set = acme_set(tmp_path)
    props = {"ro.product.vendor.manufacturer": "Acme Inc.", "ro.product.model": "AC5"}
    found = profiles.match(profile_set, props)
    assert (found.profile.id, found.score) == ("acme", 2)
    assert found.rule == "ro.product.vendor.manufacturer ~ /^Acme/ and ro.product.model ~ /^AC\\d$/"
    assert profiles.match(profile_set, props, usb_vendor_id="ABCD").score == 3


def test_first_present_property_decides(tmp_path):
    # the classic key is present and says something else: no fallback to the vendor copy
    props = {"ro.product.manufacturer": "Other", "ro.product.vendor.manufacturer": "Acme"}
    assert profiles.match(acme_set(tmp_path), props).profile.id == "generic"


def test_no_match_falls_back_to_generic(tmp_path):
    found = profiles.match(acme_set(tmp_path), {"ro.product.manufacturer": "samsung"})
    assert (found.profile.id, found.score, found.rule) == ("generic", 0, "no vendor profile matched")


def test_runtime_tie_is_reported_not_raised(tmp_path):
    write(tmp_path / "extra", "acme.toml", ACME)
    write(tmp_path / "extra", "twin.toml", ACME.replace('id = "acme"', 'id = "twin"'))
    profile_set = profiles.load_device_profiles([tmp_path / "extra"], include_user_dir=False)
    found = profiles.match(profile_set, {"ro.product.manufacturer": "Acme"})
    assert found.profile.id == "generic" and found.ties == ("acme", "twin")
    assert "tie between acme, twin" in found.rule


# ------------------------------------------------------------------------ facts


def shell_answering(answers: dict[str, ShellResult | Exception]):
    calls = []

    def run_shell(argv: Sequence[str]) -> ShellResult:
        calls.append(list(argv))
        answer = answers[" ".join(argv)]
        if isinstance(answer, Exception):
            raise answer
        return answer

    run_shell.calls = calls  # type: ignore[attr-defined]
    return run_shell


PROC_VERSION = b"Linux version 4.19.157-perf+ (builder@host) (clang version 12.0.5) #1 SMP PREEMPT\n"


def test_read_facts_props_and_shell(tmp_path):
    acme = acme_set(tmp_path).profiles["acme"]
    run = shell_answering({"cat /proc/version": ShellResult("cat /proc/version", 0, PROC_VERSION)})
    facts = profiles.read_facts(acme, {"persist.acme.scanner": "SE4750 v2"}, run)
    assert facts["scanner_fw"] == profiles.FactValue("SE4750 v2", "persist.acme.scanner", "ok")
    assert facts["kernel_short"] == profiles.FactValue("4.19", "shell: cat /proc/version", "ok")
    assert run.calls == [["cat", "/proc/version"]]  # a list: the seam does the quoting


def test_read_facts_missing_and_failed(tmp_path):
    acme = acme_set(tmp_path).profiles["acme"]
    denied = ShellResult("cat /proc/version", 1, b"", b"cat: /proc/version: Permission denied\n")
    facts = profiles.read_facts(acme, {}, shell_answering({"cat /proc/version": denied}))
    assert facts["scanner_fw"] == profiles.FactValue(None, "ro.acme.scanner, persist.acme.scanner", "missing")
    assert facts["kernel_short"].status == "failed"
    assert facts["kernel_short"].detail == "cat: /proc/version: Permission denied"
    timeout = shell_answering({"cat /proc/version": DeviceTimeout("no answer in 10 s")})
    assert profiles.read_facts(acme, {}, timeout)["kernel_short"].status == "failed"
    garbage = shell_answering({"cat /proc/version": ShellResult("cat", 0, b"\xff\xfe nothing")})
    assert profiles.read_facts(acme, {}, garbage)["kernel_short"].status == "missing"


def test_standard_facts_use_partition_fallbacks():
    profile_set = profiles.load_device_profiles(include_user_dir=False)
    props = {"ro.product.vendor.model": "helios", "ro.system.build.id": "14-32-12.00-UG-U00-STD-HEL-04"}
    run = shell_answering({"cat /proc/version": ShellResult("cat /proc/version", 0, PROC_VERSION)})
    facts = profiles.read_standard(profile_set, props, run)
    assert facts["model"] == profiles.FactValue("helios", "ro.product.vendor.model", "ok")
    assert facts["build_id"].value == "14-32-12.00-UG-U00-STD-HEL-04"
    assert facts["kernel"].value == "4.19.157-perf+"
    assert facts["fingerprint"].status == "missing"


# ----------------------------------------------- match() in memory: the order profiles load in


def _rule(prop: str, regex: str) -> profiles.Rule:
    return profiles.Rule((prop,), regex, re.compile(regex))


def _profile(pid: str, *rules: profiles.Rule, usb: tuple[str, ...] = (), fallback: bool = False):
    return profiles.DeviceProfile(pid, pid.title(), Path(f"{pid}.toml"), rules=rules, usb_vendor_ids=usb,
                                  fallback=fallback)


GENERIC = _profile("generic", fallback=True)
STRONG = _profile("strong", _rule("ro.a", "^A"), _rule("ro.b", "^B"))
WEAK = _profile("weak", _rule("ro.c", "^C"), usb=("05e0",))
PROPS = {"ro.a": "Acme", "ro.b": "Bravo", "ro.c": "Charlie"}


def _seen(found: profiles.Match) -> tuple:
    return found.profile.id, found.rule, found.score, found.ties


@pytest.mark.parametrize("order", [(GENERIC, STRONG, WEAK), (WEAK, STRONG, GENERIC), (STRONG, WEAK, GENERIC)])
def test_match_gives_the_winners_own_reasons_whatever_the_load_order(order):
    profile_set = profiles.ProfileSet({p.id: p for p in order})
    assert _seen(profiles.match(profile_set, PROPS)) == ("strong", "ro.a ~ /^A/ and ro.b ~ /^B/", 2, ())
    # the USB id lifts the weak one to a tie: named in id order, answered by the fallback
    for props, usb in ((PROPS, "05E0"), ({"ro.a": "Acme", "ro.c": "Charlie"}, None)):
        tie = profiles.match(profile_set, props, usb_vendor_id=usb)
        assert (tie.profile.id, tie.score, tie.ties) == ("generic", 0, ("strong", "weak"))
        assert tie.rule.startswith("tie between strong, weak (")
    only_weak = profiles.match(profile_set, {"ro.c": "Charlie"}, usb_vendor_id="05E0")
    assert _seen(only_weak) == ("weak", "ro.c ~ /^C/ and usb vendor id 05e0", 2, ())
    assert _seen(profiles.match(profile_set, {}, usb_vendor_id="05e0")) == ("weak", "usb vendor id 05e0", 1, ())
    assert _seen(profiles.match(profile_set, {"ro.x": "y"}, "1234")) == ("generic", "no vendor profile matched", 0, ())
    # and the evidence behind each answer (rules built in memory default to strong)
    clues = (profiles.Evidence("strong", "ro.a", "Acme", "^A"), profiles.Evidence("strong", "ro.b", "Bravo", "^B"))
    assert profiles.match(profile_set, PROPS).evidence == clues
    usb = profiles.Evidence("strong", "usb vendor id", "05e0")
    charlie = profiles.Evidence("strong", "ro.c", "Charlie", "^C")
    assert (only_weak.confidence, only_weak.evidence) == ("strong", (charlie, usb))
    assert profiles.match(profile_set, {"ro.x": "y"}, "1234").confidence is None


def test_the_fallback_never_scores_and_a_set_without_one_has_a_bare_generic():
    ruled_fallback = _profile("generic", _rule("ro.a", "^A"), fallback=True)
    profile_set = profiles.ProfileSet({"generic": ruled_fallback})
    assert _seen(profiles.match(profile_set, PROPS)) == ("generic", "no vendor profile matched", 0, ())
    bare = profiles.ProfileSet({"strong": STRONG}).fallback
    assert (bare.id, bare.name, bare.fallback, str(bare.path)) == ("generic", "Android device", True, "<built-in>")
    assert profiles.ProfileSet({"strong": STRONG}).standard == ()


@pytest.mark.parametrize(
    ("props", "why"),
    [
        ({"ro.a": "Acme"}, "ro.a ~ /^A/"),
        ({"ro.a": "", "ro.a2": "Acme"}, "ro.a2 ~ /^A/"),  # empty counts as not reported
        ({"ro.a": "Other", "ro.a2": "Acme"}, None),  # the first one reported decides
        ({"ro.a2": "xAcme"}, None),
        ({}, None),
    ],
)
def test_a_rule_is_decided_by_the_first_property_reported(props, why):
    rule = profiles.Rule(("ro.a", "ro.a2"), "^A", re.compile("^A"))
    assert rule.explain(props) == why


@pytest.mark.parametrize(
    ("regex", "text", "value"),
    [
        (None, "  v1.2 \n", "v1.2"),
        (None, " \n", None),
        (r"version (?P<value>\S+) build", "version 4.19 build 7", "4.19"),
        (r"(\d+)\.(\d+)", "v 4.19", "4"),
        (r"\d+\.\d+", "v 4.19", "4.19"),
        (r"x(\d)", "no match", None),
    ],
)
def test_extract(regex, text, value):
    assert profiles._extract(regex, text) == value


def test_a_fact_reads_the_first_reported_property_and_says_which():
    fact = profiles.Fact("fw", "Firmware", props=("ro.a", "ro.b"), regex=r"v(\d+)")
    run = shell_answering({})
    assert profiles._read(fact, {"ro.a": "", "ro.b": "v7"}, run) == profiles.FactValue("7", "ro.b", "ok")
    assert profiles._read(fact, {"ro.a": "none"}, run) == profiles.FactValue(None, "ro.a", "missing")
    assert profiles._read(fact, {}, run) == profiles.FactValue(None, "ro.a, ro.b", "missing")
    assert run.calls == []


def test_check_names_the_profile_a_file_ties_with(tmp_path):
    write(tmp_path / "d", "acme.toml", ACME)
    write(tmp_path / "d", "twin.toml", ACME.replace('id = "acme"', 'id = "twin"'))
    write(tmp_path / "d", "other.toml", ACME.replace('id = "acme"', 'id = "other"').replace("^Acme", "^Other"))
    found = [(Path(p.file).name, p.key, p.message) for p in profiles.check([tmp_path / "d"])
             if p.key == "match"]
    assert found == [("twin.toml", "match", "same rules as profile 'acme': always a tie")]


# -- weak evidence set aside, packages, order of evidence, what match() reports ----------------

def _set(*tables: dict) -> profiles.ProfileSet:
    """Profiles built from tables (as the TOML files hold them), in the order given."""
    built = [profiles._build({"kind": "device", "name": t["id"].title() + " Corp", **t}, Path(f"{t['id']}.toml"))
             for t in tables]
    return profiles.ProfileSet({p.id: p for p in built})


T_GENERIC = {"id": "generic", "fallback": True, "consumer_manufacturers": ["CUBOT", "Xiaomi"]}
T_ACME = {"id": "acme", "usb_vendor_ids": ["ABCD"], "packages": ["com.acme.scan"],
        "match": [{"props": ["ro.product.manufacturer"], "regex": "^Acme"},
                  {"props": ["ro.product.model"], "regex": "^AC\\d$"},
                  {"props": ["ro.product.device"], "regex": "^acx"}]}
T_BETA = {"id": "beta", "match": [{"props": ["ro.product.manufacturer"], "regex": "^Beta"}]}
T_GAMMA = {"id": "gamma", "match": [{"props": ["ro.product.device"], "regex": "^gx"}]}
T_DELTA = {"id": "delta", "match": [{"props": ["ro.delta.version"], "regex": "."}]}  # a vendor-only key: strong
VENDORS = _set(T_GENERIC, T_ACME, T_BETA, T_GAMMA, T_DELTA)


def test_weak_evidence_is_set_aside_when_the_terminal_names_another_company():
    found = profiles.match(VENDORS, {"ro.product.manufacturer": "Beta", "ro.product.model": "AC1"})
    assert (found.profile.id, found.rule, found.score, found.confidence, found.ties) == (
        "beta", "ro.product.manufacturer ~ /^Beta/", 1, "strong", ())
    assert found.evidence == (profiles.Evidence("strong", "ro.product.manufacturer", "Beta", "^Beta"),)
    assert found.rejected == ("acme: AC1 set aside, manufacturer 'Beta' names Beta Corp",)


@pytest.mark.parametrize(("props", "why"), [
    ({"ro.product.manufacturer": "CUBOT"}, "manufacturer 'CUBOT' is a consumer device maker"),
    ({"ro.product.vendor.manufacturer": " cubot "}, "manufacturer ' cubot ' is a consumer device maker"),
    ({"ro.product.manufacturer": " ", "ro.product.system.brand": "Xiaomi"},
     "brand 'Xiaomi' is a consumer device maker"),
])
def test_weak_evidence_is_set_aside_for_a_consumer_maker(props, why):
    found = profiles.match(VENDORS, {**props, "ro.product.model": "AC1"})
    assert (found.profile.id, found.rule, found.score, found.confidence) == (
        "generic", "no vendor profile matched", 0, None)
    assert found.rejected == (f"acme: AC1 set aside, {why}",)


def test_weak_evidence_alone_decides_without_a_named_company_and_two_weak_ones_tie():
    found = profiles.match(VENDORS, {"ro.product.manufacturer": "Unknown", "ro.product.model": "AC1"})
    assert (found.profile.id, found.confidence, found.rejected) == ("acme", "weak", ())
    tie = profiles.match(VENDORS, {"ro.product.model": "AC1", "ro.product.device": "gx5"})
    assert (tie.profile.id, tie.rule, tie.score, tie.ties, tie.rejected) == (
        "generic", "tie between acme, gamma (1 rules each): a profile error", 0, ("acme", "gamma"), ())


def test_a_vendor_package_is_strong_evidence_only_when_the_listing_has_it():
    found = profiles.match(VENDORS, {}, packages=["com.other", "com.acme.scan"])
    assert (found.profile.id, found.rule, found.confidence) == ("acme", "package com.acme.scan", "strong")
    assert found.evidence == (profiles.Evidence("strong", "package", "com.acme.scan"),)
    assert profiles.match(VENDORS, {}, packages=["com.other"]).profile.id == "generic"
    assert profiles.match(VENDORS, {}, packages=None).profile.id == "generic"


def test_strong_evidence_comes_first_and_match_as_a_dict():
    found = profiles.match(VENDORS, {"ro.product.model": "AC1"}, usb_vendor_id="ABCD")
    assert found.rule == "usb vendor id abcd and ro.product.model ~ /^AC\\d$/"
    assert found.to_dict() == {
        "profile": "acme", "confidence": "strong", "rejected": [], "ties": [],
        "evidence": [{"strength": "strong", "source": "usb vendor id", "value": "abcd", "rule": ""},
                     {"strength": "weak", "source": "ro.product.model", "value": "AC1", "rule": "^AC\\d$"}],
    }
    aside = profiles.match(VENDORS, {"ro.product.manufacturer": "CUBOT", "ro.product.model": "AC1"})
    assert aside.to_dict() == {"profile": "generic", "confidence": None, "evidence": [], "ties": [],
                               "rejected": ["acme: AC1 set aside, manufacturer 'CUBOT' is a consumer device maker"]}


@pytest.mark.parametrize(("rule", "strength"), [
    ({"props": ["ro.product.manufacturer"], "strength": "weak"}, "weak"),  # declared wins
    ({"props": ["ro.product.model"], "strength": "strong"}, "strong"),
    ({"props": ["ro.product.model", "ro.product.vendor.device", "ro.product.name"]}, "weak"),
    ({"props": ["ro.product.model", "ro.product.manufacturer"]}, "strong"),
])
def test_a_rules_strength_is_declared_or_weak_on_product_keys_only(rule, strength):
    assert profiles._strength(rule) == strength


def test_every_weak_value_set_aside_is_named_and_a_tie_keeps_what_was_set_aside():
    props = {"ro.product.manufacturer": "Beta", "ro.product.model": "AC1", "ro.product.device": "acx1"}
    aside = ("acme: AC1, acx1 set aside, manufacturer 'Beta' names Beta Corp",)
    assert profiles.match(VENDORS, props).rejected == aside
    tie = profiles.match(VENDORS, props | {"ro.delta.version": "2"})
    assert (tie.profile.id, tie.ties) == ("generic", ("beta", "delta"))
    assert tie.rejected == aside


# -- validate(), one broken table at a time: the exact problems (issue #17, mutation testing) -----

RULE = {"props": ["ro.a"], "regex": "a"}
BASE = {"id": "x", "kind": "device", "name": "X", "match": [RULE]}
FALLBACK = {"id": "generic", "kind": "device", "name": "Android device", "fallback": True}
FACT = {"name": "fw", "label": "Firmware", "props": ["ro.fw"]}
AGENT = {"package": "com.acme.mdm", "name": "Acme MDM"}
DROP = object()  # a key to take out of the base table


def _bad_regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as error:
        return f"bad regex: {error}"
    raise AssertionError(text)


def _table(base: dict, change: dict) -> dict:
    def drop(value):
        if isinstance(value, dict):
            return {k: drop(v) for k, v in value.items() if v is not DROP}
        return [drop(v) for v in value] if isinstance(value, list) else value

    return drop({**base, **change})


VALIDATE_CASES = [
    # the baselines: a vendor and a fallback without problems
    (BASE, {}, []),
    (FALLBACK, {}, []),
    (FALLBACK, {"match": []}, []),
    (BASE, {"fallback": False}, []),
    # [[match]] and fallback
    (FALLBACK, {"match": [RULE]}, [("match", "the fallback profile matches everything: no rules")]),
    (BASE, {"match": DROP}, [("match", "missing: at least one [[match]] rule")]),
    (BASE, {"match": []}, [("match", "missing: at least one [[match]] rule")]),
    (BASE, {"match": RULE}, [("match", "must be an array of tables: [[match]]")]),
    (FALLBACK, {"match": "x"}, [("match", "the fallback profile matches everything: no rules"),
                                ("match", "must be an array of tables: [[match]]")]),
    (BASE, {"fallback": "yes"}, [("fallback", "must be true or false")]),
    (BASE, {"fallback": 1, "match": DROP}, [("fallback", "must be true or false"),
                                             ("match", "missing: at least one [[match]] rule")]),
    # one rule
    (BASE, {"match": [RULE, "x"]}, [("match[1]", "must be a table with props and regex")]),
    (BASE, {"match": [{**RULE, "flags": "i", "why": "?"}]},
     [("match[0].flags", "unknown key"), ("match[0].why", "unknown key")]),
    (BASE, {"match": [{**RULE, "strength": "weak"}, {**RULE, "strength": "strong"}]}, []),
    (BASE, {"match": [RULE, {**RULE, "strength": "medium"}]}, [("match[1].strength", 'must be "strong" or "weak"')]),
    (BASE, {"match": [{"regex": "a"}]}, [("match[0].props", "must be a non-empty list of property names")]),
    (BASE, {"match": [{**RULE, "props": []}]}, [("match[0].props", "must be a non-empty list of property names")]),
    (BASE, {"match": [{**RULE, "props": "ro.a"}]}, [("match[0].props", "must be a non-empty list of property names")]),
    (BASE, {"match": [{**RULE, "props": ["ro.a", " "]}]},
     [("match[0].props", "must hold only non-empty strings (property names)")]),
    (BASE, {"match": [{**RULE, "props": [3]}]},
     [("match[0].props", "must hold only non-empty strings (property names)")]),
    (BASE, {"match": [{"props": ["ro.a"]}]}, [("match[0].regex", "missing")]),
    (BASE, {"match": [{**RULE, "regex": 3}]}, [("match[0].regex", "must be a string")]),
    (BASE, {"match": [{**RULE, "regex": "(a"}]}, [("match[0].regex", _bad_regex("(a"))]),
    (BASE, {"match": [{"flags": "i"}]}, [("match[0].flags", "unknown key"),
                                         ("match[0].props", "must be a non-empty list of property names"),
                                         ("match[0].regex", "missing")]),
    # usb_vendor_ids
    (BASE, {"usb_vendor_ids": ["05e0", "ABCD"]}, []),
    (BASE, {"usb_vendor_ids": "05e0"}, [("usb_vendor_ids", 'must be a list such as ["05e0"]')]),
    (BASE, {"usb_vendor_ids": ["05e0", "5e0", "05e00", "05g0", 1504]},
     [("usb_vendor_ids[1]", "'5e0' is not 4 hex digits"), ("usb_vendor_ids[2]", "'05e00' is not 4 hex digits"),
      ("usb_vendor_ids[3]", "'05g0' is not 4 hex digits"), ("usb_vendor_ids[4]", "1504 is not 4 hex digits")]),
    # only the fallback: standard facts, consumer makers
    (BASE, {"standard": [FACT]}, [("standard", "only the fallback profile declares standard facts")]),
    (FALLBACK, {"standard": [FACT], "consumer_manufacturers": ["CUBOT", "A", "Brondi Glory"]}, []),
    (BASE, {"consumer_manufacturers": ["CUBOT"]},
     [("consumer_manufacturers", "only the fallback profile lists consumer makers")]),
    (FALLBACK, {"consumer_manufacturers": ["CUBOT", " CUBOT", "x ", "", 7]},
     [("consumer_manufacturers[1]", "' CUBOT' is not a name"), ("consumer_manufacturers[2]", "'x ' is not a name"),
      ("consumer_manufacturers[3]", "'' is not a name"), ("consumer_manufacturers[4]", "7 is not a name")]),
    (FALLBACK, {"consumer_manufacturers": "CUBOT"}, [("consumer_manufacturers", "must be a list of strings")]),
    # `$` also matches before a final newline: these must not pass (a TOML "\n" escape)
    (BASE, {"usb_vendor_ids": ["05e0\n"], "packages": ["com.acme\n"], "emm_agents": [{**AGENT, "package": "a.b\n"}]},
     [("usb_vendor_ids[0]", "'05e0\\n' is not 4 hex digits"), ("packages[0]", "'com.acme\\n' is not a package name"),
      ("emm_agents[0].package", "'a.b\\n' is not a package name")]),
    (FALLBACK, {"consumer_manufacturers": ["CUBOT\n"]}, [("consumer_manufacturers[0]", "'CUBOT\\n' is not a name")]),
    # packages
    (BASE, {"packages": ["com.acme.scan", "a.b"]}, []),
    (BASE, {"packages": "com.acme.scan"}, [("packages", "must be a list of strings")]),
    (BASE, {"packages": ["com.acme", "acme", "1com.acme", "com..acme", 3]},
     [("packages[1]", "'acme' is not a package name"), ("packages[2]", "'1com.acme' is not a package name"),
      ("packages[3]", "'com..acme' is not a package name"), ("packages[4]", "3 is not a package name")]),
    # [[fact]] and [[standard]]
    (BASE, {"fact": [FACT, {**FACT, "name": "kernel", "props": DROP, "shell": ["cat", "/proc/version"],
                            "regex": r"Linux version (\S+)"}]}, []),
    (BASE, {"fact": FACT}, [("fact", "must be an array of tables: [[fact]]")]),
    (BASE, {"fact": [FACT, FACT]}, [("fact[1].name", "duplicate fact name 'fw'")]),
    (BASE, {"fact": [{**FACT, "label": " ", "colour": "red"}]},
     [("fact[0].colour", "unknown key"), ("fact[0].label", "missing: the label shown to people")]),
    (BASE, {"fact": [{**FACT, "label": 3, "props": DROP, "shell": ["id"], "regex": "("}]},
     [("fact[0].label", "missing: the label shown to people"), ("fact[0].regex", _bad_regex("("))]),
    (BASE, {"fact": [{**FACT, "shell": ["id"]}]},
     [("fact[0]", "needs exactly one source: props = [...] or shell = [...]")]),
    (BASE, {"fact": [{**FACT, "props": DROP}]},
     [("fact[0]", "needs exactly one source: props = [...] or shell = [...]")]),
    (BASE, {"fact": [{**FACT, "props": []}]}, [("fact[0].props", "must be a non-empty list of property names")]),
    (BASE, {"fact": [{**FACT, "props": ["ro.a", ""]}]},
     [("fact[0].props", "must hold only non-empty strings (property names)")]),
    (BASE, {"fact": [{**FACT, "props": DROP, "shell": "cat /x"}]},
     [("fact[0].shell", "must be a non-empty list of command arguments")]),
    (BASE, {"fact": [{**FACT, "props": DROP, "shell": ["cat", 3]}]},
     [("fact[0].shell", "must hold only non-empty strings (command arguments)")]),
    (BASE, {"fact": [{**FACT, "regex": 3}]}, [("fact[0].regex", "must be a string")]),
    (BASE, {"fact": [{**FACT, "regex": "x("}]}, [("fact[0].regex", _bad_regex("x("))]),
    (BASE, {"fact": [{**FACT, "props": DROP, "regex": "("}]},
     [("fact[0]", "needs exactly one source: props = [...] or shell = [...]"), ("fact[0].regex", _bad_regex("("))]),
    (FALLBACK, {"standard": [FACT], "fact": [FACT]}, []),  # a name is unique within its own table
    (FALLBACK, {"standard": [FACT, {**FACT, "props": ["ro.b", " "]}]},
     [("standard[1].name", "duplicate fact name 'fw'"),
      ("standard[1].props", "must hold only non-empty strings (property names)")]),
    (FALLBACK, {"standard": "x"}, [("standard", "must be an array of tables: [[standard]]")]),
    # emm_agents
    (BASE, {"emm_agents": [AGENT, {"package": "a.b", "name": "B"}]}, []),
    (BASE, {"emm_agents": AGENT}, [("emm_agents", 'must be a list of { package = "…", name = "…" }')]),
    (BASE, {"emm_agents": [AGENT, "com.x.y", {"package": "com.x.y"}, {**AGENT, "id": 1}]},
     [("emm_agents[1]", "needs exactly the keys package and name"),
      ("emm_agents[2]", "needs exactly the keys package and name"),
      ("emm_agents[3]", "needs exactly the keys package and name")]),
    (BASE, {"emm_agents": [{"package": "mdm", "name": " "}, {"package": 3, "name": "A"}]},
     [("emm_agents[0].package", "'mdm' is not a package name"), ("emm_agents[1].package", "3 is not a package name")]),
    (BASE, {"emm_agents": [{**AGENT, "name": " "}, {**AGENT, "name": 3}, {**AGENT, "name": "A"}]},
     [("emm_agents[0].name", "missing: the name shown to people"),
      ("emm_agents[1].name", "missing: the name shown to people")]),
    # [[logger]] is handed to devices/loggers.py
    (BASE, {"logger": "x"}, [("logger", "must be an array of tables: [[logger]]")]),
    # header: unknown keys, the name
    (BASE, {"colour": "red", "name": " "},
     [("colour", "unknown key"), ("name", "missing: the vendor name shown to people")]),
]


@pytest.mark.parametrize(("base", "change", "expected"), VALIDATE_CASES)
def test_validate_reports_exactly_each_problem(base, change, expected):
    found = profiles.validate(_table(base, change), Path("p/x.toml"))
    assert found == [profile_files.Problem(str(Path("p/x.toml")), key, message) for key, message in expected]


def test_build_turns_a_valid_table_into_exactly_this_profile():
    data = {"id": "acme", "kind": "device", "name": "Acme Rugged", "usb_vendor_ids": ["ABCD", "05e0"],
            "packages": ["com.acme.scan"], "emm_agents": [AGENT],
            "match": [{"props": ["ro.product.manufacturer"], "regex": "^Acme"},
                      {"props": ["ro.product.model"], "regex": "^AC"},
                      {"props": ["ro.product.model"], "regex": "^AX", "strength": "strong"}],
            "fact": [FACT, {"name": "kernel", "label": "Kernel", "shell": ["cat", "/proc/version"], "regex": "(\\S+)"}]}
    assert profiles.validate(data, Path("acme.toml")) == []
    built = profiles._build(data, Path("d/acme.toml"))
    assert built == profiles.DeviceProfile(
        "acme", "Acme Rugged", Path("d/acme.toml"),
        rules=(profiles.Rule(("ro.product.manufacturer",), "^Acme", re.compile("^Acme"), "strong"),
               profiles.Rule(("ro.product.model",), "^AC", re.compile("^AC"), "weak"),
               profiles.Rule(("ro.product.model",), "^AX", re.compile("^AX"), "strong")),
        usb_vendor_ids=("abcd", "05e0"),
        facts=(profiles.Fact("fw", "Firmware", ("ro.fw",), (), None),
               profiles.Fact("kernel", "Kernel", (), ("cat", "/proc/version"), "(\\S+)")),
        emm_agents=(profiles.EmmAgent("com.acme.mdm", "Acme MDM"),), packages=("com.acme.scan",))
    assert [r.pattern.pattern for r in built.rules] == ["^Acme", "^AC", "^AX"]  # not compared by ==
    fallback = {**FALLBACK, "standard": [FACT], "consumer_manufacturers": ["CUBOT", "Xiaomi"]}
    assert profiles._build(fallback, Path("generic.toml")) == profiles.DeviceProfile(
        "generic", "Android device", Path("generic.toml"), standard=(profiles.Fact("fw", "Firmware", ("ro.fw",)),),
        fallback=True, consumer_manufacturers=frozenset({"cubot", "xiaomi"}))


def _weak(*regexes: str) -> profiles.DeviceProfile:
    rules = [profiles.Rule(("ro.product.model",), r, re.compile(r), "weak") for r in regexes]
    return profiles.DeviceProfile("acme", "Acme", Path("d/acme.toml"),
                                  rules=(profiles.Rule(("ro.a",), "^M", re.compile("^M"), "strong"), *rules))


@pytest.mark.parametrize(("models", "shown"), [
    (["M1", "M2", "M3", "M4", "M5"], "'M1', 'M2', 'M3', 'M4', 'M5'"),
    (["M1", "M2", "M3", "M4", "M5", "M6"], "'M1', 'M2', 'M3', 'M4', 'M5' and 1 more"),
    (["M1", "x", "M2", "M3", "M4", "M5", "M6", "M7"], "'M1', 'M2', 'M3', 'M4', 'M5' and 2 more"),
    (["M1"], "'M1'"),
])
def test_a_weak_rule_matching_consumer_models_is_one_problem_naming_five(models, shown):
    found = profiles.consumer_collisions(_weak("^Z", "^M"), models)
    assert found == [profile_files.Problem(str(Path("d/acme.toml")), "match[2].regex",
                                           f"matches consumer model {shown}: anchor it to the vendor's naming")]


def test_strong_rules_and_rules_matching_no_model_are_no_collision():
    assert profiles.consumer_collisions(_weak("^Z"), ["M1", "Mx", "Z"[1:]]) == []
    assert profiles.consumer_collisions(_weak(), ["M1"]) == []  # only the strong ^M matches


def test_check_a_folder_problems_collisions_and_fallbacks_exactly(tmp_path):
    folder = tmp_path / "d"
    write(folder, "a.toml", 'kind = "device"\nname = "A"\nfallback = true\n')
    write(folder, "b.toml", 'kind = "device"\nname = "B"\nfallback = true\n')  # no tie between fallbacks
    vendor = write(folder, "v.toml", 'kind = "device"\nname = "V"\n[[match]]\nprops = ["ro.product.model"]\n'
                                     'regex = "^CT20"\n')
    broken = write(folder, "w.toml", 'kind = "device"\nname = "W"\nusb_vendor_ids = ["x"]\n')
    assert profiles.check([folder]) == [
        profile_files.Problem(str(broken), "match", "missing: at least one [[match]] rule"),
        profile_files.Problem(str(broken), "usb_vendor_ids[0]", "'x' is not 4 hex digits"),
        profile_files.Problem(str(vendor), "match[0].regex",
                              "matches consumer model 'CT201', 'CT202': anchor it to the vendor's naming"),
        profile_files.Problem("a.toml, b.toml", "fallback", "only one profile may be the fallback"),
    ]


def test_check_compares_rules_as_a_set_and_reports_each_later_twin(tmp_path):
    one = 'kind = "device"\nname = "N"\n[[match]]\nprops = ["ro.x"]\nregex = "^N"\n'
    two = one + '[[match]]\nprops = ["ro.y"]\nregex = "^Y"\n'
    swapped = 'kind = "device"\nname = "N"\n[[match]]\nprops = ["ro.y"]\nregex = "^Y"\n' + one.split("\n", 2)[2]
    write(tmp_path, "a.toml", two)
    b = write(tmp_path, "b.toml", swapped)
    c = write(tmp_path, "c.toml", two)
    write(tmp_path, "d.toml", one)
    write(tmp_path, "e.toml", one.replace('"^N"', '"^n"'))
    write(tmp_path, "f.toml", one.replace('["ro.x"]', '["ro.x", "ro.z"]'))
    assert profiles.check([tmp_path]) == [
        profile_files.Problem(str(b), "match", "same rules as profile 'a': always a tie"),
        profile_files.Problem(str(c), "match", "same rules as profile 'a': always a tie"),
    ]


def _typed_shell(answers: dict[str, ShellResult | Exception]):
    run = shell_answering(answers)

    def run_shell(argv):
        assert type(argv) is list  # the seam quotes a list
        return run(argv)

    run_shell.calls = run.calls  # type: ignore[attr-defined]
    return run_shell


def test_read_facts_gives_every_fact_its_exact_value():
    facts = (profiles.Fact("a", "A", props=("ro.a", "ro.a2")),
             profiles.Fact("b", "B", props=("ro.b",), regex=r"v(\d+)"),
             profiles.Fact("c", "C", props=("ro.c1", "ro.c2")),
             profiles.Fact("d", "D", shell=("cat", "/d"), regex=r"Linux version (\S+)"),
             profiles.Fact("e", "E", shell=("cat", "/e")),
             profiles.Fact("f", "F", shell=("cat", "/f")),
             profiles.Fact("g", "G", shell=("cat", "/g")),
             profiles.Fact("h", "H", shell=("cat", "/h"), regex="x(y)"),
             profiles.Fact("i", "I", shell=("cat", "/i")))
    profile = profiles.DeviceProfile("acme", "Acme", Path("acme.toml"), facts=facts)
    run = _typed_shell({
        "cat /d": ShellResult("cat /d", 0, PROC_VERSION),
        "cat /e": ShellResult("cat /e", 0, b"  plain \n"),
        "cat /f": ShellResult("cat /f", 2, b"out\n", b"first\n  cat: /f: No such file  \n"),
        "cat /g": DeviceTimeout("no answer in 10 s"),
        "cat /h": ShellResult("cat /h", 0, b"nothing"),
        "cat /i": ShellResult("cat /i", 0, b" \n"),
    })
    props = {"ro.a": "", "ro.a2": " A2 ", "ro.b": "v12", "ro.c1": ""}
    assert profiles.read_facts(profile, props, run) == {
        "a": profiles.FactValue("A2", "ro.a2", "ok"),
        "b": profiles.FactValue("12", "ro.b", "ok"),
        "c": profiles.FactValue(None, "ro.c1, ro.c2", "missing"),
        "d": profiles.FactValue("4.19.157-perf+", "shell: cat /d", "ok"),
        "e": profiles.FactValue("plain", "shell: cat /e", "ok"),
        "f": profiles.FactValue(None, "shell: cat /f", "failed", "cat: /f: No such file"),
        "g": profiles.FactValue(None, "shell: cat /g", "failed", DeviceTimeout("no answer in 10 s").one_line()),
        "h": profiles.FactValue(None, "shell: cat /h", "missing"),
        "i": profiles.FactValue(None, "shell: cat /i", "missing"),
    }
    assert run.calls == [["cat", "/d"], ["cat", "/e"], ["cat", "/f"], ["cat", "/g"], ["cat", "/h"], ["cat", "/i"]]
    assert profiles.read_facts(profiles.DeviceProfile("x", "X", Path("x.toml")), props, run) == {}


@pytest.mark.parametrize(("regex", "text", "value"), [
    (r"(?P<value>\d+)-(\d+)", "7-8", "7"),
    (r"(\d+)-(?P<value>\d+)", "7-8", "8"),
    (r"(a)(b)", "ab", "a"),
    (r"x(\d)?", "x", None),  # group 1 took no part
    (r"^$", "", ""),  # found, but empty: still a match
    (None, "a\n", "a"),
])
def test_extract_exact(regex, text, value):
    assert profiles._extract(regex, text) == value


def test_build_takes_the_loggers_as_devices_loggers_builds_them():
    data = tomllib.loads(SHIPPED.joinpath("zebra.toml").read_text(encoding="utf-8"))
    loggers = profiles._build(data, Path("zebra.toml")).loggers
    assert loggers == logger_decl.build(data["logger"]) and len(loggers) == len(data["logger"]) > 0


def test_check_and_load_read_the_user_folder_only_when_told(tmp_path):
    user = write(profile_files.user_dir("device"), "u.toml", 'kind = "device"\nname = "U"\n')  # broken: no rule
    write(tmp_path / "d", "acme.toml", ACME)
    assert profiles.check([tmp_path / "d"]) == []
    assert profiles.load_device_profiles([tmp_path / "d"], include_user_dir=False).warnings == []
    assert profiles.load_device_profiles([tmp_path / "d"]).warnings == [
        f"{user}: skipped — match: missing: at least one [[match]] rule"]


def test_consumer_models_skip_comments_and_what_follows_two_spaces_and_a_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(profile_files, "builtin_dir", lambda folder: tmp_path / folder)
    assert profiles.consumer_models() == []  # no file: no names
    write(tmp_path / "device_profiles", "consumer_models.txt",
          "# header  # still a comment\nCT201  # Compaq  # why\n\n  \nMi #5  # Xiaomi\nÄ1\n")
    assert profiles.consumer_models() == ["CT201", "Mi #5", "Ä1"]


def test_profiles_are_parsed_again_only_when_a_file_changes(tmp_path, monkeypatch):
    """load_device_profiles keeps what the same files gave (collect --all's workers get them
    parsed by the fork server); a changed, added or removed file, or another folder, is read."""
    import os

    parsed = []
    real = profile_files.load
    monkeypatch.setattr(profile_files, "load", lambda *a, **k: parsed.append(a[2]) or real(*a, **k))
    monkeypatch.setattr(profiles, "_PARSED", {})
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "acme.toml").write_text(ACME)
    first = profiles.load_device_profiles([folder], include_user_dir=False)
    assert profiles.load_device_profiles([folder], include_user_dir=False) is first and len(parsed) == 1
    assert first.profiles["acme"].name == "Acme Rugged"
    (folder / "acme.toml").write_text(ACME.replace("Acme Rugged", "Acme Rugged 2"))
    os.utime(folder / "acme.toml", ns=(1, 1))  # a changed size or time is a changed file
    assert profiles.load_device_profiles([folder], include_user_dir=False).profiles["acme"].name == "Acme Rugged 2"
    (folder / "zeta.toml").write_text(ACME.replace('id = "acme"', 'id = "zeta"').replace("^AC", "^ZE"))
    assert "zeta" in profiles.load_device_profiles([folder], include_user_dir=False).profiles
    (folder / "zeta.toml").unlink()
    assert "zeta" not in profiles.load_device_profiles([folder], include_user_dir=False).profiles  # as before: kept
    assert "acme" not in profiles.load_device_profiles([], include_user_dir=False).profiles
    assert len(parsed) == 4


def _fresh_parent(monkeypatch, threads: int) -> None:
    """This process as collect --all's parent starts: nothing parsed, the job's prepare module not
    imported yet, ``threads`` threads running (1: workers are forks of it, 2: of a fork server)."""
    import sys
    import threading

    from tsdtool.devices import profiles as loaded

    monkeypatch.setattr(loaded, "_PARSED", {})
    monkeypatch.setattr(profile_files, "_LOADED", {})
    monkeypatch.delitem(sys.modules, "tsdtool.bundle.forkserver", raising=False)
    monkeypatch.setattr(threading, "active_count", lambda: threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_workers_parent_parses_the_device_profiles_for_every_worker(monkeypatch, threads):
    import multiprocessing

    from tsdtool import fleet
    from tsdtool.bundle.collect import _collect_job

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork server here (Windows): every worker is spawned and parses them")
    _fresh_parent(monkeypatch, threads)
    context = fleet._worker_context(_collect_job)
    try:
        with context.Pool(1) as pool:
            assert pool.apply(_parsed_before_asked) == (1, True)
    finally:
        fleet._stop_fork_server(context)


def _parsed_before_asked() -> tuple[int, bool]:
    from tsdtool.devices import profiles as loaded

    before = len(loaded._PARSED)
    return before, before == 1 and loaded.load_device_profiles() is next(iter(loaded._PARSED.values()))


def test_profile_files_are_parsed_again_only_when_one_changes_and_each_caller_gets_its_own(tmp_path, monkeypatch):
    """profile_files.load keeps what the same files gave, for every kind (a collect asks for the
    app profiles four times); a changed file is read again; a caller changing what it got changes
    nothing for the next one."""
    import os

    from tsdtool.apps import profiles as app_profiles

    read = []
    real = profile_files.read
    monkeypatch.setattr(profile_files, "read", lambda path, *a, **k: read.append(path.name) or real(path, *a, **k))
    monkeypatch.setattr(profile_files, "_LOADED", {})
    folder = tmp_path / "apps"
    folder.mkdir()
    app = '''kind = "app"\nname = "Склад 15"\npackages = ["com.example.wms"]\ninternal = ["databases/*.db"]\n'''
    (folder / "wms.toml").write_text(app, "utf-8")
    first = app_profiles.load_app_profiles([folder], include_user_dir=False)
    again = app_profiles.load_app_profiles([folder], include_user_dir=False)
    assert again.profiles["wms"] == first.profiles["wms"] and read.count("wms.toml") == 1
    loaded = profile_files.load("app", None, [folder], app_profiles.validate, include_user_dir=False)
    assert read.count("wms.toml") == 2  # other folders (no shipped ones): read
    loaded.profiles.clear()
    loaded.warnings.append("mine")
    fresh = profile_files.load("app", None, [folder], app_profiles.validate, include_user_dir=False)
    assert list(fresh.profiles) == ["wms"] and fresh.warnings == [] and read.count("wms.toml") == 2
    (folder / "wms.toml").write_text(app.replace("Склад 15", "Склад 16"), "utf-8")
    os.utime(folder / "wms.toml", ns=(1, 1))  # the same size: the time tells
    assert app_profiles.load_app_profiles([folder], include_user_dir=False).profiles["wms"].name == "Склад 16"
    assert read.count("wms.toml") == 3
    assert profile_files.load("desk", None, [folder], None, include_user_dir=False).profiles == {}  # another kind


@pytest.mark.parametrize("threads", [1, 2])
def test_the_workers_parent_parses_every_kind_and_the_catalogues_for_every_worker(monkeypatch, threads):
    import multiprocessing

    from tsdtool import fleet
    from tsdtool.bundle.collect import _collect_job

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork server here (Windows): every worker is spawned and parses them")
    _fresh_parent(monkeypatch, threads)
    context = fleet._worker_context(_collect_job)
    try:
        with context.Pool(1) as pool:
            assert pool.apply(_every_kind_parsed_before_asked) == ({"device", "app", "desk"}, 0, True)
    finally:
        fleet._stop_fork_server(context)


def _every_kind_parsed_before_asked() -> tuple[set[str], int, bool]:
    from tsdtool import texts
    from tsdtool.apps.profiles import load_app_profiles
    from tsdtool.bundle import desks

    kinds = {key[0] for key in profile_files._LOADED}
    parsed = []
    real = profile_files._read_all
    profile_files._read_all = lambda *a: parsed.append(a[0]) or real(*a)
    try:
        load_app_profiles()
        desks.get("grsoft")
    finally:
        profile_files._read_all = real
    return kinds, len(parsed), texts.catalogue.cache_info().currsize >= 2
