"""MODEL_CARD.md written from the training run's own numbers (never typed by hand)."""

from __future__ import annotations

import math
from collections import Counter

from cnn_detector.training.retinanet.config import TrainConfig


def _fmt(value) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _table(rows: dict, columns: list[tuple[str, str]], first: str) -> str:
    lines = ["| " + " | ".join([first] + [title for _, title in columns]) + " |"]
    lines.append("|" + "---|" * (len(columns) + 1))
    for name, values in rows.items():
        lines.append("| " + " | ".join([name] + [_fmt(values.get(key, "")) for key, _ in columns]) + " |")
    return "\n".join(lines)


def test_sections(metrics: dict) -> str:
    """The card's held-out test split section and its known blind spots, from metrics.json."""
    summary_cols = [
        ("n_fake", "fakes"),
        ("n_real", "reals"),
        ("auc", "AUC"),
        ("recall_at_1pct_fpr", "recall @1% FPR"),
        ("recall_at_0.1pct_fpr", "recall @0.1% FPR"),
        ("face_size_only_auc", "face-size-only AUC"),
    ]
    own = {m: v for m, v in metrics["per_method"].items() if v.get("own_method")}
    other = {m: v for m, v in metrics["per_method"].items() if not v.get("own_method")}
    folder_cols = summary_cols + [("false_positive_rate_at_0.5", "FPR @0.5")]
    weak = [m for m, v in own.items() if not v["auc"] >= 0.9]
    blind = []
    if weak:
        blind.append(f"- Image-level AUC below 0.9 on its own method(s): {', '.join(weak)}.")
    blind.append(
        "- Trained only on the share's generators and the factory's manipulations; other generators "
        "(other diffusion versions, talking heads, lip-sync) are unseen. See the 'other methods' table."
    )
    noisy = [f for f, v in metrics["per_real_folder"].items() if v.get("false_positive_rate_at_0.5", 0) > 0.05]
    if noisy:
        blind.append(f"- More than 5% false positives at score 0.5 on real faces from: {', '.join(noisy)}.")
    return f"""## Held-out test split
Image score = the detector's highest detection score on the crop. Negatives are all real test faces.
"Face-size-only AUC" is the baseline a detector must beat: the face's size in pixels alone.

Overall (own methods vs real): AUC {_fmt(metrics["overall"]["auc"])}, recall {_fmt(metrics["overall"]["recall_at_1pct_fpr"])} at 1% FPR and {_fmt(metrics["overall"]["recall_at_0.1pct_fpr"])} at 0.1% FPR, face-size-only AUC {_fmt(metrics["overall"]["face_size_only_auc"])}.

Own methods:

{_table(own, summary_cols, "method")}

Other methods (not trained on; how far it fires on them):

{_table(other, summary_cols, "method")}

Per real source folder (own fakes vs that folder's reals):

{_table(metrics["per_real_folder"], folder_cols, "real folder")}

Box average precision (IoU 0.5): {", ".join(f"{k} {_fmt(v)}" for k, v in metrics["box_ap50"].items())}.

## Known blind spots
{chr(10).join(blind)}

"""


def licence_section(licences: dict[str, str], trained: set[str]) -> str:
    """The card's folder list: the folders trained on, then those only in the test split."""
    lines = {
        True: [f"- `{folder}`: {lic}" for folder, lic in sorted(licences.items()) if folder in trained],
        False: [f"- `{folder}`: {lic}" for folder, lic in sorted(licences.items()) if folder not in trained],
    }
    text = "Source folders trained on (held-out groups of them are in the test split) and their licences:\n"
    text += "\n".join(lines[True]) or "- (licences not available: ../shared/data was not found)"
    if lines[False]:
        text += "\n\nFolders only in the test split (methods it did not train on):\n" + "\n".join(lines[False])
    return text


def adversarial_words(adversarial) -> str:
    if not adversarial.fraction:
        return ""
    eps = ", ".join(f"{e:g}" for e in adversarial.epsilons)
    return (
        f"; adversarial training: {adversarial.fraction:.0%} of each batch replaced by PGD examples against the "
        f"model being trained ({adversarial.steps} steps, eps {eps}/255)"
    )


def augmentation_words(augment) -> str:
    return (
        f"flip, resolution {augment.min_scale:.0%}-100% of the input size, JPEG {augment.jpeg_min}-95 on "
        f"{augment.jpeg_probability:.0%} of images, colour jitter, grayscale on {augment.grayscale:.0%}"
    )


