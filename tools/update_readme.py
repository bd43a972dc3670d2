#!/usr/bin/env python3
"""Rewrite the generated sections of README.md, so no number in it is typed by hand: the
detector table from the shipped detectors' metrics.json (tools/train_detector.py), the judge
table from rnn_judge/trained/metrics.json (tools/train_judge.py) and, with --results, the
results section from tools/reproduce_results.py's output (tools/evaluate.py's metrics.json of
the system and the baselines, tools/leave_one_out.py's table, the stage timings); its plots
are copied to docs/results/."""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
from pathlib import Path

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.registry import PROJECT_ROOT, discover_detectors
from deepfake_scanner.defaults import JUDGE_DIR, WORK_DIR

START, END = "<!-- detectors:start -->", "<!-- detectors:end -->"
JUDGE_START, JUDGE_END = "<!-- judge:start -->", "<!-- judge:end -->"
RESULTS_START, RESULTS_END = "<!-- results:start -->", "<!-- results:end -->"
WILD_START, WILD_END = "<!-- wild:start -->", "<!-- wild:end -->"
PLOTS = ("roc.png", "robustness.png", "coverage.png")
SYSTEMS = (  # results subfolder, column title
    ("system", "system (detectors + judge)"),
    ("max_score", "detectors, max score (no judge)"),
    ("baseline_scratch", "frame classifier, random start"),
    ("baseline_imagenet", "frame classifier, ImageNet start"),
)


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
        if "held_out_clips" in report:  # a clip detector (tools/train_temporal.py): clips of held-out videos
            held = report["held_out_clips"]
            lines.append(
                f"| {name} | {', '.join(spec.manifest.algorithms)} | temporal fakes, clips of held-out videos "
                f"({held['fakes']} fakes, {held['reals']} reals) | {fmt(held['auc'])} | - | - | - | - "
                f"| {report['minutes']:.1f} min |"
            )
            continue
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
    path = JUDGE_DIR / "metrics.json"
    if not path.is_file():
        return "(no trained judge: python tools/train_judge.py)"
    from rnn_judge.training.run import detector_sentence, threshold_origin

    report = json.loads(path.read_text())
    test = report["test"]
    lines = [
        f"Threshold {report['threshold']:.4f}: {threshold_origin(report)}. {detector_sentence(report)}",
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


def _ci(m: dict) -> str:
    low, high = m.get("auc_ci95", [math.nan, math.nan])
    return f"{fmt(m['auc'])} ({fmt(low)}-{fmt(high)})"


def _pct(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


def results_section(results: Path, loo: Path, docs: Path) -> str:
    """Markdown of the results block from the saved outputs; plots copied into ``docs``."""
    reports = {}
    for folder, title in SYSTEMS:
        path = results / folder / "metrics.json"
        if path.is_file():
            reports[folder] = (title, json.loads(path.read_text()))
    if "system" not in reports:
        raise SystemExit(f"{results / 'system' / 'metrics.json'}: missing; run python tools/reproduce_results.py")
    timings = json.loads((results / "timings.json").read_text()) if (results / "timings.json").is_file() else {}
    system = reports["system"][1]
    overall = system["metrics"]["overall"]
    lines = []
    if timings:
        stages = ", ".join(f"{k} {v / 60:.1f} min" for k, v in timings.get("stages", {}).items())
        reused = f" Reused: {'; '.join(timings['reused'])}." if timings.get("reused") else ""
        lines += [
            f"Reproduced by `{timings.get('command', 'python tools/reproduce_results.py')}` in "
            f"{timings['total_seconds'] / 60:.1f} min on {timings.get('machine', 'this machine')} ({stages}).{reused} "
            "The shipped detectors and the judge are used as shipped; retraining them (`--retrain`) adds the "
            "training times in their model cards and in the judge's section.",
            "",
        ]
    lines += [
        f"Held-out media: {overall['n_fake']} fakes and {overall['n_real']} reals (`{Path(system['manifest']).name}`, "
        "written by `tools/make_manifest.py`: the factory's test split, every method made and re-encoded alike, "
        "plus the share's test videos). No file in it, nor any other file of its source groups, trained a "
        "detector, the judge or a baseline. AUC with bootstrap 95% intervals.",
        "",
        "### What the design buys: system against baselines",
        "",
        "| method | " + " | ".join(title for title, _ in reports.values()) + " |",
        "|---|" + "---|" * len(reports),
    ]
    methods = ["overall", *system["metrics"]["per_method"]]
    for method in methods:
        cells = []
        for _, report in reports.values():
            m = report["metrics"]["overall"] if method == "overall" else report["metrics"]["per_method"].get(method)
            cells.append(_ci(m) if m else "n/a")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "At each one's own threshold (the judge's, chosen for 1% FPR on validation sequences; a baseline's "
        "calibrated min_score, 1% of validation real faces reach it):",
        "",
        "| | recall | FPR | recall @1% FPR | recall @0.1% FPR |",
        "|---|---|---|---|---|",
    ]
    for _, (title, report) in reports.items():
        o = report["metrics"]["overall"]
        lines.append(
            f"| {title} | {_pct(o['recall'])} | {_pct(o['fpr'])} | {_pct(o['recall_at_1pct_fpr'])} "
            f"| {_pct(o['recall_at_0.1pct_fpr'])} |"
        )
    if system.get("widening"):
        lines += [
            "",
            "### Widening the detector set, judge unchanged",
            "",
            "The original claim: adding detectors for more methods lifts recall from 2% to 75%, lowers the FPR "
            "from 1.6% to 0.1% and lifts AUC from 0.02 to 0.77. Here (same judge, detectors added one at a time):",
            "",
            "| detectors | recall | FPR | AUC |",
            "|---|---|---|---|",
        ]
        for step in system["widening"]:
            o = step["overall"]
            lines.append(
                f"| {' + '.join(step['detectors'])} | {_pct(o['recall'])} | {_pct(o['fpr'])} | {fmt(o['auc'])} |"
            )
    if (loo / "leave_one_out.json").is_file():
        table = json.loads((loo / "leave_one_out.json").read_text())
        schedule = table["schedule"]
        lines += [
            "",
            "### Leave one method out",
            "",
            "For each method, the detector set is rebuilt without any knowledge of it: a detector that also "
            f"learned other methods is retrained on those alone (its recipe, {schedule['epochs']} epochs of "
            f"{schedule['steps_per_epoch']} steps: `configs/leave_one_out.yaml`; "
            f"{table['train_seconds'] / 60:.1f} min of training in all), one that learned only that method is "
            "left out, and the unchanged judge decides on the method's held-out fakes and every held-out real. "
            '"Seen" is the shipped set on the same files. Retrained detectors get a shorter schedule than '
            "the shipped ones, which lowers the never-seen numbers a little beyond what not knowing costs.",
            "",
            "| method | fakes | AUC, seen | AUC, never seen | recall seen / never seen | detectors changed |",
            "|---|---|---|---|---|---|",
        ]
        for row in table["rows"]:
            changes = [f"{a} retrained without it" for a in row["retrained"]] + [
                f"{d} left out" for d in row["dropped"]
            ]
            lines.append(
                f"| {row['method']} | {row['n_fake']} | {_ci({'auc': row['seen_auc'], 'auc_ci95': row['seen_auc_ci95']})} "
                f"| {_ci({'auc': row['unseen_auc'], 'auc_ci95': row['unseen_auc_ci95']})} "
                f"| {_pct(row['seen_recall'])} / {_pct(row['unseen_recall'])} | {'; '.join(changes) or 'none'} |"
            )
    if system.get("robustness"):
        lines += [
            "",
            "### Robustness: the same stills degraded, judged again",
            "",
            "| step | " + " | ".join(system["robustness"]) + " |",
            "|---|" + "---|" * len(system["robustness"]),
            "| AUC | " + " | ".join(fmt(o["auc"]) for o in system["robustness"].values()) + " |",
            "| recall | " + " | ".join(_pct(o["recall"]) for o in system["robustness"].values()) + " |",
            "| FPR | " + " | ".join(_pct(o["fpr"]) for o in system["robustness"].values()) + " |",
        ]
    docs.mkdir(parents=True, exist_ok=True)
    shown = []
    for plot in PLOTS:
        if (results / "system" / plot).is_file():
            shutil.copyfile(results / "system" / plot, docs / plot)
            shown.append(plot)
    if shown:
        relative = docs.relative_to(PROJECT_ROOT) if docs.is_relative_to(PROJECT_ROOT) else docs
        lines += ["", " ".join(f"![{p}]({relative / p})" for p in shown)]
    return "\n".join(lines)


def replace_block(text: str, start: str, end: str, body: str) -> str:
    new, count = re.subn(
        re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{body}\n{end}", text, flags=re.S
    )
    if count != 1:
        raise SystemExit(f"README.md: expected one {start} ... {end} block, found {count}")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="update_readme.py", description=__doc__)
    parser.add_argument("--results", type=Path, help="tools/reproduce_results.py's output (e.g. work_data/results)")
    parser.add_argument("--wild", type=Path, help="tools/evaluate.py --wild's output (e.g. work_data/wild)")
    parser.add_argument("--leave-one-out", type=Path, default=WORK_DIR / "leave_one_out")
    parser.add_argument("--readme", type=Path, default=PROJECT_ROOT / "README.md")
    parser.add_argument("--docs", type=Path, default=PROJECT_ROOT / "docs" / "results")
    args = parser.parse_args(argv)
    readme = args.readme
    text = readme.read_text(encoding="utf-8")
    text = replace_block(text, START, END, detector_table())
    text = replace_block(text, JUDGE_START, JUDGE_END, judge_table())
    if args.results:
        text = replace_block(
            text, RESULTS_START, RESULTS_END, results_section(args.results, args.leave_one_out, args.docs)
        )
    if args.wild:
        from deepfake_evaluation.wild import markdown

        report = json.loads((args.wild / "wild.json").read_text(encoding="utf-8"))
        text = replace_block(text, WILD_START, WILD_END, markdown(report).rstrip())
    atomic_write_text(readme, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
