"""Bundles are the project's front door: whatever a stranger's zip says, installing either puts
exactly the files BUNDLE.json lists into ``--into/NAME`` or changes nothing anywhere, within a
bounded amount of memory, and its messages name the bundle and the member, never the deleted
staging folder.

Most tests install a minimal bundle with ``check=None`` (no TensorFlow); the two that go through
tools/install_detector.py use a real contributed detector."""

import hashlib
import json
import os
import re
import stat
import string
import struct
import tempfile
import tracemalloc
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnn_detector.bundle import BundleError, inspect_bundle, install_bundle, pack_detector
from tests.tools.bundle_fixtures import make_contributed, reseal
from tools import install_detector

NAME = "red_sticker"
MANIFEST = f"""name: {NAME}
version: 1.0.0
author: tests
licence: Apache-2.0
algorithms: [test]
input: full_frame
input_size: [128, 128]
min_score: 0.5
labelmap: labelmap.pbtxt
sha256: "{"0" * 64}"
trained_on: [nothing]
""".encode()
MiB = 1 << 20
PEAK_BOUND = 32 * MiB  # the understated member below is 256 MiB of zeros


@pytest.fixture
def contributed(tmp_path):
    return make_contributed(tmp_path)


def facts(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def write_bundle(path: Path, files: dict[str, bytes], members: list[tuple[str, bytes]] | None = None) -> Path:
    """A bundle whose BUNDLE.json lists ``files`` (key -> data) and whose zip members are
    ``members`` (zip name, data): by default ``NAME/`` + key, joined without normalising, as an
    attacker would."""
    if members is None:
        members = [(f"{NAME}/{key}", data) for key, data in files.items()]
    listing = {"name": NAME, "files": {key: facts(data) for key, data in files.items()}}
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # duplicate member names are one of the attacks
        for member, data in members:
            archive.writestr(member, data)
        archive.writestr("BUNDLE.json", json.dumps(listing))
    return path


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root -> its bytes (None for a folder): the whole sandbox, compared
    before and after an install."""
    return {p.relative_to(root).as_posix(): None if p.is_dir() else p.read_bytes() for p in root.rglob("*")}


def make_sandbox(root: Path) -> tuple[Path, Path]:
    """``into`` (with a file already there) and an ``outside`` folder no install may touch."""
    into, outside = root / "into", root / "outside"
    into.mkdir()
    outside.mkdir()
    (into / "keep.txt").write_text("a file already there")
    (outside / "existing.txt").write_text("must not change")
    return into, outside


def refuse_all(directory: Path) -> list[str]:
    return ["FAIL sha256: graph does not match detector.yaml"]


# 1. NAME//abs/path: PurePosixPath collapses '//', and staging / '/abs/path' is '/abs/path'.


@pytest.mark.parametrize("check", [None, refuse_all], ids=["accepted", "refused-by-checks"])
@pytest.mark.parametrize("target", ["planted.txt", "existing.txt"])
def test_absolute_key_behind_a_double_slash_writes_nothing_outside(tmp_path, target, check):
    into, outside = make_sandbox(tmp_path)
    key = str(outside / target)
    bundle = write_bundle(tmp_path / "slash.zip", {"detector.yaml": MANIFEST, key: b"owned"})
    with zipfile.ZipFile(bundle) as archive:
        assert f"{NAME}/{key}" in archive.namelist() and f"{NAME}/{key}".startswith(f"{NAME}//")
    before = tree(tmp_path)
    with pytest.raises(BundleError, match="absolute path") as refused:
        install_bundle(bundle, into, {}, check=check)
    assert str(refused.value).startswith(f"{bundle}: ")
    assert tree(tmp_path) == before
    assert (outside / "existing.txt").read_text() == "must not change"
    assert not (outside / "planted.txt").exists()


# 2. A member whose headers understate its size.


def understated_bundle(path: Path, size: int, declared: int = 1000) -> Path:
    """A bundle whose ``big.bin`` is ``size`` zero bytes, deflated, with the uncompressed size
    in its local header and in the central directory patched to ``declared``; BUNDLE.json
    agrees with the headers (sha256 of ``declared`` zeros)."""
    member = f"{NAME}/big.bin"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{NAME}/detector.yaml", MANIFEST)
        with archive.open(member, "w") as out:
            zeros = bytes(MiB)
            for _ in range(size // MiB):
                out.write(zeros)
        listing = {"detector.yaml": facts(MANIFEST), "big.bin": facts(bytes(declared))}
        archive.writestr("BUNDLE.json", json.dumps({"name": NAME, "files": listing}))
    with zipfile.ZipFile(path) as archive:
        local, central = archive.getinfo(member).header_offset, archive.start_dir
    data = bytearray(path.read_bytes())
    assert data[local : local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, declared)  # local header: uncompressed size
    while data[central : central + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, central + 28)
        if data[central + 46 : central + 46 + name_length] == member.encode():
            struct.pack_into("<I", data, central + 24, declared)  # central directory: uncompressed size
        central += 46 + name_length + extra_length + comment_length
    path.write_bytes(data)
    return path


def test_understated_member_size_is_refused_within_bounded_memory(tmp_path):
    """A deflated member of 256 MiB of zeros whose headers say 1000 bytes: inspecting and
    installing it are refused, naming the bundle and the member, with a traced peak below
    32 MiB (PEAK_BOUND; reading in 1 MiB chunks needs a few MiB, decompressing the member in
    one call needs more than 256 MiB)."""
    bundle = understated_bundle(tmp_path / "understated.zip", 256 * MiB)
    with zipfile.ZipFile(bundle) as archive:
        assert archive.getinfo(f"{NAME}/big.bin").file_size == 1000
    into = tmp_path / "into"
    tracemalloc.start()
    try:
        with pytest.raises(BundleError) as inspected:
            inspect_bundle(bundle)
        with pytest.raises(BundleError) as installed:
            install_bundle(bundle, into, {}, check=None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for refused in (inspected, installed):
        message = str(refused.value)
        assert message.startswith(f"{bundle}: ") and "big.bin" in message, message
    print(f"peak traced memory: {peak / MiB:.1f} MiB")
    assert peak < PEAK_BOUND, f"peak {peak / MiB:.1f} MiB"
    assert tree(tmp_path) == {"understated.zip": bundle.read_bytes()}


def test_oversized_bundle_json_is_refused(tmp_path):
    bundle = tmp_path / "big_listing.zip"
    listing = json.dumps({"name": NAME, "files": {"detector.yaml": facts(MANIFEST)}}) + " " * (2 * MiB)
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{NAME}/detector.yaml", MANIFEST)
        archive.writestr("BUNDLE.json", listing)
    with pytest.raises(BundleError, match=r"BUNDLE\.json is \d+ bytes; the limit is"):
        install_bundle(bundle, tmp_path / "into", {}, check=None)
    assert not (tmp_path / "into").exists()


ENTRY = json.dumps(facts(MANIFEST))


@pytest.mark.parametrize(
    "text, reason",
    [
        (f'{{"name": "{NAME}", "files": {{"detector.yaml": {ENTRY}, "detector.yaml": {ENTRY}}}}}', "twice"),
        (json.dumps({"name": NAME, "files": {"detector.yaml": {"sha256": "x", "bytes": len(MANIFEST)}}}), "sha256"),
        (json.dumps({"name": NAME, "files": {"detector.yaml": {"sha256": "0" * 64, "bytes": True}}}), "bytes"),
        (json.dumps({"name": NAME + "\n", "files": {"detector.yaml": facts(MANIFEST)}}), "valid detector name"),
    ],
    ids=["duplicate-key", "bad-sha256", "bool-bytes", "newline-in-name"],
)
def test_malformed_listing_is_refused(tmp_path, text, reason):
    bundle = tmp_path / "listing.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr(f"{NAME}/detector.yaml", MANIFEST)
        archive.writestr("BUNDLE.json", text)
    with pytest.raises(BundleError, match=reason):
        install_bundle(bundle, tmp_path / "into", {}, check=None)
    assert not (tmp_path / "into").exists()


# 3. --replace replaces only a detector inside --into.


def test_replace_refuses_a_name_registered_from_another_folder(tmp_path):
    bundle = write_bundle(tmp_path / "b.zip", {"detector.yaml": MANIFEST, "labelmap.pbtxt": b"x"})
    elsewhere = tmp_path / "frozen_models" / NAME
    into = tmp_path / "into"
    for replace in (False, True):
        with pytest.raises(BundleError, match=re.escape(str(elsewhere))):
            install_bundle(bundle, into, {NAME: elsewhere}, replace=replace, check=None)
    assert not (into / NAME).exists()
    first = install_bundle(bundle, into, {}, check=None)
    again = install_bundle(bundle, into, {NAME: into / NAME}, replace=True, check=None)
    assert (first.replaced, again.replaced) == (False, True)


def test_install_detector_replace_registered_elsewhere_is_one_line(tmp_path, contributed, monkeypatch, capsys):
    bundle = pack_detector(contributed, tmp_path / "red_sticker.zip")
    monkeypatch.setenv("DEEPFAKE_SCANNER_DETECTORS", str(contributed.parent))
    into = tmp_path / "installed"
    capsys.readouterr()
    assert install_detector.main([str(bundle), "--into", str(into), "--replace", "--no-judge"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(contributed) in lines[0] and str(bundle) in lines[0], lines
    assert not (into / NAME).exists()


# 4. Modes follow the umask, not tempfile.mkdtemp's 0700.


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077], ids=oct)
def test_installed_modes_follow_the_umask(tmp_path, umask):
    bundle = write_bundle(
        tmp_path / "b.zip", {"detector.yaml": MANIFEST, "samples/expected.csv": b"x", "samples/a/b.png": b"y"}
    )
    old = os.umask(umask)
    try:
        result = install_bundle(bundle, tmp_path / "into", {}, check=None)
    finally:
        os.umask(old)
    paths = [result.directory, *result.directory.rglob("*")]
    assert len(paths) == 6
    for path in paths:
        expected = 0o777 & ~umask if path.is_dir() else 0o666 & ~umask
        assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))


# 5. Messages name the bundle and the member, never the deleted staging folder.


def test_manifest_and_check_messages_name_the_bundle_member(tmp_path):
    broken = MANIFEST.replace(b"min_score: 0.5", b"min_score: 7")
    bundle = write_bundle(tmp_path / "broken.zip", {"detector.yaml": broken})
    with pytest.raises(BundleError) as refused:
        install_bundle(bundle, tmp_path / "into", {}, check=None)
    assert str(refused.value).startswith(f"{bundle}: {NAME}/detector.yaml: min_score"), refused.value

    def failing(directory: Path) -> list[str]:
        return [f"FAIL sha256: {directory / 'frozen_inference_graph.pb'} is not what {directory} names"]

    bundle = write_bundle(tmp_path / "good.zip", {"detector.yaml": MANIFEST})
    with pytest.raises(BundleError) as refused:
        install_bundle(bundle, tmp_path / "into", {}, check=failing)
    message = str(refused.value)
    assert ".install-" not in message and f"{NAME}/frozen_inference_graph.pb is not" in message, message
    assert message.startswith(f"{bundle}: ")
    assert not (tmp_path / "into").exists()  # made for the install, removed with it


def test_install_detector_check_lines_name_the_bundle_member(tmp_path, contributed, capsys):
    bundle = pack_detector(contributed, tmp_path / "good.zip")

    def duplicate_ids(name, data):
        return b"item { id: 1 name: 'a' }\nitem { id: 1 name: 'b' }\n" if name.endswith(".pbtxt") else data

    bad = reseal(bundle, tmp_path / "dup_ids.zip", duplicate_ids)
    capsys.readouterr()
    assert install_detector.main([str(bad), "--into", str(tmp_path / "installed"), "--no-judge"]) == 2
    err = capsys.readouterr().err
    assert ".install-" not in err, err
    assert re.search(rf"{NAME}/\S*\.pbtxt:\d+: id 1 already used", err), err
    check_lines = [line for line in err.splitlines() if "PASS " in line or "FAIL " in line]
    assert check_lines and all(str(bad) in line for line in check_lines), err


# Packing: hidden files never travel, and a name the installer would refuse is refused here.


def minimal_detector(root: Path, names: list[str]) -> Path:
    directory = root / NAME
    directory.mkdir(parents=True)
    (directory / "detector.yaml").write_bytes(MANIFEST)
    for name in names:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    return directory


def test_pack_skips_hidden_files_and_folders_at_any_depth(tmp_path):
    directory = minimal_detector(
        tmp_path, ["labelmap.pbtxt", "samples/x.png", ".git/config", "samples/.DS_Store", ".cache/a/b", "samples/.x/y"]
    )
    with zipfile.ZipFile(pack_detector(directory, tmp_path / "b.zip")) as archive:
        names = sorted(archive.namelist())
    assert names == ["BUNDLE.json", f"{NAME}/detector.yaml", f"{NAME}/labelmap.pbtxt", f"{NAME}/samples/x.png"]


@pytest.mark.parametrize("name", ["a\\b.png", "caf\u00e9.png", "samples/a:b.png", "x" * 101, "a/b/c/d/e.png"])
def test_pack_refuses_names_the_installer_would_refuse(tmp_path, name):
    directory = minimal_detector(tmp_path, [name])
    with pytest.raises(BundleError, match=re.escape(str(directory))):
        pack_detector(directory, tmp_path / "b.zip")
    assert not (tmp_path / "b.zip").exists()


def test_pack_stores_what_would_look_like_a_zip_bomb(tmp_path):
    """2 MiB of zeros deflates ~1000x; the installer refuses that ratio, so the packer stores it."""
    directory = minimal_detector(tmp_path, ["labelmap.pbtxt"])
    (directory / "weights.bin").write_bytes(bytes(2 * MiB))
    result = install_bundle(pack_detector(directory, tmp_path / "b.zip"), tmp_path / "into", {}, check=None)
    assert (result.directory / "weights.bin").read_bytes() == bytes(2 * MiB)


# Properties: all or nothing, whatever the names.

SAFE = string.ascii_letters + string.digits + "_-+()"
SEGMENT = st.one_of(
    st.text(SAFE, min_size=1, max_size=12),
    st.builds("{}.{}".format, st.text(SAFE, min_size=1, max_size=8), st.text(SAFE, min_size=1, max_size=4)),
    st.builds("{} {}".format, st.text(SAFE, min_size=1, max_size=6), st.text(SAFE, min_size=1, max_size=6)),
)
VALID_KEY = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join)
# {outside} and {into} become the sandbox's absolute folders when the example runs.
ATTACK_KEYS = [
    "{outside}/planted.txt",
    "{outside}/existing.txt",
    "{into}/keep.txt",
    "/{outside}/planted.txt",
    "../outside/planted.txt",
    "../../outside/planted.txt",
    "../../../outside/planted.txt",
    "samples/../../../outside/planted.txt",
    "./detector.yaml",
    "samples/./x.png",
    "..",
    ".",
    "",
    "samples//x.png",
    "/samples/x.png",
    "samples/",
    "..\\..\\outside\\planted.txt",
    "samples\\x.png",
    "C:/outside/planted.txt",
    "C:planted.txt",
    "c:\\planted.txt",
    "planted\x00.txt",
    "samples/x\x00/../../../outside/planted.txt",
    "\uff0e\uff0e\uff0f\uff0e\uff0e\uff0foutside\uff0fplanted.txt",  # fullwidth ../../outside/planted.txt
    "\u2024\u2024/\u2024\u2024/outside/planted.txt",  # one-dot leaders
    "samples\u2215x.png",  # division slash
    "detector\u2024yaml",
    "\u0441amples/x.png",  # Cyrillic es
    ".hidden",
    "samples/.x.png",
    ".git/config",
    "tab\there.txt",
    "line\nbreak.txt",
    "a:b.txt",
    "a*b.txt",
    'a"b.txt',
    "a|b<c>d?",
    "x" * 101,
    "x" * 201,
    "a/b/c/d/e.txt",
    "/".join(["y" * 60] * 4),
    "detector.yaml/x.txt",
    "DETECTOR.yaml",
    "Detector.Yaml",
    "detector.yaml ",
    " detector.yaml",
    "detector.yaml.",
]
KEY = st.one_of(VALID_KEY, st.sampled_from(ATTACK_KEYS), st.text(max_size=24))


@st.composite
def bundles(draw) -> tuple[dict[str, bytes], list[tuple[str, bytes]] | None]:
    """BUNDLE.json's files (key -> data) and the zip's members (None: NAME/ + each key)."""
    keys = list(dict.fromkeys(["detector.yaml", *draw(st.lists(KEY, max_size=4))]))
    files = {key: MANIFEST if key == "detector.yaml" else draw(st.binary(max_size=32)) for key in keys}
    members = [(f"{NAME}/{key}", data) for key, data in files.items()]
    mutation = draw(st.sampled_from(["none", "duplicate", "drop", "extra", "folder", "bare"]))
    if mutation == "duplicate":
        members.append(draw(st.sampled_from(members)))
    elif mutation == "drop" and len(members) > 1:
        members.remove(draw(st.sampled_from(members[1:])))
    elif mutation == "extra":
        members.append((draw(st.sampled_from(["", f"{NAME}/"])) + draw(KEY), b"extra"))
    elif mutation == "folder":
        members.append((f"{NAME}/" + draw(st.sampled_from(["", "samples/", *ATTACK_KEYS])), b""))
    elif mutation == "bare":
        key = draw(st.sampled_from(keys))
        members = [(key if k == key else m, d) for (m, d), k in zip(members, keys, strict=True)]
    assume(all(member.split("\x00")[0] for member, _ in members))  # zipfile cannot write an empty name
    return files, members


def in_sandbox(text: str, into: Path, outside: Path) -> str:
    return text.replace("{outside}", str(outside)).replace("{into}", str(into))


def all_or_nothing(root: Path, into: Path, files: dict[str, bytes], members: list[tuple[str, bytes]]) -> bool:
    """Install; True if it installed exactly ``files`` into ``into/NAME`` (and nothing else
    changed), False if it was refused and nothing at all changed under ``root``."""
    bundle = write_bundle(root / "bundle.zip", files, members)
    before = tree(root)
    try:
        result = install_bundle(bundle, into, {}, check=None)
    except BundleError:
        assert tree(root) == before
        return False
    target = into / NAME
    assert result.directory == target
    expected = dict(before)
    for key, data in files.items():
        # An independent oracle: every installed key is a plain relative path inside the folder.
        assert key.isascii() and not PurePosixPath(key).is_absolute(), key
        assert tuple(key.split("/")) == PurePosixPath(key).parts and not {".", ".."} & set(key.split("/")), key
        relative = PurePosixPath("into", NAME, key)
        expected[relative.as_posix()] = data
        for folder in relative.parents[:-2]:
            expected[folder.as_posix()] = None
    assert tree(root) == expected
    return True


@settings(max_examples=300, deadline=None, database=None)
@given(bundles())
def test_install_is_all_or_nothing_whatever_the_names(bundle):
    files, members = bundle
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        into, outside = make_sandbox(root)
        files = {in_sandbox(key, into, outside): data for key, data in files.items()}
        members = [(in_sandbox(member, into, outside), data) for member, data in members]
        outside_before = tree(outside)
        all_or_nothing(root, into, files, members)
        assert tree(outside) == outside_before


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(VALID_KEY, max_size=5))
def test_valid_names_install_exactly(keys):
    keys = list({key.lower(): key for key in ["detector.yaml", *keys]}.values())
    folded = [key.lower() for key in keys]
    assume(not any(other.startswith(key + "/") for key in folded for other in folded))
    files = {key: MANIFEST if key == "detector.yaml" else key.encode() for key in keys}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        into, _ = make_sandbox(root)
        assert all_or_nothing(root, into, files, [(f"{NAME}/{key}", data) for key, data in files.items()])


CREATABLE = st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"]), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.one_of(CREATABLE, st.lists(CREATABLE, min_size=2, max_size=5).map("/".join)), max_size=4))
def test_a_packed_bundle_is_never_refused_by_the_installer(names):
    """pack_detector either refuses (BundleError) or makes a bundle the installer takes, with
    exactly the detector's visible files."""
    assume(all(part not in (".", "..") and len(part.encode()) < 250 for n in names for part in n.split("/")))
    assume(not any(n.split("/")[0] == "detector.yaml" for n in names))  # the manifest itself stays valid
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        try:
            directory = minimal_detector(root / "src", names)
        except OSError:  # a name this file system cannot hold (or a file where a folder must go)
            assume(False)
        try:
            bundle = pack_detector(directory, root / "b.zip")
        except BundleError:
            assert not (root / "b.zip").exists()
            return
        result = install_bundle(bundle, root / "into", {}, check=None)
        visible = {
            p.relative_to(directory).as_posix()
            for p in directory.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
        }
        assert {p.relative_to(result.directory).as_posix() for p in result.directory.rglob("*") if p.is_file()} == (
            visible
        )
