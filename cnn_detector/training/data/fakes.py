"""Manipulations that make fakes from real faces, each with the exact region it changed.

All functions take RGB uint8 frames, MediaPipe face-mesh landmarks ([468, 3] pixels) and a
numpy Generator, and return (image, mask) where mask is float32 [H, W] in [0, 1]: how much of
each pixel comes from the manipulation. `mask_box` turns the mask into the labelled box.
"""

from __future__ import annotations

import cv2
import numpy as np

# Face-oval landmark indices of the MediaPipe mesh (its silhouette, in order).
FACE_OVAL = [
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
]
# Points that move little with expression, for aligning one face onto another.
ALIGN_POINTS = [33, 133, 362, 263, 1, 4, 5, 195, 197, 6, 168, 61, 291, 199, 175, 152, 234, 454, 10, 151]
# Inner face (brows, eyes, nose, mouth) hull, for swaps that keep the target's jaw and hair.
INNER_FACE = [
    70,
    63,
    105,
    66,
    107,
    336,
    296,
    334,
    293,
    300,
    383,
    372,
    345,
    352,
    376,
    433,
    416,
    434,
    430,
    431,
    262,
    428,
    199,
    208,
    32,
    211,
    210,
    214,
    192,
    213,
    147,
    123,
    116,
    143,
    156,
]


def hull_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    hull = cv2.convexHull(points[:, :2].astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1.0)
    return mask


def soften(mask: np.ndarray, rng: np.random.Generator, erode: bool = True) -> np.ndarray:
    """Randomly erode or dilate, then blur: the seam width varies as in real blends."""
    size = max(3, int(np.sqrt(mask.sum()) * rng.uniform(0.02, 0.12)) | 1)
    kernel = np.ones((size, size), np.uint8)
    binary = (mask > 0.5).astype(np.uint8)
    binary = cv2.erode(binary, kernel) if erode and rng.random() < 0.7 else cv2.dilate(binary, kernel)
    blur = max(3, int(np.sqrt(mask.sum()) * rng.uniform(0.05, 0.25)) | 1)
    soft = cv2.GaussianBlur(binary.astype(np.float32), (blur, blur), 0)
    return np.clip(soft, 0.0, 1.0)


