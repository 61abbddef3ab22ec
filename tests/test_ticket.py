"""Desk profiles, the form's sources, and the ticket each desk gets."""

from __future__ import annotations

import email
from email import policy

import pytest

from tests.bundle_util import every_bundle_verifies  # noqa: F401 - autouse: every bundle must verify
from tsdtool import errors
from tsdtool.bundle import desks, form, ticket
from tsdtool.bundle.manifest import BundleItem, Manifest

SHIPPED = ("cleverence", "grsoft", "generic")


def sample_manifest(**form_values) -> Manifest:
    return Manifest(
        "0.1.0",
        "2024-05-14T09:30:00Z",
        host={"os_name": "Windows 10 Pro", "os_version": "10.0.19045", "os_bitness": 64},
        device={
            "serial": "TSD0001",
            "vendor": "Zebra Technologies",
            "model": "TC52",
            "android_release": "11",
            "sdk": "30",
            "build_display": "11-49-09.00-RG-U00",
            "vendor_facts": {"osx_version": "QCT.1"},
        },
        apps=[
            {"package": "com.example.app", "installed": True, "version_name": "3.3.0", "version_code": 28766}
        ],
        databases=[
            {
                "package": "com.example.app",
                "path": "apps/com.example.app/internal/databases/main.db",
                "complete": True,
                "check": "integrity ok, 5 tables",
            }
        ],
        form=dict(form_values),
        items=[
            BundleItem("logs/logcat.txt", "log", "logcat -d", sha256="0" * 64),
            BundleItem("screenshot.png", "screenshot", "screencap -p", sha256="1" * 64),
            BundleItem(
                "apps/com.example.app/internal/databases/main.db", "database", "run-as", sha256="2" * 64
            ),
        ],
    )


@pytest.mark.parametrize("desk_id", SHIPPED)
def test_shipped_desks_load_without_problems(desk_id):
    loaded = desks.load_all(include_user_dir=False)
    assert loaded.problems == []
    desk = desks.get(desk_id, include_user_dir=False)
    assert desk.required and desk.subject and desk.max_attachment_bytes > 0


def test_desk_addresses_come_from_the_seeds_only():
    assert desks.get("grsoft").to == "info@grsoft.ru" and desks.get("grsoft").channel == "email"
    cleverence = desks.get("cleverence")
    assert cleverence.channel == "portal" and cleverence.to == ""  # the seed names a portal, no address


def test_desk_requirements_match_what_each_desk_asks_for():
    cleverence = set(desks.get("cleverence").required)
    assert {
        "product",
        "app_version",
        "pc_os",
        "pc_bitness",
        "onec_version",
        "device_model",
        "device_os",
        "logs|ms_logs",
        "description",
    } <= cleverence
    grsoft = set(desks.get("grsoft").required)
    assert {
        "project",
        "contact_name",
        "description",
        "steps",
        "impact",
        "affected_users",
        "database",
        "exchange_link|exchange_folder|attachments",
    } <= grsoft


def test_a_broken_user_desk_profile_is_named_and_the_rest_still_load(tmp_path):
    (tmp_path / "bad.toml").write_text(
        'kind = "desk"\nname = "Bad"\nto = "not-an-address"\nrequired = ["Bad Key"]\n'
    )
    loaded = desks.load_all([tmp_path], include_user_dir=False)
    assert {str(p).split(":", 1)[1] for p in loaded.problems} == {
        "to: must be an e-mail address or empty",
        "required[0]: must be a snake_case field key (or keys joined by |)",
    }
    assert set(SHIPPED) <= set(loaded.profiles)
    with pytest.raises(errors.UsageError, match="no desk profile 'bad'"):
        desks.get("bad", [tmp_path], include_user_dir=False)


def test_a_user_desk_profile_overrides_by_id(tmp_path):
    (tmp_path / "cleverence.toml").write_text(
        'kind = "desk"\nname = "Cleverence (contract)"\n'
        'to = "support@example.com"\nrequired = ["description"]\n'
    )
    desk = desks.get("cleverence", [tmp_path], include_user_dir=False)
    assert desk.to == "support@example.com" and desk.required == ("description",)


def test_field_args_and_form_files(tmp_path):
    assert form.parse_field_args(["a_b=x=y", "steps= 1. go "]) == {"a_b": "x=y", "steps": "1. go"}
    for bad in ("novalue", "Bad-Key=x", "=x"):
        with pytest.raises(errors.UsageError):
            form.parse_field_args([bad])
    good = tmp_path / "form.toml"
    good.write_text('description = "freezes"\naffected_users = 12\n[fields]\nproject = "North"\n')
    assert form.load_toml_fields(good) == {"project": "North"}  # a [fields] table wins when present
    good.write_text('description = "freezes"\naffected_users = 12\n')
    assert form.load_toml_fields(good) == {"description": "freezes", "affected_users": "12"}
    broken = tmp_path / "broken.toml"
    broken.write_text('description = "unterminated\n')
    with pytest.raises(errors.UsageError, match="broken.toml"):
        form.load_toml_fields(broken)
    nested = tmp_path / "nested.toml"
    nested.write_text("steps = [1, 2]\n")
    with pytest.raises(errors.UsageError, match="nested.toml:steps: must be text"):
        form.load_toml_fields(nested)


def test_precedence_field_over_form_over_saved_contact(tmp_path):
    (tmp_path / "form.toml").write_text('contact_name = "From Form"\nsteps = "form steps"\n')
    contact = {"contact_name": "Saved", "contact_email": "saved@example.com"}
    merged = form.gather(["steps=cli steps"], tmp_path / "form.toml", contact)
    assert merged == {"contact_name": "From Form", "contact_email": "saved@example.com", "steps": "cli steps"}
    (tmp_path / "contact.toml").write_text('contact_name = "Saved"\n')
    assert form.saved_contact(tmp_path) == {"contact_name": "Saved"}
    assert form.saved_contact(tmp_path / "none") == {}


def test_prompts_only_for_empty_human_fields():
    asked = []

    def ask(key, label, hint, multiline):
        asked.append((key, multiline))
        return "typed" if key != "impact" else ""

    given = {"steps": "given"}
    values = form.prompt_missing(["description", "device_model", "impact", "steps"], given, ask)
    assert asked == [("description", True), ("impact", False)]  # auto and given fields are never asked
    assert values == {"steps": "given", "description": "typed"} and values is given


def test_auto_values_come_from_the_bundle_and_a_person_may_correct_them():
    m = sample_manifest(pc_os="Windows Server 2019")
    filled = ticket.values(m)
    assert filled["device_model"] == "Zebra Technologies TC52"
    assert filled["device_os"].startswith("Android 11 (API 30), build 11-49-09.00-RG-U00; osx_version QCT.1")
    assert filled["app_version"] == "com.example.app 3.3.0 (28766)"
    # The PC fields describe the PC the desk means: a person's answer, never this PC's facts
    # taken silently (this PC's values are only a default the plan offers on Windows).
    assert filled["pc_os"] == "Windows Server 2019" and "pc_bitness" not in filled
    assert filled["logs"] == "logs/logcat.txt" and filled["screenshot"] == "screenshot.png"
    assert filled["database"].endswith("main.db (integrity ok, 5 tables)")


