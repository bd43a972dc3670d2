#!/usr/bin/env python3
"""Write README.md of this folder from its measurements: diffusion_face before adversarial
training and after it at two mixes (issue 24, part 3).

Each subfolder holds, for one model:
- attacks.json: tools/attack.py --only diffusion_face (--detectors work_data/adversarial/rNN for
  the candidates): recall on the 31 held-out stable_diffusion crops, clean and under FGSM/PGD,
  with each input defense, and the share of 48 held-out real crops each flags;
- metrics.json: tools/train_detector.py's held-out factory test metrics;
- wild.json: tools/evaluate.py --wild with that model in place of the shipped diffusion_face
  (the rest of the system unchanged): AUC and FPR at the judge's threshold, with 95% intervals.

    python docs/experiments/adversarial_training/summary.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = (
    ("before", "shipped before (clean training)"),
    ("r30", "adversarial 3 : 7 clean (fraction 0.3)"),
    ("r60", "adversarial 6 : 4 clean (fraction 0.6)"),
)
DEFENSES = ("none", "resize", "jpeg", "both")


def interval(row: dict, key: str, percent: bool = False) -> str:
    low, high = row[f"{key}_ci95"]
    if percent:
        return f"{row[key]:.1%} ({low:.1%}-{high:.1%})"
    return f"{row[key]:.3f} ({low:.3f}-{high:.3f})"


def main() -> None:
    data = {
        name: {part: json.loads((HERE / name / f"{part}.json").read_text()) for part in ("attacks", "metrics", "wild")}
        for name, _ in MODELS
    }
    eps = data["before"]["attacks"]["epsilons"]
    columns = ["clean", *[f"fgsm {e}/255" for e in eps], *[f"pgd {e}/255" for e in eps]]
    lines = [
        "# Adversarial training of diffusion_face (issue 24, part 3)",
        "",
        "Written by `summary.py` from the measurements in each subfolder (its docstring says how each was made).",
        "PGD in training: 3 steps from a random start, eps drawn per example from 2, 4 and 8 /255, maximizing",
        "the training loss against the model being trained; the attacks below are tools/attack.py's (10 PGD",
        "steps, white box through each model's own frozen graph).",
        "",
        "## Recall under attack (held-out stable_diffusion crops) and reals flagged",
        "",
        "| model | defense | " + " | ".join(columns) + " | reals flagged |",
        "|---|---|" + "---|" * (len(columns) + 1),
    ]
    for name, title in MODELS:
        row = data[name]["attacks"]["detectors"]["diffusion_face"]
        for defense in DEFENSES:
            cells = " | ".join(f"{row['recall'][defense][c]:.2f}" for c in columns)
            lines.append(f"| {title} | {defense} | {cells} | {row['real_flagged'][defense]:.2f} |")
    lines += [
        "",
        "## Clean: held-out factory test split, and wild validation of the whole system",
        "",
        "| model | factory AUC | factory recall at 1% FPR | wild images: system AUC | wild images: reals flagged "
        "| wild videos: system AUC | wild images: detectors' calibrated max score AUC |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, title in MODELS:
        test = data[name]["metrics"]["test"]["overall"]
        wild = data[name]["wild"]
        lines.append(
            f"| {title} | {test['auc']:.4f} | {test['recall_at_1pct_fpr']:.3f} | "
            f"{interval(wild['images']['system'], 'auc')} | {interval(wild['images']['system'], 'fpr', True)} | "
            f"{interval(wild['videos']['system'], 'auc')} | {interval(wild['images']['max_score'], 'auc')} |"
        )
    (HERE / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
