"""Repro capture end to end: start marks the log, stop collects only the window since the marker."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from tests.bundle_util import every_bundle_verifies  # noqa: F401 - autouse: every bundle verifies
from tests.conftest import FIXTURES

PACKAGE = "com.example.scanner.demo"


def _terminal(tmp_path: Path) -> Path:
    """zebra_tc52 whose recorded log is two days old (logcat has no year: keep it relative)."""
    folder = tmp_path / "tc52"
    shutil.copytree(FIXTURES / "zebra_tc52", folder)
    old = (datetime.now() - timedelta(days=2)).strftime("%m-%d %H:%M:%S.000")
    lines = [line if line.startswith("-") else old + line[18:]
             for line in (folder / "logcat.txt").read_text("utf-8").splitlines()]
    (folder / "logcat.txt").write_text("\n".join(lines) + "\n", "utf-8")
    return folder


def test_repro_bundle_holds_only_the_window(fake_server, tsd, tmp_path):
    srv = fake_server(_terminal(tmp_path))
    terminal = srv.terminal("20TC52FX0001")
    code, out, err = tsd("-P", srv.port, "repro", "start")
    assert code == 0, err
    repro_id = out.split()[1]
    assert [d for k, d in terminal.journal if k == "log"][-1].endswith(f": repro-start {repro_id}")
    terminal.append_log("ScanService", "E", "decoder timeout after 3000 ms")  # the technician shows the bug
    code, out, err = tsd("-P", srv.port, "--timeout", "5", "repro", "stop", "--package", PACKAGE, "-o",
                         tmp_path / "out", "--json")
    bundle = Path(json.loads(out)["bundle"])
    with zipfile.ZipFile(bundle) as zf:
        log = zf.read("logcat.txt").decode()
        manifest = json.loads(zf.read("manifest.json"))
        report = zf.read("report.html").decode()
        # A screenshot, not an attachment: it used to be attachments/repro-before.png and GRSoft
        # counted it as the exchange folder ("Каталог обмена (в архиве)").
        assert zf.read("repro-before.png").startswith(b"\x89PNG")
        assert not [n for n in zf.namelist() if n.startswith("attachments/")]
    assert "repro-start" in log and "decoder timeout after 3000 ms" in log
    assert "FATAL EXCEPTION" not in log  # the recorded crash is two days old: outside the window
    repro = manifest["options"]["repro"]
    assert repro["id"] == repro_id
    assert repro["window_from"] == "marker" and manifest["options"]["since"] == repro["since"]
    assert repro["device_actions"][0]["command"].startswith("log -t tsdtool repro-start ")
    assert report.count('class="repro-shot"') == 2
    assert report.index("decoder timeout") < report.index('id="device"')
    code, out, err = tsd("-P", srv.port, "repro", "stop")
    assert code == 2 and "no single repro running" in err


def test_collect_since_works_without_start(fake_server, tsd, tmp_path):
    srv = fake_server(_terminal(tmp_path))
    srv.terminal("20TC52FX0001").append_log("ScanService", "W", "fresh line")
    code, out, err = tsd("-P", srv.port, "--timeout", "5", "collect", "--since", "10m", "--package", PACKAGE,
                         "-o", tmp_path / "out", "--no-input", "--json")
    with zipfile.ZipFile(json.loads(out)["bundle"]) as zf:
        log = zf.read("logcat.txt").decode()
    assert "fresh line" in log and "FATAL EXCEPTION" not in log


def test_repro_stop_takes_the_collect_options_and_its_screenshot_is_no_exchange_folder(fake_server, tsd, tmp_path):
    from tests.bundle_util import FULL_FIELDS, field_args

    srv = fake_server(_terminal(tmp_path))
    code, _, err = tsd("-P", srv.port, "repro", "start")
    assert code == 0, err
    fields = {k: v for k, v in FULL_FIELDS.items() if k not in ("exchange_link", "impact")}
    form = tmp_path / "form.toml"
    form.write_text('impact = "Gate 3 stops"\n', "utf-8")
    code, out, err = tsd("-P", srv.port, "--timeout", "5", "repro", "stop", "--desk", "grsoft", "--package", PACKAGE,
                         "-o", tmp_path / "out", "--no-input", "--json", "--redact", "--form", form,
                         *field_args(fields))
    result = json.loads(out)
    assert "exchange_link|exchange_folder|attachments" in result["ticket"]["missing"], result["ticket"]
    manifest = json.loads(zipfile.ZipFile(result["bundle"]).read("manifest.json"))
    assert manifest["options"]["redact"] is True and manifest["form"]["impact"] == "Gate 3 stops"
    md = Path(result["ticket"]["markdown"]).read_text("utf-8")
    assert "repro-before.png" not in md.split("## Дополнительно")[0]