def test_a_database_item_without_a_copied_database_does_not_count():
    m = sample_manifest()
    m.databases = [{"package": "com.example.app", "path": None, "complete": False, "check": "not reached"}]
    assert "database" not in ticket.values(m)


def test_alternatives_satisfy_a_requirement():
    desk = desks.get("grsoft")
    m = sample_manifest()
    assert "exchange_link|exchange_folder|attachments" in ticket.missing(desk, ticket.values(m))
    m.items.append(
        BundleItem("attachments/exchange/a.xml", "attachment", "attach:exchange/a.xml", sha256="3" * 64)
    )
    assert "exchange_link|exchange_folder|attachments" not in ticket.missing(desk, ticket.values(m))


def test_subject_from_the_template_with_gaps_marked():
    m = sample_manifest(description="Receiving freezes on SSCC\nmore detail", product="Warehouse 15")
    assert (
        ticket.subject(desks.get("cleverence"), m)
        == "Warehouse 15 com.example.app 3.3.0 (28766): Receiving freezes on SSCC"
    )
    assert ticket.subject(desks.get("grsoft"), m) == "[—] Receiving freezes on SSCC"


@pytest.mark.parametrize("desk_id", SHIPPED)
def test_markdown_carries_every_required_field_and_says_what_is_missing(desk_id):
    desk = desks.get(desk_id)
    m = sample_manifest(description="It freezes", company="ACME", steps="1. scan\n2. wait")
    text = ticket.markdown(m, desk)
    for requirement in desk.required:
        assert any(desk.label(k) in text for k in requirement.split("|")), requirement
    gaps = ticket.missing(desk, ticket.values(m))
    assert ("> **" in text) == bool(gaps)
    assert "ACME" in text  # a field no desk requires is still shown
    assert "    2. wait" in text  # multi-line answers stay readable


def test_message_attaches_the_bundle_under_the_limit_and_links_it_above(tmp_path):
    (tmp_path / "tampered").mkdir()  # not a real bundle: the autouse check skips this folder
    bundle = tmp_path / "tampered" / "tsd-x.zip"
    bundle.write_bytes(b"PK" + b"x" * 1000)
    desk = desks.get("grsoft")
    m = sample_manifest(contact_email="ivan@example.com", contact_name="Ivan Petrov", description="x")
    msg = email.message_from_bytes(bytes(ticket.message(m, desk, bundle)), policy=policy.default)
    assert msg["To"] == "info@grsoft.ru" and "Ivan Petrov" in msg["From"]
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "tsd-x.zip" and att.get_content() == bundle.read_bytes()
    # A desk that wants no item in the mail on its own (GRSoft wants its database: see test_plan).
    small = desks.Desk(**{**desk.__dict__, "max_attachment_mb": 0.0005, "attach_required": ()})
    msg = email.message_from_bytes(
        bytes(ticket.message(m, small, bundle, link="https://x.example/b")), policy=policy.default
    )
    assert list(msg.iter_attachments()) == []
    assert "https://x.example/b" in msg.get_body().get_content()


def test_the_users_own_desk_address_comes_from_config_toml(tmp_path):
    (tmp_path / "config.toml").write_text('[desk.cleverence]\nto = "contract-support@example.com"\n')
    assert form.desk_address("cleverence", tmp_path) == "contract-support@example.com"
    assert form.desk_address("grsoft", tmp_path) == "" and form.desk_address("x", tmp_path / "none") == ""


def test_pc_bitness_is_the_operating_systems_not_pythons():
    from tsdtool.bundle import host

    assert host.bitness("x86", {"PROCESSOR_ARCHITEW6432": "AMD64"}) == 64  # 32-bit Python on 64-bit Windows
    assert host.bitness("x86", {}) == 32 and host.bitness("aarch64", {}) == 64
    assert host.bitness("AMD64", {}) == 64
    facts = host.read(None, {})
    assert facts["os_bitness"] in (32, 64) and facts["adb_server_version"] is None and facts["tool_version"]


# -- the ticket's layout and the bundle's hash, pinned exactly ------------------------------------

LABELS = {"description": "Problem", "device_model": "Terminal", "contact_email": "E-mail", "steps": "Steps",
          "exchange_link": "Exchange link", "attachments": "Attached folders", "company": "Company",
          "logs": "Logs", "device_os": "OS", "app_version": "App", "pc_os": "PC", "pc_bitness": "Bits",
          "screenshot": "Screen", "database": "Database"}


def _desk(**changes) -> desks.Desk:
    base = dict(id="t", name="Test Desk", to="desk@example.com", subject="{device_model}: {summary}",
                required=("description", "device_model", "contact_email", "exchange_link|attachments"),
                recommended=("steps",), labels=LABELS, max_attachment_mb=1.0)
    return desks.Desk(**{**base, **changes})


def _sections(text: str) -> dict[str, list[str]]:
    """``## Heading`` → its lines up to the next blank line."""
    found: dict[str, list[str]] = {}
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("## "):
            body = lines[n + 1 :]
            found[line[3:]] = body[: body.index("")] if "" in body else body
    return found


def _heading(key: str) -> str:
    from tsdtool.texts import texts

    return texts("en")(f"ticket.{key}")


def _bundle(path, size: int) -> bytes:
    data = bytes((i * 7) % 251 for i in range(size))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def test_the_bundle_hash_in_the_ticket_and_the_mail_header_is_that_of_the_bundles_bytes(tmp_path):
    import hashlib

    bundle = tmp_path / "tampered" / "tsd-x.zip"  # not a real bundle: the autouse check skips it
    data = _bundle(bundle, (1 << 20) + 4097)  # more than one read of 1 MiB
    sha = hashlib.sha256(data).hexdigest()
    desk = _desk(max_attachment_mb=2.0)
    att = ticket.attachment_for(bundle, desk)
    assert att == ticket.Attachment("tsd-x.zip", len(data), sha, True)
    m = sample_manifest(description="It freezes", contact_email="ivan@example.com")
    assert _sections(ticket.markdown(m, desk, att))[_heading("bundle")] == [
        f"- tsd-x.zip, 1.0 MB, SHA-256 {sha}", f"- {_heading('attached')}",
    ]
    msg = email.message_from_bytes(bytes(ticket.message(m, desk, bundle)), policy=policy.default)
    assert msg["X-Tsdtool-Bundle-SHA256"] == sha
    assert f"SHA-256 {sha}" in msg.get_body().get_content()


