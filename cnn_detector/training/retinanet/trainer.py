"""Train a Model Garden RetinaNet detector on CPU from TFRecords, with checkpoints, resume
and model selection on the validation split's image-level AUC (not on loss: FINDINGS.md)."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnn_detector.training.data.augment import augment
from cnn_detector.training.data.tfrecord import parse_example
from cnn_detector.training.retinanet.config import TrainConfig
from cnn_detector.training.retinanet.model import (
    IMAGENET_MEAN_RGB,
    IMAGENET_STDDEV_RGB,
    anchor_boxes,
    build_retinanet,
    make_serving_function,
    normalize_images,
)
from deepfake_evaluation.metrics import roc_auc

log = logging.getLogger(__name__)
FOCAL_ALPHA, FOCAL_GAMMA, HUBER_DELTA, BOX_LOSS_WEIGHT = 0.25, 1.5, 0.1, 50.0


@dataclass
class TrainResult:
    best_epoch: int = -1
    best_val_auc: float = float("nan")
    seconds: float = 0.0
    history: list[dict] = field(default_factory=list)


def count_records(path: Path) -> tuple[int, int]:
    """(examples with boxes, examples without) in a TFRecord file."""
    import tensorflow as tf

    positives = negatives = 0
    for record in tf.data.TFRecordDataset(str(path)):
        _, boxes, _ = parse_example(record)
        if int(tf.shape(boxes)[0]) > 0:
            positives += 1
        else:
            negatives += 1
    return positives, negatives


class DetectorTrainer:
    def __init__(self, config: TrainConfig, run_dir: Path, num_classes: int):
        import tensorflow as tf
        import tf_keras

        self.config = config
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tf.keras.utils.set_random_seed(config.train.seed)
        self.num_classes = num_classes
        self.model = build_retinanet(config.model, num_classes)
        self.anchors = anchor_boxes(config.model)
        self.optimizer = tf_keras.optimizers.Adam(learning_rate=config.train.learning_rate)
        # Built once over every variable, so the frozen-backbone and fine-tuning phases share it.
        self.optimizer.build(self.model.trainable_variables)
        self.epoch = tf.Variable(0, dtype=tf.int64, name="epoch")
        self.best_auc = tf.Variable(-1.0, dtype=tf.float64, name="best_val_auc")
        self.checkpoint = tf.train.Checkpoint(
            model=self.model, optimizer=self.optimizer, epoch=self.epoch, best_auc=self.best_auc
        )
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.run_dir / "ckpt"), max_to_keep=2)
        self.best_prefix = str(self.run_dir / "best" / "ckpt")
        from official.vision.ops import anchor

        self.labeler = anchor.AnchorLabeler(match_threshold=0.5, unmatched_threshold=0.4)

    # ---- data ----
    def _label(self, image, boxes, labels):
        import tensorflow as tf

        height, width = self.config.model.input_size
        pixels = boxes * tf.constant([height, width, height, width], tf.float32)
        # A box-less (real) image gets one zero-area box of class 0: no anchor overlaps it,
        # so every anchor is background.
        empty = tf.equal(tf.shape(pixels)[0], 0)
        pixels = tf.cond(empty, lambda: tf.zeros([1, 4], tf.float32), lambda: pixels)
        labels = tf.cond(empty, lambda: tf.zeros([1], tf.int32), lambda: labels)
        cls_targets, box_targets, _, cls_weights, box_weights = self.labeler.label_anchors(
            self.anchors, pixels, tf.cast(labels[:, None], tf.float32)
        )
        box_weights = tf.cond(empty, lambda: tf.zeros_like(box_weights), lambda: box_weights)
        image = normalize_images(image[None], self.config.model)[0]
        return image, {
            "cls_targets": cls_targets,
            "box_targets": box_targets,
            "cls_weights": cls_weights,
            "box_weights": box_weights,
        }

    def training_dataset(self, record: Path):
        import tensorflow as tf

        size = self.config.model.input_size
        base = tf.data.TFRecordDataset(str(record)).map(parse_example, num_parallel_calls=2).cache()
        seed = self.config.train.seed
        positives = base.filter(lambda image, boxes, labels: tf.shape(boxes)[0] > 0).shuffle(512, seed=seed).repeat()
        negatives = base.filter(lambda image, boxes, labels: tf.shape(boxes)[0] == 0).shuffle(2048, seed=seed).repeat()
        fraction = self.config.data.positive_fraction
        mixed = tf.data.Dataset.sample_from_datasets(
            [positives, negatives], [fraction, 1 - fraction], seed=self.config.train.seed
        )
        strength = self.config.augment
        mixed = mixed.map(
            lambda image, boxes, labels: (*augment(image, boxes, size, strength), labels), num_parallel_calls=2
        )
        return (
            mixed.map(self._label, num_parallel_calls=2)
            .batch(self.config.train.batch_size, drop_remainder=True)
            .prefetch(2)
        )

    @staticmethod
    def load_eval_images(record: Path, size: tuple[int, int]):
        """(uint8 images [N, h, w, 3] resized to the input size, labels: 1 if it has boxes)."""
        import tensorflow as tf

        images, labels = [], []
        for serialized in tf.data.TFRecordDataset(str(record)):
            image, boxes, _ = parse_example(serialized)
            images.append(tf.cast(tf.image.resize(image, size, method="area"), tf.uint8).numpy())
            labels.append(int(tf.shape(boxes)[0] > 0))
        return np.stack(images), np.array(labels)

    # ---- model ----
    def _losses(self, outputs, labels):
        import tensorflow as tf
        import tf_keras
        from official.vision.losses import focal_loss, loss_utils

        classes = self.num_classes + 1
        num_positives = tf.reduce_sum(labels["box_weights"]) + 1.0
        flat_targets = loss_utils.multi_level_flatten(labels["cls_targets"], last_dim=None)
        y_true_cls = tf.one_hot(tf.cast(flat_targets, tf.int32), classes)
        y_pred_cls = loss_utils.multi_level_flatten(outputs["cls_outputs"], last_dim=classes)
        y_true_box = loss_utils.multi_level_flatten(labels["box_targets"], last_dim=4)
        y_pred_box = loss_utils.multi_level_flatten(outputs["box_outputs"], last_dim=4)
        cls_loss = focal_loss.FocalLoss(alpha=FOCAL_ALPHA, gamma=FOCAL_GAMMA, reduction=tf_keras.losses.Reduction.SUM)(
            y_true_cls, y_pred_cls, sample_weight=labels["cls_weights"] / num_positives
        )
        box_loss = tf_keras.losses.Huber(HUBER_DELTA, reduction=tf_keras.losses.Reduction.SUM)(
            y_true_box, y_pred_box, sample_weight=labels["box_weights"] / num_positives
        )
        return cls_loss, box_loss

    def _set_backbone_trainable(self, trainable: bool) -> None:
        import tf_keras

        backbone = self.model.backbone
        backbone.trainable = trainable
        for layer in backbone.submodules:
            if isinstance(layer, tf_keras.layers.BatchNormalization):
                layer.trainable = False  # small batches: keep ImageNet statistics

    def _adversarial(self, images, labels):
        """The batch with its first ``fraction`` replaced by L-inf PGD examples that raise the
        training loss (AdversarialConfig); the images are normalized, eps is in pixel units."""
        import tensorflow as tf

        settings = self.config.adversarial
        count = int(round(settings.fraction * self.config.train.batch_size))
        if count == 0:
            return images
        std = tf.constant(IMAGENET_STDDEV_RGB, tf.float32)
        low = (0.0 - tf.constant(IMAGENET_MEAN_RGB, tf.float32)) / std
        high = (255.0 - tf.constant(IMAGENET_MEAN_RGB, tf.float32)) / std
        picks = tf.random.uniform([count], 0, len(settings.epsilons), dtype=tf.int32)
        eps = tf.gather(tf.constant(settings.epsilons, tf.float32), picks)[:, None, None, None] / std
        clean = images[:count]
        x = tf.clip_by_value(clean + tf.random.uniform(tf.shape(clean), -1.0, 1.0) * eps, low, high)
        head = tf.nest.map_structure(lambda t: t[:count], labels)
        for _ in range(settings.steps):
            with tf.GradientTape() as tape:
                tape.watch(x)
                cls_loss, box_loss = self._losses(self.model(x, training=False), head)
                loss = cls_loss + BOX_LOSS_WEIGHT * box_loss
            step = 2.5 * eps / settings.steps
            x = x + step * tf.sign(tape.gradient(loss, x))
            x = tf.clip_by_value(tf.clip_by_value(x, clean - eps, clean + eps), low, high)
        return tf.concat([tf.stop_gradient(x), images[count:]], axis=0)

    def _make_step(self):
        import tensorflow as tf

        variables = self.model.trainable_variables

        @tf.function
        def step(images, labels):
            images = self._adversarial(images, labels)
            with tf.GradientTape() as tape:
                outputs = self.model(images, training=True)
                cls_loss, box_loss = self._losses(outputs, labels)
                loss = cls_loss + BOX_LOSS_WEIGHT * box_loss
            grads = tape.gradient(loss, variables)
            grads, _ = tf.clip_by_global_norm(grads, 10.0)
            self.optimizer.apply_gradients(zip(grads, variables))
            return cls_loss, box_loss

        return step

    def validation_auc(self, images: np.ndarray, labels: np.ndarray) -> float:
        serve = make_serving_function(self.model, self.config.model)
        scores = []
        for start in range(0, len(images), 32):
            out = serve(images[start : start + 32])
            scores += out["detection_scores"].numpy().max(axis=1, initial=0.0).tolist()
        return roc_auc(labels, scores)

    def train(self, train_record: Path, val_record: Path, progress: bool = True) -> TrainResult:
        import tensorflow as tf
        from tqdm import tqdm

        schedule = self.config.train
        result = TrainResult()
        if self.manager.latest_checkpoint:
            self.checkpoint.restore(self.manager.latest_checkpoint)
            log.info("resumed from %s at epoch %d", self.manager.latest_checkpoint, int(self.epoch))
        history_path = self.run_dir / "history.json"
        if history_path.exists():
            result.history = json.loads(history_path.read_text())
        positives, negatives = count_records(train_record)
        steps = schedule.steps_per_epoch or max(1, (positives + negatives) // schedule.batch_size)
        log.info("training on %d positive and %d negative examples, %d steps per epoch", positives, negatives, steps)
        val_images, val_labels = self.load_eval_images(val_record, self.config.model.input_size)
        batches = iter(self.training_dataset(train_record))
        started = time.perf_counter()
        phase, step = None, None
        while int(self.epoch) < schedule.epochs:
            epoch = int(self.epoch)
            head_only = epoch < schedule.head_only_epochs
            if phase != head_only:
                self._set_backbone_trainable(not head_only)
                step, phase = self._make_step(), head_only
            base_lr = schedule.learning_rate if head_only else schedule.fine_tune_learning_rate
            first = 0 if head_only else schedule.head_only_epochs
            span = max(1, (schedule.head_only_epochs if head_only else schedule.epochs - first) * steps)
            losses = []
            bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{schedule.epochs}", disable=not progress, leave=False)
            for i in bar:
                done = (epoch - first) * steps + i
                self.optimizer.learning_rate.assign(base_lr * 0.5 * (1 + math.cos(math.pi * done / span)))
                images, labels = next(batches)
                cls_loss, box_loss = step(images, labels)
                losses.append((float(cls_loss), float(box_loss)))
                bar.set_postfix(
                    cls=f"{np.mean([c for c, _ in losses[-20:]]):.3f}",
                    box=f"{np.mean([b for _, b in losses[-20:]]):.4f}",
                )
            auc = self.validation_auc(val_images, val_labels)
            self.epoch.assign_add(1)
            entry = {
                "epoch": epoch + 1,
                "cls_loss": float(np.mean([c for c, _ in losses])),
                "box_loss": float(np.mean([b for _, b in losses])),
                "val_auc": auc,
                "backbone": "frozen" if head_only else "fine-tuned",
                "seconds": round(time.perf_counter() - started, 1),
            }
            result.history.append(entry)
            log.info("epoch %d: cls %.4f box %.4f val AUC %.4f", epoch + 1, entry["cls_loss"], entry["box_loss"], auc)
            if not math.isnan(auc) and auc > float(self.best_auc):
                self.best_auc.assign(auc)
                self.checkpoint.write(self.best_prefix)
            self.manager.save()
            history_path.write_text(json.dumps(result.history, indent=1))
        if not tf.io.gfile.exists(self.best_prefix + ".index"):
            self.checkpoint.write(self.best_prefix)
        best = max(result.history, key=lambda h: -1 if math.isnan(h["val_auc"]) else h["val_auc"])
        result.best_epoch, result.best_val_auc = best["epoch"], best["val_auc"]
        result.seconds = sum(h["seconds"] for h in result.history[-1:])
        return result
