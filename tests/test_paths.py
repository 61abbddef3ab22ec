"""tsdtool.paths: the guards that keep names from a terminal inside the output folder.

Each guard is called directly with the hostile input it exists for, and the exact answer is
pinned, so a guard that is deleted, inverted or loosened fails here (not only through a
caller's own filtering, which may hide it).
"""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsdtool import errors, paths
from tsdtool.paths import MAX_COMPONENT, UniqueNames, contained, safe_component, safe_relpath

# -- safe_component -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("logcat.txt", "logcat.txt"),
        ("..", "_"),
        (".", "_"),
        ("", "_"),
        ("  . ", "_"),
        ("...hidden. ", "hidden"),
        ("a/b", "a_b"),
        ("..\\..\\win.ini", "_.._win.ini"),
        ('a\\b:c*d?e"f<g>h|i', "a_b_c_d_e_f_g_h_i"),
        ("a\x00b\x1fc\x7fd\ne", "a_b_c_d_e"),
        ("e\u0301t\u00e9", "\u00e9t\u00e9"),  # NFC: one spelling of the same name
        ("отчёт.txt", "отчёт.txt"),
        ("XrayX", "XrayX"),  # only blanks and dots are stripped
    ],
)
def test_safe_component_replaces_separators_and_never_leaves_dots(name, expected):
    assert safe_component(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CON", "_CON"),
        ("con", "_con"),
        ("Con.txt", "_Con.txt"),
        ("PRN", "_PRN"),
        ("aux.log.gz", "_aux.log.gz"),
        ("NUL", "_NUL"),
        ("COM1", "_COM1"),
        ("com9.db", "_com9.db"),
        ("LPT1", "_LPT1"),
        ("lpt9", "_lpt9"),
        # not reserved: kept as they are
        ("COM10", "COM10"),
        ("LPT0", "LPT0"),
        ("CONSOLE", "CONSOLE"),
        ("icon", "icon"),
        ("my.CON", "my.CON"),
    ],
)
def test_safe_component_prefixes_windows_reserved_names(name, expected):
    assert safe_component(name) == expected


def test_a_component_of_exactly_the_limit_is_kept_and_one_byte_more_is_hashed():
    at_limit = "x" * MAX_COMPONENT
    assert safe_component(at_limit) == at_limit
    over = "x" * (MAX_COMPONENT + 1)
    digest = hashlib.sha256(over.encode()).hexdigest()[:12]
    assert safe_component(over) == "x" * (MAX_COMPONENT - 13) + "~" + digest
    assert len(safe_component(over).encode()) == MAX_COMPONENT


def test_a_long_multibyte_name_is_cut_on_a_character_boundary():
    name = "я" * 61  # 122 bytes
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    assert safe_component(name) == "я" * 53 + "~" + digest  # 107 bytes would split the 54th


def test_a_name_that_is_not_utf8_gets_a_readable_prefix_and_the_hash_of_its_bytes():
    name = b"log\xff.txt".decode("utf-8", "surrogateescape")
    digest = hashlib.sha256(b"log\xff.txt").hexdigest()[:12]
    assert safe_component(name) == f"log.txt~{digest}"
    other = b"log\xfe.txt".decode("utf-8", "surrogateescape")
    assert safe_component(other) != safe_component(name)


@given(st.text())
def test_safe_component_always_gives_one_usable_name(name):
    clean = safe_component(name)
    assert clean and clean not in (".", "..")
    assert not paths._UNSAFE.search(clean)
    assert clean.split(".")[0].upper() not in paths._RESERVED
    assert len(clean.encode("utf-8", "surrogateescape")) <= MAX_COMPONENT
    assert clean == clean.strip(" ") and not clean.endswith(".")


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=40))
def test_safe_component_keeps_a_plain_name_as_it_is(name):
    """The oracle for the property above: letters and digits need no change (bar NFC and reserved)."""
    import unicodedata

    nfc = unicodedata.normalize("NFC", name)
    expected = "_" + nfc if nfc.upper().split(".")[0] in paths._RESERVED else nfc
    if len(expected.encode()) <= MAX_COMPONENT:
        assert safe_component(name) == expected


# -- safe_relpath ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("device_path", "expected"),
    [
        ("/sdcard/Download/a.txt", "sdcard/Download/a.txt"),
        ("../../etc/passwd", "etc/passwd"),
        ("a/./b//c/..", "a/b/c"),
        ("/", "_"),
        ("..", "_"),
        ("", "_"),
        ("data/CON/x:y", "data/_CON/x_y"),
        ("a/ ../b", "a/_/b"),  # " .." is no parent reference, but safe_component still strips it
    ],
)
def test_safe_relpath(device_path, expected):
    assert safe_relpath(device_path) == expected


# -- contained ------------------------------------------------------------------------------------

