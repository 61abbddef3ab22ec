"""``tsdtool send``: mail a bundle's ticket to its desk over SMTP.

The message is rebuilt from the bundle (manifest + desk profile), so the attachment is
byte-for-byte the bundle on disk. Everything is checked before connecting: the address,
the ticket's required fields, and the bundle's size against the desk's limit (a bundle
over it goes as a link given with ``--link``). The SMTP password comes from
``TSDTOOL_SMTP_PASSWORD`` or a prompt; it is never an option, never logged, never stored.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tsdtool import errors
from tsdtool.bundle import desks, fields, form, plan, ticket
from tsdtool.bundle.desks import Desk
from tsdtool.bundle.manifest import Manifest

if TYPE_CHECKING:
    from email.message import EmailMessage

PASSWORD_ENV = "TSDTOOL_SMTP_PASSWORD"


class SendError(errors.TsdError):
    """The SMTP server refused the connection, the login or the message."""

    fix = "check --smtp HOST:PORT, --starttls or --ssl, --user and the password in TSDTOOL_SMTP_PASSWORD"


@dataclass
class SendOptions:
    smtp: str = ""  # HOST:PORT
    to: str = ""
    starttls: bool = False
    user: str = ""
    dry_run: bool = False
    link: str = ""  # where an oversize bundle was uploaded
    fields: Sequence[str] = ()  # KEY=VALUE added to the ticket now
    profile_dirs: Sequence[Path] = ()
    config_dir: Path | None = None
    timeout: float = 30.0
    ssl: bool = False  # implicit TLS from the first byte (SMTPS, port 465)
    insecure_plaintext: bool = False  # allow --user over a connection with no TLS

    @property
    def tls(self) -> bool:
        return self.starttls or self.ssl


@dataclass
class SendPlan:
    """What would go out; :func:`prepare` checks it all without touching the network."""

    bundle: Path
    desk: Desk
    to: str
    sender: str
    message: EmailMessage
    attachment: ticket.Attachment
    manifest: Manifest

    @property
    def size(self) -> int:
        return len(bytes(self.message))

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


@dataclass
class SendResult:
    plan: SendPlan
    sent: bool
    refused: dict[str, str] = field(default_factory=dict)  # recipient → server reply
    cancelled: bool = False  # the person said no at the prompt


def parse_smtp(spec: str) -> tuple[str, int]:
    if not spec:
        raise errors.UsageError("send needs the mail server: --smtp HOST:PORT",
                                fix="for example --smtp mail.example.com:587 --starttls, or --dry-run to only look")
    host, sep, port = spec.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise errors.UsageError(
            f"--smtp {spec!r} is not HOST:PORT", fix="for example --smtp mail.example.com:587 --starttls"
        )
    return host.strip("[]"), int(port)


def prepare(bundle: Path, options: SendOptions) -> SendPlan:
    """Build the message and check address, required fields and size; raise UsageError on any gap."""
    from tsdtool.bundle.verify import open_bundle

    extra = form.parse_field_args(options.fields)
    with open_bundle(bundle) as opened:
        manifest = opened.manifest
    desk = desks.get(manifest.profiles.get("desk"), options.profile_dirs)
    for key, value in extra.items():
        plan.check_field(desk, key, value, "--field")
    manifest.form = {**manifest.form, **{k: v for k, v in extra.items() if v}}
    to = options.to or form.desk_address(desk.id, options.config_dir) or desk.to
    if not to:
        where = (
            "takes requests on its support portal"
            if desk.channel == "portal"
            else "has no address in its profile"
        )
        raise errors.UsageError(
            f"desk {desk.name} {where}: no address to send to",
            fix="give one with --to ADDR (or [desk.<id>] to in config.toml)",
        )
    if any(c in to for c in "\r\n\x00") or "@" not in to:
        raise errors.UsageError(f"--to {to!r} is not one e-mail address", fix="for example --to support@example.com")
    filled = ticket.values(manifest)
    gaps, wrong = ticket.missing(desk, filled), ticket.invalid(desk, filled)
    if gaps:
        labels = ", ".join(f"{desk.requirement_label(g)} ({g}{': ' + wrong[g] if g in wrong else ''})"
                           for g in gaps)
        raise errors.UsageError(f"the ticket is not ready: missing {labels}", fix=_gap_fix(desk, gaps))
    attachment = ticket.attachment_for(Path(bundle), desk, options.link)
    if not attachment.attached and not options.link:
        raise errors.UsageError(
            f"the bundle is {attachment.size / 1048576:.1f} MB, "
            f"over {desk.name}'s {desk.max_attachment_mb:g} MB limit",
            fix="upload it and pass the link with --link URL",
        )
    message = ticket.message(manifest, desk, Path(bundle), to=to, link=options.link)
    sender = fields.mailbox(manifest.form.get("contact_email") or options.user)
    if not sender:
        raise errors.UsageError(
            "no sender address: the ticket has no contact_email",
            fix="add it with --field contact_email=you@example.com",
        )
    return SendPlan(Path(bundle), desk, to, sender, message, attachment, manifest)


def _gap_fix(desk: Desk, gaps: list[str]) -> str:
    """What fills each gap: a typed field by --field; what tsdtool collects (the database, the
    app's version, …) only by collecting again, with the option its field rule names."""
    typed = [g for g in gaps if not all(desk.rule(k).auto for k in fields.alternatives(g))]
    collected = [g for g in gaps if g not in typed]
    fixes = [f"add {' and '.join(typed)} with --field KEY=VALUE"] if typed else []
    for gap in collected:
        key = fields.alternatives(gap)[0]
        fixes.append(f"collect again for {gap}: {(desk.rules.get(key) or fields.field(key)).fix or 'see the report'}")
    return "; ".join(fixes)


def deliver(plan: SendPlan, options: SendOptions, password: str | None) -> SendResult:
    """Connect, optionally STARTTLS and log in, and send the message."""
    import smtplib
    import ssl

    host, port = parse_smtp(options.smtp)
    try:
        # The system's trust store and host name checks, always (create_default_context).
        context = ssl.create_default_context()
        if options.ssl:
            smtp = smtplib.SMTP_SSL(host, port, timeout=options.timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=options.timeout)
        with smtp:
            if options.starttls:
                smtp.starttls(context=context)
            if options.user:
                smtp.login(options.user, password or "")
            refused = smtp.send_message(plan.message, from_addr=plan.sender, to_addrs=[plan.to])
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"{host}:{port} refused the login for {options.user} ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"{host}:{port} refused {plan.to}: {_reply(exc.recipients.get(plan.to))}") from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise SendError(f"{host}:{port}: {exc}") from None
    except OSError as exc:
        raise SendError(f"cannot reach {host}:{port} ({exc.strerror or exc})") from None
    return SendResult(plan, True, {k: _reply(v) for k, v in refused.items()})


def check_tls(options: SendOptions) -> None:
    """A login only over TLS: without it the password crosses the network in clear."""
    if options.starttls and options.ssl:
        raise errors.UsageError("--starttls and --ssl exclude each other",
                                fix="--ssl for port 465 (TLS from the start), --starttls for 587")
    if options.user and not options.tls and not options.insecure_plaintext:
        raise errors.UsageError(
            f"--user {options.user} without --starttls or --ssl would send the password unencrypted",
            fix="add --starttls (port 587) or --ssl (port 465); --insecure-plaintext only on a trusted network",
        )


def _reply(answer: object) -> str:
    if isinstance(answer, tuple) and len(answer) == 2:
        code, text = answer
        return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
    return str(answer)


def send(
    bundle: Path,
    options: SendOptions,
    *,
    show: Callable[[SendPlan], None],
    confirm: Callable[[SendPlan], bool] | None = None,
    ask_password: Callable[[str], str] | None = None,
    env: Mapping[str, str] | None = None,
    warn: Callable[[str], None] = lambda message: None,
) -> SendResult:
    """Prepare, show, confirm (when someone can answer), then deliver — unless ``dry_run``.

    Args:
        show: renders the plan for a person (what, to whom, how big).
        confirm: asks "send it?"; None when nobody can answer (no TTY): then it just sends.
        ask_password: prompts for the SMTP password when ``--user`` is set and the
            environment has none; None when nobody can answer.
        warn: prints a warning (the password going out unencrypted with --insecure-plaintext).
    """
    env = os.environ if env is None else env
    if not options.dry_run:
        parse_smtp(options.smtp)
    check_tls(options)
    if options.user and not options.tls:
        warn(f"--insecure-plaintext: the password of {options.user} goes to the server unencrypted")
    plan = prepare(bundle, options)
    show(plan)
    if options.dry_run:
        return SendResult(plan, False)
    password = None
    if options.user:
        password = env.get(PASSWORD_ENV) or None
        if password is None:
            if ask_password is None:
                raise errors.UsageError(f"no SMTP password for {options.user}", fix=f"set {PASSWORD_ENV}")
            password = ask_password(options.user)
    if confirm is not None and not confirm(plan):
        return SendResult(plan, False, cancelled=True)
    return deliver(plan, options, password)
