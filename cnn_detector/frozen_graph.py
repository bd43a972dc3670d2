"""Load a verified frozen graph once and run it: raw OD-API tensors become `Detection`s here.

One `tf.Graph` and one `tf.compat.v1.Session` per detector, created once and reused;
`Session.run` releases the GIL, so one thread per detector runs them in parallel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from cnn_detector.contract import AUDIO_NODE, INPUT_NODE, OUTPUT_NODES, tensor_name
from cnn_detector.errors import DeepfakeScannerError, UntrustedGraphError
from cnn_detector.graph_trust import VerifiedGraph, read_and_verify_graph
from cnn_detector.registry import DetectorSpec
from cnn_detector.runner import (  # noqa: F401 - re-exported: callers load and run detectors from here
    DetectorRunner,
    LoadOptions,
    RawDetections,
    map_box_to_frame,
    resize_to_input,
    to_detections,
)
from cnn_detector.tflite import load_tflite_detector


class FrozenGraphDetector(DetectorRunner):
    """A detector graph that passed the trust checks, loaded into its own session."""

    def __init__(self, spec: DetectorSpec, verified: VerifiedGraph, options: LoadOptions = LoadOptions()):
        import tensorflow as tf

        self.spec = spec
        self.options = options
        self.graph_sha256 = verified.sha256
        self._graph = tf.Graph()
        with self._graph.as_default():
            try:
                tf.import_graph_def(verified.graph_def, name="")
            except (ValueError, tf.errors.OpError) as err:
                raise UntrustedGraphError(f"{spec.graph_path}: graph does not import: {err}") from None
        self._check_contract()
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=options.threads, inter_op_parallelism_threads=options.threads
        )
        self._session = tf.compat.v1.Session(graph=self._graph, config=config)
        self._fetches = [self._graph.get_tensor_by_name(tensor_name(node)) for node in OUTPUT_NODES]
        self._input = self._graph.get_tensor_by_name(tensor_name(INPUT_NODE))
        audio = spec.manifest.input == "face_clip_audio"
        self._audio = self._graph.get_tensor_by_name(tensor_name(AUDIO_NODE)) if audio else None
        self._lock = threading.Lock()
        self._run_options = tf.compat.v1.RunOptions(timeout_in_ms=options.run_timeout_ms)

    def _check_contract(self) -> None:
        import tensorflow as tf

        path = self.spec.graph_path
        try:
            image = self._graph.get_operation_by_name(INPUT_NODE)
        except KeyError:
            raise UntrustedGraphError(
                f"{path}: no input node {INPUT_NODE!r}; not an Object Detection API graph"
            ) from None
        if image.type != "Placeholder" or image.get_attr("dtype") != tf.uint8:
            raise UntrustedGraphError(f"{path}: {INPUT_NODE} must be a uint8 Placeholder, got {image.type}")
        shape = image.outputs[0].shape
        manifest = self.spec.manifest
        rank, layout = (5, "[N, T, H, W, 3]") if manifest.is_clip else (4, "[N, H, W, 3]")
        if shape.rank is not None and (shape.rank != rank or shape[-1] not in (None, 3)):
            raise UntrustedGraphError(f"{path}: {INPUT_NODE} must be {layout} for input {manifest.input}, got {shape}")
        if manifest.input == "face_clip_audio":
            try:
                audio = self._graph.get_operation_by_name(AUDIO_NODE)
            except KeyError:
                raise UntrustedGraphError(f"{path}: input face_clip_audio needs an {AUDIO_NODE!r} input") from None
            audio_shape = audio.outputs[0].shape
            if (
                audio.type != "Placeholder"
                or audio.get_attr("dtype") != tf.float32
                or audio_shape.rank not in (None, 2)
            ):
                raise UntrustedGraphError(f"{path}: {AUDIO_NODE} must be a float32 Placeholder [N, S]")
        for node in OUTPUT_NODES:
            try:
                self._graph.get_operation_by_name(node)
            except KeyError:
                raise UntrustedGraphError(f"{path}: missing output node {node!r}") from None

    def run(self, batch: np.ndarray, audio: np.ndarray | None = None) -> list[RawDetections]:
        """Run the graph on a uint8 batch [N, H, W, 3] (RGB), or [N, T, H, W, 3] clips (with
        float32 [N, S] audio for face_clip_audio detectors); one RawDetections per item."""
        self.check_batch(batch)
        feed = {self._input: batch}
        if self._audio is not None:
            if audio is None or audio.dtype != np.float32 or audio.shape != (batch.shape[0], audio.shape[-1]):
                got = None if audio is None else (audio.dtype, audio.shape)
                raise ValueError(f"{self.name}: expected float32 audio [{batch.shape[0]}, S], got {got}")
            feed[self._audio] = audio
        with self._lock:
            boxes, scores, classes, num = self._session.run(self._fetches, feed, options=self._run_options)
        results = []
        for i in range(batch.shape[0]):
            k = int(min(max(num[i], 0), scores.shape[1]))
            results.append(
                RawDetections(
                    boxes=np.asarray(boxes[i, :k], np.float32),
                    scores=np.asarray(scores[i, :k], np.float32),
                    classes=np.rint(classes[i, :k]).astype(np.int64),
                )
            )
        return results

    def close(self) -> None:
        self._session.close()


def load_detector(spec: DetectorSpec, options: LoadOptions = LoadOptions()) -> DetectorRunner:
    """Verify a registered detector's model (size, sha256, op allowlist, contract) and load it:
    a frozen graph, or a TFLite model where detector.yaml says runtime: tflite."""
    if spec.manifest.runtime == "tflite":
        return load_tflite_detector(spec, options)
    verified = read_and_verify_graph(
        spec.graph_path, spec.manifest.sha256, options.max_graph_bytes, options.allowed_ops
    )
    return FrozenGraphDetector(spec, verified, options)


def load_usable_detectors(
    specs: Sequence[DetectorSpec], options: LoadOptions, on_skip: Callable[[str, DeepfakeScannerError], None]
) -> list[DetectorRunner]:
    """Verify and load each graph; one that fails a check is passed to ``on_skip(name, error)``
    and left out. Raises DeepfakeScannerError when none is usable."""
    loaded = []
    for spec in specs:
        try:
            loaded.append(load_detector(spec, options))
        except DeepfakeScannerError as err:
            on_skip(spec.name, err)
    if not loaded:
        raise DeepfakeScannerError("no usable detector: add one under frozen_models/ or pass --detectors DIR")
    return loaded
