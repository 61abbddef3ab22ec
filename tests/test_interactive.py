"""The technician's interactive `collect`, driven in a pseudo-terminal and read off the screen.

pexpect runs the installed ``tsdtool`` in a pty of 120×40 against the fake terminals; every
byte it writes is fed to pyte, a terminal emulator, so the assertions are about the screen a
person sees: each question on its own clean line, answers in their fields, no progress bar
drawn while a question waits, and a clean final screen.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pexpect  # noqa: E402 - in the test extra: a missing one fails, never skips
import pyte  # noqa: E402
import pytest

from tests.bundle_util import every_bundle_verifies, manifest_of  # noqa: F401 - autouse
from tests.test_pc import make_drive

COLS, ROWS = 120, 40
BAR = "━"  # what a Rich progress bar draws
CURSOR_UP = "\x1b[1A"  # how a live display redraws itself


class Screen:
    """pyte fed with everything the child writes; ``raw`` keeps the text for ordering checks."""

    def __init__(self) -> None:
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.raw = ""

    def write(self, data: str) -> None:
        self.stream.feed(data)
        self.raw += data

    def flush(self) -> None:
        pass

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def cursor_line(self) -> str:
        return self.screen.display[self.screen.cursor.y].rstrip()


def _tsdtool() -> str:
    found = Path(sys.executable).parent / "tsdtool"
    return str(found) if found.exists() else shutil.which("tsdtool") or pytest.fail("tsdtool not installed")


def _spawn(port: int, tmp_path: Path, *args: str):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "TERM")}
    env.update(COLUMNS=str(COLS), LINES=str(ROWS), TERM="xterm-256color", PYTHONFAULTHANDLER="1")
    screen = Screen()
    child = pexpect.spawn(_tsdtool(), ["-H", "127.0.0.1", "-P", str(port), "--timeout", "10", "collect",
                                       "-o", str(tmp_path / "out"), *args],
                          env=env, dimensions=(ROWS, COLS), timeout=180, cwd=str(tmp_path),
                          encoding="utf-8", codec_errors="replace")
    child.logfile_read = screen
    return child, screen


def _answer(child, screen: Screen, prompt: str, text: str, *, multiline: bool = False) -> None:
    """Wait for ``prompt`` and its ``: ``, check it stands on its own clean line (a multi-line
    question: its label on the line above the input), then type ``text``."""
    child.expect_exact(prompt)
    child.expect_exact(": ")
    line = screen.cursor_line()
    label = screen.lines()[screen.screen.cursor.y - 1] if multiline else line
    assert label.startswith(prompt), (prompt, label, screen.lines())
    assert line.endswith(":") and BAR not in line, (line, screen.lines())
    child.sendline(text)


def _enter_rest(child, screen: Screen) -> int:
    """Press Enter at every question left until the program ends; returns where the last
    answer was given (an index into ``screen.raw``)."""
    last = len(screen.raw)
    while child.expect([": ", pexpect.EOF], timeout=120) == 0:
        if screen.cursor_line().endswith(":"):
            last = len(screen.raw)
            child.sendline("")
    return last


def _questions_clean(screen: Screen, first: str, last_answer_at: int) -> None:
    """Between the first question and the last answer no live display was drawn."""
    start = screen.raw.index(first)
    asked = screen.raw[start:last_answer_at]
    assert BAR not in asked and CURSOR_UP not in asked, asked[-2000:]


def _finish(child, screen: Screen) -> int:
    child.expect(pexpect.EOF, timeout=120)
    child.close()
    assert not any(BAR in line for line in screen.lines()), screen.lines()
    return child.exitstatus


def test_grsoft_interactive_collect_in_a_real_terminal(fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "tsdtool"
    config.mkdir(parents=True)
    (config / "contact.toml").write_text('contact_name = "Иван Петров"\n', "utf-8")
    child, screen = _spawn(server.port, tmp_path, "--desk", "grsoft", "--package", "com.example.scanner.demo",
                           "--field", "steps=1. открыть Приёмку\n2. сканировать SSCC")
    _answer(child, screen, "Название проекта", "Склад Север")
    _answer(child, screen, "Автор обращения", "")  # Enter keeps the saved contact
    assert "[Иван Петров]" in screen.raw
    _answer(child, screen, "E-mail", "notanemail")
    child.expect_exact("E-mail — это не адрес e-mail (name@example.com)")  # the refusal in the desk's language
    _answer(child, screen, "E-mail", "ivan.petrov@example.com")
    _answer(child, screen, "Описание проблемы", "Приёмка зависает", multiline=True)
    _answer(child, screen, "", "")  # the multi-line answer ends with an empty line
    _answer(child, screen, "На что влияет", "Ворота 3 стоят")
    _answer(child, screen, "Сколько сотрудников затронуто", "двенадцать")
    child.expect_exact("Сколько сотрудников затронуто — это не целое число (например, 12)")
    _answer(child, screen, "Сколько сотрудников затронуто", "12")
    _answer(child, screen, "Ссылка на архив каталога обмена", "https://disk.example.com/exchange.zip")
    _answer(child, screen, "Телефон", "")
    last = len(screen.raw)
    code = _finish(child, screen)
    _questions_clean(screen, "Название проекта", last)
    assert code == 0, screen.raw[-3000:]
    assert any(line.startswith("обращение в GRSoft готово") for line in screen.lines()), screen.lines()
    form = manifest_of(next((tmp_path / "out").glob("*.zip")))["form"]
    assert form["project"] == "Склад Север" and form["contact_name"] == "Иван Петров"
    assert form["contact_email"] == "ivan.petrov@example.com" and form["affected_users"] == "12"
    assert form["description"] == "Приёмка зависает" and form["impact"] == "Ворота 3 стоят"
    assert form["exchange_link"] == "https://disk.example.com/exchange.zip" and "contact_phone" not in form


def test_cleverence_interactive_collect_asks_the_pc_fields(fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    child, screen = _spawn(server.port, tmp_path, "--desk", "cleverence", "--package", "com.example.scanner.demo")
    _answer(child, screen, "Продукт", "Склад 15")
    _answer(child, screen, "ОС компьютера", "Windows 10 Pro 22H2")
    _answer(child, screen, "Разрядность ОС", "64-bit")
    _answer(child, screen, "Версия 1С", "8.3.24.1467 / УТ 11.5")
    _answer(child, screen, "Описание ошибки", "Ошибка при обмене", multiline=True)
    _answer(child, screen, "", "")
    _answer(child, screen, "Версия Mobile SMARTS на ПК", "")  # nothing to offer without the PC: left empty
    _answer(child, screen, "Базы Mobile SMARTS на ПК", "")
    _answer(child, screen, "Как получить ошибку", "", multiline=True)
    _answer(child, screen, "Контактное лицо", "Мария")
    _answer(child, screen, "E-mail", "")
    _answer(child, screen, "Телефон", "")
    last = len(screen.raw)
    code = _finish(child, screen)
    _questions_clean(screen, "Продукт", last)
    assert code == 0, screen.raw[-3000:]
    form = manifest_of(next((tmp_path / "out").glob("*.zip")))["form"]
    assert form["pc_os"] == "Windows 10 Pro 22H2" and form["pc_bitness"] == "64-bit"
    assert form["onec_version"] == "8.3.24.1467 / УТ 11.5" and form["product"] == "Склад 15"
    assert form["contact_name"] == "Мария" and "contact_email" not in form
    assert "ms_version" not in form and "ms_bases" not in form


def test_cleverence_questions_offer_the_pc_roots_mobile_smarts_values(fake_server, tmp_path):
    server = fake_server("zebra_tc52")
    drive = make_drive(tmp_path)  # the fake Windows drive of tests/test_pc.py
    child, screen = _spawn(server.port, tmp_path, "--desk", "cleverence", "--package", "com.example.scanner.demo",
                           "--pc-root", str(drive))
    _answer(child, screen, "Продукт", "")  # Enter takes the drive's one Mobile SMARTS base
    assert any(ln.startswith("Продукт") and ln.endswith("[Склад 15]:") for ln in screen.lines()), screen.lines()
    _answer(child, screen, "ОС компьютера", "Windows 10 Pro 22H2")  # the copied drive has no hive: asked
    _answer(child, screen, "Разрядность ОС", "")  # Enter keeps what the drive says
    child.expect_exact("Версия 1С")  # every platform on the drive: the default wraps at 120 columns
    child.expect_exact("8.3.22.1709 (32-bit (x86))]")
    child.expect_exact(": ")
    child.sendline("")
    _answer(child, screen, "Описание ошибки", "Ошибка при обмене", multiline=True)
    _answer(child, screen, "", "")
    child.expect_exact("Версия Mobile SMARTS на ПК")
    child.expect_exact(": ")
    y = screen.screen.cursor.y  # the question with its hint and default wraps onto a second row
    assert "[3.4.46.31745 (MobileSMARTSUpdater.exe)]:" in "".join(screen.lines()[y - 1:y + 1]), screen.lines()
    child.sendline("")  # Enter keeps it
    _answer(child, screen, "Базы Mobile SMARTS на ПК", "")
    last = _enter_rest(child, screen)
    code = _finish(child, screen)
    _questions_clean(screen, "Продукт", last)
    assert code == 0, screen.raw[-3000:]
    form = manifest_of(next((tmp_path / "out").glob("*.zip")))["form"]
    assert form["ms_version"] == "3.4.46.31745 (MobileSMARTSUpdater.exe)" and form["ms_bases"] == "Склад 15"
    assert form["product"] == "Склад 15"
    assert form["pc_bitness"] == "64-bit" and form["onec_version"].startswith("8.3.25.1257 (64-bit (x64))")
    md = next((tmp_path / "out").glob("*.ticket.md")).read_text("utf-8").splitlines()
    assert "- **Версия Mobile SMARTS на ПК**: 3.4.46.31745 (MobileSMARTSUpdater.exe)" in md


@pytest.mark.parametrize(("desk", "label", "prompt"), [("generic", "App to collect", "number: "),
                                                       ("cleverence", "Приложение для сбора", "номер: ")])
def test_a_pick_list_when_no_app_is_given(fake_server, tmp_path, desk, label, prompt):
    server = fake_server("zebra_tc52")
    child, screen = _spawn(server.port, tmp_path, "--desk", desk, "--field", "description=x",
                           "--field", "contact_name=A", "--field", "contact_email=a@example.com")
    child.expect_exact(label)
    child.expect_exact(prompt)
    listing = "\n".join(screen.lines())
    assert "1. com.example.mobilesmarts" in listing and "2. com.example.scanner.demo" in listing
    child.sendline("2")
    _enter_rest(child, screen)
    child.close()
    manifest = manifest_of(next((tmp_path / "out").glob("*.zip")))
    assert [a["package"] for a in manifest["apps"]] == ["com.example.scanner.demo"]


def test_a_slow_terminal_draws_no_progress_while_a_question_waits(fake_server, tmp_path):
    from tests.fake_adb import make_fixture

    # long enough that the log is still arriving once the questions are done (its lane runs beside
    # the crash files' and the app's: it alone must outlast them)
    log = "".join(f"11-30 09:12:{i % 60:02d}.131  4711  4711 I Scan: label {i} {'x' * 80}\n" for i in range(36000))
    fixture = make_fixture(tmp_path / "fx", "SLOW0001", logcat=log, faults={"delay_ms_per_chunk": 800},
                           packages=[{"name": "com.example.app", "debuggable": True}])
    server = fake_server(fixture)
    child, screen = _spawn(server.port, tmp_path, "--desk", "generic", "--package", "com.example.app",
                           "--field", "contact_name=A", "--field", "contact_email=a@example.com")
    child.expect_exact("What goes wrong")
    child.expect_exact(": ")
    time.sleep(2)  # the transfer runs meanwhile; nothing may be drawn over the question
    assert screen.cursor_line() == "  :" and screen.lines()[screen.screen.cursor.y - 1].startswith("What goes wrong")
    child.sendline("It freezes")
    _answer(child, screen, "", "")
    last = _enter_rest(child, screen)
    child.close()
    _questions_clean(screen, "What goes wrong", last)
    assert BAR in screen.raw[last:]  # what was left was shown with progress once the questions were done
    assert not any(BAR in line for line in screen.lines())
    assert child.exitstatus in (0, 3)


def test_an_answer_typed_in_another_code_page_is_asked_again(fake_server, tmp_path):
    """A console sending cp1251 on a UTF-8 system (PuTTY set to Win-1251 into a Linux box): the
    bytes reach the answer as lone surrogates. They ended the collect, after every question, in
    'internal error: UnicodeEncodeError … surrogates not allowed', exit 1, no bundle."""
    server = fake_server("zebra_tc52")
    child, screen = _spawn(server.port, tmp_path, "--desk", "grsoft", "--package", "com.example.scanner.demo")
    child.expect_exact("Название проекта")
    child.expect_exact(": ")
    os.write(child.child_fd, "Склад".encode("cp1251") + b"\n")
    child.expect_exact("Название проекта — текст не в кодировке этой консоли")
    _answer(child, screen, "Название проекта", "Склад Север")
    _enter_rest(child, screen)
    child.close()
    assert child.exitstatus == 3, screen.raw[-3000:]  # the other fields left empty: not ready
    assert manifest_of(next((tmp_path / "out").glob("*.zip")))["form"]["project"] == "Склад Север"


def test_an_answer_an_ascii_console_cannot_read_is_asked_again(fake_server, tmp_path, monkeypatch):
    """PYTHONIOENCODING=ascii (or a console whose code page lacks a byte typed): reading the
    answer ended the collect in 'internal error: UnicodeDecodeError: 'ascii' codec can't decode
    byte 0xd0', exit 1, no bundle."""
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")
    server = fake_server("zebra_tc52")
    child, screen = _spawn(server.port, tmp_path, "--desk", "generic", "--package", "com.example.scanner.demo")
    _answer(child, screen, "What goes wrong", "Склад Север", multiline=True)
    _answer(child, screen, "", "")
    child.expect_exact("What goes wrong is not text in this console's encoding")
    _answer(child, screen, "What goes wrong", "scanner freezes", multiline=True)
    _answer(child, screen, "", "")
    _enter_rest(child, screen)
    child.close()
    assert child.exitstatus == 3, screen.raw[-3000:]  # no contact given: not ready
    assert manifest_of(next((tmp_path / "out").glob("*.zip")))["form"]["description"] == "scanner freezes"


