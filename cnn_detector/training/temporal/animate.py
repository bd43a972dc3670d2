"""A graphics talking head: one picture animated by a real video's face-mesh motion.

The picture's 468 face-mesh points, plus fixed points on its border, are triangulated once;
each frame moves the mesh points by the driving face's motion since its first frame (mapped
into the picture by a similarity fit on stable points) and warps every triangle by its own
affine map. Face and head move, the background stretches around them, and every pixel still
comes from the one picture: what one-photo talking-head generators (AniTalker, SadTalker,
LivePortrait) have in common, without a trained generator.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay

from cnn_detector.training.data.fakes import ALIGN_POINTS

BORDER_STEPS = 4  # fixed points per image side


def border_points(height: int, width: int) -> np.ndarray:
    """[4 * BORDER_STEPS, 2] fixed (x, y) points around the image's edge."""
    ts = np.linspace(0.0, 1.0, BORDER_STEPS, endpoint=False)
    w, h = width - 1.0, height - 1.0
    sides = [(t * w, 0.0) for t in ts] + [(w, t * h) for t in ts]
    sides += [(w - t * w, h) for t in ts] + [(0.0, h - t * h) for t in ts]
    return np.array(sides, np.float32)


def _affines(source: np.ndarray, target: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """[K, 2, 3] maps from each target triangle back to its source triangle (for remap)."""
    src = source[triangles].astype(np.float64)  # [K, 3, 2]
    dst = target[triangles].astype(np.float64)
    ones = np.ones((len(triangles), 3, 1))
    a = np.concatenate([dst, ones], axis=2)  # [K, 3, 3]
    # Solve a @ m = src for m [K, 3, 2]; degenerate triangles fall back to identity.
    det = np.linalg.det(a)
    ok = np.abs(det) > 1e-6
    maps = np.tile(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), (len(triangles), 1, 1))
    maps[ok] = np.linalg.solve(a[ok], src[ok])
    return maps.transpose(0, 2, 1).astype(np.float32)  # [K, 2, 3]


def piecewise_warp(image: np.ndarray, source: np.ndarray, target: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """``image`` warped so that its points ``source`` land on ``target`` (both [P, 2] (x, y)),
    each triangle of ``triangles`` ([K, 3] point indices) by its own affine map. Triangles
    that fold over are drawn in order, later over earlier."""
    height, width = image.shape[:2]
    owner = np.full((height, width), -1, np.int32)
    for k, tri in enumerate(target[triangles]):
        cv2.fillConvexPoly(owner, np.round(tri).astype(np.int32), int(k))
    maps = _affines(source, target, triangles)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    covered = owner >= 0
    m = maps[np.clip(owner, 0, None)]  # [H, W, 2, 3]
    map_x = np.where(covered, m[..., 0, 0] * xs + m[..., 0, 1] * ys + m[..., 0, 2], xs)
    map_y = np.where(covered, m[..., 1, 0] * xs + m[..., 1, 1] * ys + m[..., 1, 2], ys)
    return cv2.remap(
        image, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def driven_points(picture_points: np.ndarray, driver: np.ndarray, max_shift: float = 0.2) -> np.ndarray:
    """[T, 468, 2] mesh points of the picture moved as the driver's ([T, 468, 2]) move from
    their first frame on: displacements mapped into the picture by a similarity fit of the
    driver's first frame onto the picture (stable points), each capped at ``max_shift`` of
    the picture's face height so a large head turn does not tear the mesh."""
    matrix, _ = cv2.estimateAffinePartial2D(
        driver[0, ALIGN_POINTS].astype(np.float32), picture_points[ALIGN_POINTS].astype(np.float32)
    )
    if matrix is None:
        raise ValueError("the driving face and the picture's face could not be aligned")
    linear = matrix[:, :2].astype(np.float32)
    shifts = (driver - driver[:1]) @ linear.T  # [T, 468, 2]
    face_height = float(np.linalg.norm(picture_points[10] - picture_points[152]))
    norms = np.linalg.norm(shifts, axis=2, keepdims=True)
    limit = max_shift * face_height
    shifts = shifts * np.minimum(1.0, limit / np.maximum(norms, 1e-6))
    return picture_points[None] + shifts


def animate_picture(picture: np.ndarray, picture_points: np.ndarray, driver: np.ndarray) -> list[np.ndarray]:
    """Frames of ``picture`` (RGB uint8) animated by ``driver`` ([T, 468, 2] mesh points of a
    real face, one row per frame); ``picture_points`` [468, 2] are the picture's own."""
    height, width = picture.shape[:2]
    fixed = border_points(height, width)
    inside = np.clip(picture_points, 1.0, [width - 2.0, height - 2.0]).astype(np.float32)
    source = np.concatenate([inside, fixed])
    triangles = Delaunay(source).simplices.astype(np.int32)
    frames = []
    for moved in driven_points(inside, driver):
        target = np.concatenate([np.clip(moved, 0.0, [width - 1.0, height - 1.0]), fixed]).astype(np.float32)
        frames.append(piecewise_warp(picture, source, target, triangles))
    return frames
