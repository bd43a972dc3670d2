"""Validation on ../shared/data/wild: whole sources no training folder comes from.

`tools/evaluate.py --wild` writes a manifest per kind (images, videos), scores each with the
system (detectors + judge), the detectors' calibrated max score and the ImageNet frame
classifier baseline (each through `tools/evaluate.py`), and with the four shortcut baselines
of `deepfake_evaluation.shortcuts`, whose directions are learned on the share's training
split. This module turns those runs into one report: per kind, per generation method (each
method's fakes against every real) and per source folder (reals: the share flagged at the
threshold; fakes: the share caught), with bootstrap 95% intervals.

wild/ guides choices (recipes, calibration), so its numbers are validation numbers, not a
test: every table says so.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfake_evaluation.metrics import bootstrap, family_of, roc_auc, summarize
from deepfake_evaluation.shortcuts import SHORTCUT_NAMES, SHORTCUTS, ShortcutFeatures

KINDS = ("images", "videos")
# (run folder, title) of the scorers that go through tools/evaluate.py
SCORERS = (
    ("system", "system (detectors + judge)"),
    ("max_score", "detectors, calibrated max score"),
    ("imagenet_baseline", "ImageNet MobileNetV2 frame classifier (baseline)"),
)
VALIDATION_NOTE = (
    "wild/ is a validation set: it is used to choose between recipes and to check calibration, so "
    "these numbers are not an unbiased test. No file of it, and no file of its sources, trained anything."
)


@dataclass(frozen=True)
class WildItem:
    path: Path  # absolute
    label: int  # 1 fake
    method: str
    source_folder: str
    kind: str  # images | videos


def read_wild(wild: Path) -> list[WildItem]:
    """Every real and fake file listed in wild/MANIFEST.csv that is on disk."""
    wild = Path(wild)
    items = []
    with open(wild / "MANIFEST.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("label") not in ("real", "fake"):
                continue
            path = wild / row["local_path"]
            if not path.is_file():
                continue
            parts = Path(row["local_path"]).parts
            kind = "videos" if parts[0] == "videos" else "images"
            method = row["method"] if row["label"] == "fake" else "real"
            items.append(WildItem(path.resolve(), int(row["label"] == "fake"), method, "/".join(parts[:-1]), kind))
    return items


def write_manifest(items: Sequence[WildItem], path: Path) -> Path:
    """A tools/evaluate.py manifest (path,label,method,source_folder; absolute paths)."""
    from cnn_detector.atomic_file import atomic_writer

    with atomic_writer(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "label", "method", "source_folder"])
        for item in items:
            writer.writerow([str(item.path), "fake" if item.label else "real", item.method, item.source_folder])
    return path


def read_run_scores(run: Path) -> tuple[dict[str, float], float]:
    """A tools/evaluate.py run: fake probability by source (judged files only) and threshold."""
    scores = {}
    with open(run / "verdicts.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["status"] == "ok":
                source = row["source"][1:] if row["source"].startswith("'") else row["source"]
                scores[source] = float(row["fake_probability"])
    threshold = json.loads((run / "metrics.json").read_text())["threshold"]
    return scores, float(threshold)


def _interval(statistic, labels: np.ndarray, scores: np.ndarray, rounds: int) -> list[float]:
    return bootstrap(statistic, labels, scores, rounds) if len(labels) else [math.nan, math.nan]


def _rate(values: np.ndarray, threshold: float) -> float:
    return float((values >= threshold).mean()) if len(values) else math.nan


def score_table(items: Sequence[WildItem], scores: dict[str, float], threshold: float | None, rounds: int) -> dict:
    """Overall, per method and per source folder numbers of one scorer on one kind. Files the
    scorer did not judge (no face, unreadable) are left out and counted."""
    judged = [(item, scores[str(item.path)]) for item in items if str(item.path) in scores]
    labels = np.array([i.label for i, _ in judged], int)
    values = np.array([s for _, s in judged], float)
    finite = ~np.isnan(values)
    labels, values, judged = labels[finite], values[finite], [j for j, f in zip(judged, finite) if f]
    table = {"n_fake": int(labels.sum()), "n_real": int((1 - labels).sum()), "not_judged": len(items) - len(judged)}
    if threshold is not None:  # the same summary tools/evaluate.py reports, from these scores
        table.update(summarize(labels, values, threshold, rounds).as_dict(), threshold=threshold)
    else:
        table.update(auc=roc_auc(labels, values), auc_ci95=_interval(roc_auc, labels, values, rounds))
    reals = [(i, s) for i, s in judged if i.label == 0]
    for key, group_of in (("per_method", lambda i: i.method), ("per_family", lambda i: family_of(i.method))):
        table[key] = {}
        for name in sorted({group_of(i) for i, _ in judged if i.label == 1}):
            group = reals + [(i, s) for i, s in judged if i.label == 1 and group_of(i) == name]
            y, s = np.array([i.label for i, _ in group]), np.array([v for _, v in group])
            entry = {"n_fake": int(y.sum()), "auc": roc_auc(y, s)}
            entry["auc_ci95"] = _interval(roc_auc, y, s, rounds)
            if threshold is not None:
                entry["recall"] = _rate(s[y == 1], threshold)
            table[key][name] = entry
    table["per_source_folder"] = {}
    for folder in sorted({i.source_folder for i, _ in judged}):
        group = [(i, v) for i, v in judged if i.source_folder == folder]
        label = group[0][0].label
        s = np.array([v for _, v in group])
        entry = {"label": "fake" if label else "real", "n": len(group)}
        if threshold is not None:
            rate = _rate(s, threshold)
            ones = np.ones(len(s), int)
            entry["flagged"] = rate
            entry["flagged_ci95"] = _interval(lambda _, b: _rate(b, threshold), ones, s, rounds)
        table["per_source_folder"][folder] = entry
    return table


def widening(run: Path) -> list[dict]:
    """The system run's widening steps (tools/evaluate.py --widening): detectors added one at a
    time, judge unchanged, with AUC, recall and FPR at the judge's threshold."""
    steps = json.loads((Path(run) / "metrics.json").read_text()).get("widening", [])
    keys = ("auc", "recall", "fpr", "fpr_ci95")
    return [{"detectors": step["detectors"], **{k: step["overall"][k] for k in keys}} for step in steps]


