"""tools/train_judge.py's work: streams -> fit -> threshold -> test -> files."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import pickle
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

from cnn_detector.atomic_file import atomic_write_bytes, atomic_write_text
from cnn_detector.frozen_graph import load_detector
from cnn_detector.registry import discover_detectors
from deepfake_evaluation.metrics import recall_at_fpr, roc_auc, threshold_at_fpr
from deepfake_scanner.engine import DETECTION_FLOOR, ScanEngine
from deepfake_scanner.faces import FaceFinder
from deepfake_scanner.share import DEFAULT_SHARE, load_share
from rnn_judge.features import NUM_FEATURES
from rnn_judge.judge import Judge
from rnn_judge.model import JudgeConfig
from rnn_judge.training.sequences import StreamMaker, fit_judge, pad, still_sequences, video_sequences

log = logging.getLogger(__name__)
STREAMS_VERSION = 4  # bump when the way streams are made changes, so caches are rebuilt (4: videos sampled as a scan)


def _read_cache(cache: Path) -> dict | None:
    """The cached streams, or None when there are none or they were written by code that has
    moved on (classes renamed or moved since: the streams are made again)."""
    if not cache.is_file():
        return None
    try:
        cached = pickle.loads(cache.read_bytes())
    except (AttributeError, ModuleNotFoundError, ImportError, EOFError, pickle.UnpicklingError) as err:
        log.warning("%s: stale cache of detection streams (%s); making them again", cache, err)
        return None
    return cached if isinstance(cached, dict) and "key" in cached else None


def build_sequences(factory: Path, cache: Path, seed: int, limit: int, share: Path = DEFAULT_SHARE):
    scan = discover_detectors(include_environment=False)
    detectors = [load_detector(spec) for spec in scan.select()]
    names = tuple(d.name for d in detectors)
    key = {
        "detectors": names,
        "shas": [d.graph_sha256 for d in detectors],
        "calibration": [(d.spec.manifest.min_score, d.spec.manifest.typical_fake_score) for d in detectors],
        "factory": str(Path(factory).resolve()),
        "share": str(Path(share).resolve()),
        "index": hashlib.sha256((factory / "index.csv").read_bytes()).hexdigest(),
        "seed": seed,
        "limit": limit,
        "floor": DETECTION_FLOOR,
        "version": STREAMS_VERSION,
    }
    cached = _read_cache(cache)
    if cached is not None:
        if cached["key"] == key:
            log.info("using cached detection streams from %s", cache)
            return names, cached["sequences"]
    from tqdm import tqdm

    engine = ScanEngine(detectors, FaceFinder(), judge=None)
    maker = StreamMaker(engine)
    sequences = list(
        still_sequences(
            maker,
            factory,
            ("val", "test"),
            seed,
            progress=lambda rows: tqdm(rows[:limit] if limit else rows, desc="stills"),
        )
    )
    videos = [i for i in load_share(share) if i.is_video and i.split in ("val", "test")]
    sequences += list(video_sequences(maker, videos, seed, progress=lambda v: tqdm(v, desc="videos")))
    atomic_write_bytes(cache, pickle.dumps({"key": key, "sequences": sequences}))
    return names, sequences


def summary(labels, scores, threshold: float) -> dict:
    labels, scores = np.asarray(labels), np.asarray(scores)
    fakes, reals = scores[labels == 1], scores[labels == 0]
    return {
        "n_fake": int(len(fakes)),
        "n_real": int(len(reals)),
        "auc": roc_auc(labels, scores),
        "recall_at_threshold": float((fakes >= threshold).mean()) if len(fakes) else math.nan,
        "fpr_at_threshold": float((reals >= threshold).mean()) if len(reals) else math.nan,
        "recall_at_1pct_fpr": recall_at_fpr(labels, scores, 0.01),
        "recall_at_0.1pct_fpr": recall_at_fpr(labels, scores, 0.001),
    }


def evaluate(test, probabilities, baseline, threshold, baseline_threshold) -> dict:
    labels = [s.label for s in test]
    report = {
        "overall": summary(labels, probabilities, threshold),
        "max_score_baseline": summary(labels, baseline, baseline_threshold),
    }
    groups = defaultdict(list)
    for i, s in enumerate(test):
        groups[("kind", s.kind)].append(i)
        if s.label:
            groups[("method", s.method)].append(i)
    reals = [i for i, s in enumerate(test) if not s.label]
    report["per_kind"] = {}
    report["per_method"] = {}
    for (what, name), members in sorted(groups.items()):
        if what == "kind":
            idx = members
        else:
            idx = members + [i for i in reals if test[i].kind in {test[m].kind for m in members}]
        entry = summary([labels[i] for i in idx], [probabilities[i] for i in idx], threshold)
        entry["max_score_baseline_auc"] = roc_auc([labels[i] for i in idx], [baseline[i] for i in idx])
        report["per_kind" if what == "kind" else "per_method"][name] = entry
    return report


def run_training(
    factory: Path,
    out: Path,
    cache: Path,
    target_fpr: float,
    epochs: int,
    seed: int,
    limit: int,
    share: Path = DEFAULT_SHARE,
):
    started = time.perf_counter()
    names, sequences = build_sequences(factory, cache, seed, limit, share)
    train = [s for s in sequences if s.group == "train"]
    val = [s for s in sequences if s.group == "val"]
    test = [s for s in sequences if s.group == "test"]
    log.info(
        "judge sequences: %d train, %d val, %d test (detectors: %s)", len(train), len(val), len(test), ", ".join(names)
    )
    config = JudgeConfig(num_features=NUM_FEATURES)
    judge = Judge(config, threshold=0.5)
    history = fit_judge(judge, train, val, epochs=epochs, seed=seed)
    d = len(names)
    vx, vmask = pad(val, d, NUM_FEATURES)
    val_probabilities = judge.run_batch(vx, vmask)
    val_reals = [p for p, s in zip(val_probabilities, val) if not s.label]
    threshold = threshold_at_fpr(val_reals, target_fpr)
    if not math.isfinite(threshold):
        raise ValueError("no real sequences in the judge's validation split: cannot choose a threshold")
    judge.threshold = float(min(max(threshold, 1e-4), 0.9999))
    metrics = judge_test_metrics(judge, d, val, test, target_fpr)
    judge.save(out, {"target_fpr": target_fpr, "trained_with_detectors": list(names)})
    seconds = round(time.perf_counter() - started, 1)
    report = {
        "threshold": judge.threshold,
        "target_fpr": target_fpr,
        "detectors": list(names),
        "trained_with": list(names),
        "counts": {"train": len(train), "val": len(val), "test": len(test)},
        "history": history,
        "seconds": seconds,
        "test": metrics,
    }
    atomic_write_text(out / "metrics.json", json.dumps(report, indent=1, default=float))
    atomic_write_text(out / "MODEL_CARD.md", render_card(report))
    return report


def judge_test_metrics(judge: Judge, detectors: int, val, test, target_fpr: float) -> dict:
    """The judge at its threshold on TEST, next to the max-score baseline (the highest top-1
    detection score of any detector on any frame, thresholded for TARGET_FPR on VAL's reals)."""
    tx, tmask = pad(test, detectors, NUM_FEATURES)
    probabilities = judge.run_batch(tx, tmask)
    baseline = [float(s.features[:, :, 0].max()) for s in test]
    val_baseline = [float(s.features[:, :, 0].max()) for s in val if not s.label]
    return evaluate(test, probabilities, baseline, judge.threshold, threshold_at_fpr(val_baseline, target_fpr))


def evaluate_trained(factory: Path, out: Path, cache: Path, seed: int, limit: int, share: Path = DEFAULT_SHARE) -> dict:
    """Score the trained judge in OUT, as it is (weights and threshold unchanged), on the test
    streams of the detectors shipped now (a detector added since its training is one more
    stream), and rewrite its metrics.json and MODEL_CARD.md with these test numbers; the
    training record (history, time, detectors it trained with) is kept."""
    judge = Judge.load(out)
    record_path = Path(out) / "metrics.json"
    report = json.loads(record_path.read_text()) if record_path.is_file() else {}
    names, sequences = build_sequences(factory, cache, seed, limit, share)
    val = [s for s in sequences if s.group == "val"]
    test = [s for s in sequences if s.group == "test"]
    if not test or not any(s.label for s in test) or all(s.label for s in test):
        raise ValueError(f"{factory}: the test split needs real and fake sequences to evaluate the judge")
    # judge.yaml records what it was trained with and for (written by judge.save in run_training)
    settings = yaml.safe_load((Path(out) / "judge.yaml").read_text(encoding="utf-8"))
    target_fpr = float(settings.get("target_fpr", 0.01))
    report.update(
        {
            "threshold": float(judge.threshold),
            "target_fpr": target_fpr,
            "trained_with": settings.get("trained_with_detectors", []),
            "threshold_calibration": settings.get("threshold_calibration"),
            "detectors": list(names),
            "counts": {"train": report.get("counts", {}).get("train", 0), "val": len(val), "test": len(test)},
            "test": judge_test_metrics(judge, len(names), val, test, target_fpr),
        }
    )
    atomic_write_text(record_path, json.dumps(report, indent=1, default=float))
    atomic_write_text(Path(out) / "MODEL_CARD.md", render_card(report))
    return report


def _f(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def threshold_origin(report: dict) -> str:
    """Where the threshold came from: tools/calibrate_judge.py --write (judge.yaml's
    threshold_calibration, copied into the report) or the judge validation split at training."""
    calibration = report.get("threshold_calibration")
    if not calibration:
        return (
            f"chosen on the judge validation split for a false-positive rate of {report['target_fpr']:.1%} "
            "on real sequences when it was trained"
        )
    reals = calibration["reals"]
    kinds = ", ".join(f"{count:,} {kind.replace('_', ' ')}" for kind, count in reals.items())
    return (
        f"set for {calibration['target_fpr']:.1%} FPR on {sum(reals.values()):,} real inputs by "
        f"`{calibration['command']}` ({kinds})"
    )


def detector_sentence(report: dict) -> str:
    """Which detectors the judge trained with and which made the test streams below."""
    trained, scored = report.get("trained_with", report["detectors"]), report["detectors"]
    if not trained:
        return f"Trained with an unrecorded detector set; tested on the streams of: {', '.join(scored)}."
    if list(trained) == list(scored):
        return f"Trained with detectors: {', '.join(trained)}."
    return (
        f"Trained with detectors: {', '.join(trained)}; tested (tools/train_judge.py --evaluate-only) on the "
        f"streams of the detectors shipped now: {', '.join(scored)}, without retraining."
    )


def render_card(report: dict) -> str:
    rows = []
    cols = [
        "n_fake",
        "n_real",
        "auc",
        "recall_at_threshold",
        "fpr_at_threshold",
        "recall_at_1pct_fpr",
        "max_score_baseline_auc",
    ]
    header = "| {} | fakes | reals | AUC | recall @thr | FPR @thr | recall @1% FPR | max-score baseline AUC |"
    for section, title in (("per_kind", "kind"), ("per_method", "method")):
        rows.append(header.format(title))
        rows.append("|---|---|---|---|---|---|---|---|")
        for name, m in report["test"][section].items():
            rows.append(
                "| "
                + " | ".join([name] + [_f(m.get(c)) if isinstance(m.get(c), float) else str(m.get(c)) for c in cols])
                + " |"
            )
        rows.append("")
    overall, base = report["test"]["overall"], report["test"]["max_score_baseline"]
    return f"""# RNN judge

Shared encoder per detector stream (no bias, ReLU: a silent detector encodes to zero), max + sum
pooling across detectors, GRU with attention over time, sigmoid. Invariant to the detector set:
a detector added later is one more stream. {detector_sentence(report)}

Data: detection streams of the factory's validation split (judge train: 2/3 of its groups,
judge validation: 1/3) and test split (judge test), as stills, pseudo-videos (a still jittered over
6 frames) and videos (the share's real videos, and the factory's manipulations applied to them
frame by frame with fresh parameters per frame). Counts: {report["counts"]}.
Threshold {report["threshold"]:.4f}, {threshold_origin(report)}. Training took
{report["seconds"] / 60:.1f} minutes on 2 CPU cores (mostly running the detectors to make the streams).

## Test split
Overall: AUC {_f(overall["auc"])}, recall {_f(overall["recall_at_threshold"])} and false-positive rate
{_f(overall["fpr_at_threshold"])} at the threshold, recall {_f(overall["recall_at_1pct_fpr"])} at 1% FPR.
Baseline without the judge (highest detection score of any detector on any frame, threshold chosen the
same way): AUC {_f(base["auc"])}, recall {_f(base["recall_at_threshold"])}, FPR {_f(base["fpr_at_threshold"])}.

{chr(10).join(rows)}
Per-method rows: that method's fakes against the real sequences of the same kinds.
Numbers come from metrics.json, written by tools/train_judge.py.
"""
