#!/usr/bin/env python3
"""Set a trained detector's min_score to the score that 1% of the real faces of its
validation split reach, over the factory's crops and the original real photos and video
frames (what tools/train_detector.py does after export), so the judge reads every detector on
one scale."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnn_detector.cli import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging  # noqa: E402
from cnn_detector.registry import PROJECT_ROOT  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(
        prog="calibrate_detector.py",
        description=__doc__,
        epilog="example:\n  python tools/calibrate_detector.py --config configs/detectors/gan_face.yaml",
    )
    parser.add_argument("--config", type=Path, nargs="+", required=True, help="detector recipes")
    parser.add_argument("--target-fpr", type=float, default=0.01)
    args = parser.parse_args(argv)
    setup_logging()
    from cnn_detector.frozen_graph import load_detector
    from cnn_detector.registry import load_detector_spec
    from cnn_detector.training.calibration import (
        calibrated_min_score,
        typical_fake_score,
        write_calibration,
    )
    from cnn_detector.training.config import load_train_config
    from cnn_detector.training.share import DEFAULT_SHARE

    for recipe in args.config:
        config = load_train_config(recipe)
        directory = PROJECT_ROOT / "frozen_models" / config.detector.name
        try:
            with load_detector(load_detector_spec(directory)) as detector:
                factory = PROJECT_ROOT / config.data.factory
                min_score = calibrated_min_score(detector, factory, args.target_fpr, share=DEFAULT_SHARE)
                typical = typical_fake_score(detector, factory, config.data.positives)
        except (ValueError, FileNotFoundError) as err:
            log.error("%s: %s", recipe, err)
            return EXIT_USAGE
        write_calibration(directory, min_score, typical)
        log.info("%s: min_score %.2f, typical fake score %s", config.detector.name, min_score, typical)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