def learn_orientations(share_features: dict[str, list[tuple[int, ShortcutFeatures]]]) -> dict[str, dict[str, int]]:
    """kind -> shortcut -> +1/-1, from the share's training split. The share has no fake
    videos, so videos take the images' directions (more compressed stills <-> fewer bits)."""
    from deepfake_evaluation.shortcuts import orientation

    images = share_features.get("images", [])
    signs = {name: orientation([y for y, _ in images], [f.value(name) for _, f in images]) for name in SHORTCUTS}
    return {"images": signs, "videos": dict(signs)}


def share_training_sample(share: Path, per_label: int = 250, seed: int = 0) -> list[tuple[int, Path]]:
    """(label, path) of share training-split stills: at most ``per_label`` per label, drawn
    evenly over source folders so that no one folder decides a direction."""
    from deepfake_scanner.share import load_share

    rng = random.Random(seed)
    items = load_share(share)
    chosen = []
    for label in ("real", "fake"):
        by_folder: dict[str, list[Path]] = {}
        for item in items:
            if item.split == "train" and item.label == label and not item.is_video:
                by_folder.setdefault(item.folder, []).append(item.path)
        folders = sorted(by_folder)
        for paths in by_folder.values():
            rng.shuffle(paths)
        taken, round_index = [], 0
        while len(taken) < per_label and any(round_index < len(by_folder[f]) for f in folders):
            taken += [by_folder[f][round_index] for f in folders if round_index < len(by_folder[f])]
            round_index += 1
        chosen += [(int(label == "fake"), path) for path in taken[:per_label]]
    return chosen


def features_of(paths: Sequence[Path], face_finder) -> dict[str, ShortcutFeatures | None]:
    """Shortcut statistics per path (None where the file cannot be read)."""
    from cnn_detector.errors import MediaError
    from deepfake_evaluation.shortcuts import measure

    found = {}
    for path in paths:
        try:
            found[str(path)] = measure(path, face_finder)
        except MediaError:
            found[str(path)] = None
    return found


def shortcut_scores(
    items: Sequence[WildItem], features: dict[str, ShortcutFeatures | None], sign: int, name: str
) -> dict[str, float]:
    return {
        str(i.path): sign * features[str(i.path)].value(name) for i in items if features.get(str(i.path)) is not None
    }