def test_contained_gives_the_resolved_path_inside_root(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    assert contained(root, "a/b.txt") == root.resolve() / "a" / "b.txt"
    assert contained(root, "a/../b.txt") == root.resolve() / "b.txt"
    assert contained(root, ".") == root.resolve()
    assert contained(root, "") == root.resolve()


@pytest.mark.parametrize("relpath", ["..", "../x", "a/../../x", "../out2/f", "/etc/passwd", "a/../../out/../../x"])
def test_contained_refuses_every_escape(tmp_path, relpath):
    root = tmp_path / "out"
    root.mkdir()
    (tmp_path / "out2").mkdir()  # a sibling sharing the prefix: a string-prefix check would let it through
    with pytest.raises(ValueError, match=r"escapes"):
        contained(root, relpath)


def test_contained_follows_a_link_that_points_outside(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError, match=r"'link/secret' escapes"):
        contained(root, "link/secret")
    (root / "inner").mkdir()
    (root / "ok").symlink_to(root / "inner")
    assert contained(root, "ok/f") == root.resolve() / "inner" / "f"


# -- UniqueNames ----------------------------------------------------------------------------------

def test_unique_names_number_collisions_before_the_extension_and_ignore_case():
    names = UniqueNames()
    assert names.claim("logs/a.txt") == "logs/a.txt"
    assert names.claim("logs/a.txt") == "logs/a~2.txt"
    assert names.claim("LOGS/A.TXT") == "LOGS/A~3.TXT"
    assert names.claim("logs/a~2.txt") == "logs/a~2~2.txt"
    assert names.claim("README") == "README"
    assert names.claim("readme") == "readme~2"
    assert names.claim("dir.d/file") == "dir.d/file"
    assert names.claim("dir.d/file") == "dir.d/file~2"  # the dot belongs to the folder, not an extension


@given(st.lists(st.sampled_from(["a.txt", "A.txt", "a", "b.tar.gz", "B.TAR.GZ", "x.d/y"]), max_size=30))
def test_unique_names_never_repeat_and_keep_the_extension(requested):
    names = UniqueNames()
    given_out = [names.claim(r) for r in requested]
    assert len({g.casefold() for g in given_out}) == len(given_out)
    for req, got in zip(requested, given_out, strict=True):  # oracle: the name, or the name with ~N
        stem, _, ext = req.rpartition(".")
        if "/" in ext or not stem:
            assert got == req or (got.startswith(req + "~") and got[len(req) + 1 :].isdigit())
        else:
            assert got == req or (got.startswith(stem + "~") and got.endswith("." + ext))


# -- check_folder, check_file, write_new ----------------------------------------------------------

def test_check_folder_accepts_a_folder_to_be_made_without_making_it(tmp_path):
    paths.check_folder(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()
    paths.check_folder(tmp_path)


def test_check_folder_refuses_a_file_and_anything_below_it(tmp_path):
    file = tmp_path / "f.txt"
    file.write_text("x")
    with pytest.raises(errors.UsageError) as exc:
        paths.check_folder(file, "-o")
    assert str(exc.value) == f"-o {file}: {file} is not a folder"
    with pytest.raises(errors.UsageError) as exc:
        paths.check_folder(file / "sub" / "dir")
    assert str(exc.value) == f"{file} is not a folder"


def test_check_folder_refuses_an_unwritable_folder(tmp_path, monkeypatch):
    asked = []

    def access(path, mode):
        asked.append((path, mode))
        return False

    monkeypatch.setattr(paths.os, "access", access)
    with pytest.raises(errors.UsageError) as exc:
        paths.check_folder(tmp_path / "new", "output")
    assert str(exc.value) == f"output {tmp_path / 'new'}: {tmp_path} is not writable"
    assert exc.value.fix == "choose another folder with -o"
    assert asked == [(tmp_path, os.W_OK | os.X_OK)]


def test_check_file_refuses_a_folder(tmp_path):
    with pytest.raises(errors.UsageError) as exc:
        paths.check_file(tmp_path, "--json-out")
    assert str(exc.value) == f"--json-out {tmp_path} is a folder, not a file"
    assert exc.value.fix == "give a file name inside it"
    with pytest.raises(errors.UsageError) as exc:
        paths.check_file(tmp_path)
    assert str(exc.value) == f"{tmp_path} is a folder, not a file"
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(errors.UsageError) as exc:
        paths.check_file(blocker / "out.txt", "--json-out")
    assert str(exc.value) == f"--json-out {blocker}: {blocker} is not a folder"  # the label goes along
    paths.check_file(tmp_path / "a" / "b.txt")


def test_write_new_writes_through_a_part_file_and_makes_the_folder(tmp_path, monkeypatch):
    target = tmp_path / "a" / "b" / "c.txt"  # two folders to make
    replaced = []
    real = os.replace

    def replace(src, dst):
        replaced.append((src, dst, open(src, "rb").read()))
        real(src, dst)

    monkeypatch.setattr(paths.os, "replace", replace)
    assert paths.write_new(target, b"data") == target
    assert target.read_bytes() == b"data"
    assert replaced == [(tmp_path / "a" / "b" / "c.txt.part", target, b"data")]
    assert sorted(p.name for p in target.parent.iterdir()) == ["c.txt"]


def test_write_new_turns_an_os_error_into_an_output_error(tmp_path, monkeypatch):
    def full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(paths.os, "fsync", full)
    with pytest.raises(errors.OutputError) as exc:
        paths.write_new(tmp_path / "x.txt", b"data")
    assert str(exc.value) == f"cannot write {tmp_path / 'x.txt'}: No space left on device"
    with pytest.raises(errors.UsageError):
        paths.write_new(tmp_path, b"data")


def test_a_part_name_keeps_its_folder_and_a_released_name_is_free_again():
    names = UniqueNames()
    assert names.claim("logs/x.log.part") == "logs/x.log.part_"  # .part marks an unfinished copy
    assert names.claim("logs/x.log") == "logs/x.log"
    names.release("LOGS/X.LOG")  # its file was removed: any spelling frees it
    assert names.claim("logs/x.log") == "logs/x.log"
    assert names.claim("logs/x.log") == "logs/x~2.log"


def test_write_new_writes_bytes_or_pieces_whole(tmp_path):
    from tsdtool.paths import write_new

    assert write_new(tmp_path / "a.txt", b"whole").read_bytes() == b"whole"
    assert write_new(tmp_path / "b.txt", [b"one ", b"", b"two"]).read_bytes() == b"one two"
    assert write_new(tmp_path / "c.txt", (p for p in [b"x", b"y"])).read_bytes() == b"xy"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "c.txt"]  # no .part left
