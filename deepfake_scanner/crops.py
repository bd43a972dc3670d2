"""Face regions of a frame: the box a face_crop detector sees, and its pixels."""

from __future__ import annotations

import numpy as np

from cnn_detector.types import Box

WHOLE_FRAME: Box = (0.0, 0.0, 1.0, 1.0)


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


def box_area(box: Box) -> float:
    """Area of a normalized (ymin, xmin, ymax, xmax) box, as a share of the frame."""
    return (box[2] - box[0]) * (box[3] - box[1])


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two normalized (ymin, xmin, ymax, xmax) boxes."""
    y0, x0 = max(a[0], b[0]), max(a[1], b[1])
    y1, x1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, y1 - y0) * max(0.0, x1 - x0)
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0
