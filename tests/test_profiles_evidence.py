"""Vendor identification as evidence: strong clues, weak clues, and the makers that veto weak ones.

The device values below are real and cited where they appear; regexes are never copied from the
profiles into the expectations (the expected vendor is written out by hand).
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fake_adb import make_fixture
from tsdtool.devices import profiles

SHIPPED = profiles.load_device_profiles(include_user_dir=False)
VENDORS = sorted(p.id for p in SHIPPED.profiles.values() if not p.fallback and p.id != "emulator")
MODELLED = [v for v in VENDORS if any(r.props[0] == "ro.product.model" for r in SHIPPED.profiles[v].rules)]


def identify(packages=None, **props: str) -> profiles.Match:
    keys = {"manufacturer": "ro.product.manufacturer", "brand": "ro.product.brand",
            "model": "ro.product.model", "device": "ro.product.device"}
    return profiles.match(SHIPPED, {keys.get(k, k): v for k, v in props.items()}, None, packages)


# ------------------------------------------------- class 1: consumer devices taken for terminals
# Issue 13: "With a full getprop: ro.product.manufacturer=HUAWEI, ro.product.model=EC6108V8 (a TV box)
# gives zebra; CUBOT P80 gives chainway; Brondi Glory 2 gives honeywell".


@pytest.mark.parametrize(("manufacturer", "model", "was"), [
    ("HUAWEI", "EC6108V8", "zebra"),
    ("CUBOT", "P80", "chainway"),
    ("Brondi", "Glory 2", "honeywell"),
])
def test_consumer_maker_vetoes_a_model_hit(manufacturer, model, was):
    found = identify(manufacturer=manufacturer, model=model)
    assert (found.profile.id, found.confidence, found.evidence) == ("generic", None, ())
    assert found.rule == "no vendor profile matched"


def test_a_veto_is_reported_when_a_weak_rule_did_hit():
    # Honeywell's Chinese-market model is "Glory50" (Play list): the same name on a Huawei is set aside
    found = identify(manufacturer="HUAWEI", model="Glory50")
    assert found.profile.id == "generic"
    assert found.rejected == ("honeywell: Glory50 set aside, manufacturer 'HUAWEI' is a consumer device maker",)


@pytest.mark.parametrize(("brand", "model", "device"), [
    # Google Play supported-devices list (2022-01-18): consumer rows whose model the old rules took
    ("Lava", "V2s", "V2s"),  # old sunmi ^(L2Ks|V2s)
    ("Elephone", "U2", "U2"),  # old urovo U2$
    ("ECS", "TC70RA1", "TC70RA1_2"),  # old zebra ^TC\d
    ("LGE", "RS501", "lv517"),  # old cipherlab RS[35][01]
    ("Alco", "CT302T", "CT302T"),  # old honeywell CT[2-6]\d
    ("Cricket", "EC211001", "EC211001"),  # old zebra ^EC\d
    ("Diamond", "MC32020", "MC32020"),  # old zebra MC\d
])
def test_colliding_consumer_models_fall_to_generic_with_or_without_their_brand(brand, model, device):
    assert identify(brand=brand, model=model, device=device).profile.id == "generic"
    assert identify(model=model, device=device).profile.id == "generic"  # the names alone say nothing


# ------------------------------------------ class 2: real names with suffixes, variants, UBX
# "UBX" and "Urovo" as Build.MANUFACTURER: public app code tests both on Urovo terminals (see
# device_profiles/urovo.toml); "DT50Q": a Urovo DT50 variant named in the public README of
# Hmerman6006/UrovoTestScanWedgeIntentApi ("Tested on Urovo DT50Q").


def test_urovo_reports_ubx_as_its_manufacturer():
    found = identify(manufacturer="UBX", model="DT50Q")
    assert (found.profile.id, found.confidence) == ("urovo", "strong")
    assert [(e.strength, e.source, e.value) for e in found.evidence] == [
        ("strong", "ro.product.manufacturer", "UBX"), ("weak", "ro.product.model", "DT50Q")]


@pytest.mark.parametrize(("brand", "model", "vendor"), [
    # brand/model pairs from public code, cited in the profiles and fixtures' NOTES.md
    ("UROVO", "i6300A", "urovo"),  # the com.github.Blue1-0.scanner README
    ("UROVO", "DT50_5G_EEA", "urovo"),
    ("SUNMI", "L2s_PRO", "sunmi"),
    ("NewLand", "NLS-MT95L", "newland"),  # pretix: Build.BRAND "NewLand" and "Newland"
    ("M3", "M3PC", "m3mobile"),  # pretix: Build.BRAND "M3" (model prefix M3PC)
    ("SEUIC", "AUTOID Pad Air", "seuic"),
    ("Zebra", "CC600", "zebra"),
])
def test_brands_as_real_code_spells_them(brand, model, vendor):
    assert (identify(brand=brand, model=model).profile.id, identify(brand=brand).confidence) == (vendor, "strong")


@pytest.mark.parametrize(("model", "vendor"), [
    ("i6200S", "urovo"), ("i6300A", "urovo"), ("DT50_5G_EEA", "urovo"), ("L2s_PRO", "sunmi"),
    ("NLS-MT95L", "newland"), ("NLS-MT6210", "newland"), ("NLS-MT9210", "newland"),
])
def test_variants_found_in_public_code_are_recognised_on_names_alone(model, vendor):
    assert (identify(model=model).profile.id, identify(model=model).confidence) == (vendor, "weak")


def test_intermec_is_honeywell():
    # the Play list carries the CN51 rows under both Retail Brandings, Honeywell and Intermec
    found = identify(manufacturer="Intermec", model="CN51 NC0")
    assert (found.profile.id, found.confidence) == ("honeywell", "strong")


def test_idata_reports_its_manufacturer_in_lower_case():
    # "idata" among the Build.MANUFACTURER values of SunmiScanModule.java (code index file 1495225576)
    assert identify(manufacturer="idata").profile.id == "idata"


@pytest.mark.parametrize(("model", "device", "vendor"), [
    ("DT50Q", "", "urovo"),  # README above
    ("DT20_Pro", "SQ57S", "urovo"),  # Play list rows below
    ("U2", "SQ46M", "urovo"),  # the U2 by its device: the model is shared with phones
    ("V2sNC_RU", "V2sNC", "sunmi"),
    ("L2Ks_GL", "SUNMI-L2KsNFC", "sunmi"),
    ("iData K1", "iData_K1_EEA", "idata"),
    ("EA520_US", "EA520_US", "unitech"),
    ("EA630Plus", "EA630Plus", "unitech"),
    ("CN51 NC0", "CN51_NC0", "honeywell"),  # Intermec, now Honeywell
    ("Glory EDA50K", "eda50k-1", "honeywell"),
    ("MC3300ax", "MC3300xC", "zebra"),
    ("TC52AX", "TC52X", "zebra"),
    ("NLS-MT90", "NLS-MT9052-GL", "newland"),
    ("M3SM15N", "M3SM15N", "m3mobile"),
])
def test_real_model_variants_are_recognised_on_names_alone(model, device, vendor):
    found = identify(model=model, **({"device": device} if device else {}))
    assert (found.profile.id, found.confidence) == (vendor, "weak")


# ---------------------------------------------------- class 3: vendors that had no profile


@pytest.mark.parametrize(("model", "device", "vendor"), [
    # Google Play supported-devices list (2022-01-18), Model and Device columns
    ("AUTOID9N", "d500b", "seuic"),
    ("AUTOID Q9", "d550", "seuic"),
    ("CRUISE2 5G", "d740", "seuic"),
    ("EF500", "EF500", "bluebird"),
    ("EF401_RU", "EF401", "bluebird"),
    ("HF550_RU", "HF550", "bluebird"),
    ("BTA700", "BTA700", "keyence"),
    ("DX-A400", "DX-A400", "keyence"),
    ("BHT-M60-QW-A10N", "BHT-M60-QW-A10N", "denso"),
    ("IT-G600", "itg600", "casio"),
    ("DT-X400R", "dtx400r", "casio"),
    ("H702", "H702", "kaicom"),
    ("C7X", "C7X_R", "cilico"),
])
def test_new_vendors_are_recognised(model, device, vendor):
    assert identify(model=model, device=device).profile.id == vendor


def test_casio_watches_are_not_terminals():
    # the Play list's Casio rows also hold smartwatches: Model "WSD-F21HR", Device "medaka"
    assert identify(model="WSD-F21HR", device="medaka").profile.id == "generic"


# -------------------------------------------------------------- the rule, as properties


def _maker_of(profile_id: str) -> st.SearchStrategy[str]:
    """Manufacturer values the profile's own manufacturer rule accepts."""
    rule = next(r for r in SHIPPED.profiles[profile_id].rules if r.identity == "manufacturer")
    return st.from_regex(rule.regex, fullmatch=False).filter(lambda v: v.strip() == v and v.isprintable())


