#!/usr/bin/env python3
"""Leave-one-method-out, at system level: for each method of the held-out manifest, rebuild the
shipped detector set without any knowledge of it (detectors that also learned other methods
are retrained on those alone with configs/leave_one_out.yaml's schedule; detectors of that
method only are left out), and let the unchanged judge decide on its held-out fakes and every
held-out real, next to the shipped set on the same files. Writes OUT/leave_one_out.json;
retrained detectors already in OUT are reused."""

from __future__ import annotations

import sys
from pathlib import Path

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.registry import PROJECT_ROOT
from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.defaults import JUDGE_DIR, SHARE_DIR, WORK_DIR

EXAMPLES = """examples:
  python tools/make_manifest.py                  # the held-out manifest (work_data/heldout/labels.csv)
  python tools/leave_one_out.py                  # every method of it
  python tools/leave_one_out.py --methods stylegan,self_blend
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="leave_one_out.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--manifest", type=Path, default=WORK_DIR / "heldout" / "labels.csv")
    parser.add_argument("--config", type=Path, default=PROJECT_ROOT / "configs" / "leave_one_out.yaml")
    parser.add_argument(
        "--factory", type=Path, help="training data of the retrained detectors (default: each recipe's)"
    )
    parser.add_argument("--share", type=Path, default=SHARE_DIR)
    parser.add_argument("--out", type=Path, default=WORK_DIR / "leave_one_out")
    parser.add_argument(
        "--methods", default="", help="comma-separated methods (default: every fake method of the manifest)"
    )
    parser.add_argument("--judge", type=Path, default=JUDGE_DIR)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="a few training steps: a smoke test")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    from deepfake_evaluation.scoring import ManifestProblem, read_labels
    from deepfake_evaluation.studies.leave_one_out import leave_one_out, load_schedule
    from rnn_judge.judge import Judge

    try:
        items = read_labels(args.manifest)
        known = sorted({i.method for i in items if i.label == 1})
        methods = [m for m in args.methods.split(",") if m] or known
        unknown = sorted(set(methods) - set(known))
        if unknown:
            raise ValueError(f"{args.manifest}: no fakes of {unknown}; methods there: {known}")
        summary = leave_one_out(
            args.manifest,
            args.factory,
            args.out,
            Judge.load(args.judge),
            load_schedule(args.config, args.quick),
            methods,
            share=args.share,
            progress=not args.no_progress,
            rounds=args.bootstrap,
            quick=args.quick,
        )
    except (ManifestProblem, DeepfakeScannerError, OSError, ValueError, KeyError) as err:
        log.error("%s", err)
        return EXIT_USAGE
    for row in summary["rows"]:
        log.info(
            "%-18s AUC seen %.3f, never seen %.3f (%d fakes)",
            row["method"],
            row["seen_auc"],
            row["unseen_auc"],
            row["n_fake"],
        )
    log.info("%s written in %.1f min", args.out / "leave_one_out.json", summary["seconds"] / 60)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
