"""A detector's min_score, calibrated: the score that at most ``target_fpr`` of the real faces
of its validation split reach. The judge reads detections from there up (engine.for_judge),
so every detector's evidence means the same to it whatever its raw score scale."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from cnn_detector.frozen_graph import FrozenGraphDetector
from cnn_detector.manifest import MANIFEST_NAME, load_manifest, write_manifest
from cnn_detector.training.evaluation import read_index, score_images
from cnn_detector.training.metrics import threshold_at_fpr

DEFAULT_TARGET_FPR = 0.01


def calibrated_min_score(detector: FrozenGraphDetector, factory: Path, target_fpr: float = DEFAULT_TARGET_FPR) -> float:
    reals = [row for row in read_index(factory, "val") if row["method"] == "real"]
    if not reals:
        raise ValueError(f"{factory}: no real faces in the validation split to calibrate on")
    scores = [s.score for s in score_images(detector, factory, reals)]
    threshold = threshold_at_fpr(scores, target_fpr)
    if not math.isfinite(threshold):
        raise ValueError(f"{factory}: cannot calibrate on {len(scores)} scores")
    # Two decimals, rounded up: at most target_fpr of the validation reals reach it.
    return min(0.99, max(0.05, math.ceil(threshold * 100) / 100))


def write_min_score(directory: Path, min_score: float) -> None:
    path = Path(directory) / MANIFEST_NAME
    write_manifest(dataclasses.replace(load_manifest(path), min_score=min_score), path)
