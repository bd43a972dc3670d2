"""Shipped detectors as TFLite models (issue 24, part 4): conversion, and the NumPy
post-processing that turns a TFLite model's outputs into the detection contract.

TFLite has no CombinedNonMaxSuppression among its builtin ops (and flex ops, which would run
TensorFlow kernels, are refused like any op outside the allowlist). So a RetinaNet detector is
converted up to the NMS's inputs (per-anchor boxes in input pixels and per-class scores), and
`combined_nms` does in NumPy what the graph's NMS and the few ops after it do (boxes over the
input size clipped to [0, 1], classes + 1). A graph without NMS is converted whole, with the
four contract outputs. Only builtin ops are allowed in either case.

The post-processing imports NumPy only, so an on-device runner needs no TensorFlow.

A detector directory whose detector.yaml says ``runtime: tflite`` is loaded by
`load_tflite_detector` (through `cnn_detector.frozen_graph.load_detector`) after the same kind of
trust checks a frozen graph gets: size limit, sha256, a TFLite flatbuffer, no custom, flex or
delegate op, and the contract (one uint8 [1, H, W, 3] input at input_size; the NMS inputs
named in detector.yaml, or the four contract outputs).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.boxes import iou_one_to_many
from cnn_detector.errors import UntrustedGraphError
from cnn_detector.graph_trust import check_size_and_digest, read_limited
from cnn_detector.registry import DetectorSpec
from cnn_detector.runner import DetectorRunner, LoadOptions, RawDetections

NMS_OP = "CombinedNonMaxSuppression"
CONTRACT_OUTPUTS = ("detection_boxes", "detection_scores", "detection_classes", "num_detections")


@dataclass(frozen=True)
class NmsParameters:
    """What a graph's CombinedNonMaxSuppression was built with."""

    boxes: str  # the tensor names of its inputs
    scores: str
    per_class: int
    total: int
    iou: float
    score_threshold: float


def nms_parameters(graph_def) -> NmsParameters | None:
    """The NMS of a frozen graph (None when it has none)."""
    from tensorflow.python.framework import tensor_util

    nodes = {n.name: n for n in graph_def.node}
    nms = next((n for n in graph_def.node if n.op == NMS_OP), None)
    if nms is None:
        return None

    def constant(name: str):
        node = nodes[name.split(":")[0]]
        if node.op != "Const":
            raise ValueError(f"{NMS_OP} input {name} is not a constant ({node.op})")
        return tensor_util.MakeNdarray(node.attr["value"].tensor).item()

    boxes, scores, per_class, total, iou, threshold = nms.input[:6]
    return NmsParameters(
        boxes, scores, int(constant(per_class)), int(constant(total)), float(constant(iou)), float(constant(threshold))
    )


def convert(
    graph_def, input_size: tuple[int, int], precision: str = "float16", representative=None
) -> tuple[bytes, NmsParameters | None]:
    """A TFLite model of a verified frozen detector graph (batch 1, uint8 input), and the NMS
    parameters its outputs need (None: the model gives the contract outputs itself).
    ``precision``: float32, float16 (weights) or int8 (weights and activations, calibrated on
    ``representative``: uint8 images [H, W, 3] at input_size)."""
    import tempfile

    import tensorflow as tf

    nms = nms_parameters(graph_def)
    outputs = [nms.boxes.split(":")[0], nms.scores.split(":")[0]] if nms else list(CONTRACT_OUTPUTS)
    with tempfile.NamedTemporaryFile(suffix=".pb") as handle:
        handle.write(graph_def.SerializeToString())
        handle.flush()
        converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
            handle.name, ["image_tensor"], outputs, input_shapes={"image_tensor": [1, *input_size, 3]}
        )
    batches = None if representative is None else [image[None].astype(np.uint8) for image in representative]
    return convert_builtins_only(converter, precision, batches), nms


PRECISIONS = ("float32", "float16", "int8")


def convert_builtins_only(converter, precision: str, representative=None) -> bytes:
    """Run a TFLiteConverter with builtin ops only (no flex or custom op can be emitted) and
    ``precision`` float32, float16 weights, or int8 (post-training quantization of weights and
    activations, calibrated on ``representative``: a list of input lists or arrays; inputs and
    outputs keep their types, ops without an int8 kernel stay float)."""
    import tensorflow as tf

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if precision == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif precision == "int8":
        if not representative:
            raise ValueError("int8 needs a representative set to calibrate activations")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (x if isinstance(x, list) else [x] for x in representative)
    elif precision != "float32":
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return converter.convert()


