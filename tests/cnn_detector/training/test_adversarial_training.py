"""Adversarial training (issue 24, part 3): the PGD examples that replace part of each batch
stay within eps of the clean images in pixel units, raise the training loss, and leave the
clean share of the batch alone."""

from dataclasses import replace

import numpy as np
import pytest

from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.training.retinanet.config import AdversarialConfig, load_train_config
from cnn_detector.training.retinanet.model import IMAGENET_STDDEV_RGB

pytestmark = pytest.mark.slow  # builds a RetinaNet


def _batch(trainer, count, seed=0):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    size = trainer.config.model.input_size
    images, targets = [], []
    for i in range(count):
        image = tf.constant(rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        fake = i % 2 == 0
        boxes = tf.constant([[0.2, 0.2, 0.8, 0.8]] if fake else np.zeros((0, 4)), tf.float32)
        labels = tf.constant([1] if fake else [], tf.int32)
        image, target = trainer._label(image, boxes, labels)
        images.append(image)
        targets.append(target)
    return tf.stack(images), tf.nest.map_structure(lambda *t: tf.stack(t), *targets)


def _smooth_heads(trainer, images):
    """Per level, average pooling and a 1x1 convolution: the RetinaNet's output structure, with
    outputs that vary smoothly with every pixel."""
    import tensorflow as tf

    reference = trainer.model(images, training=False)
    heads = {}
    kinds = [kind for kind in ("cls_outputs", "box_outputs") if isinstance(reference.get(kind), dict)]
    assert len(kinds) == 2, list(reference)
    for kind in kinds:
        for level, tensor in reference[kind].items():
            pool = tf.keras.layers.AveragePooling2D(images.shape[1] // tensor.shape[1])
            conv = tf.keras.layers.Conv2D(
                tensor.shape[-1], 1, kernel_initializer=tf.keras.initializers.RandomNormal(0, 0.5)
            )
            heads[kind, level] = (pool, conv)

    def model(x, training=False):
        out = {kind: {} for kind in kinds}
        for (kind, level), (pool, conv) in heads.items():
            out[kind][level] = conv(pool(x))
        return out

    return model


def test_pgd_examples_replace_the_first_share_within_eps_and_raise_the_loss(tmp_path):
    import tensorflow as tf

    from cnn_detector.training.retinanet.trainer import BOX_LOSS_WEIGHT, DetectorTrainer

    config = load_train_config(PROJECT_ROOT / "configs/detectors/diffusion_face.yaml", quick=True)
    config = replace(
        config,
        model=replace(config.model, pretrained=None),  # as in a clean clone, without ../shared/weights
        adversarial=AdversarialConfig(fraction=0.5, epsilons=(8.0,), steps=3),
    )
    trainer = DetectorTrainer(config, tmp_path / "run", num_classes=1)
    images, labels = _batch(trainer, config.train.batch_size)
    # Without ImageNet weights (a clean CI clone) the RetinaNet's ReLU6 units saturate and its
    # outputs do not depend on the pixels: attack a smooth stand-in with the same outputs instead.
    trainer.model = _smooth_heads(trainer, images)
    attacked = trainer._adversarial(images, labels)
    count = config.train.batch_size // 2
    np.testing.assert_array_equal(attacked[count:].numpy(), images[count:].numpy())
    pixels = (attacked[:count] - images[:count]).numpy() * np.array(IMAGENET_STDDEV_RGB, np.float32)
    assert np.abs(pixels).max() <= 8.0 + 1e-3
    assert np.abs(pixels).max() > 4.0  # it moved, not a copy

    def loss(x):
        head = tf.nest.map_structure(lambda t: t[:count], labels)
        cls_loss, box_loss = trainer._losses(trainer.model(x, training=False), head)
        return float(cls_loss + BOX_LOSS_WEIGHT * box_loss)

    assert loss(attacked[:count]) > loss(images[:count])


def test_no_adversarial_share_leaves_the_batch_as_it_is(tmp_path):
    from cnn_detector.training.retinanet.trainer import DetectorTrainer

    config = load_train_config(PROJECT_ROOT / "configs/detectors/gan_face.yaml", quick=True)
    assert config.adversarial.fraction == 0.0  # a recipe without an adversarial section
    trainer = DetectorTrainer(config, tmp_path / "run", num_classes=1)
    images, labels = _batch(trainer, config.train.batch_size)
    assert trainer._adversarial(images, labels) is images


@pytest.mark.parametrize(
    "settings", [{"fraction": 1.5}, {"fraction": 0.5, "steps": 0}, {"fraction": 0.5, "epsilons": ()}]
)
def test_bad_adversarial_settings_are_refused(settings):
    with pytest.raises(ValueError, match="adversarial"):
        AdversarialConfig(**settings)


def test_the_shipped_diffusion_face_recipe_trains_adversarially():
    config = load_train_config(PROJECT_ROOT / "configs/detectors/diffusion_face.yaml")
    assert config.adversarial == AdversarialConfig(fraction=0.3, epsilons=(2, 4, 8), steps=3)