def test_the_attachment_limit_is_inclusive(tmp_path):
    bundle = tmp_path / "tampered" / "b.zip"
    desk = _desk(max_attachment_mb=0.001)  # 1048 bytes
    _bundle(bundle, desk.max_attachment_bytes)
    assert ticket.attachment_for(bundle, desk).attached
    _bundle(bundle, desk.max_attachment_bytes + 1)
    assert not ticket.attachment_for(bundle, desk).attached


def test_a_bundle_over_the_limit_is_linked_or_the_desks_upload_text_is_given(tmp_path):
    bundle = tmp_path / "tampered" / "big.zip"
    _bundle(bundle, 3000)
    m = sample_manifest(description="x")
    linked = ticket.attachment_for(bundle, _desk(max_attachment_mb=0.001), "https://files.example/b")
    assert _sections(ticket.markdown(m, _desk(), linked))[_heading("bundle")][1:] == ["- https://files.example/b"]
    plain = ticket.attachment_for(bundle, _desk(max_attachment_mb=0.001))
    upload = _desk(too_big="  Upload it to\n  our portal.  ")
    assert _sections(ticket.markdown(m, upload, plain))[_heading("bundle")][1:] == ["- Upload it to our portal."]
    assert _sections(ticket.markdown(m, _desk(), plain))[_heading("bundle")][1:] == [
        "- Too large to attach: upload it and send the link."
    ]
    assert _heading("bundle") not in _sections(ticket.markdown(m, _desk()))


def test_required_lists_every_requirement_in_order_and_not_collected_only_the_failures():
    from tsdtool.bundle.manifest import FAILED, SKIPPED

    m = sample_manifest(description="Receiving freezes\nafter a scan", company="ACME", steps="1. scan")
    m.items += [
        BundleItem("logs/app.log.part", "log", "run-as cat", status=FAILED, reason="connection lost", sha256="3" * 64),
        BundleItem("anr/traces.txt", "crash", "cat /data/anr", status=SKIPPED, reason="Permission denied"),
    ]
    text = ticket.markdown(m, _desk())
    found = _sections(text)
    assert found[_heading("required")] == [
        "- **Problem**:", "    Receiving freezes", "    after a scan",
        "- **Terminal**: Zebra Technologies TC52",
        f"- **E-mail**: {_heading('missing_value')}",
        f"- **Exchange link**: {_heading('missing_value')}",  # neither alternative given: the first is asked
    ]
    assert found[_heading("problems")] == [
        "- logs/app.log.part: failed — connection lost",
        "- anr/traces.txt: skipped — Permission denied",
    ]
    other = found[_heading("other")]
    assert other[0] == "- **Steps**: 1. scan"  # the desk's own keys first, then the rest given
    assert "- **Company**: ACME" in other and "- **Logs**: logs/logcat.txt" in other
    assert not any(line.startswith(("- **Problem**", "- **Terminal**")) for line in other)
    lines = text.splitlines()
    assert lines[0] == "# Zebra Technologies TC52: Receiving freezes"
    assert lines[2] == f"> **{_heading('not_ready')}:** E-mail, Exchange link / Attached folders"
    assert lines[4] == "To: desk@example.com (Test Desk)"
    assert lines[-1] == "-- tsdtool 0.1.0, 2024-05-14T09:30:00Z"


def test_a_ready_ticket_has_no_warning_and_shows_the_alternative_given():
    m = sample_manifest(description="x", contact_email="ivan@example.com")
    m.items.append(BundleItem("attachments/exchange/a.xml", "attachment", "attach", sha256="3" * 64))
    text = ticket.markdown(m, _desk())
    assert "> **" not in text
    assert _sections(text)[_heading("required")][-1] == "- **Attached folders**: attachments/exchange/a.xml"
    assert _heading("problems") not in _sections(text)  # every item is ok


def test_portal_desks_instructions_and_redaction_lines():
    m = sample_manifest(description="x")
    m.redaction.enabled, m.redaction.counts = True, {"serial": 2, "imei": 1}
    portal = _desk(channel="portal", to="", instructions="  Use the\n portal. ")
    lines = ticket.markdown(m, portal).splitlines()
    # The portal line now also says what to do there (paste, attach) and where (the address or
    # that the desk's rules give none).
    [line] = [ln for ln in lines if ln.startswith(f"Desk: Test Desk — {_heading('portal')}")]
    assert line.endswith(_heading("paste"))
    assert "Use the portal." in lines
    assert f"{_heading('redacted')}: imei 1, serial 2" in lines
    assert "To: ivan@x.org (Test Desk)" in ticket.markdown(m, portal, to="ivan@x.org").splitlines()
    assert f"To: {_heading('no_address')} (Test Desk)" in ticket.markdown(m, _desk(to="")).splitlines()
    m.redaction.counts = {}
    assert f"{_heading('redacted')}: 0" in ticket.markdown(m, portal).splitlines()


def test_the_mail_headers(tmp_path):
    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 100)
    m = sample_manifest(description="x", contact_email="ivan@example.com", contact_name="Ivan\n Petrov")
    msg = email.message_from_bytes(bytes(ticket.message(m, _desk(), bundle)), policy=policy.default)
    assert msg["To"] == "desk@example.com" and msg["From"] == "Ivan Petrov <ivan@example.com>"
    assert msg["Message-ID"].endswith("@example.com>") and msg["Date"].datetime.utcoffset().total_seconds() == 0
    assert msg["Subject"] == "Zebra Technologies TC52: x"
    assert msg.get_body().get_content().replace("\r\n", "\n") == ticket.markdown(
        m, _desk(), ticket.attachment_for(bundle, _desk()))
    msg = email.message_from_bytes(bytes(ticket.message(sample_manifest(contact_email="no-at-sign"),
                                                       _desk(to=""), bundle, to="")), policy=policy.default)
    assert msg["To"] is None and msg["From"] is None and msg["Message-ID"].endswith("@tsdtool.invalid>")
    assert msg["X-Tsdtool-Bundle-SHA256"]


@pytest.mark.parametrize(("given", "sent"), [
    ("ivan@склад.рф", "ivan@xn--80aiqe2a.xn--p1ai"),  # a Cyrillic domain goes in its ASCII form
    ("ivan@Example.com", "ivan@Example.com"),
    ("иван@склад.рф", None),  # a non-ASCII local part needs SMTPUTF8: no From rather than a broken one
    ("ivan@" + "я" * 64 + ".рф", None),  # not a valid internationalised name: a label over 63
])
def test_the_sender_of_an_internationalised_address(tmp_path, given, sent):
    bundle = tmp_path / "tampered" / "b.zip"  # not a real bundle: the teardown check skips it
    _bundle(bundle, 100)
    m = sample_manifest(description="x", contact_email=given, contact_name="Иван Петров")
    raw = bytes(ticket.message(m, _desk(), bundle))
    msg = email.message_from_bytes(raw, policy=policy.default)
    if sent is None:
        assert msg["From"] is None and msg["Message-ID"].endswith("@tsdtool.invalid>")
        return
    assert msg["From"].addresses[0].addr_spec == sent and msg["From"].addresses[0].display_name == "Иван Петров"
    assert msg["Message-ID"].endswith("@" + sent.split("@")[1] + ">")
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()  # headers a mail server takes without SMTPUTF8


