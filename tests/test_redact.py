"""--redact: identifiers become per-bundle tokens; the same value gives the same token."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsdtool.bundle.redact import Redactor, is_text, luhn_ok, redact_manifest

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


# -- exact output: each value its own token, in its place, keys kept ------------------------------

KEY = b"k" * 32


def _token(kind: str, normal: str) -> str:
    """The oracle: HMAC-SHA256 of ``kind:normalised value`` under the bundle's key, first 10 hex digits."""
    import hashlib
    import hmac

    return f"<{kind.upper()}-{hmac.new(KEY, f'{kind}:{normal}'.encode(), hashlib.sha256).hexdigest()[:10]}>"


def test_every_identifier_is_replaced_in_place_by_its_own_token():
    r = Redactor(["R58M12345AB", "TSD9"], key=KEY)
    imei2 = "356938035643809"  # Luhn-valid, another terminal
    text = (
        f"[ro.serialno]: [R58M12345AB]\n"
        f"imei={IMEI} imei2={imei2} again {IMEI}\n"
        "wlan0 a4:5e:60:e8:12:3f eth0 A4-5E-60-E8-12-40\n"
        "call +7 (495) 123-45-67 or 8 (916) 123-45-67, mail Ivan.Petrov@example.co.uk, b@example.org\n"
        "serial_number=ABC12345 SerialNo: XYZ-9876 ro.boot.serialno=QWE12345 serial=abc\n"
    )
    assert r.text(text) == (
        f"[ro.serialno]: [{_token('serial', 'R58M12345AB')}]\n"
        f"imei={_token('imei', IMEI)} imei2={_token('imei', imei2)} again {_token('imei', IMEI)}\n"
        f"wlan0 {_token('mac', 'a45e60e8123f')} eth0 {_token('mac', 'a45e60e81240')}\n"
        f"call {_token('phone', '74951234567')} or {_token('phone', '79161234567')}, "
        f"mail {_token('email', 'ivan.petrov@example.co.uk')}, {_token('email', 'b@example.org')}\n"
        f"serial_number={_token('serial', 'ABC12345')} SerialNo: {_token('serial', 'XYZ-9876')} "
        f"ro.boot.serialno={_token('serial', 'QWE12345')} serial=abc\n"  # under 4 characters: not a serial
    )
    assert dict(r.counts) == {"serial": 4, "imei": 3, "mac": 2, "phone": 2, "email": 2}


def test_tokens_differ_per_value_per_kind_and_per_key():
    r = Redactor(key=KEY)
    tokens = {r.token("imei", v) for v in (IMEI, "356938035643809")} | {r.token("serial", IMEI)}
    assert len(tokens) == 3
    assert r.token("serial", " ABC1 ") == r.token("serial", "ABC1") == _token("serial", "ABC1")
    assert r.token("mac", "A4-5E-60-E8-12-3F") == r.token("mac", "a4:5e:60:e8:12:3f")
    assert r.token("phone", "+7 916 123-45-67") == r.token("phone", "89161234567") == _token("phone", "79161234567")
    assert r.token("phone", "+44 20 7946 0958") == _token("phone", "442079460958")
    assert r.token("phone", "+86 10 1234 5678") == _token("phone", "861012345678")  # only 8 + 10 digits is Russian
    assert r.token("phone", "8 (916) 123-45-6") == _token("phone", "8916123456")
    assert Redactor(key=b"x" * 32).token("imei", IMEI) != r.token("imei", IMEI)
    assert Redactor().token("imei", IMEI) != Redactor().token("imei", IMEI)  # a random key per bundle


def test_the_longest_known_serial_wins_and_short_ones_are_ignored():
    r = Redactor(["ABCD", "ABCD1234", "XYZ", ""], key=KEY)
    assert r.text("ABCD1234 ABCD XYZ") == f"{_token('serial', 'ABCD1234')} {_token('serial', 'ABCD')} XYZ"


