#!/usr/bin/env python3
"""Turn folders of images + labelImg / Pascal VOC XML into one TFRecord file with the Object
Detection API's standard feature keys. Images without boxes become negatives; images with a
class the labelmap lacks are skipped (another detector's positives)."""

from __future__ import annotations

import sys
from pathlib import Path

from cnn_detector.errors import LabelMapError
from cnn_detector.labelmap import load_labelmap
from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    ScannerArgumentParser,
    log,
    setup_logging,
)

EXAMPLES = """examples:
  python tools/voc_to_tfrecord.py --input work_data/factory/train/stylegan work_data/factory/train/real \\
      --labelmap labelmaps/gan_face.pbtxt --output work_data/gan_face_train.tfrecord
  python tools/voc_to_tfrecord.py --input my_labelimg_folder --labelmap labelmaps/my.pbtxt --output my.tfrecord
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="voc_to_tfrecord.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--input", type=Path, nargs="+", required=True, help="folders searched recursively for *.xml")
    parser.add_argument("--labelmap", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    setup_logging()
    from cnn_detector.training.data.tfrecord import convert_voc_folders

    try:
        labelmap = load_labelmap(args.labelmap)
    except LabelMapError as err:
        log.error("%s", err)
        return EXIT_USAGE
    missing = [str(p) for p in args.input if not p.is_dir()]
    if missing:
        log.error("not a folder: %s", ", ".join(missing))
        return EXIT_USAGE
    report = convert_voc_folders(args.input, labelmap, args.output)
    for error in report.errors:
        log.error("%s", error)
    log.info(
        "wrote %d examples (%d without boxes) to %s; skipped %d with other classes",
        report.written,
        report.negatives,
        args.output,
        report.skipped_other_classes,
    )
    return EXIT_SOME_FAILED if report.errors else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
