"""Training-time augmentation, applied identically to real and fake examples (FINDINGS.md:
same crop size, random down/up-scaling, random JPEG quality, colour jitter, grayscale).

`degrade` is the stronger chain of issue 20, for recipes that set ``degradation`` > 0: what
today's real photos go through before anyone scans them (down- and up-scaling by 0.25-1x with
a random interpolation, blur, sharpening, face-restoration-like smoothing, JPEG 30-95, gamma
and colour shifts, grayscale). Nothing here sees the label or the boxes' class: a real and a
fake drawn with the same random state come out transformed the same way (a test checks it),
so image quality cannot tell them apart."""

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
    degradation: float = 0.0  # probability of the `degrade` chain before the steps above


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
    if config.degradation > 0:
        image = tf.cond(
            tf.random.uniform([]) < config.degradation,
            lambda: degrade(image, tf.random.uniform([2], 0, 2**31 - 1, tf.int32)),
            lambda: image,
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


def _gaussian_blur(image, sigma):
    """float [H, W, 3] blurred with a separable Gaussian of ``sigma`` pixels (a tensor)."""
    import tensorflow as tf

    radius = 6
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(x / tf.maximum(sigma, 1e-3)))
    kernel /= tf.reduce_sum(kernel)
    batch = image[None]
    padded = tf.pad(batch, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="SYMMETRIC")
    rows = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, 3, 1])
    cols = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, 3, 1])
    out = tf.nn.depthwise_conv2d(padded, rows, [1, 1, 1, 1], "VALID")
    out = tf.nn.depthwise_conv2d(out, cols, [1, 1, 1, 1], "VALID")
    return out[0]


def degrade(image, seed):
    """uint8 [H, W, 3] -> uint8 [H, W, 3] through the random degradation chain drawn from
    ``seed`` (int32 [2]); the same image and seed always give the same output."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 12)

    def uniform(k, low=0.0, high=1.0):
        return tf.random.stateless_uniform([], seeds[k], low, high)

    shape = tf.shape(image)[:2]
    x = tf.cast(image, tf.float32)
    # Resolution lost and made up again, with one of four interpolations each way.
    scale = uniform(0, 0.25, 1.0)
    low = tf.cast(tf.maximum(8.0, tf.round(scale * tf.cast(shape, tf.float32))), tf.int32)
    methods = ["area", "bilinear", "bicubic", "nearest"]
    down = tf.cast(tf.floor(uniform(1, 0, 4)), tf.int32)
    up = tf.cast(tf.floor(uniform(2, 0, 3)), tf.int32) + 1  # no nearest upscaling: blocks are rare
    x = tf.switch_case(down, [lambda m=m: tf.image.resize(x, low, method=m, antialias=True) for m in methods])
    x = tf.switch_case(up, [lambda m=m: tf.image.resize(x, shape, method=m) for m in methods])
    # One of: nothing, blur, sharpening, restoration-like smoothing (blur, then crisp edges).
    kind = tf.cast(tf.floor(uniform(3, 0, 4)), tf.int32)
    sigma, amount = uniform(4, 0.5, 2.0), uniform(5, 0.3, 1.2)

    def sharpen(y, a):
        return y + a * (y - _gaussian_blur(y, 1.0))

    x = tf.switch_case(
        kind,
        [
            lambda: x,
            lambda: _gaussian_blur(x, sigma),
            lambda: sharpen(x, amount),
            lambda: sharpen(_gaussian_blur(x, sigma + 0.5), amount),
        ],
    )
    # Gamma and colour.
    x = tf.clip_by_value(x, 0.0, 255.0) / 255.0
    x = tf.pow(x, uniform(6, 0.7, 1.4))
    x = tf.image.stateless_random_saturation(x, 0.6, 1.4, seeds[7])
    x = tf.image.stateless_random_contrast(x, 0.75, 1.25, seeds[8])
    x = tf.clip_by_value(x, 0.0, 1.0)
    x = tf.cond(uniform(9) < 0.1, lambda: tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(x)), lambda: x)
    out = tf.cast(tf.round(x * 255.0), tf.uint8)
    quality = tf.cast(tf.floor(uniform(10, 30, 96)), tf.int32)
    out = tf.cond(uniform(11) < 0.7, lambda: tf.image.adjust_jpeg_quality(out, quality), lambda: out)
    return tf.reshape(out, tf.shape(image))
