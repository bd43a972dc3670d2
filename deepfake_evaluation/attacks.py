"""Adversarial attacks on the shipped detectors (issue 24, part 1), measured.

White-box gradients come from each detector's own frozen graph: the verified GraphDef is
imported again with a float input in place of its ``Cast(image_tensor)``, and the objective is
the detector's strongest class score before non-maximum suppression (a RetinaNet's per-anchor
scores; the detection scores where a graph has no NMS). FGSM takes one signed step of eps; PGD
(L-inf) starts at a random point of the eps ball and takes ``steps`` steps of eps/4, projecting
back each time. Attacks run in the detector's input space (the crop resized to input_size, as
the runtime resizes it), push fakes towards "nothing here", and are scored by the real runtime
(`FrozenGraphDetector.detect`) at the detector's min_score. Transfer: the examples made on one
detector, resized to each other detector's input, scored by it.
"""

from __future__ import annotations

import numpy as np

from cnn_detector.contract import INPUT_NODE

PRE_NMS_SCORES = "retina_net_model/concat_1"  # [N, anchors, classes], the NMS's scores input
EPSILONS = (2, 4, 8)  # in 1/255 steps of pixel value


class GradientGraph:
    """A detector's verified graph with a float input, for the gradient of its top score."""

    def __init__(self, graph_def, input_size: tuple[int, int]):
        import tensorflow as tf

        cast = next(
            (n.name for n in graph_def.node if n.op == "Cast" and any(i.split(":")[0] == INPUT_NODE for i in n.input)),
            None,
        )
        if cast is None:
            raise ValueError("the graph does not cast image_tensor to float: no input to differentiate")
        names = {n.name for n in graph_def.node}
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.pixels = tf.compat.v1.placeholder(tf.float32, [None, *input_size, 3], name="attack_pixels")
            score_name = f"{PRE_NMS_SCORES}:0" if PRE_NMS_SCORES in names else "detection_scores:0"
            (scores,) = tf.import_graph_def(
                graph_def, input_map={f"{cast}:0": self.pixels}, return_elements=[score_name], name=""
            )
            axes = list(range(1, len(scores.shape))) if scores.shape.rank else None
            self.objective = tf.reduce_max(scores, axis=axes)
            (self.gradient,) = tf.gradients(tf.reduce_sum(self.objective), self.pixels)
            self.image = self.graph.get_tensor_by_name(f"{INPUT_NODE}:0")
        if self.gradient is None:
            raise ValueError("the graph's score has no gradient with respect to its input")
        self.session = tf.compat.v1.Session(graph=self.graph)

    def __call__(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(top score per image, its gradient) at float ``pixels`` [N, H, W, 3] in 0..255."""
        feed = {self.pixels: pixels, self.image: np.clip(np.round(pixels), 0, 255).astype(np.uint8)}
        return self.session.run([self.objective, self.gradient], feed)

    def close(self) -> None:
        self.session.close()


def fgsm(graph: GradientGraph, images: np.ndarray, eps: float) -> np.ndarray:
    """One signed gradient step of ``eps`` (pixel units) that lowers the top score."""
    x = images.astype(np.float32)
    _, gradient = graph(x)
    return np.clip(np.round(x - eps * np.sign(gradient)), 0, 255).astype(np.uint8)


def pgd(
    graph: GradientGraph, images: np.ndarray, eps: float, steps: int = 10, rng: np.random.Generator | None = None
) -> np.ndarray:
    """L-inf projected gradient descent on the top score: a random start in the eps ball,
    ``steps`` signed steps of eps/4, each projected back into the ball and the pixel range."""
    rng = rng or np.random.default_rng(0)
    x0 = images.astype(np.float32)
    x = np.clip(x0 + rng.uniform(-eps, eps, x0.shape), 0, 255).astype(np.float32)
    for _ in range(steps):
        _, gradient = graph(x)
        x = np.clip(np.clip(x - eps / 4 * np.sign(gradient), x0 - eps, x0 + eps), 0, 255)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def top_scores(detector, images: np.ndarray) -> np.ndarray:
    """Each image's highest detection score by the real runtime (0 when nothing is found)."""
    found = detector.detect(list(images), min_score=0.0)
    return np.array([max((d.score for d in dets), default=0.0) for dets in found], np.float32)


def flagged(detector, images: np.ndarray) -> float:
    """Share of images with a detection at or above the detector's own min_score."""
    if not len(images):
        return float("nan")
    return float(np.mean(top_scores(detector, images) >= detector.spec.manifest.min_score))


def defended(images: np.ndarray, defense: str) -> np.ndarray:
    from deepfake_scanner.defenses import apply_defense

    return np.stack([apply_defense(image, defense) for image in images]) if len(images) else images


def to_input(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from cnn_detector.frozen_graph import resize_to_input

    return np.stack([resize_to_input(image, *size) for image in images]) if len(images) else images
