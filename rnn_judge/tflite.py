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

import numpy as np

MAX_FRAMES = 120  # the scan's frame budget per video (deepfake_scanner.defaults.MAX_FRAMES)
MAX_STREAMS = 16


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


class TfliteJudge:
    """A converted judge run by a TFLite interpreter (TensorFlow's or ai-edge-litert's)."""

    def __init__(self, model: bytes, interpreter):
        self._net = interpreter(model_content=model)
        self._net.allocate_tensors()
        inputs = sorted(self._net.get_input_details(), key=lambda d: len(d["shape"]))
        self._mask, self._features = inputs[0], inputs[1]
        self.frames, self.streams = int(self._features["shape"][1]), int(self._features["shape"][2])
        outputs = self._net.get_output_details()
        self._probability = next(d["index"] for d in outputs if list(d["shape"]) == [1, 1])

    def probability(self, features: np.ndarray) -> float:
        """features [T, D, F] of one source (T <= frames, D <= streams) -> probability of fake."""
        count, detectors = features.shape[:2]
        if count > self.frames or detectors > self.streams:
            raise ValueError(f"at most {self.frames} frames and {self.streams} detectors, got {count} and {detectors}")
        x = np.zeros(self._features["shape"], np.float32)
        x[0, :count, :detectors] = features
        mask = np.zeros(self._mask["shape"], np.float32)
        mask[0, :count] = 1.0
        self._net.set_tensor(self._features["index"], x)
        self._net.set_tensor(self._mask["index"], mask)
        self._net.invoke()
        return float(self._net.get_tensor(self._probability).reshape(-1)[0])
