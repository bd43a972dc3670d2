#!/usr/bin/env python3
"""Write the held-out evaluation manifest (labels.csv for tools/evaluate.py): every face crop
of the fake factory's test split (real faces of every source folder, the factory's own fakes
and the crops of the share's generated faces, made and re-encoded alike), plus the share's
test-split videos as they are. Nothing in it was used to train a detector, the judge or the
baseline (the split is by source group; see deepfake_scanner/share.py)."""

from __future__ import annotations

import csv
import os
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
from deepfake_scanner.defaults import SHARE_DIR, WORK_DIR

COLUMNS = ("path", "label", "method", "source_folder")


def manifest_rows(factory: Path, share: Path | None, split: str, out_dir: Path, per_method: int = 0) -> list[dict]:
    from cnn_detector.training.scoring import read_index
    from deepfake_scanner.share import FAKE_FOLDER_CLASSES, load_share

    rows, taken = [], {}
    for row in read_index(factory, split):
        count = taken.get(row["method"], 0)
        if per_method and count >= per_method:
            continue
        taken[row["method"]] = count + 1
        path = os.path.relpath(Path(factory) / row["image"], out_dir)
        rows.append(
            {"path": path, "label": row["label"], "method": row["method"], "source_folder": row["source_folder"]}
        )
    if share is not None and Path(share).is_dir():
        for item in load_share(share):
            if item.split == split and item.is_video:
                method = "real" if item.label == "real" else FAKE_FOLDER_CLASSES.get(item.folder, item.method)
                path = os.path.relpath(item.path, out_dir)
                rows.append({"path": path, "label": item.label, "method": method, "source_folder": item.folder})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(
        prog="make_manifest.py",
        description=__doc__,
        epilog="example:\n  python tools/make_manifest.py --out work_data/heldout/labels.csv",
    )
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory")
    parser.add_argument("--share", type=Path, default=SHARE_DIR)
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--per-method", type=int, default=0, help="at most this many files per method (0: all)")
    parser.add_argument("--out", type=Path, default=WORK_DIR / "heldout" / "labels.csv")
    args = parser.parse_args(argv)
    setup_logging()
    if factory_missing(args.factory):
        return EXIT_USAGE
    from cnn_detector.atomic_file import atomic_writer

    out_dir = args.out.resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = manifest_rows(args.factory.resolve(), args.share.resolve(), args.split, out_dir, args.per_method)
    with atomic_writer(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    counts = {}
    for row in rows:
        counts[row["method"]] = counts.get(row["method"], 0) + 1
    log.info("%s: %d files (%s)", args.out, len(rows), ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
