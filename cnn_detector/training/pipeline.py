"""One call that retrains a shipped detector: factory data -> TFRecords -> RetinaNet training
-> frozen graph -> detector directory with manifest, metrics.json and MODEL_CARD.md."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.detector_dir import write_detector_directory
from cnn_detector.export import freeze_detection_function
from cnn_detector.frozen_graph import LoadOptions, load_detector
from cnn_detector.labelmap import load_labelmap
from cnn_detector.registry import DEFAULT_DETECTORS_ROOT, load_detector_spec
from cnn_detector.training.data.tfrecord import convert_voc_folders
from cnn_detector.training.model_card import licences_of, render_model_card
from cnn_detector.training.retinanet.config import TrainConfig
from cnn_detector.training.retinanet.export import foreground_classes
from cnn_detector.training.retinanet.model import make_serving_function
from cnn_detector.training.retinanet.trainer import DetectorTrainer, count_records
from cnn_detector.training.scoring import detector_metrics, read_index, score_images
from cnn_detector.training.ship import machine, ship_detector
from deepfake_scanner.share import DEFAULT_SHARE, SPLITS, load_share

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineOptions:
    factory: Path
    run_dir: Path
    output_root: Path = DEFAULT_DETECTORS_ROOT
    share: Path = DEFAULT_SHARE
    progress: bool = True
    command: str = ""


def build_records(config: TrainConfig, options: PipelineOptions) -> dict[str, Path]:
    labelmap = load_labelmap(config.labelmap_path)
    missing = sorted(set(config.data.positives) - {item.name for item in labelmap.items})
    if missing:
        raise ValueError(f"{config.path}: positives {missing} are not names in {config.labelmap_path}")
    records = {}
    for split in SPLITS:
        folders = [options.factory / split / m for m in (*config.data.positives, *config.data.negatives)]
        folders = [f for f in folders if f.is_dir()]
        if not folders:
            raise FileNotFoundError(
                f"{options.factory / split}: no factory data for {config.detector.name}; run tools/make_fakes.py first"
            )
        record = options.run_dir / "records" / f"{split}.tfrecord"
        report = convert_voc_folders(folders, labelmap, record)
        for error in report.errors:
            log.warning("%s", error)
        log.info("%s: %d examples (%d without boxes)", record, report.written, report.negatives)
        records[split] = record
    return records


def export_detector(trainer: DetectorTrainer, config: TrainConfig, options: PipelineOptions) -> Path:
    trainer.checkpoint.read(trainer.best_prefix).expect_partial()
    graph = freeze_detection_function(make_serving_function(trainer.model, config.model))
    labelmap = load_labelmap(config.labelmap_path)
    d = config.detector
    directory = write_detector_directory(
        options.output_root / d.name,
        graph,
        [(i.id, i.name, i.display_name) for i in labelmap.items],
        name=d.name,
        version=d.version,
        author=d.author,
        licence=d.licence,
        algorithms=list(d.algorithms),
        input="face_crop",
        input_size=list(config.model.input_size),
        min_score=d.min_score,
        labelmap=str(Path("../..") / d.labelmap) if options.output_root == DEFAULT_DETECTORS_ROOT else "labelmap.pbtxt",
        trained_on=sorted({f for f in _trained_folders(options.factory, config)}),
        face_margin=0.3,
        description=d.description,
    )
    if options.output_root != DEFAULT_DETECTORS_ROOT:
        # Outside the repository the labelmap travels inside the directory.
        atomic_write_text(directory / "labelmap.pbtxt", config.labelmap_path.read_text())
    return directory


def _trained_folders(factory: Path, config: TrainConfig) -> set[str]:
    rows = read_index(factory, "train")
    wanted = set(config.data.positives) | set(config.data.negatives)
    return {row["source_folder"] for row in rows if row["method"] in wanted}


def train_and_ship(config: TrainConfig, options: PipelineOptions) -> dict:
    started = time.perf_counter()
    records = build_records(config, options)
    trainer = DetectorTrainer(config, options.run_dir, foreground_classes(config.labelmap_path))
    result = trainer.train(records["train"], records["val"], progress=options.progress)
    train_seconds = time.perf_counter() - started
    directory = export_detector(trainer, config, options)
    ship_detector(directory, options.factory, options.share, config.data.positives)
    counts = {}
    for split, record in records.items():
        positives, negatives = count_records(record)
        counts[split] = {"positives": positives, "negatives": negatives}
    training = {
        "epochs": config.train.epochs,
        "best_epoch": result.best_epoch,
        "best_val_auc": result.best_val_auc,
        "seconds": round(train_seconds, 1),
        "machine": machine(),
        "history": result.history,
    }
    return document_detector(config, options, directory, training, counts)


def document_detector(
    config: TrainConfig,
    options: PipelineOptions,
    directory: Path,
    training: dict,
    counts: dict,
    remeasured: bool = False,
) -> dict:
    """Score the detector in DIRECTORY on the factory's held-out test split and write its
    metrics.json and MODEL_CARD.md (training record and data counts as given)."""
    detector = load_detector(load_detector_spec(directory), LoadOptions(batch_size=16))
    try:
        scored = score_images(detector, options.factory, read_index(options.factory, "test"))
    finally:
        detector.close()
    metrics = detector_metrics(scored, config.data.positives)
    report = {"detector": config.detector.name, "training": training, "data": counts, "test": metrics}
    if remeasured:
        report["test_remeasured"] = True
    atomic_write_text(directory / "metrics.json", json.dumps(report, indent=1, sort_keys=True, default=float))
    write_card(config, options, directory, report)
    return report


def write_card(config: TrainConfig, options: PipelineOptions, directory: Path, report: dict) -> None:
    """MODEL_CARD.md from a metrics.json report (no scoring): the folder list is the factory's
    training split for this detector's methods and its whole test split."""
    trained = _trained_folders(options.factory, config)
    folders = trained | {row["source_folder"] for row in read_index(options.factory, "test")}
    card = render_model_card(
        config,
        report["test"],
        report["training"],
        report["data"],
        licences_of(load_share(options.share), folders) if Path(options.share).is_dir() else {},
        options.command,
        remeasured=bool(report.get("test_remeasured")),
        trained=trained,
    )
    atomic_write_text(directory / "MODEL_CARD.md", card)


def rewrite_card(config: TrainConfig, options: PipelineOptions) -> dict:
    """Write a trained detector's MODEL_CARD.md again from its metrics.json, nothing measured
    (after the card's wording changed)."""
    report = _training_report(options.output_root / config.detector.name / "metrics.json", config)
    write_card(config, options, options.output_root / config.detector.name, report)
    return report


def remeasure_detector(config: TrainConfig, options: PipelineOptions) -> dict:
    """Measure a trained detector again on the factory's current test split, graph unchanged
    (after the factory changed): its training record stays, its test numbers and card are
    rewritten."""
    directory = options.output_root / config.detector.name
    old = _training_report(directory / "metrics.json", config)
    return document_detector(config, options, directory, old["training"], old["data"], remeasured=True)


def _training_report(metrics: Path, config: TrainConfig) -> dict:
    if not metrics.is_file():
        raise FileNotFoundError(f"{metrics}: no trained {config.detector.name}; train it first")
    try:
        report = json.loads(metrics.read_text())
    except ValueError as err:
        raise ValueError(f"{metrics}: not a training record ({err})") from err
    missing = [key for key in ("training", "data", "test") if not isinstance(report.get(key), dict)]
    if missing:
        raise ValueError(f"{metrics}: not a training record (no {', '.join(missing)})")
    return report