def _model_of(profile_id: str) -> st.SearchStrategy[str]:
    rule = next(r for r in SHIPPED.profiles[profile_id].rules if r.props[0] == "ro.product.model")
    return st.from_regex(rule.regex, fullmatch=True)


@st.composite
def other_company_and_model(draw):
    """A model a vendor's weak rule accepts, and a manufacturer naming some other company."""
    vendor = draw(st.sampled_from(MODELLED))
    model = draw(_model_of(vendor))
    consumer = sorted(SHIPPED.fallback.consumer_manufacturers)
    other = draw(st.sampled_from([v for v in VENDORS if v != vendor]))
    maker = draw(st.one_of(st.sampled_from(consumer), _maker_of(other)))
    return vendor, model, maker, other


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(other_company_and_model())
def test_a_manufacturer_of_another_company_always_beats_a_model_rule(case):
    vendor, model, maker, other = case
    found = identify(manufacturer=maker, model=model)
    assert found.profile.id != vendor
    assert found.profile.id in (other, "generic")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MODELLED).flatmap(lambda v: st.tuples(st.just(v), _model_of(v))))
def test_a_model_rule_alone_is_weak_evidence_for_its_vendor(case):
    vendor, model = case
    found = identify(manufacturer="alps", model=model)  # an ODM placeholder names no company we know
    assert (found.profile.id, found.confidence) == (vendor, "weak")


