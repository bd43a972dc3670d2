"""What every shipping path does once a detector directory holds a trained graph (RetinaNet
detectors, the seam detector, the classifier baselines): calibrate its min_score and typical
fake score on reals it never trained on, write them into detector.yaml, and give it the
sample files and expected detections that `tools/check_detector.py` replays."""

from __future__ import annotations

import csv
import logging
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

from cnn_detector.frozen_graph import LoadOptions, load_detector
from cnn_detector.registry import load_detector_spec
from cnn_detector.training.calibration import calibrated_min_score, typical_fake_score, write_calibration
from deepfake_scanner.defaults import SAMPLES_DIR
from deepfake_scanner.detector_samples import write_expected
from deepfake_scanner.faces import FaceFinder
from deepfake_scanner.images import IMAGE_EXTENSIONS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shipped:
    """The calibration written into the shipped detector.yaml."""

    min_score: float
    typical_fake_score: float | None


def ship_detector(
    directory: Path,
    factory: Path,
    share: Path | None,
    methods: tuple[str, ...],
    samples: bool = True,
    batch_size: int = 16,
) -> Shipped:
    """Calibrate the detector in ``directory`` (validation reals of ``factory``, and the real
    kinds drawn from ``share`` when given), write the numbers into its detector.yaml, and,
    with ``samples``, copy its sample files and record what it finds on them."""
    detector = load_detector(load_detector_spec(directory), LoadOptions(batch_size=batch_size))
    try:
        min_score = calibrated_min_score(detector, factory, share=share)
        typical = typical_fake_score(detector, factory, tuple(methods))
    finally:
        detector.close()
    write_calibration(directory, min_score, typical)
    log.info("calibrated min_score %.2f (1%% of validation reals reach it), typical fake score %s", min_score, typical)
    if samples:
        detector = load_detector(load_detector_spec(directory), LoadOptions(batch_size=batch_size))
        try:
            copy_samples(directory, tuple(methods))
            write_expected(detector, FaceFinder())
        finally:
            detector.close()
    return Shipped(min_score, typical)


def copy_samples(directory: Path, methods: tuple[str, ...], samples: Path = SAMPLES_DIR) -> None:
    """The detector's own samples: the repository's sample fakes of its methods and two reals
    (all held-out, shippable files; see samples/NOTICE.md)."""
    with open(samples / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    stills = [r for r in rows if Path(r["path"]).suffix.lower() in IMAGE_EXTENSIONS]
    chosen = [r for r in stills if r["method"] in methods] + [r for r in stills if r["label"] == "real"][:2]
    target = directory / "samples"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for row in chosen:
        shutil.copy(samples / row["path"], target / row["path"])


def machine() -> str:
    """Where a model was trained, for its training record."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return f"{platform.machine()}, {cores} CPU cores, no GPU"
