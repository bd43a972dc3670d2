"""Plots and report.md for tools/evaluate.py (matplotlib, no display needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnn_detector.atomic_file import atomic_write_text
from deepfake_evaluation.metrics import GroupedMetrics


def roc_points(labels: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y, s = np.asarray(labels, int), np.asarray(scores, float)
    thresholds = np.unique(s)[::-1]
    fpr = [0.0] + [float((s[y == 0] >= t).mean()) for t in thresholds]
    tpr = [0.0] + [float((s[y == 1] >= t).mean()) for t in thresholds]
    return np.array(fpr + [1.0]), np.array(tpr + [1.0])


def write_plots(out: Path, items, verdicts, metrics: GroupedMetrics, coverage: dict, threshold: float) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    judged = [(i, v) for i, v in zip(items, verdicts) if v.status == "ok"]
    reals = [v.fake_probability for i, v in judged if i.label == 0]
    written = []

    fig, ax = plt.subplots(figsize=(5, 5))
    for method in sorted({i.method for i, _ in judged if i.label == 1}):
        fakes = [v.fake_probability for i, v in judged if i.label == 1 and i.method == method]
        x, y = roc_points([0] * len(reals) + [1] * len(fakes), reals + fakes)
        ax.plot(x, y, label=f"{method} (AUC {metrics.per_method[method].auc:.2f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="recall", title="ROC per method")
    ax.legend(fontsize=7)
    fig.savefig(out / "roc.png", dpi=110, bbox_inches="tight")
    written.append("roc.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    fakes = [v.fake_probability for i, v in judged if i.label == 1]
    ax.hist([reals, fakes], bins=20, range=(0, 1), label=["real", "fake"], color=["tab:green", "tab:red"])
    ax.axvline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:.2f}")
    ax.set(xlabel="fake probability", ylabel="files", title="Scores, real vs fake")
    ax.legend()
    fig.savefig(out / "histogram.png", dpi=110, bbox_inches="tight")
    written.append("histogram.png")

    detectors = list(coverage)
    methods = sorted({m for row in coverage.values() for m in row})
    if detectors and methods:
        grid = np.array([[coverage[d].get(m, math.nan) for m in methods] for d in detectors])
        fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(methods), 1 + 0.5 * len(detectors)))
        ax.imshow(grid, vmin=0, vmax=1, cmap="Reds")
        ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right")
        ax.set_yticks(range(len(detectors)), detectors)
        for r in range(len(detectors)):
            for c in range(len(methods)):
                ax.text(c, r, f"{grid[r, c]:.2f}", ha="center", va="center", fontsize=7)
        ax.set_title("Coverage: how often each detector fires")
        fig.savefig(out / "coverage.png", dpi=110, bbox_inches="tight")
        written.append("coverage.png")
    plt.close("all")
    return written


def confusion(items, verdicts, threshold: float) -> dict:
    table = {"real": {"judged real": 0, "judged fake": 0}, "fake": {"judged real": 0, "judged fake": 0}}
    for item, verdict in zip(items, verdicts):
        if verdict.status == "ok":
            table["fake" if item.label else "real"]["judged fake" if verdict.is_fake else "judged real"] += 1
    return table


def _f(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def write_report(out: Path, report: dict, plots: list[str]) -> None:
    m = report["metrics"]
    lines = [
        "# Evaluation report",
        "",
        f"Manifest: `{report['manifest']}`; detectors: {', '.join(report['detectors'])}; "
        f"scored by {report.get('score', 'judge')}, threshold {report['threshold']:.4f}. "
        f"Counts by status: {m['counts']}.",
        "",
        "| group | fakes | reals | AUC (95% CI) | recall @thr | FPR @thr | recall @1% FPR |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [("all", m["overall"])] + [(f"method {k}", v) for k, v in m["per_method"].items()]
    rows += [(f"family {k}", v) for k, v in m.get("per_family", {}).items()]
    rows += [(f"folder {k}", v) for k, v in m["per_source_folder"].items()]
    for name, s in rows:
        ci = s["auc_ci95"]
        lines.append(
            f"| {name} | {s['n_fake']} | {s['n_real']} | {_f(s['auc'])} ({_f(ci[0])}-{_f(ci[1])}) "
            f"| {_f(s['recall'])} | {_f(s['fpr'])} | {_f(s['recall_at_1pct_fpr'])} |"
        )
    c = report["confusion"]
    lines += [
        "",
        "Confusion at the threshold:",
        "",
        "| | judged real | judged fake |",
        "|---|---|---|",
        f"| real | {c['real']['judged real']} | {c['real']['judged fake']} |",
        f"| fake | {c['fake']['judged real']} | {c['fake']['judged fake']} |",
        "",
    ]
    if report.get("widening"):
        lines += [
            "## Widening the detector set (judge unchanged)",
            "",
            "| detectors | AUC | recall @thr | FPR @thr |",
            "|---|---|---|---|",
        ]
        for step in report["widening"]:
            o = step["overall"]
            lines.append(f"| {' + '.join(step['detectors'])} | {_f(o['auc'])} | {_f(o['recall'])} | {_f(o['fpr'])} |")
        lines.append("")
    if report.get("robustness"):
        lines += [
            "## Robustness sweep (stills re-encoded, judged again)",
            "",
            "| step | AUC | recall @thr | FPR @thr |",
            "|---|---|---|---|",
        ]
        for step, o in report["robustness"].items():
            lines.append(f"| {step} | {_f(o['auc'])} | {_f(o['recall'])} | {_f(o['fpr'])} |")
        lines.append("")
    lines += [f"![{p}]({p})" for p in plots]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
