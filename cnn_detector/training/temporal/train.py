"""Train, measure and freeze the temporal detector.

The shipped model (``stage`` SCRATCH) is a 3D CNN trained on the raw clips; the alternative
runs a frozen ImageNet trunk once over every clip's frames (features cached in memory as
float16) and trains the (2+1)D + GRU + attention head on them. Either is trained on the train
split's clips and measured on the held-out videos' clips (val and test splits, per fake kind) and on wild/'s
videos (validation: whole sources nobody trained on), per video (mean of its clips' scores).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.training.temporal.dataset import reencode_clip, save_clips
from cnn_detector.training.temporal.model import TemporalConfig, build_backbone, build_head, build_scratch

SCRATCH = "scratch"  # TemporalConfig.stage for the from-scratch 3D CNN on raw clips

log = logging.getLogger(__name__)


def load_split(clips_dir: Path, index, splits: tuple[str, ...]):
    """(clips uint8 [N, T, S, S, 3], labels [N], rows): every clip of ``splits``."""
    rows = index[index.split.isin(splits)]
    clips, labels, kinds, videos = [], [], [], []
    for row in rows.itertuples(index=False):
        data = np.load(clips_dir / row.path)["clips"]
        clips.append(data)
        labels += [row.label] * len(data)
        kinds += [row.kind] * len(data)
        videos += [row.video] * len(data)
    return np.concatenate(clips), np.array(labels, np.float32), np.array(kinds), np.array(videos)


def frame_features(backbone, clips: np.ndarray, batch: int = 256) -> np.ndarray:
    """float16 [N, T, s, s, C] trunk features of every frame of ``clips`` (no trunk: the clips)."""
    if backbone is None:
        return clips
    n, t = clips.shape[:2]
    frames = clips.reshape(n * t, *clips.shape[2:])
    out = [
        backbone.predict_on_batch(frames[i : i + batch].astype(np.float32)).astype(np.float16)
        for i in range(0, len(frames), batch)
    ]
    features = np.concatenate(out)
    return features.reshape(n, t, *features.shape[1:])


def train_head(config: TemporalConfig, features: np.ndarray, labels: np.ndarray, epochs: int, seed: int = 0):
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    head = build_scratch(config) if config.stage == SCRATCH else build_head(config, features.shape[2:])
    positives = labels.mean()
    weights = {0: 0.5 / (1 - positives), 1: 0.5 / positives}
    head.compile(optimizer=tf_keras.optimizers.Adam(1e-3), loss=tf_keras.losses.BinaryCrossentropy(from_logits=True))
    data = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(len(labels), seed=seed).batch(32)
    data = data.map(lambda x, y: (tf.cast(x, tf.float32), y))
    history = head.fit(data, epochs=epochs, class_weight=weights, verbose=2)
    return head, history.history["loss"]


def scores_of(head, features: np.ndarray) -> np.ndarray:
    logits = np.concatenate(
        [head.predict_on_batch(features[i : i + 256].astype(np.float32))[:, 0] for i in range(0, len(features), 256)]
    )
    return 1.0 / (1.0 + np.exp(-logits))


def wild_clips(cache: Path) -> list[tuple[str, str, str, np.ndarray]]:
    """(path, label, method, clips) of every wild/ video, cut as the scan cuts them; cached."""
    import pandas as pd

    from cnn_detector.training.temporal.dataset import scan_clips
    from deepfake_scanner.defaults import WILD_DIR
    from deepfake_scanner.faces import FaceFinder
    from deepfake_scanner.video import is_video

    cache.mkdir(parents=True, exist_ok=True)
    manifest = pd.read_csv(WILD_DIR / "MANIFEST.csv", dtype=str).fillna("")
    finder, out = FaceFinder(), []
    for row in manifest.itertuples(index=False):
        path = WILD_DIR / row.local_path
        if not is_video(path) or row.label not in ("real", "fake"):
            continue
        stored = cache / (row.local_path.replace("/", "_") + ".npz")
        if stored.is_file():
            clips = np.load(stored)["clips"]
        else:
            clips = scan_clips(path, finder, main_face_only=False)
            save_clips(stored, clips)
        out.append((row.local_path, row.label, row.method, clips))
    return out


def per_video(scores: np.ndarray, videos: np.ndarray) -> dict[str, float]:
    """Mean clip score per video."""
    return {v: float(scores[videos == v].mean()) for v in dict.fromkeys(videos)}


def measure(head, held, wild) -> dict:
    """Held-out clips per fake kind (against the held-out reals), and wild/ per video."""
    from deepfake_evaluation.metrics import recall_at_fpr, roc_auc, threshold_at_fpr

    features, labels, kinds, _videos = held
    scores = scores_of(head, features)
    real = scores[labels == 0]
    result = {
        "held_out_clips": {
            "auc": roc_auc(labels, scores),
            "reals": int((labels == 0).sum()),
            "fakes": int(labels.sum()),
        }
    }
    for kind in sorted(set(kinds) - {"real"}):
        fake = scores[kinds == kind]
        result["held_out_clips"][kind] = roc_auc([0] * len(real) + [1] * len(fake), np.concatenate([real, fake]))
    threshold = threshold_at_fpr(real, 0.05)
    result["held_out_real_p99"] = float(np.quantile(real, 0.99))
    result["held_out_fake_median"] = float(np.median(scores[labels == 1]))
    result["held_out_clips"]["recall_at_5pct_fpr"] = recall_at_fpr(labels, scores, 0.05)
    wild_rows = []
    for path, label, method, feats in wild:
        if len(feats):
            wild_rows.append((path, int(label == "fake"), method, float(scores_of(head, feats).mean())))
    if wild_rows:
        y = [r[1] for r in wild_rows]
        s = [r[3] for r in wild_rows]
        result["wild_videos"] = {"auc": roc_auc(y, s), "videos": len(wild_rows), "flagged_at_held_out_5pct": {}}
        reals = [r[3] for r in wild_rows if r[1] == 0]
        for method in sorted({r[2] for r in wild_rows if r[1] == 1}):
            fake = [r[3] for r in wild_rows if r[2] == method]
            result["wild_videos"][method] = roc_auc([0] * len(reals) + [1] * len(fake), reals + fake)
        for method in sorted({r[2] for r in wild_rows}):
            group = [r[3] for r in wild_rows if r[2] == method]
            result["wild_videos"]["flagged_at_held_out_5pct"][method] = (
                f"{sum(v >= threshold for v in group)}/{len(group)}"
            )
        result["wild_scores"] = {r[0]: round(r[3], 4) for r in wild_rows}
    return result


def run(
    clips_dir: Path,
    out_dir: Path,
    config: TemporalConfig = TemporalConfig(),
    epochs: int = 8,
    seed: int = 0,
    reencoded_copies: int = 1,
) -> dict:
    """Train on the train split's clips plus ``reencoded_copies`` heavily re-encoded copies of
    each (`reencode_clip`), measure (`measure`), and keep the head's weights and metrics."""
    import pandas as pd

    started = time.time()
    out_dir.mkdir(parents=True, exist_ok=True)
    index = pd.read_csv(clips_dir / "index.csv")
    backbone = None if config.stage == SCRATCH else build_backbone(config)
    clips, labels, _, _ = load_split(clips_dir, index, ("train",))
    rng = np.random.default_rng(seed)
    copies = [np.stack([reencode_clip(c, rng) for c in clips]) for _ in range(reencoded_copies)]
    clips, labels = np.concatenate([clips, *copies]), np.tile(labels, reencoded_copies + 1)
    features = frame_features(backbone, clips)
    del clips
    log.info("train: %d clips (%d fake), features %s", len(labels), int(labels.sum()), features.shape)
    held_clips, held_labels, held_kinds, held_videos = load_split(clips_dir, index, ("val", "test"))
    held = (frame_features(backbone, held_clips), held_labels, held_kinds, held_videos)
    del held_clips
    wild = [
        (p, lab, m, frame_features(backbone, c) if len(c) else c)
        for p, lab, m, c in wild_clips(clips_dir.parent / "wild_clips")
    ]
    head, losses = train_head(config, features, labels, epochs, seed)
    metrics = measure(head, held, wild)
    from cnn_detector.training.ship import machine
    from deepfake_scanner.share import folder_of

    pictures = {src.split("+")[1].split("#")[0] for src in index.source if "+" in src}
    metrics.update(
        feature_shape=list(features.shape[2:]),
        picture_folders=sorted({folder_of(p) for p in pictures}),
        machine=machine(),
        config=config.__dict__,
        epochs=epochs,
        seed=seed,
        reencoded_copies=reencoded_copies,
        train_clips=int(len(labels)),
        train_losses=[round(float(v), 4) for v in losses],
        minutes=round((time.time() - started) / 60, 1),
    )
    head.save_weights(str(out_dir / "head.weights.h5"))
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    return metrics


