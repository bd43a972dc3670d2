"""Training data for the judge: detection streams of sequences, and the training itself.

Sequences (all from splits the detectors did not train on):
- stills: every face crop of the factory's val / test splits, real and fake (length 1);
- pseudo-videos: a still repeated with jitter (shift, scale, JPEG) over 6 frames;
- real videos: frames of the share's real videos of the split, sampled as a scan samples them
  (`deepfake_scanner.frames`: 2 per second, at most VIDEO_FRAMES spread over the video);
- fake videos: the factory's manipulations applied frame by frame to those videos, with
  fresh random parameters on every frame (the temporal flicker of frame-wise fakes).
The judge trains on the detectors' validation split (two thirds of its groups), picks its
threshold on the other third, and is tested on the test split.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cnn_detector.training.data import fakes
from cnn_detector.training.data.factory import FakeFactory, item_rng
from deepfake_scanner.engine import ScanEngine
from deepfake_scanner.frames import sample_video
from deepfake_scanner.images import read_image
from deepfake_scanner.share import ShareItem
from deepfake_scanner.video import VideoFrame
from rnn_judge.features import sequence_features

log = logging.getLogger(__name__)
PSEUDO_VIDEO_FRAMES = 6
VIDEO_FRAMES = 10


@dataclass
class Sequence:
    name: str
    kind: str  # still | pseudo_video | video
    method: str
    label: int
    source_folder: str
    group: str
    features: np.ndarray  # [T, D, F]


def judge_split(group: str, split: str) -> str:
    """The detectors' val split is cut by group into judge 'train' (2/3) and 'val' (1/3)."""
    if split != "val":
        return split
    return "val" if int(hashlib.sha256(("judge:" + group).encode()).hexdigest()[:6], 16) % 3 == 0 else "train"


def jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    scale = rng.uniform(0.95, 1.05)
    shift = rng.uniform(-0.03, 0.03, 2) * [width, height]
    affine = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-3, 3), scale)
    affine[:, 2] += shift
    moved = cv2.warpAffine(image, affine, (width, height), borderMode=cv2.BORDER_REFLECT)
    return fakes.reencode(moved, rng, min_scale=0.8)[1]


class StreamMaker:
    """Runs the engine's face stage and every detector on frames, giving [T, D, F] features."""

    def __init__(self, engine: ScanEngine):
        self.engine = engine

    def features(self, images: list[np.ndarray], name: str) -> np.ndarray | None:
        """[T, D, F] of the frames that show a face (the engine's own path), or None."""
        frames = [
            self.engine.for_judge(self.engine.analyse(name, VideoFrame(i, i * 500.0, image)))
            for i, image in enumerate(images)
        ]
        judged = [f for f in frames if f.faces]
        return sequence_features(judged, self.engine.names) if judged else None


