"""Train, measure, freeze and ship av_sync (`tools/train_av_sync.py`).

1. The mouth net learns the face mesh's mouth opening on the train split's clip frames (every
   real video, with or without sound), with jittered mouth boxes, flips and blur.
2. The sync classifier learns, on the train split's videos with speech, their clips with their
   own audio (0) against the same clips with audio shifted by 0.6-3 s or taken from another video
   (1). No fakes: nothing here was made by a generator.
3. Measured on the held-out videos (val and test splits) and on wild/'s videos with sound, per
   clip and per video; leave-one-video-out over every share video with speech as a second view
   (the split alone leaves four held-out videos).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.training.av_sync.data import AUDIO_SAMPLES, CLIP_FRAMES, VideoClips, clip_audio, offered_audio
from cnn_detector.training.av_sync.model import (
    FEATURES,
    MOUTH_BOX,
    OPENING_SCALE,
    Logistic,
    build_mouth_net,
    mouth_regions,
    openings,
    sync_features,
)

log = logging.getLogger(__name__)

NAME = "av_sync"
CLASSES = [(1, "av_sync", "Mouth does not follow the sound")]
HELD_OUT = ("val", "test")


def mouth_training_frames(videos: list[VideoClips], splits: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Every distinct clip frame of ``splits`` with a mesh label: (uint8 [F, 112, 112, 3], [F])."""
    frames, labels = [], []
    for video in videos:
        if video.split not in splits or not len(video.clips):
            continue
        flat, values = video.clips.reshape(-1, *video.clips.shape[2:]), video.mouth.reshape(-1)
        keep = ~np.isnan(values)
        frames.append(flat[keep])
        labels.append(values[keep])
    return np.concatenate(frames), np.concatenate(labels).astype(np.float32)


def train_mouth_net(frames: np.ndarray, labels: np.ndarray, epochs: int, seed: int = 0):
    """The mouth net, fitted to the mesh's openings with augmented mouth boxes."""
    import tensorflow as tf
    import tf_keras

    net = build_mouth_net(seed)
    net.compile(optimizer=tf_keras.optimizers.Adam(1e-3), loss=tf_keras.losses.Huber())
    rng = tf.random.Generator.from_seed(seed)

    def augment(image, label):
        image = tf.image.random_flip_left_right(image, seed=None)
        jitter = rng.uniform([4], -0.04, 0.04)
        box = tf.constant(MOUTH_BOX, tf.float32) + jitter
        small = rng.uniform([], 0.35, 1.0)  # a smaller face, as in a low-resolution video
        size = tf.cast(tf.cast(tf.shape(image)[:2], tf.float32) * small, tf.int32)
        image = tf.image.resize(tf.image.resize(tf.cast(image, tf.float32), size, "area"), tf.shape(image)[:2])
        region = mouth_regions(tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8)[None], box[None])[0]
        return region, label * OPENING_SCALE

    data = (
        tf.data.Dataset.from_tensor_slices((frames, labels))
        .shuffle(len(labels), seed=seed)
        .map(augment, num_parallel_calls=2)
        .batch(64)
    )
    history = net.fit(data, epochs=epochs, verbose=0)
    return net, [float(v) for v in history.history["loss"]]


def predicted_openings(net, clips: np.ndarray, batch: int = 16) -> np.ndarray:
    import tensorflow as tf

    out = [openings(net, tf.constant(clips[i : i + batch])).numpy() for i in range(0, len(clips), batch)]
    return np.concatenate(out) if out else np.zeros((0, CLIP_FRAMES), np.float32)


