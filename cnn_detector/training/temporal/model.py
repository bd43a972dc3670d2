"""The temporal detector's networks (issue 22, part 3), as the issue names them: `build_scratch`,
a small 3D CNN over the clip and its frame differences (shipped: it measured better), and
`build_backbone` + `build_head`, an ImageNet MobileNetV2-0.35 read frame by frame (frozen, up to
``stage``), then (2+1)D convolutions over time and space, a GRU over the clip's frames and
attention pooling to one logit (the 3D-CNN + GRU + attention of the original work on a
pretrained per-frame backbone)."""

from __future__ import annotations

from dataclasses import dataclass

from deepfake_scanner.share import imagenet_mobilenet_v2


@dataclass(frozen=True)
class TemporalConfig:
    frames: int = 16
    size: int = 112
    stage: str = "scratch"  # the shipped 3D CNN; or a MobileNetV2 layer: block_5_add (stride 8), block_12_add
    width: int = 32
    gru: int = 32
    dropout: float = 0.5


def build_backbone(config: TemporalConfig):
    """Per-frame features: uint8-range RGB [B, S, S, 3] -> [B, s, s, C] (frozen ImageNet)."""
    import tf_keras

    inputs = tf_keras.Input((config.size, config.size, 3))
    scaled = tf_keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    net = tf_keras.applications.MobileNetV2(
        input_shape=(config.size, config.size, 3),
        alpha=0.35,
        include_top=False,
        weights=str(imagenet_mobilenet_v2(0.35)),
    )
    trunk = tf_keras.Model(net.input, net.get_layer(config.stage).output)
    trunk.trainable = False
    return tf_keras.Model(inputs, trunk(scaled, training=False), name="frame_features")


def build_head(config: TemporalConfig, feature_shape: tuple[int, int, int]):
    """[B, T, s, s, C] features -> [B, 1] logit."""
    import tensorflow as tf
    import tf_keras
    from tf_keras import layers

    inputs = tf_keras.Input((config.frames, *feature_shape))
    x = inputs
    for filters in (config.width, config.width * 2):
        x = layers.Conv3D(filters, (1, 3, 3), padding="same", use_bias=False)(x)  # space
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv3D(filters, (3, 1, 1), padding="same", use_bias=False)(x)  # time
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPool3D((1, 2, 2))(x)
    x = layers.Lambda(lambda t: tf.reduce_mean(t, axis=[2, 3]))(x)  # [B, T, F]
    x = layers.GRU(config.gru, return_sequences=True)(x)
    weights = layers.Softmax(axis=1)(layers.Dense(1)(x))  # attention over time
    x = layers.Lambda(lambda a: tf.reduce_sum(a[0] * a[1], axis=1))([x, weights])
    x = layers.Dropout(config.dropout)(x)
    return tf_keras.Model(inputs, layers.Dense(1)(x), name="temporal_head")


def build_scratch(config: TemporalConfig):
    """The alternative the issue names: a small 3D CNN from scratch on the raw clip, fed its
    frame-to-frame differences beside the frames. uint8-range [B, T, S, S, 3] -> [B, 1] logit."""
    import tensorflow as tf
    import tf_keras
    from tf_keras import layers

    inputs = tf_keras.Input((config.frames, config.size, config.size, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    diffs = layers.Lambda(lambda t: tf.concat([t[:, 1:] - t[:, :-1], tf.zeros_like(t[:, :1])], axis=1) * 4.0)(x)
    x = layers.Concatenate()([x, diffs])
    for filters, stride in ((16, (1, 2, 2)), (32, (2, 2, 2)), (64, (2, 2, 2)), (96, (2, 2, 2))):
        x = layers.Conv3D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling3D()(x)
    x = layers.Dropout(config.dropout)(x)
    return tf_keras.Model(inputs, layers.Dense(1)(x), name="temporal_scratch")
