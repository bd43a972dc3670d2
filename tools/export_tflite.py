#!/usr/bin/env python3
"""Convert each shipped frame detector to TFLite and measure the conversion (issue 24, part 4).

For every shipped frame detector: a float32 and a float16 TFLite model (builtin ops only: the
NMS, which TFLite lacks, is done in NumPy by cnn_detector/tflite.py), refused if it holds custom
or flex ops. Each form is run on held-out factory crops against the frozen graph: the largest
difference of the top score, and how often the two agree on "a detection at min_score". Sizes
and per-image latency on this machine. Writes OUT/<detector>/model_<precision>.tflite,
OUT/<detector>/nms.json, and the judge (rnn_judge/tflite.py: frames and detector streams padded
to a fixed shape) as OUT/judge_<precision>.tflite, compared with the judge on 40 random sparse
sequences; OUT/tflite.md / tflite.json. int8 models, the registry's `runtime: tflite` and the
runner without TensorFlow are still to come.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.defaults import WORK_DIR

PRECISIONS = ("float32", "float16")


def crops(factory: Path, limit: int) -> list[Path]:
    """Up to ``limit`` held-out factory crops, spread over every method folder (reals included)."""
    folders = sorted(p for p in (factory / "test").iterdir() if p.is_dir())
    per = max(1, limit // max(1, len(folders)))
    return [path for folder in folders for path in sorted(folder.glob("*.jpg"))[:per]]


def measure(factory: Path, out: Path, limit: int) -> dict:
    import cv2
    import tensorflow as tf

    from cnn_detector.atomic_file import atomic_write_bytes, atomic_write_text
    from cnn_detector.frozen_graph import load_detector, read_and_verify_graph, resize_to_input
    from cnn_detector.registry import discover_detectors
    from cnn_detector.tflite import TfliteDetector, convert, refused_tflite_ops

    images = [cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for p in crops(factory, limit)]
    results = {"images": len(images), "detectors": {}}
    for spec in (s for s in discover_detectors(include_environment=False).select() if not s.manifest.is_clip):
        size = tuple(spec.manifest.input_size)
        inputs = [resize_to_input(image, *size) for image in images]
        graph_def = read_and_verify_graph(spec.graph_path, spec.manifest.sha256).graph_def
        with load_detector(spec) as frozen:
            started = time.perf_counter()
            reference = [max((d.score for d in found), default=0.0) for found in frozen.detect(inputs, min_score=0.0)]
            frozen_ms = (time.perf_counter() - started) * 1000 / len(inputs)
        row = {"frozen_graph": {"bytes": spec.graph_path.stat().st_size, "ms_per_image": round(frozen_ms, 2)}}
        folder = out / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        for precision in PRECISIONS:
            model, nms = convert(graph_def, size, precision)
            refused = refused_tflite_ops(model, tf.lite.Interpreter)
            if refused:
                raise ValueError(f"{spec.name}: the {precision} model uses ops a TFLite detector may not: {refused}")
            atomic_write_bytes(folder / f"model_{precision}.tflite", model)
            atomic_write_text(folder / "nms.json", json.dumps(dataclasses.asdict(nms) if nms else None) + "\n")
            detector = TfliteDetector(model, size, nms, tf.lite.Interpreter)
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
    results["judge"] = judge_parity(out)
    return results


def judge_parity(out: Path, sources: int = 40) -> dict:
    """The judge in TFLite (frames and streams padded) against the judge, on ``sources`` random
    sparse sequences of 1-120 frames and 1-8 detector streams."""
    import tensorflow as tf

    from cnn_detector.atomic_file import atomic_write_bytes
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
    for precision in PRECISIONS:
        model = convert_judge(judge, precision=precision)
        atomic_write_bytes(out / f"judge_{precision}.tflite", model)
        tflite = TfliteJudge(model, tf.lite.Interpreter)
        got = np.array([tflite.probability(x) for x in sequences])
        same = np.mean((got >= judge.threshold) == (reference >= judge.threshold))
        row[precision] = {
            "bytes": len(model),
            "max_probability_difference": round(float(np.max(np.abs(got - reference))), 5),
            "same_verdict": round(float(same), 4),
        }
    return row


def markdown(results: dict) -> str:
    lines = [
        "# Shipped detectors as TFLite (tools/export_tflite.py)",
        "",
        f"{results['images']} held-out factory crops; batch 1 latency on this machine; the frozen graph's own",
        "latency is per image in batches of the runtime's size.",
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
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="export_tflite.py", description=__doc__)
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory", help="made by tools/make_fakes.py")
    parser.add_argument("--out", type=Path, default=WORK_DIR / "tflite")
    parser.add_argument("--limit", type=int, default=210, help="held-out crops to compare on")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if not (args.factory / "test").is_dir():
        log.error("%s: no held-out factory crops; make them with python tools/make_fakes.py", args.factory)
        return EXIT_USAGE
    from cnn_detector.atomic_file import atomic_write_text

    results = measure(args.factory, args.out, args.limit)
    atomic_write_text(args.out / "tflite.json", json.dumps(results, indent=1) + "\n")
    atomic_write_text(args.out / "tflite.md", markdown(results))
    print(markdown(results))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