def freeze(config: TemporalConfig, head) -> bytes:
    """The clip detector graph: uint8 [N, T, H, W, 3] face clips -> one box (the whole crop)
    per clip, scored by the head's probability, class 1."""
    import tensorflow as tf

    from cnn_detector.export import clip_tensor_specs, freeze_detection_function, name_outputs

    backbone = None if config.stage == SCRATCH else build_backbone(config)

    def serve(clips):
        shape = tf.shape(clips)
        n = shape[0]
        frames = tf.reshape(tf.cast(clips, tf.float32), [-1, shape[2], shape[3], 3])
        frames = tf.image.resize(frames, [config.size, config.size], method="area")
        features = frames if backbone is None else backbone(frames, training=False)
        features = tf.reshape(features, [n, config.frames, *features.shape[1:]])
        score = tf.sigmoid(head(features, training=False)[:, 0])
        boxes = tf.tile(tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), [n, 1, 1])
        return name_outputs(boxes, score[:, None], tf.ones([n, 1]), tf.ones([n]))

    return freeze_detection_function(tf.function(serve), clip_tensor_specs())


NAME = "temporal_face"
CLASSES = [(1, "temporal_face", "Face animated, re-synthesized or blended over time")]
SAMPLE_PICTURE = "real_images/deepface/img16.jpg"  # MIT
SAMPLE_DRIVER = "videos/real/facenet_pytorch_video.mp4"  # MIT; only its face-mesh motion is used


