"""The baseline every result is compared with: a plain frame classifier.

A `tf_keras.applications.MobileNetV2` (the detectors' backbone, without their boxes, FPN or
judge) classifies each face crop real or fake. It is trained on the same factory data and
splits as the detectors (every method's train-split fakes against the train-split reals), with
the same augmentation, and selected on validation AUC. By default it starts from random
weights, as issue 6 asks (`pretrained` starts it from the same ImageNet weights the detectors
get, the stronger baseline).

It ships as an ordinary detector directory: the graph answers with the Object Detection API
contract (one box, the whole crop, scored with the classifier's fake probability), so
tools/evaluate.py scores it with the very code that scores the system.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.detector_dir import write_detector_directory
from cnn_detector.export import freeze_detection_function, name_outputs
from cnn_detector.frozen_graph import LoadOptions, load_detector
from cnn_detector.registry import load_detector_spec
from cnn_detector.training.data.augment import AugmentConfig, augment
from cnn_detector.training.data.factory import REAL
from cnn_detector.training.scoring import detector_metrics, read_index, score_images
from cnn_detector.training.ship import ship_detector
from deepfake_evaluation.metrics import roc_auc

log = logging.getLogger(__name__)

CLASS_NAME = "fake"


@dataclass(frozen=True)
class BaselineOptions:
    name: str = "frame_classifier"
    input_size: tuple[int, int] = (160, 160)
    alpha: float = 0.35
    pretrained: str | None = None  # ImageNet no-top .h5, or None: random weights
    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0
    quick: bool = False  # a few steps on whatever data there is: the smoke test
    degradation: float = 0.0  # probability of augment.degrade (issue 20's shared chain) per crop
    methods: tuple[str, ...] = ()  # fake methods to learn (empty: every method the factory made)


def build_classifier(options: BaselineOptions):
    """uint8-range float images [N, h, w, 3] -> fake logit [N, 1]."""
    import tf_keras

    inputs = tf_keras.Input((*options.input_size, 3))
    scaled = tf_keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    if options.pretrained is not None and not Path(options.pretrained).is_file():
        raise FileNotFoundError(f"pretrained weights {options.pretrained} not found")
    backbone = tf_keras.applications.MobileNetV2(
        input_shape=(*options.input_size, 3), alpha=options.alpha, include_top=False, weights=options.pretrained
    )
    for layer in backbone.layers:
        if isinstance(layer, tf_keras.layers.BatchNormalization):
            # Keras' 0.999 needs thousands of steps before inference-mode statistics mean
            # anything; a from-scratch run this short would be judged on noise.
            layer.momentum = 0.9
    features = tf_keras.layers.GlobalAveragePooling2D()(backbone(scaled))
    features = tf_keras.layers.Dropout(0.2)(features)
    logit = tf_keras.layers.Dense(1)(features)
    return tf_keras.Model(inputs, logit, name=options.name)


def _rows(factory: Path, split: str, methods: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """A split's examples on disk: every real, and the fakes of ``methods`` (all when empty)."""
    rows = [r for r in read_index(factory, split) if (Path(factory) / r["image"]).is_file()]
    return [r for r in rows if not methods or r["label"] == "real" or r["method"] in methods]


def _dataset(factory: Path, rows, options: BaselineOptions, training: bool):
    import tensorflow as tf

    paths = [str(Path(factory) / r["image"]) for r in rows]
    labels = np.array([float(r["label"] == "fake") for r in rows], np.float32)
    data = tf.data.Dataset.from_tensor_slices((paths, labels))
    if training:
        data = data.shuffle(len(paths), seed=options.seed, reshuffle_each_iteration=True)
    config = AugmentConfig(degradation=options.degradation)

    def load(path, label):
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        if training:
            image, _ = augment(image, tf.zeros([0, 4], tf.float32), options.input_size, config)
        else:
            image = tf.cast(tf.image.resize(image, options.input_size, antialias=True), tf.uint8)
        return tf.cast(image, tf.float32), label

    return data.map(load, num_parallel_calls=2).batch(options.batch_size).prefetch(2)


