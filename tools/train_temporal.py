#!/usr/bin/env python3
"""Train the temporal_face clip detector (issue 22): clips of the share's real videos and of
the temporal fakes the factory makes from them (talking heads animated from one picture, mouth
re-synthesis, per-frame blends and swaps with flicker, smoothing, interpolated frames), all cut
as the scan cuts them; a small 3D CNN over the clip and its frame differences (or, measured
worse, a (2+1)D + GRU + attention head on a frozen ImageNet MobileNetV2 trunk);
measured on the held-out videos per fake kind and on wild/'s videos (validation), then frozen
into frozen_models/temporal_face with --ship (cnn_detector/training/temporal/ says how)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.defaults import DETECTORS_DIR, SHARE_DIR, WORK_DIR

EXAMPLES = """examples:
  python tools/train_temporal.py --ship          # clips (once, ~5 min), train (~7 min), frozen_models/temporal_face
  python tools/train_temporal.py --epochs 20 --run-dir work_data/runs/temporal_20   # another recipe, not shipped
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="train_temporal.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--share", type=Path, default=SHARE_DIR)
    parser.add_argument("--clips", type=Path, default=WORK_DIR / "temporal" / "clips", help="made once, then reused")
    parser.add_argument("--run-dir", type=Path, default=WORK_DIR / "runs" / "temporal_face")
    parser.add_argument("--output-root", type=Path, default=DETECTORS_DIR)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reencoded-copies", type=int, default=1, help="heavily re-encoded copies of each training clip"
    )
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument(
        "--stage",
        default="scratch",
        help="scratch: a 3D CNN from scratch on the clip and its frame differences (shipped); or a MobileNetV2 "
        "layer (block_5_add, block_12_add) that a frozen ImageNet trunk ends at, under the (2+1)D + GRU head",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes that make the clips")
    parser.add_argument("--ship", action="store_true", help="freeze the trained head into OUTPUT_ROOT/temporal_face")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if not (args.share / "MANIFEST.csv").is_file():
        log.error("%s: the training share is missing (expected ../shared/data)", args.share)
        return EXIT_USAGE
    from cnn_detector.training.temporal.dataset import build_clips
    from cnn_detector.training.temporal.model import TemporalConfig
    from cnn_detector.training.temporal.train import run, ship
    from deepfake_scanner.share import load_share

    if not (args.clips / "index.csv").is_file():
        log.info("making clips into %s", args.clips)
        build_clips(load_share(args.share), args.clips, seed=args.seed, workers=args.workers)
    config = TemporalConfig(stage=args.stage, dropout=args.dropout)
    metrics = run(args.clips, args.run_dir, config, args.epochs, args.seed, args.reencoded_copies)
    print(json.dumps({k: v for k, v in metrics.items() if k != "wild_scores"}, indent=1))
    if args.ship:
        command = "python tools/train_temporal.py " + " ".join(
            shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
        )
        directory = ship(args.run_dir, args.output_root, args.share, config, command)
        log.info("wrote %s", directory)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
