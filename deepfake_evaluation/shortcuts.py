"""Shortcut baselines: one image statistic each, scored as if it were a detector.

In the share, reals and fakes differ in ways that have nothing to do with manipulation: face
size, sharpness, compression, resolution. A detector that does no better than one of these
numbers on media from elsewhere has learned the shortcut, not the artifact. Each baseline's
direction (is a bigger value more fake?) is learned on the share's training split and then
fixed, never chosen on the data it is reported on.

- ``face_size``: the side of the largest face box, in source pixels.
- ``sharpness``: variance of the Laplacian of the largest face (grayscale, native pixels).
- ``compression``: JPEG quality estimated from the luminance quantization table (lossless
  stills count as 100); for videos, bits per pixel per frame.
- ``resolution``: width x height in megapixels.

Videos: the median over a few sampled frames (face size, sharpness), the stream's own
properties otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHORTCUTS = ("face_size", "sharpness", "compression", "resolution")
SHORTCUT_NAMES = {
    "face_size": "face size only",
    "sharpness": "sharpness only (variance of the Laplacian)",
    "compression": "JPEG quality only (videos: bits per pixel)",
    "resolution": "resolution only",
}

# The IJG standard luminance table at quality 50 (JPEG Annex K), row by row, the order in
# which Pillow reports quantization tables.
_STANDARD_LUMINANCE = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29,
     51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121,
     120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    float,
)  # fmt: skip


def jpeg_quality(table: Sequence[int]) -> float:
    """The IJG quality (1-100) whose scaled standard luminance table is closest to ``table``
    (64 values in PIL's order). Encoders that use their own tables get the nearest match."""
    table = np.asarray(table, float)
    best, best_error = 100.0, math.inf
    for quality in range(1, 101):
        scale = 5000 / quality if quality < 50 else 200 - 2 * quality
        expected = np.clip(np.floor((_STANDARD_LUMINANCE * scale + 50) / 100), 1, 255)
        error = float(np.abs(expected - table).mean())
        if error < best_error:
            best, best_error = float(quality), error
    return best


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian of a grayscale image (higher is sharper)."""
    import cv2

    return float(cv2.Laplacian(np.asarray(gray, np.float64), cv2.CV_64F).var())


def _largest_face_pixels(box, height: int, width: int) -> tuple[int, int, int, int]:
    ymin, xmin, ymax, xmax = box
    return int(ymin * height), int(xmin * width), max(int(ymax * height), 1), max(int(xmax * width), 1)


def frame_statistics(image: np.ndarray, faces: Sequence) -> tuple[float, float]:
    """(face size in pixels, sharpness of that face) of the largest face on an RGB frame;
    NaN for both when there is no face."""
    if not faces:
        return math.nan, math.nan
    height, width = image.shape[:2]
    boxes = [_largest_face_pixels(box, height, width) for box in faces]
    y0, x0, y1, x1 = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    size = float(max(y1 - y0, x1 - x0))
    crop = image[max(y0, 0) : y1, max(x0, 0) : x1]
    if crop.size == 0:
        return size, math.nan
    gray = crop.mean(axis=2) if crop.ndim == 3 else crop
    return size, laplacian_variance(gray)


@dataclass(frozen=True)
class ShortcutFeatures:
    face_size: float
    sharpness: float
    compression: float
    resolution: float

    def value(self, name: str) -> float:
        return getattr(self, name)


def still_compression(path: Path) -> float:
    """Estimated JPEG quality; 100 for a lossless still."""
    from PIL import Image

    with Image.open(path) as image:
        tables = getattr(image, "quantization", None) or {}
    return jpeg_quality(tables[0]) if 0 in tables and len(tables[0]) == 64 else 100.0


def measure(path: Path, face_finder, frames_per_video: int = 6) -> ShortcutFeatures:
    """The four statistics of one image or video (MediaError if it cannot be read)."""
    import cv2

    from deepfake_scanner.images import read_image
    from deepfake_scanner.video import VideoFrames, is_video

    path = Path(path)
    if not is_video(path):
        image = read_image(path)
        size, sharpness = frame_statistics(image, face_finder.find(image))
        height, width = image.shape[:2]
        return ShortcutFeatures(size, sharpness, still_compression(path), height * width / 1e6)
    capture = cv2.VideoCapture(str(path))
    width, height = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    capture.release()
    sizes, sharp = [], []
    for frame in VideoFrames(path, fps=1.0, max_frames=frames_per_video):
        # fit_for_processing may scale big frames down: measure in source pixels.
        scale = width / frame.image.shape[1] if width else 1.0
        size, sharpness = frame_statistics(frame.image, face_finder.find(frame.image))
        sizes.append(size * scale)
        sharp.append(sharpness)
    pixels = width * height * count
    bits = path.stat().st_size * 8 / pixels if pixels > 0 else math.nan
    return ShortcutFeatures(_nanmedian(sizes), _nanmedian(sharp), bits, width * height / 1e6)


def _nanmedian(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.median(finite)) if finite else math.nan


def orientation(labels: Iterable[int], values: Iterable[float]) -> int:
    """+1 if larger values go with fakes on these (training) examples, else -1."""
    from deepfake_evaluation.metrics import roc_auc

    pairs = [(y, v) for y, v in zip(labels, values) if not math.isnan(v)]
    if len({y for y, _ in pairs}) < 2:
        return 1
    auc = roc_auc(np.array([y for y, _ in pairs]), np.array([v for _, v in pairs]))
    return 1 if auc >= 0.5 else -1


def shortcut_score(features: ShortcutFeatures, name: str, sign: int) -> float:
    """The baseline's fake score: the statistic, oriented as learned on training data."""
    return sign * features.value(name)