def train_classifier(factory: Path, run_dir: Path, options: BaselineOptions, progress: bool = True):
    """Train on the factory's train split; keep the epoch with the best validation AUC.
    Returns (model, history)."""
    import tensorflow as tf
    import tf_keras

    tf.random.set_seed(options.seed)
    train_rows, val_rows = _rows(factory, "train", options.methods), _rows(factory, "val", options.methods)
    if not train_rows or not val_rows:
        raise ValueError(f"{factory}: the baseline needs train and validation examples (run tools/make_fakes.py)")
    if len({r["label"] for r in train_rows}) < 2:
        raise ValueError(f"{factory}: the train split needs real and fake examples")
    model = build_classifier(options)
    train = _dataset(factory, train_rows, options, training=True)
    val = _dataset(factory, val_rows, options, training=False)
    val_labels = np.array([int(r["label"] == "fake") for r in val_rows])
    epochs = 1 if options.quick else options.epochs
    steps = 2 if options.quick else max(1, len(train_rows) // options.batch_size)
    schedule = tf_keras.optimizers.schedules.CosineDecay(options.learning_rate, epochs * steps)
    model.compile(
        optimizer=tf_keras.optimizers.Adam(schedule),
        loss=tf_keras.losses.BinaryCrossentropy(from_logits=True),
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    best_path = run_dir / "best.weights.h5"
    history, best = [], -1.0
    for epoch in range(epochs):
        started = time.perf_counter()
        fit = model.fit(train.repeat(), steps_per_epoch=steps, epochs=1, verbose=1 if progress else 0)
        scores = model.predict(val.take(1) if options.quick else val, verbose=0).ravel()
        labels = val_labels[: len(scores)]
        auc = roc_auc(labels, scores) if len(set(labels)) == 2 else float("nan")
        history.append(
            {
                "epoch": epoch + 1,
                "loss": float(fit.history["loss"][-1]),
                "val_auc": auc,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        log.info("epoch %d/%d: loss %.4f, val AUC %.3f", epoch + 1, epochs, history[-1]["loss"], auc)
        if not auc <= best:  # NaN (quick runs) keeps the latest
            best = auc
            model.save_weights(str(best_path))
    model.load_weights(str(best_path))
    return model, history


def make_serving_function(model, options: BaselineOptions):
    """image_tensor uint8 [N, H, W, 3] -> the contract's four outputs, one box per image."""
    import tensorflow as tf

    @tf.function
    def serve(images):
        resized = tf.image.resize(tf.cast(images, tf.float32), options.input_size)
        probability = tf.sigmoid(model(resized, training=False))  # [N, 1]
        count = tf.shape(images)[0]
        boxes = tf.tile(tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), tf.stack([count, 1, 1]))
        classes = tf.ones_like(probability)
        return name_outputs(boxes, probability, classes, tf.ones([count], tf.float32))

    return serve


def train_baseline(
    factory: Path,
    share: Path | None,
    run_dir: Path,
    output_root: Path,
    options: BaselineOptions,
    progress: bool = True,
) -> dict:
    """Train, export as a detector directory under ``output_root``, calibrate like a detector
    and score the held-out test split; writes and returns the directory's metrics.json."""
    started = time.perf_counter()
    model, history = train_classifier(factory, run_dir, options, progress)
    seconds = time.perf_counter() - started
    methods = sorted({r["method"] for r in _rows(factory, "train", options.methods)} - {REAL})
    graph = freeze_detection_function(make_serving_function(model, options))
    directory = write_detector_directory(
        Path(output_root) / options.name,
        graph,
        [(1, CLASS_NAME, "Fake face (whole-crop classifier)")],
        name=options.name,
        version="1.0.0",
        author="Deepfake Scanner contributors",
        algorithms=[CLASS_NAME],
        input="face_crop",
        input_size=list(options.input_size),
        face_margin=0.3,
        min_score=0.5,
        trained_on=methods,
        description="Baseline: plain MobileNetV2 frame classifier, "
        + ("ImageNet start" if options.pretrained else "random start")
        + "; one box = the whole crop.",
    )
    shipped = ship_detector(directory, factory, None if options.quick else share, tuple(methods), samples=False)
    detector = load_detector(load_detector_spec(directory), LoadOptions(batch_size=32))
    test_rows = read_index(factory, "test")
    metrics = detector_metrics(score_images(detector, factory, test_rows), tuple(methods))
    detector.close()
    report = {
        "baseline": asdict(options),
        "training": {"seconds": round(seconds, 1), "history": history},
        "calibrated_min_score": shipped.min_score,
        "test": metrics,
    }
    atomic_write_text(directory / "metrics.json", json.dumps(report, indent=1, sort_keys=True, default=float))
    return report