def test_consumer_makers_are_compared_whole_and_ignoring_case():
    assert identify(manufacturer="samsung", model="EC50").profile.id == "generic"
    assert identify(manufacturer="SAMSUNG", model="EC50").profile.id == "generic"
    # a name that merely starts like a consumer maker is not one
    assert identify(manufacturer="Honorable Rugged Ltd", model="EC50").profile.id == "zebra"


def test_brand_names_another_company_too():
    found = identify(brand="Zebra", model="CT40")  # Zebra's brand, Honeywell's model name
    assert (found.profile.id, found.confidence) == ("zebra", "strong")
    assert found.rejected == ("honeywell: CT40 set aside, brand 'Zebra' names Zebra Technologies",)


def test_strong_evidence_outranks_any_number_of_weak_clues():
    found = identify(manufacturer="Honeywell", model="TC52", device="TC52")
    assert (found.profile.id, found.confidence) == ("honeywell", "strong")


def test_weak_clues_of_two_vendors_are_a_tie_not_a_guess(tmp_path):
    twin = (tmp_path / "twin.toml")
    twin.write_text('kind = "device"\nname = "Twin"\n[[match]]\nprops = ["ro.product.model"]\n'
                    'regex = "^EF500$"\n', encoding="utf-8")
    loaded = profiles.load_device_profiles([tmp_path], include_user_dir=False)
    found = profiles.match(loaded, {"ro.product.model": "EF500"})
    assert found.profile.id == "generic" and found.ties == ("bluebird", "twin")
    assert found.rule == "tie between bluebird, twin (1 rules each): a profile error"


# ------------------------------------------------------------- packages as evidence


def test_a_vendor_system_package_is_strong_evidence():
    # com.symbol.datawedge: the package the enioka Scan library tests for Zebra's DataWedge
    found = identify(packages={"android", "com.symbol.datawedge"}, manufacturer="alps", model="Q1")
    assert (found.profile.id, found.confidence) == ("zebra", "strong")
    assert found.evidence[0] == profiles.Evidence("strong", "package", "com.symbol.datawedge")
    assert identify(packages=None, manufacturer="alps", model="Q1").profile.id == "generic"  # not looked at
    assert identify(packages=set(), manufacturer="alps", model="Q1").profile.id == "generic"


