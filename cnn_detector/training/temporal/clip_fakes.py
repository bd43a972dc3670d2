"""Fakes that show over time, made from a real video's frames (and a picture): each takes RGB
uint8 frames with their face-mesh points ([T, 468, 3] pixels) and returns new frames.

- ``animated``: a picture animated by the frames' face motion (`animate`): a graphics talking head.
- ``mouth_swap``: each frame's mouth replaced by the mouth of another moment of the same
  video, aligned and blended: mouth motion that no longer belongs to the face, as lip-sync does.
- ``flicker_blend``: a self-blend on every frame with its own random draw: the seam and
  colour flicker of frame-by-frame blending.
- ``flicker_swap``: a donor face swapped onto every frame, mask and colour drawn per frame.
- ``smoothed``: the face region averaged over neighbouring frames: ghosting where it moves.
- ``interpolated``: every other frame replaced by the blend of its neighbours: a frame rate
  doubled by interpolation.
"""

from __future__ import annotations

import cv2
import numpy as np

from cnn_detector.training.data.fakes import ALIGN_POINTS, FACE_OVAL, blend, face_swap, hull_mask, self_blend, soften
from cnn_detector.training.temporal.animate import animate_picture

# Outer lip contour of the MediaPipe mesh, and points of the chin below it.
LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185]
MOUTH_REGION = LIPS + [164, 2, 57, 287, 202, 422, 18, 200, 199]

KINDS = ("animated", "mouth_swap", "flicker_blend", "flicker_swap", "smoothed", "interpolated")


def animated(frames, points, rng, picture=None, picture_points=None):
    """The picture (default: the window's first frame, so the appearance is the video's own)
    animated by the window's face motion."""
    if picture is None:
        picture, picture_points = frames[0], points[0]
    return animate_picture(picture, picture_points[:, :2], points[:, :, :2])


def mouth_swap(frames, points, rng, **_):
    height, width = frames[0].shape[:2]
    count = len(frames)
    lag = int(rng.integers(max(3, count // 6), max(4, count // 2)))
    out = []
    for t, (frame, pts) in enumerate(zip(frames, points)):
        s = (t + lag) % count
        affine, _ = cv2.estimateAffinePartial2D(
            points[s][ALIGN_POINTS, :2].astype(np.float32), pts[ALIGN_POINTS, :2].astype(np.float32)
        )
        if affine is None:
            out.append(frame)
            continue
        donor = cv2.warpAffine(
            frames[s], affine, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        mask = hull_mask((height, width), pts[MOUTH_REGION])
        size = max(3, int(np.sqrt(mask.sum()) * 0.25) | 1)
        mask = cv2.GaussianBlur(cv2.dilate(mask, np.ones((size, size), np.uint8)), (size, size), 0)
        out.append(blend(frame, donor, mask))
    return out


def flicker_blend(frames, points, rng, **_):
    return [
        self_blend(frame, pts, np.random.default_rng(rng.integers(1 << 31)))[0] for frame, pts in zip(frames, points)
    ]


def flicker_swap(frames, points, rng, picture=None, picture_points=None):
    if picture is None:
        raise ValueError("flicker_swap needs a donor picture")
    out = []
    for frame, pts in zip(frames, points):
        draw = np.random.default_rng(rng.integers(1 << 31))
        out.append(face_swap(frame, pts, picture, picture_points, draw)[0])
    return out


def smoothed(frames, points, rng, **_):
    radius = int(rng.integers(1, 4))
    stack = np.stack(frames).astype(np.float32)
    height, width = frames[0].shape[:2]
    out = []
    for t, (frame, pts) in enumerate(zip(frames, points)):
        mean = stack[max(0, t - radius) : t + radius + 1].mean(0)
        mask = soften(hull_mask((height, width), pts[FACE_OVAL]), rng)
        out.append(blend(frame, np.clip(mean, 0, 255).astype(np.uint8), mask))
    return out


def interpolated(frames, points, rng, **_):
    out = list(frames)
    for t in range(1, len(frames) - 1, 2):
        out[t] = cv2.addWeighted(frames[t - 1], 0.5, frames[t + 1], 0.5, 0)
    return out


MAKERS = {
    "animated": animated,
    "mouth_swap": mouth_swap,
    "flicker_blend": flicker_blend,
    "flicker_swap": flicker_swap,
    "smoothed": smoothed,
    "interpolated": interpolated,
}