def test_placeholder_macs_and_tokens_are_left_alone():
    r = Redactor(key=KEY)
    text = "00:00:00:00:00:00 ff:ff:ff:ff:ff:ff 02:00:00:00:00:00 serialno=<SERIAL-0123456789>"
    assert r.text(text) == text and not r.counts


@pytest.mark.parametrize(
    ("digits", "ok"),
    [(IMEI, True), ("490154203237519", False), ("79927398713", True), ("79927398710", False), ("18", True),
     ("0", True), ("59", True), ("91", True), ("19", False), ("42", True), ("24", False)],
)
def test_luhn(digits, ok):
    assert luhn_ok(digits) is ok


def test_value_keeps_keys_and_non_strings_exactly():
    r = Redactor(["TSD0001"], key=KEY)
    data = {"serial": "TSD0001", "nested": [{"mail": "a@b.org", "n": 1.5}, None, True], "n": 5, "TSD0001": "k"}
    assert r.value(data) == {
        "serial": _token("serial", "TSD0001"),
        "nested": [{"mail": _token("email", "a@b.org"), "n": 1.5}, None, True],
        "n": 5,
        "TSD0001": "k",  # keys are names the desk needs, never values
    }


def test_stream_redacts_line_by_line():
    r = Redactor(key=KEY)
    out = list(r.stream([b"a\xff a@b.org\r\n", b"\n", f"imei {IMEI}".encode()]))
    assert out == [b"a\xff " + _token("email", "a@b.org").encode() + b"\r\n", b"\n",
                   f"imei {_token('imei', IMEI)}".encode()]


@pytest.mark.parametrize("name", ["a.txt", "a.LOG", "f.json", "x.xml", "t.csv", "s.ini", "c.cfg", "n.conf",
                                  "p.properties", "r.md", "traces.trace", "logs/logcat.txt.part"])
def test_text_suffixes(name):
    assert is_text(name)


@pytest.mark.parametrize("name", ["a.db", "a.txt.gz", "shot.png", "a.part", "txt", "a.db-wal"])
def test_not_text(name):
    assert not is_text(name)


_IDS = st.sampled_from([
    ("imei", IMEI, IMEI), ("imei", "356938035643809", "356938035643809"),
    ("mac", "a4:5e:60:e8:12:3f", "a45e60e8123f"), ("mac", "0A-1B-2C-3D-4E-5F", "0a1b2c3d4e5f"),
    ("email", "Ivan@Example.com", "ivan@example.com"), ("email", "x.y@mail.ru", "x.y@mail.ru"),
    ("phone", "+7 916 123-45-67", "79161234567"), ("phone", "8 (495) 765-43-21", "74957654321"),
])
_WORDS = st.sampled_from(["ok", "E/Tag:", "scan", "12", "версия", "3.3.0.28766", "—", "(x)"])


@given(st.lists(st.one_of(_IDS, _WORDS), max_size=12))
def test_redacted_text_matches_the_oracle(parts):
    """The pair of the "never raises" property: known identifiers among plain words come out as the
    oracle's tokens, and every other word as it was."""
    r = Redactor(key=KEY)
    text = " ".join(p if isinstance(p, str) else p[1] for p in parts)
    expected = " ".join(p if isinstance(p, str) else _token(p[0], p[2]) for p in parts)
    assert r.text(text) == expected
    assert sum(r.counts.values()) == sum(not isinstance(p, str) for p in parts)


def test_spaced_and_dashed_imeis_and_imeisvs_share_the_plain_digits_token():
    """IMEIs as 2-6-6-1 and 8-6-1, IMEISVs after their label and dashed 2-6-6-2 alone: each token is
    the one of its bare digits (so the same terminal reads the same whichever way a log wrote it)."""
    r = Redactor(key=KEY)
    sv = "3520990017614823"
    text = (f"a 49-015420-323751-8 b 49015420 323751 8 c IMEISV: {sv} d svn=35 209900 176148 23 "
            "e 35-209900-176148-23\n")
    assert r.text(text) == (
        f"a {_token('imei', IMEI)} b {_token('imei', IMEI)} c IMEISV: {_token('imei', sv)} "
        f"d svn={_token('imei', sv)} e {_token('imei', sv)}\n"
    )
    assert dict(r.counts) == {"imei": 5}
    assert r.text("x 49-015420-323751-9 y") == "x 49-015420-323751-9 y"  # a dashed number failing Luhn stays


