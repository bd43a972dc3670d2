#!/usr/bin/env python3
"""Evaluate the whole system on a labelled manifest (path,label[,method]): verdicts, metrics
with bootstrap 95% intervals (overall, per method, per source folder), ROC / histogram /
coverage plots, a confusion table and report.md. --widening adds the detectors one at a time
to a base set, the judge unchanged, and reports each step."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnn_detector.cli import (  # noqa: E402
    EXIT_OK,
    EXIT_USAGE,
    ScannerArgumentParser,
    add_detector_arguments,
    log,
    parse_arguments,
)

EXAMPLES = """examples:
  python tools/evaluate.py --manifest samples/labels.csv --out work_data/eval_samples
  python tools/evaluate.py --manifest my_set/labels.csv --out eval --only-detectors gan_face,blend_boundary
  python tools/evaluate.py --manifest my_set/labels.csv --out eval --widening --base gan_face
  python tools/evaluate.py --manifest my_set/labels.csv --out eval --robustness   # JPEG, resize, blur, screen
  python tools/evaluate.py --manifest my_set/labels.csv --out eval_baseline \
      --detectors work_data/baselines --only-detectors frame_classifier --score max

labels.csv: a header path,label[,method][,source_folder]; paths relative to the manifest (or
absolute); label real or fake; source_folder groups the per-folder metrics (default: the
path's folder). tools/make_manifest.py writes the held-out test set's manifest.
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="evaluate.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--max-frames", type=int, default=60)
    parser.add_argument("--widening", action="store_true", help="add detectors one at a time, judge unchanged")
    parser.add_argument("--robustness", action="store_true", help="re-encode the stills step by step, AUC per step")
    parser.add_argument("--base", default="", help="comma-separated base set for --widening (default: the first)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds for the 95%% intervals")
    parser.add_argument("--judge", type=Path, default=Path(__file__).resolve().parent.parent / "rnn_judge" / "trained")
    parser.add_argument("--threshold", type=float)
    parser.add_argument(
        "--score",
        choices=("judge", "max"),
        default="judge",
        help="judge: the RNN judge decides (the system); max: highest detection score, "
        "threshold at each detector's calibrated min_score (baselines such as tools/train_baseline.py's)",
    )
    add_detector_arguments(parser)
    args = parse_arguments(parser, argv)
    if isinstance(args, int):
        return args
    from rnn_judge.evaluation import ManifestProblem, read_labels

    try:
        items = read_labels(args.manifest)
    except ManifestProblem as err:
        log.error("%s", err)
        return EXIT_USAGE
    from rnn_judge.judge import judge_and_detectors

    parts = judge_and_detectors(args)
    if isinstance(parts, int):
        return parts
    judge, detectors = parts
    from rnn_judge.evaluation_run import run_evaluation

    report = run_evaluation(items, detectors, judge, args)
    overall = report["metrics"]["overall"]
    log.info(
        "AUC %.3f, recall %.3f, FPR %.3f at threshold %.3f; report: %s",
        overall["auc"],
        overall["recall"],
        overall["fpr"],
        report["threshold"],
        args.out / "report.md",
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