def _fmt(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _pct(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


def _with_ci(entry: dict, key: str, pct: bool = False) -> str:
    show = _pct if pct else _fmt
    low, high = entry.get(f"{key}_ci95", [math.nan, math.nan])
    return f"{show(entry.get(key))} ({show(low)}-{show(high)})"


def markdown(report: dict) -> str:
    """The wild tables as markdown (README and report.md)."""
    lines = [VALIDATION_NOTE, ""]
    for kind in KINDS:
        if kind not in report["kinds"]:
            continue
        tables = report["kinds"][kind]
        lines += [
            f"**{kind.capitalize()}** ({tables['counts']['fake']} fake, {tables['counts']['real']} real files). "
            "AUC and rates with bootstrap 95% intervals; FPR and recall at each scorer's own threshold "
            "(the judge's, or 0.5 = each detector's calibrated min_score for max scores).",
            "",
            "| scorer | AUC | FPR at threshold (target 1%) | recall at threshold | files not judged |",
            "|---|---|---|---|---|",
        ]
        for key, title in report["scorers"]:
            entry = tables["scorers"].get(key)
            if entry is None:
                continue
            has_threshold = "fpr" in entry
            lines.append(
                f"| {title} | {_with_ci(entry, 'auc')} | "
                f"{_with_ci(entry, 'fpr', True) if has_threshold else '-'} | "
                f"{_with_ci(entry, 'recall', True) if has_threshold else '-'} | {entry['not_judged']} |"
            )
        shown = [(k, t) for k, t in report["scorers"] if k in tables["scorers"]]
        for key, what in (("per_method", "method"), ("per_family", "family")):
            if key == "per_family" and kind != "videos":
                continue  # the families (talking head, lip-sync, swap) are those of videos
            names = sorted({m for e in tables["scorers"].values() for m in e.get(key, {})})
            lines += ["", f"Per {what} ({kind}; its fakes against every real): AUC", ""]
            lines.append(f"| {what} | fakes | " + " | ".join(t for _, t in shown) + " |")
            lines.append("|---|---|" + "---|" * len(shown))
            for name in names:
                cells = [_fmt(tables["scorers"][k][key].get(name, {}).get("auc")) for k, _ in shown]
                count = max(tables["scorers"][k][key].get(name, {}).get("n_fake", 0) for k, _ in shown)
                lines.append(f"| {name} | {count} | " + " | ".join(cells) + " |")
        thresholded = [(k, t) for k, t in shown if "fpr" in tables["scorers"][k]]
        folders = sorted({f for k, _ in thresholded for f in tables["scorers"][k]["per_source_folder"]})
        lines += ["", f"Per source folder ({kind}): share flagged fake at the threshold (reals: false positives)", ""]
        lines.append("| folder | label | files | " + " | ".join(t for _, t in thresholded) + " |")
        lines.append("|---|---|---|" + "---|" * len(thresholded))
        for folder in folders:
            entries = [tables["scorers"][k]["per_source_folder"].get(folder) for k, _ in thresholded]
            first = next(e for e in entries if e)
            cells = [_with_ci(e, "flagged", True) if e else "n/a" for e in entries]
            lines.append(f"| {folder} | {first['label']} | {first['n']} | " + " | ".join(cells) + " |")
        if tables.get("widening"):
            lines += [
                "",
                f"Widening ({kind}): detectors added one at a time, judge unchanged; the design promises "
                "recall up and FPR not up at each step",
                "",
                "| detectors | AUC | recall | FPR |",
                "|---|---|---|---|",
            ]
            for step in tables["widening"]:
                lines.append(
                    f"| {', '.join(step['detectors'])} | {_fmt(step['auc'])} | {_pct(step['recall'])} | "
                    f"{_with_ci(step, 'fpr', True)} |"
                )
        lines.append("")
    orientation = report.get("shortcut_orientation", {}).get("images", {})
    if orientation:
        directions = ", ".join(
            f"{SHORTCUT_NAMES[n].split(' (')[0]}: {'larger' if s > 0 else 'smaller'} = fake"
            for n, s in orientation.items()
        )
        lines += [
            f"Shortcut baselines score each file by one statistic, in the direction learned on the share's training "
            f"split ({directions}); videos use the stills' directions. A detector that does not clearly beat them "
            "here has learned the shortcut.",
            "",
        ]
    if report.get("seconds"):
        lines.append(
            f"Made by `python tools/evaluate.py --wild` in {report['seconds'] / 60:.1f} min ({report['machine']})."
        )
    return "\n".join(lines).rstrip() + "\n"
