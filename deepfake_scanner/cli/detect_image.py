"""Detect deepfake artifacts in still images; CSV rows on stdout, logs on stderr."""

from __future__ import annotations

from pathlib import Path

from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    ScannerArgumentParser,
    add_detector_arguments,
    log,
    open_scanner,
    parse_arguments,
    text_stdout,
)
from deepfake_scanner.defaults import SAMPLES_DIR
from deepfake_scanner.images import iter_input_files
from deepfake_scanner.output.detections_csv import DetectionCsvWriter

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
    scanner = open_scanner(args, judge=False, min_score=args.min_score, faces=args.faces == "blazeface")
    if isinstance(scanner, int):
        return scanner
    writer = DetectionCsvWriter(text_stdout())
    failed = scanned = rows = 0
    with scanner:
        for item in iter_input_files(args.input or [SAMPLES_DIR]):
            if item.error:
                log.error("%s: %s", item.path, item.error)
                failed += 1
                continue
            result = scanner.scan_file(item.path)
            if result.error:
                log.error("%s", result.error)
                failed += 1
                continue
            for frame in result.frames:
                rows += writer.write_frame(frame)
            scanned += 1
    log.info("scanned %d image(s), %d detection(s), %d failed", scanned, rows, failed)
    return EXIT_SOME_FAILED if failed else EXIT_OK
