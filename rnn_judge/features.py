"""Per frame, each detector's detections -> one fixed feature vector.

The vector is the same whatever the detector's classes, and it is all zeros when the detector
found nothing: a silent detector is indistinguishable from an absent one, which is what makes
the judge invariant to the detector set (see rnn_judge/model.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnn_detector.types import Box, Detection, FrameDetections

FEATURE_NAMES = (
    "top1_score",
    "top2_score",
    "top3_score",
    "mean_score",
    "count_above_0.3",
    "area_of_top",
    "face_overlap_of_top",
    "score_x_overlap",
)
NUM_FEATURES = len(FEATURE_NAMES)
COUNT_SCALE = 5.0  # counts are divided by this and capped at 1


def _overlap(box: Box, faces: Sequence[Box]) -> float:
    """Fraction of the box that lies inside the best-covering face box (1.0 when no faces)."""
    if not faces:
        return 1.0
    ymin, xmin, ymax, xmax = box
    area = max((ymax - ymin) * (xmax - xmin), 1e-9)
    best = 0.0
    for fy0, fx0, fy1, fx1 in faces:
        inter = max(0.0, min(ymax, fy1) - max(ymin, fy0)) * max(0.0, min(xmax, fx1) - max(xmin, fx0))
        best = max(best, inter / area)
    return best


def detector_features(detections: Sequence[Detection], faces: Sequence[Box]) -> np.ndarray:
    """float32 [NUM_FEATURES], every entry in [0, 1]; zeros when ``detections`` is empty."""
    features = np.zeros(NUM_FEATURES, np.float32)
    if not detections:
        return features
    ranked = sorted(detections, key=lambda d: -d.score)
    scores = [d.score for d in ranked]
    top = ranked[0]
    overlap = _overlap(top.box, faces)
    features[0:3] = (scores + [0.0, 0.0])[:3]
    features[3] = float(np.mean(scores))
    features[4] = min(1.0, sum(s >= 0.3 for s in scores) / COUNT_SCALE)
    features[5] = top.area
    features[6] = overlap
    features[7] = top.score * overlap
    return features


def frame_features(frame: FrameDetections, detectors: Sequence[str]) -> np.ndarray:
    """float32 [len(detectors), NUM_FEATURES] for one frame, rows in ``detectors`` order."""
    by_detector: dict[str, list[Detection]] = {name: [] for name in detectors}
    for det in frame.detections:
        if det.detector in by_detector:
            by_detector[det.detector].append(det)
    return (
        np.stack([detector_features(by_detector[name], frame.faces) for name in detectors])
        if detectors
        else (np.zeros((0, NUM_FEATURES), np.float32))
    )


def sequence_features(frames: Sequence[FrameDetections], detectors: Sequence[str]) -> np.ndarray:
    """float32 [T, D, F] for a source's frames in order."""
    if not frames:
        return np.zeros((0, len(detectors), NUM_FEATURES), np.float32)
    return np.stack([frame_features(frame, detectors) for frame in frames])
