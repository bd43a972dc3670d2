"""Detector bundles: one zip a contributor can send by email, verified before anything is
installed.

A bundle holds the detector directory's files under ``NAME/`` and ``BUNDLE.json`` with the
sha256 and size of every member. Bundles come from strangers, so every path taken from one
(zip member names and BUNDLE.json keys alike) goes through `bundle_path_problem` before
anything is written, and the member list must be exactly BUNDLE.json plus ``NAME/<key>`` for
each key (plus optional folder entries). Installing also refuses symbolic links and other
special members, encrypted or oddly compressed members, too many or too large members,
suspicious compression ratios, checksum mismatches, and a name that collides with a registered
detector (``--replace`` replaces only one inside ``--into``).

Members are read in chunks of `CHUNK_BYTES` with a hard cap from BUNDLE.json, whatever the zip
headers claim, hashed as they stream to the staging file: memory stays bounded by the chunk
size, not by what a member decompresses to. The detector is extracted into a temporary
directory beside the target, checked by `detector_checks`, and only then renamed into place,
so either exactly the listed files end up in ``into/NAME`` or nothing changes. Messages name
the bundle and the member (``bundle.zip: NAME/detector.yaml: ...``), never the staging
directory, which is gone by the time anyone reads them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import shutil
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import yaml

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.manifest import MANIFEST_NAME, NAME_PATTERN, SHA256_PATTERN, load_manifest

BUNDLE_MANIFEST = "BUNDLE.json"
MAX_MEMBERS = 200
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 128 * 1024 * 1024
MAX_LISTING_BYTES = 1024 * 1024  # BUNDLE.json: ~100 bytes per member
MAX_RATIO = 200  # uncompressed / compressed; a zip bomb is far above this
CHUNK_BYTES = 1024 * 1024  # peak memory per member read, whatever its size
MAX_PATH_CHARS = 200
MAX_SEGMENT_CHARS = 100
MAX_DEPTH = 4  # samples/expected.csv is 2
STAGING_PREFIX = ".install-"
# Per path segment: plain ASCII only, so no Unicode look-alike of '.' or '/' and nothing a
# file system or shell treats specially (':', '*', '?', quotes, control characters).
_SEGMENT = re.compile(r"[A-Za-z0-9._+() -]+")
_DRIVE = re.compile(r"[A-Za-z]:")
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}  # what pack_detector writes
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError)


class BundleError(DeepfakeScannerError):
    """A bundle was refused; the message names the bundle and the reason."""


@dataclass(frozen=True)
class InstallResult:
    name: str
    directory: Path
    replaced: bool


@dataclass(frozen=True)
class MemberFacts:
    """A member's sha256 and size as BUNDLE.json lists them."""

    sha256: str
    size: int


@dataclass(frozen=True)
class _Plan:
    """A bundle whose layout passed every check that needs no decompression but BUNDLE.json's."""

    name: str
    files: dict[str, MemberFacts]
    members: dict[str, zipfile.ZipInfo]  # key -> its zip member


def bundle_path_problem(path: str) -> str | None:
    """Why ``path`` (relative to the detector folder) cannot be taken from a bundle, or None.

    The one rule for zip member names and BUNDLE.json keys, and for what pack_detector packs."""
    if not path:
        return "is empty"
    if "\x00" in path:
        return "contains a NUL character"
    if not path.isascii():
        return "contains non-ASCII characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "contains control characters"
    if path.startswith("/"):
        return "has an absolute path"
    if "\\" in path:
        return "contains a backslash"
    if _DRIVE.match(path):
        return "starts with a drive letter"
    if len(path) > MAX_PATH_CHARS:
        return f"is {len(path)} characters long; the limit is {MAX_PATH_CHARS}"
    segments = path.split("/")
    if len(segments) > MAX_DEPTH:
        return f"is {len(segments)} levels deep; the limit is {MAX_DEPTH}"
    for segment in segments:
        if not segment:
            return "has an empty segment ('//' or a trailing '/')"
        if segment in (".", ".."):
            return "leaves the bundle (path traversal)"
        if segment.startswith("."):
            return f"has a hidden segment {segment!r}"
        if len(segment) > MAX_SEGMENT_CHARS:
            return f"has a segment of {len(segment)} characters; the limit is {MAX_SEGMENT_CHARS}"
        if not _SEGMENT.fullmatch(segment):
            return f"has a segment {segment!r} with characters other than letters, digits and ._-+ ()"
        if segment[0] == " " or segment[-1] in " .":
            # Windows drops a trailing dot or space, so 'a.' and 'a' would be one file there.
            return f"has a segment {segment!r} that starts with a space or ends with a space or '.'"
    return None