@pytest.mark.parametrize(("size", "shown"), [(0, "1 KB"), (100, "1 KB"), (1536, "2 KB"), (1048575, "1024 KB"),
                                             (1048576, "1.0 MB"), (15 * 1048576 + 52429, "15.1 MB")])
def test_sizes_for_people(size, shown):
    from tsdtool.texts import texts

    assert ticket._mb(size, texts("en")) == shown


def test_summary_and_listing_are_cut_where_they_say():
    assert ticket.summary({"description": "\n  \n  first line  \nsecond"}) == "first line"
    assert ticket.summary({"description": "x" * 70}) == "x" * 70
    assert ticket.summary({"description": "word " * 20}) == ("word " * 14).rstrip() + "…"
    assert ticket.summary({}) == ""
    items = [BundleItem(f"logs/{n}.txt", "log", "x") for n in range(6)]
    assert ticket._listing(items) == "logs/0.txt, logs/1.txt, logs/2.txt, logs/3.txt (+2)"
    assert ticket._listing(items[:4]) == "logs/0.txt, logs/1.txt, logs/2.txt, logs/3.txt"


def test_auto_values_exactly():
    from tsdtool.bundle.manifest import FAILED

    m = sample_manifest()
    m.device = {"serial": "S1", "manufacturer": "Zebra", "model": "TC21", "android_release": "10",
                "build_id": "QKQ1", "vendor_facts": {"osx": "QCT.10", "empty": "", "none": None, "bsp": "2"}}
    m.host = {"os_name": "Windows 10", "os_bitness": 32}
    m.apps = [
        {"package": "a.b", "label": "Склад 15", "installed": True, "version_name": "1.2", "version_code": 0,
         "product": "Mobile SMARTS"},
        {"package": "c.d", "installed": True, "version_name": None, "version_code": None, "product": "Other"},
        {"package": "e.f", "installed": False, "version_name": "9", "product": "Gone"},
    ]
    h = "0" * 64
    m.items = [
        BundleItem("logs/logcat.txt", "logcat", "logcat", sha256=h),
        BundleItem("logs/app.log", "app_log", "x", sha256=h),
        BundleItem("crash/tombstone_00", "crash", "cat", sha256=h), BundleItem("logs/x.log", "log", "cat", sha256=h),
        BundleItem("logs/y.log", "log", "cat", sha256=h), BundleItem("logs/unstored.log", "log", "cat"),
        BundleItem("logs/cut.log.part", "log", "cat", status=FAILED, reason="lost", sha256=h),
        BundleItem("shot.png", "screenshot", "screencap", sha256=h),
        BundleItem("apps/a.b/db/main.db", "database", "run-as", sha256=h),
        BundleItem("apps/a.b/db/two.db", "database", "x", sha256=h),
    ]
    m.databases = [{"path": "apps/a.b/db/main.db", "check": "integrity ok"}, {"path": "apps/a.b/db/two.db"},
                   {"path": "apps/a.b/db/not-stored.db", "check": "x"}]
    assert ticket.auto_values(m) == {
        "device_model": "Zebra TC21",
        "device_os": "Android 10 (API ?), build QKQ1; osx QCT.10, bsp 2",
        "app_version": "Склад 15 1.2 (0); c.d ?",
        "product": "Mobile SMARTS",
        "logs": "logs/logcat.txt, logs/app.log, crash/tombstone_00, logs/x.log (+1)",
        "screenshot": "shot.png",
        "database": "apps/a.b/db/main.db (integrity ok); apps/a.b/db/two.db (copied)",
    }
    assert ticket.auto_values(Manifest("0.1.0", "2024-05-14T09:30:00Z")) == {}
    m.device = {"vendor": "Zebra Technologies", "manufacturer": "Zebra", "android_release": "11", "sdk": 30,
                "build_display": "11-49", "build_id": "RKQ1"}
    assert ticket.auto_values(m)["device_model"] == "Zebra Technologies"
    assert ticket.auto_values(m)["device_os"] == "Android 11 (API 30), build 11-49"


def test_a_person_gives_only_the_fields_a_person_can_give_and_an_empty_answer_does_not_count():
    m = sample_manifest(description="It freezes", steps="", device_model="Zebra TC52 (rental)")
    filled = ticket.values(m)
    assert filled["description"] == "It freezes" and "steps" not in filled
    assert filled["device_model"] == "Zebra Technologies TC52"  # what the terminal said, not a typed value


def test_state_and_subject_with_gaps():
    desk = _desk(subject="[{project}]  {summary}\n{serial} · {desk}")
    m = sample_manifest(description="  Receiving freezes  ")
    assert ticket.subject(desk, m) == "[—] Receiving freezes TSD0001 · Test Desk"
    assert ticket.subject(desk, sample_manifest()) == "[—] support request TSD0001 · Test Desk"
    state = ticket.state(m, desk)
    assert (state.desk, state.ready, state.required, state.missing) == (
        "t", False, list(desk.required), ["contact_email", "exchange_link|attachments"])
    done = sample_manifest(description="x", contact_email="a@b.org", exchange_link="https://files.example.com/x.zip")
    assert ticket.state(done, desk).ready and ticket.state(done, desk).missing == []


def test_state_names_each_invalid_value_and_why():
    desk = _desk()
    m = sample_manifest(description="x", contact_email="not-an-address", exchange_link="files/x.zip")
    state = ticket.state(m, desk)
    assert state.invalid == {"contact_email": "is not an e-mail address (name@example.com)",
                             "exchange_link": "is not a link (https://…)"}
    assert state.missing == ["contact_email", "exchange_link|attachments"]  # an invalid value is no value


def test_required_parts_travel_only_when_they_all_fit_the_limit_together():
    from tsdtool.bundle.manifest import FAILED

    h = "0" * 64
    desk = _desk(attach_required=("database",), max_attachment_mb=0.001)  # 1048 bytes
    m = sample_manifest()
    m.items = [BundleItem("db/a.db", "database", "x", size=500, sha256=h),
               BundleItem("db/b.db", "database", "x", size=548, sha256=h),  # 1048 together: fits (inclusive)
               BundleItem("db/cut.db", "database", "x", status=FAILED, size=10, sha256=h),
               BundleItem("db/none.db", "database", "x", size=1),  # not stored
               BundleItem("logs/l.txt", "log", "x", size=1, sha256=h)]
    assert [i.path for i in ticket.required_parts(m, desk)] == ["db/a.db", "db/b.db"]
    big = ticket.Attachment("b.zip", 5000, h, False)
    assert _sections(ticket.markdown(m, desk, big))[_heading("bundle")][1] == (
        f"- {_heading('own')}: db/a.db (1 KB), db/b.db (1 KB)")
    m.items[1].size = 549  # one byte over together: neither travels
    assert ticket.required_parts(m, desk) == []
    assert ticket.required_parts(m, _desk(max_attachment_mb=0.001)) == []  # the desk wants none