def deform(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Elastic-ish deformation of a mask (a random low-frequency displacement field)."""
    height, width = mask.shape
    grid = rng.normal(0, 1, (2, 4, 4)).astype(np.float32)
    strength = rng.uniform(0.0, 0.04) * max(height, width)
    dx = cv2.resize(grid[0], (width, height), interpolation=cv2.INTER_CUBIC) * strength
    dy = cv2.resize(grid[1], (width, height), interpolation=cv2.INTER_CUBIC) * strength
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(mask, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def blend(target: np.ndarray, source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[:, :, None]
    return np.clip(source.astype(np.float32) * m + target.astype(np.float32) * (1 - m), 0, 255).astype(np.uint8)


def jitter_colour(image: np.ndarray, rng: np.random.Generator, trace: dict | None = None) -> np.ndarray:
    """Hue, saturation and value jitter, then half of the time a blur or a sharpening; TRACE
    (when given) receives the draws."""
    hue, saturation, value = rng.uniform(-6, 6), rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15)
    offset = rng.uniform(-12, 12)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[:, :, 0] = (hsv[:, :, 0] + hue) % 180
    hsv[:, :, 1] *= saturation
    hsv[:, :, 2] = hsv[:, :, 2] * value + offset
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)
    detail, sigma = "unchanged", 0.0
    if rng.random() < 0.5:
        sigma = rng.uniform(0.5, 1.5)
        blurred = cv2.GaussianBlur(out, (0, 0), sigma)
        detail = "blurred" if rng.random() < 0.5 else "sharpened"
        out = blurred if detail == "blurred" else cv2.addWeighted(out, 1.6, blurred, -0.6, 0)
    if trace is not None:
        trace.update(hue_shift=abs(hue), saturation_change=abs(saturation - 1), value_change=abs(value - 1))
        trace.update(brightness_offset=abs(offset), detail=detail, detail_sigma=sigma)
    return out


def jittered_copy(
    image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator, trace: dict | None = None
) -> np.ndarray:
    """The whole image colour-jittered (sometimes blurred or sharpened), scaled by 0.95-1.05
    about the face centre and shifted by up to 3% of the face width: a self-blend's source."""
    height, width = image.shape[:2]
    source = jitter_colour(image, rng, trace)
    scale = rng.uniform(0.95, 1.05)
    face_size = np.ptp(landmarks[:, 0])
    shift = rng.uniform(-0.03, 0.03, 2) * face_size
    if trace is not None:
        trace.update(scale_change=abs(scale - 1), shift=float(np.hypot(*shift) / max(face_size, 1e-6)))
    centre = landmarks[:, :2].mean(0)
    affine = cv2.getRotationMatrix2D(tuple(map(float, centre)), 0.0, scale)
    affine[:, 2] += shift
    return cv2.warpAffine(source, affine, (width, height), borderMode=cv2.BORDER_REFLECT)


def self_blend(
    image: np.ndarray,
    landmarks: np.ndarray,
    rng: np.random.Generator,
    processed_outside: bool = False,
    trace: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Self-blended image (Shiohara & Yamasaki, 2022): the face blended into a colour-, scale-
    and position-jittered copy of itself through a deformed, blurred face mask. With
    processed_outside the roles swap (the original face inside a jittered surround), as SBI's
    source-target augmentation does: the seam is the same, the processing is on the other side."""
    height, width = image.shape[:2]
    source = jittered_copy(image, landmarks, rng, trace)
    region = "face oval" if rng.random() < 0.6 else "inner face"
    points = landmarks[FACE_OVAL] if region == "face oval" else landmarks[INNER_FACE]
    mask = soften(deform(hull_mask((height, width), points), rng), rng)
    mask *= rng.choice([1.0, rng.uniform(0.5, 1.0)])
    if trace is not None:
        trace.update(mask_region=region, blend_strength=float(mask.max()))
    if processed_outside:
        return blend(source, image, mask), mask
    return blend(image, source, mask), mask


def match_colour(source: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Reinhard colour transfer in LAB inside the mask: source takes the target's statistics."""
    region = mask > 0.5
    if region.sum() < 16:
        return source
    src = cv2.cvtColor(source, cv2.COLOR_RGB2LAB).astype(np.float32)
    tgt = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    s_mean, s_std = src[region].mean(0), src[region].std(0) + 1e-3
    t_mean, t_std = tgt[region].mean(0), tgt[region].std(0) + 1e-3
    out = (src - s_mean) / s_std * t_std + t_mean
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def face_swap(
    target: np.ndarray,
    target_landmarks: np.ndarray,
    donor: np.ndarray,
    donor_landmarks: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Graphics face swap: the donor's face aligned on mesh landmarks (similarity transform),
    colour-matched to the target and blended through a soft face mask."""
    height, width = target.shape[:2]
    affine, _ = cv2.estimateAffinePartial2D(
        donor_landmarks[ALIGN_POINTS, :2].astype(np.float32), target_landmarks[ALIGN_POINTS, :2].astype(np.float32)
    )
    if affine is None:
        raise ValueError("landmarks could not be aligned")
    warped = cv2.warpAffine(donor, affine, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    donor_points = np.hstack([donor_landmarks[:, :2], np.ones((468, 1))]) @ affine.T
    points = INNER_FACE if rng.random() < 0.5 else FACE_OVAL
    mask = hull_mask((height, width), target_landmarks[points]) * hull_mask((height, width), donor_points[points])
    mask = soften(mask, rng)
    warped = match_colour(warped, target, mask)
    return blend(target, warped, mask), mask


def transposed_conv_upsample(small: np.ndarray, factor: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-insertion up-sampling followed by a fixed kernel whose size is not a multiple of
    the stride: the checkerboard trace of transposed convolutions in generators."""
    height, width = small.shape[:2]
    big = np.zeros((height * factor, width * factor, small.shape[2]), np.float32)
    big[::factor, ::factor] = small
    size = factor * 2 - 1 + int(rng.integers(0, 2))
    kernel_1d = cv2.getGaussianKernel(size, factor * rng.uniform(0.4, 0.8)).astype(np.float32)
    kernel = kernel_1d @ kernel_1d.T
    kernel *= factor * factor / kernel.sum()
    return np.clip(cv2.filter2D(big, -1, kernel), 0, 255).astype(np.uint8)


def upsampling_trace(
    image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The face region re-synthesized through down-sampling and generator-style up-sampling
    (nearest, bilinear, bicubic or transposed-convolution-like), blended back softly."""
    height, width = image.shape[:2]
    factor = int(rng.choice([2, 2, 3, 4]))
    small = cv2.resize(image, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
    mode = rng.choice(["nearest", "bilinear", "bicubic", "transposed"])
    if mode == "transposed":
        big = transposed_conv_upsample(small, factor, rng)
    else:
        flags = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}[mode]
        big = cv2.resize(small, (small.shape[1] * factor, small.shape[0] * factor), interpolation=flags)
    big = cv2.copyMakeBorder(big, 0, max(0, height - big.shape[0]), 0, max(0, width - big.shape[1]), cv2.BORDER_REFLECT)
    big = big[:height, :width]
    points = landmarks[FACE_OVAL] if rng.random() < 0.7 else landmarks[INNER_FACE]
    mask = soften(hull_mask((height, width), points), rng, erode=False)
    return blend(image, big, mask), mask


def mask_box(mask: np.ndarray, threshold: float = 0.1) -> tuple[int, int, int, int] | None:
    """Pixel box (xmin, ymin, xmax, ymax) of the manipulated region, or None if empty."""
    ys, xs = np.nonzero(mask > threshold)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def reencode(
    image: np.ndarray, rng: np.random.Generator, min_scale: float = 0.4, jpeg_min: int = 30, trace: dict | None = None
) -> tuple[bytes, np.ndarray]:
    """Random resize (down, then back up half the time) and JPEG quality 30-95, as sharing
    does; returns the JPEG bytes and the decoded RGB image."""
    height, width = image.shape[:2]
    scale = rng.uniform(min_scale, 1.0)
    if scale < 0.97:
        small = cv2.resize(
            image, (max(8, int(width * scale)), max(8, int(height * scale))), interpolation=cv2.INTER_AREA
        )
        image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR) if rng.random() < 0.5 else small
    quality = int(rng.integers(jpeg_min, 96))
    if trace is not None:
        trace.update(reencode_scale=scale if scale < 0.97 else 1.0, jpeg_quality=quality)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes(), cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
