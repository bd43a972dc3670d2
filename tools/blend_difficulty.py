#!/usr/bin/env python3
"""Which self-blends a detector misses: the fake factory's held-out self-blends grouped by the
random draws that made them (colour jitter, blur or sharpening of the blended copy, its scale
and shift, mask region and strength, re-encoding), each group's image-level AUC against the
split's real faces. The draws are recovered by replaying the factory over the split (only
examples whose bytes come out identical count). Markdown on stdout, JSON with --json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    ScannerArgumentParser,
    factory_missing,
    log,
    setup_logging,
)
from deepfake_scanner.defaults import DETECTORS_DIR, SHARE_DIR, WORK_DIR

EXAMPLES = """examples:
  python tools/blend_difficulty.py                                   # frozen_models/blend_seam, test split
  python tools/blend_difficulty.py --detector frozen_models/blend_boundary --split val --json out.json
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="blend_difficulty.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--detector", type=Path, default=DETECTORS_DIR / "blend_seam")
    parser.add_argument("--share", type=Path, default=SHARE_DIR)
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory")
    parser.add_argument("--split", choices=("val", "test"), default="test")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if factory_missing(args.factory):
        return EXIT_USAGE
    if not (args.share / "MANIFEST.csv").is_file():
        log.error("%s: no MANIFEST.csv (the share the factory was made from)", args.share)
        return EXIT_USAGE
    from cnn_detector.atomic_file import atomic_write_text
    from cnn_detector.frozen_graph import LoadOptions, load_detector
    from cnn_detector.registry import load_detector_spec
    from cnn_detector.training.difficulty import blend_difficulty, render_difficulty

    try:
        with load_detector(load_detector_spec(args.detector), LoadOptions(batch_size=16)) as detector:
            report = blend_difficulty(detector, args.share, args.factory, args.split)
    except (ValueError, FileNotFoundError) as err:
        log.error("%s", err)
        return EXIT_USAGE
    if report["replayed"] < report["self_blends"] // 2:
        log.warning(
            "only %d of %d self-blends replayed exactly: was the factory made with other settings?",
            report["replayed"],
            report["self_blends"],
        )
    sys.stdout.write(render_difficulty(report))
    if args.json:
        atomic_write_text(args.json, json.dumps({"detector": str(args.detector), **report}, indent=1, default=float))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
