"""report.html: rendered in real headless chromium, and read back for the key facts."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.bundle_util import (
    FULL_FIELDS,
    chromium_screenshot,
    collect,
    every_bundle_verifies,  # noqa: F401 - autouse: every bundle must verify
    field_args,
    is_reddish,
    png_rows,
    read_item,
    region_colours,
)
from tsdtool.bundle.report_html import log_excerpt


class Sections(HTMLParser):
    """Text by section id, plus every URL-bearing attribute and tag seen."""

    def __init__(self):
        super().__init__()
        self.text: dict[str, str] = {}
        self.tags: set[str] = set()
        self.urls: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        self.urls += [v for k, v in attrs.items() if k in ("src", "href") and v]
        if tag == "section":
            self._stack.append(attrs.get("id", ""))

    def handle_endtag(self, tag):
        if tag == "section" and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._stack:
            self.text[self._stack[-1]] = self.text.get(self._stack[-1], "") + data


@pytest.fixture
def report_bundle(fake_server, tsd, tmp_path):
    """zebra_tc52 for grsoft, its debuggable app (a database, a crash in the log), two fields missing."""
    server = fake_server("zebra_tc52")
    fields = {k: v for k, v in FULL_FIELDS.items() if k not in ("impact", "project")}
    code, result, _ = collect(
        tsd,
        server.port,
        tmp_path / "out",
        "--desk",
        "grsoft",
        "--package",
        "com.example.scanner.demo",
        *field_args(fields),
    )
    assert code == 3 and result["ticket"]["missing"] == ["project", "impact"]
    return Path(result["bundle"])


def test_the_report_renders_in_chromium_with_the_missing_list_in_red(report_bundle, tmp_path):
    page = tmp_path / "report.html"
    page.write_bytes(read_item(report_bundle, "report.html"))
    data = chromium_screenshot(page, tmp_path / "report.png", 1280, 1400)
    width, height, bpp, rows = png_rows(data)
    assert (width, height) == (1280, 1400)
    assert len(region_colours(rows, bpp, 0, 0, width, height, step=4)) > 100, "blank page"
    assert max(rows[10][40 * bpp : 40 * bpp + 3]) < 60  # the dark header band
    top = region_colours(rows, bpp, 0, 60, width, 260)  # the missing list comes first, in red
    assert any(is_reddish(c) for c in top), "no red 'missing' list at the top"


def test_the_report_holds_the_key_facts_and_nothing_external(report_bundle):
    html = read_item(report_bundle, "report.html").decode("utf-8")
    parsed = Sections()
    parsed.feed(html)
    text = parsed.text
    assert {"missing", "device", "apps", "database", "logs", "form", "items", "host"} <= set(text)
    assert "Название проекта" in text["missing"] and "На что влияет" in text["missing"]
    assert (
        "TC52" in text["device"]
        and "20TC52FX0001" in text["device"]
        and "Zebra Technologies" in text["device"]
    )
    # how sure the vendor is, and why: the terminal's own word, not a guess from the model name
    # (in the desk's language: this report is for GRSoft, a Russian desk)
    assert "признаки (надёжные): ro.product.vendor.manufacturer = Zebra Technologies" in text["device"]
    assert "com.example.scanner.demo" in text["apps"] and "1.4.2-debug" in text["apps"]
    assert "целостность в порядке" in text["database"] and "scans.db" in text["database"]
    assert "FATAL EXCEPTION" in text["logs"]
    assert (
        FULL_FIELDS["contact_name"] in text["form"] and FULL_FIELDS["steps"].splitlines()[1] in text["form"]
    )
    assert "script" not in parsed.tags and "link" not in parsed.tags
    assert all(u.startswith("data:image/png;base64,") for u in parsed.urls) and len(parsed.urls) == 1
    assert "default-src 'none'" in html  # the browser itself refuses anything else


def test_device_text_is_escaped(fake_server, tsd, tmp_path):
    from tests.fake_adb import make_fixture

    fixture = make_fixture(
        tmp_path / "fx",
        "EVIL0001",
        props={"ro.product.model": "<script>alert(1)</script>", "ro.build.display.id": "a&b<i>"},
    )
    server = fake_server(fixture)
    code, result, _ = collect(tsd, server.port, tmp_path / "out", *field_args())
    html = read_item(Path(result["bundle"]), "report.html").decode("utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b&lt;i&gt;" in html


def test_report_command_re_renders_next_to_the_bundle(report_bundle, tsd):
    code, out, _ = tsd("report", report_bundle, "--no-open")
    target = report_bundle.with_name(report_bundle.name[:-4] + ".report.html")
    assert code == 0 and target.is_file() and target.name in out.replace("\n", "")
    assert target.read_bytes() == read_item(report_bundle, "report.html")  # same bundle, same page


CRASH_LOG = b"""--------- beginning of main
05-14 09:12:03.418  1523  1544 I ActivityManager: Start proc 4711:com.example.app
05-14 09:12:04.655  4711  4738 E Net: timeout talking to server
--------- beginning of crash
05-14 09:12:09.131  4711  4711 E AndroidRuntime: FATAL EXCEPTION: main
05-14 09:12:09.131  4711  4711 E AndroidRuntime: java.lang.NullPointerException
05-14 09:12:09.140  1523  4760 W ActivityTaskManager:   Force finishing activity
"""


def test_log_excerpt_is_around_the_last_crash_else_the_last_errors():
    found = log_excerpt(CRASH_LOG, "logcat.txt", before=1, after=2)
    assert found.title == "last crash (1 in the log)"
    assert [n for n, _, _ in found.lines] == [4, 5, 6]
    assert [hit for _, _, hit in found.lines] == [False, True, True]
    errors_only = log_excerpt(
        CRASH_LOG.replace(b"FATAL EXCEPTION", b"oops").replace(b"crash\n", b"main\n"), "x"
    )
    assert errors_only.title.startswith("last 3 of 3 error lines")
    assert log_excerpt(b"05-14 09:12:03.418  1523  1544 I Tag: fine\n", "x") is None


def test_each_error_row_is_the_line_its_number_names_though_a_message_holds_a_line_separator():
    """Lines end at "\n" only, as logcat numbers them: a message holding \u2028 (or \x1c, a
    lone \r) once moved every row after it one line off, showing the wrong text."""
    log = (b"05-14 09:12:03.418  1523  1544 E A: one\xe2\x80\xa8half\n"
           b"05-14 09:12:04.655  4711  4738 I B: fine\n"
           b"05-14 09:12:05.655  4711  4738 E C: two\n")
    found = log_excerpt(log, "x")
    assert [(n, text.split(": ", 1)[1]) for n, text, _ in found.lines] == [(1, "one\u2028half"), (3, "two")]
    crash = log.replace(b"C: two", b"C: FATAL EXCEPTION: main")
    assert [n for n, text, _ in log_excerpt(crash, "x", before=1, after=1).lines if "FATAL" in text] == [3]


def test_a_long_log_is_searched_from_its_end_with_true_line_numbers():
    filler = b"05-14 09:00:00.000  1  1 I Tag: filler line\n" * 60_000  # > 2 MB
    found = log_excerpt(filler + CRASH_LOG, "logcat.txt", before=0, after=1)
    assert re.search(r"FATAL EXCEPTION", found.lines[0][1]) and found.lines[0][0] == 60_000 + 5


def test_collect_leaves_the_log_to_the_report_scan(fake_server, tsd, tmp_path, monkeypatch):
    """The counts `tsdtool logs` prints are not computed in collect (nothing in a bundle shows
    them): the report's one scan of the log's end is all, and still finds the crash."""
    from tsdtool.parsers import logcat

    def no_summary(data):
        raise AssertionError("collect computed the logcat summary")

    monkeypatch.setattr(logcat, "summary", no_summary)
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--package", "com.example.scanner.demo",
                              *field_args(FULL_FIELDS))
    assert code in (0, 3)
    assert {i["path"]: i["status"] for i in result["items"]}["logcat.txt"] == "ok"
    parsed = Sections()
    parsed.feed(read_item(Path(result["bundle"]), "report.html").decode("utf-8"))
    assert "FATAL EXCEPTION" in parsed.text["logs"]


def test_a_scan_made_earlier_is_used_only_for_the_very_bytes_it_scanned(report_bundle):
    from tsdtool.bundle import report_html
    from tsdtool.bundle.verify import open_bundle

    with open_bundle(report_bundle) as opened:
        manifest = opened.manifest
    path = next(i.path for i in manifest.items if i.kind == "logcat")
    data = read_item(report_bundle, path)

    def read(name, *, tail=None):
        return data if name == path else None

    made = ("report.last_errors", {"shown": 1, "total": 1}, [(7, "made earlier", True)])
    page = report_html.render(manifest, read, scanned={path: (data, made)})
    assert "made earlier" in page and "FATAL EXCEPTION" not in page  # taken as scanned, not scanned again
    page = report_html.render(manifest, read, scanned={path: (data + b"more", made)})
    assert "made earlier" not in page and "FATAL EXCEPTION" in page  # other bytes: scanned now
    assert report_html.render(manifest, read) == page


def test_collect_scans_the_log_for_the_report_in_the_logs_lane(fake_server, tsd, tmp_path, monkeypatch):
    """The report's scan of the log's end runs as soon as the log is in, beside the rest, not
    after the last byte; the page is what a scan at packing time gives."""
    import threading

    from tsdtool.bundle import report_html

    real, threads = report_html.scan_log, []

    def spy(data, *args, **kw):
        threads.append(threading.current_thread().name)
        return real(data, *args, **kw)

    monkeypatch.setattr(report_html, "scan_log", spy)
    server = fake_server("zebra_tc52")
    code, result, _ = collect(tsd, server.port, tmp_path / "out", "--package", "com.example.scanner.demo",
                              *field_args(FULL_FIELDS))
    assert code in (0, 3)
    assert len(threads) == 1 and threads[0].startswith("tsd-lane-"), threads  # once, in a lane
    bundle = Path(result["bundle"])
    parsed = Sections()
    parsed.feed(read_item(bundle, "report.html").decode("utf-8"))
    assert "FATAL EXCEPTION" in parsed.text["logs"]
    code, _, _ = tsd("report", bundle, "--no-open")  # rendered again from the bundle, scanned now
    assert code == 0 and bundle.with_name(bundle.name[:-4] + ".report.html").read_bytes() == read_item(
        bundle, "report.html")


def test_the_report_quotes_the_log_as_packed_redacted_or_not(fake_server, tsd, tmp_path):
    """Plain: the report reads the staged log (the same bytes as the zip's); --redact: it reads
    the rewritten log from the bundle, so an identifier near the crash never reaches the page."""
    from tests.fake_adb import make_fixture

    imei = "490154203237518"  # passes the Luhn check
    log = (
        "--------- beginning of main\n"
        f"05-14 09:12:03.418  4711  4711 I Scan: device IMEI {imei} ready\n"
        "05-14 09:12:04.131  4711  4711 E AndroidRuntime: FATAL EXCEPTION: main\n"
        "05-14 09:12:04.132  4711  4711 E AndroidRuntime: java.lang.IllegalStateException: scanner busy\n"
    )
    fixture = make_fixture(tmp_path / "fx", "QUOTE0001", logcat=log,
                           packages=[{"name": "com.example.app", "debuggable": True}])
    server = fake_server(fixture)
    pages = {}
    for label, extra in (("plain", []), ("redacted", ["--redact"])):
        code, result, err = collect(tsd, server.port, tmp_path / label, "--package", "com.example.app",
                                    *extra, *field_args())
        assert code in (0, 3), err
        parsed = Sections()
        parsed.feed(read_item(Path(result["bundle"]), "report.html").decode("utf-8"))
        pages[label] = parsed.text["logs"]
    assert "FATAL EXCEPTION" in pages["plain"] and f"IMEI {imei} ready" in pages["plain"]
    assert "FATAL EXCEPTION" in pages["redacted"] and imei not in pages["redacted"]
    assert "<IMEI-" in pages["redacted"]


def test_the_staged_reader_gives_a_files_end_or_none(tmp_path):
    """What the report reads when nothing was rewritten: the staged file, its last bytes with
    ``tail`` (as the bundle's reader gives them), None for what is not there or outside."""
    from tsdtool.bundle.collect import _staged_reader

    (tmp_path / "stage" / "logs").mkdir(parents=True)
    (tmp_path / "stage" / "logs" / "a.txt").write_bytes(b"0123456789")
    (tmp_path / "outside.txt").write_bytes(b"secret")
    read = _staged_reader(tmp_path / "stage")
    assert read("logs/a.txt") == b"0123456789" and read("logs/a.txt", tail=3) == b"789"
    assert read("logs/a.txt", tail=0) == b"" and read("logs/a.txt", tail=99) == b"0123456789"
    assert read("logs/nope.txt") is None and read("../outside.txt") is None
