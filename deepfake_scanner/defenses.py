"""Input defenses against adversarial perturbations (issue 24): what the detectors see can be
passed through a lossy round trip first, which wipes out much of a perturbation crafted for
the exact pixels.

- ``resize``: down to 1/3 of each side (area) and back up (bilinear);
- ``jpeg``: re-encoded as JPEG at quality 15;
- ``both``: the resize round trip, then JPEG.

Faces are still found on the frame as decoded; only the detectors' inputs are defended. A
defense also changes what clean media look like to the detectors (down-scaling raises false
positives: README, "Robustness"), so a deployment measures it with the detector set it runs
(`bench`/`tools/evaluate.py --defense`).
"""

from __future__ import annotations

import cv2
import numpy as np

DEFENSES = ("none", "resize", "jpeg", "both")
RESIZE_FACTOR = 1 / 3
JPEG_QUALITY = 15


def resize_round_trip(image: np.ndarray, factor: float = RESIZE_FACTOR) -> np.ndarray:
    height, width = image.shape[:2]
    small = cv2.resize(
        image, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA
    )
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def jpeg_round_trip(image: np.ndarray, quality: int = JPEG_QUALITY) -> np.ndarray:
    """An RGB image through JPEG at ``quality`` and back."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def apply_defense(image: np.ndarray, defense: str) -> np.ndarray:
    """``image`` (RGB uint8) as the detectors see it under ``defense`` (one of DEFENSES)."""
    if defense == "none":
        return image
    if defense not in DEFENSES:
        raise ValueError(f"defense must be one of {DEFENSES}, got {defense!r}")
    if defense in ("resize", "both"):
        image = resize_round_trip(image)
    if defense in ("jpeg", "both"):
        image = jpeg_round_trip(image)
    return image
