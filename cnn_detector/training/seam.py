"""blend_seam: a blend-boundary heatmap detector trained on fresh self-blends (issue 4).

Self-blends (a face blended into a jittered copy of itself) leave only a soft seam; a box
detector trained on a fixed set of them barely learned it (test AUC 0.63). This detector
learns where the seam is, pixel by pixel (the Face X-ray target 4·M·(1−M) of the blending mask
M), from a new self-blend of a training face at every step (Self-Blended Images' recipe), made
and re-encoded exactly as the factory makes its test blends. The image score is a logit over
the pooled features and the heatmap; the box is the heatmap's extent. The frozen graph keeps
the Object Detection API contract (one box per crop, class self_blend).

Data: `write_blend_sources` stores each training real face's crop (before re-encoding) and its
468 face-mesh landmarks once; validation and test use the factory's own self_blend and real
crops, so the numbers compare with every other detector's.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.detector_dir import write_detector_directory
from cnn_detector.export import freeze_detection_function, name_outputs
from cnn_detector.frozen_graph import LoadOptions, load_detector, resize_to_input
from cnn_detector.registry import DEFAULT_DETECTORS_ROOT, PROJECT_ROOT, load_detector_spec
from cnn_detector.training.data import fakes
from cnn_detector.training.data.factory import REAL, FactoryOptions, FakeFactory, run_factory, source_stem
from cnn_detector.training.scoring import detector_metrics, read_index, score_images
from cnn_detector.training.ship import machine, ship_detector
from deepfake_evaluation.metrics import roc_auc
from deepfake_scanner.images import read_image
from deepfake_scanner.share import imagenet_mobilenet_v2

log = logging.getLogger(__name__)

METHOD = "self_blend"
# MobileNetV2 features at strides 4, 8, 16 and 32.
LEVELS = ("block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu", "out_relu")


@dataclass(frozen=True)
class SeamOptions:
    name: str = "blend_seam"
    input_size: int = 160
    alpha: float = 0.5
    pretrained: str | None = str(imagenet_mobilenet_v2(0.5))
    flip_average: bool = True  # score = mean of the image logits of the crop and its mirror image
    members: int = 3  # models trained with seeds seed, seed+1, ...; their logits are averaged
    decoder_filters: int = 48
    pool_decoder: bool = True  # the image logit also reads the decoder's pooled seam features
    train_batchnorm: bool = True  # fine-tune batch norm (batch statistics) instead of keeping ImageNet's
    heatmap_weight: float = 5.0
    epochs: int = 60
    steps_per_epoch: int = 150
    head_only_epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-3
    fine_tune_learning_rate: float = 2e-4
    # a second cosine cycle after the first (SGDR's warm restart), from the best epoch of the first
    restart_epochs: int = 0
    restart_learning_rate: float = 1e-4
    # share of real training faces passed whole through the blend's source processing (colour
    # jitter, blur/sharpen, warp): the fake is then told apart by the seam, not by the processing
    processed_reals: float = 0.0
    # share of training self-blends made the other way round: the original face inside a processed surround
    processed_outside: float = 0.0
    # per member, "FIELD=VALUE,..." settings that differ from the rest (empty: members differ in seed only)
    member_settings: tuple[str, ...] = ("", "processed_reals=0.5,processed_outside=0.3", "processed_reals=0.5")
    paired: bool = False  # each drawn face yields itself and a fresh self-blend of it, side by side (SBI)
    seed: int = 0
    quick: bool = False

    def __post_init__(self) -> None:
        # The decoder doubles stride-32 features back to stride 4: the side must divide by 32.
        if self.input_size < 32 or self.input_size % 32:
            raise ValueError(f"input_size must be a multiple of 32 (at least 32), got {self.input_size}")
        if self.member_settings and len(self.member_settings) != self.members:
            raise ValueError(f"member_settings has {len(self.member_settings)} entries for {self.members} members")
        if any("input_size" in settings or "members" in settings for settings in self.member_settings):
            raise ValueError("members share the input size (one graph input) and cannot have members of their own")

    @property
    def heatmap_size(self) -> int:
        return self.input_size // 4


def with_overrides(options: SeamOptions, assignments: list[str]) -> SeamOptions:
    """OPTIONS with FIELD=VALUE assignments applied, each value read as its field's type."""
    fields = {f.name: f for f in dataclasses.fields(options)}
    changes = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or name not in fields:
            raise ValueError(f"--set {assignment}: expected FIELD=VALUE with FIELD one of {', '.join(sorted(fields))}")
        current = getattr(options, name)
        try:
            if isinstance(current, bool):
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError("expected true or false")
                changes[name] = text.lower() in ("true", "1")
            elif isinstance(current, tuple):  # member_settings: one entry per member, separated by ';'
                changes[name] = tuple(text.split(";")) if text else ()
            elif current is None or isinstance(current, str):
                changes[name] = None if text.lower() == "none" else text
            else:
                changes[name] = type(current)(text)
        except ValueError as err:
            raise ValueError(f"--set {assignment}: {err}") from None
    return replace(options, **changes)


