"""Training-time augmentation, applied identically to real and fake examples (FINDINGS.md:
same crop size, random down/up-scaling, random JPEG quality, colour jitter, grayscale)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentConfig:
    """min_scale: lowest resolution drawn, as a fraction of the input size; jpeg_*: how often
    and how low the random JPEG re-encoding goes; grayscale: probability."""

    min_scale: float = 0.35
    jpeg_probability: float = 0.5
    jpeg_min: int = 30
    grayscale: float = 0.15


def augment(image, boxes, size: tuple[int, int], config: AugmentConfig = AugmentConfig()):
    """uint8 [H, W, 3] + normalized boxes -> uint8 [h, w, 3] at ``size`` + boxes.

    Flip; resolution drawn between min_scale and 100% of the input size (so a large fake is as
    often blurry as a small real); JPEG quality jpeg_min-95 some of the time; brightness,
    contrast, saturation and hue jitter; grayscale some of the time.
    """
    import tensorflow as tf

    height, width = size
    flip = tf.random.uniform([]) < 0.5
    image = tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image)
    boxes = tf.cond(
        flip,
        lambda: tf.stack([boxes[:, 0], 1.0 - boxes[:, 3], boxes[:, 2], 1.0 - boxes[:, 1]], axis=1),
        lambda: boxes,
    )
    scale = tf.random.uniform([], config.min_scale, 1.0)
    low = tf.cast(tf.maximum(16.0, tf.round(scale * [float(height), float(width)])), tf.int32)
    image = tf.image.resize(image, low, method="area", antialias=True)
    image = tf.image.resize(image, [height, width], method="bilinear")
    image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
    image = tf.cond(
        tf.random.uniform([]) < config.jpeg_probability,
        lambda: tf.image.random_jpeg_quality(image, config.jpeg_min, 95),
        lambda: image,
    )
    image = tf.image.convert_image_dtype(image, tf.float32)
    image = tf.image.random_brightness(image, 0.08)
    image = tf.image.random_contrast(image, 0.85, 1.15)
    image = tf.image.random_saturation(image, 0.8, 1.2)
    image = tf.image.random_hue(image, 0.02)
    gray = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(image))
    image = tf.cond(tf.random.uniform([]) < config.grayscale, lambda: gray, lambda: image)
    image = tf.image.convert_image_dtype(tf.clip_by_value(image, 0.0, 1.0), tf.uint8, saturate=True)
    image.set_shape([height, width, 3])
    return image, boxes
