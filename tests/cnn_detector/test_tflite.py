"""Shipped detectors as TFLite: the NumPy NMS does what TensorFlow's CombinedNonMaxSuppression
does, a converted detector uses builtin ops only, and its detections match the frozen graph's."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_detector.tflite import (
    NmsParameters,
    TfliteDetector,
    combined_nms,
    convert,
    interpreter_class,
    refused_tflite_ops,
)


def test_the_numpy_nms_matches_tensorflows_combined_nms():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 140, (300, 2))
    sizes = rng.uniform(8, 60, (300, 2))
    boxes = np.concatenate([corners, corners + sizes], axis=1).astype(np.float32)  # y0, x0, y1, x1 in pixels
    scores = rng.uniform(0, 1, (300, 2)).astype(np.float32) ** 3
    nms = NmsParameters("b", "s", per_class=10, total=10, iou=0.5, score_threshold=0.01)
    expected = tf.image.combined_non_max_suppression(
        boxes[None, :, None, :], scores[None], 10, 10, iou_threshold=0.5, score_threshold=0.01, clip_boxes=False
    )
    got_boxes, got_scores, got_classes = combined_nms(boxes[:, None, :], scores, nms, (160, 160))
    count = int(expected.valid_detections[0])
    np.testing.assert_allclose(got_scores, expected.nmsed_scores[0, :count], atol=1e-6)
    np.testing.assert_array_equal(got_classes, expected.nmsed_classes[0, :count].numpy().astype(np.int64) + 1)
    np.testing.assert_allclose(got_boxes, np.clip(expected.nmsed_boxes[0, :count] / 160.0, 0, 1), atol=1e-5)


@pytest.fixture(scope="module")
def gan_face():
    from cnn_detector.frozen_graph import load_detector, read_and_verify_graph
    from cnn_detector.registry import discover_detectors

    spec = next(s for s in discover_detectors(include_environment=False).select() if s.name == "gan_face")
    graph_def = read_and_verify_graph(spec.graph_path, spec.manifest.sha256).graph_def
    with load_detector(spec) as frozen:
        yield spec, graph_def, frozen


@pytest.mark.parametrize("precision", ["float32", "float16"])
def test_a_converted_detector_finds_what_its_frozen_graph_finds(gan_face, precision):
    import cv2

    from cnn_detector.frozen_graph import resize_to_input
    from cnn_detector.registry import PROJECT_ROOT

    spec, graph_def, frozen = gan_face
    size = tuple(spec.manifest.input_size)
    model, nms = convert(graph_def, size, precision)
    assert nms is not None and nms.total == 10
    assert refused_tflite_ops(model) == set()
    detector = TfliteDetector(model, size, nms, interpreter_class())
    for path in sorted((PROJECT_ROOT / "samples").glob("*.jpg")):
        image = resize_to_input(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), *size)
        boxes, scores, classes = detector.detect(image)
        reference = sorted(frozen.detect([image], min_score=0.01)[0], key=lambda d: -d.score)
        assert len(scores) == len(reference), path.name
        np.testing.assert_allclose(scores, [d.score for d in reference], atol=0.02)
        np.testing.assert_array_equal(classes, [d.class_id for d in reference])
        np.testing.assert_allclose(boxes.reshape(-1, 4), np.array([d.box for d in reference]).reshape(-1, 4), atol=0.02)
