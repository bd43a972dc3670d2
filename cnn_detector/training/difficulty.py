"""Which self-blends a detector misses: the factory's held-out self-blends grouped by the random
draws that made them (colour jitter, blur or sharpening of the blended copy, its scale and shift,
mask region and strength, re-encoding), with the image-level AUC of each group against all real
faces of the split.

The draws are recovered by running the factory again over the split's real media with
`record_draws`; only examples whose JPEG bytes come out identical to the factory's file count,
so every number belongs to the exact image that was scored.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.training.data.factory import REAL, FactoryOptions, run_factory
from cnn_detector.training.scoring import read_index, score_images
from deepfake_evaluation.metrics import roc_auc

METHOD = "self_blend"
# Draws with a few named values; the rest are numbers, grouped by quartile.
CATEGORICAL = ("detail", "mask_region")
NUMERIC = (
    "hue_shift",
    "saturation_change",
    "value_change",
    "brightness_offset",
    "scale_change",
    "shift",
    "blend_strength",
    "jpeg_quality",
    "reencode_scale",
)
DESCRIPTIONS = {
    "detail": "blended copy blurred / sharpened / unchanged",
    "mask_region": "mask over the face oval or the inner face",
    "hue_shift": "hue shift (of 180)",
    "saturation_change": "saturation change (fraction)",
    "value_change": "value change (fraction)",
    "brightness_offset": "brightness offset (levels)",
    "scale_change": "scale change of the copy (fraction)",
    "shift": "shift of the copy (fraction of face width)",
    "blend_strength": "mask peak (1: full blend)",
    "jpeg_quality": "JPEG quality of the stored image",
    "reencode_scale": "resize before JPEG (1: none)",
}


@dataclass(frozen=True)
class GroupScore:
    draw: str
    group: str
    fakes: int
    auc: float


def replay_draws(share: Path, factory: Path, split: str, options: FactoryOptions = FactoryOptions()) -> dict:
    """{index image path: draws} for the split's self-blends whose replayed bytes equal the factory's."""
    with tempfile.TemporaryDirectory() as scratch:
        replay = run_factory(share, Path(scratch), options, record_draws=True, splits=(split,))
        matched = {}
        for row in replay.rows:
            if row["method"] != METHOD:
                continue
            original = Path(factory) / row["image"]
            if original.is_file() and original.read_bytes() == (Path(scratch) / row["image"]).read_bytes():
                matched[row["image"]] = replay.draws[row["image"]]
    return matched


def quartile_groups(values: np.ndarray) -> list[tuple[str, np.ndarray]]:
    edges = np.unique(np.quantile(values, [0, 0.25, 0.5, 0.75, 1.0]))
    groups = []
    for k, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
        chosen = (values >= low) & ((values <= high) if k == len(edges) - 2 else (values < high))
        groups.append((f"{low:.3g}-{high:.3g}", chosen))
    return groups


def group_scores(draws: dict, scores: dict, real_scores: np.ndarray) -> list[GroupScore]:
    """AUC of each group of self-blends (by one draw) against all real faces."""
    names = [name for name in draws if name in scores]
    results = []
    for draw in CATEGORICAL + NUMERIC:
        values = [draws[name].get(draw) for name in names]
        if draw in CATEGORICAL:
            groups = [(value, np.array([v == value for v in values])) for value in sorted(set(values))]
        else:
            groups = quartile_groups(np.array(values, float))
        for label, chosen in groups:
            fake = np.array([scores[name] for name, keep in zip(names, chosen) if keep])
            if not len(fake):
                continue
            labels = np.r_[np.ones(len(fake)), np.zeros(len(real_scores))]
            results.append(GroupScore(draw, str(label), len(fake), roc_auc(labels, np.r_[fake, real_scores])))
    return results


def blend_difficulty(detector, share: Path, factory: Path, split: str = "test") -> dict:
    """Scores the split's self-blends and reals with DETECTOR and groups the blends by draw."""
    draws = replay_draws(share, factory, split)
    rows = [r for r in read_index(factory, split) if r["method"] in (REAL, METHOD)]
    scored = {s.image: s.score for s in score_images(detector, factory, rows)}
    reals = np.array([scored[r["image"]] for r in rows if r["method"] == REAL])
    blends = [r["image"] for r in rows if r["method"] == METHOD]
    overall = roc_auc(np.r_[np.ones(len(blends)), np.zeros(len(reals))], np.r_[[scored[b] for b in blends], reals])
    return {
        "split": split,
        "self_blends": len(blends),
        "replayed": len([b for b in blends if b in draws]),
        "reals": len(reals),
        "auc": overall,
        "groups": [g.__dict__ for g in group_scores(draws, scored, reals)],
    }


def render_difficulty(report: dict) -> str:
    """Markdown: one row per group of self-blends."""
    lines = [
        f"Self-blends of the {report['split']} split ({report['replayed']} of {report['self_blends']} replayed "
        f"exactly) against its {report['reals']} real faces; all self-blends: AUC {report['auc']:.3f}.",
        "",
        "| draw | group | self-blends | AUC |",
        "|---|---|---|---|",
    ]
    for group in report["groups"]:
        auc = "n/a" if math.isnan(group["auc"]) else f"{group['auc']:.3f}"
        lines.append(f"| {DESCRIPTIONS[group['draw']]} | {group['group']} | {group['fakes']} | {auc} |")
    return "\n".join(lines) + "\n"