# ---- data ----
class BlendSourceWriter(FakeFactory):
    """Runs the factory's face finding and cropping over the real media, but stores each crop
    (lossless, before re-encoding) with its landmarks instead of making fakes."""

    def process(self, item) -> None:
        if item.label == REAL and item.split == "train":
            super().process(item)

    def _manipulate(self, item, tag, face, rng) -> None:
        crop, landmarks, _ = self.crop_with_landmarks(face, rng)
        folder = self.out_dir / item.split
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{source_stem(item.relative)}_{tag}"
        cv2.imwrite(str(folder / f"{stem}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        np.save(folder / f"{stem}.npy", landmarks.astype(np.float32))
        self.rows.append(
            {
                "image": f"{item.split}/{stem}.png",
                "split": item.split,
                "method": REAL,
                "label": REAL,
                "source": item.relative,
                "source_folder": item.folder,
                "group": item.group,
                "boxes": "",
                "face_px": "0",
            }
        )


def write_blend_sources(share: Path, out_dir: Path, seed: int = 0) -> Path:
    """Crops + landmarks of the share's training real faces (the factory's crops and seed)."""
    factory = run_factory(share, out_dir, FactoryOptions(seed=seed), factory_class=BlendSourceWriter)
    log.info("%s: %d training faces for self-blending", out_dir, len(factory.rows))
    return out_dir


def load_sources(sources: Path) -> list[tuple[Path, Path]]:
    with open(Path(sources) / "index.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "train"]
    pairs = [(Path(sources) / r["image"], (Path(sources) / r["image"]).with_suffix(".npy")) for r in rows]
    pairs = [p for p in pairs if p[0].is_file() and p[1].is_file()]
    if not pairs:
        raise ValueError(f"{sources}: no training faces (run tools/train_seam.py, which writes them)")
    return pairs


def seam_target(mask: np.ndarray, size: int) -> np.ndarray:
    """Face X-ray's blending boundary 4·M·(1−M) of the mask scaled to peak 1, at size x size."""
    peak = float(mask.max())
    if peak <= 0:
        return np.zeros((size, size), np.float32)
    m = mask / peak
    boundary = 4.0 * m * (1.0 - m)
    return cv2.resize(boundary.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)


def fit(image: np.ndarray, size: int) -> np.ndarray:
    """Resize as the frozen-graph runner does (FrozenGraphDetector.prepare)."""
    return resize_to_input(image, size, size)


def make_example(source: np.ndarray, landmarks: np.ndarray, fake: bool, options: SeamOptions, rng):
    """(uint8 image at the input size, seam target, label): a fresh self-blend or the real
    face, re-encoded with the factory's settings (real and fake alike)."""
    if fake:
        outside = bool(options.processed_outside and rng.random() < options.processed_outside)
        image, mask = fakes.self_blend(source, landmarks, rng, processed_outside=outside)
    else:
        image, mask = source, np.zeros(source.shape[:2], np.float32)
        if options.processed_reals and rng.random() < options.processed_reals:
            image = fakes.jittered_copy(source, landmarks, rng)
    defaults = FactoryOptions()
    _, image = fakes.reencode(image, rng, defaults.reencode_min_scale, defaults.jpeg_min)
    mask = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    image, mask = fit(image, options.input_size), fit(mask, options.input_size)
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    return np.ascontiguousarray(image), seam_target(mask, options.heatmap_size), float(fake)


def example_stream(pairs, options: SeamOptions, seed: int):
    """Endless training examples from random training faces: each face yields itself and a fresh
    self-blend of it, one after the other (paired), or one of the two at random."""
    rng = np.random.default_rng(seed)
    while True:
        image_path, landmark_path = pairs[int(rng.integers(len(pairs)))]
        source = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB)
        landmarks = np.load(landmark_path)
        kinds = (False, True) if options.paired else (bool(rng.random() < 0.5),)
        try:
            examples = [make_example(source, landmarks, fake, options, rng) for fake in kinds]
        except (ValueError, cv2.error):
            continue
        for image, target, label in examples:
            yield image.astype(np.float32), {"image": np.array([label], np.float32), "heatmap": target[:, :, None]}


def training_dataset(pairs, options: SeamOptions, stream: int = 0):
    """Batches of fresh examples; STREAM picks other random draws (a restart cycle sees new blends)."""
    import tensorflow as tf

    size, heat = options.input_size, options.heatmap_size
    signature = (
        tf.TensorSpec((size, size, 3), tf.float32),
        {"image": tf.TensorSpec((1,), tf.float32), "heatmap": tf.TensorSpec((heat, heat, 1), tf.float32)},
    )
    # Two interleaved generators keep both cores busy while the model trains; a pair (a face and
    # its self-blend) stays together in one batch.
    group = 2 if options.paired else 1
    streams = [
        tf.data.Dataset.from_generator(
            lambda k=k: example_stream(pairs, options, options.seed * 100 + 10 * stream + k), output_signature=signature
        ).batch(group)
        for k in range(2)
    ]
    mixed = tf.data.Dataset.sample_from_datasets(streams, seed=options.seed).unbatch()
    return mixed.batch(options.batch_size).prefetch(4)


def factory_split(factory: Path, split: str, options: SeamOptions):
    """(images [N, s, s, 3] uint8, labels, rows) of the factory's reals and self-blends."""
    rows = [r for r in read_index(factory, split) if r["method"] in (REAL, METHOD)]
    images = np.stack([fit(read_image(Path(factory) / r["image"]), options.input_size) for r in rows])
    return images, np.array([int(r["method"] == METHOD) for r in rows]), rows


# ---- model ----
def build_seam_model(options: SeamOptions):
    """float images [N, s, s, 3] (0-255) -> {"image": logit [N, 1], "heatmap": logits [N, s/4, s/4, 1]}."""
    import tf_keras
    from tf_keras import layers

    size = options.input_size
    inputs = tf_keras.Input((size, size, 3))
    scaled = layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    if options.pretrained is not None and not Path(options.pretrained).is_file():
        raise FileNotFoundError(f"pretrained weights {options.pretrained} not found")
    net = tf_keras.applications.MobileNetV2(
        input_shape=(size, size, 3), alpha=options.alpha, include_top=False, weights=options.pretrained
    )
    freeze_batchnorm(net, options)
    backbone = tf_keras.Model(net.input, [net.get_layer(n).output for n in LEVELS], name="backbone")
    features = backbone(scaled)
    width = options.decoder_filters
    top = layers.Conv2D(width, 1, name="lateral_4")(features[-1])
    for level, feature in zip((3, 2, 1), reversed(features[:-1])):
        top = layers.UpSampling2D(2, interpolation="nearest", name=f"up_{level}")(top)
        top = layers.Add(name=f"merge_{level}")([top, layers.Conv2D(width, 1, name=f"lateral_{level}")(feature)])
    top = layers.SeparableConv2D(width, 3, padding="same", activation="relu", name="decoder_conv")(top)
    heatmap = layers.Conv2D(1, 1, name="heatmap")(top)
    summaries = [
        layers.GlobalAveragePooling2D()(features[-1]),
        layers.GlobalMaxPooling2D()(heatmap),
        layers.GlobalAveragePooling2D()(heatmap),
    ]
    if options.pool_decoder:
        summaries += [layers.GlobalMaxPooling2D()(top), layers.GlobalAveragePooling2D()(top)]
    pooled = layers.Concatenate(name="pooled")(summaries)
    image = layers.Dense(1, name="image")(layers.Dropout(0.2)(pooled))
    return tf_keras.Model(inputs, {"image": image, "heatmap": heatmap}, name=options.name), backbone


def freeze_batchnorm(backbone, options: SeamOptions) -> None:
    """Keep ImageNet's batch-norm statistics (small batches) unless options.train_batchnorm."""
    import tf_keras

    for layer in backbone.layers:
        if isinstance(layer, tf_keras.layers.BatchNormalization):
            layer.trainable = options.train_batchnorm


def make_serving_function(model, options: SeamOptions):
    """image_tensor uint8 [N, H, W, 3] -> the contract's outputs: one box per image, the extent
    of the seam heatmap above half its peak, scored with the image probability."""
    import tensorflow as tf

    size = options.input_size

    def extent(active):  # active: bool [N, K] -> (start, end) normalized
        k = tf.cast(tf.shape(active)[1], tf.float32)
        as_int = tf.cast(active, tf.int32)
        start = tf.cast(tf.argmax(as_int, axis=1), tf.float32)
        end = k - tf.cast(tf.argmax(tf.reverse(as_int, axis=[1]), axis=1), tf.float32)
        return start / k, end / k

    @tf.function
    def serve(images):
        resized = tf.image.resize(tf.cast(images, tf.float32), (size, size))
        outputs = model(resized, training=False)
        logit = outputs["image"]  # [N, 1]
        if options.flip_average:
            logit = 0.5 * (logit + model(tf.reverse(resized, axis=[2]), training=False)["image"])
        probability = tf.sigmoid(logit)
        heat = tf.sigmoid(outputs["heatmap"])[..., 0]  # [N, h, w]
        peak = tf.reduce_max(heat, axis=[1, 2], keepdims=True)
        active = heat >= 0.5 * peak
        y0, y1 = extent(tf.reduce_any(active, axis=2))
        x0, x1 = extent(tf.reduce_any(active, axis=1))
        boxes = tf.stack([y0, x0, y1, x1], axis=1)[:, None, :]
        count = tf.shape(images)[0]
        return name_outputs(boxes, probability, tf.ones_like(probability), tf.ones([count], tf.float32))

    return serve


# ---- training ----
def image_logits(model, images: np.ndarray, options: SeamOptions) -> np.ndarray:
    """The image logits the frozen graph scores with (mirror-averaged when flip_average)."""
    logits = model.predict(images, batch_size=64, verbose=0)["image"].ravel()
    if options.flip_average:
        mirrored = np.ascontiguousarray(images[:, :, ::-1])
        logits = 0.5 * (logits + model.predict(mirrored, batch_size=64, verbose=0)["image"].ravel())
    return logits


def train_seam(sources: Path, factory: Path, run_dir: Path, options: SeamOptions, progress: bool = True):
    """Fresh self-blends every step; the epoch with the best validation AUC (factory val split:
    its self-blends against its reals) is kept. With restart_epochs, the first cycle's training
    (reused when finished) continues in RUN_DIR/restart. Returns (model, history)."""
    import tensorflow as tf

    if options.restart_epochs:
        restarted = Path(run_dir) / "restart"
        if finished_training(restarted, options) is None:
            model, first = train_seam(sources, factory, run_dir, first_cycle(options), progress)
            return restart_seam(model, first, sources, factory, restarted, options, progress)
        run_dir = restarted  # both cycles finished (the first one need not be there: --recover-from)
    tf.keras.utils.set_random_seed(options.seed)
    pairs = load_sources(sources)
    model, backbone = build_seam_model(options)
    finished = finished_training(run_dir, options)
    if finished is not None:
        log.info("%s: training with these options already finished; reusing its best weights", run_dir)
        model.load_weights(str(run_dir / "best.weights.h5"))
        return model, finished
    val = validation_set(factory, options)
    epochs = 2 if options.quick else options.epochs
    steps = 2 if options.quick else options.steps_per_epoch
    head_only = min(options.head_only_epochs, epochs - 1)
    cycles = ((0, head_only, options.learning_rate, False), (head_only, epochs, options.fine_tune_learning_rate, True))
    data = iter(training_dataset(pairs, options))
    history = run_epochs(model, backbone, data, val, cycles, steps, run_dir, options, progress)
    return model, history


def first_cycle(options: SeamOptions) -> SeamOptions:
    """The options of a restarted training's first cycle (as if the restart did not exist)."""
    return replace(options, restart_epochs=0, restart_learning_rate=SeamOptions.restart_learning_rate)


def restart_seam(model, first: list[dict], sources, factory, run_dir: Path, options: SeamOptions, progress=True):
    """A second cosine cycle of restart_epochs from MODEL (the first cycle's best epoch), at
    restart_learning_rate, on new draws; the best epoch of both cycles is kept."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(options.seed + 1000)
    data = iter(training_dataset(load_sources(sources), options, stream=1))
    done, epochs = len(first), 2 if options.quick else options.restart_epochs
    cycle = ((done, done + epochs, options.restart_learning_rate, True),)
    val = validation_set(factory, options)
    start = (roc_auc(val[1], image_logits(model, val[0], options)), model.get_weights())  # to beat
    history = run_epochs(
        model,
        model.get_layer("backbone"),
        data,
        val,
        cycle,
        2 if options.quick else options.steps_per_epoch,
        run_dir,
        options,
        progress,
        list(first),
        start,
        cycle=2,
    )
    return model, history


def validation_set(factory: Path, options: SeamOptions):
    images, labels, _ = factory_split(factory, "val", options)
    if len(set(labels)) < 2 and not options.quick:
        raise ValueError(f"{factory}: the validation split needs real faces and self-blends")
    return images, labels


def run_epochs(
    model, backbone, data, val, cycles, steps, run_dir, options, progress=True, history=None, start=None, cycle=1
):
    """Train through CYCLES ((first epoch, end epoch, learning rate, fine-tune backbone), each a
    cosine decay; their epochs recorded as cycle CYCLE). The epoch with the best validation AUC
    is kept in RUN_DIR/best.weights.h5 (START: (AUC, weights) to beat) and loaded; the finished
    training is recorded in RUN_DIR/finished.json. Returns the history."""
    import tf_keras

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    best_path, history = run_dir / "best.weights.h5", list(history or [])
    best, start_weights = start if start is not None else (-1.0, None)
    kept = False
    end = max((last for _, last, _, _ in cycles), default=0)
    for first, last, rate, fine_tune in cycles:
        if last <= first:
            continue
        backbone.trainable = fine_tune
        if fine_tune:
            freeze_batchnorm(backbone, options)
        schedule = tf_keras.optimizers.schedules.CosineDecay(rate, (last - first) * steps)
        model.compile(
            optimizer=tf_keras.optimizers.Adam(schedule),
            loss={
                "image": tf_keras.losses.BinaryCrossentropy(from_logits=True),
                "heatmap": tf_keras.losses.BinaryCrossentropy(from_logits=True),
            },
            loss_weights={"image": 1.0, "heatmap": options.heatmap_weight},
        )
        for epoch in range(first, last):
            started = time.perf_counter()
            fit_history = model.fit(data, steps_per_epoch=steps, epochs=1, verbose=1 if progress else 0)
            auc = roc_auc(val[1], image_logits(model, val[0], options))
            losses = {k: float(v[-1]) for k, v in fit_history.history.items()}
            history.append(
                {
                    "epoch": epoch + 1,
                    "cycle": cycle,
                    "backbone": "fine-tuned" if fine_tune else "frozen",
                    "image_loss": losses.get("image_loss", float("nan")),
                    "heatmap_loss": losses.get("heatmap_loss", float("nan")),
                    "val_auc": auc,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            log.info(
                "epoch %d/%d: loss %.4f (heatmap %.4f), val AUC %.3f",
                epoch + 1,
                end,
                losses["loss"],
                history[-1]["heatmap_loss"],
                auc,
            )
            if not auc <= best:  # NaN (quick runs) keeps the latest
                best, kept = auc, True
                model.save_weights(str(best_path))
    if kept:
        model.load_weights(str(best_path))
    else:  # no epoch beat the start (saved now: the compiled model's file layout)
        model.set_weights(start_weights)
        model.save_weights(str(best_path))
    record = {"options": asdict(options), "history": history}
    atomic_write_text(run_dir / "finished.json", json.dumps(record, indent=1, default=float))
    return history


# Options added after training runs were first recorded, with the value that trains as before.
OPTIONS_BEFORE_THEY_EXISTED = {
    "processed_reals": 0.0,
    "processed_outside": 0.0,
    "pool_decoder": False,
    "train_batchnorm": False,
    "member_settings": [],
    "restart_epochs": 0,
    "restart_learning_rate": SeamOptions.restart_learning_rate,
}


def finished_training(run_dir: Path, options: SeamOptions) -> list[dict] | None:
    """The history of a training in RUN_DIR that finished with exactly these options, else None."""
    record_path, weights = Path(run_dir) / "finished.json", Path(run_dir) / "best.weights.h5"
    if not record_path.is_file() or not weights.is_file():
        return None
    recorded = json.loads(record_path.read_text()).get("options", {})
    wanted = json.loads(json.dumps(asdict(options), default=float))
    # A record made before an option existed trained with the option's old behaviour; the name
    # only labels the model inside the shipped graph and changes nothing in training.
    # The weights file counts by its name: the same ImageNet file reached from another checkout.
    for options_dict in (recorded, wanted):
        if options_dict.get("pretrained"):
            options_dict["pretrained"] = Path(options_dict["pretrained"]).name
    same = all(
        recorded.get(field, OPTIONS_BEFORE_THEY_EXISTED.get(field)) == value
        for field, value in wanted.items()
        if field != "name"
    )
    return json.loads(record_path.read_text())["history"] if same else None


def member_options(options: SeamOptions) -> list[SeamOptions]:
    """One model per member, seeds seed, seed+1, ... (names differ: they live in one graph),
    each with its own FIELD=VALUE settings from options.member_settings where given."""
    if options.members == 1 and not options.member_settings:
        return [options]
    members = []
    for k in range(options.members):
        member = replace(options, seed=options.seed + k, members=1, name=f"{options.name}_{k}", member_settings=())
        if options.member_settings and options.member_settings[k]:
            member = with_overrides(member, options.member_settings[k].split(","))
        members.append(member)
    return members


def average_models(models, options: SeamOptions):
    """One model whose image and heatmap logits are the members' means."""
    import tf_keras
    from tf_keras import layers

    if len(models) == 1:
        return models[0]
    inputs = tf_keras.Input((options.input_size, options.input_size, 3))
    outputs = [member(inputs) for member in models]
    averaged = {key: layers.Average(name=f"mean_{key}")([o[key] for o in outputs]) for key in ("image", "heatmap")}
    return tf_keras.Model(inputs, averaged, name=options.name)


def train_members(sources: Path, factory: Path, run_dir: Path, options: SeamOptions, progress: bool = True):
    """Train (or reuse the finished training of) every member, each in RUN_DIR/member_K, and
    average them. Returns (model, per-member records, validation AUC of the averaged model)."""
    members = member_options(options)
    models, records = [], []
    for k, member in enumerate(members):
        member_dir = run_dir if len(members) == 1 else Path(run_dir) / f"member_{k}"
        model, history = train_seam(sources, factory, member_dir, member, progress)
        best = max(history, key=lambda h: -1 if np.isnan(h["val_auc"]) else h["val_auc"])
        models.append(model)
        records.append(
            {
                "seed": member.seed,
                "settings": options.member_settings[k] if options.member_settings else "",
                "epochs": len(history),
                "best_epoch": best["epoch"],
                "best_val_auc": best["val_auc"],
                "seconds": round(sum(h["seconds"] for h in history), 1),
                "history": history,
            }
        )
    model = average_models(models, options)
    val_images, val_labels, _ = factory_split(factory, "val", options)
    val_auc = float("nan")
    if len(set(val_labels)) == 2:
        val_auc = roc_auc(val_labels, image_logits(model, val_images, options))
    log.info("%s: %d model(s), validation AUC %.3f", options.name, len(models), val_auc)
    return model, records, val_auc


# Where each Keras weight of a layer lives in a frozen graph: the constant that replaced the
# variable its op read (convert_variables_to_constants_v2 keeps the read op's name).
FROZEN_WEIGHT_READS = {
    "BatchNormalization": (
        "ReadVariableOp",
        "ReadVariableOp_1",
        "FusedBatchNormV3/ReadVariableOp",
        "FusedBatchNormV3/ReadVariableOp_1",
    ),
    "Conv2D": ("Conv2D/ReadVariableOp", "BiasAdd/ReadVariableOp"),
    "DepthwiseConv2D": ("depthwise/ReadVariableOp", "BiasAdd/ReadVariableOp"),
    "SeparableConv2D": (
        "separable_conv2d/ReadVariableOp",
        "separable_conv2d/ReadVariableOp_1",
        "BiasAdd/ReadVariableOp",
    ),
    "Dense": ("MatMul/ReadVariableOp", "BiasAdd/ReadVariableOp"),
}


def options_from_record(record: dict) -> SeamOptions:
    """SeamOptions from a metrics.json / finished.json record (lists back to tuples, unknown
    fields left out)."""
    fields = {f.name for f in dataclasses.fields(SeamOptions)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in record.items() if k in fields}
    return SeamOptions(**values)


def load_frozen_weights(model, constants: dict, prefix: str) -> None:
    """Set MODEL's weights from a frozen graph's CONSTANTS (name -> array) under PREFIX."""
    for layer in model.layers:
        owners = (
            [(f"{prefix}{layer.name}/{sub.name}/", sub) for sub in layer.layers] if hasattr(layer, "layers") else []
        )
        for path, owner in owners or [(f"{prefix}{layer.name}/", layer)]:
            if not owner.weights:
                continue
            reads = FROZEN_WEIGHT_READS.get(type(owner).__name__)
            if reads is None:
                raise ValueError(f"{path}: no frozen-graph name known for a {type(owner).__name__} layer")
            values = []
            for read, weight in zip(reads, owner.weights):
                value = constants.get(f"{path}{read}/resource")
                if value is None or value.shape != tuple(weight.shape):
                    raise ValueError(f"{path}{read}: missing from the graph or not shaped {tuple(weight.shape)}")
                values.append(value)
            owner.set_weights(values)


def recover_finished(directory: Path, run_dir: Path) -> list[Path]:
    """Write a shipped seam detector's finished trainings back into RUN_DIR, as train_members
    lays them out: each model's weights read from the frozen graph, its record from
    metrics.json. A later run can then add a restart cycle or models without retraining what
    was shipped (work_data/ does not travel; the detector directory does). The recovered models
    must give the graph's own scores. Returns the folders written."""
    import tensorflow as tf

    from cnn_detector.graph_trust import read_and_verify_graph

    directory, run_dir = Path(directory), Path(run_dir)
    try:
        training = json.loads((directory / "metrics.json").read_text())["training"]
        shipped = options_from_record(training["options"])
        records = training["members"]
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise ValueError(
            f"{directory / 'metrics.json'}: not the record of a tools/train_seam.py training ({err!r})"
        ) from None
    spec = load_detector_spec(directory)
    graph = read_and_verify_graph(spec.graph_path, spec.manifest.sha256).graph_def
    constants = {n.name: tf.make_ndarray(n.attr["value"].tensor) for n in graph.node if n.op == "Const"}
    members, written, models = member_options(shipped), [], []
    for member in members:
        model, _ = build_seam_model(replace(member, pretrained=None))
        load_frozen_weights(
            model, constants, f"{shipped.name}/{member.name}/" if len(members) > 1 else f"{shipped.name}/"
        )
        models.append(model)
    check_recovered(directory, average_models(models, shipped), shipped)
    for k, (member, model, record) in enumerate(zip(members, models, records)):
        member_dir = run_dir if len(members) == 1 else run_dir / f"member_{k}"
        if member.restart_epochs:
            member_dir = member_dir / "restart"
        if finished_training(member_dir, member) is not None:
            continue
        member_dir.mkdir(parents=True, exist_ok=True)
        model.save_weights(str(member_dir / "best.weights.h5"))
        finished = {"options": asdict(member), "history": record["history"], "recovered_from": str(directory)}
        atomic_write_text(member_dir / "finished.json", json.dumps(finished, indent=1, default=float))
        written.append(member_dir)
    log.info("%s: %d finished model(s) recovered into %s", directory, len(written), run_dir)
    return written


def check_recovered(directory: Path, model, options: SeamOptions, count: int = 8) -> None:
    """The recovered MODEL must score random crops as the frozen graph does."""
    images = np.random.default_rng(0).integers(0, 256, (count, options.input_size, options.input_size, 3), np.uint8)
    expected = 1 / (1 + np.exp(-image_logits(model, images.astype(np.float32), options)))
    detector = load_detector(load_detector_spec(directory), LoadOptions(batch_size=count))
    try:
        found = detector.detect(list(images), min_score=0.0)
    finally:
        detector.close()
    scores = np.array([max((d.score for d in detections), default=0.0) for detections in found])
    if not np.allclose(scores, expected, atol=1e-4):
        raise ValueError(f"{directory}: recovered models score {expected} where the graph scores {scores}")


def labelmap_field(output_root: Path, name: str) -> dict:
    """Shipped detectors point at labelmaps/NAME.pbtxt; elsewhere the labelmap travels inside."""
    shared = PROJECT_ROOT / "labelmaps" / f"{name}.pbtxt"
    if output_root.resolve() == (DEFAULT_DETECTORS_ROOT).resolve() and shared.is_file():
        return {"labelmap": f"../../labelmaps/{name}.pbtxt"}
    return {}


def train_and_ship_seam(
    share: Path,
    factory: Path,
    sources: Path,
    run_dir: Path,
    output_root: Path,
    options: SeamOptions,
    progress: bool = True,
    command: str = "",
) -> dict:
    """Train, export, calibrate, test and write the detector directory with its model card."""
    from cnn_detector.training.model_card import licences_of, render_seam_card
    from deepfake_scanner.share import load_share

    started = time.perf_counter()
    if not (Path(sources) / "index.csv").is_file():
        write_blend_sources(share, sources, options.seed)
    preparing = time.perf_counter() - started
    model, members, val_auc = train_members(sources, factory, run_dir, options, progress)
    started = time.perf_counter()
    with open(Path(sources) / "index.csv", newline="") as handle:
        trained = {row["source_folder"] for row in csv.DictReader(handle)}
    directory = write_detector_directory(
        Path(output_root) / options.name,
        freeze_detection_function(make_serving_function(model, options)),
        [(1, METHOD, "Blended face seam")],
        **labelmap_field(Path(output_root), options.name),
        name=options.name,
        version="1.0.0",
        author="Deepfake Scanner contributors",
        algorithms=[METHOD],
        input="face_crop",
        input_size=[options.input_size, options.input_size],
        face_margin=0.3,
        min_score=0.5,
        trained_on=sorted(trained),
        description="Faces blended into a jittered copy of themselves through a soft mask: a seam heatmap, "
        "boxed where it is strongest.",
    )
    ship_detector(directory, factory, None if options.quick else share, (METHOD,))
    detector = load_detector(load_detector_spec(directory), LoadOptions(batch_size=16))
    scored = score_images(detector, factory, read_index(factory, "test"))
    metrics = detector_metrics(scored, (METHOD,))
    if Path(share, "MANIFEST.csv").is_file() and not options.quick:
        from cnn_detector.training.difficulty import blend_difficulty

        metrics["blend_difficulty"] = blend_difficulty(detector, share, factory, "test")
    detector.close()
    # members count with their recorded epoch times (also when reused from an earlier run)
    seconds = preparing + sum(m["seconds"] for m in members) + time.perf_counter() - started
    training = {
        "members": members,
        "val_auc": val_auc,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "options": asdict(options),
        "command": command,
    }
    report = {"detector": options.name, "training": training, "test": metrics}
    atomic_write_text(directory / "metrics.json", json.dumps(report, indent=1, sort_keys=True, default=float))
    folders = {s.source_folder for s in scored}
    licences = licences_of(load_share(share), folders | trained) if Path(share).is_dir() else {}
    labelmap = (
        f"labelmaps/{options.name}.pbtxt" if labelmap_field(Path(output_root), options.name) else "labelmap.pbtxt"
    )
    card = render_seam_card(options, member_options(options), metrics, training, licences, command, labelmap, trained)
    atomic_write_text(directory / "MODEL_CARD.md", card)
    return report