def combined_nms(
    boxes: np.ndarray, scores: np.ndarray, nms: NmsParameters, input_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image: boxes [A, 1, 4] (or [A, 4]) in input pixels, scores [A, C] -> the contract's
    (boxes [K, 4] normalized and clipped, scores [K], classes [K] 1-based), best first: greedy
    per-class NMS (a box goes when its IoU with a kept one exceeds the threshold), at most
    ``per_class`` a class and ``total`` in all, as CombinedNonMaxSuppression does."""
    boxes = boxes.reshape(-1, 4).astype(np.float64)
    kept = []
    for c in range(scores.shape[1]):
        column = scores[:, c]
        order = np.flatnonzero(column > nms.score_threshold)
        order = order[np.argsort(-column[order], kind="stable")]
        chosen = 0
        while order.size and chosen < nms.per_class:
            best = order[0]
            kept.append((float(column[best]), c, best))
            chosen += 1
            order = order[1:][iou_one_to_many(boxes[best], boxes[order[1:]]) <= nms.iou]
    kept.sort(key=lambda k: -k[0])
    kept = kept[: nms.total]
    height, width = input_size
    scale = np.array([height, width, height, width], np.float64)
    out_boxes = np.clip(np.array([boxes[i] for _, _, i in kept]).reshape(-1, 4) / scale, 0.0, 1.0)
    return (
        out_boxes.astype(np.float32),
        np.array([s for s, _, _ in kept], np.float32),
        np.array([c + 1 for _, c, _ in kept], np.int64),
    )


REFUSED_BUILTINS = ("CUSTOM", "DELEGATE", "STABLEHLO_CUSTOM_CALL")


def _schema():
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:
        from tensorflow.lite.python import schema_py_generated
    return schema_py_generated


def model_ops(model: bytes) -> set[str]:
    """The operators a TFLite model declares, read from its flatbuffer before any interpreter
    sees it: builtin ops by name (ADD, WHILE, ...), custom ops (flex ops are custom ops named
    Flex...) as ``CUSTOM:<name>``. ValueError when the bytes are not a TFLite model."""
    schema = _schema()
    builtins = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    try:
        root = schema.Model.GetRootAs(model, 0)
        ops = set()
        for i in range(root.OperatorCodesLength()):
            code = root.OperatorCodes(i)
            number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = builtins.get(number, f"UNKNOWN_BUILTIN_{number}")
            if name == "CUSTOM":
                name = f"CUSTOM:{(code.CustomCode() or b'').decode('utf-8', 'replace')}"
            ops.add(name)
        return ops
    except Exception as err:  # a malformed flatbuffer fails in many ways (struct, index, unicode)
        raise ValueError(f"not a readable TFLite flatbuffer ({type(err).__name__})") from None


def refused_tflite_ops(model: bytes) -> set[str]:
    """Ops a TFLite detector or judge may not use: custom ops (flex ops, which run TensorFlow
    kernels outside the allowlist, among them), delegate and custom-call ops, and builtin codes
    this runtime does not know."""
    return {op for op in model_ops(model) if op.split(":")[0] in REFUSED_BUILTINS or op.startswith("UNKNOWN_BUILTIN")}


def interpreter_class():
    """ai-edge-litert's Interpreter (what a phone or a TensorFlow-free install runs), else
    TensorFlow's own."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from tensorflow.lite.python.interpreter import Interpreter
    return Interpreter


def verify_tflite_bytes(data: bytes, path: Path | str, expected_sha256: str | None, max_bytes: int) -> str:
    """The trust checks of a TFLite detector model before it runs: size, sha256, a TFLite
    flatbuffer, and no custom, flex (TensorFlow kernels) or delegate op. Returns the sha256;
    UntrustedGraphError names the file and what is wrong."""
    path = Path(path)
    digest = check_size_and_digest(data, path, expected_sha256, max_bytes)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UntrustedGraphError(f"{path}: not a TFLite model (no TFL3 flatbuffer identifier)")
    try:
        refused = refused_tflite_ops(data)
    except ValueError as err:
        raise UntrustedGraphError(f"{path}: not a TFLite model: {err}") from None
    if refused:
        raise UntrustedGraphError(f"{path}: refused TFLite op(s), custom or flex: {', '.join(sorted(refused))}")
    return digest


class TfliteDetector:
    """A converted detector run by a TFLite interpreter: ``detect(image)`` gives the contract's
    (boxes, scores, classes) for one RGB uint8 image already at input_size. ``interpreter`` is
    TensorFlow's or ai-edge-litert's Interpreter class."""

    def __init__(
        self, model: bytes, input_size: tuple[int, int], nms: NmsParameters | None, interpreter, threads: int = 0
    ):
        self.input_size, self.nms = tuple(input_size), nms
        self._net = interpreter(model_content=model, num_threads=threads or None)
        self._net.allocate_tensors()
        self._input = self._net.get_input_details()[0]["index"]
        self._outputs = {d["name"]: d["index"] for d in self._net.get_output_details()}

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._net.set_tensor(self._input, image[None].astype(np.uint8))
        self._net.invoke()
        if self.nms is not None:
            boxes = self._net.get_tensor(self._outputs[self.nms.boxes.split(":")[0]])[0]
            scores = self._net.get_tensor(self._outputs[self.nms.scores.split(":")[0]])[0]
            return combined_nms(boxes, scores, self.nms, self.input_size)
        out = {name: self._net.get_tensor(self._outputs[name])[0] for name in CONTRACT_OUTPUTS}
        count = int(out["num_detections"])
        return (
            out["detection_boxes"][:count],
            out["detection_scores"][:count],
            out["detection_classes"][:count].astype(np.int64),
        )

    def check_contract(self, path: Path) -> None:
        """One uint8 [1, H, W, 3] input at input_size and the outputs it is read through."""
        inputs = self._net.get_input_details()
        shape = [int(v) for v in inputs[0]["shape"]] if len(inputs) == 1 else []
        if len(inputs) != 1 or inputs[0]["dtype"] != np.uint8 or shape != [1, *self.input_size, 3]:
            got = [(d["name"], d["dtype"].__name__, [int(v) for v in d["shape"]]) for d in inputs]
            height, width = self.input_size
            raise UntrustedGraphError(f"{path}: input must be one uint8 [1, {height}, {width}, 3] image, got {got}")
        needed = [self.nms.boxes, self.nms.scores] if self.nms else list(CONTRACT_OUTPUTS)
        missing = [name for name in (n.split(":")[0] for n in needed) if name not in self._outputs]
        if missing:
            raise UntrustedGraphError(f"{path}: missing output(s) {missing}; it has {sorted(self._outputs)}")


class TfliteGraphDetector(DetectorRunner):
    """A registered detector in TFLite form (detector.yaml runtime: tflite), run image by image
    (the model's batch is 1) under the shared detect/prepare of DetectorRunner."""

    def __init__(self, spec: DetectorSpec, model: bytes, digest: str, options: LoadOptions, interpreter):
        self.spec, self.options, self.graph_sha256 = spec, options, digest
        nms = NmsParameters(**spec.manifest.nms) if spec.manifest.nms else None
        try:
            self._core = TfliteDetector(model, spec.manifest.input_size, nms, interpreter, options.threads)
        except (ValueError, RuntimeError) as err:
            raise UntrustedGraphError(f"{spec.graph_path}: TFLite model does not load: {err}") from None
        self._core.check_contract(spec.graph_path)
        self._lock = threading.Lock()

    def run(self, batch: np.ndarray, audio: np.ndarray | None = None) -> list[RawDetections]:
        self.check_batch(batch)
        results = []
        with self._lock:
            for image in batch:
                boxes, scores, classes = self._core.detect(image)
                results.append(RawDetections(np.asarray(boxes, np.float32), np.asarray(scores, np.float32), classes))
        return results


def load_tflite_detector(spec: DetectorSpec, options: LoadOptions = LoadOptions(), interpreter=None):
    """Verify a runtime: tflite detector's model (size, sha256, ops, contract) and load it."""
    interpreter = interpreter or interpreter_class()
    data = read_limited(spec.graph_path, options.max_graph_bytes)
    digest = verify_tflite_bytes(data, spec.graph_path, spec.manifest.sha256, options.max_graph_bytes)
    return TfliteGraphDetector(spec, data, digest, options, interpreter)
