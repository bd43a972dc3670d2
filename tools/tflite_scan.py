#!/usr/bin/env python3
"""The on-device reference runner (issue 24, part 5): the whole scan on TFLite models, with no
TensorFlow installed. This is what a phone app would embed.

It needs only requirements-tflite.txt (ai-edge-litert, NumPy, OpenCV, PyYAML, protobuf): faces
are found with the shipped MediaPipe models, every detector of the model folder runs as a TFLite
model (detector.yaml runtime: tflite, the NMS in NumPy), and the judge is the TFLite judge. It
is main_thread.py with the detectors and judge of ``--models`` instead of frozen_models/ and
rnn_judge/trained/, so the verdict columns, --output, --resume, exit codes and every other
option are the same. C2PA and watermark reading (their own packages) are off.

Make a model folder first, on a machine with the full requirements:

  python tools/export_tflite.py --models-only        # work_data/tflite/models/{float16,int8}/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout with only requirements-tflite.txt installed
    sys.path.insert(0, str(ROOT))

from deepfake_scanner.cli.common import EXIT_USAGE, log, setup_logging  # noqa: E402
from deepfake_scanner.defaults import WORK_DIR  # noqa: E402

DEFAULT_MODELS = WORK_DIR / "tflite" / "models" / "float16"
EXAMPLES = """examples:
  python tools/tflite_scan.py --input samples/                    # verdicts as CSV on stdout
  python tools/tflite_scan.py --models work_data/tflite/models/int8 --input photos/ --output v.csv
  python tools/tflite_scan.py --help-scan                         # every main_thread.py option
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="tflite_scan.py",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=True,
    )
    parser.add_argument(
        "--models",
        type=Path,
        default=DEFAULT_MODELS,
        help=f"a TFLite model folder: detectors/ and judge/ (default {DEFAULT_MODELS})",
    )
    parser.add_argument("--help-scan", action="store_true", help="the scan's own options (those of main_thread.py)")
    known, rest = parser.parse_known_args(argv)
    from deepfake_scanner.cli import main_thread

    if known.help_scan:
        return main_thread.main(["--help"])
    for flag in ("--judge", "--detectors", "--no-shipped"):
        if any(arg == flag or arg.startswith(flag + "=") for arg in rest):
            parser.error(f"{flag} is set by --models")
    detectors, judge = known.models / "detectors", known.models / "judge"
    if not detectors.is_dir() or not judge.is_dir():
        setup_logging(False)
        log.error(
            "%s: not a TFLite model folder (detectors/ and judge/); make one with "
            "python tools/export_tflite.py --models-only",
            known.models,
        )
        return EXIT_USAGE
    forwarded = ["--detectors", str(detectors), "--no-shipped", "--judge", str(judge), "--no-provenance", *rest]
    return main_thread.main(forwarded)


if __name__ == "__main__":
    sys.exit(main())
