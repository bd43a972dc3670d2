"""Detection and real/fake metrics with no hidden dependencies, checked against hand-made cases.

Labels are 1 for fake (positive), 0 for real. Ties in scores count half, as in the
Mann-Whitney definition of ROC AUC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Probability that a random fake scores above a random real (ties count 1/2); NaN if
    either class is missing."""
    y = np.asarray(labels, bool)
    s = np.asarray(scores, np.float64)
    positives, negatives = s[y], s[~y]
    if len(positives) == 0 or len(negatives) == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), np.float64)
    sorted_scores = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = ranks[y].sum()
    return float((rank_sum - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives)))


def threshold_at_fpr(real_scores: Sequence[float], fpr: float) -> float:
    """The lowest threshold (score >= threshold is 'fake') whose false-positive rate on the
    real scores is at most ``fpr``."""
    reals = np.sort(np.asarray(real_scores, np.float64))[::-1]
    allowed = int(np.floor(fpr * len(reals) + 1e-9))
    if len(reals) == 0:
        return float("nan")
    if allowed >= len(reals):
        return float(reals[-1])
    # Strictly above the (allowed+1)-th highest real score.
    return float(np.nextafter(reals[allowed], np.inf))


def recall_at_fpr(labels: Sequence[int], scores: Sequence[float], fpr: float) -> float:
    y = np.asarray(labels, bool)
    s = np.asarray(scores, np.float64)
    if not y.any() or y.all():
        return float("nan")
    threshold = threshold_at_fpr(s[~y], fpr)
    return float((s[y] >= threshold).mean())


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    ymin, xmin = max(a[0], b[0]), max(a[1], b[1])
    ymax, xmax = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, ymax - ymin) * max(0.0, xmax - xmin)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def average_precision(
    detections: Sequence[tuple[str, float, Sequence[float]]],
    ground_truth: dict[str, list[Sequence[float]]],
    iou_threshold: float = 0.5,
) -> float:
    """VOC-style AP (all-point interpolation) for one class.

    detections: (image id, score, box); ground_truth: image id -> boxes. Each ground-truth
    box matches at most one detection, highest score first.
    """
    total = sum(len(boxes) for boxes in ground_truth.values())
    if total == 0:
        return float("nan")
    used = {image: [False] * len(boxes) for image, boxes in ground_truth.items()}
    hits = []
    for image, _, box in sorted(detections, key=lambda d: -d[1]):
        best, best_iou = -1, iou_threshold
        for k, truth in enumerate(ground_truth.get(image, [])):
            overlap = box_iou(box, truth)
            if overlap >= best_iou and not used[image][k]:
                best, best_iou = k, overlap
        if best >= 0:
            used[image][best] = True
        hits.append(best >= 0)
    if not hits:
        return 0.0
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = tp / total
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    previous = np.concatenate([[0.0], recall[:-1]])
    return float(np.sum((recall - previous) * envelope))
