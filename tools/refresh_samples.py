#!/usr/bin/env python3
"""Rewrite a detector's samples/expected.csv from its current graph and samples/ images.
With --from-repository-samples, first refill samples/ from the repository's samples/ (its
methods' fakes and two reals), as tools/train_detector.py does."""

from __future__ import annotations

import sys
from pathlib import Path

from cnn_detector.errors import DeepfakeScannerError
from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(
        prog="refresh_samples.py",
        description=__doc__,
        epilog="example:\n  python tools/refresh_samples.py frozen_models/gan_face --from-repository-samples",
    )
    parser.add_argument("directory", type=Path, nargs="+", help="detector directories")
    parser.add_argument("--from-repository-samples", action="store_true", help="refill samples/ first")
    args = parser.parse_args(argv)
    setup_logging()
    from cnn_detector.frozen_graph import load_detector
    from cnn_detector.registry import load_detector_spec
    from cnn_detector.training.ship import copy_samples
    from deepfake_scanner.detector_samples import write_expected
    from deepfake_scanner.faces import FaceFinder

    finder = FaceFinder()
    for directory in args.directory:
        try:
            spec = load_detector_spec(directory)
            if args.from_repository_samples:
                copy_samples(directory, spec.manifest.algorithms)
            with load_detector(spec) as detector:
                log.info("wrote %s", write_expected(detector, finder if spec.manifest.input == "face_crop" else None))
        except DeepfakeScannerError as err:
            log.error("%s", err)
            return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