def test_a_russian_subject_is_folded_into_short_encoded_words_on_crlf_lines(tmp_path):
    """RFC 2047: an encoded word is at most 75 characters and a line holding one at most 76; the
    .eml is CRLF throughout; as text (as_string) it reads as in bytes; ASCII headers are untouched."""
    from email.header import decode_header, make_header

    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 100)
    m = sample_manifest(description="Сканер зависает при приёмке товара по коду SSCC после обновления прошивки "
                                    "терминала до последней версии", contact_email="ivan@example.com")
    desk = _desk(subject_max=200)
    msg = ticket.message(m, desk, bundle)
    raw = bytes(msg)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "\n" not in head.replace("\r\n", "")  # no bare LF
    lines = head.split("\r\n")
    start = next(n for n, ln in enumerate(lines) if ln.startswith("Subject: "))
    end = next(n for n in range(start + 1, len(lines)) if not lines[n].startswith(" "))
    folded = lines[start:end]
    assert len(folded) >= 3 and all(len(ln) <= 76 for ln in folded)
    words = [w for ln in folded for w in ln.split() if w.startswith("=?")]
    assert len(words) == len(folded) and all(len(w) <= 75 and w.startswith("=?utf-8?b?") for w in words)
    assert str(make_header(decode_header(" ".join(words)))) == ticket.subject(desk, m)
    sha = ticket.attachment_for(bundle, desk).sha256
    assert "To: desk@example.com" in lines and f"X-Tsdtool-Bundle-SHA256: {sha}" in lines
    assert msg.as_string().split("\r\n\r\n", 1)[0] == head


@pytest.mark.parametrize("name", ["Александров Александр Александрович", "Иван Петров-Водкин, \"ООО\" <Склад>"])
def test_a_russian_sender_name_is_folded_into_short_encoded_words(tmp_path, name):
    """A Russian full name (фамилия, имя, отчество) in From made one encoded word of 108+
    characters, where RFC 2047 (section 2) allows 75, as the Subject once did; the address stays."""
    from email.header import decode_header, make_header

    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 100)
    msg = ticket.message(sample_manifest(description="x", contact_name=name, contact_email="ivan@example.com"),
                         _desk(), bundle)
    head = bytes(msg).split(b"\r\n\r\n", 1)[0].decode("ascii")
    lines = head.split("\r\n")
    start = next(n for n, ln in enumerate(lines) if ln.startswith("From: "))
    end = next(n for n in range(start + 1, len(lines)) if not lines[n].startswith(" "))
    folded = lines[start:end]
    assert all(len(ln) <= 76 for ln in folded), folded
    words = [w for ln in folded for w in ln.split() if w.startswith("=?")]
    assert words and all(len(w) <= 75 for w in words), folded
    assert folded[-1].endswith(" <ivan@example.com>")
    assert str(make_header(decode_header(" ".join(words)))) == name
    # the library's own parser keeps a space between two encoded words of a display name, which
    # RFC 2047 6.2 says to ignore (CPython gh-128110); its address is what it is
    assert email.message_from_bytes(bytes(msg), policy=policy.default)["From"].addresses[0].addr_spec == \
        "ivan@example.com"


def test_an_ascii_subject_is_one_plain_line(tmp_path):
    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 100)
    msg = ticket.message(sample_manifest(description="It freezes"), _desk(), bundle)
    subject = "Subject: Zebra Technologies TC52: It freezes"
    assert subject in bytes(msg).split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    assert subject in msg.as_string().split("\r\n")


def test_a_mail_over_the_limit_without_a_link_says_to_upload(tmp_path):
    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 3000)
    raw = bytes(ticket.message(sample_manifest(description="x"), _desk(max_attachment_mb=0.001), bundle))
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert list(msg.iter_attachments()) == []
    body = msg.get_body().get_content().replace("\r\n", "\n")
    assert _sections(body)[_heading("bundle")][1:] == [f"- {_heading('too_big')}"]


def _real_bundle(tmp_path, db: bytes, db_path: str = "apps/a.b/internal/databases/main.db") -> tuple:
    """A verifiable bundle holding one log and one database, and its manifest."""
    from datetime import UTC, datetime

    from tsdtool.bundle.writer import BundleWriter
    from tsdtool.outdir import OutputDir

    out = OutputDir(tmp_path / "staging")
    out.write_bytes("logs/logcat.txt", b"E Tag: boom\n", "logcat -d", kind="log")
    out.write_bytes(db_path, db, "run-as a.b cat main.db", kind="database")
    m = sample_manifest(description="It freezes", contact_email="ivan@example.com")
    m.host |= {"python": "3.11.7", "tool_version": "0.1.0", "adb_server_version": None}
    m.profiles = {"device": "zebra", "app": None, "desk": "t"}
    m.items = []
    dest = tmp_path / "b" / "tsd-x.zip"
    dest.parent.mkdir()
    with BundleWriter(dest, datetime(2024, 5, 14, 9, 30, tzinfo=UTC)) as writer:
        m.items += [writer.add_staged(out.root, item) for item in out.items]
        return writer.finish(m), m


def test_the_mail_header_names_and_order_and_each_attachments_type(tmp_path):
    import re

    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 100)
    m = sample_manifest(description="x", contact_email="ivan@example.com")  # no contact_name: the bare address
    raw = bytes(ticket.message(m, _desk(), bundle))
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = [ln.split(":", 1)[0] for ln in head.split("\r\n") if not ln.startswith(" ")]
    assert names == ["Subject", "To", "From", "Date", "Message-ID", "X-Tsdtool-Bundle-SHA256", "MIME-Version",
                     "Content-Type"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["From"] == "ivan@example.com"
    assert re.fullmatch(r"<\d+\.\d+\.\d+\.tsdtool@example\.com>", msg["Message-ID"])
    [att] = msg.iter_attachments()
    assert (att["Content-Type"], att.get_filename()) == ("application/zip", "b.zip")


def test_a_portal_desk_sent_to_an_address_shows_the_address_in_the_mail(tmp_path):
    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 100)
    portal = _desk(channel="portal", to="")
    raw = bytes(ticket.message(sample_manifest(description="x"), portal, bundle, to="ivan@x.org"))
    body = email.message_from_bytes(raw, policy=policy.default).get_body().get_content().replace("\r\n", "\n")
    assert "To: ivan@x.org (Test Desk)" in body.splitlines()  # not the portal's line


