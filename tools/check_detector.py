#!/usr/bin/env python3
"""Everything a maintainer checks before merging a detector directory, one line per check
(PASS / FAIL and why). Exit 0 only if every check passes."""

from __future__ import annotations

import sys
from pathlib import Path

from deepfake_scanner.cli.common import EXIT_OK, EXIT_SOME_FAILED, ScannerArgumentParser, setup_logging

EXAMPLES = """examples:
  python tools/check_detector.py frozen_models/gan_face
  python tools/check_detector.py frozen_models/*            # every shipped detector (what CI runs)
  python tools/check_detector.py ~/my_detector --no-judge   # skip the judge-effect check
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="check_detector.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("directory", type=Path, nargs="+", help="detector directories")
    parser.add_argument("--no-judge", action="store_true", help="skip the effect-on-the-judge check")
    args = parser.parse_args(argv)
    setup_logging()
    from deepfake_evaluation.widening import judge_effect_on_samples
    from deepfake_scanner.detector_checks import run_checks

    failed = False
    for directory in args.directory:
        if not directory.is_dir():
            continue
        print(f"== {directory}")
        for result in run_checks(directory, judge_effect=None if args.no_judge else judge_effect_on_samples):
            print(f"  {result}")
            failed |= not result.ok
    return EXIT_SOME_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