def still_sequences(
    maker: StreamMaker, factory: Path, splits: tuple[str, ...], seed: int, progress: Callable = iter
) -> Iterator[Sequence]:
    with open(Path(factory) / "index.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] in splits]
    for row in progress(rows):
        image = read_image(Path(factory) / row["image"])
        split = judge_split(row["group"], row["split"])
        label = int(row["label"] == "fake")
        features = maker.features([image], row["image"])
        if features is not None:
            yield Sequence(row["image"], "still", row["method"], label, row["source_folder"], split, features)
        rng = item_rng(seed, row["image"])
        if rng.random() < 0.25:  # a quarter of the stills also become pseudo-videos
            frames = [jitter(image, rng) for _ in range(PSEUDO_VIDEO_FRAMES)]
            features = maker.features(frames, row["image"])
            if features is not None:
                yield Sequence(
                    row["image"] + "#pseudo",
                    "pseudo_video",
                    row["method"],
                    label,
                    row["source_folder"],
                    split,
                    features,
                )


def video_sequences(
    maker: StreamMaker,
    videos: list[ShareItem],
    seed: int,
    progress: Callable = iter,
    methods: tuple[str, ...] = ("self_blend", "face_swap", "upsampling"),
) -> Iterator[Sequence]:
    factory = FakeFactory(Path("/nonexistent"))
    other_faces: dict[str, list] = {}
    for item in progress(videos):
        frames = [frame.image for frame in sample_video(item.path, VIDEO_FRAMES)]
        split = judge_split(item.group, item.split)
        features = maker.features(frames, item.relative)
        if features is not None:
            yield Sequence(item.relative, "video", "real", 0, item.folder, split, features)
        faces = [factory.find_face(f) for f in frames]
        # Donors for swaps: faces of the other videos of the split, never this video's own face.
        donors = [d for d in other_faces.get(item.split, []) if d is not None]
        other_faces.setdefault(item.split, []).extend(f for f in faces[:2] if f is not None)
        for method in methods:
            rng = item_rng(seed, item.relative + method)
            made = []
            for frame, face in zip(frames, faces):
                if face is None:
                    continue  # a frame the manipulation cannot touch is not a fake frame
                try:
                    if method == "self_blend":
                        image, _ = fakes.self_blend(frame, face.landmarks, rng)
                    elif method == "upsampling":
                        image, _ = fakes.upsampling_trace(frame, face.landmarks, rng)
                    elif donors:
                        donor = donors[int(rng.integers(len(donors)))]
                        image, _ = fakes.face_swap(frame, face.landmarks, donor.image, donor.landmarks, rng)
                    else:
                        continue
                except (ValueError, cv2.error):
                    continue
                made.append(fakes.reencode(image, rng, min_scale=0.8)[1])
            if not made:
                continue
            features = maker.features(made, f"{item.relative}#{method}")
            if features is not None:
                yield Sequence(f"{item.relative}#{method}", "video", method, 1, item.folder, split, features)


def pad(sequences: list[Sequence], num_detectors: int, num_features: int) -> tuple[np.ndarray, np.ndarray]:
    longest = max(s.features.shape[0] for s in sequences)
    x = np.zeros((len(sequences), longest, num_detectors, num_features), np.float32)
    mask = np.zeros((len(sequences), longest), np.float32)
    for i, s in enumerate(sequences):
        x[i, : len(s.features)] = s.features
        mask[i, : len(s.features)] = 1.0
    return x, mask


def fit_judge(judge, train: list[Sequence], val: list[Sequence], epochs: int = 40, seed: int = 0) -> list[dict]:
    """Weighted binary cross-entropy on the probability output; keeps the best val-AUC weights."""
    import tensorflow as tf
    import tf_keras

    from deepfake_evaluation.metrics import roc_auc

    tf.keras.utils.set_random_seed(seed)
    d, f = train[0].features.shape[1:]
    x, mask = pad(train, d, f)
    y = np.array([s.label for s in train], np.float32)
    weights = np.where(y == 1, 0.5 / max(y.mean(), 1e-6), 0.5 / max(1 - y.mean(), 1e-6)).astype(np.float32)
    vx, vmask = pad(val, d, f)
    vy = np.array([s.label for s in val])
    for name, labels in (("training", y), ("validation", vy)):
        if len(set(np.asarray(labels).astype(int).tolist())) < 2:
            raise ValueError(f"the judge's {name} sequences need both real and fake examples")
    optimizer = tf_keras.optimizers.Adam(3e-3)
    model = judge.model

    @tf.function
    def step(xb, mb, yb, wb):
        with tf.GradientTape() as tape:
            probability, _, _ = model([xb, mb], training=True)
            loss = tf_keras.losses.binary_crossentropy(yb[:, None], probability)
            loss = tf.reduce_mean(loss * wb)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    history, best, best_weights = [], -1.0, model.get_weights()
    for epoch in range(epochs):
        order = rng.permutation(len(y))
        losses = [float(step(x[b], mask[b], y[b], weights[b])) for b in np.array_split(order, max(1, len(y) // 64))]
        auc = roc_auc(vy, judge.run_batch(vx, vmask))
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_auc": auc})
        if auc > best:
            best, best_weights = auc, model.get_weights()
    model.set_weights(best_weights)
    return history
