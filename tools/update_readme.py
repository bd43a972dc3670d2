#!/usr/bin/env python3
"""Rewrite the generated sections of README.md from the shipped detectors' metrics.json
(held-out test numbers written by tools/train_detector.py), so no number is typed by hand."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnn_detector.atomic_file import atomic_write_text  # noqa: E402
from cnn_detector.registry import PROJECT_ROOT, discover_detectors  # noqa: E402

START, END = "<!-- detectors:start -->", "<!-- detectors:end -->"


def fmt(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def detector_table() -> str:
    scan = discover_detectors(include_environment=False)
    lines = [
        "| detector | detects | own method | test AUC | face-size-only AUC | recall @1% FPR | recall @0.1% FPR "
        "| box AP50 | training time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(scan.specs):
        spec = scan.specs[name]
        metrics_path = spec.directory / "metrics.json"
        if not metrics_path.is_file():
            lines.append(f"| {name} | {', '.join(spec.manifest.algorithms)} | (no metrics.json) | | | | | | |")
            continue
        report = json.loads(metrics_path.read_text())
        test = report["test"]
        minutes = report["training"]["seconds"] / 60
        for method in test["positives"]:
            m = test["per_method"][method]
            lines.append(
                f"| {name} | {', '.join(spec.manifest.algorithms)} | {method} ({m['n_fake']} fakes, {m['n_real']} reals) "
                f"| {fmt(m['auc'])} | {fmt(m['face_size_only_auc'])} | {fmt(m['recall_at_1pct_fpr'])} "
                f"| {fmt(m['recall_at_0.1pct_fpr'])} | {fmt(test['box_ap50'].get(method))} | {minutes:.1f} min |"
            )
    return "\n".join(lines)


def main() -> int:
    readme = PROJECT_ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = f"{START}\n{detector_table()}\n{END}"
    new, count = re.subn(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    if count != 1:
        print(f"{readme}: expected one {START} ... {END} block, found {count}", file=sys.stderr)
        return 1
    atomic_write_text(readme, new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