def test_sunmis_scanner_app_is_strong_evidence():
    # com.sunmi.sunmiqrcodescanner: the package SunmiScanModule.java sends Sunmi's scan intent to
    found = identify(packages={"com.sunmi.sunmiqrcodescanner"}, manufacturer="alps")
    assert (found.profile.id, found.confidence) == ("sunmi", "strong")


def test_info_reads_the_package_list_once_and_reports_the_evidence(fake_server, tsd, tmp_path):
    props = {"ro.product.manufacturer": "alps", "ro.product.brand": "alps", "ro.product.model": "Q1",
             "ro.product.device": "Q1"}
    fixture = make_fixture(tmp_path, "X1", props=props, system_packages=["com.symbol.datawedge"])
    srv = fake_server(fixture)
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "info", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert (info["profile"], info["profile_confidence"]) == ("zebra", "strong")
    assert info["profile_evidence"] == [
        {"strength": "strong", "source": "package", "value": "com.symbol.datawedge", "rule": ""}]
    assert info["managed"]["emm_agents"] == {"status": "ok", "value": []}
    assert [r for r in srv.requests if "pm list packages" in r] == ["shell,v2,raw:pm list packages"]


@pytest.mark.parametrize(("fixture", "profile", "confidence"), [
    ("kaicom_k901", "kaicom", "weak"),
    ("cubot_p80", "generic", None),
    ("honeywell_ct60", "honeywell", "strong"),
])
def test_info_json_says_how_sure_it_is(fake_server, tsd, fixture, profile, confidence):
    srv = fake_server(fixture)
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "info", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert (info["profile"], info["profile_confidence"]) == (profile, confidence)
    assert {e["strength"] for e in info["profile_evidence"]} <= {confidence} | {"weak"}
    if fixture == "cubot_p80":
        assert info["profile_evidence"] == [] and info["profile_rejected"] == []
    code, out, err = tsd("-H", "127.0.0.1", "-P", srv.port, "info")
    assert code == 0, err
    assert (f"{confidence} evidence" in out) == (confidence is not None)


# ------------------------------------------------------------------ profile files


BARE = """kind = "device"
name = "Bare"
[[match]]
props = ["ro.product.model"]
regex = "{regex}"
"""


@pytest.mark.parametrize(("regex", "flagged"), [
    ("^V2s", "'V2s'"),  # the old Sunmi rule: Lava's V2s phone (Play list)
    ("U2$", "'U2'"),  # the old Urovo rule
    ("^V2s_(GL|EEA)$", None),  # Sunmi's own spelling
])
def test_check_flags_a_weak_rule_that_matches_a_consumer_model(tmp_path, regex, flagged):
    path = tmp_path / "bare.toml"
    path.write_text(BARE.format(regex=regex), encoding="utf-8")
    found = [str(p) for p in profiles.check([tmp_path])]
    if flagged:
        assert len(found) == 1 and found[0].startswith(f"{path}:match[0].regex: matches consumer model ")
        assert flagged in found[0] and found[0].endswith("anchor it to the vendor's naming")
    else:
        assert found == []


def test_strong_rules_are_not_checked_against_consumer_models(tmp_path):
    (tmp_path / "s.toml").write_text(BARE.format(regex="^V2s") + 'strength = "strong"\n', encoding="utf-8")
    assert profiles.check([tmp_path]) == []


def test_consumer_model_list_cites_its_source_and_holds_the_collisions():
    models = profiles.consumer_models()
    assert {"V2s", "U2", "TC70RA1", "RS501", "C6", "EC6108V8", "P80", "Glory 2", "Mi MIX 2S"} <= set(models)
    assert all(m == m.strip() and "#" not in m for m in models)  # the trailing "  # brand; why" is not a name
    text = (profiles.profile_files.builtin_dir("device_profiles") / profiles.CONSUMER_MODELS).read_text()
    assert "ifarbod/gplay-supported-devices" in text
    assert all("  # " in line for line in text.splitlines() if line and not line.startswith("#"))  # each cited