def test_the_parts_a_desk_requires_travel_on_their_own_when_the_bundle_is_too_big(tmp_path):
    import hashlib

    db = b"SQLite format 3\x00" + b"".join(hashlib.sha256(bytes([i])).digest() for i in range(64))  # incompressible
    bundle, m = _real_bundle(tmp_path, db)
    desk = _desk(attach_required=("database",), max_attachment_mb=0.002)  # 2097 bytes: the db, not the zip
    assert bundle.stat().st_size > desk.max_attachment_bytes >= len(db)
    msg = email.message_from_bytes(bytes(ticket.message(m, desk, bundle)), policy=policy.default)
    [att] = msg.iter_attachments()
    assert (att["Content-Type"], att.get_filename(), att.get_content()) == (
        "application/octet-stream", "main.db", db)
    assert f"- {_heading('own')}: apps/a.b/internal/databases/main.db (2 KB)" in (
        msg.get_body().get_content().replace("\r\n", "\n").splitlines())


def test_headers_fold_only_past_998_characters():
    """RFC 5322 2.1.1: a line is at most 998 characters; the default 78 would fold a subject."""
    policy_ = ticket.mail_policy()
    value = "x" * 986 + " wor"  # "X-Long: " + value: 998 characters
    assert policy_.fold("X-Long", value) == f"X-Long: {value}\r\n"
    folded = policy_.fold("X-Long", value + "d")  # 999: folded, and unfolds to the same value
    assert folded.count("\r\n") == 2 and folded.replace("\r\n ", " ").split(":", 1)[1].strip() == value + "d"


@pytest.mark.parametrize(("value", "kept"), [
    ("ivan@example.com", True), ("ivan.petrov+tsd@mail.example.ru", True), ("", False), ("ivan", False),
    ("Ivan <ivan@example.com>", False), ("ivan@localhost", False), ("a@b.org\r\nBcc: x@y.org", False),
    ("=?utf-8?q?x?=@example.com", False),  # an encoded word hiding anything
])
def test_mailbox_keeps_only_one_plain_address(value, kept):
    from tsdtool.bundle import fields

    assert fields.mailbox(value) == (value if kept else "")  # the header's and the field rule's check


def test_a_russian_portal_ticket_exactly():
    """Every word around the values in the desk's language, the auto values too ("сборка",
    "скопирована"), the portal's own address, and the blank lines between the parts."""
    m = sample_manifest(description="Сканер зависает", contact_email="ivan@example.com")
    del m.databases[0]["check"]
    desk = _desk(language="ru", labels={}, required=("description", "device_os", "database"), recommended=(),
                 channel="portal", to="", portal="https://support.example/new")
    assert ticket.markdown(m, desk) == (
        "# Zebra Technologies TC52: Сканер зависает\n"
        "\n"
        "Поддержка: Test Desk — Подайте заявку на портале техподдержки (https://support.example/new): "
        "вставьте этот текст в форму обращения на портале и приложите архив\n"
        "\n"
        "## Обязательные сведения\n"
        "- **Что не работает**: Сканер зависает\n"
        "- **ОС и прошивка терминала**: Android 11 (API 30), сборка 11-49-09.00-RG-U00; osx_version QCT.1\n"
        "- **База данных приложения**: apps/com.example.app/internal/databases/main.db (скопирована)\n"
        "\n"
        "## Дополнительно\n"
        "- **Модель терминала**: Zebra Technologies TC52\n"
        "- **Версия приложения**: com.example.app 3.3.0 (28766)\n"
        "- **Логи**: logs/logcat.txt\n"
        "- **Снимок экрана**: screenshot.png\n"
        "- **E-mail**: ivan@example.com\n"
        "\n"
        "-- tsdtool 0.1.0, 2024-05-14T09:30:00Z\n"
    )


def test_a_ticket_not_ready_has_its_warning_between_blank_lines():
    lines = ticket.markdown(sample_manifest(), _desk()).splitlines()
    assert lines[:5] == ["# Zebra Technologies TC52: support request", "",
                         f"> **{_heading('not_ready')}:** Problem, E-mail, Exchange link / Attached folders", "",
                         "To: desk@example.com (Test Desk)"]


def test_problems_name_each_status_in_the_desks_language_and_an_unknown_one_as_recorded():
    from tsdtool.bundle.manifest import FAILED, SKIPPED

    m = sample_manifest(description="x")
    m.items = [BundleItem("logs/a.log", "log", "x", status=FAILED, reason="cut"),
               BundleItem("logs/b.log", "log", "x", status=SKIPPED, reason="off"),
               BundleItem("logs/c.log", "log", "x", status="lost", reason="newer writer")]
    assert _sections(ticket.markdown(m, _desk(language="ru", labels={})))["Не удалось собрать"] == [
        "- logs/a.log: ошибка — cut", "- logs/b.log: пропущено — off", "- logs/c.log: lost — newer writer"]


def test_a_desks_instructions_are_one_paragraph_between_blank_lines():
    lines = ticket.markdown(sample_manifest(description="x"), _desk(instructions="  Attach\n the log. ")).splitlines()
    n = lines.index("To: desk@example.com (Test Desk)")
    assert lines[n + 1 : n + 5] == ["", "Attach the log.", "", f"## {_heading('required')}"]


def test_the_bundle_section_per_channel_and_link_after_everything_else():
    h = "a" * 64
    attached, big = ticket.Attachment("b.zip", 2048, h, True), ticket.Attachment("b.zip", 5 << 20, h, False)
    m = sample_manifest(description="x")
    m.redaction.enabled, m.redaction.counts = True, {"imei": 1}
    portal = _desk(channel="portal", to="")
    lines = ticket.markdown(m, portal, attached).splitlines()
    assert lines[0] == "# Zebra Technologies TC52: x"  # the bundle's lines come after the rest, not instead
    n = lines.index(f"{_heading('redacted')}: imei 1")
    assert lines[n + 1 :] == ["", f"## {_heading('bundle')}", f"- b.zip, 2 KB, SHA-256 {h}", f"- {_heading('paste')}",
                              "", "-- tsdtool 0.1.0, 2024-05-14T09:30:00Z"]
    assert _sections(ticket.markdown(m, portal, attached, to="a@b.org"))[_heading("bundle")][1:] == [
        f"- {_heading('attached')}"]  # mailed after all: attached, not pasted
    m.form["bundle_link"] = "https://files.example/b.zip"  # typed by the person
    assert _sections(ticket.markdown(m, _desk(), big))[_heading("bundle")] == [
        f"- b.zip, 5.0 MB, SHA-256 {h}", "- https://files.example/b.zip"]


def test_an_email_desk_needs_the_senders_address_even_when_it_does_not_require_it():
    email_desk, portal = _desk(required=("description",)), _desk(required=("description",), channel="portal", to="")
    filled = {"description": "x"}
    assert ticket.missing(email_desk, filled) == ["contact_email"]
    assert ticket.missing(portal, filled) == []
    assert ticket.missing(email_desk, filled | {"contact_email": "a@b.org"}) == []
    assert ticket.missing(email_desk, filled | {"contact_email": "nope"}) == ["contact_email"]


