"""The augmentation chain never looks at the label: a real and a fake drawn with the same random
state are transformed identically, so image quality cannot separate them."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.training.data.augment import AugmentConfig, augment, degrade

PHOTO = PROJECT_ROOT / "samples" / "real_img16.jpg"


@pytest.fixture(scope="module")
def photo():
    return np.array(Image.open(PHOTO).convert("RGB").resize((192, 160)))


@pytest.mark.parametrize("degradation", [0.0, 1.0])
def test_a_real_and_a_fake_get_the_same_transform(photo, degradation):
    """A negative (no boxes) and a positive (a box) of the same pixels, same random state."""
    config = AugmentConfig(degradation=degradation)
    outputs = []
    for boxes in (np.zeros((0, 4), np.float32), np.array([[0.2, 0.2, 0.8, 0.8]], np.float32)):
        tf.random.set_seed(11)
        image, _ = augment(tf.constant(photo), tf.constant(boxes), (128, 128), config)
        outputs.append(image.numpy())
    assert np.array_equal(outputs[0], outputs[1])


def test_degrade_is_a_function_of_image_and_seed(photo):
    first = degrade(tf.constant(photo), tf.constant([4, 2])).numpy()
    again = degrade(tf.constant(photo), tf.constant([4, 2])).numpy()
    assert np.array_equal(first, again) and first.shape == photo.shape and first.dtype == np.uint8
    draws = [degrade(tf.constant(photo), tf.constant([k, 9])).numpy() for k in range(6)]
    changes = [float(np.abs(d.astype(float) - photo).mean()) for d in draws]
    assert all(c > 0.5 for c in changes), changes  # every draw degrades the photo
    assert len({round(c, 3) for c in changes}) == len(changes)  # and no two draws alike