def features_of(opening: np.ndarray, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow as tf

    values, gate = sync_features(tf.constant(opening, tf.float32), tf.constant(audio, tf.float32), CLIP_FRAMES)
    return values.numpy(), gate.numpy()


def sync_table(videos: list[VideoClips], net, seed: int, use_mesh: bool = False) -> list[dict]:
    """One row per (clip, offered audio) of the videos with speech: video, split, how, label,
    features and the speech gate. ``use_mesh`` reads the mesh's openings instead of the net's
    (the upper bound of the distillation)."""
    rng = np.random.default_rng(seed)
    speaking = [v for v in videos if v.has_speech and len(v.clips)]
    audios, labels, hows = offered_audio(speaking, rng)
    rows = []
    for video, audio, label, how in zip(speaking, audios, labels, hows):
        per_clip = len(audio) // len(video.clips)
        opening = np.nan_to_num(video.mouth) if use_mesh else predicted_openings(net, video.clips)
        values, gate = features_of(np.repeat(opening, per_clip, axis=0), audio)
        for k in range(len(audio)):
            rows.append(
                dict(
                    video=video.name,
                    split=video.split,
                    clip=k // per_clip,
                    how=str(how[k]),
                    label=int(label[k]),
                    features=values[k],
                    gate=float(gate[k]),
                )
            )
    return rows


def fit_classifier(rows: list[dict]) -> Logistic:
    """The logistic read of the features, fitted on ``rows`` that pass the speech gate."""
    used = [r for r in rows if r["gate"] > 0]
    return Logistic.fit(np.stack([r["features"] for r in used]), np.array([r["label"] for r in used], np.float64))


def scores(classifier: Logistic, rows: list[dict]) -> np.ndarray:
    if not rows:
        return np.zeros(0)
    return classifier.predict(np.stack([r["features"] for r in rows])) * np.array([r["gate"] for r in rows])


def clip_metrics(rows: list[dict], values: np.ndarray) -> dict:
    """AUC of each kind of offered audio against the clips' own, and how many clips the gate kept."""
    from deepfake_evaluation.metrics import roc_auc

    hows = np.array([r["how"] for r in rows])
    own = values[hows == "in sync"]
    result = {"clips": int(len(own)), "judged": int(sum(r["gate"] > 0 for r in rows if r["how"] == "in sync"))}
    for how in ("shifted", "swapped"):
        other = values[hows == how]
        if len(own) and len(other):
            result[how] = roc_auc([0] * len(own) + [1] * len(other), np.concatenate([own, other]))
    return result


def per_video(rows: list[dict], values: np.ndarray) -> dict:
    """Mean clip score per video and kind of audio."""
    table: dict[str, dict[str, list[float]]] = {}
    for row, value in zip(rows, values):
        table.setdefault(row["video"], {}).setdefault(row["how"], []).append(float(value))
    return {v: {h: round(float(np.mean(s)), 4) for h, s in hows.items()} for v, hows in table.items()}


def leave_one_out(rows: list[dict]) -> dict:
    """Each video with speech scored by a classifier fitted on all the others."""
    out_rows, out_values = [], []
    for video in sorted({r["video"] for r in rows}):
        train = [r for r in rows if r["video"] != video]
        held = [r for r in rows if r["video"] == video]
        classifier = fit_classifier(train)
        out_rows += held
        out_values.append(scores(classifier, held))
    return clip_metrics(out_rows, np.concatenate(out_values))


def wild_rows(wild_dir: Path, net, seed: int) -> list[dict]:
    """wild/'s videos with sound, cut as the scan cuts them: each clip with its own audio and,
    for the real ones, shifted by 0.6-3 s (real speech from sources nobody trained on)."""
    import csv

    from cnn_detector.training.temporal.dataset import main_face_clips
    from deepfake_scanner.audio import AUDIO_RATE, open_audio
    from deepfake_scanner.faces import FaceFinder

    rng = np.random.default_rng(seed)
    finder = FaceFinder()
    rows = []
    with open(wild_dir / "MANIFEST.csv", newline="") as handle:
        entries = [e for e in csv.DictReader(handle) if e["local_path"].startswith("videos/")]
    for entry in entries:
        path = wild_dir / entry["local_path"]
        track = open_audio(path)
        if track is None:
            continue
        audio = track.span(0.0, min(track.duration_s or 600.0, 600.0))
        if float(np.std(audio)) <= 1e-3:
            continue
        found, fps = main_face_clips(path, finder, CLIP_FRAMES)
        if not found:
            continue
        clips = np.stack([c.frames for c in found])
        opening = predicted_openings(net, clips)
        duration = len(audio) / AUDIO_RATE
        offered, hows = [], []
        for clip in found:
            start = clip.start_ms / 1000.0
            offered.append(clip_audio(audio, start, fps))
            hows.append("in sync")
            if entry["label"] == "real":
                shift = rng.uniform(0.6, 3.0) * rng.choice([-1, 1])
                offered.append(clip_audio(audio, (start + shift) % max(duration - CLIP_FRAMES / fps, 1e-3), fps))
                hows.append("shifted")
        repeat = len(offered) // len(found)
        values, gate = features_of(np.repeat(opening, repeat, axis=0), np.stack(offered))
        for k, how in enumerate(hows):
            label = int(entry["label"] == "fake" or how == "shifted")
            rows.append(
                dict(
                    video=Path(path).name,
                    method=entry["method"],
                    kind=entry["label"],
                    split="wild",
                    clip=k // repeat,
                    how=how,
                    label=label,
                    features=values[k],
                    gate=float(gate[k]),
                )
            )
    return rows


def run(videos: list[VideoClips], out_dir: Path, wild_dir: Path | None, epochs: int = 12, seed: int = 0) -> dict:
    """Train both parts, measure, and keep the weights and metrics in ``out_dir``."""
    from deepfake_evaluation.metrics import roc_auc

    started = time.time()
    out_dir.mkdir(parents=True, exist_ok=True)
    frames, labels = mouth_training_frames(videos, ("train",))
    net, losses = train_mouth_net(frames, labels, epochs, seed)
    held_frames, held_labels = mouth_training_frames(videos, HELD_OUT)
    predicted = predicted_openings(net, held_frames[:, None])[:, 0]
    mouth = {
        "train_frames": int(len(labels)),
        "held_out_frames": int(len(held_labels)),
        "held_out_correlation_with_mesh": float(np.corrcoef(predicted, held_labels)[0, 1]),
        "held_out_mean_abs_error": float(np.mean(np.abs(predicted - held_labels))),
        "losses": [round(v, 4) for v in losses],
    }
    log.info("mouth net: %s", mouth)
    rows = sync_table(videos, net, seed)
    train = [r for r in rows if r["split"] == "train"]
    held = [r for r in rows if r["split"] in HELD_OUT]
    classifier = fit_classifier(train)
    held_values = scores(classifier, held)
    mesh_rows = sync_table(videos, None, seed, use_mesh=True)
    mesh_classifier = fit_classifier([r for r in mesh_rows if r["split"] == "train"])
    mesh_held = [r for r in mesh_rows if r["split"] in HELD_OUT]
    own = held_values[[r["how"] == "in sync" for r in held]]
    offered = held_values[[r["how"] != "in sync" for r in held]]
    metrics = {
        "mouth_net": mouth,
        "features": list(FEATURES),
        "classifier": classifier.to_json(),
        "train_videos": sorted({r["video"] for r in train}),
        "held_out_videos": sorted({r["video"] for r in held}),
        "held_out_clips": clip_metrics(held, held_values),
        "held_out_clips_with_mesh_openings": clip_metrics(mesh_held, scores(mesh_classifier, mesh_held)),
        "held_out_per_video": per_video(held, held_values),
        "leave_one_video_out": leave_one_out(rows),
        "held_out_real_p99": float(np.quantile(own, 0.99)),
        "held_out_fake_median": float(np.median(offered[offered > 0])) if (offered > 0).any() else 0.0,
    }
    if wild_dir is not None:
        wild = wild_rows(wild_dir, net, seed)
        values = scores(classifier, wild)
        reals = [r for r in wild if r["kind"] == "real"]
        heads = [(r, v) for r, v in zip(wild, values) if r["kind"] == "fake"]
        real_values = scores(classifier, reals)
        metrics["wild"] = {
            "real_clips_shifted": clip_metrics(reals, real_values),
            "per_video": per_video(wild, values),
            "talking_head_clips": len(heads),
            "talking_head_clips_over_min_score": int(sum(v >= metrics["held_out_real_p99"] for _, v in heads)),
            "talking_heads_against_real_in_sync": roc_auc(
                [0] * int(sum(r["how"] == "in sync" for r in reals)) + [1] * len(heads),
                [v for r, v in zip(reals, real_values) if r["how"] == "in sync"] + [v for _, v in heads],
            )
            if heads and reals
            else None,
        }
    metrics["minutes"] = round((time.time() - started) / 60, 1)
    net.save_weights(str(out_dir / "mouth_net.weights.h5"))
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=1, default=float) + "\n")
    return metrics


