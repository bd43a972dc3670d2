"""Run a set of detectors on still images: decode, find faces, crop, detect, map back.

`ImageScanner.scan_file` turns one image file into `FrameDetections`; the CLIs and the
pipeline call it, and nothing here prints.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from cnn_detector.frozen_graph import FrozenGraphDetector
from cnn_detector.image_io import DEFAULT_MAX_PIXELS, read_image
from cnn_detector.types import Box, FrameDetections

log = logging.getLogger(__name__)

WHOLE_FRAME: Box = (0.0, 0.0, 1.0, 1.0)


class FaceFinder(Protocol):
    def find(self, image: np.ndarray) -> list[Box]:
        """Normalized (ymin, xmin, ymax, xmax) face boxes on an RGB uint8 image."""
        ...


@dataclass(frozen=True)
class ScanOptions:
    """min_score: overrides every detector's manifest min_score when set."""

    min_score: float | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS


def expand_box(box: Box, margin: float, image_size: tuple[int, int]) -> Box:
    """Grow a face box by ``margin`` of its size on each side, squared up, clipped to the frame."""
    height, width = image_size
    ymin, xmin, ymax, xmax = box
    cy, cx = (ymin + ymax) / 2 * height, (xmin + xmax) / 2 * width
    side = max((ymax - ymin) * height, (xmax - xmin) * width) * (1 + 2 * margin)
    y0, y1 = max(0.0, (cy - side / 2) / height), min(1.0, (cy + side / 2) / height)
    x0, x1 = max(0.0, (cx - side / 2) / width), min(1.0, (cx + side / 2) / width)
    return (y0, x0, y1, x1)


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    """The pixels of a normalized box (at least 1x1)."""
    height, width = image.shape[:2]
    ymin, xmin, ymax, xmax = box
    y0, x0 = int(ymin * height), int(xmin * width)
    y1, x1 = max(y0 + 1, int(round(ymax * height))), max(x0 + 1, int(round(xmax * width)))
    return image[y0:y1, x0:x1]


class ImageScanner:
    """Detectors (already verified and loaded) plus an optional face finder.

    face_crop detectors see each face found (with the manifest's margin); without a face
    finder they see the whole image, which suits portrait crops only.
    """

    def __init__(
        self,
        detectors: Sequence[FrozenGraphDetector],
        face_finder: FaceFinder | None = None,
        options: ScanOptions = ScanOptions(),
    ):
        self.detectors = list(detectors)
        self.face_finder = face_finder
        self.options = options
        self._needs_faces = any(d.spec.manifest.input == "face_crop" for d in self.detectors)

    def detect_frame(
        self, image: np.ndarray, source: str, frame_index: int = 0, timestamp_ms: float = 0.0
    ) -> FrameDetections:
        """Every detector on one RGB uint8 frame."""
        size = image.shape[:2]
        if self.face_finder is not None and self._needs_faces:
            faces = list(self.face_finder.find(image))
        else:
            faces = []
        detections = []
        for detector in self.detectors:
            manifest = detector.spec.manifest
            if manifest.input == "full_frame":
                detections += detector.detect([image], self.options.min_score)[0]
                continue
            regions = [expand_box(face, manifest.face_margin, size) for face in faces]
            if self.face_finder is None:
                regions = [WHOLE_FRAME]
            if not regions:
                continue
            per_crop = detector.detect([crop(image, r) for r in regions], self.options.min_score, crop_boxes=regions)
            for found in per_crop:
                detections += found
        return FrameDetections(
            source=source,
            frame_index=frame_index,
            timestamp_ms=timestamp_ms,
            image_size=(int(size[0]), int(size[1])),
            faces=tuple(faces),
            detections=tuple(detections),
        )

    def scan_file(self, path: Path | str) -> FrameDetections:
        """Decode one image file and detect; raises MediaError naming the file."""
        image = read_image(path, self.options.max_pixels)
        return self.detect_frame(image, str(path))
