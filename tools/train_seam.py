#!/usr/bin/env python3
"""Train the blend_seam detector: a seam heatmap learned from fresh self-blends of the
training split's real faces (new blends every step, re-encoded as the factory does), selected
on the factory's validation self-blends, exported with the Object Detection API contract,
calibrated, tested on the factory's held-out test split and written as a detector directory
with its model card (cnn_detector/training/seam.py says why and how)."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from pathlib import Path

from cnn_detector.errors import DeepfakeScannerError
from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    ScannerArgumentParser,
    factory_missing,
    log,
    log_trained,
    setup_logging,
)
from deepfake_scanner.defaults import DETECTORS_DIR, SHARE_DIR, WORK_DIR

EXAMPLES = """examples:
  python tools/make_fakes.py --out work_data/factory     # once: validation and test data
  python tools/train_seam.py                             # writes frozen_models/blend_seam
  python tools/train_seam.py --members 1 --alpha 0.35    # one smaller model instead of three
  python tools/train_seam.py --members 2 --set restart_epochs=40 --recover-from frozen_models/blend_seam
                                                         # a second cycle on top of the shipped models
  python tools/train_seam.py --members 1 --set input_size=224 --run-dir work_data/runs/seam_224 --output-root /tmp/try
  python tools/train_seam.py --quick --share /tmp/tiny_share --factory /tmp/tiny --output-root /tmp/detectors
"""


def from_scratch(argv: list[str] | None) -> list[str]:
    """The arguments that retrain the same detector from scratch (the card's command): those
    given, less --recover-from and its folder (recovered models are retrained without it)."""
    given, kept = list(sys.argv[1:] if argv is None else argv), []
    while given:
        arg = given.pop(0)
        if arg == "--recover-from":
            given = given[1:]
        elif not arg.startswith("--recover-from="):
            kept.append(arg)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="train_seam.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--share", type=Path, default=SHARE_DIR)
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory")
    parser.add_argument("--sources", type=Path, help="training faces + landmarks (default work_data/blend_sources)")
    parser.add_argument("--run-dir", type=Path, default=WORK_DIR / "runs" / "blend_seam")
    parser.add_argument("--output-root", type=Path, default=DETECTORS_DIR)
    parser.add_argument("--alpha", type=float, choices=(0.35, 0.5), help="MobileNetV2 width (default 0.5)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seed", type=int, help="random seed of the blends and the weights (default 0)")
    parser.add_argument(
        "--members",
        type=int,
        help="models trained with seeds SEED, SEED+1, ... and averaged: the recipe's first N (default 3)",
    )
    parser.add_argument("--steps-per-epoch", type=int)
    parser.add_argument("--fine-tune-learning-rate", type=float)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="any other training option (cnn_detector/training/seam.py SeamOptions), e.g. --set input_size=224",
    )
    parser.add_argument(
        "--recover-from",
        type=Path,
        metavar="DETECTOR_DIR",
        help="first read a shipped blend_seam's finished models back into --run-dir (weights from its graph, "
        "records from its metrics.json), so that models trained with the same options are reused",
    )
    parser.add_argument("--quick", action="store_true", help="a few steps: a smoke test")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if factory_missing(args.factory):
        return EXIT_USAGE
    from cnn_detector.training.seam import SeamOptions, recover_finished, train_and_ship_seam, with_overrides
    from deepfake_scanner.share import imagenet_mobilenet_v2

    options = SeamOptions(quick=args.quick)
    if args.alpha:
        options = dataclasses.replace(options, alpha=args.alpha, pretrained=str(imagenet_mobilenet_v2(args.alpha)))
    if args.quick and not Path(options.pretrained).is_file():
        options = dataclasses.replace(options, pretrained=None)  # a smoke run works without ../shared/weights
    if args.quick:
        options = dataclasses.replace(options, input_size=96, batch_size=4)
    if args.members is not None:  # the first N members of the recipe (one model: the plain recipe)
        settings = (options.member_settings + ("",) * args.members)[: args.members]
        options = dataclasses.replace(
            options, members=args.members, member_settings=settings if args.members > 1 else ()
        )
    for field in ("epochs", "steps_per_epoch", "fine_tune_learning_rate", "seed"):
        if getattr(args, field) is not None:
            options = dataclasses.replace(options, **{field: getattr(args, field)})
    try:
        options = with_overrides(options, args.set)
    except ValueError as err:
        parser.error(str(err))
    command = "python tools/train_seam.py " + " ".join(shlex.quote(a) for a in from_scratch(argv))
    try:
        if args.recover_from:
            recover_finished(args.recover_from, args.run_dir)
        report = train_and_ship_seam(
            args.share,
            args.factory,
            args.sources or WORK_DIR / "blend_sources",
            args.run_dir,
            args.output_root,
            options,
            progress=not args.no_progress,
            command=command.strip(),
        )
    except (FileNotFoundError, ValueError, DeepfakeScannerError) as err:
        log.error("%s", err)
        return EXIT_USAGE
    log_trained(options.name, report)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