def _require_path(bundle: Path, path: str, what: str = "member", shown: str | None = None) -> None:
    """Refuse ``path`` naming the bundle and ``shown`` (the whole zip name, where it differs)."""
    problem = bundle_path_problem(path)
    if problem:
        raise BundleError(f"{bundle}: {what} {shown or path!r} {problem}")


def _require_layout(bundle: Path, files: Iterable[str], folders: Iterable[str] = ()) -> None:
    """Refuse paths that are one path on a case-insensitive file system, and a path that is
    both a file and a folder of another path: either would make the installed folder differ
    from the list."""
    seen: dict[str, tuple[str, bool]] = {}  # lower-cased path -> (path, is a folder)
    entries = [(path, False) for path in files] + [(path, True) for path in folders]
    for path, is_folder in entries:
        segments = path.split("/")
        for depth in range(1, len(segments) + 1):
            prefix = "/".join(segments[:depth])
            entry = (prefix, is_folder or depth < len(segments))
            previous = seen.setdefault(prefix.lower(), entry)
            if previous[0] != prefix:
                raise BundleError(f"{bundle}: members {previous[0]!r} and {prefix!r} differ only in letter case")
            if previous != entry:
                raise BundleError(f"{bundle}: member {prefix!r} is both a file and a folder")


def pack_detector(directory: Path, output: Path) -> Path:
    """Zip a detector directory (with its labelmap inside) and a checksum manifest.

    Hidden files and folders (``.git/``, ``.DS_Store``) are left out at any depth; a name,
    size or count the installer would refuse is refused here, naming the directory, so a
    packed bundle always passes the installer's layout checks."""
    directory = Path(directory)
    manifest = load_manifest(directory / MANIFEST_NAME)
    files: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink():
            raise BundleError(f"{path}: symbolic links cannot be packed")
        if path.is_dir():
            continue
        if not path.is_file():
            raise BundleError(f"{path}: not a regular file")
        _require_path(directory, relative.as_posix(), "file")
        if path.stat().st_size > MAX_MEMBER_BYTES:
            raise BundleError(f"{path}: {path.stat().st_size} bytes; the limit is {MAX_MEMBER_BYTES}")
        files[relative.as_posix()] = path.read_bytes()
    labelmap = (directory / manifest.labelmap).resolve()
    if not labelmap.is_relative_to(directory.resolve()):
        # The repository keeps labelmaps in labelmaps/; a bundle carries its own copy.
        files["labelmap.pbtxt"] = labelmap.read_bytes()
        data = yaml.safe_load(files[MANIFEST_NAME])
        data["labelmap"] = "labelmap.pbtxt"
        files[MANIFEST_NAME] = yaml.safe_dump(data, sort_keys=False).encode()
    _require_layout(directory, files)
    if len(files) + 1 > MAX_MEMBERS:
        raise BundleError(f"{directory}: {len(files)} files; a bundle holds at most {MAX_MEMBERS - 1}")
    total = sum(map(len, files.values()))
    if total > MAX_TOTAL_BYTES:
        raise BundleError(f"{directory}: {total} bytes in all; the limit is {MAX_TOTAL_BYTES}")
    listing = {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for name, data in files.items()}
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"{manifest.name}/{name}", data, compress_type=_compression(data))
        archive.writestr(BUNDLE_MANIFEST, json.dumps({"name": manifest.name, "files": listing}, indent=1))
    tmp.replace(output)
    return output


def _compression(data: bytes) -> int:
    """Deflate, unless the installer would take the member for a zip bomb (a large file that
    compresses too well); the factor 2 covers the zlib framing zipfile leaves out."""
    if len(data) > 1 << 20 and len(data) > MAX_RATIO // 2 * len(zlib.compress(data)):
        return zipfile.ZIP_STORED
    return zipfile.ZIP_DEFLATED


