"""A detector's min_score, calibrated: the score that at most ``target_fpr`` of the real faces
of its validation split reach. The judge reads detections from there up (engine.for_judge),
so every detector's evidence means the same to it whatever its raw score scale."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from cnn_detector.engine import iter_frames
from cnn_detector.errors import MediaError
from cnn_detector.frozen_graph import FrozenGraphDetector
from cnn_detector.manifest import MANIFEST_NAME, load_manifest, write_manifest
from cnn_detector.training.evaluation import read_index, score_images
from cnn_detector.training.metrics import threshold_at_fpr

DEFAULT_TARGET_FPR = 0.01


def original_media_scores(detector: FrozenGraphDetector, share: Path) -> list[float]:
    """The detector's best score on each real photo and video frame of the validation split, seen
    the way the scanner sees them (whole media -> face finder -> crop): professional photos
    and sharp video frames are where a detector trained on crops finds its false positives."""
    from cnn_detector.engine import EngineOptions, ScanEngine
    from cnn_detector.faces import FaceFinder
    from cnn_detector.training.share import load_share

    engine = ScanEngine([detector], FaceFinder(), judge=None, options=EngineOptions(fps=0.5, max_frames=8))
    scores = []
    for item in load_share(share):
        if item.label != "real" or item.split != "val":
            continue
        try:
            iterator, _ = iter_frames(item.path, engine.options)
            for frame in iterator:
                found = engine.analyse(item.relative, frame)
                if found.faces:
                    scores.append(max((d.score for d in found.detections), default=0.0))
        except MediaError:
            continue
    return scores


def calibrated_min_score(
    detector: FrozenGraphDetector, factory: Path, target_fpr: float = DEFAULT_TARGET_FPR, share: Path | None = None
) -> float:
    """The threshold that ``target_fpr`` of the validation split's real faces reach, over the
    factory's crops and (when the share is there) the original real media."""
    reals = [row for row in read_index(factory, "val") if row["method"] == "real"]
    if not reals:
        raise ValueError(f"{factory}: no real faces in the validation split to calibrate on")
    scores = [s.score for s in score_images(detector, factory, reals)]
    if share is not None and Path(share).is_dir():
        scores += original_media_scores(detector, share)
    threshold = threshold_at_fpr(scores, target_fpr)
    if not math.isfinite(threshold):
        raise ValueError(f"{factory}: cannot calibrate on {len(scores)} scores")
    # Two decimals, rounded up: at most target_fpr of the validation reals reach it.
    return min(0.99, max(0.05, math.ceil(threshold * 100) / 100))


def typical_fake_score(detector: FrozenGraphDetector, factory: Path, positives: tuple[str, ...]) -> float | None:
    """Median score on the validation split's fakes of the detector's own methods (None when
    the split has none: the judge then uses its default scale)."""
    fakes = [row for row in read_index(factory, "val") if row["method"] in positives]
    if not fakes:
        return None
    return round(max(0.01, float(np.median([s.score for s in score_images(detector, factory, fakes)]))), 3)


def write_calibration(directory: Path, min_score: float, typical: float | None = None) -> None:
    path = Path(directory) / MANIFEST_NAME
    write_manifest(dataclasses.replace(load_manifest(path), min_score=min_score, typical_fake_score=typical), path)
