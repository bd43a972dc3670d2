"""Kinds of real face that detectors trained on the share flag as fake (issue 20, measured on
wild/ and on users' photos): photos up-scaled from low resolution, old scanned photos, phone
selfies through a beauty filter, tight face crops, and anything through the shared degradation
chain (augment.degrade). Each is made here from a real face crop, deterministically from a
seed, so calibration can run every real face of the share through several of them and a
threshold is set on thousands of real inputs rather than on a few hundred clean ones.

Nothing here takes a label: a kind is a way a real photo's life goes, applied to any image."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
        return image
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].copy()


def _clip(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def upscaled(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small photo blown up: down to 12-35% of the side, back up with bicubic or Lanczos
    (what image viewers, messengers and 'enhance' buttons do), sometimes re-saved as JPEG."""
    height, width = image.shape[:2]
    scale = rng.uniform(0.12, 0.35)
    small = cv2.resize(
        image, (max(8, round(width * scale)), max(8, round(height * scale))), interpolation=cv2.INTER_AREA
    )
    method = (cv2.INTER_CUBIC, cv2.INTER_LANCZOS4, cv2.INTER_LINEAR)[rng.integers(3)]
    out = cv2.resize(small, (width, height), interpolation=method)
    return _jpeg(out, rng.integers(60, 96)) if rng.random() < 0.6 else out


def old_photo(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A scanned old print: grey or sepia, faded contrast, soft focus, film grain, a few
    scratches and dust specks, a vignette, JPEG."""
    height, width = image.shape[:2]
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.6, 1.8))
    fade = rng.uniform(0.55, 0.85)
    gray = (gray - 128.0) * fade + 128.0 + rng.uniform(-15, 20)
    tint = np.array([1.0, 1.0, 1.0]) if rng.random() < 0.4 else np.array([1.08, 0.97, 0.80])
    out = gray[..., None] * tint[None, None, :]
    out += rng.normal(0.0, rng.uniform(3.0, 10.0), size=(height, width, 1))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = np.sqrt(((yy - height / 2) / height) ** 2 + ((xx - width / 2) / width) ** 2)
    out *= (1.0 - rng.uniform(0.2, 0.6) * radius**2)[..., None]
    out = _clip(out)
    for _ in range(rng.integers(0, 3)):  # a short faint scratch or two
        x0 = int(rng.integers(0, width))
        y0 = int(rng.integers(0, height))
        length = rng.uniform(0.15, 0.5) * height
        x1, y1 = int(x0 + rng.uniform(-0.2, 0.2) * length), int(min(height - 1, y0 + length))
        layer = out.copy()
        colour = int(rng.integers(170, 230))
        cv2.line(layer, (x0, y0), (x1, y1), (colour, colour, colour), 1)
        out = cv2.addWeighted(layer, 0.5, out, 0.5, 0)
    for _ in range(rng.integers(0, 10)):  # dust specks
        centre = (int(rng.integers(width)), int(rng.integers(height)))
        shade = int(rng.choice([40, 215]))
        cv2.circle(out, centre, 1, (shade, shade, shade), -1)
    return _jpeg(out, rng.integers(45, 90))


def beauty_filter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone selfie's beauty mode: skin smoothed by an edge-preserving filter, lifted
    brightness and saturation, a touch of sharpening, saved as high-quality JPEG."""
    smooth = cv2.bilateralFilter(image, 9, rng.uniform(30, 90), rng.uniform(4, 9)).astype(np.float32)
    mix = rng.uniform(0.5, 0.95)
    out = mix * smooth + (1 - mix) * image.astype(np.float32)
    out = out * rng.uniform(1.0, 1.15) + rng.uniform(0, 15)
    hsv = cv2.cvtColor(_clip(out), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] *= rng.uniform(1.0, 1.25)
    out = cv2.cvtColor(_clip(hsv), cv2.COLOR_HSV2RGB).astype(np.float32)
    out += rng.uniform(0.0, 0.6) * (out - cv2.GaussianBlur(out, (0, 0), 1.0))
    return _jpeg(_clip(out), rng.integers(80, 96))


def tight_crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The face filling the frame, as in ID photos and dataset crops: the central 65-85% of
    the crop (a little above centre), resized back to the crop's size."""
    height, width = image.shape[:2]
    side = rng.uniform(0.65, 0.85)
    h, w = max(8, round(height * side)), max(8, round(width * side))
    top = int(np.clip((height - h) / 2 - rng.uniform(0, 0.08) * height, 0, height - h))
    left = int(np.clip((width - w) / 2 + rng.uniform(-0.05, 0.05) * width, 0, width - w))
    window = image[top : top + h, left : left + w]
    method = (cv2.INTER_CUBIC, cv2.INTER_LINEAR, cv2.INTER_AREA)[rng.integers(3)]
    return cv2.resize(window, (width, height), interpolation=method)


def degraded(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The training chain of augment.degrade (rescaling, blur/sharpening/restoration-like
    smoothing, gamma and colour, grayscale, JPEG 30-95)."""
    import tensorflow as tf

    from cnn_detector.training.data.augment import degrade

    seed = rng.integers(0, 2**31 - 1, size=2, dtype=np.int64).astype(np.int32)
    return degrade(tf.constant(image), tf.constant(seed)).numpy()


REAL_KINDS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "upscaled": upscaled,
    "old_photo": old_photo,
    "beauty_filter": beauty_filter,
    "tight_crop": tight_crop,
    "degraded": degraded,
}


def real_variants(image: np.ndarray, seed: int, copies: int = 1) -> Iterator[tuple[str, np.ndarray]]:
    """(kind, image) for each kind of REAL_KINDS, ``copies`` draws each, from one seed: the
    same image and seed always give the same variants."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGB image, got {image.dtype} {image.shape}")
    for index, (kind, make) in enumerate(REAL_KINDS.items()):
        for copy in range(copies):
            rng = np.random.default_rng([int(seed), index, copy])
            yield kind, make(np.ascontiguousarray(image), rng)
