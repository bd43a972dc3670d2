#!/usr/bin/env python3
"""Train and measure the av_sync clip detector (issue 22, part 4): does the mouth follow the
sound? A small mouth net learns the face mesh's mouth opening from the clip crops; a logistic
read of the opening's correlation with the sound's loudness (at offset 0, over an offset
search, of levels and of changes) learns real speech in sync against the same clips with their
audio shifted or taken from another video. No fakes are needed.

Measured on the share's held-out videos, leave-one-video-out, and on wild/'s real videos with
their audio shifted; the run and a frozen face_clip_audio detector directory go to --run-dir.
It is not shipped into frozen_models: on the share's few videos with speech it measures near
chance (docs/experiments/av_sync)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.defaults import SHARE_DIR, WILD_DIR, WORK_DIR

EXAMPLES = """examples:
  python tools/train_av_sync.py      # clips (once, ~1 min), train and measure (~1 min), work_data/runs/av_sync
  python tools/check_detector.py work_data/runs/av_sync/av_sync    # the frozen detector, checked as any other
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="train_av_sync.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--share", type=Path, default=SHARE_DIR)
    parser.add_argument("--wild", type=Path, default=WILD_DIR, help="validation only; never trained on")
    parser.add_argument("--clips", type=Path, default=WORK_DIR / "av_sync" / "clips", help="made once, then reused")
    parser.add_argument("--run-dir", type=Path, default=WORK_DIR / "runs" / "av_sync")
    parser.add_argument("--epochs", type=int, default=12, help="of the mouth net")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if not (args.share / "MANIFEST.csv").is_file():
        log.error("%s: the training share is missing (expected ../shared/data)", args.share)
        return EXIT_USAGE
    from cnn_detector.training.av_sync.data import build
    from cnn_detector.training.av_sync.train import run, write_detector
    from deepfake_scanner.share import load_share

    videos = build(load_share(args.share), args.clips)
    wild = args.wild if (args.wild / "MANIFEST.csv").is_file() else None
    metrics = run(videos, args.run_dir, wild, args.epochs, args.seed)
    print(json.dumps({k: v for k, v in metrics.items() if k != "classifier"}, indent=1))
    log.info("wrote %s", write_detector(args.run_dir))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
