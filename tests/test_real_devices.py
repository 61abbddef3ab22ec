"""Vendor recognition against real published device data (tests/artifacts/real_devices/README.md).

Two recorded sets, each cited in the README and kept as found (values unchanged, rows filtered):

* every rugged-vendor row of Google Play's device catalog of December 2025: the real
  ``ro.product.brand`` and ``ro.product.device`` of 341 terminals of 20 makers;
* the identity properties of 164 ordinary phones' full ``adb shell getprop`` dumps.

The expected vendor of a catalog row is written out by hand from the catalog's own maker column
(BY_MAKER below), never computed from the profiles' regexes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tsdtool.devices import profiles

ARTIFACTS = Path(__file__).parent / "artifacts" / "real_devices"
SHIPPED = profiles.load_device_profiles(include_user_dir=False)

# The catalog's "Manufacturer" column (Play's name for the maker) -> the profile its terminals must get
BY_MAKER = {"Bluebird": "bluebird", "CHAINWAY": "chainway", "CILICO": "cilico", "Casio": "casio",
            "Cipherlab": "cipherlab", "Datalogic": "datalogic", "Denso Wave": "denso", "Honeywell": "honeywell",
            "KEYENCE": "keyence", "Kaicom": "kaicom", "M3 Mobile": "m3mobile", "MINDEO": "mindeo",
            "Newland": "newland", "Point Mobile": "pointmobile", "PointMobile": "pointmobile", "Seuic": "seuic",
            "Sunmi": "sunmi", "Unitech": "unitech", "Urovo": "urovo", "Zebra": "zebra", "iData": "idata"}
# Listed under Honeywell but branded HuoSheng: neither its brand nor its device name is Honeywell's,
# so nothing on the terminal says Honeywell (the 2022 Play list test leaves it to generic too)
NOT_CLAIMED = {("HuoSheng", "HMS-PD-X1C-3")}


def rows(name: str) -> list[dict[str, str]]:
    with (ARTIFACTS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


CATALOG = rows("play_device_catalog_rugged.csv")
PHONES = rows("consumer_phones_getprop.csv")


def test_the_recorded_sets_are_whole():
    assert len(CATALOG) == 341 and len(PHONES) == 164
    assert {r["Manufacturer"] for r in CATALOG} == set(BY_MAKER)


def test_every_rugged_terminal_of_the_play_catalog_is_known_by_its_brand():
    wrong = []
    for row in CATALOG:
        expected = "generic" if (row["Brand"], row["Device"]) in NOT_CLAIMED else BY_MAKER[row["Manufacturer"]]
        found = profiles.match(SHIPPED, {"ro.product.brand": row["Brand"], "ro.product.device": row["Device"]})
        first = found.evidence[0] if found.evidence else None
        sure = expected == "generic" or (found.confidence, first and first.source) == ("strong", "ro.product.brand")
        if found.profile.id != expected or not sure:
            wrong.append((row["Brand"], row["Device"], found.profile.id, found.confidence))
    assert wrong == []


def test_the_brand_spellings_terminals_really_report():
    # Build.BRAND as the catalog records it: upper, lower and mixed case, joined words (DENSOWAVE,
    # POINTMOBILE), a bare "M3"; each must name its own vendor and no other
    spellings = {(r["Brand"], BY_MAKER[r["Manufacturer"]]) for r in CATALOG
                 if (r["Brand"], r["Device"]) not in NOT_CLAIMED}
    assert {"CASIO", "casio", "CHAINWAY", "chainway", "UROVO", "Urovo", "unitech", "Unitech", "DENSOWAVE",
            "POINTMOBILE", "M3", "MINDEO", "KAICOM", "SEUIC", "SUNMI"} <= {brand for brand, _ in spellings}
    for brand, vendor in sorted(spellings):
        assert profiles.match(SHIPPED, {"ro.product.brand": brand}).profile.id == vendor, brand


def test_a_terminals_device_name_alone_never_names_another_vendor():
    # without brand or manufacturer a device name is weak evidence: its own vendor, or nobody
    crossed = []
    for row in CATALOG:
        found = profiles.match(SHIPPED, {"ro.product.device": row["Device"]})
        if found.profile.id not in ("generic", BY_MAKER[row["Manufacturer"]]) or found.ties:
            crossed.append((row["Manufacturer"], row["Device"], found.profile.id, found.ties))
    assert crossed == []


def phone_props(row: dict[str, str], *, named: bool = True) -> dict[str, str]:
    props = {k: v for k, v in row.items() if k.startswith("ro.") and v}
    props.update(json.loads(row["other"]))
    if not named:  # the names alone: no manufacturer or brand under any partition
        props = {k: v for k, v in props.items() if not k.endswith((".manufacturer", ".brand"))}
    return props


@pytest.mark.parametrize("named", [True, False], ids=["whole", "names-alone"])
def test_no_real_phone_is_taken_for_a_terminal(named):
    # whole, the rejected list is empty too: the consumer-maker veto is not what keeps them out,
    # no weak rule matched a single real phone's names
    taken = []
    for row in PHONES:
        found = profiles.match(SHIPPED, phone_props(row, named=named))
        if found.profile.id != "generic" or found.evidence or found.rejected or found.ties:
            taken.append((row["file"], found.profile.id, found.rejected))
    assert taken == []
