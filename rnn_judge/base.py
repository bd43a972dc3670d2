"""What every form of the judge shares (issue 24): its folder's settings, its errors and output,
and the decision (`JudgeBase.decide`) over a network's ``run``. The Keras judge
(rnn_judge/judge.py) and the TFLite judge (rnn_judge/tflite.py, no TensorFlow) subclass it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.types import Detection, FrameDetections, Verdict
from rnn_judge.features import NUM_FEATURES, sequence_features
from rnn_judge.model import JudgeConfig

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


class JudgeBase:
    """A judge with its decision threshold: subclasses give ``run`` (one source's features
    [T, D, F] -> JudgeOutput) and ``run_batch``; the decision is shared."""

    config: JudgeConfig
    threshold: float

    def run(self, features: np.ndarray) -> JudgeOutput:
        raise NotImplementedError

    def run_batch(self, batch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

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