def render_model_card(
    config: TrainConfig,
    metrics: dict,
    training: dict,
    data_counts: dict,
    licences: dict,
    command: str,
    remeasured: bool = False,
    trained: set[str] = frozenset(),
) -> str:
    d = config.detector
    counts = "\n".join(f"| {split} | {c['positives']} | {c['negatives']} |" for split, c in data_counts.items())
    if remeasured:
        counts += (
            "\n\nCounts of the records it trained on. The factory was remade after training (same folders "
            "and split rule), so the test row is the old split's; the test tables below give the counts measured."
        )
    factory = (
        f" (its own factory, `{config.data.factory}`, made with "
        + ", ".join(f"{k}={v}" for k, v in config.data.factory_options.items() if k != "methods")
        + ")"
        if config.data.factory_options
        else ""
    )
    history = "\n".join(
        f"| {h['epoch']} | {h['backbone']} | {h['cls_loss']:.4f} | {h['box_loss']:.4f} | {_fmt(h['val_auc'])} |"
        for h in training["history"]
    )
    m = config.model
    remeasure_note = (
        f" (test numbers measured again, graph unchanged, by `{command} --evaluate-only` after the factory changed)"
        if remeasured
        else ""
    )
    return f"""# {d.name} (version {d.version})

{d.description}

- Detects: {", ".join(d.algorithms)} (labelmap `{d.labelmap}`); input: face crop (margin 0.3), resized to {m.input_size[0]}x{m.input_size[1]}.
- Architecture: TF Model Garden RetinaNet (FPN levels {m.min_level}-{m.max_level}, {m.fpn_filters} filters, {m.head_convs} separable head convs) on MobileNetV2 alpha {m.alpha}, initialised from ImageNet weights; frozen with the Object Detection API tensor names.
- Licence: {d.licence}. Author: {d.author}.

## Training data
Made by `tools/make_fakes.py`{factory} from ../shared/data (face crops, same crop, size and re-encoding for real and fake).
Positives: {", ".join(config.data.positives)}; negatives: {", ".join(config.data.negatives)} (real faces of every source folder).
Split by source group (person, video or file), never by crop.

| split | images with boxes | images without |
|---|---|---|
{counts}

{licence_section(licences, trained)}

## Training
{training["epochs"]} epochs ({config.train.head_only_epochs} with the backbone frozen), batch {config.train.batch_size}, Adam with cosine decay, augmentation: {augmentation_words(config.augment)}{adversarial_words(config.adversarial)}.
Best epoch by validation image AUC: {training["best_epoch"]} (val AUC {_fmt(training["best_val_auc"])}).
Training took {training["seconds"] / 60:.1f} minutes on {training["machine"]}.

| epoch | backbone | cls loss | box loss | val AUC |
|---|---|---|---|---|
{history}

Retrain from scratch (same seed, same numbers up to thread scheduling):

    {command}

{test_sections(metrics)}Numbers in this card come from `metrics.json` beside it, written by `tools/train_detector.py`{remeasure_note}.
"""


def licences_of(items, folders) -> dict[str, str]:
    seen: dict[str, Counter] = {}
    for item in items:
        if item.folder in folders:
            seen.setdefault(item.folder, Counter())[item.licence] += 1
    return {folder: counter.most_common(1)[0][0] for folder, counter in seen.items()}


def seam_recipe(options) -> list[str]:
    """The training choices of a seam model that differ from plain fine-tuning, in words."""
    choices = []
    if options.train_batchnorm:
        choices.append("batch norm fine-tuned")
    if options.pool_decoder:
        choices.append("image logit also over the decoder's pooled seam features")
    if options.processed_reals:
        choices.append(
            f"{options.processed_reals:.0%} of real faces passed whole through the blend's source processing"
        )
    if options.processed_outside:
        choices.append(
            f"{options.processed_outside:.0%} of blends made the other way round (the face inside a processed surround)"
        )
    return choices


