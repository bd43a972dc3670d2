"""Find detector directories, validate their manifests and labelmaps, and look them up by name.

A detector directory holds detector.yaml, the frozen graph and (usually) MODEL_CARD.md and
samples/. Roots searched: the project's frozen_models/, each directory named in the
DEEPFAKE_SCANNER_DETECTORS environment variable (os.pathsep-separated), and each extra
``--detectors DIR``. A root may itself be one detector directory. A directory that fails
validation is reported as a `DetectorProblem` and skipped; two detectors with one name is a
`DuplicateDetectorError` naming both paths.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cnn_detector.errors import (
    DeepfakeScannerError,
    DuplicateDetectorError,
    ManifestError,
    UnknownDetectorError,
)
from cnn_detector.labelmap import LabelMap, load_labelmap
from cnn_detector.manifest import MANIFEST_NAME, DetectorManifest, load_manifest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DETECTORS_ROOT = PROJECT_ROOT / "frozen_models"
DETECTORS_ENV = "DEEPFAKE_SCANNER_DETECTORS"


@dataclass(frozen=True)
class DetectorSpec:
    """A detector directory whose manifest and labelmap are valid (the graph is checked at load)."""

    manifest: DetectorManifest
    directory: Path
    labelmap: LabelMap

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def graph_path(self) -> Path:
        return self.directory / self.manifest.graph


@dataclass(frozen=True)
class DetectorProblem:
    """A directory that was skipped, and why."""

    directory: Path
    reason: str

    def __str__(self) -> str:
        return f"skipped detector {self.directory}: {self.reason}"


@dataclass
class DetectorScan:
    """What discovery found: valid specs by name, and the directories it skipped."""

    specs: dict[str, DetectorSpec] = field(default_factory=dict)
    problems: list[DetectorProblem] = field(default_factory=list)

    def get(self, name: str) -> DetectorSpec:
        """The spec of ``name``; an unknown name suggests the closest registered ones."""
        if name in self.specs:
            return self.specs[name]
        raise UnknownDetectorError(unknown_name_message(name, self.specs))

    def select(self, only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[DetectorSpec]:
        """Specs in name order, restricted to ``only`` (if given) and without ``skip``."""
        for name in list(only) + list(skip):
            self.get(name)
        names = list(dict.fromkeys(only)) if only else sorted(self.specs)  # each name once, in order
        chosen = [self.specs[n] for n in names]
        return [spec for spec in chosen if spec.name not in set(skip)]


def unknown_name_message(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listing = ", ".join(known) if known else "none"
    return f"unknown detector {name!r}{hint} (registered: {listing})"


def _labelmap_path(directory: Path, manifest: DetectorManifest, manifest_path: Path) -> Path:
    """Resolve the manifest's labelmap: inside the detector directory, or in the labelmaps/
    directory beside the detectors root (how this repository ships them)."""
    resolved = (directory / manifest.labelmap).resolve()
    allowed = [directory.resolve(), (directory.parent.parent / "labelmaps").resolve()]
    if not any(resolved.is_relative_to(base) for base in allowed):
        raise ManifestError(
            f"{manifest_path}: labelmap {manifest.labelmap!r} points outside the detector directory "
            f"and outside {allowed[1]}"
        )
    return resolved


def load_detector_spec(directory: Path) -> DetectorSpec:
    """Validate one detector directory: manifest, labelmap and the graph file's presence."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST_NAME
    manifest = load_manifest(manifest_path)
    labelmap = load_labelmap(_labelmap_path(directory, manifest, manifest_path))
    graph = directory / manifest.graph
    if graph.is_symlink():
        raise ManifestError(f"{graph}: graph must be a regular file, not a symbolic link")
    if not graph.is_file():
        raise ManifestError(f"{graph}: graph file named in {manifest_path} does not exist")
    return DetectorSpec(manifest=manifest, directory=directory, labelmap=labelmap)


def detector_directories(root: Path) -> list[Path]:
    """The detector directories under a root: the root itself if it has a manifest, else
    each visible sub-directory."""
    root = Path(root)
    if (root / MANIFEST_NAME).exists():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def roots_from_environment(environ: dict[str, str] | None = None) -> list[Path]:
    value = (os.environ if environ is None else environ).get(DETECTORS_ENV, "")
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]


def discover_detectors(
    extra_roots: Sequence[Path | str] = (),
    include_default: bool = True,
    include_environment: bool = True,
) -> DetectorScan:
    """Find and validate every detector directory under the roots.

    Raises DuplicateDetectorError when two directories declare one name, and
    DeepfakeScannerError when an explicitly named root does not exist.
    """
    roots: list[Path] = [DEFAULT_DETECTORS_ROOT] if include_default else []
    if include_environment:
        roots += roots_from_environment()
    roots += [Path(r) for r in extra_roots]
    scan = DetectorScan()
    seen_roots: set[Path] = set()
    for root in roots:
        if root.resolve() in seen_roots:
            continue
        seen_roots.add(root.resolve())
        if not root.is_dir():
            if root == DEFAULT_DETECTORS_ROOT:
                continue
            raise DeepfakeScannerError(f"{root}: detectors folder does not exist or is not a directory")
        for directory in detector_directories(root):
            try:
                spec = load_detector_spec(directory)
            except DeepfakeScannerError as err:
                scan.problems.append(DetectorProblem(directory, str(err)))
                continue
            previous = scan.specs.get(spec.name)
            if previous is not None:
                raise DuplicateDetectorError(
                    f"detector name {spec.name!r} is declared twice: {previous.directory} and {spec.directory}"
                )
            scan.specs[spec.name] = spec
    return scan
