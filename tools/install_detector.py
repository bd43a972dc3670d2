#!/usr/bin/env python3
"""Verify a detector bundle, run every check on it, and only then install it. Refuses unsafe
member names (absolute, traversing, hidden, non-ASCII...), symlinks, oversized or too many
members, checksum mismatches, and a name that is already installed (unless --replace, which
only replaces a detector inside --into), leaving nothing half-installed."""

from __future__ import annotations

import sys
from pathlib import Path

from cnn_detector.registry import DEFAULT_DETECTORS_ROOT
from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    ScannerArgumentParser,
    log,
    setup_logging,
)

EXAMPLES = """examples:
  python tools/install_detector.py gan_face_v2.zip                      # into frozen_models/
  python tools/install_detector.py new.zip --into ~/detectors           # then: --detectors ~/detectors
  python tools/install_detector.py gan_face_v2.zip --replace
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="install_detector.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--into", type=Path, default=DEFAULT_DETECTORS_ROOT, help="detectors folder")
    parser.add_argument("--replace", action="store_true", help="replace an installed detector of the same name")
    parser.add_argument("--no-judge", action="store_true", help="skip the effect-on-the-judge check")
    args = parser.parse_args(argv)
    setup_logging()
    from cnn_detector.bundle import in_bundle_terms, install_bundle
    from cnn_detector.errors import DeepfakeScannerError
    from cnn_detector.registry import discover_detectors
    from deepfake_evaluation.widening import judge_effect_on_samples
    from deepfake_scanner.detector_checks import run_checks

    def check(directory: Path) -> list:
        results = run_checks(directory, judge_effect=None if args.no_judge else judge_effect_on_samples)
        for result in results:
            # The staging directory is gone by the time anyone reads this: name the bundle's member.
            log.info("%s: %s", args.bundle, in_bundle_terms(str(result), directory))
        return [r for r in results if not r.ok]

    try:
        scan = discover_detectors([args.into] if args.into.is_dir() else [])
        installed = {name: spec.directory for name, spec in scan.specs.items()}
        result = install_bundle(args.bundle, args.into, installed, args.replace, check)
    except DeepfakeScannerError as err:
        log.error("%s", err)
        return EXIT_SOME_FAILED
    log.info("%s %s into %s", "replaced" if result.replaced else "installed", result.name, result.directory)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
