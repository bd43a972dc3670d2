"""A detector's own regression test: samples/*.jpg (videos, for clip detectors) and
samples/expected.csv (the detections its graph gave when it was shipped).
`compare_with_expected` reruns it within tolerance."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from cnn_detector.atomic_file import atomic_writer
from cnn_detector.frozen_graph import FrozenGraphDetector
from deepfake_scanner.images import IMAGE_EXTENSIONS
from deepfake_scanner.output.detections_csv import DETECTION_COLUMNS, detection_rows

EXPECTED_NAME = "expected.csv"
EXPECTED_MIN_SCORE = 0.05
SCORE_TOLERANCE = 0.03
BOX_TOLERANCE = 0.03


@dataclass(frozen=True)
class SampleRow:
    image: str
    label: str
    score: float
    box: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax


def sample_images(detector_dir: Path, videos: bool = False) -> list[Path]:
    """The detector's sample files: images, or with ``videos`` (clip detectors) videos."""
    from deepfake_scanner.video import VIDEO_EXTENSIONS

    kinds = VIDEO_EXTENSIONS if videos else IMAGE_EXTENSIONS
    folder = Path(detector_dir) / "samples"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in kinds) if folder.is_dir() else []


def run_samples(detector: FrozenGraphDetector, face_finder) -> list[SampleRow]:
    """The detector on its samples, through the engine's own per-frame path."""
    from deepfake_scanner.engine import EngineOptions, ScanEngine
    from deepfake_scanner.frames import read_frames

    engine = ScanEngine([detector], face_finder, judge=None, options=EngineOptions(min_score=EXPECTED_MIN_SCORE))
    clip = detector.spec.manifest.is_clip
    rows = []
    for path in sample_images(detector.spec.directory, videos=clip):
        if clip:  # the whole scan of the video: clips exist only across its frames
            result = engine.scan_file(path)
            if result.verdict is not None and result.verdict.status == "error":
                raise ValueError(result.verdict.error)
            frames = [(f"{path.name}#{f.frame_index}", engine.reported(f)) for f in result.frames]
        else:
            first = next(iter(read_frames(path)))  # a still (the first frame of an animated one)
            frames = [(path.name, engine.reported(engine.analyse(str(path), first)))]
        for name, frame in frames:
            for row in detection_rows(frame):
                rows.append(_sample_row(name, dict(zip(DETECTION_COLUMNS, row))))
    return rows


def _sample_row(name: str, record: dict) -> SampleRow:
    box = tuple(float(record[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
    return SampleRow(name, record["label"], float(record["score"]), box)


def write_expected(detector: FrozenGraphDetector, face_finder) -> Path:
    path = detector.spec.directory / "samples" / EXPECTED_NAME
    with atomic_writer(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["image", "label", "score", "xmin", "ymin", "xmax", "ymax"])
        for row in run_samples(detector, face_finder):
            writer.writerow([row.image, row.label, f"{row.score:.4f}", *(f"{v:.4f}" for v in row.box)])
    return path


def read_expected(path: Path) -> list[SampleRow]:
    with open(path, newline="") as handle:
        return [
            SampleRow(
                r["image"], r["label"], float(r["score"]), tuple(float(r[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
            )
            for r in csv.DictReader(handle)
        ]


def _matches(a: SampleRow, b: SampleRow) -> bool:
    return (
        a.image == b.image
        and a.label == b.label
        and abs(a.score - b.score) <= SCORE_TOLERANCE
        and all(abs(x - y) <= BOX_TOLERANCE for x, y in zip(a.box, b.box))
    )


def compare_with_expected(
    detector: FrozenGraphDetector, face_finder, actual: list[SampleRow] | None = None
) -> list[str]:
    """Differences between a rerun and samples/expected.csv; empty when they agree.

    Rows near the reporting floor may come and go by rounding, so only rows scoring above
    the floor plus the tolerance must be found on both sides."""
    expected_path = detector.spec.directory / "samples" / EXPECTED_NAME
    if not expected_path.is_file():
        return [f"{expected_path}: missing"]
    expected = read_expected(expected_path)
    actual = run_samples(detector, face_finder) if actual is None else actual
    floor = EXPECTED_MIN_SCORE + SCORE_TOLERANCE
    problems = []
    for row in expected:
        if row.score >= floor and not any(_matches(row, other) for other in actual):
            problems.append(f"expected {row} not reproduced")
    for row in actual:
        if row.score >= floor and not any(_matches(row, other) for other in expected):
            problems.append(f"unexpected {row}")
    return problems
