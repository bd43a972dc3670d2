"""Detector bundles: one zip a contributor can send by email, verified before anything is
installed.

A bundle holds the detector directory's files under ``NAME/`` and ``BUNDLE.json`` with the
sha256 and size of every member. Installing refuses, before extracting anything: absolute or
parent-relative paths, symbolic links and other special members, too many or too large
members, suspicious compression ratios, checksum mismatches, and a name that collides with an
installed detector (unless replacing). It then extracts into a temporary directory beside the
target, runs every check of `detector_checks`, and only then renames it into place, so the
detector folder is never left half-installed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.manifest import MANIFEST_NAME, NAME_PATTERN, load_manifest

BUNDLE_MANIFEST = "BUNDLE.json"
MAX_MEMBERS = 200
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 128 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed; a zip bomb is far above this


class BundleError(DeepfakeScannerError):
    """A bundle was refused; the message names the bundle and the reason."""


@dataclass(frozen=True)
class InstallResult:
    name: str
    directory: Path
    replaced: bool


def pack_detector(directory: Path, output: Path) -> Path:
    """Zip a detector directory (with its labelmap inside) and a checksum manifest."""
    directory = Path(directory)
    manifest = load_manifest(directory / MANIFEST_NAME)
    files: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_symlink():
            raise BundleError(f"{path}: symbolic links cannot be packed")
        if path.is_file() and not path.name.startswith("."):
            files[path.relative_to(directory).as_posix()] = path.read_bytes()
    labelmap = (directory / manifest.labelmap).resolve()
    if not labelmap.is_relative_to(directory.resolve()):
        # The repository keeps labelmaps in labelmaps/; a bundle carries its own copy.
        files["labelmap.pbtxt"] = labelmap.read_bytes()
        data = yaml.safe_load(files[MANIFEST_NAME])
        data["labelmap"] = "labelmap.pbtxt"
        files[MANIFEST_NAME] = yaml.safe_dump(data, sort_keys=False).encode()
    listing = {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for name, data in files.items()}
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"{manifest.name}/{name}", data)
        archive.writestr(BUNDLE_MANIFEST, json.dumps({"name": manifest.name, "files": listing}, indent=1))
    tmp.replace(output)
    return output


def _safe_name(bundle: Path, name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise BundleError(f"{bundle}: member {name!r} has an absolute path")
    if ".." in path.parts or "\\" in name:
        raise BundleError(f"{bundle}: member {name!r} leaves the bundle (path traversal)")
    return path


def inspect_bundle(bundle: Path) -> tuple[str, dict[str, bytes]]:
    """The detector name and its members' verified bytes (relative path -> data): every check
    that needs no extraction. Installing writes exactly these bytes."""
    bundle = Path(bundle)
    try:
        return _inspect(bundle)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as err:
        raise BundleError(f"{bundle}: not a readable zip file ({err})") from None


def _inspect(bundle: Path) -> tuple[str, dict[str, bytes]]:
    with zipfile.ZipFile(bundle) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BundleError(f"{bundle}: {len(infos)} members; the limit is {MAX_MEMBERS}")
        total = 0
        for info in infos:
            _safe_name(bundle, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise BundleError(f"{bundle}: member {info.filename!r} is a symbolic link")
            kind = stat.S_IFMT(mode)  # 0 when the archiver recorded permissions only
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise BundleError(f"{bundle}: member {info.filename!r} is not a regular file")
            if info.file_size > MAX_MEMBER_BYTES:
                raise BundleError(
                    f"{bundle}: member {info.filename!r} is {info.file_size} bytes; the limit is {MAX_MEMBER_BYTES}"
                )
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1 << 20:
                raise BundleError(
                    f"{bundle}: member {info.filename!r} expands {info.file_size // info.compress_size}x (zip bomb?)"
                )
            total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise BundleError(f"{bundle}: {total} bytes uncompressed; the limit is {MAX_TOTAL_BYTES}")
        try:
            listing = json.loads(archive.read(BUNDLE_MANIFEST))
            name, files = listing["name"], listing["files"]
            if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
                raise TypeError("'files' must map member names to {sha256, bytes}")
        except KeyError:
            raise BundleError(f"{bundle}: no {BUNDLE_MANIFEST}; pack it with tools/pack_detector.py") from None
        except (ValueError, TypeError) as err:
            raise BundleError(f"{bundle}: {BUNDLE_MANIFEST} is malformed ({err})") from None
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise BundleError(f"{bundle}: detector name {name!r} is not a valid detector name")
        members = {i.filename: i for i in infos if not i.is_dir() and i.filename != BUNDLE_MANIFEST}
        expected = {f"{name}/{member}" for member in files}
        if set(members) != expected:
            extra, missing = sorted(set(members) - expected), sorted(expected - set(members))
            raise BundleError(f"{bundle}: members do not match {BUNDLE_MANIFEST} (extra {extra}, missing {missing})")
        verified = {}
        for member, facts in files.items():
            data = archive.read(f"{name}/{member}")
            if hashlib.sha256(data).hexdigest() != facts.get("sha256") or len(data) != facts.get("bytes"):
                raise BundleError(f"{bundle}: {member} does not match its checksum in {BUNDLE_MANIFEST}")
            verified[member] = data
    return name, verified


def install_bundle(
    bundle: Path,
    into: Path,
    installed_names: set[str],
    replace: bool = False,
    check: Callable[[Path], list] | None = None,
) -> InstallResult:
    """Verify, extract to a temporary directory, check, then rename into ``into/NAME``.

    check(directory) returns a list of failed-check descriptions; any failure refuses the
    install and leaves ``into`` as it was."""
    bundle, into = Path(bundle), Path(into)
    name, members = inspect_bundle(bundle)
    target = into / name
    exists = target.exists() or name in installed_names
    if exists and not replace:
        raise BundleError(
            f"{bundle}: a detector named {name!r} is already installed ({target}); pass --replace to replace it"
        )
    into.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".install-{name}-", dir=into))
    try:
        for member, data in members.items():
            destination = staging / PurePosixPath(member)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
        manifest = load_manifest(staging / MANIFEST_NAME)
        if manifest.name != name:
            raise BundleError(f"{bundle}: detector.yaml names {manifest.name!r} but the bundle is {name!r}")
        failures = check(staging) if check else []
        if failures:
            raise BundleError(f"{bundle}: refused, checks failed: " + "; ".join(map(str, failures)))
        backup = None
        if target.exists():
            backup = into / f".replaced-{name}"
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
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
