"""The validated collect plan: field rules from the desk profiles, sources, app choice, questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundle_util import (
    FULL_FIELDS,
    collect,
    every_bundle_verifies,  # noqa: F401 - autouse: every bundle must verify
    field_args,
    grsoft_with_mail_limit,
    manifest_of,
)
from tsdtool import errors
from tsdtool.bundle import desks, plan

SERIAL = "20TC52FX0001"


def _build(tmp_path, **kw) -> plan.Plan:
    kw.setdefault("out_dir", tmp_path / "out")
    kw.setdefault("config_dir", tmp_path / "config")
    return plan.build(plan.CollectOptions(**kw))


@pytest.mark.parametrize(
    "field, fix",
    [
        ("database=whatever", "--attach exported.db"),
        ("device_model=iPhone", "connect the terminal"),
        ("app_version=9.9", "--package PKG"),
        ("attachments=./Exchange", "--attach FOLDER"),
    ],
)
def test_terminal_side_items_cannot_be_typed(fake_server, tsd, tmp_path, field, fix):
    server = fake_server("zebra_tc52")
    code, _, err = collect(tsd, server.port, tmp_path / "out", "--desk", "grsoft", "--field", field)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "cannot be typed" in err and fix in err
    assert not (tmp_path / "out").exists() and server.terminal(SERIAL)._services == 0


@pytest.mark.parametrize(
    "field, why",
    [
        ("contact_email=notanemail", "is not an e-mail address"),
        ("contact_email=иван@склад.рф", "needs Latin letters before @"),
        ("exchange_link=not a link", "is not a link"),
        ("affected_users=twelve", "is not a whole number"),
        ("project=North\nSouth", "must be one line"),
    ],
)
def test_a_value_that_breaks_the_desks_rule_is_refused_up_front(fake_server, tsd, tmp_path, field, why):
    server = fake_server("zebra_tc52")
    code, _, err = collect(tsd, server.port, tmp_path / "out", "--desk", "grsoft", "--field", field)
    assert code == 2 and why in err and len(err.strip().splitlines()) == 1, err
    assert server.terminal(SERIAL)._services == 0


def test_a_form_file_and_a_saved_contact_obey_the_same_rules(tmp_path):
    form = tmp_path / "form.toml"
    form.write_text('device_os = "Android 99"\n')
    with pytest.raises(errors.UsageError, match="--form device_os: .* cannot be typed"):
        _build(tmp_path, form_file=form)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "contact.toml").write_text('contact_email = "ivan at example"\n')
    with pytest.raises(errors.UsageError, match="saved contact contact_email: 'ivan at example' is not an e-mail"):
        _build(tmp_path)


def test_field_rules_are_desk_data_a_desk_may_refine_but_not_change_a_source(tmp_path):
    desk = desks.get("grsoft", include_user_dir=False)
    assert desk.rule("contact_email").type == "email" and desk.rule("contact_email").label == "E-mail"
    assert desk.rule("database").source == "terminal" and desk.rule("attachments").source == "file"
    assert desk.rule("affected_users").type == "count" and desk.rule("exchange_link").type == "url"
    (tmp_path / "strict.toml").write_text(
        'kind = "desk"\nname = "Strict"\nrequired = ["contact_phone"]\n'
        '[fields.contact_phone]\ntype = "count"\n[fields.database]\nsource = "person"\n'
    )
    loaded = desks.load_all([tmp_path], include_user_dir=False)
    assert [p.key for p in loaded.problems] == ["fields.database.source"]
    (tmp_path / "strict.toml").write_text(
        'kind = "desk"\nname = "Strict"\nrequired = ["contact_phone"]\n[fields.contact_phone]\ntype = "count"\n'
    )
    strict = desks.get("strict", [tmp_path], include_user_dir=False)
    assert strict.rule("contact_phone").check("+7 916") == "is not a whole number (e.g. 12)"


def test_the_exchange_link_is_not_asked_when_the_folder_is_attached(tmp_path):
    exchange = tmp_path / "Exchange"
    exchange.mkdir()
    asked = {q.key for q in _build(tmp_path, desk="grsoft").questions()}
    assert "exchange_link" in asked
    asked = {q.key for q in _build(tmp_path, desk="grsoft", attach=[exchange]).questions()}
    assert "exchange_link" not in asked and "attachments" not in asked
    assert not asked & {"database", "app_version", "device_model", "logs", "screenshot"}


def test_a_wrong_answer_is_asked_again_with_the_reason(tmp_path):
    p = _build(tmp_path, desk="grsoft", fields=[f"{k}={v}" for k, v in FULL_FIELDS.items()
                                               if k not in ("contact_email", "affected_users")])
    answers = iter(["notanemail", "ivan@example.com", "twelve", "12"])
    seen = []

    def ask(question):
        seen.append((question.key, question.error))
        return next(answers)

    p.ask_all(ask)
    assert p.form["contact_email"] == "ivan@example.com" and p.form["affected_users"] == "12"
    assert seen[:2] == [("contact_email", ""), ("contact_email", "E-mail — это не адрес e-mail (name@example.com)")]
    assert seen[3][1].endswith("— это не целое число (например, 12)")  # GRSoft's language
    assert p.sources["contact_email"] == plan.ASKED and p.sources["project"] == plan.FIELD


def test_the_saved_contact_is_a_default_a_person_can_keep_or_change(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "contact.toml").write_text('contact_name = "Saved Person"\n')
    p = _build(tmp_path, desk="grsoft")
    question = next(q for q in p.questions() if q.key == "contact_name")
    assert question.default == "Saved Person"
    p.ask_all(lambda q: "")  # Enter everywhere: defaults kept, nothing else filled
    assert p.form == {"contact_name": "Saved Person"} and p.sources["contact_name"] == plan.ASKED


def _as_host(monkeypatch, os_name: str, version: str, bitness: int) -> None:
    from tsdtool.bundle import host

    real = host.read
    monkeypatch.setattr(host, "read", lambda adb=None, env=None: {
        **real(None, {}), "os_name": os_name, "os_version": version, "os_bitness": bitness})


def test_cleverence_pc_fields_are_asked_and_this_pc_is_the_default_only_on_windows(tmp_path, monkeypatch):
    _as_host(monkeypatch, "Debian GNU/Linux", "12", 64)
    p = _build(tmp_path, desk="cleverence")
    questions = {q.key: q for q in p.questions()}
    assert {"pc_os", "pc_bitness", "onec_version"} <= set(questions)
    assert questions["pc_os"].default == "" and questions["pc_bitness"].default == ""
    assert "pc_os" not in p.form  # never "Debian GNU/Linux 12" for the PC where 1C runs
    _as_host(monkeypatch, "Windows 10 Pro", "10.0.19045", 64)
    p = _build(tmp_path, desk="cleverence")
    questions = {q.key: q for q in p.questions()}
    assert questions["pc_os"].default == "Windows 10 Pro 10.0.19045" and questions["pc_bitness"].default == "64-bit"
    assert p.sources["pc_os"] == plan.THIS_PC
    p = _build(tmp_path, desk="cleverence", fields=["pc_os=Windows Server 2019"])
    assert "pc_os" not in {q.key for q in p.questions()} and p.form["pc_os"] == "Windows Server 2019"


def test_cleverence_without_input_on_linux_lists_the_pc_fields_as_missing(fake_server, tsd, tmp_path, monkeypatch):
    _as_host(monkeypatch, "Debian GNU/Linux", "12", 64)
    server = fake_server("zebra_tc52")
    fields = {k: v for k, v in FULL_FIELDS.items() if not k.startswith("pc_")}
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--desk", "cleverence",
                              "--package", "com.example.scanner.demo", *field_args(fields))
    assert code == 3 and {"pc_os", "pc_bitness"} <= set(result["ticket"]["missing"])
    md = Path(result["ticket"]["markdown"]).read_text("utf-8")
    assert "Debian" not in md


def test_a_package_that_is_not_installed_fails_up_front_with_the_installed_ones(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    code, _, err = collect(tsd, server.port, tmp_path / "out", "--package", "com.example.scaner.demo")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "com.example.scaner.demo is not installed" in err and "com.example.scanner.demo" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_app_whose_packages_are_absent_fails_up_front(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    code, _, err = collect(tsd, server.port, tmp_path / "out", "--app", "cleverence")
    assert code == 2 and "no package of app Cleverence Mobile SMARTS (com.cleverence.*)" in err, err
    assert "com.example.mobilesmarts" in err and "no app chosen" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_without_an_app_no_input_says_which_apps_exist(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, tmp_path / "out", *field_args())
    assert code == 3 and "app_version" in result["ticket"]["missing"]
    [note] = [n for n in result["notes"] if n.startswith("no app chosen")]
    assert "--package PKG" in note and "com.example.mobilesmarts" in note and "com.example.scanner.demo" in note


def test_missing_item_hints_name_the_real_fix(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    code, out, _ = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "out", "--no-input",
                       "--desk", "grsoft", *field_args())
    assert code == 3 and "обращение в GRSoft не готово" in out
    line = next(ln for ln in out.splitlines() if "База данных" in ln)
    assert "--package PKG" in line and "--root" in line and "--attach exported.db" in line
    assert "--field database" not in out and "--field app_version" not in out


def test_ready_means_send_accepts_it(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--desk", "grsoft",
                              "--package", "com.example.scanner.demo", *field_args())
    assert code == 0 and result["ticket"]["ready"]
    code, _, err = tsd("send", "--dry-run", result["bundle"])
    assert code == 0, err
    code, _, err = tsd("send", "--dry-run", "--field", "database=typed", result["bundle"])
    assert code == 2 and "cannot be typed" in err
    manifest = manifest_of(Path(result["bundle"]))
    assert manifest["options"]["field_sources"]["project"] == "--field"


def test_a_release_apps_database_is_a_failed_item_with_the_reason(fake_server, tsd, tmp_path):
    """run-as refused (not debuggable): collect used to say "complete bundle" and report.html
    "no database in the app's folders" — the folder was never read."""
    from tests.bundle_util import read_item

    server = fake_server("honeywell_ct60")
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--desk", "cleverence",
                              "--package", "com.example.mobilesmarts", *field_args())
    assert code == 3 and result["status"] == "partial"
    [failed] = [i for i in result["items"] if i["status"] == "failed"]
    assert failed["path"] == "apps/com.example.mobilesmarts/databases" and failed["reason"].startswith("not readable")
    bundle = Path(result["bundle"])
    # report.html and ticket.md read the desk's language (Russian for Cleverence); the manifest keeps English.
    report = read_item(bundle, "report.html").decode()
    assert "не читается: run-as: " in report and "Что можно сделать" in report and "нет базы" not in report
    md = Path(result["ticket"]["markdown"]).read_text("utf-8")
    assert "не читается: run-as: " in md and "Что можно сделать" in md and "нет базы" not in md
    [row] = manifest_of(bundle)["databases"]
    assert row["check"].startswith("not readable: run-as:") and "--root" in row["check"]
    code, out, _ = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "again", "--no-input",
                       "--desk", "cleverence", "--package", "com.example.mobilesmarts", *field_args())
    assert code == 3 and "архив (неполный)" in out and "не читается: run-as: " in out  # the desk's language


def test_over_the_limit_grsoft_still_gets_its_database_in_the_mail(fake_server, tsd, tmp_path):
    """Over the desk's size limit the mail carried neither the database nor a link while the
    console said "ticket ready"."""
    import email
    from email import policy

    profiles = grsoft_with_mail_limit(tmp_path)
    server = fake_server("zebra_tc52")
    code, out, err = tsd("-H", "127.0.0.1", "-P", server.port, "--profiles-dir", profiles, "collect", "-o",
                       tmp_path / "out", "--no-input", "--desk", "grsoft", "--package", "com.example.scanner.demo",
                       *field_args())
    assert code == 3 and "обращение в GRSoft не готово" in out and "Ссылка на архив с данными" in out
    flat = " ".join((out + err).split())
    assert "приложено к письму отдельно: apps/com.example.scanner.demo/internal/databases/" in flat
    assert "остальное передаётся ссылкой" in flat and "--link URL" in flat
    eml = next((tmp_path / "out").glob("*.ticket.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    names = [a.get_filename() for a in msg.iter_attachments()]
    assert names and not any(n.endswith(".zip") for n in names)
    assert "приложено к письму отдельно" in msg.get_body().get_content()


def test_a_portal_desk_says_paste_and_attach_with_its_phone(fake_server, tsd, tmp_path):
    server = fake_server("zebra_tc52")
    code, out, _ = tsd("-H", "127.0.0.1", "-P", server.port, "collect", "-o", tmp_path / "out", "--no-input",
                       "--desk", "cleverence", "--package", "com.example.scanner.demo", *field_args())
    assert code == 0, out
    flat = " ".join(out.split())
    assert "обращение в Cleverence готово: вставьте" in flat and "ticket.md на портал поддержки и приложите" in flat
    assert "+7 (495) 662-98-03 доб. 2" in flat and ".ticket.eml" not in flat
    md = next((tmp_path / "out").glob("*.ticket.md")).read_text("utf-8")
    assert "вставьте этот текст в форму обращения на портале и приложите архив" in md
    assert "Телефон: +7 (495) 662-98-03 доб. 2" in md and "приложен к письму" not in md