def render_seam_card(
    options,
    member_options: list,
    metrics: dict,
    training: dict,
    licences: dict,
    command: str,
    labelmap: str = "labelmap.pbtxt",
    trained: set[str] = frozenset(),
) -> str:
    members = training["members"]
    recipes = [seam_recipe(member) for member in member_options]
    common = [choice for choice in recipes[0] if all(choice in recipe for recipe in recipes)]
    backbone = f"MobileNetV2 alpha {options.alpha} (ImageNet weights{''.join('; ' + c for c in common)})"
    if len(members) == 1:
        model = backbone
    else:
        alike = "alike with different seeds" if not options.member_settings else "with different seeds and settings"
        model = f"{len(members)} models trained {alike} (their image and heatmap logits averaged), each {backbone}"
    mirror = " (logits of the crop and its mirror image averaged)" if options.flip_average else ""
    drawn = (
        "puts it and a fresh blend of it into a jittered copy of itself side by side in the batch (Self-Blended Images' pairs)"
        if options.paired
        else "half of the time blends it into a jittered copy of itself"
    )
    tables = []
    for k, member in enumerate(members):
        rows = "\n".join(
            f"| {h['epoch']} | {h['backbone']} | {h['image_loss']:.4f} | {h['heatmap_loss']:.4f} | {_fmt(h['val_auc'])} |"
            for h in member["history"]
        )
        own = [choice for choice in recipes[k] if choice not in common] if k < len(recipes) else []
        tables.append(
            f"Model {k + 1} of {len(members)} (seed {member['seed']}{''.join('; ' + c for c in own)}): "
            f"{member['epochs']} epochs, "
            f"{member['seconds'] / 60:.1f} minutes; best epoch by validation image AUC: {member['best_epoch']} "
            f"(val AUC {_fmt(member['best_val_auc'])}).\n\n"
            "| epoch | backbone | image loss | heatmap loss | val AUC |\n|---|---|---|---|---|\n" + rows
        )
    per_member = "\n\n".join(tables)
    restarted = sum(h.get("cycle", 1) == 2 for h in members[0]["history"])
    first_cycle = members[0]["epochs"] - restarted
    restart = (
        f"; then a restart cycle (SGDR's warm restart): {restarted} more epochs from the first cycle's best epoch, "
        f"cosine decay from {options.restart_learning_rate}, on new draws"
        if restarted
        else ""
    )
    return f"""# {options.name} (version 1.0.0)

Faces blended into a jittered copy of themselves through a soft mask.

- Detects: self_blend (labelmap `{labelmap}`); input: face crop (margin 0.3), resized to {options.input_size}x{options.input_size}.
- Architecture: {model}, with a small FPN-style decoder to a seam heatmap at 1/4 resolution (target: Face X-ray's blending boundary 4·M·(1−M)) and an image logit over pooled features and heatmap; the box is the heatmap's extent above half its peak, the score the image probability{mirror}. Frozen with the Object Detection API tensor names (one detection per crop).
- Licence: Apache-2.0. Author: Deepfake Scanner contributors.

## Training data
Every step draws a training-split real face (the factory's crop, before re-encoding, and its face-mesh landmarks) and {drawn} with `cnn_detector/training/data/fakes.py`'s `self_blend`, then re-encodes it with the factory's settings (real and fake alike): new blends every step, as Self-Blended Images trains. Validation and test are the fake factory's own `self_blend` and `real` crops (split by source group, never by crop), as for every detector.

{licence_section(licences, trained)}

## Training
Each model: {first_cycle} epochs of {options.steps_per_epoch} steps ({options.head_only_epochs} with the backbone frozen), batch {options.batch_size}, Adam with cosine decay ({options.learning_rate} head, {options.fine_tune_learning_rate} fine-tuning), heatmap loss weight {options.heatmap_weight}{restart}; the epoch with the best validation image AUC is kept.
Validation image AUC of the shipped detector: {_fmt(training["val_auc"])}.
Training took {training["seconds"] / 60:.1f} minutes on {training["machine"]} (the models' measured epoch times, plus data preparation, export, calibration and test).

{per_member}

Retrain from scratch:

    {command or "python tools/train_seam.py"}

{test_sections(metrics)}{difficulty_section(metrics)}
Numbers in this card come from `metrics.json` beside it, written by `tools/train_seam.py`.
"""


def difficulty_section(metrics: dict) -> str:
    """Which test self-blends it misses, by the draws that made them (tools/blend_difficulty.py)."""
    if "blend_difficulty" not in metrics:
        return ""
    from cnn_detector.training.difficulty import render_difficulty

    return f"""## Which self-blends it misses
The test split's self-blends grouped by the random draws that made them (the factory replayed with
its draws recorded; `python tools/blend_difficulty.py` prints the same table for any detector):

{render_difficulty(metrics["blend_difficulty"])}
"""
