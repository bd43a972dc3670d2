"""The judge as a TFLite model (issue 24, part 4), for a runner without TensorFlow.

TFLite wants fixed shapes, and the judge allows them at no cost:

- **Frames** are padded to ``frames`` with a frame mask of 0. The GRU skips masked steps, and
  attention and the peak ignore them.
- **Detector streams** are padded to ``streams`` with all-zero features. A silent stream encodes
  to exactly zero, which changes neither the max nor the sum pooling: the judge's invariance to
  the detector set.

The GRU becomes a builtin WHILE loop; no flex op is needed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from cnn_detector.graph_trust import read_limited
from rnn_judge.base import SETTINGS_NAME, JudgeBase, JudgeError, JudgeOutput
from rnn_judge.model import JudgeConfig

MAX_FRAMES = 120  # the scan's frame budget per video (deepfake_scanner.defaults.MAX_FRAMES)
MAX_STREAMS = 16
MAX_JUDGE_BYTES = 16 * 1024 * 1024


def convert_judge(judge, frames: int = MAX_FRAMES, streams: int = MAX_STREAMS, precision: str = "float32") -> bytes:
    """A TFLite model of ``judge`` (rnn_judge.judge.Judge): (features [1, frames, streams, F],
    frame_mask [1, frames]) -> (probability [1, 1], attention, stream evidence)."""
    import tensorflow as tf

    model = judge.model
    features = judge.config.num_features
    function = tf.function(lambda x, mask: model([x, mask], training=False))
    concrete = function.get_concrete_function(
        tf.TensorSpec([1, frames, streams, features], tf.float32, name="features"),
        tf.TensorSpec([1, frames], tf.float32, name="frame_mask"),
    )
    from cnn_detector.tflite import convert_builtins_only

    return convert_builtins_only(tf.lite.TFLiteConverter.from_concrete_functions([concrete], model), precision)


class TfliteJudge(JudgeBase):
    """A converted judge run by a TFLite interpreter (ai-edge-litert's, else TensorFlow's): the
    same ``run``, ``decide`` and threshold as the Keras judge, with no TensorFlow needed."""

    def __init__(self, model: bytes, interpreter=None, config: JudgeConfig | None = None, threshold: float = 0.5):
        from cnn_detector.tflite import interpreter_class

        self.config = config or JudgeConfig()
        self.threshold = threshold
        self._lock = threading.Lock()
        self._net = (interpreter or interpreter_class())(model_content=model)
        self._net.allocate_tensors()
        inputs = sorted(self._net.get_input_details(), key=lambda d: len(d["shape"]))
        self._mask, self._features = inputs[0], inputs[1]
        self.frames, self.streams = int(self._features["shape"][1]), int(self._features["shape"][2])
        outputs = {tuple(int(v) for v in d["shape"]): d["index"] for d in self._net.get_output_details()}
        self._probability = outputs[(1, 1)]
        self._attention = outputs[(1, self.frames)]
        self._evidence = outputs[(1, self.frames, self.streams)]

    @classmethod
    def from_folder(cls, directory: Path, config: JudgeConfig, threshold: float, settings: dict) -> TfliteJudge:
        """The TFLite judge of a folder whose judge.yaml says runtime: tflite, ``model`` names the
        file and ``sha256`` its digest; JudgeError names the file and what is wrong."""
        from cnn_detector.errors import DeepfakeScannerError
        from cnn_detector.tflite import interpreter_class, verify_tflite_bytes

        name = str(settings.get("model", ""))
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise JudgeError(f"{directory / SETTINGS_NAME}: runtime tflite needs model, a file name in the folder")
        path = directory / name
        try:
            data = read_limited(path, MAX_JUDGE_BYTES)
            verify_tflite_bytes(data, path, str(settings.get("sha256", "")) or None, MAX_JUDGE_BYTES)
            if not settings.get("sha256"):
                raise DeepfakeScannerError(f"{path}: judge.yaml gives no sha256 for it")
            return cls(data, interpreter_class(), config, threshold)
        except DeepfakeScannerError as err:
            raise JudgeError(str(err)) from None
        except (ValueError, RuntimeError, StopIteration, KeyError) as err:
            raise JudgeError(f"{path}: not a judge model ({err})") from None

    def _invoke(self, features: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        count, detectors = features.shape[:2]
        if count > self.frames or detectors > self.streams:
            raise ValueError(f"at most {self.frames} frames and {self.streams} detectors, got {count} and {detectors}")
        x = np.zeros(self._features["shape"], np.float32)
        x[0, :count, :detectors] = features
        m = np.zeros(self._mask["shape"], np.float32)
        m[0, :count] = mask
        with self._lock:
            self._net.set_tensor(self._features["index"], x)
            self._net.set_tensor(self._mask["index"], m)
            self._net.invoke()
            probability = float(self._net.get_tensor(self._probability).reshape(-1)[0])
            attention = self._net.get_tensor(self._attention)[0, :count].copy()
            evidence = self._net.get_tensor(self._evidence)[0, :count, :detectors].copy()
        return probability, attention, evidence

    def probability(self, features: np.ndarray) -> float:
        """features [T, D, F] of one source (T <= frames, D <= streams) -> probability of fake."""
        return self._invoke(features, np.ones(features.shape[0], np.float32))[0]

    def run(self, features: np.ndarray) -> JudgeOutput:
        return JudgeOutput(*self._invoke(features, np.ones(features.shape[0], np.float32)))

    def run_batch(self, batch: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.array([self._invoke(x, m)[0] for x, m in zip(batch, mask)], np.float32)
