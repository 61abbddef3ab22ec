"""--redact: identifiers become per-bundle tokens; the same value gives the same token."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tsdtool.bundle.redact import Redactor, is_text, luhn_ok

IMEI = "490154203237518"  # Luhn-valid (the GSMA example)
TOKEN = re.compile(r"<(IMEI|SERIAL|MAC|PHONE|EMAIL)-[0-9a-f]{10}>")


def test_each_kind_is_replaced_and_counted():
    r = Redactor(["R58M12345AB"])
    text = (
        f"[ro.serialno]: [R58M12345AB]\nimei={IMEI} wlan0 a4:5e:60:e8:12:3f\n"
        "call +7 (495) 123-45-67, mail Ivan.Petrov@example.co.uk\nserial_number=ABC12345\n"
    )
    out = r.text(text)
    for secret in (
        "R58M12345AB",
        IMEI,
        "a4:5e:60:e8:12:3f",
        "123-45-67",
        "Ivan.Petrov@example.co.uk",
        "ABC12345",
    ):
        assert secret not in out
    assert dict(r.counts) == {"serial": 2, "imei": 1, "mac": 1, "phone": 1, "email": 1}
    assert len(TOKEN.findall(out)) == 6


def test_same_value_same_token_within_a_bundle_and_not_across():
    a, b = Redactor(), Redactor()
    first = a.text("x ivan@example.com y")
    assert a.text("IVAN@example.com") == first.split()[1]  # e-mail case does not matter
    assert a.text("+79161234567") == a.text("8 (916) 123-45-67")  # one phone, two spellings
    assert b.text("x ivan@example.com y") != first


def test_things_that_only_look_like_identifiers_stay():
    r = Redactor()
    text = (
        "05-14 09:12:09.131  4711  4711 E AndroidRuntime: FATAL EXCEPTION: main\n"
        "version 3.3.0.28766 build 14-32-12.00-UG-U00 ip 192.168.10.5:10501 "
        "id 123456789012345 mac 02:00:00:00:00:00 2024-05-12 14:02:47\n"
    )
    assert r.text(text) == text  # 123456789012345 fails Luhn; 02:00:… is Android's placeholder
    assert not r.counts


def test_redacting_twice_changes_nothing_more():
    r = Redactor(["SER12345"])
    once = r.text(f"SER12345 {IMEI} a@b.org")
    count = sum(r.counts.values())
    assert r.text(once) == once
    assert sum(r.counts.values()) == count


def test_stream_keeps_invalid_utf8_and_line_ends():
    r = Redactor()
    lines = [b"ok \xff\xfe bytes\r\n", f"imei {IMEI}\n".encode()]
    out = list(r.stream(lines))
    assert out[0] == lines[0]
    assert out[1].endswith(b"\n") and IMEI.encode() not in out[1]


def test_value_walks_json_and_keeps_keys():
    r = Redactor(["TSD0001"])
    data = {"serial": "TSD0001", "nested": [{"mail": "a@b.org"}], "n": 5}
    out = r.value(data)
    assert set(out) == {"serial", "nested", "n"} and out["n"] == 5
    assert out["serial"].startswith("<SERIAL-") and out["nested"][0]["mail"].startswith("<EMAIL-")


def test_text_items_by_name():
    assert is_text("logs/logcat.txt") and is_text("device/facts.json") and is_text("logs/logcat.txt.part")
    assert not is_text("apps/x/internal/databases/a.db") and not is_text("screenshot.png")


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_imei_only_when_luhn_valid(digits):
    r = Redactor()
    out = r.text(f"imei {digits} end")
    assert (digits not in out) == luhn_ok(digits)


@given(st.text(max_size=200))
def test_never_raises_and_tokens_are_stable(text):
    r = Redactor(["ABCD1234"])
    once = r.text(text)
    assert r.text(once) == once
