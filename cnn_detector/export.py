"""Freeze a TF2 serving function into a GraphDef with the Object Detection API contract.

The serving function takes ``image_tensor`` (uint8 [N, H, W, 3]) and returns the four
contract outputs; `freeze_detection_function` inlines variables as constants
(`convert_variables_to_constants_v2`), names the outputs exactly as the TF1 exporter did, and
checks the result against the op allowlist before anyone ships it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cnn_detector.atomic_file import atomic_write_bytes
from cnn_detector.contract import (
    AUDIO_NODE,
    BOXES_NODE,
    CLASSES_NODE,
    INPUT_NODE,
    NUM_DETECTIONS_NODE,
    OUTPUT_NODES,
    SCORES_NODE,
)
from cnn_detector.graph_trust import VerifiedGraph, verify_graph_bytes


def name_outputs(boxes, scores, classes, num_detections) -> dict:
    """Wrap raw outputs in Identity ops carrying the contract names (float32 throughout)."""
    import tensorflow as tf

    return {
        BOXES_NODE: tf.identity(tf.cast(boxes, tf.float32), name=BOXES_NODE),
        SCORES_NODE: tf.identity(tf.cast(scores, tf.float32), name=SCORES_NODE),
        CLASSES_NODE: tf.identity(tf.cast(classes, tf.float32), name=CLASSES_NODE),
        NUM_DETECTIONS_NODE: tf.identity(tf.cast(num_detections, tf.float32), name=NUM_DETECTIONS_NODE),
    }


def image_tensor_spec():
    import tensorflow as tf

    return tf.TensorSpec([None, None, None, 3], tf.uint8, name=INPUT_NODE)


def clip_tensor_specs(audio: bool = False) -> tuple:
    """The inputs of a clip detector: uint8 [N, T, H, W, 3], and with ``audio`` float32 [N, S]."""
    import tensorflow as tf

    clips = tf.TensorSpec([None, None, None, None, 3], tf.uint8, name=INPUT_NODE)
    return (clips, tf.TensorSpec([None, None], tf.float32, name=AUDIO_NODE)) if audio else (clips,)


def freeze_detection_function(serve: Callable, input_specs: tuple | None = None) -> bytes:
    """Freeze ``serve`` (uint8 images -> dict from `name_outputs`) into GraphDef bytes;
    ``input_specs`` (default: `image_tensor_spec`) for clip detectors, `clip_tensor_specs`."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    function = serve if hasattr(serve, "get_concrete_function") else tf.function(serve)
    concrete = function.get_concrete_function(*(input_specs or (image_tensor_spec(),)))
    frozen = convert_variables_to_constants_v2(concrete)
    graph_def = frozen.graph.as_graph_def()
    names = {node.name for node in graph_def.node}
    missing = [n for n in (INPUT_NODE, *OUTPUT_NODES) if n not in names]
    if missing:
        raise ValueError(f"frozen graph lacks contract node(s) {missing}; wrap outputs with name_outputs()")
    return graph_def.SerializeToString()


def write_frozen_graph(data: bytes, path: Path) -> VerifiedGraph:
    """Check the graph as a user's scanner would (allowlist), then write it atomically."""
    verified = verify_graph_bytes(data, path, expected_sha256=None)
    atomic_write_bytes(Path(path), data)
    return verified
