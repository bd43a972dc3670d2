#!/usr/bin/env python3
"""The fake factory: face crops of the share's real media, fakes made from them (self-blends,
face swaps, up-sampling traces) and the share's generated faces, as JPEG + Pascal VOC XML."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cnn_detector.training.data.factory import MADE_METHODS, FactoryOptions, run_factory
from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.share import DEFAULT_SHARE

EXAMPLES = """examples:
  python tools/make_fakes.py --out work_data/factory                # everything, seed 0
  python tools/make_fakes.py --out /tmp/tiny --limit-per-folder 3   # a quick set for tests
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="make_fakes.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--share", type=Path, default=DEFAULT_SHARE, help="the training share (MANIFEST.csv)")
    parser.add_argument("--out", type=Path, required=True, help="output folder: SPLIT/METHOD/*.jpg + .xml, index.csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-real", type=int, default=1, help="manipulated copies per real face and method")
    parser.add_argument("--frames-per-video", type=int, default=8)
    parser.add_argument("--limit-per-folder", type=int, default=0, help="at most N files per share folder (0: all)")
    parser.add_argument("--methods", default=",".join(MADE_METHODS), help=f"subset of {','.join(MADE_METHODS)}")
    parser.add_argument("--reencode-min-scale", type=float, default=0.4, help="lowest random resize of each crop")
    parser.add_argument("--jpeg-min", type=int, default=30, help="lowest random JPEG quality of each crop")
    parser.add_argument("--max-side", type=int, default=320, help="longest side of a stored crop")
    parser.add_argument(
        "--export",
        type=Path,
        help="also write each fake as PNG with the factory's invisible watermark here (for sharing; "
        "the training crops stay unmarked)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    methods = tuple(m for m in args.methods.split(",") if m)
    unknown = sorted(set(methods) - set(MADE_METHODS))
    if unknown:
        log.error("unknown method(s) %s; choose from %s", unknown, ", ".join(MADE_METHODS))
        return EXIT_USAGE
    options = FactoryOptions(
        seed=args.seed,
        per_real=args.per_real,
        frames_per_video=args.frames_per_video,
        limit_per_folder=args.limit_per_folder,
        methods=methods,
        reencode_min_scale=args.reencode_min_scale,
        jpeg_min=args.jpeg_min,
        max_side=args.max_side,
        export_dir=args.export,
    )
    from tqdm import tqdm

    started = time.perf_counter()
    try:
        factory = run_factory(
            args.share, args.out, options, progress=lambda xs: tqdm(xs, desc="sources", file=sys.stderr)
        )
    except FileNotFoundError as err:
        log.error("%s", err)
        return EXIT_USAGE
    for reason in factory.skipped:
        log.debug("skipped %s", reason)
    log.info(
        "wrote %d examples to %s in %.0f s (%d sources skipped or partly skipped; -v lists them)",
        len(factory.rows),
        args.out,
        time.perf_counter() - started,
        len(factory.skipped),
    )
    if args.export:
        log.info(
            "exported %d fakes with the factory's watermark to %s (%d too small to carry it)",
            factory.exported,
            args.export,
            factory.unmarked,
        )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