@pytest.mark.parametrize(("text", "key", "message"), [
    ('[[match]]\nprops = ["ro.a"]\nregex = "a"\nstrength = "medium"\n', "match[0].strength", '"strong" or "weak"'),
    ('packages = ["not a package"]\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n', "packages[0]", "package name"),
    ('consumer_manufacturers = ["X"]\n[[match]]\nprops = ["ro.a"]\nregex = "a"\n', "consumer_manufacturers",
     "only the fallback"),
])
def test_evidence_keys_are_validated(tmp_path, text, key, message):
    path = tmp_path / "bad.toml"
    path.write_text('kind = "device"\nname = "X"\n' + text, encoding="utf-8")
    found = [str(p) for p in profiles.check([tmp_path])]
    assert any(m.startswith(f"{path}:{key}: ") and message in m for m in found), found


def test_rule_strength_defaults_by_what_it_reads(tmp_path):
    (tmp_path / "d.toml").write_text(
        'kind = "device"\nname = "D"\n[[match]]\nprops = ["ro.product.model", "ro.product.vendor.model"]\n'
        'regex = "^ZZ9$"\n[[match]]\nprops = ["ro.acme.key"]\nregex = "."\n', encoding="utf-8")
    profile = profiles.load_device_profiles([tmp_path], include_user_dir=False).profiles["d"]
    assert [r.strength for r in profile.rules] == ["weak", "strong"]


def test_every_shipped_vendor_rule_declares_its_strength():
    for profile in SHIPPED.profiles.values():
        text = profile.path.read_text(encoding="utf-8")
        assert text.count("[[match]]") == len(re.findall(r'^strength = "(strong|weak)"$', text, re.M)), profile.id


# ----------------------------------------- every rugged row of the Play list, names alone

PLAY_RUGGED = Path(__file__).resolve().parents[2] / "shared" / "devices" / "gplay_supported_rugged.csv"
# Retail Branding -> the profile its terminals must get (ATID and Janam have no profile)
BRANDING = {"Bluebird": "bluebird", "CHAINWAY": "chainway", "CILICO": "cilico", "Casio": "casio",
            "Cipherlab": "cipherlab", "Datalogic": "datalogic", "Denso Wave": "denso", "Honeywell": "honeywell",
            "KEYENCE": "keyence", "Kaicom": "kaicom", "M3 Mobile": "m3mobile", "Newland": "newland",
            "Point Mobile": "pointmobile", "Seuic": "seuic", "Sunmi": "sunmi", "Unitech": "unitech",
            "Urovo": "urovo", "Zebra": "zebra", "iData": "idata", "ATID": "generic", "Janam": "generic"}
# rows left to generic on purpose, each said in its profile: a consumer device shares the name
# (CUBOT P80, Blu C6), a smartwatch, a name outside the vendor's scheme
# (the CILICO C6 whose device is C6_R is still claimed: that device name is CILICO's alone)
NOT_CLAIMED = {("CHAINWAY", "P80", "P80"), ("CILICO", "C6", "C6"), ("Honeywell", "HMS-PD-X1C-3", "HMS-PD-X1C-3"),
               ("Casio", "GSW-H1000", "tai"), ("Casio", "CASIO WSD-F10", "koi"), ("Casio", "CASIO WSD-F20", "ayu"),
               ("Casio", "CASIO WSD-F20S", "ayu"), ("Casio", "WSD-F21HR", "medaka"), ("Casio", "WSD-F30", "kingyo")}


def test_every_rugged_row_of_the_play_list_is_claimed_by_its_vendor_on_names_alone():
    """../shared/devices/gplay_supported_rugged.csv: real Model/Device pairs of 21 brandings."""
    if not PLAY_RUGGED.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PLAY_RUGGED} is missing: CI runs with ../shared beside the clone")
        pytest.skip("../shared/devices is not beside this checkout")
    with PLAY_RUGGED.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 388
    wrong = []
    for row in rows:
        branding, model = row["Retail Branding"], row["Model"]
        expected = "generic" if (branding, model, row["Device"]) in NOT_CLAIMED else BRANDING[branding]
        found = identify(model=model, device=row["Device"])
        if found.profile.id != expected or (expected != "generic" and found.confidence != "weak"):
            wrong.append((branding, model, row["Device"], found.profile.id))
    assert wrong == []
