#!/usr/bin/env python3
"""Train the RNN judge on detection streams of the shipped detectors, pick its threshold on a
validation split for a target false-positive rate, test it, and write rnn_judge/trained/
(weights, judge.yaml, metrics.json, MODEL_CARD.md)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.defaults import JUDGE_DIR, SHARE_DIR, WORK_DIR

EXAMPLES = """examples:
  python tools/make_fakes.py --out work_data/factory     # once (the detectors' data)
  python tools/train_judge.py                             # -> rnn_judge/trained/
  python tools/train_judge.py --target-fpr 0.005 --epochs 60
  python tools/train_judge.py --evaluate-only             # the shipped judge, unchanged, on today's detectors
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="train_judge.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory")
    parser.add_argument("--share", type=Path, default=SHARE_DIR, help="its val/test videos are judged too")
    parser.add_argument("--out", type=Path, default=JUDGE_DIR)
    parser.add_argument(
        "--cache",
        type=Path,
        default=WORK_DIR / "judge_sequences.pkl",
        help="detection streams are cached here (delete to recompute)",
    )
    parser.add_argument("--target-fpr", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="at most N stills (quick runs)")
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="do not train: test the judge in --out as it is (weights, threshold) on the streams of the detectors "
        "shipped now, and rewrite its metrics.json and MODEL_CARD.md",
    )
    args = parser.parse_args(argv)
    setup_logging()
    if not (args.factory / "index.csv").is_file():
        log.error("%s: no factory data; run tools/make_fakes.py first", args.factory)
        return EXIT_USAGE
    from rnn_judge.judge import JudgeError
    from rnn_judge.training.run import evaluate_trained, run_training

    started = time.perf_counter()
    if args.evaluate_only:
        try:
            report = evaluate_trained(args.factory, args.out, args.cache, args.seed, args.limit, args.share)
        except (JudgeError, ValueError, FileNotFoundError) as err:
            log.error("%s", err)
            return EXIT_USAGE
    else:
        report = run_training(
            args.factory, args.out, args.cache, args.target_fpr, args.epochs, args.seed, args.limit, args.share
        )
    log.info(
        "judge: test AUC %.3f, recall %.3f / FPR %.4f at threshold %.3f; %.1f min",
        report["test"]["overall"]["auc"],
        report["test"]["overall"]["recall_at_threshold"],
        report["test"]["overall"]["fpr_at_threshold"],
        report["threshold"],
        (time.perf_counter() - started) / 60,
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