def make_sample_fake(share: Path, driver: Path, out: Path, seconds: float = 2.0) -> None:
    """A shippable fake for the detector's samples: the share's MIT photo animated by the
    face-mesh motion of an MIT video of the share (``driver``), encoded as the factory encodes."""
    from cnn_detector.training.temporal.clip_fakes import animated
    from cnn_detector.training.temporal.dataset import encode, load_picture, mesh_track, read_video
    from deepfake_scanner.faces import FaceFinder, FaceMesh
    from deepfake_scanner.share import load_share

    finder, mesh = FaceFinder(), FaceMesh()
    item = next(i for i in load_share(share) if i.relative == SAMPLE_PICTURE)
    loaded = load_picture(item, finder, mesh)
    frames, fps = read_video(driver)
    length = int(seconds * fps)
    points = None
    for start in range(0, max(1, len(frames) - length + 1), 12):  # the first stretch the face is followed through
        frames_here = frames[start : start + length]
        points = mesh_track(frames_here, finder, mesh)
        if points is not None:
            frames = frames_here
            break
    if loaded is None or points is None:
        raise ValueError(f"{SAMPLE_PICTURE} or {driver}: no face for the sample fake")
    rng = np.random.default_rng(0)
    encode(animated(frames, points, rng, picture=loaded[0], picture_points=loaded[1]), fps, out, rng)


def ship(run_dir: Path, output_root: Path, share: Path, config: TemporalConfig, command: str) -> Path:
    """Freeze the head trained in ``run_dir`` into ``output_root``/temporal_face with its
    detector.yaml (min_score: 1% of held-out real clips reach it), samples and expected rows."""
    import shutil

    from cnn_detector.detector_dir import write_detector_directory
    from cnn_detector.frozen_graph import load_detector
    from cnn_detector.registry import load_detector_spec
    from cnn_detector.training.calibration import rounded_up
    from deepfake_scanner.defaults import SAMPLES_DIR
    from deepfake_scanner.detector_samples import write_expected
    from deepfake_scanner.faces import FaceFinder

    metrics = json.loads((run_dir / "metrics.json").read_text())
    head = build_scratch(config) if config.stage == SCRATCH else build_head(config, tuple(metrics["feature_shape"]))
    head.load_weights(str(run_dir / "head.weights.h5"))
    import tempfile

    output_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{NAME}-", dir=output_root.parent))  # beside, not inside, the root
    directory = staging / NAME  # built whole here, then put in place of the shipped one
    write_detector_directory(
        directory,
        freeze(config, head),
        CLASSES,
        version="1.0.0",
        author="Deepfake Scanner contributors",
        input="face_clip",
        clip_frames=config.frames,
        input_size=[config.size, config.size],
        min_score=rounded_up(metrics["held_out_real_p99"]),
        typical_fake_score=round(metrics["held_out_fake_median"], 3),
        trained_on=["videos/real", "videos/real/liveportrait", *metrics["picture_folders"]],
        description="Faces animated from one picture, mouths re-synthesized, frames blended or smoothed over "
        "time: one score per 16-frame face clip, its box the whole crop.",
    )
    samples = directory / "samples"
    samples.mkdir()
    shutil.copy(SAMPLES_DIR / "videos" / "real_hamilton.mp4", samples)
    make_sample_fake(share, share / SAMPLE_DRIVER, samples / "fake_animated_img16.mp4")
    with load_detector(load_detector_spec(directory)) as detector:
        write_expected(detector, FaceFinder())
    shutil.copy(run_dir / "metrics.json", directory / "metrics.json")
    atomic_write_text(directory / "MODEL_CARD.md", model_card(metrics, command))
    target = output_root / NAME
    old = staging / "previous"
    if target.exists():
        target.rename(old)
    directory.rename(target)
    shutil.rmtree(staging)
    return target


