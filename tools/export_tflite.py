#!/usr/bin/env python3
"""Convert each shipped frame detector and the judge to TFLite, write runnable TFLite model
folders, and measure them against the frozen graphs (issue 24, part 4).

Forms: float32, float16 (weights) and int8 (weights and activations, post-training quantized
with a representative set of the fake factory's *training* crops). Builtin ops only: the NMS,
which TFLite lacks, is done in NumPy (cnn_detector/tflite.py); a model with a custom or flex op
is refused.

- ``--models-only``: write OUT/models/<precision>/ only: detectors/<name>/ (detector.yaml with
  runtime: tflite, model.tflite, labelmap.pbtxt) and judge/ (judge.yaml with runtime: tflite,
  judge.tflite). This is what tools/tflite_scan.py (no TensorFlow) and the registry load. Clip
  detectors have no TFLite form and are left out; the int8 folder carries the float16 judge
  (46 KB: quantizing it saves nothing).
- otherwise, also measure: each detector's top score per held-out factory crop against its
  frozen graph (largest difference, same decision at min_score), size and latency per image;
  the judge on random sparse sequences; and, with --manifest (default the held-out manifest of
  tools/make_manifest.py), the whole system: verdict probabilities of the TFLite path against
  the frozen-graph path on every file, and both AUCs. Writes OUT/tflite.md and tflite.json.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.defaults import WORK_DIR

PRECISIONS = ("float32", "float16", "int8")
BUNDLED = ("float16", "int8")  # the forms written as runnable model folders
REPRESENTATIVE = 100  # training crops that calibrate int8 activations


def crops(factory: Path, limit: int, split: str = "test") -> list[Path]:
    """Up to ``limit`` factory crops of ``split``, spread over every method folder (reals included)."""
    folders = sorted(p for p in (factory / split).iterdir() if p.is_dir())
    per = max(1, limit // max(1, len(folders)))
    return [path for folder in folders for path in sorted(folder.glob("*.jpg"))[:per]]


def read_rgb(paths: list[Path], size: tuple[int, int]) -> list[np.ndarray]:
    import cv2

    from cnn_detector.frozen_graph import resize_to_input

    return [
        resize_to_input(cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), *size) for p in paths
    ]


def frame_specs():
    from cnn_detector.registry import discover_detectors

    specs = discover_detectors(include_environment=False).select()
    for spec in specs:
        if spec.manifest.is_clip:
            log.info("%s: a clip detector has no TFLite form; left out", spec.name)
    return [s for s in specs if not s.manifest.is_clip]


def convert_detector(spec, precision: str, factory: Path):
    """(TFLite model, NMS parameters) of a shipped detector; int8 is calibrated on training crops."""
    from cnn_detector.frozen_graph import read_and_verify_graph
    from cnn_detector.tflite import convert, refused_tflite_ops

    size = tuple(spec.manifest.input_size)
    representative = read_rgb(crops(factory, REPRESENTATIVE, "train"), size) if precision == "int8" else None
    graph_def = read_and_verify_graph(spec.graph_path, spec.manifest.sha256).graph_def
    model, nms = convert(graph_def, size, precision, representative)
    refused = refused_tflite_ops(model)
    if refused:
        raise ValueError(f"{spec.name}: the {precision} model uses ops a TFLite detector may not: {refused}")
    return model, nms


def write_models(out: Path, precision: str, factory: Path) -> Path:
    """A runnable TFLite model folder: OUT/detectors/<name>/ and OUT/judge/ (module docstring)."""
    import hashlib
    import shutil

    import yaml

    from cnn_detector.atomic_file import atomic_write_bytes, atomic_write_text
    from cnn_detector.manifest import write_manifest
    from rnn_judge.judge import DEFAULT_JUDGE_DIR, SETTINGS_NAME, Judge
    from rnn_judge.tflite import convert_judge

    for spec in frame_specs():
        model, nms = convert_detector(spec, precision, factory)
        folder = out / "detectors" / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / "model.tflite", model)
        shutil.copyfile(spec.directory / spec.manifest.labelmap, folder / "labelmap.pbtxt")
        if (spec.directory / "samples").is_dir():  # check_detector.py reproduces them on this form
            shutil.copytree(spec.directory / "samples", folder / "samples", dirs_exist_ok=True)
        manifest = replace(
            spec.manifest,
            runtime="tflite",
            graph="model.tflite",
            sha256=hashlib.sha256(model).hexdigest(),
            nms=asdict(nms) if nms else None,
            labelmap="labelmap.pbtxt",
            description=f"{spec.manifest.description} TFLite {precision} form of frozen_models/{spec.name} "
            f"(sha256 {spec.manifest.sha256[:12]}...)".strip(),
        )
        write_manifest(manifest, folder / "detector.yaml")
        log.info("%s: %s, %.2f MB", folder, precision, len(model) / 1e6)
    judge_precision = "float16" if precision == "int8" else precision
    model = convert_judge(Judge.load(), precision=judge_precision)
    folder = out / "judge"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "judge.tflite", model)
    settings = yaml.safe_load((DEFAULT_JUDGE_DIR / SETTINGS_NAME).read_text(encoding="utf-8"))
    settings.update(
        runtime="tflite", model="judge.tflite", sha256=hashlib.sha256(model).hexdigest(), precision=judge_precision
    )
    atomic_write_text(folder / SETTINGS_NAME, yaml.safe_dump(settings, sort_keys=False))
    return out


def measure(factory: Path, out: Path, limit: int) -> dict:
    from cnn_detector.frozen_graph import load_detector
    from cnn_detector.tflite import TfliteDetector, interpreter_class

    paths = crops(factory, limit)
    results = {"images": len(paths), "representative": REPRESENTATIVE, "detectors": {}}
    for spec in frame_specs():
        size = tuple(spec.manifest.input_size)
        inputs = read_rgb(paths, size)
        with load_detector(spec) as frozen:
            started = time.perf_counter()
            reference = [max((d.score for d in found), default=0.0) for found in frozen.detect(inputs, min_score=0.0)]
            frozen_ms = (time.perf_counter() - started) * 1000 / len(inputs)
        row = {"frozen_graph": {"bytes": spec.graph_path.stat().st_size, "ms_per_image": round(frozen_ms, 2)}}
        for precision in PRECISIONS:
            model, nms = convert_detector(spec, precision, factory)
            detector = TfliteDetector(model, size, nms, interpreter_class())
            started = time.perf_counter()
            tops = [float(s.max()) if len(s) else 0.0 for _, s, _ in (detector.detect(x) for x in inputs)]
            ms = (time.perf_counter() - started) * 1000 / len(inputs)
            threshold = spec.manifest.min_score
            agree = np.mean([(a >= threshold) == (b >= threshold) for a, b in zip(tops, reference)])
            row[precision] = {
                "bytes": len(model),
                "ms_per_image": round(ms, 2),
                "max_top_score_difference": round(float(np.max(np.abs(np.array(tops) - reference))), 5),
                "same_decision_at_min_score": round(float(agree), 4),
            }
        results["detectors"][spec.name] = row
        log.info("%s: %s", spec.name, json.dumps(row))
    results["judge"] = judge_parity()
    return results


def judge_parity(sources: int = 40) -> dict:
    """The judge in TFLite (frames and streams padded) against the judge, on ``sources`` random
    sparse sequences of 1-120 frames and 1-8 detector streams."""
    from cnn_detector.tflite import interpreter_class
    from rnn_judge.judge import Judge
    from rnn_judge.tflite import TfliteJudge, convert_judge

    judge = Judge.load()
    rng = np.random.default_rng(0)
    sequences = []
    for _ in range(sources):
        x = np.zeros((int(rng.integers(1, 121)), int(rng.integers(1, 9)), judge.config.num_features), np.float32)
        firing = rng.random(x.shape[:2]) < 0.3
        x[firing] = rng.random((int(firing.sum()), x.shape[2]))
        sequences.append(x)
    reference = np.array([judge.run(x).probability for x in sequences])
    row = {}
    for precision in ("float32", "float16"):
        model = convert_judge(judge, precision=precision)
        tflite = TfliteJudge(model, interpreter_class())
        got = np.array([tflite.probability(x) for x in sequences])
        same = np.mean((got >= judge.threshold) == (reference >= judge.threshold))
        row[precision] = {
            "bytes": len(model),
            "max_probability_difference": round(float(np.max(np.abs(got - reference))), 5),
            "same_verdict": round(float(same), 4),
        }
    return row


def system_parity(manifest: Path, bundles: dict[str, Path]) -> dict:
    """Verdict probabilities of the whole system, frozen graphs and each TFLite folder, on
    every file of a labelled manifest (path,label[,method]); AUC of each, and how far apart."""
    import csv

    from deepfake_evaluation.metrics import roc_auc
    from deepfake_scanner.scanner import Scanner, ScanOptions

    with open(manifest, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    paths = [str((manifest.parent / r["path"]).resolve()) for r in rows]
    labels = np.array([r["label"] == "fake" for r in rows])
    names = tuple(spec.name for spec in frame_specs())
    options = ScanOptions(only=names, provenance=False)

    def probabilities(scanner) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        with scanner:
            found = {r.source: r for r in scanner.scan_many(paths)}
        seconds = time.perf_counter() - started
        values = [found[p].verdict.fake_probability if found[p].verdict else float("nan") for p in paths]
        return np.array([0.0 if v is None else v for v in values], np.float64), seconds / len(paths)

    reference, reference_s = probabilities(Scanner.open(options=options))
    judged = ~np.isnan(reference)
    result = {
        "manifest": str(manifest),
        "files": len(paths),
        "judged": int(judged.sum()),
        "frozen_graph": {"auc": roc_auc(labels[judged], reference[judged]), "s_per_file": round(reference_s, 3)},
    }
    for precision, folder in bundles.items():
        scanner = Scanner.open(
            [folder / "detectors"], judge_dir=folder / "judge", options=options, include_shipped=False
        )
        got, seconds = probabilities(scanner)
        difference = np.abs(got[judged] - reference[judged])
        result[precision] = {
            "auc": roc_auc(labels[judged], got[judged]),
            "s_per_file": round(seconds, 3),
            "max_probability_difference": round(float(np.nanmax(difference)), 5),
            "within_0.02": round(float(np.mean(difference <= 0.02)), 4),
        }
        log.info("system %s: %s", precision, json.dumps(result[precision]))
    return result


def markdown(results: dict) -> str:
    lines = [
        "# Shipped detectors as TFLite (tools/export_tflite.py)",
        "",
        f"{results['images']} held-out factory crops; batch 1 latency on this machine; the frozen graph's own",
        "latency is per image in batches of the runtime's size. int8 is calibrated on",
        f"{results['representative']} training crops.",
        "",
        "| detector | frozen graph MB | ms/image | form | TFLite MB | ms/image | max top-score difference "
        "| same decision at min_score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results["detectors"].items():
        frozen = row["frozen_graph"]
        for precision in PRECISIONS:
            form = row[precision]
            lines.append(
                f"| {name} | {frozen['bytes'] / 1e6:.2f} | {frozen['ms_per_image']:.1f} | {precision} | "
                f"{form['bytes'] / 1e6:.2f} | {form['ms_per_image']:.1f} | {form['max_top_score_difference']:.4f} | "
                f"{form['same_decision_at_min_score']:.3f} |"
            )
    judge = results.get("judge", {})
    if judge:
        lines += ["", "| judge | TFLite KB | max probability difference | same verdict |", "|---|---|---|---|"]
        for precision, row in judge.items():
            difference, same = row["max_probability_difference"], row["same_verdict"]
            lines.append(f"| {precision} | {row['bytes'] / 1e3:.0f} | {difference:.5f} | {same:.3f} |")
    system = results.get("system")
    if system:
        lines += [
            "",
            f"Whole system (faces, every frame detector, judge) on {system['files']} files of",
            f"{system['manifest']} ({system['judged']} judged): each TFLite model folder's verdict probabilities",
            "against the frozen graphs'.",
            "",
            "| path | AUC | s/file | max probability difference | share within 0.02 |",
            "|---|---|---|---|---|",
            f"| frozen graphs | {system['frozen_graph']['auc']:.4f} | {system['frozen_graph']['s_per_file']:.3f} | | |",
        ]
        for precision in BUNDLED:
            row = system.get(precision)
            if row:
                lines.append(
                    f"| TFLite {precision} | {row['auc']:.4f} | {row['s_per_file']:.3f} | "
                    f"{row['max_probability_difference']:.4f} | {row['within_0.02']:.3f} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="export_tflite.py", description=__doc__)
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory", help="made by tools/make_fakes.py")
    parser.add_argument("--out", type=Path, default=WORK_DIR / "tflite")
    parser.add_argument("--limit", type=int, default=210, help="held-out crops to compare on")
    parser.add_argument(
        "--manifest",
        type=Path,
        default=WORK_DIR / "heldout" / "labels.csv",
        help="labelled files for the whole-system comparison (default: the held-out manifest)",
    )
    parser.add_argument("--models-only", action="store_true", help="write OUT/models/<precision>/ and stop")
    parser.add_argument("--precision", choices=BUNDLED, nargs="+", default=list(BUNDLED), help="model folders to write")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if not (args.factory / "train").is_dir():
        log.error("%s: no factory crops; make them with python tools/make_fakes.py", args.factory)
        return EXIT_USAGE
    from cnn_detector.atomic_file import atomic_write_text

    bundles = {p: write_models(args.out / "models" / p, p, args.factory) for p in args.precision}
    if args.models_only:
        return EXIT_OK
    results = measure(args.factory, args.out, args.limit)
    if args.manifest.is_file():
        results["system"] = system_parity(args.manifest, bundles)
    else:
        log.warning("%s: no manifest; the whole-system comparison is left out", args.manifest)
    atomic_write_text(args.out / "tflite.json", json.dumps(results, indent=1) + "\n")
    atomic_write_text(args.out / "tflite.md", markdown(results))
    print(markdown(results))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