def _open_archive(bundle: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(bundle)
    except _ZIP_ERRORS as err:
        raise BundleError(f"{bundle}: not a readable zip file ({err})") from None


def _chunks(bundle: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A member's data, CHUNK_BYTES at a time. Never ``archive.read``: it decompresses a
    member in one call, into as much memory as the data expands to."""
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                yield chunk
    except _ZIP_ERRORS as err:  # only reading the bundle is in here; writing is the caller's
        raise BundleError(f"{bundle}: member {info.orig_filename!r} cannot be read ({err})") from None


def _stream(
    bundle: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, sink: BinaryIO | None
) -> tuple[int, str]:
    """Copy a member to ``sink`` (if any), refusing it past ``cap`` bytes whatever its headers
    say; its size and sha256."""
    digest, count = hashlib.sha256(), 0
    with closing(_chunks(bundle, archive, info)) as chunks:
        for chunk in chunks:
            count += len(chunk)
            if count > cap:
                raise BundleError(f"{bundle}: member {info.orig_filename!r} holds more than {cap} bytes")
            digest.update(chunk)
            if sink is not None:
                sink.write(chunk)
    return count, digest.hexdigest()


def _verify(bundle: Path, key: str, facts: MemberFacts, found: tuple[int, str]) -> None:
    size, sha256 = found
    if size != facts.size:
        raise BundleError(
            f"{bundle}: member {key!r} does not match its checksum in {BUNDLE_MANIFEST} "
            f"({size} bytes, {BUNDLE_MANIFEST} lists {facts.size})"
        )
    if sha256 != facts.sha256:
        raise BundleError(f"{bundle}: member {key!r} does not match its sha256 checksum in {BUNDLE_MANIFEST}")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    twice = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
    if twice:
        raise ValueError(f"key(s) {twice} appear twice")
    return dict(pairs)


def _read_listing(bundle: Path, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> tuple[str, dict]:
    """BUNDLE.json's name and files, read with a small cap."""
    found = [info for info in infos if info.orig_filename == BUNDLE_MANIFEST]
    if not found:
        raise BundleError(f"{bundle}: no {BUNDLE_MANIFEST}; pack it with tools/pack_detector.py")
    if len(found) > 1:
        raise BundleError(f"{bundle}: member {BUNDLE_MANIFEST!r} appears twice")
    info = found[0]
    _require_plain(bundle, info)
    if info.file_size > MAX_LISTING_BYTES:
        raise BundleError(f"{bundle}: {BUNDLE_MANIFEST} is {info.file_size} bytes; the limit is {MAX_LISTING_BYTES}")
    sink = io.BytesIO()
    _stream(bundle, archive, info, MAX_LISTING_BYTES, sink)
    try:
        listing = json.loads(sink.getvalue(), object_pairs_hook=_no_duplicate_keys)
        if not isinstance(listing, dict):
            raise TypeError("expected an object with 'name' and 'files'")
        name, files = listing["name"], listing["files"]
        if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
            raise TypeError("'files' must map member names to {sha256, bytes}")
    except KeyError as err:
        raise BundleError(f"{bundle}: {BUNDLE_MANIFEST} is malformed (no {err})") from None
    except (ValueError, TypeError, RecursionError) as err:  # RecursionError: [[[[... nested too deep
        raise BundleError(f"{bundle}: {BUNDLE_MANIFEST} is malformed ({err})") from None
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):  # match() lets "name\n" through
        raise BundleError(f"{bundle}: detector name {name!r} is not a valid detector name")
    return name, files


def _require_plain(bundle: Path, info: zipfile.ZipInfo) -> None:
    """A regular file or folder entry, unencrypted, stored or deflated."""
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise BundleError(f"{bundle}: member {info.orig_filename!r} is a symbolic link")
    kind = stat.S_IFMT(mode)  # 0 when the archiver recorded permissions only
    if kind and kind != (stat.S_IFDIR if info.is_dir() else stat.S_IFREG):
        raise BundleError(f"{bundle}: member {info.orig_filename!r} is not a regular file")
    if info.flag_bits & 0x1:
        raise BundleError(f"{bundle}: member {info.orig_filename!r} is encrypted")
    if info.compress_type not in _METHODS:
        raise BundleError(
            f"{bundle}: member {info.orig_filename!r} uses compression method {info.compress_type}; "
            "only stored and deflated are accepted"
        )


def _member_facts(bundle: Path, key: str, facts: dict) -> MemberFacts:
    sha256, size = facts.get("sha256"), facts.get("bytes")
    if not isinstance(sha256, str) or not SHA256_PATTERN.fullmatch(sha256):
        raise BundleError(f"{bundle}: {BUNDLE_MANIFEST} gives member {key!r} no valid sha256 ({sha256!r})")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BundleError(f"{bundle}: {BUNDLE_MANIFEST} gives member {key!r} no valid bytes ({size!r})")
    if size > MAX_MEMBER_BYTES:
        raise BundleError(f"{bundle}: member {key!r} is {size} bytes; the limit is {MAX_MEMBER_BYTES}")
    return MemberFacts(sha256, size)


def _plan(bundle: Path, archive: zipfile.ZipFile) -> _Plan:
    """Every check that needs no decompression beyond BUNDLE.json: names, layout, kinds,
    declared sizes. Nothing is written."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise BundleError(f"{bundle}: {len(infos)} members; the limit is {MAX_MEMBERS}")
    name, listed = _read_listing(bundle, archive, infos)
    if len(listed) > MAX_MEMBERS:
        raise BundleError(f"{bundle}: {BUNDLE_MANIFEST} lists {len(listed)} members; the limit is {MAX_MEMBERS}")
    for key in listed:
        _require_path(bundle, key)
    files = {key: _member_facts(bundle, key, facts) for key, facts in listed.items()}
    total = sum(facts.size for facts in files.values())
    if total > MAX_TOTAL_BYTES:
        raise BundleError(f"{bundle}: {total} bytes uncompressed; the limit is {MAX_TOTAL_BYTES}")
    prefix = f"{name}/"
    expected = {prefix + key: key for key in files}
    members: dict[str, zipfile.ZipInfo] = {}
    folders: list[str] = []
    seen: set[str] = set()
    for info in infos:
        member = info.orig_filename  # zipfile cuts .filename at a NUL; the stored name is the one to judge
        if member in seen:
            raise BundleError(f"{bundle}: member {member!r} appears twice")
        seen.add(member)
        if member == BUNDLE_MANIFEST:
            continue
        _require_plain(bundle, info)
        if member in expected:
            key = expected[member]
            _require_declared_size(bundle, info, key, files[key])
            members[key] = info
            continue
        rest = member[len(prefix) :] if member.startswith(prefix) else member
        if member.startswith(prefix) and member.endswith("/"):
            # A folder entry, as zip tools write them: allowed, but nothing is made of it.
            if info.file_size:
                raise BundleError(f"{bundle}: member {member!r} is a folder entry with data")
            if member != prefix:
                _require_path(bundle, rest[:-1], shown=member)
                folders.append(rest[:-1])
            continue
        problem = bundle_path_problem(rest)
        raise BundleError(f"{bundle}: member {member!r} {problem or f'is not listed in {BUNDLE_MANIFEST}'}")
    missing = sorted(set(files) - set(members))
    if missing:
        raise BundleError(f"{bundle}: {BUNDLE_MANIFEST} lists {missing} but the bundle has no such member")
    _require_layout(bundle, files, folders)
    return _Plan(name, files, members)


def _require_declared_size(bundle: Path, info: zipfile.ZipInfo, key: str, facts: MemberFacts) -> None:
    """The zip headers agree with BUNDLE.json and do not look like a bomb. The headers can
    lie; `_stream` enforces the size again on the data itself."""
    if info.file_size != facts.size:
        raise BundleError(
            f"{bundle}: member {key!r} does not match its checksum in {BUNDLE_MANIFEST} "
            f"(the zip says {info.file_size} bytes, {BUNDLE_MANIFEST} {facts.size})"
        )
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1 << 20:
        raise BundleError(f"{bundle}: member {key!r} expands {info.file_size // info.compress_size}x (zip bomb?)")


def inspect_bundle(bundle: Path) -> tuple[str, dict[str, MemberFacts]]:
    """The detector name and its members' listed facts (relative path -> sha256 and size),
    after every check that needs no extraction, each member's checksum included (read in
    chunks, nothing written)."""
    bundle = Path(bundle)
    with _open_archive(bundle) as archive:
        plan = _plan(bundle, archive)
        for key, info in plan.members.items():
            facts = plan.files[key]
            _verify(bundle, key, facts, _stream(bundle, archive, info, facts.size, None))
    return plan.name, plan.files


def in_bundle_terms(text: str, staging: Path) -> str:
    """``text`` with paths inside a staging directory written as the bundle names them
    (``NAME/member``): the staging directory is deleted when the install ends, so naming it
    helps no one. For check results reported while a bundle is being installed."""
    name = staging.name.removeprefix(STAGING_PREFIX).rsplit("-", 1)[0]  # detector names have no '-'
    for form in sorted({str(staging), str(staging.resolve())}, key=len, reverse=True):
        text = text.replace(form + os.sep, f"{name}/").replace(form, name)
    return text


def _make_staging(into: Path, name: str) -> Path:
    """A new directory beside the target. Plain mkdir, not tempfile.mkdtemp: its 0700 would
    become the installed folder's mode; this one gets what the user's umask gives."""
    while True:
        staging = into / f"{STAGING_PREFIX}{name}-{secrets.token_hex(4)}"
        try:
            staging.mkdir(0o777)
            return staging
        except FileExistsError:
            continue


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


def _extract(bundle: Path, archive: zipfile.ZipFile, plan: _Plan, staging: Path) -> None:
    root = staging.resolve()
    for key, info in plan.members.items():
        destination = staging / key
        # Belt and braces: bundle_path_problem already refused anything that could leave.
        if not destination.resolve().is_relative_to(root) or destination.resolve() == root:
            raise BundleError(f"{bundle}: member {key!r} resolves outside the detector folder")
        destination.parent.mkdir(parents=True, exist_ok=True)
        facts = plan.files[key]
        # O_EXCL: never write through anything already there; 0o666 less the umask.
        with os.fdopen(os.open(destination, _CREATE, 0o666), "wb") as sink:
            _verify(bundle, key, facts, _stream(bundle, archive, info, facts.size, sink))


def install_bundle(
    bundle: Path,
    into: Path,
    installed: Mapping[str, Path],
    replace: bool = False,
    check: Callable[[Path], list] | None = None,
) -> InstallResult:
    """Verify, extract to a temporary directory, check, then rename into ``into/NAME``.

    ``installed`` maps each registered detector name to its directory; ``replace`` replaces
    only a detector inside ``into``. check(directory) returns a list of failed-check
    descriptions; any failure refuses the install. On any refusal nothing changes: the
    staging directory is removed and a detector being replaced is kept."""
    bundle, into = Path(bundle), Path(into)
    with _open_archive(bundle) as archive:
        plan = _plan(bundle, archive)
        name = plan.name
        target = into / name
        registered = installed.get(name)
        if registered is not None and Path(registered).resolve() != target.resolve():
            # Replacing it here would leave two detectors of one name: every scan would stop.
            raise BundleError(
                f"{bundle}: a detector named {name!r} is already registered from {registered}; "
                f"--replace only replaces a detector inside {into}"
            )
        if (target.exists() or registered is not None) and not replace:
            raise BundleError(
                f"{bundle}: a detector named {name!r} is already installed ({target}); pass --replace to replace it"
            )
        created = [folder for folder in (into, *into.parents) if not folder.exists()]
        into.mkdir(parents=True, exist_ok=True)
        staging = _make_staging(into, name)
        try:
            _extract(bundle, archive, plan, staging)
            return _check_and_rename(bundle, staging, target, name, check)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
                for folder in created:  # deepest first; only what this install made, only if empty
                    try:
                        folder.rmdir()
                    except OSError:
                        break


def _check_and_rename(
    bundle: Path, staging: Path, target: Path, name: str, check: Callable[[Path], list] | None
) -> InstallResult:
    try:
        manifest = load_manifest(staging / MANIFEST_NAME)
    except DeepfakeScannerError as err:
        raise BundleError(f"{bundle}: {in_bundle_terms(str(err), staging)}") from None
    if manifest.name != name:
        raise BundleError(f"{bundle}: {name}/{MANIFEST_NAME} names {manifest.name!r} but the bundle is {name!r}")
    try:
        failures = check(staging) if check else []
    except DeepfakeScannerError as err:
        raise BundleError(f"{bundle}: refused, checks failed: {in_bundle_terms(str(err), staging)}") from None
    if failures:
        described = "; ".join(in_bundle_terms(str(failure), staging) for failure in failures)
        raise BundleError(f"{bundle}: refused, checks failed: {described}")
    backup = None
    if target.exists():
        backup = target.with_name(f".replaced-{name}")
        shutil.rmtree(backup, ignore_errors=True)
        target.rename(backup)
    try:
        staging.rename(target)
    except OSError:
        if backup is not None:
            backup.rename(target)  # put the old detector back
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    return InstallResult(name, target, replaced=backup is not None)
