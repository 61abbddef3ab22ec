"""`tsdtool send` against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import socket
from email import policy
from pathlib import Path

import pytest

from tests.bundle_util import FULL_FIELDS, collect, every_bundle_verifies, field_args  # noqa: F401
from tsdtool.bundle import desks, ticket
from tsdtool.bundle.manifest import Manifest
from tsdtool.bundle.verify import open_bundle

PASSWORD = "s3cret-Pa55word"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """Keeps what arrived: envelope sender, recipients, raw message."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((user, password))
        return AuthResult(success=password == PASSWORD, handled=False)  # handled=False: reply 535


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, auth_require_tls=False
    )
    controller.start()
    inbox.address = f"127.0.0.1:{port}"
    yield inbox
    controller.stop()


@pytest.fixture
def bundle_for(fake_server, tsd, tmp_path):
    """``bundle_for("grsoft", fields...)`` → a fresh bundle of zebra_tc52 for that desk."""
    server = fake_server("zebra_tc52")

    def make(desk: str, *extra: str, fields: dict | None = None) -> Path:
        out = tmp_path / f"out-{desk}-{len(list(tmp_path.glob('out-*')))}"
        code, result, err = collect(
            tsd,
            server.port,
            out,
            "--desk",
            desk,
            "--package",
            "com.example.scanner.demo",
            *field_args(fields),
            *extra,
        )
        assert result is not None, err
        return Path(result["bundle"])

    return make


def _send(tsd, bundle: Path, *args):
    return tsd("send", bundle, *args)


