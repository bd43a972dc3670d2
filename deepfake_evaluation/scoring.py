"""System-level evaluation: a labelled manifest -> verdicts -> metrics, plots and a report.

Detectors run once per file; every detector subset (the widening experiment) is then judged
from the same frame detections with the other detectors' detections left out, which is
exactly what the pipeline computes with only that subset loaded, since detectors run
independently of one another.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.types import FrameDetections, Verdict
from deepfake_evaluation.metrics import GroupedMetrics, Summary, family_of, summarize

LABELS = ("real", "fake")


class ManifestProblem(DeepfakeScannerError):
    """labels.csv is unusable; the message names the file and the offending rows."""


@dataclass(frozen=True)
class LabelledItem:
    path: Path
    label: int  # 1 fake, 0 real
    method: str
    source_folder: str


@dataclass
class Scored:
    item: LabelledItem
    frames: list[FrameDetections] = field(default_factory=list)
    error: str = ""


def read_labels(manifest: Path) -> list[LabelledItem]:
    """path,label[,method][,source_folder] rows; paths relative to the manifest's folder (or
    absolute). source_folder groups the per-folder metrics (default: the path's folder). Every
    missing file and unknown label is reported at once."""
    manifest = Path(manifest)
    try:
        with open(manifest, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as err:
        raise ManifestProblem(f"{manifest}: cannot read ({err})") from None
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise ManifestProblem(f"{manifest}: expected a header with columns path,label[,method]")
    items, problems = [], []
    for line, row in enumerate(rows, start=2):
        label = (row.get("label") or "").strip().lower()
        path = manifest.parent / (row.get("path") or "").strip()
        if label not in LABELS:
            problems.append(f"line {line}: label must be real or fake, got {row.get('label')!r}")
        elif not path.is_file():
            problems.append(f"line {line}: no such file {path}")
        else:
            method = (row.get("method") or "").strip() or label
            folder = (row.get("source_folder") or "").strip() or str(Path(row["path"]).parent)
            items.append(LabelledItem(path, int(label == "fake"), method, folder))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ManifestProblem(f"{manifest}: {len(problems)} bad row(s): {shown}")
    if len({i.label for i in items}) < 2:
        raise ManifestProblem(f"{manifest}: needs both real and fake rows to measure anything")
    return items


def restrict(frames: Sequence[FrameDetections], detectors: set[str]) -> list[FrameDetections]:
    return [replace(f, detections=tuple(d for d in f.detections if d.detector in detectors)) for f in frames]


def judge_all(judge, scored: Sequence[Scored], detectors: Sequence[str]) -> list[Verdict]:
    keep = set(detectors)
    verdicts = []
    for entry in scored:
        source = str(entry.item.path)
        if entry.error:
            verdicts.append(Verdict(source, "error", detectors=tuple(detectors), error=entry.error))
        else:
            verdicts.append(judge.decide(source, restrict(entry.frames, keep), tuple(detectors)))
    return verdicts


class MaxScore:
    """The judge's stand-in for baselines (`tools/evaluate.py --score max`): a source's score is
    the highest detection score of any frame with a face, each detector's raw score mapped
    monotonically so that its calibrated min_score (1% of validation reals reach it) lands on
    0.5. For one detector the ranking, and so the AUC, is exactly its raw score's."""

    threshold = 0.5

    def __init__(self, min_scores: dict[str, float]):
        self.min_scores = dict(min_scores)

    def scale(self, detector: str, score: float) -> float:
        low = min(max(self.min_scores[detector], 1e-6), 1.0 - 1e-6)
        return 0.5 * score / low if score < low else 0.5 + 0.5 * (score - low) / (1.0 - low)

    def decide(self, source: str, frames: Sequence[FrameDetections], detectors: Sequence[str]) -> Verdict:
        names = tuple(detectors)
        judged = [f for f in frames if f.faces]
        if not judged:
            return Verdict(source, "no_face", detectors=names, threshold=self.threshold)
        best, algorithm = 0.0, ""
        for frame in judged:
            for d in (d for d in frame.detections if d.detector in names):
                value = self.scale(d.detector, d.score)
                if value > best:
                    best, algorithm = value, f"{d.detector}:{d.label}"
        is_fake = best >= self.threshold
        return Verdict(
            source,
            "ok",
            is_fake=is_fake,
            fake_probability=round(min(1.0, best), 6),
            threshold=self.threshold,
            likely_algorithm=algorithm if is_fake else "",
            frames_used=len(judged),
            detectors=names,
        )


def scored_result(item: LabelledItem, result, engine, judge) -> Scored:
    """An engine result as the scorer reads it: the judge gets the calibrated detections
    (`ScanEngine.for_judge`), MaxScore the raw ones."""
    error = result.verdict.error if result.verdict.status == "error" else ""
    frames = result.frames if isinstance(judge, MaxScore) else [engine.for_judge(f) for f in result.frames]
    return Scored(item, frames, error)


def metrics_of(
    scored: Sequence[Scored], verdicts: Sequence[Verdict], threshold: float, rounds: int = 1000
) -> GroupedMetrics:
    """Overall, per method and per method family (their fakes against every real) and per
    source folder."""
    judged = [(e.item, v) for e, v in zip(scored, verdicts) if v.status == "ok"]
    counts = defaultdict(int)
    for v in verdicts:
        counts[v.status] += 1
    labels = [i.label for i, _ in judged]
    scores = [v.fake_probability for _, v in judged]
    reals = [(i, v) for i, v in judged if i.label == 0]

    def against_reals(group_of) -> dict[str, Summary]:
        """Each group's fakes against every real."""
        out = {}
        for name in sorted({group_of(i) for i, _ in judged if i.label == 1}):
            group = reals + [(i, v) for i, v in judged if i.label == 1 and group_of(i) == name]
            out[name] = summarize(
                [i.label for i, _ in group], [v.fake_probability for _, v in group], threshold, rounds
            )
        return out

    per_method = against_reals(lambda i: i.method)
    per_family = against_reals(lambda i: family_of(i.method))
    per_folder = {}
    for folder in sorted({i.source_folder for i, _ in judged}):
        group = [(i, v) for i, v in judged if i.source_folder == folder]
        per_folder[folder] = summarize(
            [i.label for i, _ in group], [v.fake_probability for _, v in group], threshold, rounds
        )
    overall = summarize(labels, scores, threshold, rounds)
    return GroupedMetrics(dict(counts), overall, per_method, per_folder, per_family)


def coverage(scored: Sequence[Scored], detectors: Sequence[str], min_score: dict[str, float]) -> dict:
    """detector -> method -> fraction of files where it reported at least one detection."""
    table: dict[str, dict[str, float]] = {}
    methods = sorted({e.item.method for e in scored if not e.error})
    for name in detectors:
        table[name] = {}
        for method in methods:
            group = [e for e in scored if not e.error and e.item.method == method]
            fired = [
                any(d.detector == name and d.score >= min_score[name] for f in e.frames for d in f.detections)
                for e in group
            ]
            table[name][method] = float(np.mean(fired)) if fired else math.nan
    return table