def test_ctrl_c_at_a_question_packs_what_arrived(fake_server, tmp_path, sigint_default):
    # sigint_default: a suite run in the background (nohup, &) passes SIGINT ignored to the child
    server = fake_server("zebra_tc52")
    child, screen = _spawn(server.port, tmp_path, "--desk", "grsoft", "--package", "com.example.scanner.demo")
    child.expect_exact("Название проекта")
    child.expect_exact(": ")
    child.sendintr()
    try:
        child.expect(pexpect.EOF, timeout=60)
    except pexpect.TIMEOUT:
        import signal
        os.kill(child.pid, signal.SIGABRT)
        child.expect(pexpect.EOF, timeout=10)
        raise AssertionError(child.before[-6000:]) from None
    child.close()
    assert child.exitstatus == 3, screen.raw[-2000:]
    [bundle] = (tmp_path / "out").glob("*.zip")
    manifest = manifest_of(bundle)
    assert manifest["status"] == "partial" and manifest["interrupted"] is True
    assert "Ctrl-C" in " ".join(screen.raw.split()) and not any(BAR in line for line in screen.lines())


def test_ctrl_c_while_the_quick_facts_arrive_asks_nothing(fake_server, tmp_path, sigint_default):
    """Ctrl-C pressed before the first question, while a slow terminal answers the screenshot and
    the device facts: it was taken as an interrupted item and the questions were then asked all
    the same (the technician had to press Ctrl-C again at the first one)."""
    from tests.fake_adb import make_fixture

    fixture = make_fixture(tmp_path / "fx", "SLOWQ1", faults={"delay_ms_per_chunk": 400},
                           packages=[{"name": "com.example.app", "debuggable": True, "version_name": "1.0"}],
                           files={"/data/data/com.example.app/databases/app.db": b"x" * 300_000})
    server = fake_server(fixture)
    child, screen = _spawn(server.port, tmp_path, "--desk", "grsoft", "--package", "com.example.app")
    deadline = time.monotonic() + 60
    while not any(r.startswith("exec:screencap") for r in server.requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.sendintr()
    asked = child.expect([pexpect.EOF, "часто входит в версию приложения"], timeout=90)  # a question's hint
    if asked:
        child.sendintr()
        child.expect(pexpect.EOF, timeout=90)
    child.close()
    assert not asked, "asked after Ctrl-C: " + screen.raw[-2000:]
    assert child.exitstatus == 3, screen.raw[-2000:]
    manifest = manifest_of(next((tmp_path / "out").glob("*.zip")))
    assert manifest["status"] == "partial" and manifest["interrupted"] is True


_READER = """
import signal, sys, time
from tsdtool import console
try:
    print("ready", flush=True)
    while True:
        print(repr(console.keyboard.readline()), flush=True)
except EOFError:
    print("EOF", flush=True)
except KeyboardInterrupt:
    print("INTERRUPTED", flush=True)
"""


def test_the_keyboard_reads_a_line_per_answer_in_russian_and_ends_at_ctrl_d():
    child = pexpect.spawn(sys.executable, ["-c", _READER], encoding="utf-8", timeout=20,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    child.expect_exact("ready")
    child.send("Склад 15\nвторая строка\n")  # typed ahead: each read still gets one line
    child.expect_exact("'Склад 15'")
    child.expect_exact("'вторая строка'")
    child.sendeof()
    child.expect_exact("EOF")
    child.expect(pexpect.EOF)


def test_the_keyboard_gives_way_to_ctrl_c_sent_before_and_during_the_read(sigint_default):
    """Ctrl-C as the read begins and while it waits ends it at once. (The race input() loses —
    a Ctrl-C landing just before its read — cannot be timed from outside; the pty test of a
    Ctrl-C at a question, which hung 6 times in 40 under load with input(), holds that.)"""
    for delay in (0.0, 0.3):
        child = pexpect.spawn(sys.executable, ["-c", _READER], encoding="utf-8", timeout=20)
        child.expect_exact("ready")
        time.sleep(delay)
        child.sendintr()
        child.expect_exact("INTERRUPTED", timeout=10)
        child.expect(pexpect.EOF)
