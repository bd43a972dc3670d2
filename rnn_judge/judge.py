"""Load the trained judge and turn a source's frame detections into a `Verdict`.

Inference runs through one compiled tf.function (eager Keras `predict` costs about 100x more
per sequence). The judge directory holds judge.weights.h5 and judge.yaml (architecture,
threshold, and the numbers it was chosen with)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.types import Detection, FrameDetections, Verdict
from rnn_judge.features import NUM_FEATURES, sequence_features
from rnn_judge.model import JudgeConfig, build_judge

DEFAULT_JUDGE_DIR = PROJECT_ROOT / "rnn_judge" / "trained"
WEIGHTS_NAME = "judge.weights.h5"
SETTINGS_NAME = "judge.yaml"


class JudgeError(DeepfakeScannerError):
    """The judge directory is missing or malformed."""


@dataclass(frozen=True)
class JudgeOutput:
    probability: float
    attention: np.ndarray  # [T]
    evidence: np.ndarray  # [T, D]


class Judge:
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
    def load(cls, directory: Path = DEFAULT_JUDGE_DIR, threshold: float | None = None) -> Judge:
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

    def lone_detector_ceiling(self, detectors: Sequence[str]) -> float:
        """The probability a still reaches when exactly one detector fires on its face at full
        strength and every other is silent: with a threshold at or above it, no detector alone
        can call a still fake, so widening the detector set cannot add recall on its own."""
        names = tuple(detectors)
        face = (0.2, 0.2, 0.8, 0.8)
        found = Detection(box=face, score=1.0, class_id=1, label="evidence", detector=names[0])
        frame = FrameDetections("ceiling", 0, 0.0, (100, 100), faces=(face,), detections=(found,))
        return float(self.run(sequence_features([frame], names)).probability)

    def decide(self, source: str, frames: Sequence[FrameDetections], detectors: Sequence[str]) -> Verdict:
        """The verdict for one source. Frames without a face are not judged; a source with no
        face on any frame is ``no_face``, not a guess."""
        names = tuple(detectors)
        judged = [f for f in frames if f.faces]
        if not judged:
            return Verdict(source, "no_face", frames_used=0, detectors=names, threshold=self.threshold)
        output = self.run(sequence_features(judged, names))
        is_fake = output.probability >= self.threshold
        algorithm = likely_algorithm(judged, names, output) if is_fake else ""
        return Verdict(
            source=source,
            status="ok",
            is_fake=bool(is_fake),
            fake_probability=round(output.probability, 6),
            threshold=self.threshold,
            likely_algorithm=algorithm,
            frames_used=len(judged),
            detectors=names,
        )


def read_settings(directory: Path | str) -> tuple[JudgeConfig, float, dict]:
    """(architecture, threshold, every setting) of a judge folder's judge.yaml, checked;
    JudgeError names the file and what is wrong."""
    directory = Path(directory)
    if not directory.is_dir():
        raise JudgeError(f"{directory}: not a judge folder (expected {SETTINGS_NAME} and {WEIGHTS_NAME} in it)")
    settings_path = directory / SETTINGS_NAME
    if settings_path.exists() and not settings_path.is_file():
        raise JudgeError(f"{settings_path}: not a regular file")
    try:
        settings = yaml.safe_load(settings_path.read_text(encoding="utf-8"))
        config = JudgeConfig(**settings["architecture"])
        chosen = float(settings["threshold"])
    except FileNotFoundError:
        raise JudgeError(f"{settings_path}: no trained judge here (train one with tools/train_judge.py)") from None
    except (KeyError, TypeError, ValueError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise JudgeError(f"{settings_path}: malformed judge settings ({err})") from None
    except OSError as err:
        raise JudgeError(f"{settings_path}: cannot be read ({err.strerror or err})") from None
    problem = config.problem()
    if problem:
        raise JudgeError(f"{settings_path}: {problem}")
    if not 0.0 <= chosen <= 1.0:
        raise JudgeError(f"{settings_path}: threshold must be in [0, 1], got {chosen}")
    if config.num_features != NUM_FEATURES:
        raise JudgeError(f"{settings_path}: judge expects {config.num_features} features, code makes {NUM_FEATURES}")
    return config, chosen, settings


def likely_algorithm(frames: Sequence[FrameDetections], detectors: Sequence[str], output: JudgeOutput) -> str:
    """``detector:label`` of the stream that contributed most on the frames the judge attended
    to, and that detector's strongest class there."""
    if not detectors:
        return ""
    weighted = (output.attention[:, None] * output.evidence).sum(axis=0)
    if not weighted.max() > 0:
        return ""  # no detector fired: nothing to name
    detector = detectors[int(np.argmax(weighted))]
    best = None
    for frame, weight in zip(frames, output.attention):
        for det in frame.detections:
            if det.detector == detector and (best is None or det.score * weight > best[0]):
                best = (det.score * weight, det.label)
    return f"{detector}:{best[1]}" if best else detector
