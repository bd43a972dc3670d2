"""Load the trained judge and turn a source's frame detections into a `Verdict`.

Inference runs through one compiled tf.function (eager Keras `predict` costs about 100x more
per sequence). The judge directory holds judge.weights.h5 and judge.yaml (architecture,
threshold, and the numbers it was chosen with). A folder whose judge.yaml says
``runtime: tflite`` loads as the TFLite judge (rnn_judge/tflite.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import yaml

from rnn_judge.base import (  # noqa: F401 - re-exported: the judge's public names
    DEFAULT_JUDGE_DIR,
    SETTINGS_NAME,
    WEIGHTS_NAME,
    JudgeBase,
    JudgeError,
    JudgeOutput,
    likely_algorithm,
    read_settings,
)
from rnn_judge.model import JudgeConfig, build_judge


class Judge(JudgeBase):
    """The sequence judge with its decision threshold. Thread-safe."""

    def __init__(self, config: JudgeConfig, threshold: float, weights: Path | None = None):
        import tensorflow as tf

        self.config = config
        self.threshold = threshold
        self.model = build_judge(config)
        if weights is not None:
            self.model.load_weights(str(weights))
        self._lock = threading.Lock()
        self._predict = tf.function(
            lambda x, m: self.model([x, m], training=False),
            input_signature=[
                tf.TensorSpec([None, None, None, config.num_features], tf.float32),
                tf.TensorSpec([None, None], tf.float32),
            ],
        )

    @classmethod
    def load(cls, directory: Path = DEFAULT_JUDGE_DIR, threshold: float | None = None) -> JudgeBase:
        """The judge saved in ``directory``; JudgeError names the file and what is wrong. A
        folder whose judge.yaml says ``runtime: tflite`` holds the TFLite form
        (rnn_judge.tflite.TfliteJudge, no TensorFlow needed)."""
        config, chosen, settings = read_settings(directory)
        chosen = chosen if threshold is None else threshold
        if settings.get("runtime", "keras") == "tflite":
            from rnn_judge.tflite import TfliteJudge

            return TfliteJudge.from_folder(Path(directory), config, chosen, settings)
        weights = Path(directory) / WEIGHTS_NAME
        if not weights.is_file():
            raise JudgeError(f"{weights}: judge weights missing")
        try:
            return cls(config, chosen, weights)
        except (OSError, ValueError) as err:  # h5py and Keras: not HDF5, truncated, other shapes
            raise JudgeError(f"{weights}: cannot load the judge's weights ({str(err).splitlines()[0]})") from None

    def save(self, directory: Path, extra: dict | None = None) -> None:
        """Write judge.weights.h5 and judge.yaml (architecture, threshold, ``extra`` facts)."""
        from dataclasses import asdict

        from cnn_detector.atomic_file import atomic_write_text

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_weights(str(directory / WEIGHTS_NAME))
        settings = {"architecture": asdict(self.config), "threshold": float(self.threshold), **(extra or {})}
        atomic_write_text(directory / SETTINGS_NAME, yaml.safe_dump(settings, sort_keys=False))

    def run(self, features: np.ndarray) -> JudgeOutput:
        """features [T, D, F] of one source -> probability, attention [T], evidence [T, D]."""
        x = features[None].astype(np.float32)
        mask = np.ones((1, features.shape[0]), np.float32)
        with self._lock:
            probability, attention, evidence = self._predict(x, mask)
        return JudgeOutput(float(probability.numpy()[0, 0]), attention.numpy()[0], evidence.numpy()[0])

    def run_batch(self, batch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Padded batch [B, T, D, F] + frame mask [B, T] -> probabilities [B]."""
        with self._lock:
            probability, _, _ = self._predict(batch.astype(np.float32), mask.astype(np.float32))
        return probability.numpy()[:, 0]
