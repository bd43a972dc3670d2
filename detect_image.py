#!/usr/bin/env python3
"""Detect deepfake artifacts in still images; CSV rows on stdout, logs on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

from cnn_detector.cli import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    ScannerArgumentParser,
    add_detector_arguments,
    detectors_from_arguments,
    log,
    parse_arguments,
    text_stdout,
)
from cnn_detector.csv_output import DetectionCsvWriter
from cnn_detector.engine import EngineOptions, ScanEngine
from cnn_detector.errors import MediaError
from cnn_detector.faces import FaceFinder
from cnn_detector.image_io import iter_input_files, read_image
from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.video import VideoFrame

SAMPLES_DIR = PROJECT_ROOT / "samples"

EXAMPLES = """examples:
  python detect_image.py > detections.csv                  # the bundled samples/
  python detect_image.py --input photos/ --min-score 0.5 > out.csv
  python detect_image.py --input a.jpg "b c.png" --only-detectors gan_face
  python detect_image.py --detectors ~/more_detectors --list-detectors

exit codes: 0 all files scanned, 2 some files failed (each named on stderr), 1 usage error
"""


def build_parser() -> ScannerArgumentParser:
    parser = ScannerArgumentParser(prog="detect_image.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument(
        "--input",
        metavar="PATH",
        nargs="+",
        type=Path,
        help="image files or folders (recursive: jpg, jpeg, png, bmp, webp, tif); default: samples/",
    )
    parser.add_argument(
        "--min-score", type=float, help="report detections at or above this score (default: each detector's)"
    )
    parser.add_argument(
        "--faces",
        choices=("blazeface", "none"),
        default="blazeface",
        help="face finder for face_crop detectors (none: they see the whole image)",
    )
    add_detector_arguments(parser)
    return parser


def validate(args, parser) -> None:
    if args.min_score is not None and not 0.0 <= args.min_score <= 1.0:
        parser.error(f"--min-score must be in [0, 1], got {args.min_score}")


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv, validate)
    if isinstance(args, int):
        return args
    detectors = detectors_from_arguments(args)
    if isinstance(detectors, int):
        return detectors

    face_finder = None
    if args.faces == "blazeface" and any(d.spec.manifest.input == "face_crop" for d in detectors):
        face_finder = FaceFinder()
    engine = ScanEngine(detectors, face_finder, judge=None, options=EngineOptions(min_score=args.min_score))
    writer = DetectionCsvWriter(text_stdout())
    failed = scanned = rows = 0
    for item in iter_input_files(args.input or [SAMPLES_DIR]):
        if item.error:
            log.error("%s: %s", item.path, item.error)
            failed += 1
            continue
        try:
            image = read_image(item.path)
            frame = engine.reported(engine.analyse(str(item.path), VideoFrame(0, 0.0, image)))
        except MediaError as err:
            log.error("%s", err)
            failed += 1
            continue
        rows += writer.write_frame(frame)
        scanned += 1
    log.info("scanned %d image(s), %d detection(s), %d failed", scanned, rows, failed)
    for detector in detectors:
        detector.close()
    return EXIT_SOME_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
