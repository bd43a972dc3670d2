"""Shipped detectors as TFLite models (issue 24, part 4): conversion, and the NumPy
post-processing that turns a TFLite model's outputs into the detection contract.

TFLite has no CombinedNonMaxSuppression among its builtin ops (and flex ops, which would run
TensorFlow kernels, are refused like any op outside the allowlist). So a RetinaNet detector is
converted up to the NMS's inputs (per-anchor boxes in input pixels and per-class scores), and
`combined_nms` does in NumPy what the graph's NMS and the few ops after it do (boxes over the
input size clipped to [0, 1], classes + 1). A graph without NMS is converted whole, with the
four contract outputs. Only builtin ops are allowed in either case.

The post-processing imports NumPy only, so an on-device runner needs no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_detector.boxes import iou_one_to_many

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


def convert(graph_def, input_size: tuple[int, int], precision: str = "float16") -> tuple[bytes, NmsParameters | None]:
    """A TFLite model of a verified frozen detector graph (batch 1, uint8 input), and the NMS
    parameters its outputs need (None: the model gives the contract outputs itself).
    ``precision``: float32 or float16 (weights)."""
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
    return convert_builtins_only(converter, precision), nms


def convert_builtins_only(converter, precision: str) -> bytes:
    """Run a TFLiteConverter with builtin ops only (no flex or custom op can be emitted) and
    ``precision`` float32 or float16 weights."""
    import tensorflow as tf

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if precision == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif precision != "float32":
        raise ValueError(f"precision must be float32 or float16, got {precision!r}")
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


def model_ops(model: bytes, interpreter) -> set[str]:
    """The op names of a TFLite model, as its interpreter reports them."""
    net = interpreter(model_content=model)
    return {op["op_name"] for op in net._get_ops_details()}


def refused_tflite_ops(model: bytes, interpreter) -> set[str]:
    """Ops a TFLite detector may not use: custom ops and flex ops (TensorFlow kernels, outside
    the allowlist), reported by name."""
    return {op for op in model_ops(model, interpreter) if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")}


class TfliteDetector:
    """A converted detector run by a TFLite interpreter: ``detect(image)`` gives the contract's
    (boxes, scores, classes) for one RGB uint8 image already at input_size. ``interpreter`` is
    TensorFlow's or ai-edge-litert's Interpreter class."""

    def __init__(self, model: bytes, input_size: tuple[int, int], nms: NmsParameters | None, interpreter):
        self.input_size, self.nms = tuple(input_size), nms
        self._net = interpreter(model_content=model)
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
