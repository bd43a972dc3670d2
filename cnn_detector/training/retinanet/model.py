"""A TF Model Garden RetinaNet on an ImageNet MobileNet backbone, built from a small config.

The backbone is `tf_keras.applications.MobileNetV2` (its ImageNet weights load offline from
the official Keras .h5 file) exposing feature levels 3-5 to Model Garden's FPN decoder,
RetinaNet head and detection generator. CPU-friendly defaults, as measured on 2 cores:
batched NMS with pre_nms_top_k 1000 (the default makes NMS about 130 ms), float32, no sync
batch norm, separable convolutions in FPN and head.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from cnn_detector.registry import PROJECT_ROOT

# MobileNetV2 layers at strides 8, 16 and 32 (feature levels 3, 4, 5).
MOBILENET_V2_LEVELS = {"3": "block_6_expand_relu", "4": "block_13_expand_relu", "5": "out_relu"}
IMAGENET_MEAN_RGB = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STDDEV_RGB = (0.229 * 255, 0.224 * 255, 0.225 * 255)


@dataclass(frozen=True)
class RetinaNetConfig:
    """Model and post-processing settings; `from_yaml` rejects unknown keys.

    input_size: (height, width) the graph resizes every image to.
    pretrained: path of ImageNet MobileNetV2 no-top .h5 weights, or None for random init.
    """

    alpha: float = 0.35
    input_size: tuple[int, int] = (256, 256)
    min_level: int = 3
    max_level: int = 6
    fpn_filters: int = 64
    head_convs: int = 2
    head_filters: int = 64
    anchor_scales: int = 2
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    anchor_size: float = 3.0
    pretrained: str | None = None
    pre_nms_top_k: int = 1000
    max_detections: int = 20
    score_threshold: float = 0.05
    iou_threshold: float = 0.5

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> RetinaNetConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: unknown model setting(s) {unknown}; known: {sorted(known)}")
        values = dict(data)
        for key in ("input_size", "aspect_ratios"):
            if key in values:
                values[key] = tuple(values[key])
        config = cls(**values)
        if len(config.input_size) != 2 or min(config.input_size) < 32 or any(s % 32 for s in config.input_size):
            raise ValueError(f"{where}: input_size must be [height, width], multiples of 32, got {config.input_size}")
        if not 3 <= config.min_level <= 5 or config.max_level < config.min_level:
            raise ValueError(f"{where}: need 3 <= min_level <= 5 and max_level >= min_level")
        return config

    @classmethod
    def from_yaml(cls, path: Path | str) -> RetinaNetConfig:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        model = dict(data.get("model", data))
        weights = model.get("pretrained")
        if weights and not Path(weights).is_absolute():
            # Relative weight paths are relative to the project root, like every documented command.
            model["pretrained"] = str(PROJECT_ROOT / weights)
        return cls.from_dict(model, str(path))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["input_size"] = list(self.input_size)
        data["aspect_ratios"] = list(self.aspect_ratios)
        return data


def _mobilenet_backbone(config: RetinaNetConfig):
    import tf_keras

    class MobileNetV2Backbone(tf_keras.Model):
        """Functional MobileNetV2 returning {level: features}, as Model Garden backbones do."""

        def __init__(self):
            inputs = tf_keras.Input((*config.input_size, 3))
            weights = config.pretrained
            if weights is not None and not Path(weights).is_file():
                raise FileNotFoundError(f"pretrained weights {weights} not found")
            net = tf_keras.applications.MobileNetV2(
                input_tensor=inputs, alpha=config.alpha, include_top=False, weights=weights
            )
            levels = {k: v for k, v in MOBILENET_V2_LEVELS.items() if config.min_level <= int(k)}
            features = {k: net.get_layer(name).output for k, name in levels.items()}
            super().__init__(inputs=inputs, outputs=features, name="mobilenet_v2_backbone")
            self._output_specs = {k: v.get_shape() for k, v in features.items()}

        @property
        def output_specs(self):
            return self._output_specs

    return MobileNetV2Backbone()


def build_retinanet(config: RetinaNetConfig, num_classes: int):
    """Build the Model Garden RetinaNet; num_classes counts foreground classes (ids 1..K)."""
    import tf_keras
    from official.vision.configs import common
    from official.vision.configs import decoders as decoder_configs
    from official.vision.configs import retinanet as retinanet_configs
    from official.vision.modeling import factory

    height, width = config.input_size
    model_config = retinanet_configs.RetinaNet(
        num_classes=num_classes + 1,  # Model Garden counts the background class 0
        input_size=[height, width, 3],
        min_level=config.min_level,
        max_level=config.max_level,
        anchor=retinanet_configs.Anchor(
            num_scales=config.anchor_scales, aspect_ratios=list(config.aspect_ratios), anchor_size=config.anchor_size
        ),
        decoder=decoder_configs.Decoder(
            type="fpn", fpn=decoder_configs.FPN(num_filters=config.fpn_filters, use_separable_conv=True)
        ),
        head=retinanet_configs.RetinaNetHead(
            num_convs=config.head_convs, num_filters=config.head_filters, use_separable_conv=True
        ),
        detection_generator=retinanet_configs.DetectionGenerator(
            nms_version="batched",
            pre_nms_top_k=config.pre_nms_top_k,
            pre_nms_score_threshold=config.score_threshold,
            nms_iou_threshold=config.iou_threshold,
            max_num_detections=config.max_detections,
        ),
        norm_activation=common.NormActivation(activation="relu6", use_sync_bn=False),
    )
    input_specs = tf_keras.layers.InputSpec(shape=[None, height, width, 3])
    return factory.build_retinanet(input_specs, model_config, backbone=_mobilenet_backbone(config))


def anchor_boxes(config: RetinaNetConfig) -> dict:
    """Multilevel anchors {level: [H_l, W_l, 4 * anchors]} in input-pixel coordinates."""
    from official.vision.ops import anchor

    generator = anchor.build_anchor_generator(
        min_level=config.min_level,
        max_level=config.max_level,
        num_scales=config.anchor_scales,
        aspect_ratios=list(config.aspect_ratios),
        anchor_size=config.anchor_size,
    )
    return generator(image_size=list(config.input_size))


def normalize_images(images, config: RetinaNetConfig):
    """uint8 [N, H, W, 3] -> float [N, h, w, 3] at input_size, ImageNet mean/std normalized."""
    import tensorflow as tf

    resized = tf.image.resize(tf.cast(images, tf.float32), list(config.input_size))
    return (resized - tf.constant(IMAGENET_MEAN_RGB)) / tf.constant(IMAGENET_STDDEV_RGB)


def make_serving_function(model, config: RetinaNetConfig):
    """A tf.function from image_tensor to the four OD-API outputs, boxes normalized to [0, 1]."""
    import tensorflow as tf

    from cnn_detector.export import image_tensor_spec, name_outputs

    anchors = anchor_boxes(config)
    height, width = config.input_size

    @tf.function(input_signature=[image_tensor_spec()])
    def serve(images):
        batch = tf.shape(images)[0]
        tiled = {level: tf.tile(a[None], [batch, 1, 1, 1]) for level, a in anchors.items()}
        shape = tf.tile(tf.constant([[height, width]], tf.float32), [batch, 1])
        out = model(normalize_images(images, config), image_shape=shape, anchor_boxes=tiled, training=False)
        scale = tf.constant([height, width, height, width], tf.float32)
        boxes = tf.clip_by_value(out["detection_boxes"] / scale, 0.0, 1.0)
        return name_outputs(boxes, out["detection_scores"], out["detection_classes"], out["num_detections"])

    return serve
