#!/usr/bin/env python3
"""Train one detector from its recipe (configs/detectors/NAME.yaml) on the fake factory's
data, export it as a frozen graph, evaluate it on the held-out test split and write its
detector directory: graph, detector.yaml, metrics.json, MODEL_CARD.md."""

from __future__ import annotations

import shlex
import sys
from dataclasses import replace
from pathlib import Path

from cnn_detector.registry import PROJECT_ROOT
from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.defaults import DETECTORS_DIR, WORK_DIR
from deepfake_scanner.share import DEFAULT_SHARE

EXAMPLES = """examples:
  python tools/make_fakes.py --out work_data/factory          # once: the training data
  python tools/train_detector.py --config configs/detectors/gan_face.yaml
  python tools/train_detector.py --config configs/detectors/gan_face.yaml --resume   # after an interruption
  python tools/train_detector.py --config configs/detectors/gan_face.yaml --evaluate-only  # remeasure, same graph
  python tools/train_detector.py --config configs/detectors/gan_face.yaml --card-only  # card again from metrics.json
  python tools/train_detector.py --config configs/detectors/gan_face.yaml --quick \\
      --factory /tmp/tiny --output-root /tmp/detectors               # CI-sized smoke run
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="train_detector.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--config", type=Path, required=True, help="detector recipe YAML")
    parser.add_argument(
        "--factory",
        type=Path,
        help="output of tools/make_fakes.py (default: the recipe's data.factory, made first if missing)",
    )
    parser.add_argument("--run-dir", type=Path, help="checkpoints and records (default work_data/runs/NAME)")
    parser.add_argument(
        "--output-root",
        type=Path,
        default=DETECTORS_DIR,
        help="where the detector directory is written (default frozen_models/)",
    )
    parser.add_argument(
        "--adversarial",
        type=float,
        metavar="FRACTION",
        help="adversarial training: this share of each batch replaced by PGD examples (0.6 = 6 adversarial : 4 "
        "clean; overrides the recipe's adversarial.fraction)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny model and a few steps: a smoke test")
    parser.add_argument("--resume", action="store_true", help="continue from the run directory's last checkpoint")
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="no training: measure the shipped detector again on the test split (metrics.json, MODEL_CARD.md)",
    )
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="nothing trained or measured: write the shipped detector's MODEL_CARD.md again from its metrics.json",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)

    from cnn_detector.training.pipeline import (
        PipelineOptions,
        remeasure_detector,
        rewrite_card,
        train_and_ship,
    )
    from cnn_detector.training.retinanet.config import load_train_config

    try:
        config = load_train_config(args.config, quick=args.quick)
        if args.adversarial is not None:
            config = replace(config, adversarial=replace(config.adversarial, fraction=args.adversarial))
    except (OSError, ValueError, KeyError) as err:
        log.error("%s: %s", args.config, err)
        return EXIT_USAGE
    run_dir = args.run_dir or WORK_DIR / "runs" / (config.detector.name + ("_quick" if args.quick else ""))
    if run_dir.exists() and not (args.resume or args.evaluate_only or args.card_only) and any(run_dir.glob("ckpt/*")):
        log.error("%s holds checkpoints of an earlier run: pass --resume to continue it, or remove it", run_dir)
        return EXIT_USAGE
    command = "python tools/train_detector.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    factory = args.factory or PROJECT_ROOT / config.data.factory
    if not (factory / "index.csv").is_file():
        if args.factory:
            log.error("%s: no factory data (index.csv); run tools/make_fakes.py --out %s first", factory, factory)
            return EXIT_USAGE
        from cnn_detector.training.data.factory import FactoryOptions, run_factory

        log.info("making the training data first: %s with %s", factory, config.data.factory_options or "defaults")
        run_factory(DEFAULT_SHARE, factory, FactoryOptions(**(config.data.factory_options or {})))
    options = PipelineOptions(
        factory=factory,
        run_dir=run_dir,
        output_root=args.output_root,
        progress=not args.no_progress,
        command=command.replace(" --resume", "").replace(" --evaluate-only", "").replace(" --card-only", ""),
    )
    step = rewrite_card if args.card_only else remeasure_detector if args.evaluate_only else train_and_ship
    try:
        report = step(config, options)
    except (FileNotFoundError, ValueError) as err:
        log.error("%s", err)
        return EXIT_USAGE
    overall = report["test"]["overall"]
    log.info(
        "%s: test AUC %.3f (face size only %.3f), recall %.3f at 1%% FPR; %.1f min",
        config.detector.name,
        overall["auc"],
        overall["face_size_only_auc"],
        overall["recall_at_1pct_fpr"],
        report["training"]["seconds"] / 60,
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
