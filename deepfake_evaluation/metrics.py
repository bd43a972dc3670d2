"""Detection and real/fake metrics with no hidden dependencies, checked against hand-made cases.

Labels are 1 for fake (positive), 0 for real. Ties in scores count half, as in the
Mann-Whitney definition of ROC AUC.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from deepfake_scanner.crops import box_iou


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


def bootstrap(
    values_fn: Callable[[np.ndarray, np.ndarray], float],
    labels: np.ndarray,
    scores: np.ndarray,
    rounds: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """95% interval of a statistic by resampling items with replacement (NaN, NaN when the
    statistic is undefined on every resample)."""
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(rounds):
        pick = rng.integers(0, len(labels), len(labels))
        value = values_fn(labels[pick], scores[pick])
        if not math.isnan(value):
            stats.append(value)
    if not stats:
        return (math.nan, math.nan)
    return (float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5)))


@dataclass(frozen=True)
class Summary:
    """Real/fake numbers of one group at one threshold, each rate with its bootstrap 95% interval.
    ``as_dict`` gives the keys the JSON reports and README tables use."""

    n_fake: int
    n_real: int
    auc: float
    auc_ci95: tuple[float, float]
    recall: float
    recall_ci95: tuple[float, float]
    fpr: float
    fpr_ci95: tuple[float, float]
    accuracy: float
    recall_at_1pct_fpr: float
    recall_at_01pct_fpr: float

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("auc_ci95", "recall_ci95", "fpr_ci95"):
            data[key] = list(data[key])
        data["recall_at_0.1pct_fpr"] = data.pop("recall_at_01pct_fpr")
        return data


# Method families of videos (issue 22): what a method's name says it does to a face.
FAMILY_WORDS = (
    ("talking head", ("talkinghead", "talking_head", "animated", "liveportrait", "sadtalker", "vasa", "emo")),
    ("lip-sync", ("lipsync", "lip_sync", "wav2lip", "retalking", "mouth")),
    ("swap", ("swap", "deepfakes", "roop", "faceshifter", "blend")),
)


def family_of(method: str) -> str:
    """The family of a generation method by its name: talking head, lip-sync, swap, real, or
    other (image generators and anything unnamed)."""
    if method == "real":
        return "real"
    name = method.lower()
    parts = set(name.replace("-", "_").split("_"))  # "emo" is a word of the name, not of "demo"

    def says(word: str) -> bool:
        return word in parts or ("_" in word and word in name) or (len(word) > 5 and word in name)

    return next((family for family, words in FAMILY_WORDS if any(says(w) for w in words)), "other")


@dataclass(frozen=True)
class GroupedMetrics:
    """A whole evaluation: verdict counts by status, and a Summary overall, per generation
    method and per method family (their fakes against every real) and per source folder."""

    counts: dict[str, int]
    overall: Summary
    per_method: dict[str, Summary]
    per_source_folder: dict[str, Summary]
    per_family: dict[str, Summary] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "counts": dict(self.counts),
            "overall": self.overall.as_dict(),
            "per_method": {k: v.as_dict() for k, v in self.per_method.items()},
            "per_family": {k: v.as_dict() for k, v in self.per_family.items()},
            "per_source_folder": {k: v.as_dict() for k, v in self.per_source_folder.items()},
        }


def summarize(labels: Sequence[int], scores: Sequence[float], threshold: float, rounds: int = 1000) -> Summary:
    """AUC, and recall, false-positive rate and accuracy at ``threshold``, with intervals."""
    y, s = np.asarray(labels, int), np.asarray(scores, float)

    def recall(a, b):
        return float((b[a == 1] >= threshold).mean()) if (a == 1).any() else math.nan

    def fpr(a, b):
        return float((b[a == 0] >= threshold).mean()) if (a == 0).any() else math.nan

    def accuracy(a, b):
        return float(((b >= threshold).astype(int) == a).mean()) if len(a) else math.nan

    return Summary(
        n_fake=int(y.sum()),
        n_real=int((1 - y).sum()),
        auc=roc_auc(y, s),
        auc_ci95=bootstrap(roc_auc, y, s, rounds),
        recall=recall(y, s),
        recall_ci95=bootstrap(recall, y, s, rounds),
        fpr=fpr(y, s),
        fpr_ci95=bootstrap(fpr, y, s, rounds),
        accuracy=accuracy(y, s),
        recall_at_1pct_fpr=recall_at_fpr(y, s, 0.01),
        recall_at_01pct_fpr=recall_at_fpr(y, s, 0.001),
    )
