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
JUDGE_START, JUDGE_END = "<!-- judge:start -->", "<!-- judge:end -->"


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


def judge_table() -> str:
    path = PROJECT_ROOT / "rnn_judge" / "trained" / "metrics.json"
    if not path.is_file():
        return "(no trained judge: python tools/train_judge.py)"
    report = json.loads(path.read_text())
    test = report["test"]
    lines = [
        f"Threshold {report['threshold']:.4f} (chosen for {report['target_fpr']:.1%} FPR on the judge's validation split); "
        f"detectors: {', '.join(report['detectors'])}.",
        "",
        "| test sequences | fakes | reals | AUC | recall @threshold | FPR @threshold | recall @1% FPR | max-score baseline AUC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = [("all", test["overall"] | {"max_score_baseline_auc": test["max_score_baseline"]["auc"]})]
    rows += [(f"kind: {k}", v) for k, v in test["per_kind"].items()]
    rows += [(f"method: {k}", v) for k, v in test["per_method"].items()]
    for name, m in rows:
        lines.append(
            f"| {name} | {m['n_fake']} | {m['n_real']} | {fmt(m['auc'])} | {fmt(m['recall_at_threshold'])} "
            f"| {fmt(m['fpr_at_threshold'])} | {fmt(m['recall_at_1pct_fpr'])} | {fmt(m.get('max_score_baseline_auc'))} |"
        )
    return "\n".join(lines)


def replace_block(text: str, start: str, end: str, body: str) -> str:
    new, count = re.subn(
        re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{body}\n{end}", text, flags=re.S
    )
    if count != 1:
        raise SystemExit(f"README.md: expected one {start} ... {end} block, found {count}")
    return new


def main() -> int:
    readme = PROJECT_ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    text = replace_block(text, START, END, detector_table())
    text = replace_block(text, JUDGE_START, JUDGE_END, judge_table())
    atomic_write_text(readme, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
