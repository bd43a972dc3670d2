"""White-box attacks through a frozen detector graph: the gradient reaches the pixels, FGSM and
PGD stay inside their eps ball and lower the detector's score as the real runtime reads it."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_detector.detector_dir import write_detector_directory
from cnn_detector.frozen_graph import load_detector, read_and_verify_graph
from cnn_detector.registry import load_detector_spec
from deepfake_evaluation.attacks import GradientGraph, defended, fgsm, flagged, pgd


def _redness_graph() -> bytes:
    """A detector whose one box (the whole image) scores how red the image is, smoothly."""
    import tensorflow as tf

    from cnn_detector.export import freeze_detection_function, name_outputs

    def serve(images):
        x = tf.cast(images, tf.float32)
        score = tf.sigmoid((tf.reduce_mean(x[..., 0], axis=[1, 2]) - tf.reduce_mean(x[..., 1], axis=[1, 2])) / 8.0)
        n = tf.shape(images)[0]
        boxes = tf.tile(tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), [n, 1, 1])
        return name_outputs(boxes, score[:, None], tf.ones([n, 1]), tf.ones([n]))

    return freeze_detection_function(tf.function(serve))


@pytest.fixture(scope="module")
def redness(tmp_path_factory):
    directory = write_detector_directory(
        tmp_path_factory.mktemp("det") / "redness",
        _redness_graph(),
        [(1, "red", "Red")],
        input_size=[32, 32],
        min_score=0.5,
    )
    spec = load_detector_spec(directory)
    graph = GradientGraph(read_and_verify_graph(spec.graph_path, spec.manifest.sha256).graph_def, (32, 32))
    with load_detector(spec) as detector:
        yield graph, detector
    graph.close()


def _images() -> np.ndarray:
    images = np.full((4, 32, 32, 3), 100, np.uint8)
    images[..., 0] = 110 + np.arange(4)[:, None, None]  # slightly red: scored about 0.8 each
    return images


def test_the_gradient_reaches_the_pixels_and_fgsm_takes_one_signed_step(redness):
    graph, detector = redness
    images = _images()
    scores, gradient = graph(images.astype(np.float32))
    assert np.all(scores > 0.5) and np.all(gradient[..., 0] > 0) and np.all(gradient[..., 1] < 0)
    attacked = fgsm(graph, images, 8)
    difference = attacked.astype(int) - images.astype(int)
    assert np.all(difference[..., 0] == -8) and np.all(difference[..., 1] == 8) and np.all(difference[..., 2] == 0)
    assert flagged(detector, images) == 1.0 and flagged(detector, attacked) == 0.0


def test_pgd_stays_in_its_ball_and_beats_the_detector(redness):
    graph, detector = redness
    images = _images()
    attacked = pgd(graph, images, 8, steps=6, rng=np.random.default_rng(1))  # red - green: 10..13 -> below 0
    assert np.abs(attacked.astype(int) - images.astype(int)).max() <= 8
    assert flagged(detector, attacked) == 0.0
    assert np.array_equal(defended(attacked, "none"), attacked)
