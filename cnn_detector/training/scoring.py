"""Held-out numbers for a shipped detector, computed from its frozen graph on the factory's
test split: image-level AUC and recall at 1% / 0.1% FPR per method and per real source
folder, box AP per class, and the "face size only" baseline next to each AUC."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.frozen_graph import FrozenGraphDetector
from deepfake_evaluation.metrics import average_precision, recall_at_fpr, roc_auc
from deepfake_scanner.images import read_image


@dataclass(frozen=True)
class ScoredImage:
    image: str
    method: str
    label: int
    source_folder: str
    face_px: float
    score: float
    boxes: tuple  # ground truth, normalized (ymin, xmin, ymax, xmax)
    detections: tuple  # (score, box, label)


def read_index(factory: Path, split: str) -> list[dict[str, str]]:
    with open(Path(factory) / "index.csv", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["split"] == split]


def score_images(detector: FrozenGraphDetector, factory: Path, rows: list[dict[str, str]], batch: int = 16):
    """Run the detector on each crop; score = its highest detection score (0 if none)."""
    scored = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        images = [read_image(Path(factory) / row["image"]) for row in chunk]
        found = detector.detect(images, min_score=0.01)
        for row, image, detections in zip(chunk, images, found):
            height, width = image.shape[:2]
            truth = []
            for box in filter(None, row["boxes"].split(";")):
                x0, y0, x1, y1 = (float(v) for v in box.split(","))
                truth.append((y0 / height, x0 / width, y1 / height, x1 / width))
            scored.append(
                ScoredImage(
                    image=row["image"],
                    method=row["method"],
                    label=int(row["label"] == "fake"),
                    source_folder=row["source_folder"],
                    face_px=float(row.get("face_px") or 0),
                    score=max((d.score for d in detections), default=0.0),
                    boxes=tuple(truth),
                    detections=tuple((d.score, d.box, d.label) for d in detections),
                )
            )
    return scored


def _summary(labels, scores, sizes) -> dict:
    labels, scores = np.asarray(labels), np.asarray(scores)
    auc = roc_auc(labels, scores)
    size_auc = roc_auc(labels, sizes)
    return {
        "n_fake": int(labels.sum()),
        "n_real": int((1 - labels).sum()),
        "auc": auc,
        "recall_at_1pct_fpr": recall_at_fpr(labels, scores, 0.01),
        "recall_at_0.1pct_fpr": recall_at_fpr(labels, scores, 0.001),
        # Either direction of the size cue counts: the baseline is as strong as its better sign.
        "face_size_only_auc": max(size_auc, 1 - size_auc) if not math.isnan(size_auc) else size_auc,
    }


def detector_metrics(scored: list[ScoredImage], positives: tuple[str, ...]) -> dict:
    """Metrics of one detector: its own methods against every real test face."""
    reals = [s for s in scored if s.method == "real"]
    own = [s for s in scored if s.method in positives]
    report: dict = {"positives": list(positives)}
    both = reals + own
    report["overall"] = _summary([s.label for s in both], [s.score for s in both], [s.face_px for s in both])
    report["per_method"] = {}
    for method in sorted({s.method for s in scored} - {"real"}):
        group = reals + [s for s in scored if s.method == method]
        report["per_method"][method] = _summary(
            [s.label for s in group], [s.score for s in group], [s.face_px for s in group]
        )
        report["per_method"][method]["own_method"] = method in positives
    report["per_real_folder"] = {}
    by_folder = defaultdict(list)
    for s in reals:
        by_folder[s.source_folder].append(s)
    for folder, folder_reals in sorted(by_folder.items()):
        group = folder_reals + own
        summary = _summary([s.label for s in group], [s.score for s in group], [s.face_px for s in group])
        summary["false_positive_rate_at_0.5"] = float(np.mean([s.score >= 0.5 for s in folder_reals]))
        report["per_real_folder"][folder] = summary
    report["box_ap50"] = {}
    for method in positives:
        truth = {s.image: list(s.boxes) for s in scored if s.method == method}
        detections = [
            (s.image, score, box)
            for s in scored
            if s.method in positives or s.method == "real"
            for score, box, label in s.detections
            if label == method
        ]
        for s in reals:
            truth.setdefault(s.image, [])
        report["box_ap50"][method] = average_precision(detections, truth)
    return report