def model_card(metrics: dict, command: str) -> str:
    held, wild = metrics["held_out_clips"], metrics.get("wild_videos", {})
    kinds = [k for k in held if k not in ("auc", "reals", "fakes", "recall_at_5pct_fpr")]
    lines = [
        f"# {NAME}",
        "",
        "A clip detector (`input: face_clip`): 16 consecutive frames of one tracked face, 112 px, at the",
        "video's own rate; one score per clip, its box the whole crop.",
        (
            "A small 3D CNN trained from scratch on the clip and its frame-to-frame differences (four 3x3x3"
            " convolutions, global pooling); measured better than an ImageNet MobileNetV2 trunk under a (2+1)D +"
            " GRU + attention head (docs/experiments/temporal_face)."
            if metrics["config"]["stage"] == SCRATCH
            else f"An ImageNet MobileNetV2-0.35 read frame by frame (frozen, up to `{metrics['config']['stage']}`),"
            " (2+1)D convolutions, a GRU and attention over the clip's frames."
        ),
        "Code: cnn_detector/training/temporal/.",
        "",
        "## Data",
        "Reals: every 3 s window (1 s apart) of the share's real videos (`videos/real`, MIT and training-only",
        "licences), twice, flipped, sped up and re-encoded at random. Fakes, made from the same windows",
        "(`clip_fakes.py`): a picture animated by the window's face-mesh motion (the window's first frame or a",
        f"real photo of the same split, from {', '.join(metrics['picture_folders'])}), the mouth re-synthesized",
        "from another moment, self-blends and face swaps drawn anew on each frame (flicker), the face smoothed",
        "over neighbouring frames, every other frame interpolated. Reals and fakes go through the same encoder,",
        "sizes and frame rates, and are cut by the scan's own face tracker and clip cutter. Splits are the",
        "share's, by video.",
        "",
        "## Training",
        f"`{command}`: {metrics['train_clips']} training clips, {metrics['epochs']} epochs, "
        f"{metrics['minutes']} minutes on {metrics.get('machine', 'this machine')} "
        "(the clips are made once before: about 5 minutes with 2 worker processes).",
        "",
        "## Held-out videos of the share (val and test splits, per clip)",
        f"{held['reals']} real and {held['fakes']} fake clips; AUC {held['auc']:.3f}, "
        f"recall at 5% FPR {held['recall_at_5pct_fpr']:.3f}.",
        "",
        "| fake kind | AUC against the held-out reals |",
        "|---|---|",
        *[f"| {k} | {held[k]:.3f} |" for k in kinds],
        "",
        "## wild/ videos (validation: sources nobody trained on; mean clip score per video)",
    ]
    if wild:
        lines += [
            f"{wild['videos']} videos, AUC {wild['auc']:.3f}.",
            "",
            "| method | AUC against wild's reals | flagged at the held-out 5% FPR threshold |",
            "|---|---|---|",
            *[
                f"| {m} | {wild[m]:.3f} | {wild['flagged_at_held_out_5pct'][m]} |"
                for m in sorted(k for k in wild if k.startswith("talking"))
            ],
            *[
                f"| {m} (real) | | {v} |"
                for m, v in sorted(wild["flagged_at_held_out_5pct"].items())
                if not m.startswith("talking")
            ],
        ]
    lines += [
        "",
        "What the whole system (the frame detectors and this one, judge unchanged) does with it, on the",
        'held-out videos and on wild/: README, "Temporal detector".',
        "",
        "## Blind spots",
        "Trained on 9 real videos: few people, few cameras. The fakes are graphics (warps, blends), not a",
        "trained generator's output; what it learned of them may not hold for every generator.",
        "",
    ]
    return "\n".join(lines)