def test_numeric_serials_are_compared_by_their_digits():
    r = Redactor(key=KEY)
    assert r.token("serial", "1234 5678-90") == r.token("serial", "1234567890") == _token("serial", "1234567890")
    assert r.token("serial", "AB 12") == _token("serial", "AB 12")  # not all digits: kept as written


def test_bare_and_dotted_macs_need_a_letter_and_a_real_address():
    r = Redactor(key=KEY)
    text = "m a45e60e8123f n A45E.60E8.123F o 123456789012 p 1234.5678.9012 q 020000000000 r 0000.0000.0000\n"
    mac = _token("mac", "a45e60e8123f")
    assert r.text(text) == f"m {mac} n {mac} o 123456789012 p 1234.5678.9012 q 020000000000 r 0000.0000.0000\n"
    assert dict(r.counts) == {"mac": 2}


def test_a_name_keeps_its_place_and_loses_the_brackets():
    r = Redactor(["TSD0001"], key=KEY)
    imei = _token("imei", IMEI)[1:-1]
    assert r.name(f"logs/traces_{IMEI}.txt") == f"logs/traces_{imei}.txt"
    serial, mail = _token("serial", "TSD0001")[1:-1], _token("email", "a@b.org")[1:-1]
    assert r.name("apps/TSD0001/a@b.org/x.db") == f"apps/{serial}/{mail}/x.db"
    assert r.name("logs/logcat.txt") == "logs/logcat.txt"


@pytest.mark.parametrize(
    ("path", "head", "text"),
    [
        ("anr/traces", b"----- pid 4711 -----\n", True),  # no suffix: its bytes say text
        ("logs/app.log.1", b"E/x: boom\n", True),
        ("tombstone_00", b"abc\0def", False),  # a NUL byte: binary
        ("logs/a.log", b"x" * 8192 + b"\0", True),  # only the first 8 KiB are looked at
        ("logs/a.log", b"SQLite format 3\0rest", False),  # a signature beats a text suffix
        ("logs/a.log", b"\x1f\x8b\x08\x00", False),
        ("a.db", b"plain words", False),  # a binary suffix beats text bytes
        ("logs/a.log", b"", True),  # empty is text
    ],
)
def test_is_text_judges_by_the_bytes_when_given(path, head, text):
    assert is_text(path, head) is text


def test_redact_manifest_rewrites_every_value_but_the_contact_and_the_keys():
    from tsdtool.bundle.manifest import Manifest

    r = Redactor(["TSD0001"], key=KEY)
    m = Manifest("1.0", "2026-01-01T00:00:00Z", host={"user_mail": "a@b.org"}, device={"serial": "TSD0001"},
                 apps=[{"package": "p", "note": "TSD0001"}], options={"serial": "TSD0001"},
                 form={"contact_email": "me@x.org", "contact_phone": "+7 916 123-45-67", "contact_name": "TSD0001",
                       "description": "scanner TSD0001 mail a@b.org"},
                 databases=[{"path": "apps/TSD0001/a.db", "check": "ok TSD0001"}, {"check": "none"}])
    redact_manifest(r, m)
    serial, mail = _token("serial", "TSD0001"), _token("email", "a@b.org")
    assert (m.host, m.device, m.apps, m.options) == (
        {"user_mail": mail}, {"serial": serial}, [{"package": "p", "note": serial}], {"serial": serial})
    assert m.form == {"contact_email": "me@x.org", "contact_phone": "+7 916 123-45-67", "contact_name": "TSD0001",
                      "description": f"scanner {serial} mail {mail}"}
    assert m.databases == [{"path": f"apps/{serial[1:-1]}/a.db", "check": f"ok {serial}"}, {"check": "none"}]
