"""Every fixture terminal against the shipped profiles, with expected values written out.

The expected values below are read off the fixtures' getprop.txt by hand (see each
fixture's NOTES.md for where they come from); they are not computed by the code under test.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tsdtool.devices import profiles
from tsdtool.parsers import getprop, logcat
from tsdtool.transport.types import ShellResult

FIXTURES = Path(__file__).parent / "fake_adb" / "fixtures"

# fixture: (profile id, vendor name, model, android release, score, the profile's own facts)
EXPECTED: dict[str, tuple[str, str, str | None, str, int, dict[str, str | None]]] = {
    "zebra_tc52": (
        "zebra",
        "Zebra Technologies",
        "TC52",
        "14",
        5,
        {
            "bsp_baseline": "14-32-12.00-UG-U00",
            "patch_version": "U00",
            "osx_version": "SDM660.140.14.8.5",
            "bsp_platform": "helios",
        },
    ),
    "zebra_tc70x": (
        "zebra",
        "Zebra Technologies",
        "TC70x",
        "7.1.2",
        4,
        {
            "bsp_baseline": None,
            "patch_version": None,
            "osx_version": None,
            "bsp_platform": None,
        },
    ),
    "honeywell_ct60": ("honeywell", "Honeywell", "CT60", "8.1.0", 5, {}),
    "urovo_dt50": ("urovo", "Urovo", "DT50", "9", 3, {}),
    "datalogic_memor10": ("datalogic", "Datalogic", "MEMOR 10", "8.1.0", 3, {}),
    "newland_mt90": ("newland", "Newland", "NLS-MT90", "7.1.2", 4, {}),
    "chainway_c66": ("chainway", "Chainway", "C66", "11", 3, {}),
    "pointmobile_pm85": ("pointmobile", "Point Mobile", "PM85", "10", 5, {}),
    "cipherlab_rs35": ("cipherlab", "CipherLab", "RS35", "10", 3, {}),
    "unitech_ea630": ("unitech", "Unitech", "EA630", "9", 4, {}),
    "m3mobile_sl20": ("m3mobile", "M3 Mobile", "M3SL20", "11", 3, {}),
    "sunmi_v2s": ("sunmi", "Sunmi", "V2s_GL", "11", 3, {}),
    "idata_k1": ("idata", "iData", "iData K1", "12", 4, {}),
    # real model/device names only, no manufacturer: weak evidence (see each NOTES.md)
    "seuic_autoid9n": ("seuic", "Seuic", "AUTOID9N", "11", 2, {}),
    "bluebird_ef500": ("bluebird", "Bluebird", "EF500", "11", 1, {}),
    "bluebird_ef501r_ru": ("bluebird", "Bluebird", "EF501R_RU", "11", 1, {}),
    "keyence_bta700": ("keyence", "KEYENCE", "BTA700", "11", 2, {}),
    "denso_bht1800": ("denso", "Denso Wave", "BHT-1800QWB-1-A7", "11", 1, {}),
    "casio_itg400": ("casio", "Casio", "IT-G400", "11", 2, {}),
    "kaicom_k901": ("kaicom", "Kaicom", "K901", "11", 2, {}),
    "cilico_f880": ("cilico", "CILICO", "F880", "11", 1, {}),
    "unitech_ea520_us": ("unitech", "Unitech", "EA520_US", "11", 1, {}),
    # brand and model paired in public code (see NOTES.md): strong evidence
    "urovo_dt50_5g_eea": ("urovo", "Urovo", "DT50_5G_EEA", "11", 2, {}),
    "sunmi_l2s_pro": ("sunmi", "Sunmi", "L2s_PRO", "11", 2, {}),
    "seuic_autoid_pad_air": ("seuic", "Seuic", "AUTOID Pad Air", "11", 2, {}),
    "mindeo_manufacturer": ("mindeo", "Mindeo", None, "11", 1, {}),
    # consumer devices whose model names collide with terminal names: never a vendor profile
    "huawei_ec6108v8": ("generic", "Android device", "EC6108V8", "11", 0, {}),
    "cubot_p80": ("generic", "Android device", "P80", "11", 0, {}),
    "brondi_glory2": ("generic", "Android device", "Glory 2", "11", 0, {}),
    "lava_v2s": ("generic", "Android device", "V2s", "11", 0, {}),
    "elephone_u2": ("generic", "Android device", "U2", "11", 0, {}),
    "ecs_tc70ra1": ("generic", "Android device", "TC70RA1", "11", 0, {}),
    "lge_rs501": ("generic", "Android device", "RS501", "11", 0, {}),
    "compaq_ct201": ("generic", "Android device", "CT201", "11", 0, {}),
    "cricket_ec211001": ("generic", "Android device", "EC211001", "11", 0, {}),
    "blu_c6": ("generic", "Android device", "C6", "11", 0, {}),
    "xiaomi_mimix2s": ("generic", "Android device", "Mi MIX 2S", "9", 0, {}),
    "emulator": (
        "emulator",
        "Android Emulator",
        "sdk_gphone64_x86_64",
        "14",
        4,
        {
            "avd_name": "Pixel_3a_API_34_extension_level_7_x86_64",
        },
    ),
    "samsung_s24": ("generic", "Android device", "SM-S9210", "14", 0, {}),
}

# fixture: (serial, state, transport)
DEVICES = {
    "zebra_tc52": ("20TC52FX0001", "device", "usb"),
    "zebra_tc70x": ("TC70XFX0001", "device", "usb"),
    "honeywell_ct60": ("18326D8A2F", "device", "usb"),
    "urovo_dt50": ("192.168.1.50:5555", "device", "tcp"),
    "datalogic_memor10": ("A19K00123", "device", "usb"),
    "newland_mt90": ("MT90FX0001", "device", "usb"),
    "chainway_c66": ("C66FX0001", "device", "usb"),
    "pointmobile_pm85": ("PM85FX0001", "device", "usb"),
    "cipherlab_rs35": ("RS35FX0001", "device", "usb"),
    "unitech_ea630": ("EA630FX0001", "device", "usb"),
    "m3mobile_sl20": ("SL20FX0001", "device", "usb"),
    "sunmi_v2s": ("V2SFX0001", "device", "usb"),
    "idata_k1": ("K1FX0001", "device", "usb"),
    "emulator": ("emulator-5554", "device", "emulator"),
    "samsung_s24": ("R3CWA05H2GE", "device", "usb"),
    "seuic_autoid9n": ("D500BFX0001", "device", "usb"),
    "bluebird_ef500": ("EF500FX0001", "device", "usb"),
    "bluebird_ef501r_ru": ("EF501FX0001", "device", "usb"),
    "keyence_bta700": ("BTA700FX0001", "device", "usb"),
    "denso_bht1800": ("BHT1800FX0001", "device", "usb"),
    "casio_itg400": ("ITG400FX0001", "device", "usb"),
    "kaicom_k901": ("K901FX0001", "device", "usb"),
    "cilico_f880": ("F880FX0001", "device", "usb"),
    "unitech_ea520_us": ("EA520FX0001", "device", "usb"),
    "urovo_dt50_5g_eea": ("DT505GFX0001", "device", "usb"),
    "sunmi_l2s_pro": ("L2SPROFX0001", "device", "usb"),
    "seuic_autoid_pad_air": ("PADAIRFX0001", "device", "usb"),
    "mindeo_manufacturer": ("MINDEOFX0001", "device", "usb"),
    "huawei_ec6108v8": ("EC6108V8FX0001", "device", "usb"),
    "cubot_p80": ("CUBOTP80FX0001", "device", "usb"),
    "brondi_glory2": ("GLORY2FX0001", "device", "usb"),
    "lava_v2s": ("LAVAV2SFX0001", "device", "usb"),
    "elephone_u2": ("ELEU2FX0001", "device", "usb"),
    "ecs_tc70ra1": ("TC70RA1FX0001", "device", "usb"),
    "lge_rs501": ("RS501FX0001", "device", "usb"),
    "compaq_ct201": ("CT201FX0001", "device", "usb"),
    "cricket_ec211001": ("EC2110FX0001", "device", "usb"),
    "blu_c6": ("BLUC6FX0001", "device", "usb"),
    "xiaomi_mimix2s": ("MIX2SFX0001", "device", "usb"),
    "unauthorized": ("R58M40ABCDE", "unauthorized", "usb"),
    "offline": ("192.168.1.77:5555", "offline", "tcp"),
}

PACKAGE_KEYS = {
    "name": str,
    "version_name": str,
    "version_code": int,
    "debuggable": bool,
    "first_install_time": str,
    "last_update_time": str,
}


@pytest.fixture(scope="module")
def shipped() -> profiles.ProfileSet:
    return profiles.load_device_profiles(include_user_dir=False)


def device_toml(name: str) -> dict:
    return tomllib.loads((FIXTURES / name / "device.toml").read_text(encoding="utf-8"))


def props_of(name: str) -> dict[str, str]:
    return getprop.parse((FIXTURES / name / "getprop.txt").read_bytes())


def no_shell(argv):
    return ShellResult(" ".join(argv), 1, b"", b"/system/bin/sh: not in this test\n")


def test_every_fixture_folder_is_listed():
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(DEVICES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_matches_expected_profile(shipped, name):
    profile_id, vendor, model, release, score, facts = EXPECTED[name]
    props = props_of(name)
    found = profiles.match(shipped, props, device_toml(name).get("usb_vendor_id"))
    assert (found.profile.id, found.profile.name, found.score, found.ties) == (profile_id, vendor, score, ())
    # a fixture without a manufacturer or brand is known by its names only; the others by their maker
    named = any(k.endswith(("manufacturer", "brand")) for k in props)
    assert found.confidence == (None if profile_id == "generic" else "strong" if named else "weak")
    standard = profiles.read_standard(shipped, props, no_shell)
    assert standard["model"].value == model
    assert standard["android_release"].value == release
    own = profiles.read_facts(found.profile, props, no_shell)
    assert {k: v.value for k, v in own.items()} == facts


def test_zebra_tc52_reads_through_partition_fallbacks(shipped):
    props = props_of("zebra_tc52")
    found = profiles.match(shipped, props, "05e0")
    assert found.rule.startswith("ro.product.vendor.manufacturer ~ /(?i)^zebra/ and ro.product.vendor.brand")
    assert "ro.symbol.osx.version ~ /./" in found.rule and "usb vendor id 05e0" in found.rule
    assert found.confidence == "strong"
    assert [(e.strength, e.source, e.value) for e in found.evidence] == [
        ("strong", "ro.product.vendor.manufacturer", "Zebra Technologies"),
        ("strong", "ro.product.vendor.brand", "Zebra"),
        ("strong", "ro.symbol.osx.version", "SDM660.140.14.8.5"),
        ("strong", "usb vendor id", "05e0"),
        ("weak", "ro.product.model", "TC52"),
    ]
    standard = profiles.read_standard(shipped, props, no_shell)
    assert standard["manufacturer"] == profiles.FactValue(
        "Zebra Technologies", "ro.product.vendor.manufacturer", "ok"
    )
    assert standard["build_id"].value == "14-32-12.00-UG-U00-STD-HEL-04"
    assert standard["fingerprint"] == profiles.FactValue(
        "Zebra/helios/helios:14/14-32-12.00-UG-U00-STD-HEL-04/15:user/release-keys",
        "ro.vendor.build.fingerprint",
        "ok",
    )
    assert standard["security_patch"].value == "2025-08-05"
    assert standard["sdk"].value == "34"
    assert standard["kernel"].status == "failed"  # the shell stub refuses everything


def test_emulator_and_phone_standard_facts(shipped):
    emulator = profiles.read_standard(shipped, props_of("emulator"), no_shell)
    assert emulator["build_id"].value == "UE1A.230829.036.A1"
    assert emulator["board_platform"] == profiles.FactValue(
        "ranchu", "ro.soc.model", "ok"
    )  # ro.board.platform empty
    assert emulator["serial"].value == "EMULATOR33X1X24X0"
    phone = profiles.read_standard(shipped, props_of("samsung_s24"), no_shell)
    assert (
        phone["fingerprint"].value == "samsung/e1qzcx/e1q:14/UP1A.231005.007/S9210ZCU4AXK4:user/release-keys"
    )
    assert phone["security_patch"].value == "2024-09-01"


def test_every_shipped_profile_is_matched_by_a_fixture(shipped):
    matched = {
        profiles.match(shipped, props_of(n), device_toml(n).get("usb_vendor_id")).profile.id for n in EXPECTED
    }
    assert matched == set(shipped.profiles)


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_fixture_files_follow_the_format(name):
    folder = FIXTURES / name
    device = device_toml(name)
    assert (device["serial"], device["state"], device["transport"]) == DEVICES[name]
    assert set(device) <= {"serial", "state", "transport", "usb_vendor_id", "faults", "shell"}
    assert (folder / "NOTES.md").is_file()
    packages = tomllib.loads((folder / "packages.toml").read_text(encoding="utf-8")).get("package", [])
    for package in packages:
        assert {k: type(v) for k, v in package.items()} == PACKAGE_KEYS
    if device["state"] != "device":
        assert (folder / "getprop.txt").read_bytes() == b"" and not (folder / "fs").exists()
    if (folder / "screen.png").exists():
        assert (folder / "screen.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    if name != "samsung_s24":  # the real phone dump is kept whole
        assert sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) < 100_000


def test_logcat_fixture_holds_a_crash():
    data = (FIXTURES / "zebra_tc52" / "logcat.txt").read_bytes()
    crashes = logcat.crashes(data)
    assert [(c.tag, c.message, c.buffer) for c in crashes] == [
        ("AndroidRuntime", "FATAL EXCEPTION: main", "crash")
    ]
    assert len(logcat.parse(data)) == len(data.decode().splitlines()) - 3  # all but the 3 dividers
