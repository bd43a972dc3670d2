#!/usr/bin/env python3
"""Set detectors' min_score to the score that --target-fpr of thousands of real inputs reach:
every real face crop of the factory's validation split as it is and through --copies draws of
each kind of real photo that gets flagged (up-scaled small photos, old scanned prints,
beauty-filtered selfies, tight crops, the shared degradation chain), plus the split's real
photos and video frames as the scanner sees them. One pass scores every detector on the same
inputs, so the judge reads every detector on one scale (what training does after export).

Without --config it recalibrates every detector in --models (frozen_models/) (typical fake scores kept);
with recipes it also re-measures each one's typical fake score on its own factory."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from cnn_detector.registry import PROJECT_ROOT
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
  python tools/calibrate_detector.py --measure-only     # what the shipped min_scores give on the reals
  python tools/calibrate_detector.py                    # recalibrate every shipped detector
  python tools/calibrate_detector.py --config configs/detectors/gan_face.yaml
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="calibrate_detector.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--config", type=Path, nargs="+", help="detector recipes (default: every shipped detector)")
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory")
    parser.add_argument("--share", type=Path, default=SHARE_DIR)
    parser.add_argument("--copies", type=int, default=2, help="draws of each kind of real per crop (default 2)")
    parser.add_argument("--target-fpr", type=float, default=0.01)
    parser.add_argument("--models", type=Path, default=DETECTORS_DIR, help="detector folders")
    parser.add_argument("--out", type=Path, default=WORK_DIR / "detector_calibration")
    parser.add_argument(
        "--each-kind", action="store_true", help="hold the target on each kind of real on its own too (stricter)"
    )
    parser.add_argument("--measure-only", action="store_true", help="report, change no detector.yaml")
    args = parser.parse_args(argv)
    setup_logging()
    if args.copies < 0 or not 0 < args.target_fpr < 1:
        parser.error("--copies must be >= 0 and --target-fpr between 0 and 1")
    if factory_missing(args.factory):
        return EXIT_USAGE
    from contextlib import ExitStack

    from cnn_detector.atomic_file import atomic_write_text
    from cnn_detector.errors import DeepfakeScannerError
    from cnn_detector.frozen_graph import load_detector
    from cnn_detector.manifest import MANIFEST_NAME, load_manifest
    from cnn_detector.registry import load_detector_spec
    from cnn_detector.training.calibration import calibrate, typical_fake_score, write_calibration
    from cnn_detector.training.retinanet.config import load_train_config

    typical_from: dict[str, tuple[Path, tuple[str, ...]]] = {}
    if args.config:
        names = []
        for recipe in args.config:
            try:
                config = load_train_config(recipe)
            except (ValueError, OSError) as err:
                log.error("%s: %s", recipe, err)
                return EXIT_USAGE
            names.append(config.detector.name)
            typical_from[config.detector.name] = (PROJECT_ROOT / config.data.factory, config.data.positives)
        directories = [args.models / name for name in names]
    else:
        directories = sorted(p.parent for p in args.models.glob("*/detector.yaml"))
    if not directories:
        log.error("%s: no detector folders to calibrate", args.models)
        return EXIT_USAGE
    with ExitStack() as stack:
        try:
            detectors = [stack.enter_context(load_detector(load_detector_spec(d))) for d in directories]
            results = calibrate(detectors, args.factory, args.target_fpr, args.share, args.copies, args.each_kind)
            typical = {
                d.name: typical_fake_score(d, *typical_from[d.name]) if d.name in typical_from else None
                for d in detectors
            }
        except (DeepfakeScannerError, ValueError, FileNotFoundError) as err:
            log.error("%s", err)
            return EXIT_USAGE
    report = {
        "command": "python tools/calibrate_detector.py"
        + (f" --copies {args.copies}" if args.copies != 2 else "")
        + (" --each-kind" if args.each_kind else ""),
        "target_fpr": args.target_fpr,
        "detectors": {r.detector: {**dataclasses.asdict(r), "total": r.total} for r in results},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "report.json", json.dumps(report, indent=1))
    for directory, result in zip(directories, results):
        log.info(
            "%s: %d real inputs; min_score %g flags %.1f%% of them -> %g",
            result.detector,
            result.total,
            result.old_min_score,
            100 * result.flagged(result.fpr_old),
            result.min_score,
        )
        if not args.measure_only:
            kept = load_manifest(directory / MANIFEST_NAME).typical_fake_score
            write_calibration(directory, result.min_score, typical.get(result.detector) or kept)
    log.info("report: %s", args.out / "report.json")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
