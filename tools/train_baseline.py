#!/usr/bin/env python3
"""Train the baseline to beat: a plain MobileNetV2 frame classifier (no boxes, no judge) on
the fake factory's train split, every method against the reals, selected on validation AUC.
It is written as a detector directory (one whole-crop box scored with the fake probability),
calibrated like the detectors, so that tools/evaluate.py --score max evaluates it with the
same code as the system."""

from __future__ import annotations

import sys
from pathlib import Path

from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    ScannerArgumentParser,
    factory_missing,
    log,
    log_trained,
    setup_logging,
)
from deepfake_scanner.defaults import WORK_DIR

EXAMPLES = """examples:
  python tools/train_baseline.py                                  # random start, as issue 6 asks
  python tools/train_baseline.py --pretrained --name frame_classifier_imagenet
  python tools/evaluate.py --manifest work_data/heldout/labels.csv --out work_data/eval_baseline \\
      --detectors work_data/baselines --only-detectors frame_classifier --score max
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="train_baseline.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory")
    parser.add_argument("--output-root", type=Path, default=WORK_DIR / "baselines")
    parser.add_argument("--name", default="frame_classifier")
    parser.add_argument("--run-dir", type=Path, help="weights of the best epoch (default work_data/runs/NAME)")
    parser.add_argument("--pretrained", action="store_true", help="start from the detectors' ImageNet weights")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--input-size", type=int, default=160)
    parser.add_argument("--quick", action="store_true", help="one short epoch: a smoke test")
    parser.add_argument(
        "--degradation", type=float, default=0.0, help="probability of the shared degradation chain per crop (0-1)"
    )
    parser.add_argument("--methods", default="", help="comma-separated fake methods to learn (default: all)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if factory_missing(args.factory):
        return EXIT_USAGE
    from cnn_detector.training.baseline import BaselineOptions, train_baseline
    from deepfake_scanner.share import DEFAULT_SHARE, IMAGENET_MOBILENET_V2

    options = BaselineOptions(
        name=args.name,
        input_size=(args.input_size, args.input_size),
        pretrained=str(IMAGENET_MOBILENET_V2) if args.pretrained else None,
        epochs=args.epochs,
        quick=args.quick,
        degradation=args.degradation,
        methods=tuple(m for m in args.methods.split(",") if m),
    )
    try:
        report = train_baseline(
            args.factory,
            DEFAULT_SHARE,
            args.run_dir or WORK_DIR / "runs" / args.name,
            args.output_root,
            options,
            progress=not args.no_progress,
        )
    except (FileNotFoundError, ValueError) as err:
        log.error("%s", err)
        return EXIT_USAGE
    log_trained(args.name, report)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
