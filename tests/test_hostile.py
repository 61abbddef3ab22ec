"""Issue 14: a hostile terminal or bundle gets nowhere.

Each test here was written against a finding of the security review and failed before the
fix: header injection through an RFC 2047 encoded word, sizes (sparse and oversized tar
members, huge output), redaction gaps, escaping per sink, quadratic work on hostile input.
The hostile terminals are served by tests/fake_adb (canned ``[shell]`` answers return raw
bytes, also for the exact ``run-as … tar`` command).
"""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from tests.bundle_util import FULL_FIELDS, collect, every_bundle_verifies, field_args  # noqa: F401 - autouse
from tsdtool import escapes
from tsdtool.bundle import desks, ticket
from tsdtool.bundle.manifest import BundleItem, Manifest

# The review's payload: decoded, it is "TC52\r\nReply-To: x@evil.example\r\nBcc: x@evil.example".
ENCODED_WORD = "=?utf-8?q?TC52=0D=0AReply-To:_x@evil.example=0D=0ABcc:_x@evil.example?="
RAW = "TC52\r\nBcc: raw@evil.example\r\n"
C1 = "\x9b31m\x1b]0;pwned\x07"
EXPECTED_HEADERS = {"Subject", "To", "From", "Date", "Message-ID", "X-Tsdtool-Bundle-SHA256", "MIME-Version",
                    "Content-Type"}


def hostile_manifest(payload: str) -> Manifest:
    """Every device- and bundle-sourced value that reaches a header holds ``payload``."""
    return Manifest(
        "0.1.0",
        "2024-05-14T09:30:00Z",
        host={"os_name": payload},
        device={"serial": payload, "vendor": payload, "manufacturer": payload, "model": payload,
                "android_release": payload},
        apps=[{"package": payload, "installed": True, "version_name": payload, "label": payload}],
        form={"description": payload, "project": payload, "product": payload, "contact_name": payload,
              "contact_email": "ivan@example.com", "summary": payload},
        items=[BundleItem("logcat.txt", "logcat", payload, sha256="0" * 64)],
    )


def _headers_of(raw: bytes) -> list[tuple[str, str]]:
    msg = email.message_from_bytes(raw, policy=policy.default)
    return [(k, str(v)) for k, v in msg.items()]


@pytest.mark.parametrize("payload", [ENCODED_WORD, RAW, C1, "=?utf-8?b?VEM1Mg0KQmNjOiB4QGV2aWwuZXhhbXBsZQ==?="])
@pytest.mark.parametrize("desk_id", ["grsoft", "cleverence", "generic"])
def test_no_header_value_from_a_terminal_or_a_bundle_adds_a_header(tmp_path, payload, desk_id):
    (tmp_path / "tampered").mkdir()
    bundle = tmp_path / "tampered" / f"tsd-{escapes.header(payload)[:20]}.zip"
    bundle.write_bytes(b"PK" + b"x" * 100)
    desk = desks.get(desk_id)
    # the --to address is the one value a person gives on the command line: it too may be hostile
    raw = bytes(ticket.message(hostile_manifest(payload), desk, bundle, to=f"desk@example.com{payload}"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    names = {k for k, _ in _headers_of(raw)}
    assert names <= EXPECTED_HEADERS, names - EXPECTED_HEADERS
    assert not [line for line in head.split(b"\r\n") if line.lower().startswith((b"bcc", b"reply-to"))], head
    for name, value in _headers_of(raw):
        assert "\r" not in value and "\n" not in value and "\x1b" not in value and "\x9b" not in value, name
    [att] = list(email.message_from_bytes(raw, policy=policy.default).iter_attachments())
    assert "\n" not in att.get_filename()


def test_the_sanitiser_leaves_one_printable_line_without_an_encoded_word():
    assert escapes.header(ENCODED_WORD) == ENCODED_WORD.replace("=?", "= ?")
    assert escapes.header("a\r\nb\x00c\u2028d\u202ee\udcff") == "a b c d e"
    assert escapes.header("Иван  Петров") == "Иван Петров"  # Cyrillic stays: the library encodes it
    for text in ("==??", "=?=?", "a=?" * 5):
        assert "=?" not in escapes.header(text)


def test_a_model_name_with_an_encoded_word_adds_no_header_to_the_eml(fake_server, tsd, tmp_path):
    from tests.fake_adb import make_fixture

    fx = make_fixture(tmp_path / "fx", "EVIL0001", model=ENCODED_WORD,
                      props={"ro.product.manufacturer": ENCODED_WORD, "ro.product.brand": ENCODED_WORD},
                      packages=[{"name": "com.example.app", "version_name": ENCODED_WORD}])
    server = fake_server(fx)
    out = tmp_path / "out"
    code, result, err = collect(tsd, server.port, out, "--desk", "grsoft", "--package", "com.example.app",
                                *field_args({**FULL_FIELDS, "project": ENCODED_WORD}))
    assert result is not None, err
    raw = Path(result["ticket"]["eml"]).read_bytes()
    names = {k for k, _ in _headers_of(raw)}
    assert names <= EXPECTED_HEADERS, names
    assert "Reply-To" not in names and "Bcc" not in names