def test_a_russian_subject_is_russian_around_the_values():
    desk = _desk(language="ru", subject="{device_os}: {summary}", subject_max=200)
    assert ticket.subject(desk, sample_manifest()) == (
        "Android 11 (API 30), сборка 11-49-09.00-RG-U00; osx_version QCT.1: обращение в техподдержку")


@pytest.mark.parametrize(("text", "limit", "cut"), [
    ("aaaa bbbb cccc", 10, "aaaa bbbb…"),  # the cut falls right before a space: at a word
    ("aaaaaa bbbbbbbb", 10, "aaaaaa…"),  # back to the last space
    ("aa aaaa bbbbbbbb", 10, "aa aaaa…"),  # the last space, not the first
    ("aaaaaa, bbbbbbbb", 10, "aaaaaa…"),  # no dangling comma
    ("Zebra MC33X scanner", 14, "Zebra MC33X…"),  # only punctuation is stripped, not a letter
    ("aaaaa bbbbbbbbbb", 10, "aaaaa bbb…"),  # the last space is not past half: cut inside the word
    ("aaaa bbbbbbbb", 10, "aaaa bbbb…"),
    ("aa bbbbbbbbbbbbbb", 10, "aa bbbbbb…"),
    ("abcdefghij", 10, "abcdefghij"),  # fits exactly
])
def test_shorten_cuts_at_a_word_past_half_the_limit(text, limit, cut):
    assert ticket.shorten(text, limit) == cut


def test_summary_is_cut_past_70_characters_and_a_missing_serial_is_empty():
    assert ticket.summary({"description": "x" * 71}) == "x" * 69 + "…"
    m = sample_manifest(description="x")
    del m.device["serial"]
    assert ticket.subject(_desk(subject="[{serial}] {summary}"), m) == "[] x"


def test_pc_items_are_listed_as_pc_files():
    h = "0" * 64
    m = Manifest("0.1.0", "2024-05-14T09:30:00Z", items=[
        BundleItem("pc/windows.txt", "pc", "systeminfo", sha256=h), BundleItem("pc/1c.txt", "pc", "x", sha256=h),
        BundleItem("logs/logcat.txt", "log", "logcat", sha256=h)])
    assert ticket.auto_values(m) == {"pc_files": "pc/windows.txt, pc/1c.txt", "logs": "logs/logcat.txt"}


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 200_000, 300_001])
def test_the_fast_mail_is_byte_for_byte_the_librarys(tmp_path, monkeypatch, size):
    """_attach() encodes in one call and message_bytes() puts the base64 lines back in place of
    a token; both must give what the library itself writes with its base64 lines at 76
    characters (line width, line ends, boundary)."""
    import os

    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 0)
    data = os.urandom(size)
    bundle.write_bytes(data)
    m = sample_manifest(description="x", contact_email="ivan@example.com")
    ours = ticket.message(m, _desk(), bundle)
    monkeypatch.setattr(ticket, "_attach", _library_attach)
    theirs = ticket.message(m, _desk(), bundle)
    for msg in (ours, theirs):
        msg.set_boundary("==boundary==")
        del msg["Date"], msg["Message-ID"]
    assert ticket.message_bytes(ours) == bytes(theirs) == bytes(ours)
    assert ticket.message_bytes(ours) == bytes(ours)  # the message is left as it was
    parsed = email.message_from_bytes(ticket.message_bytes(ours), policy=policy.default)
    assert [a.get_content() for a in parsed.iter_attachments()] == [data]


def _library_attach(msg, data: bytes, subtype: str, filename: str) -> None:
    """The email library's own add_attachment, its base64 at 76 characters a line (the policy's
    width is 998 for the headers; the library would write base64 lines that wide)."""
    wide = msg.policy
    msg.policy = wide.clone(max_line_length=78)  # the library's line: 78 // 4 * 3 = 57 bytes
    try:
        msg.add_attachment(data, maintype="application", subtype=subtype, filename=filename)
    finally:
        msg.policy = wide
    msg.get_payload()[-1].policy = wide


def test_every_attachment_is_base64_in_lines_of_at_most_76_characters(tmp_path):
    """RFC 2045 6.8: base64 lines of at most 76 characters, in the bundle attached to the
    written .eml and in the parts a desk wants in the mail itself (here the database)."""
    import os
    from email.message import EmailMessage

    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 0)
    data = os.urandom(5000)
    bundle.write_bytes(data)
    m = sample_manifest(description="x", contact_email="ivan@example.com")
    written = ticket.write_message(tmp_path / "t.eml", m, _desk(max_attachment_mb=2.0), bundle).read_bytes()
    parsed = email.message_from_bytes(written, policy=policy.default)
    assert [a.get_content() for a in parsed.iter_attachments()] == [data]
    for attachment in parsed.iter_attachments():
        lines = attachment.get_payload().splitlines()
        assert max(len(line) for line in lines) == 76 and len(lines) > 60, lines[:2]
    msg = EmailMessage(policy=ticket.mail_policy())
    ticket._attach(msg, data, "octet-stream", "main.db")
    lines = msg.get_payload()[-1].get_payload().splitlines()
    assert max(len(line) for line in lines) == 76 and len(lines) > 60, lines[:2]


def texts_of(lang: str):
    from tsdtool.texts import texts

    return texts(lang)


def test_pc_folders_are_named_values_and_a_missing_one_says_why():
    """The exchange folder and the Mobile SMARTS logs in the bundle are values (files, size per
    folder, in the desk's language); an exchange folder left out says why where it is asked for."""
    from tsdtool.bundle.manifest import SKIPPED

    h = "0" * 64
    m = sample_manifest(description="x", contact_email="a@b.org")
    m.items = [BundleItem("pc/grserver/exchange/in/a.xml", "pc", "x", size=1024, sha256=h),
               BundleItem("pc/grserver/exchange/out/b.xml", "pc", "x", size=2048, sha256=h),
               BundleItem("pc/mobilesmarts/bases/Склад/Logs/1.log", "pc", "x", size=10, sha256=h),
               BundleItem("pc/mobilesmarts/control-panel/Logs/2.log", "pc", "x", size=20, sha256=h)]
    ru = ticket.auto_values(m, texts_of("ru"))
    assert ru["exchange_folder"] == "в архиве: pc/grserver/exchange/ (файлов: 2, 3 КБ)"
    assert ru["ms_logs"] == ("в архиве: pc/mobilesmarts/bases/Склад/Logs/ (файлов: 1, 1 КБ); "
                             "pc/mobilesmarts/control-panel/Logs/ (файлов: 1, 1 КБ)")
    m.items = [BundleItem("pc/grserver/exchange", "pc", "x", status=SKIPPED, reason="12 GB: too big to attach")]
    desk = _desk(required=("exchange_folder", "description"))
    assert _sections(ticket.markdown(m, desk))[_heading("required")] == [
        f"- **GRServer exchange folder**: {_heading('missing_value')} — 12 GB: too big to attach", "- **Problem**: x"]
    m.items.append(BundleItem("pc/grserver/exchange/a.xml", "pc", "x", size=1024, sha256=h))  # there after all
    assert _sections(ticket.markdown(m, desk))[_heading("required")][0] == (
        "- **GRServer exchange folder**: in the bundle: pc/grserver/exchange/ (files: 1, 1 KB)")