def test_the_message_that_arrives_is_the_ticket_with_the_bundle(bundle_for, tsd, smtp):
    bundle = bundle_for("grsoft")
    code, out, err = _send(tsd, bundle, "--smtp", smtp.address)
    assert code == 0, err
    assert "info@grsoft.ru" in out and "sent" in out
    [(sender, rcpts, raw)] = smtp.messages
    assert sender == FULL_FIELDS["contact_email"] and rcpts == ["info@grsoft.ru"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    with open_bundle(bundle) as opened:
        manifest = opened.manifest
    desk = desks.get("grsoft")
    assert (
        msg["Subject"]
        == ticket.subject(desk, manifest)
        == f"[{FULL_FIELDS['project']}] {FULL_FIELDS['description']}"
    )
    body = msg.get_body(("plain",)).get_content()
    from tsdtool.texts import texts

    filled = ticket.values(manifest, texts(desk.language))  # as the desk reads them
    for requirement in desk.required:
        key = next(k for k in requirement.split("|") if filled.get(k))
        assert desk.label(key) in body and filled[key].splitlines()[0] in body, requirement
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == bundle.name
    assert attachment.get_content() == bundle.read_bytes()


def test_login_uses_the_environment_password_and_never_shows_or_stores_it(
    bundle_for, tsd, smtp, monkeypatch, tmp_path
):
    bundle = bundle_for("grsoft")
    monkeypatch.setenv("TSDTOOL_SMTP_PASSWORD", PASSWORD)
    code, out, err = _send(tsd, bundle, "--smtp", smtp.address, "--user", "ivan", "--insecure-plaintext")
    assert code == 0, err
    assert smtp.logins == [("ivan", PASSWORD)] and len(smtp.messages) == 1
    assert PASSWORD not in out + err
    assert "warning: --insecure-plaintext: the password of ivan goes to the server unencrypted" in err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_wrong_password_is_one_line_exit_1(bundle_for, tsd, smtp, monkeypatch):
    bundle = bundle_for("grsoft")
    monkeypatch.setenv("TSDTOOL_SMTP_PASSWORD", "wrong")
    code, _, err = _send(tsd, bundle, "--smtp", smtp.address, "--user", "ivan", "--insecure-plaintext")
    assert code == 1 and "refused the login for ivan" in err and "wrong" not in err
    assert smtp.messages == []


def test_no_password_and_nobody_to_ask_is_a_usage_error(bundle_for, tsd, smtp):
    bundle = bundle_for("grsoft")
    code, _, err = _send(tsd, bundle, "--smtp", smtp.address, "--user", "ivan", "--insecure-plaintext")
    assert code == 2 and "TSDTOOL_SMTP_PASSWORD" in err
    assert smtp.logins == [] and smtp.messages == []


def test_dry_run_shows_what_and_how_big_and_connects_to_nothing(bundle_for, tsd):
    bundle = bundle_for("grsoft")
    code, out, _ = _send(tsd, bundle, "--smtp", f"127.0.0.1:{free_port()}", "--dry-run")
    assert code == 0 and "dry run" in out
    assert "info@grsoft.ru" in out and bundle.name in out and "KB" in out and "limit 15 MB" in out


def test_an_oversize_bundle_is_refused_before_connecting_and_goes_as_a_link(bundle_for, tsd, smtp, tmp_path):
    bundle = bundle_for("grsoft")
    tiny = tmp_path / "desks"
    tiny.mkdir()
    source = Path(desks.get("grsoft").path).read_text("utf-8")
    (tiny / "grsoft.toml").write_text(source.replace("max_attachment_mb = 15", "max_attachment_mb = 0.001"))
    code, _, err = tsd("--profiles-dir", tiny, "send", bundle, "--smtp", smtp.address)
    assert code == 2 and "over GRSoft's 0.001 MB limit" in err and "--link" in err
    assert smtp.messages == []
    code, _, err = tsd(
        "--profiles-dir", tiny, "send", bundle, "--smtp", smtp.address, "--link", "https://x.example/b"
    )
    assert code == 0, err
    msg = email.message_from_bytes(smtp.messages[0][2], policy=policy.default)
    assert list(msg.iter_attachments()) == [] and "https://x.example/b" in msg.get_body().get_content()


def test_a_portal_desk_needs_an_address(bundle_for, tsd, smtp):
    bundle = bundle_for("cleverence")
    code, _, err = _send(tsd, bundle, "--smtp", smtp.address)
    assert code == 2 and "support portal" in err and "--to" in err
    code, _, err = _send(tsd, bundle, "--smtp", smtp.address, "--to", "support@example.com")
    assert code == 0, err
    assert smtp.messages[0][1] == ["support@example.com"]


def test_a_ticket_that_is_not_ready_is_refused_until_the_fields_are_given(bundle_for, tsd, smtp):
    fields = {k: v for k, v in FULL_FIELDS.items() if k not in ("impact", "affected_users")}
    bundle = bundle_for("grsoft", fields=fields)
    code, _, err = _send(tsd, bundle, "--smtp", smtp.address)
    assert code == 2 and "impact" in err and "affected_users" in err
    code, _, err = _send(
        tsd, bundle, "--smtp", smtp.address, "--field", "impact=Gate 3 stops", "--field", "affected_users=4"
    )
    assert code == 0, err
    body = email.message_from_bytes(smtp.messages[0][2], policy=policy.default).get_body().get_content()
    assert "Gate 3 stops" in body
    with open_bundle(bundle) as opened:  # the bundle itself is never rewritten
        assert "impact" not in opened.manifest.form


def test_a_gap_only_a_new_collect_fills_says_so_instead_of_asking_for_a_field(bundle_for, tsd, smtp):
    fields = {k: v for k, v in FULL_FIELDS.items() if k != "impact"}
    bundle = bundle_for("grsoft", "--no-db", fields=fields)
    code, _, err = _send(tsd, bundle, "--smtp", smtp.address)
    line = err.strip().splitlines()[-1]
    assert code == 2 and "missing" in line and "database" in line and "impact" in line, err
    fix = line.partition(" — ")[2]
    assert fix.startswith("add impact with --field KEY=VALUE; collect again for database: --package PKG"), line
    assert "add database" not in fix and not smtp.messages
    code, _, err = _send(tsd, bundle, "--smtp", smtp.address, "--field", "impact=Gate 3 stops")
    fix = err.strip().splitlines()[-1].partition(" — ")[2]
    assert code == 2 and fix.startswith("collect again for database: --package PKG") and "--root" in fix, err
    assert "--field" not in fix and not smtp.messages


def test_server_problems_are_one_line_exit_1(bundle_for, tsd, smtp):
    bundle = bundle_for("grsoft")
    code, _, err = _send(tsd, bundle, "--smtp", f"127.0.0.1:{free_port()}")
    assert code == 1 and "cannot reach 127.0.0.1" in err and len(err.strip().splitlines()) == 1
    code, _, err = _send(tsd, bundle, "--smtp", smtp.address, "--starttls")
    assert code == 1 and "STARTTLS" in err
    code, _, err = _send(tsd, bundle, "--smtp", "no-port")
    assert code == 2 and "HOST:PORT" in err


def test_manifest_round_trip_keeps_what_send_needs(bundle_for):
    with open_bundle(bundle_for("generic")) as opened:
        manifest = opened.manifest
    assert isinstance(manifest, Manifest) and manifest.profiles["desk"] == "generic"
    assert manifest.form["contact_email"] == FULL_FIELDS["contact_email"]


def self_signed(tmp_path: Path):
    """A throw-away CA-less certificate for localhost (openssl: installed by .ci/run, required in CI)."""
    import os
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        if os.environ.get("CI"):
            pytest.fail("openssl is required in CI")
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def test_a_login_without_tls_is_refused_before_connecting(bundle_for, tsd, smtp, monkeypatch):
    bundle = bundle_for("grsoft")
    monkeypatch.setenv("TSDTOOL_SMTP_PASSWORD", PASSWORD)
    code, out, err = _send(tsd, bundle, "--smtp", smtp.address, "--user", "ivan")
    assert code == 2 and "unencrypted" in err and "--starttls" in err and "--ssl" in err
    assert len(err.strip().splitlines()) <= 2 and PASSWORD not in out + err
    assert smtp.logins == [] and smtp.messages == []
    code, _, err = _send(tsd, bundle, "--smtp", smtp.address, "--user", "ivan", "--ssl", "--starttls")
    assert code == 2 and "exclude" in err


def test_ssl_speaks_tls_from_the_first_byte_and_verifies_the_certificate(bundle_for, tsd, tmp_path, monkeypatch):
    from aiosmtpd.controller import Controller

    cert, context = self_signed(tmp_path)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context,
                            authenticator=inbox.authenticate, auth_require_tls=False)
    controller.start()
    try:
        bundle = bundle_for("grsoft")
        monkeypatch.setenv("TSDTOOL_SMTP_PASSWORD", PASSWORD)
        code, _, err = _send(tsd, bundle, "--smtp", f"localhost:{port}", "--ssl", "--user", "ivan")
        assert "CERTIFICATE_VERIFY_FAILED" in err and code == 1, err  # self-signed, not trusted: refused
        assert inbox.logins == [] and inbox.messages == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now the system trusts it
        code, _, err = _send(tsd, bundle, "--smtp", f"localhost:{port}", "--ssl", "--user", "ivan")
        assert code == 0, err
        assert inbox.logins == [("ivan", PASSWORD)] and len(inbox.messages) == 1
        code, _, err = _send(tsd, bundle, "--smtp", f"127.0.0.1:{port}", "--ssl", "--user", "ivan")
        assert code == 1 and "127.0.0.1" in err and len(inbox.messages) == 1  # the name must match too
    finally:
        controller.stop()


def test_starttls_upgrades_and_verifies_the_server(bundle_for, tsd, tmp_path, monkeypatch):
    """A real TLS upgrade: a throw-away CA-less certificate for localhost, trusted via SSL_CERT_FILE."""
    from aiosmtpd.controller import Controller

    cert, context = self_signed(tmp_path)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=inbox.authenticate)
    controller.start()
    try:
        bundle = bundle_for("grsoft")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        monkeypatch.setenv("TSDTOOL_SMTP_PASSWORD", PASSWORD)
        code, _, err = _send(tsd, bundle, "--smtp", f"localhost:{port}", "--starttls", "--user", "ivan")
        assert code == 0, err
        assert inbox.logins == [("ivan", PASSWORD)] and len(inbox.messages) == 1
        monkeypatch.delenv("SSL_CERT_FILE")  # an untrusted certificate is refused, never sent to
        code, _, err = _send(tsd, bundle, "--smtp", f"localhost:{port}", "--starttls", "--user", "ivan")
        assert code == 1 and "CERTIFICATE_VERIFY_FAILED" in err and len(inbox.messages) == 1
    finally:
        controller.stop()
