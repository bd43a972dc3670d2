#!/usr/bin/env python3
"""Pack a detector directory into one zip (with its labelmap and a checksum manifest) that can
be sent by email and installed with tools/install_detector.py. Hidden files and folders are
left out; a file name the installer would refuse (non-ASCII, backslashes, too long or deep) is
refused here, so rename it and pack again."""

from __future__ import annotations

import sys
from pathlib import Path

from cnn_detector.bundle import pack_detector
from cnn_detector.errors import DeepfakeScannerError
from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(
        prog="pack_detector.py",
        description=__doc__,
        epilog="example:\n  python tools/pack_detector.py frozen_models/gan_face -o gan_face.zip",
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True, help="bundle to write (.zip)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        log.info("wrote %s", pack_detector(args.directory, args.output))
    except (DeepfakeScannerError, OSError) as err:
        log.error("%s", err)
        return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