def freeze(net, classifier: Logistic) -> bytes:
    """The clip detector graph: uint8 [N, T, H, W, 3] clips and float32 [N, S] audio -> one box
    (the mouth region) per clip, scored by the classifier where the audio has speech, class 1."""
    import tensorflow as tf

    from cnn_detector.export import clip_tensor_specs, freeze_detection_function, name_outputs

    def serve(clips, audio):
        n = tf.shape(clips)[0]
        values, gate = sync_features(openings(net, clips), audio, CLIP_FRAMES)
        score = classifier.in_graph(values) * gate
        boxes = tf.tile(tf.constant([[MOUTH_BOX]], tf.float32), [n, 1, 1])
        return name_outputs(boxes, score[:, None], tf.ones([n, 1]), tf.ones([n]))

    return freeze_detection_function(tf.function(serve), clip_tensor_specs(audio=True))


def write_detector(run_dir: Path) -> Path:
    """The run frozen into ``run_dir``/av_sync: a face_clip_audio detector directory (min_score:
    1% of the held-out real clips, with their own audio, reach it) that check_detector and
    install_detector take. Not shipped: see docs/experiments/av_sync."""
    from cnn_detector.detector_dir import write_detector_directory
    from cnn_detector.training.calibration import rounded_up

    metrics = json.loads((run_dir / "metrics.json").read_text())
    net = build_mouth_net()
    net.load_weights(str(run_dir / "mouth_net.weights.h5"))
    return write_detector_directory(
        run_dir / NAME,
        freeze(net, Logistic.from_json(metrics["classifier"])),
        CLASSES,
        version="0.1.0",
        author="Deepfake Scanner contributors",
        input="face_clip_audio",
        clip_frames=CLIP_FRAMES,
        audio_samples=AUDIO_SAMPLES,
        input_size=[112, 112],
        min_score=rounded_up(metrics["held_out_real_p99"]),
        trained_on=["videos/real", "videos/real/liveportrait"],
        description="Mouth opening against the loudness of the sound over 32 frames of one tracked face: "
        "scores clips whose mouth does not follow the sound (no speech, no score).",
    )
