"""Small detector graphs with the exact Object Detection API contract, built in code.

They are real frozen graphs run by TensorFlow: a "colour patch" detector that boxes the
cells of an image whose pixels are close to a target colour. `build_tf1_colour_graph`
builds it the way the TF1 Object Detection API exporter did (v1 while loop over the batch
with TensorArrayV3, NonMaxSuppressionV5, TopKV2, Where, Assert), `build_tf2_colour_graph`
the way this project's exporter does (tf.function frozen by convert_variables_to_constants_v2).
Tests, benchmarks and contributors use them to exercise the whole path without training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnn_detector.contract import INPUT_NODE

GRID = 8
WORK_SIZE = 64


def _cell_boxes(grid: int = GRID) -> np.ndarray:
    step = 1.0 / grid
    return np.array(
        [[r * step, c * step, (r + 1) * step, (c + 1) * step] for r in range(grid) for c in range(grid)],
        dtype=np.float32,
    )


def _colour_scores(images, colours: Sequence[tuple[int, int, int]], tolerance: float):
    """[N, H, W, 3] uint8 -> [N, cells, classes]: fraction of each cell's pixels near each colour."""
    import tensorflow as tf

    x = tf.image.resize(tf.cast(images, tf.float32), [WORK_SIZE, WORK_SIZE])
    per_class = []
    for colour in colours:
        distance = tf.reduce_max(tf.abs(x - tf.constant(colour, tf.float32)), axis=-1, keepdims=True)
        near = tf.cast(distance < tolerance, tf.float32)
        pooled = tf.nn.avg_pool2d(near, WORK_SIZE // GRID, WORK_SIZE // GRID, "VALID")
        per_class.append(tf.reshape(pooled, [-1, GRID * GRID]))
    return tf.stack(per_class, axis=-1)


def _select(scores, boxes, max_detections: int):
    """Per image: best class per cell, NMS (V5), top-k, padded to max_detections."""
    import tensorflow as tf

    best = tf.reduce_max(scores, axis=-1)
    classes = tf.cast(tf.argmax(scores, axis=-1), tf.float32) + 1.0
    keep, kept_scores = tf.image.non_max_suppression_with_scores(
        boxes, best, max_output_size=max_detections, iou_threshold=0.5, score_threshold=0.05
    )
    top = tf.math.top_k(kept_scores, k=tf.size(kept_scores))
    order = tf.gather(keep, top.indices)
    count = tf.size(order)
    pad = max_detections - count
    out_boxes = tf.pad(tf.gather(boxes, order), [[0, pad], [0, 0]])
    out_scores = tf.pad(top.values, [[0, pad]])
    out_classes = tf.pad(tf.gather(classes, order), [[0, pad]])
    return out_boxes, out_scores, out_classes, tf.cast(count, tf.float32)


def build_tf1_colour_graph(
    colours: Sequence[tuple[int, int, int]] = ((255, 0, 0),),
    tolerance: float = 60.0,
    max_detections: int = 10,
    extra_op: str | None = None,
    extra_path: str = "/etc/hostname",
) -> bytes:
    """Serialized GraphDef in the TF1 exporter's style (v1 control flow, TensorArrayV3).

    extra_op: for tests of the trust checks only. ``"ReadFile"`` wires a file read into the
    scores; ``"WriteFile"`` writes ``extra_path`` when run; ``"ReadFileInFunction"`` hides the
    read inside a library function. The right tensor names are all there.
    """
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    graph = tf.Graph()
    was_v2 = control_flow_util.ENABLE_CONTROL_FLOW_V2
    control_flow_util.ENABLE_CONTROL_FLOW_V2 = False
    try:
        with graph.as_default():
            images = tf.compat.v1.placeholder(tf.uint8, [None, None, None, 3], name=INPUT_NODE)
            check = tf.debugging.Assert(tf.equal(tf.rank(images), 4), ["image_tensor must be rank 4"])
            with tf.control_dependencies([check]):
                scores = _colour_scores(images, colours, tolerance)
            if extra_op == "ReadFile":
                leak = tf.cast(tf.strings.length(tf.io.read_file(extra_path)), tf.float32)
                scores = scores + 0.0 * leak
            elif extra_op == "ReadFileInFunction":

                @tf.function
                def hidden(x):
                    return x + 0.0 * tf.cast(tf.strings.length(tf.io.read_file(extra_path)), tf.float32)

                scores = hidden(scores)
            boxes = tf.constant(_cell_boxes())
            out_boxes, out_scores, out_classes, num = tf.map_fn(
                lambda s: _select(s, boxes, max_detections),
                scores,
                fn_output_signature=(tf.float32, tf.float32, tf.float32, tf.float32),
            )
            dependencies = []
            if extra_op == "WriteFile":
                dependencies.append(tf.io.write_file(extra_path, "this graph ran"))
            with tf.control_dependencies(dependencies):
                tf.identity(out_boxes, name="detection_boxes")
                tf.identity(out_scores, name="detection_scores")
                tf.identity(out_classes, name="detection_classes")
                tf.identity(num, name="num_detections")
    finally:
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = was_v2
    return graph.as_graph_def().SerializeToString()


def build_tf2_colour_graph(
    colours: Sequence[tuple[int, int, int]] = ((255, 0, 0),), tolerance: float = 60.0, max_detections: int = 10
) -> bytes:
    """The same detector as a TF2 tf.function frozen by this project's exporter."""
    import tensorflow as tf

    from cnn_detector.export import freeze_detection_function, image_tensor_spec, name_outputs

    boxes = tf.constant(_cell_boxes())
    weight = tf.Variable(1.0, name="score_scale")  # a variable, so freezing has work to do

    @tf.function(input_signature=[image_tensor_spec()])
    def serve(images):
        scores = _colour_scores(images, colours, tolerance) * weight
        out = tf.map_fn(
            lambda s: _select(s, boxes, max_detections),
            scores,
            fn_output_signature=(tf.float32, tf.float32, tf.float32, tf.float32),
        )
        return name_outputs(*out)

    return freeze_detection_function(serve)
