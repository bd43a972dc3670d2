#!/usr/bin/env python3
"""Leave-one-method-out: for each method of the fake factory, train a detector on all the
other methods (short schedule of configs/leave_one_out.yaml), and measure its image AUC on the
held-out test fakes of the method it never saw, next to a reference detector trained on every
method with the same schedule. Writes OUT/leave_one_out.json (and one detector directory per
run); finished runs are reused, so an interrupted experiment continues where it stopped."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnn_detector.cli import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, factory_missing, log, setup_logging  # noqa: E402
from cnn_detector.registry import PROJECT_ROOT  # noqa: E402

EXAMPLES = """examples:
  python tools/leave_one_out.py                       # every method, about 4 min each on 2 cores
  python tools/leave_one_out.py --methods stylegan,stable_diffusion
  python tools/leave_one_out.py --quick --factory /tmp/tiny --out /tmp/loo   # smoke run
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="leave_one_out.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--config", type=Path, default=PROJECT_ROOT / "configs" / "leave_one_out.yaml")
    parser.add_argument("--factory", type=Path, default=PROJECT_ROOT / "work_data" / "factory")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "work_data" / "leave_one_out")
    parser.add_argument("--methods", default="", help="comma-separated methods (default: every factory method)")
    parser.add_argument("--quick", action="store_true", help="tiny model and a few steps: a smoke test")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if factory_missing(args.factory):
        return EXIT_USAGE
    from cnn_detector.training.config import load_train_config
    from cnn_detector.training.leave_one_out import factory_methods, leave_one_out

    try:
        base = load_train_config(args.config, quick=args.quick)
        known = factory_methods(args.factory)
        methods = [m for m in args.methods.split(",") if m] or known
        unknown = sorted(set(methods) - set(known))
        if unknown:
            raise ValueError(f"{args.factory}: no train/val/test examples of {unknown}; methods there: {known}")
        summary = leave_one_out(base, args.factory, args.out, methods, progress=not args.no_progress)
    except (OSError, ValueError, KeyError) as err:
        log.error("%s", err)
        return EXIT_USAGE
    for row in summary["rows"]:
        log.info(
            "%-18s AUC seen %.3f, unseen %.3f (%d fakes)",
            row["method"],
            row["seen_auc"],
            row["unseen_auc"],
            row["n_fake"],
        )
    log.info("%s written in %.1f min", args.out / "leave_one_out.json", summary["seconds"] / 60)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
