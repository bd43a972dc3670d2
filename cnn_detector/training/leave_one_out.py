"""Leave-one-method-out: how far the design generalizes to a generation method it has never
seen (issue 6).

For each method M of the factory, one detector is trained on every other method (one class per
method, so it boxes artifacts as the shipped detectors do) with the short schedule of
configs/leave_one_out.yaml, and scored on the held-out test split: its image AUC on M's test
fakes against every real test face is the "unseen" number. A reference detector trained on
every method with the same schedule gives the "seen" number for each method, so the drop is
measured at equal training effort. Image score = highest detection score, as in the model
cards.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.frozen_graph import LoadOptions, load_detector
from cnn_detector.labelmap import format_labelmap
from cnn_detector.registry import load_detector_spec
from cnn_detector.training.config import TrainConfig
from cnn_detector.training.evaluation import detector_metrics, read_index, score_images
from cnn_detector.training.factory import REAL
from cnn_detector.training.pipeline import PipelineOptions, build_records, export_detector
from cnn_detector.training.trainer import DetectorTrainer

log = logging.getLogger(__name__)

ALL = "all methods"
RESULT_NAME = "leave_one_out.json"


def factory_methods(factory: Path) -> list[str]:
    """The fake methods with examples in every split (a method missing from the test split
    cannot be measured, one missing from train cannot be left out)."""
    per_split = [{r["method"] for r in read_index(factory, s)} - {REAL} for s in ("train", "val", "test")]
    return sorted(set.intersection(*per_split))


def run_name(held_out: str | None) -> str:
    return "with_all" if held_out is None else f"without_{held_out}"


def train_one(
    base: TrainConfig, factory: Path, out_dir: Path, methods: list[str], held_out: str | None, progress: bool
) -> dict:
    """Train and score one detector on ``methods`` minus ``held_out``; cached in its metrics.json."""
    name = run_name(held_out)
    directory = out_dir / name
    result_path = directory / "metrics.json"
    if result_path.is_file():
        log.info("%s: already measured (%s); remove it to retrain", name, result_path)
        return json.loads(result_path.read_text())
    positives = tuple(m for m in methods if m != held_out)
    run_dir = out_dir / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    labelmap = run_dir / "labelmap.pbtxt"
    atomic_write_text(labelmap, format_labelmap([(i + 1, m, m) for i, m in enumerate(positives)]))
    config = dataclasses.replace(
        base,
        detector=dataclasses.replace(
            base.detector,
            name=name,
            labelmap=str(labelmap.resolve()),
            algorithms=positives,
            description=f"Leave-one-method-out detector trained without {held_out or 'nothing'}.",
        ),
        data=dataclasses.replace(base.data, positives=positives, factory=str(factory)),
    )
    options = PipelineOptions(factory=factory, run_dir=run_dir, output_root=out_dir, progress=progress)
    started = time.perf_counter()
    records = build_records(config, options)
    trainer = DetectorTrainer(config, run_dir, len(positives))
    history = trainer.train(records["train"], records["val"], progress=progress)
    seconds = time.perf_counter() - started
    export_detector(trainer, config, options)
    with load_detector(load_detector_spec(directory), LoadOptions(batch_size=16)) as detector:
        scored = score_images(detector, factory, read_index(factory, "test"))
    metrics = detector_metrics(scored, positives)
    report = {
        "held_out": held_out,
        "trained_on": list(positives),
        "seconds": round(seconds, 1),
        "best_val_auc": history.best_val_auc,
        "test": metrics,
    }
    atomic_write_text(result_path, json.dumps(report, indent=1, sort_keys=True, default=float))
    return report


def leave_one_out(
    base: TrainConfig, factory: Path, out_dir: Path, methods: list[str] | None = None, progress: bool = True
) -> dict:
    """Every method held out in turn, plus the all-methods reference; writes RESULT_NAME."""
    factory, out_dir = Path(factory).resolve(), Path(out_dir).resolve()
    methods = methods or factory_methods(factory)
    if len(methods) < 2:
        raise ValueError(f"{factory}: leave-one-out needs at least two methods in every split, found {methods}")
    started = time.perf_counter()
    reference = train_one(base, factory, out_dir, methods, None, progress)
    rows = []
    for method in methods:
        report = train_one(base, factory, out_dir, methods, method, progress)
        unseen = report["test"]["per_method"][method]
        seen = reference["test"]["per_method"][method]
        rows.append(
            {
                "method": method,
                "seen_auc": seen["auc"],
                "unseen_auc": unseen["auc"],
                "seen_recall_at_1pct_fpr": seen["recall_at_1pct_fpr"],
                "unseen_recall_at_1pct_fpr": unseen["recall_at_1pct_fpr"],
                "n_fake": unseen["n_fake"],
                "n_real": unseen["n_real"],
                "other_methods_auc": report["test"]["overall"]["auc"],
            }
        )
    summary = {
        "factory": str(factory),
        "methods": methods,
        "schedule": dataclasses.asdict(base.train),
        "input_size": list(base.model.input_size),
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_text(out_dir / RESULT_NAME, json.dumps(summary, indent=1, sort_keys=True, default=float))
    return summary