def test_an_os_without_a_build_and_auto_values_are_never_judged():
    m = Manifest("0.1.0", "2024-05-14T09:30:00Z", device={"android_release": "10", "sdk": "29"})
    assert ticket.auto_values(m) == {"device_os": "Android 10 (API 29), build"}
    assert ticket.invalid(_desk(), {"device_model": "Zebra\nTC52", "steps": "1.\n2."}) == {}


def test_a_required_part_at_the_top_of_the_bundle_travels_under_its_own_name(tmp_path):
    import hashlib

    db = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(64))
    bundle, m = _real_bundle(tmp_path, db, "main.db")
    desk = _desk(attach_required=("database",), max_attachment_mb=0.002)
    msg = email.message_from_bytes(bytes(ticket.message(m, desk, bundle)), policy=policy.default)
    assert [(a.get_filename(), a.get_content()) for a in msg.iter_attachments()] == [("main.db", db)]


def test_two_required_parts_each_travel_with_their_own_bytes(tmp_path):
    import hashlib

    db = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(40))
    bundle, m = _real_bundle(tmp_path, db)
    desk = _desk(attach_required=("log", "database"), max_attachment_mb=0.0015)  # 1572 bytes: the parts, not the zip
    assert bundle.stat().st_size > desk.max_attachment_bytes
    msg = email.message_from_bytes(bytes(ticket.message(m, desk, bundle)), policy=policy.default)
    assert [(a.get_filename(), a.get_content()) for a in msg.iter_attachments()] == [
        ("logcat.txt", b"E Tag: boom\n"), ("main.db", db)]


def test_message_takes_the_attachment_already_worked_out(tmp_path):
    """collect has hashed the bundle for ticket.md already: the mail uses that, and still
    attaches the bundle's bytes."""
    import dataclasses

    bundle = tmp_path / "tampered" / "b.zip"
    data = _bundle(bundle, 3000)
    desk = _desk()
    given = dataclasses.replace(ticket.attachment_for(bundle, desk), sha256="f" * 64)
    msg = ticket.message(sample_manifest(description="x"), desk, bundle, attachment=given)
    assert msg["X-Tsdtool-Bundle-SHA256"] == "f" * 64
    assert [a.get_content() for a in msg.iter_attachments()] == [data]
    linked = dataclasses.replace(given, attached=False, link="https://files.example/b")
    msg = ticket.message(sample_manifest(description="x"), desk, bundle, attachment=linked)
    assert list(msg.iter_attachments()) == [] and "https://files.example/b" in msg.get_body().get_content()


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 57 * 1024, 57 * 1024 + 1, 300_001])
def test_the_written_mail_is_byte_for_byte_message_bytes(tmp_path, monkeypatch, size):
    """write_message() makes the bundle's base64 lines from the file as it writes them; the file
    must be what message_bytes(message()) gives (block edges at 57 × 1024 bytes included)."""
    import email.generator
    import email.utils
    import os

    monkeypatch.setattr(email.utils, "formatdate", lambda **k: "Tue, 14 May 2024 09:30:00 GMT")
    monkeypatch.setattr(email.utils, "make_msgid", lambda *a, **k: "<1@tsdtool.invalid>")
    monkeypatch.setattr(email.generator.Generator, "_make_boundary", classmethod(lambda cls, text=None: "==b=="))
    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 0)
    data = os.urandom(size)
    bundle.write_bytes(data)
    m = sample_manifest(description="x", contact_email="ivan@example.com")
    written = ticket.write_message(tmp_path / "t.eml", m, _desk(max_attachment_mb=2.0), bundle)
    assert written == tmp_path / "t.eml" and not (tmp_path / "t.eml.part").exists()
    expected = ticket.message_bytes(ticket.message(m, _desk(max_attachment_mb=2.0), bundle))
    assert written.read_bytes() == expected
    parsed = email.message_from_bytes(written.read_bytes(), policy=policy.default)
    assert [a.get_content() for a in parsed.iter_attachments()] == [data]


def test_a_written_mail_over_the_limit_is_the_message_alone(tmp_path, monkeypatch):
    import email.utils

    monkeypatch.setattr(email.utils, "formatdate", lambda **k: "Tue, 14 May 2024 09:30:00 GMT")
    monkeypatch.setattr(email.utils, "make_msgid", lambda *a, **k: "<1@tsdtool.invalid>")
    bundle = tmp_path / "tampered" / "b.zip"
    _bundle(bundle, 5000)
    m = sample_manifest(description="x")
    desk = _desk(max_attachment_mb=0.001, attach_required=())
    written = ticket.write_message(tmp_path / "t.eml", m, desk, bundle).read_bytes()
    assert written == bytes(ticket.message(m, desk, bundle)) and b"Content-Disposition: attachment" not in written


@pytest.mark.parametrize("encoder", ["pybase64", "base64"])
@pytest.mark.parametrize("size", [0, 1, 2, 3, 56, 57, 58, 57 * 1024 + 1, 300_001])
def test_the_base64_lines_are_the_librarys_with_either_encoder(monkeypatch, encoder, size):
    """What _attach and write_message encode a block at a time must be, line for line, what the
    email library's own add_attachment writes at 76 characters a line, with pybase64 and with the
    standard library's fallback."""
    import builtins
    import importlib.util
    import os
    from email.message import EmailMessage

    if encoder == "pybase64" and importlib.util.find_spec("pybase64") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pybase64 is a dependency: CI must have it")
        pytest.skip("pybase64 not installed")
    if encoder == "base64":
        real = builtins.__import__
        monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name))
                            if name.startswith("pybase64") else real(name, *a, **k))
    chosen = ticket._encodebytes()
    assert getattr(chosen, "func", chosen).__module__.startswith(encoder)
    data = os.urandom(size)
    library = EmailMessage(policy=ticket.mail_policy())
    _library_attach(library, data, "zip", "b.zip")
    expected = library.get_payload()[-1].get_payload()
    ours = EmailMessage(policy=ticket.mail_policy())
    ticket._attach(ours, data, "zip", "b.zip")
    assert ours.get_payload()[-1].get_payload() == expected
    if size:
        assert ticket._lines_of(data, b"\r\n") == expected.replace("\n", "\r\n").encode("ascii")
