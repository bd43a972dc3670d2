"""What every loaded detector is, whatever runs it (issue 24): `DetectorRunner` with the shared
detect / detect_clips / prepare over a form's own ``run``, the options detectors are loaded
with, and the conversion of raw OD-API tensors to `Detection`s. The frozen-graph form is
cnn_detector/frozen_graph.py, the TFLite form cnn_detector/tflite.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnn_detector.graph_trust import ALLOWED_OPS, DEFAULT_MAX_GRAPH_BYTES
from cnn_detector.labelmap import LabelMap
from cnn_detector.registry import DetectorSpec
from cnn_detector.types import Box, Detection


@dataclass(frozen=True)
class LoadOptions:
    """How detector graphs are checked and run.

    batch_size: images per `Session.run`.
    threads: TensorFlow intra-op threads per session (0: TensorFlow's default).
    """

    max_graph_bytes: int = DEFAULT_MAX_GRAPH_BYTES
    allowed_ops: frozenset[str] = ALLOWED_OPS
    batch_size: int = 8
    threads: int = 0
    run_timeout_ms: int = 120_000  # a graph that loops forever must not hang the scan


@dataclass(frozen=True, slots=True)
class RawDetections:
    """The four contract tensors for one image, rows already cut to num_detections."""

    boxes: np.ndarray  # [K, 4] float32, normalized ymin, xmin, ymax, xmax
    scores: np.ndarray  # [K] float32
    classes: np.ndarray  # [K] int64, 1-based


def resize_to_input(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The resize every detector input gets: area averaging when shrinking, bilinear otherwise
    (training code uses it too, so that a model sees at training what it sees here)."""
    import cv2

    if image.shape[:2] == (height, width):
        return image
    shrinking = image.shape[0] > height or image.shape[1] > width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def map_box_to_frame(box: Sequence[float], crop_box: Box) -> Box:
    """Map a box normalized to a crop into the frame; crop_box is the crop's normalized box."""
    cy0, cx0, cy1, cx1 = crop_box
    ch, cw = cy1 - cy0, cx1 - cx0
    y0, x0, y1, x1 = (float(v) for v in box)
    mapped = (cy0 + y0 * ch, cx0 + x0 * cw, cy0 + y1 * ch, cx0 + x1 * cw)
    return tuple(min(1.0, max(0.0, v)) for v in mapped)  # type: ignore[return-value]


def to_detections(
    raw: RawDetections,
    labelmap: LabelMap,
    detector: str,
    min_score: float,
    crop_box: Box | None = None,
) -> list[Detection]:
    """Turn one image's raw rows into `Detection`s at or above ``min_score``.

    Boxes are clipped to [0, 1] (exports may overshoot by rounding) and, for a crop, mapped
    into frame coordinates. Degenerate rows (NaN score, inverted box) are dropped.
    """
    found = []
    for box, score, class_id in zip(raw.boxes, raw.scores, raw.classes):
        score = float(score)
        if not score >= min_score or score > 1.0 + 1e-6:
            continue
        ymin, xmin, ymax, xmax = (min(1.0, max(0.0, float(v))) for v in box)
        if not (ymin <= ymax and xmin <= xmax):
            continue
        frame_box = (
            (ymin, xmin, ymax, xmax) if crop_box is None else map_box_to_frame((ymin, xmin, ymax, xmax), crop_box)
        )
        cid = int(class_id)
        if cid < 1:
            continue
        found.append(Detection(frame_box, min(score, 1.0), cid, labelmap.name_of(cid), detector))
    return found


class DetectorRunner:
    """A loaded detector, whatever form runs it (a frozen graph in a TensorFlow session, or a
    TFLite model: cnn_detector.tflite): ``run`` is the form's own, the rest is shared.

    Thread-safe: concurrent `run` calls on one detector are serialized by a lock; use one
    thread per detector to run detectors in parallel.
    """

    spec: DetectorSpec
    options: LoadOptions
    graph_sha256: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def labelmap(self) -> LabelMap:
        return self.spec.labelmap

    def run(self, batch: np.ndarray, audio: np.ndarray | None = None) -> list[RawDetections]:
        raise NotImplementedError

    def check_batch(self, batch: np.ndarray) -> None:
        rank = 5 if self.spec.manifest.is_clip else 4
        if batch.dtype != np.uint8 or batch.ndim != rank or batch.shape[-1] != 3:
            layout = "[N, T, H, W, 3]" if rank == 5 else "[N, H, W, 3]"
            raise ValueError(f"{self.name}: expected uint8 {layout}, got {batch.dtype} {batch.shape}")

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """Resize an RGB uint8 image (or crop) to the manifest's input_size."""
        return resize_to_input(image, *self.spec.manifest.input_size)

    def detect(
        self,
        images: Sequence[np.ndarray],
        min_score: float | None = None,
        crop_boxes: Sequence[Box | None] | None = None,
    ) -> list[list[Detection]]:
        """Detections for each RGB uint8 image, in batches of ``options.batch_size``.

        crop_boxes: for face crops, each crop's normalized box in its frame, so that the
        returned boxes are in frame coordinates.
        """
        threshold = self.spec.manifest.min_score if min_score is None else min_score
        crop_boxes = crop_boxes if crop_boxes is not None else [None] * len(images)
        results: list[list[Detection]] = []
        step = max(1, self.options.batch_size)
        for start in range(0, len(images), step):
            batch = np.stack([self.prepare(img) for img in images[start : start + step]])
            for offset, raw in enumerate(self.run(batch)):
                crop = crop_boxes[start + offset]
                results.append(to_detections(raw, self.labelmap, self.name, threshold, crop))
        return results

    def detect_clips(
        self,
        clips: Sequence[np.ndarray],
        crop_boxes: Sequence[Box],
        audio: Sequence[np.ndarray] | None = None,
        min_score: float | None = None,
    ) -> list[list[Detection]]:
        """Detections for each clip (uint8 [T, h, w, 3], resized here to input_size; T must be
        the manifest's clip_frames), boxes in frame coordinates through each clip's crop box."""
        manifest = self.spec.manifest
        if not manifest.is_clip:
            raise ValueError(f"{self.name}: input {manifest.input} is not a clip detector")
        threshold = manifest.min_score if min_score is None else min_score
        results: list[list[Detection]] = []
        step = max(1, self.options.batch_size)
        for start in range(0, len(clips), step):
            part = clips[start : start + step]
            if any(len(clip) != manifest.clip_frames for clip in part):
                raise ValueError(f"{self.name}: clips must have {manifest.clip_frames} frames")
            batch = np.stack([np.stack([self.prepare(frame) for frame in clip]) for clip in part])
            sound = None
            if manifest.input == "face_clip_audio":
                sound = np.zeros((len(part), manifest.audio_samples), np.float32)  # silence where none
                for row, samples in enumerate((audio or [None] * len(clips))[start : start + step]):
                    if samples is not None:
                        take = np.asarray(samples, np.float32)[: manifest.audio_samples]
                        sound[row, : len(take)] = take
            for offset, raw in enumerate(self.run(batch, sound)):
                results.append(to_detections(raw, self.labelmap, self.name, threshold, crop_boxes[start + offset]))
        return results

    def close(self) -> None:
        pass

    def __enter__(self) -> DetectorRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
