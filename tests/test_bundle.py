"""The bundle zip: .part until the manifest is in, hashes while streaming, verify finds tampering."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from datetime import UTC, datetime

import pytest

from tests.bundle_util import every_bundle_verifies  # noqa: F401 - autouse: every bundle must verify
from tsdtool import errors
from tsdtool.bundle.manifest import FAILED, OK, SKIPPED, BundleItem, Manifest, iso_utc, stamp_utc
from tsdtool.bundle.verify import open_bundle, schema_problems, verify
from tsdtool.bundle.writer import BundleWriter
from tsdtool.outdir import OutputDir

WHEN = datetime(2024, 5, 14, 9, 30, 0, tzinfo=UTC)
HOST = {
    "os_name": "Debian GNU/Linux",
    "os_version": "12",
    "os_bitness": 64,
    "python": "3.11.7",
    "tool_version": "0.1.0",
    "adb_server_version": "1.0.41",
}


def manifest(**extra) -> Manifest:
    return Manifest(
        "0.1.0",
        iso_utc(WHEN),
        host=dict(HOST),
        device={"serial": "TSD0001", "model": "TC52"},
        profiles={"device": "zebra", "app": None, "desk": "generic"},
        **extra,
    )


def staged(tmp_path) -> OutputDir:
    out = OutputDir(tmp_path / "staging")
    out.write_bytes(
        "logs/logcat.txt", b"05-14 09:12:09.131  4711  4711 E Tag: boom\n", "logcat -d", kind="log"
    )
    with pytest.raises(errors.TransferError):
        with out.open("apps/a/internal/x.db", "run-as a cat x.db", kind="database") as w:
            w.write(b"SQLite format 3\x00half")
            raise errors.TransferError("connection lost")
    out.skip("screenshot.png", "screencap -p", "screen is off", kind="screenshot")
    return out


def pack(tmp_path, out: OutputDir, m: Manifest | None = None, transform=None):
    m = m or manifest()
    dest = tmp_path / "b" / "bundle.zip"
    dest.parent.mkdir(exist_ok=True)
    with BundleWriter(dest, WHEN) as writer:
        for item in out.items:
            m.items.append(writer.add_staged(out.root, item, transform))
        path = writer.finish(m)
    return path, m


def test_ok_failed_and_skipped_items_are_recorded_and_partial_bytes_kept(tmp_path):
    path, m = pack(tmp_path, staged(tmp_path))
    assert path.is_file() and not path.with_name("bundle.zip.part").exists()
    by_path = {i.path: i for i in m.items}
    assert by_path["logs/logcat.txt"].status == OK and by_path["logs/logcat.txt"].stored
    partial = by_path["apps/a/internal/x.db.part"]
    assert partial.status == FAILED and "connection lost" in partial.reason and partial.size == 20
    assert by_path["screenshot.png"].status == SKIPPED and not by_path["screenshot.png"].stored
    assert m.status == "partial"
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist()[-1] == "manifest.json"  # written last
        assert zf.read("apps/a/internal/x.db.part") == b"SQLite format 3\x00half"
    assert verify(path).ok


def test_the_hash_streamed_into_the_zip_matches_the_collected_one(tmp_path):
    out = staged(tmp_path)
    (out.root / "logs/logcat.txt").write_bytes(b"changed after collection\n")
    _, m = pack(tmp_path, out)
    item = m.item("logs/logcat.txt")
    assert item.status == FAILED and "changed on disk" in item.reason


def test_an_exception_while_packing_leaves_no_zip(tmp_path):
    dest = tmp_path / "x.zip"
    with pytest.raises(RuntimeError):
        with BundleWriter(dest, WHEN) as writer:
            writer.add_bytes(BundleItem("a.txt", "other", "test"), b"a")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_packing_gives_a_valid_shorter_entry(tmp_path):
    out = staged(tmp_path)

    def interrupted(lines):
        yield b"first line\n"
        raise KeyboardInterrupt

    path, m = pack(tmp_path, out, transform=interrupted)
    item = m.item("logs/logcat.txt")
    assert item.status == FAILED and "interrupted" in item.reason
    with zipfile.ZipFile(path) as zf:
        assert zf.read("logs/logcat.txt") == b"first line\n"


def test_manifest_round_trips(tmp_path):
    path, m = pack(tmp_path, staged(tmp_path))
    with open_bundle(path) as b:
        again = b.manifest
    assert again.to_dict() == m.to_dict()
    assert again.created_at == "2024-05-14T09:30:00Z" and stamp_utc(WHEN) == "20240514T093000Z"


def _rewrite(src, dest, change):
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
    return dest


def test_verify_finds_changed_missing_and_unlisted_files(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    tampered = tmp_path / "tampered"
    changed = _rewrite(
        path, tampered / "changed.zip", lambda n, d: b"X" + d[1:] if n == "logs/logcat.txt" else d
    )
    assert any("SHA-256 does not match" in p for p in verify(changed).problems)
    gone = _rewrite(path, tampered / "gone.zip", lambda n, d: None if n == "logs/logcat.txt" else d)
    assert any("missing from the zip" in p for p in verify(gone).problems)
    extra = _rewrite(path, tampered / "extra.zip", lambda n, d: d)
    with zipfile.ZipFile(extra, "a") as zf:
        zf.writestr("smuggled.txt", b"hi")
    assert verify(extra).problems == ["smuggled.txt: in the zip but not in the manifest"]


def _damage(src, dest, name, change):
    """A copy of ``src`` with bytes of ``name``'s stored data changed in place (headers and CRC untouched)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo(name)
    raw = bytearray(src.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    change(raw, start, info.compress_size, info.compress_type)
    dest.write_bytes(raw)
    return dest


def _invalid_block_type(raw, start, size, compress_type):
    assert compress_type == zipfile.ZIP_DEFLATED
    raw[start] |= 0b110  # BTYPE 11: a deflate block type that does not exist, so inflating fails


def _flip_middle(raw, start, size, compress_type):
    assert compress_type == zipfile.ZIP_STORED
    raw[start + size // 2] ^= 0xFF


def test_verify_reports_a_damaged_member_as_damaged_not_an_internal_error(tmp_path, tsd):
    path, _ = pack(tmp_path, staged(tmp_path))
    broken = _damage(path, tmp_path / "tampered" / "inflate.zip", "logs/logcat.txt", _invalid_block_type)
    problems = verify(broken).problems
    assert len(problems) == 1 and problems[0].startswith("logs/logcat.txt: damaged in the zip ("), problems
    with open_bundle(broken) as bundle:  # report and send read items this way: damaged is "not there"
        assert bundle.read("logs/logcat.txt") is None
        assert bundle.read("apps/a/internal/x.db.part") == b"SQLite format 3\x00half"

    code, out, err = tsd("verify", broken)
    lines = out.splitlines()
    assert code == 1 and err == "", (code, err)
    assert lines[0] == f"✗ {problems[0]}" and lines[1].startswith("1 problem(s): 2 files hashed"), lines
    assert len(lines) == 2


def test_verify_reports_a_bad_crc_on_a_stored_member(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    stored = _rewrite(path, tmp_path / "tampered" / "stored.zip", lambda n, d: d)
    broken = _damage(stored, tmp_path / "tampered" / "crc.zip", "logs/logcat.txt", _flip_middle)
    assert verify(broken).problems == ["logs/logcat.txt: damaged in the zip (Bad CRC-32 for file 'logs/logcat.txt')"]
    assert verify(stored).problems == []


def _edit_manifest(src, dest, change):
    def edit(name, data):
        if name != "manifest.json":
            return data
        doc = json.loads(data)
        change(doc)
        return json.dumps(doc).encode()

    return _rewrite(src, dest, edit)


def test_verify_a_sound_bundle_hashes_every_stored_item_and_reports_its_status(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    result = verify(path)
    # the ok log and the failed database's partial bytes are hashed; the skipped screenshot has none
    assert (result.problems, result.checked, result.status, result.ok) == ([], 2, "partial", True)
    assert result.bundle == path


def test_verify_names_a_schema_version_it_does_not_know(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    newer = _edit_manifest(path, tmp_path / "tampered" / "v2.zip", lambda d: d.update(schema_version=2))
    assert verify(newer).problems == ["schema_version 2 is not 1", "schema: schema_version: 1 was expected"]
    gone = _edit_manifest(path, tmp_path / "tampered" / "v0.zip", lambda d: d.pop("schema_version"))
    assert verify(gone).problems == [
        "schema_version None is not 1", "schema: manifest: 'schema_version' is a required property",
    ]


def test_verify_finds_a_status_that_its_items_contradict(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))  # a failed item: partial
    claims = _edit_manifest(path, tmp_path / "tampered" / "claims.zip", lambda d: d.update(status="complete"))
    result = verify(claims)
    assert result.problems == ["status says 'complete' but the items say 'partial'"]
    assert result.status == "partial" and not result.ok

    def all_ok(doc):
        doc["status"] = "partial"
        doc["items"] = [i for i in doc["items"] if i["status"] == "ok"]

    whole = _rewrite(
        _edit_manifest(path, tmp_path / "tampered" / "ok.zip", all_ok),
        tmp_path / "tampered" / "whole.zip",
        lambda n, d: None if n.endswith(".part") else d,
    )
    assert verify(whole).problems == ["status says 'partial' but the items say 'complete'"]

    def interrupted(doc):
        doc["interrupted"] = True
        doc["items"] = [i for i in doc["items"] if i["status"] == "ok"]
        doc["status"] = "complete"

    stopped = _rewrite(
        _edit_manifest(path, tmp_path / "tampered" / "int0.zip", interrupted),
        tmp_path / "tampered" / "int.zip",
        lambda n, d: None if n.endswith(".part") else d,
    )
    assert verify(stopped).problems == ["status says 'complete' but the items say 'partial'"]


def test_verify_tells_size_and_hash_apart(tmp_path):
    path, m = pack(tmp_path, staged(tmp_path))
    size = m.item("logs/logcat.txt").size
    longer = _rewrite(path, tmp_path / "tampered" / "longer.zip",
                      lambda n, d: d + b"!" if n == "logs/logcat.txt" else d)
    assert verify(longer).problems == [
        f"logs/logcat.txt: {size + 1} bytes, the manifest says {size}",
        "logs/logcat.txt: SHA-256 does not match the manifest",
    ]
    same_length = _rewrite(path, tmp_path / "tampered" / "same.zip",
                           lambda n, d: d.upper() if n == "logs/logcat.txt" else d)
    assert verify(same_length).problems == ["logs/logcat.txt: SHA-256 does not match the manifest"]

    def claim_more(doc):
        doc["items"][0]["size"] += 10

    bigger = _edit_manifest(path, tmp_path / "tampered" / "size.zip", claim_more)
    assert verify(bigger).problems == [f"logs/logcat.txt: {size} bytes, the manifest says {size + 10}"]
    gone = _rewrite(path, tmp_path / "tampered" / "gone.zip", lambda n, d: None if n == "logs/logcat.txt" else d)
    result = verify(gone)
    assert result.problems == ["logs/logcat.txt: listed but missing from the zip"] and result.checked == 2


def test_verify_a_second_member_under_a_listed_name_is_a_problem(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    twice = _rewrite(path, tmp_path / "tampered" / "twice.zip", lambda n, d: d)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(twice, "a") as zf:
        zf.writestr("logs/logcat.txt", b"a different log\n")
    problems = verify(twice).problems
    assert problems and all(p.startswith("logs/logcat.txt: ") for p in problems), problems


def test_readers_refuse_wrong_types_and_verify_lists_them(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))

    def wrong(doc):
        doc["device"] = ["TSD0001"]
        doc["items"][0]["size"] = "43"

    bad = _edit_manifest(path, tmp_path / "tampered" / "types.zip", wrong)
    with pytest.raises(errors.UsageError) as exc:
        open_bundle(bad)
    assert str(exc.value) == (
        f"{bad}: manifest.json is not a tsdtool manifest (device: ['TSD0001'] is not of type 'object', and 1 more)"
    )
    assert exc.value.fix == "`tsdtool verify` lists every problem"
    problems = verify(bad).problems
    assert "schema: device: ['TSD0001'] is not of type 'object'" in problems
    assert "schema: items.0.size: '43' is not of type 'integer'" in problems
    assert schema_problems({"schema_version": 1}, types_only=True) == []
    assert schema_problems({"device": []}, types_only=True) == ["device: [] is not of type 'object'"]
    not_json = _rewrite(path, tmp_path / "tampered" / "nj.zip", lambda n, d: b"{" if n == "manifest.json" else d)
    with pytest.raises(errors.UsageError, match=r"manifest.json is not a tsdtool manifest \(Expecting"):
        open_bundle(not_json)


def test_bundle_read_gives_an_items_bytes_or_none(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    with open_bundle(path) as bundle:
        log = bundle.read("logs/logcat.txt")
        assert log.startswith(b"05-14 09:12:09.131") and log.endswith(b"boom\n")
        assert bundle.read("logs/logcat.txt", 5) == b"05-14"
        assert bundle.read("screenshot.png") is None
        assert bundle.manifest.item("screenshot.png").status == SKIPPED
    assert bundle.zip.fp is None  # closed on leaving the block


def test_verify_reports_schema_violations(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))

    def break_manifest(name, data):
        if name != "manifest.json":
            return data
        doc = json.loads(data)
        doc["items"][0]["status"] = "maybe"
        doc["created_at"] = "yesterday"
        return json.dumps(doc).encode()

    bad = _rewrite(path, tmp_path / "tampered" / "bad.zip", break_manifest)
    problems = verify(bad).problems
    assert any(p.startswith("schema: created_at") for p in problems)
    assert any(p.startswith("schema: items.0.status") for p in problems)


def test_not_a_bundle_is_a_usage_error(tmp_path):
    (tmp_path / "tampered").mkdir()
    plain = tmp_path / "tampered" / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("a.txt", "a")
    with pytest.raises(errors.UsageError, match="no manifest.json"):
        verify(plain)
    with pytest.raises(errors.UsageError, match="no such file"):
        verify(tmp_path / "tampered" / "absent.zip")


def test_verify_of_a_cut_short_bundle_is_a_problem_found_not_a_usage_error(tmp_path, tsd):
    path, _ = pack(tmp_path, staged(tmp_path))
    cut = tmp_path / "tampered" / "cut.zip"
    cut.parent.mkdir()
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a copy that stopped half way
    problems = verify(cut).problems
    assert problems == ["not a readable zip, damaged or cut short (File is not a zip file)"]
    code, out, err = tsd("verify", cut)
    assert (code, err) == (1, ""), (code, err)
    assert out.splitlines() == [f"✗ {problems[0]}", f"1 problem(s): nothing could be checked ({cut})"]
    code, out, err = tsd("verify", tmp_path / "tampered" / "absent.zip")
    assert code == 2 and "no such file" in err


def test_schema_rejects_paths_that_escape(tmp_path):
    doc = manifest(items=[BundleItem("../evil.txt", "other", "x", sha256="0" * 64)]).to_dict()
    doc["ticket"] = {"desk": "generic", "ready": False, "required": [], "missing": []}
    assert any("items.0.path" in p for p in schema_problems(doc))
    doc["items"][0]["path"] = "ok/evil.txt"
    assert schema_problems(doc) == []


def test_verify_cli_exit_codes(tmp_path, tsd):
    path, _ = pack(tmp_path, staged(tmp_path))
    code, out, _ = tsd("verify", path)
    assert code == 0 and "verified: 2 files hashed" in out
    tampered = tmp_path / "tampered" / "t.zip"
    _rewrite(path, tampered, lambda n, d: d + b"!" if n == "logs/logcat.txt" else d)
    code, out, _ = tsd("verify", tampered, "--json")
    assert code == 1 and json.loads(out)["ok"] is False
    code, _, err = tsd("verify", tmp_path / "nope.zip")
    assert code == 2 and "no such file" in err


def test_copying_a_bundle_keeps_it_verifiable(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    copy = shutil.copy(path, tmp_path / "copy.zip")
    assert verify(copy).ok and verify(copy).checked == 2


def test_the_schema_is_read_from_docs_in_a_source_tree_and_from_the_package_in_a_wheel(monkeypatch):
    from pathlib import Path

    import tsdtool.bundle
    from tsdtool.bundle import verify as verify_module

    repo = Path(__file__).resolve().parents[1]
    assert verify_module.schema_path() == repo / "docs" / "bundle.schema.json"
    monkeypatch.setattr(verify_module, "__file__", "/nowhere/site-packages/tsdtool/bundle/verify.py")
    assert verify_module.schema_path() == Path(tsdtool.bundle.__file__).parent / "bundle.schema.json"
    monkeypatch.undo()
    verify_module.schema.cache_clear()
    assert verify_module.schema()["properties"]["schema_version"] == {"const": 1}


def test_strict_reading_refuses_only_wrong_types_and_counts_the_rest(tmp_path):
    from tsdtool.bundle.verify import Bundle

    path, _ = pack(tmp_path, staged(tmp_path))
    odd = _edit_manifest(path, tmp_path / "tampered" / "odd.zip",
                         lambda d: d["items"][0].update(status="maybe"))  # a wrong value, not a wrong type
    with open_bundle(odd) as bundle:
        assert bundle.manifest.items[0].status == "maybe"
    one = _edit_manifest(path, tmp_path / "tampered" / "one.zip", lambda d: d.update(device=[]))
    for reader in (Bundle, open_bundle):  # strict unless told otherwise
        with pytest.raises(errors.UsageError) as exc:
            reader(one)
        assert str(exc.value).endswith("(device: [] is not of type 'object')")
    with Bundle(one, strict=False) as bundle:
        assert bundle.data["device"] == []
    # a type the schema asks for only in one case (a skipped item has no hash) is a value problem
    hashed = _edit_manifest(path, tmp_path / "tampered" / "hashed.zip",
                            lambda d: d["items"][2].update(sha256="0" * 64))
    with open_bundle(hashed) as bundle:
        assert bundle.manifest.items[2].status == SKIPPED
    assert "schema: items.2.sha256: '" + "0" * 64 + "' is not of type 'null'" in verify(hashed).problems


def test_a_skipped_item_first_does_not_stop_the_others_being_checked(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))

    def skipped_first(doc):
        doc["items"].sort(key=lambda i: i["status"] != "skipped")

    moved = _edit_manifest(path, tmp_path / "tampered" / "moved.zip", skipped_first)
    changed = _rewrite(moved, tmp_path / "tampered" / "moved2.zip",
                       lambda n, d: d.upper() if n == "logs/logcat.txt" else d)
    result = verify(changed)
    assert result.checked == 2 and result.problems == ["logs/logcat.txt: SHA-256 does not match the manifest"]


def test_bundle_read_with_no_limit_reads_everything(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    with open_bundle(path) as bundle:
        whole = bundle.read("logs/logcat.txt")
        assert bundle.read("logs/logcat.txt", 0) == bundle.read("logs/logcat.txt", None) == whole
        assert len(whole) == 43 and bundle.read("logs/logcat.txt", 1000) == whole


def test_verify_counts_every_chunk_of_a_large_item(tmp_path):
    out = OutputDir(tmp_path / "staging")
    out.write_bytes("logs/logcat.txt", b"0123456789abcdef" * 100_000, "logcat -d", kind="log")  # 1.6 MB
    path, _ = pack(tmp_path, out)
    result = verify(path)
    assert (result.problems, result.checked) == ([], 1)


def test_bundle_read_refuses_a_member_whose_size_is_not_the_manifests(tmp_path):
    path, m = pack(tmp_path, staged(tmp_path))
    size = m.item("logs/logcat.txt").size

    def claim_more(doc):
        doc["items"][0]["size"] += 10

    bigger = _edit_manifest(path, tmp_path / "tampered" / "size.zip", claim_more)
    with open_bundle(bigger) as bundle, pytest.raises(errors.UsageError) as refused:
        bundle.read("logs/logcat.txt", 5)
    assert str(refused.value) == (f"{bigger}: logs/logcat.txt holds {size} bytes but the manifest says {size + 10}: "
                                  "refusing to unpack it")
    assert refused.value.fix == "`tsdtool verify` lists every problem"


def test_bundle_read_refuses_a_whole_member_over_the_item_budget_but_gives_its_head_or_tail(tmp_path, monkeypatch):
    path, m = pack(tmp_path, staged(tmp_path))
    size = m.item("logs/logcat.txt").size
    with monkeypatch.context() as env, open_bundle(path) as bundle:  # undone before the autouse check
        env.setenv("TSDTOOL_MAX_ITEM", str(size))
        whole = bundle.read("logs/logcat.txt")  # exactly the budget: allowed
        assert len(whole) == size
        env.setenv("TSDTOOL_MAX_ITEM", str(size - 1))
        with pytest.raises(errors.UsageError) as refused:
            bundle.read("logs/logcat.txt")
        assert bundle.read("logs/logcat.txt", 5) == whole[:5]
        assert bundle.read("logs/logcat.txt", tail=5) == whole[-5:]
    assert str(refused.value) == (f"{path}: logs/logcat.txt is {size} bytes, over its budget of {size - 1} bytes: "
                                  "refusing to unpack it")
    assert refused.value.fix == "if it is genuine, raise TSDTOOL_MAX_ITEM"


def test_verify_does_not_hash_a_member_over_the_item_budget_but_still_compares_its_size(tmp_path, monkeypatch):
    path, m = pack(tmp_path, staged(tmp_path))
    size = m.item("logs/logcat.txt").size

    def claim_more(doc):
        doc["items"][0]["size"] += 10

    bigger = _edit_manifest(path, tmp_path / "tampered" / "size.zip", claim_more)
    skipped = (f"logs/logcat.txt: not hashed: {size} bytes is over the item budget of {size - 1} bytes"
               " (TSDTOOL_MAX_ITEM)")
    with monkeypatch.context() as env:  # undone before the autouse check
        env.setenv("TSDTOOL_MAX_ITEM", str(size))
        assert verify(path).problems == []  # exactly the budget: hashed
        env.setenv("TSDTOOL_MAX_ITEM", str(size - 1))
        assert verify(path).problems == [skipped]
        assert verify(bigger).problems == [f"logs/logcat.txt: {size} bytes, the manifest says {size + 10}", skipped]


def test_verify_names_an_item_listed_twice_and_still_checks_the_ones_after_it(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))

    def list_twice(doc):
        doc["items"].insert(1, dict(doc["items"][0]))

    twice = _edit_manifest(path, tmp_path / "tampered" / "listed.zip", list_twice)
    result = verify(twice)
    assert result.problems == ["logs/logcat.txt: listed more than once in the manifest"]
    assert result.checked == 2  # the log and the partial database after it


def test_a_manifest_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(tmp_path, monkeypatch):
    from tsdtool.bundle import verify as verify_mod

    path, _ = pack(tmp_path, staged(tmp_path))
    with zipfile.ZipFile(path) as zf:
        size = zf.getinfo("manifest.json").file_size
    with monkeypatch.context() as patch:  # undone before the autouse check
        patch.setattr(verify_mod, "MANIFEST_LIMIT", size)
        with open_bundle(path) as bundle:
            assert bundle.manifest.item("logs/logcat.txt").kind == "log"
        patch.setattr(verify_mod, "MANIFEST_LIMIT", size - 1)
        with pytest.raises(errors.UsageError, match="no manifest.json in it"):
            open_bundle(path)


def test_the_tail_of_a_member_spanning_reads_is_exact_and_held_in_constant_memory(tmp_path):
    import tracemalloc

    from tsdtool.bundle.verify import read_member

    big = tmp_path / "big.zip"
    data = bytes(range(256)) * (3 << 12)  # 3 MiB: three reads of 1 MiB
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x", data)
        zf.writestr("zeros", bytes(24 << 20))
        zf.writestr("half", data[(1 << 19) :] + data[:10])
    with zipfile.ZipFile(big) as zf:
        for tail in (10, (2 << 20) + 1, (2 << 20), 3 << 20, (3 << 20) + 7):
            assert read_member(zf, "x", tail=tail) == data[-tail:], tail
        assert read_member(zf, "x", tail=0) == b""  # the last 0 bytes: nothing
        assert read_member(zf, "half", tail=10) == data[:10]  # 2.5 MiB: a short last read
        tracemalloc.start()
        try:
            assert read_member(zf, "zeros", tail=5) == bytes(5)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 8 << 20  # a few reads of 1 MiB, not the 24 MiB member


def test_a_name_twice_in_the_zip_is_refused_by_readers_and_each_problem_named_by_verify(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    twice = _rewrite(path, tmp_path / "tampered" / "twice.zip", lambda n, d: d)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(twice, "a") as zf:
        zf.writestr("logs/logcat.txt", b"a different log\n")
    with pytest.raises(errors.UsageError) as refused:
        open_bundle(twice)
    assert str(refused.value) == (f"{twice}: 1 names are in the zip twice, e.g. 'logs/logcat.txt' "
                                  "(unzip would extract unchecked copies)")
    assert refused.value.fix == "ask for the bundle again; `tsdtool verify` lists every problem"
    assert "logs/logcat.txt: in the zip more than once" in verify(twice).problems
    text = tmp_path / "tampered" / "text.zip"
    text.write_bytes(b"not a zip at all")
    with pytest.raises(errors.UsageError) as refused:
        open_bundle(text)
    assert str(refused.value) == f"{text}: not a readable zip (File is not a zip file)"
    plain = tmp_path / "tampered" / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("a.txt", "a")
    with pytest.raises(errors.UsageError) as refused:
        open_bundle(plain)
    assert str(refused.value) == (f"{plain}: no manifest.json in it (or one over 64 MiB) — not a tsdtool bundle, "
                                  "or unfinished")


def test_readers_refuse_a_manifest_no_text_can_carry_and_name_why_in_one_short_line(tmp_path):
    path, _ = pack(tmp_path, staged(tmp_path))
    tampered = tmp_path / "tampered"

    def manifest_text(name, change):
        return _rewrite(path, tampered / name, lambda n, d: change(d) if n == "manifest.json" else d)

    surrogate = manifest_text("s.zip", lambda d: d.replace(b'"TC52"', b'"TC52\\udc80"'))  # valid JSON, no UTF-8
    with pytest.raises(errors.UsageError, match=r"manifest.json is not a tsdtool manifest \('utf-8' codec can't "
                                                r"encode character '\\udc80'"):
        open_bundle(surrogate)
    deep = manifest_text("d.zip", lambda d: d.replace(b'"TC52"', b"[" * 100_000 + b"]" * 100_000))
    with pytest.raises(errors.UsageError) as refused:
        open_bundle(deep)
    assert str(refused.value) == f"{deep}: manifest.json is not a tsdtool manifest (nested too deeply)"
    long = manifest_text("l.zip", lambda d: d.replace(b'"serial": "TSD0001", ', b"").replace(
        b'"device": {', b'"device": "' + b"x" * 400 + b'", "unused": {'))
    with pytest.raises(errors.UsageError) as refused:
        open_bundle(long)
    why = str(refused.value).split(" (", 1)[1]
    assert why == "device: '" + "x" * 291 + ")"  # the first 300 characters of the schema's message


def test_verify_hashes_a_big_member_in_constant_memory(tmp_path):
    import tracemalloc

    out = OutputDir(tmp_path / "staging")
    out.write_bytes("logs/big.log", bytes(24 << 20), "cat big.log", kind="log")
    path, _ = pack(tmp_path, out)
    tracemalloc.start()
    try:
        result = verify(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (result.problems, result.checked) == ([], 1)
    assert peak < 8 << 20  # reads of 1 MiB, not the 24 MiB member at once


def test_the_bundle_is_on_disk_before_it_takes_its_name(tmp_path, monkeypatch):
    """The ticket files were fsynced before their rename, the bundle they point to was not:
    a power cut after "ready" could leave a named, empty zip."""
    import os

    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
                        or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(("replace", str(a))) or real_replace(a, b))
    path, _ = pack(tmp_path, staged(tmp_path))
    part = str(path.with_name(path.name + ".part"))
    assert ("fsync", part) in events and events.index(("fsync", part)) < events.index(("replace", part)), events
