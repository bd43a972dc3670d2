"""The av_sync graph's parts, all TensorFlow so the frozen graph holds them as they trained.

1. `build_mouth_net`: how open the mouth is on one clip frame, from the mouth region of the
   112 px crop (a small CNN distilled from the face mesh: the graph cannot run the mesh).
2. `sync_features`: that opening over the clip's frames against the loudness of the clip's
   audio per frame: correlation at offset 0 and over an offset search, of levels and of
   changes, and how much each moves.
3. A logistic read of those features (`build_classifier`), trained on real speech in sync
   (0) against the same clips with audio from elsewhere (1), and a gate: a clip whose audio has
   no speech in it gives no evidence (score 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MOUTH_BOX = (0.56, 0.22, 0.96, 0.78)  # ymin, xmin, ymax, xmax in the clip crop
MOUTH_SIZE = (32, 48)
MAX_OFFSET = 4  # frames each way
OPENING_SCALE = 10.0  # the net predicts opening x this (openings are 0-0.15)
# A clip's audio is speech enough to judge when its per-frame log loudness varies this much
# and reaches this level at its loudest (silence and steady noise are no evidence).
MIN_LOUDNESS_STD = 0.35
MIN_PEAK_LOG_RMS = -4.5
FEATURES = ("sync", "best_offset_sync", "mean_offset_sync", "change_sync", "mouth_motion", "loudness_std", "peak")


def mouth_regions(frames, boxes=None):
    """uint8 [B, H, W, 3] crops -> float32 [B, 32, 48, 1] mouth regions, gray, each scaled to zero
    mean and unit spread (lighting and camera gain tell nothing). ``boxes`` [B, 4] overrides
    MOUTH_BOX (training jitter)."""
    import tensorflow as tf

    images = tf.cast(frames, tf.float32) / 255.0
    count = tf.shape(images)[0]
    if boxes is None:
        boxes = tf.tile(tf.constant([MOUTH_BOX], tf.float32), [count, 1])
    regions = tf.image.crop_and_resize(images, boxes, tf.range(count), MOUTH_SIZE)
    gray = tf.reduce_mean(regions, axis=-1, keepdims=True)
    mean = tf.reduce_mean(gray, axis=[1, 2, 3], keepdims=True)
    spread = tf.sqrt(tf.reduce_mean(tf.square(gray - mean), axis=[1, 2, 3], keepdims=True) + 1e-4)
    return (gray - mean) / spread


def build_mouth_net(seed: int = 0):
    """[B, 32, 48, 1] mouth region -> [B, 1] opening x OPENING_SCALE."""
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    layers = tf_keras.layers
    inputs = tf_keras.Input((*MOUTH_SIZE, 1))
    x = inputs
    for width in (16, 32, 48):
        x = layers.Conv2D(width, 3, padding="same", activation="relu")(x)
        x = layers.MaxPool2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(32, activation="relu")(x)
    return tf_keras.Model(inputs, layers.Dense(1)(x), name="mouth_net")


def openings(mouth_net, clips):
    """uint8 [N, T, H, W, 3] clips -> float32 [N, T] mouth openings."""
    import tensorflow as tf

    shape = tf.shape(clips)
    frames = tf.reshape(clips, [-1, shape[2], shape[3], 3])
    values = mouth_net(mouth_regions(frames), training=False)[:, 0] / OPENING_SCALE
    return tf.reshape(values, [shape[0], shape[1]])


def _standard(x):
    import tensorflow as tf

    x = x - tf.reduce_mean(x, axis=1, keepdims=True)
    return x / tf.sqrt(tf.reduce_mean(tf.square(x), axis=1, keepdims=True) + 1e-6)


def _correlation(a, b):
    import tensorflow as tf

    return tf.reduce_mean(_standard(a) * _standard(b), axis=1)


def loudness(audio, frames: int):
    """float32 [N, S] audio -> [N, T] log RMS per frame (S / T samples each)."""
    import tensorflow as tf

    chunks = tf.reshape(audio, [tf.shape(audio)[0], frames, -1])
    return tf.math.log(tf.sqrt(tf.reduce_mean(tf.square(chunks), axis=2)) + 1e-4)


def sync_features(opening, audio, frames: int):
    """[N, T] mouth openings and [N, S] audio -> ([N, len(FEATURES)] features, [N] speech gate)."""
    import tensorflow as tf

    level = loudness(audio, frames)
    by_offset = []
    for k in range(-MAX_OFFSET, MAX_OFFSET + 1):  # the sound k frames after the mouth
        if k >= 0:
            by_offset.append(_correlation(opening[:, : frames - k], level[:, k:]))
        else:
            by_offset.append(_correlation(opening[:, -k:], level[:, : frames + k]))
    by_offset = tf.stack(by_offset, axis=1)
    change = _correlation(tf.abs(opening[:, 1:] - opening[:, :-1]), tf.abs(level[:, 1:] - level[:, :-1]))
    level_std = tf.math.reduce_std(level, axis=1)
    peak = tf.reduce_max(level, axis=1)
    features = tf.stack(
        [
            by_offset[:, MAX_OFFSET],
            tf.reduce_max(by_offset, axis=1),
            tf.reduce_mean(by_offset, axis=1),
            change,
            tf.math.log(tf.math.reduce_std(opening, axis=1) + 1e-3),
            level_std,
            peak,
        ],
        axis=1,
    )
    speech = tf.logical_and(level_std >= MIN_LOUDNESS_STD, peak >= MIN_PEAK_LOG_RMS)
    return features, tf.cast(speech, tf.float32)


@dataclass(frozen=True)
class Logistic:
    """Standardized features -> probability that the mouth does not follow the sound."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 3000) -> Logistic:
        """Gradient descent on the mean log loss plus ``l2`` x |weights|^2 / 2."""
        mean, scale = x.mean(0), x.std(0) + 1e-6
        z = (x - mean) / scale
        weights, bias = np.zeros(z.shape[1]), 0.0
        for _ in range(steps):
            p = 1.0 / (1.0 + np.exp(-(z @ weights + bias)))
            weights -= 0.5 * (z.T @ (p - y) / len(y) + l2 * weights)
            bias -= 0.5 * float(np.mean(p - y))
        return cls(mean, scale, weights, bias)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(((x - self.mean) / self.scale) @ self.weights + self.bias)))

    def in_graph(self, x):
        import tensorflow as tf

        z = (x - tf.constant(self.mean, tf.float32)) / tf.constant(self.scale, tf.float32)
        return tf.sigmoid(tf.linalg.matvec(z, tf.constant(self.weights, tf.float32)) + self.bias)

    def to_json(self) -> dict:
        return {k: np.asarray(v).tolist() for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: dict) -> Logistic:
        return cls(*(np.asarray(data[k], np.float64) for k in ("mean", "scale", "weights")), float(data["bias"]))
