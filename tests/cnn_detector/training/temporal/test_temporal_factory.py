"""The temporal fakes, on the repository's own real sample face (MIT) set talking by a drawn
motion (its jaw opening and closing, its head drifting): the warp moves what the driver moves,
each fake kind changes the frames where it says, and the clips come out as the scan's clip
stage cuts them."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.training.temporal import animate, clip_fakes, dataset
from deepfake_scanner.faces import FaceFinder, FaceMesh

FACE = PROJECT_ROOT / "samples" / "real_img16.jpg"
JAW = [
    152,
    148,
    176,
    149,
    150,
    377,
    400,
    378,
    379,
    17,
    84,
    181,
    91,
    146,
    314,
    405,
    321,
    375,
    14,
    87,
    178,
    88,
    317,
    402,
    318,
]


def drawn_motion(points: np.ndarray, frames: int = 24) -> np.ndarray:
    """[T, 468, 3]: ``points`` with the jaw and lower lip opening and closing (twice) and the
    whole head drifting right by a few pixels."""
    height = np.linalg.norm(points[10, :2] - points[152, :2])
    driver = np.repeat(points[None].astype(np.float32), frames, axis=0)
    for t in range(frames):
        driver[t, JAW, 1] += 0.08 * height * np.sin(np.pi * 2 * t / frames) ** 2
        driver[t, :, 0] += 0.1 * t
    return driver


@pytest.fixture(scope="module")
def window():
    """(frames, their mesh points, fps): the sample face animated by `drawn_motion`."""
    import cv2

    image = cv2.cvtColor(cv2.imread(str(FACE)), cv2.COLOR_BGR2RGB)
    points = dataset.picture_points(image, FaceFinder(), FaceMesh())
    assert points is not None, "the sample face must be found"
    driver = drawn_motion(points)
    frames = animate.animate_picture(image, points[:, :2], driver[:, :, :2])
    moved = animate.driven_points(points[:, :2], driver[:, :, :2])
    return frames, np.concatenate([moved, driver[:, :, 2:]], axis=2), 25.0


def test_warp_with_unmoved_points_is_the_identity():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    points = np.concatenate([rng.uniform(10, 50, (20, 2)), animate.border_points(60, 80)]).astype(np.float32)
    from scipy.spatial import Delaunay

    triangles = Delaunay(points).simplices.astype(np.int32)
    warped = animate.piecewise_warp(image, points, points, triangles)
    assert np.abs(warped.astype(int) - image.astype(int)).max() <= 1


def test_warp_moves_a_point_where_it_is_told():
    """A bright dot at a mesh point lands where that point is moved to."""
    image = np.zeros((100, 100, 3), np.uint8)
    image[48:53, 48:53] = 255
    inner = np.array([[50, 50], [30, 30], [70, 30], [30, 70], [70, 70]], np.float32)
    source = np.concatenate([inner, animate.border_points(100, 100)])
    target = source.copy()
    target[0] = (60, 55)
    from scipy.spatial import Delaunay

    warped = animate.piecewise_warp(image, source, target, Delaunay(source).simplices.astype(np.int32))
    ys, xs = np.nonzero(warped[:, :, 0] > 128)
    assert abs(xs.mean() - 60) < 1.5 and abs(ys.mean() - 55) < 1.5


def test_driven_points_follow_the_driver_and_stay_put_without_motion(window):
    _, points, _ = window
    still = np.repeat(points[:1, :, :2], 5, axis=0)
    picture = points[0, :, :2] * 1.5 + 7  # the same face, bigger and elsewhere
    np.testing.assert_allclose(animate.driven_points(picture, still), np.repeat(picture[None], 5, 0), atol=1e-3)
    moved = animate.driven_points(picture, points[:, :, :2])
    shift = (points[-1, :, :2] - points[0, :, :2]) * 1.5
    cap = 0.2 * np.linalg.norm(picture[10] - picture[152])
    expected = picture + shift * np.minimum(1.0, cap / np.maximum(np.linalg.norm(shift, axis=1, keepdims=True), 1e-6))
    np.testing.assert_allclose(moved[-1], expected, atol=0.5)


@pytest.mark.parametrize("kind", clip_fakes.KINDS)
def test_each_kind_keeps_the_frames_shape_and_changes_the_face(window, kind):
    frames, points, _ = window
    rng = np.random.default_rng(1)
    extra = {}
    if kind in ("flicker_swap", "animated"):  # another face: the first frame mirrored
        extra = {"picture": frames[0][:, ::-1].copy(), "picture_points": points[0].copy()}
        extra["picture_points"][:, 0] = frames[0].shape[1] - 1 - extra["picture_points"][:, 0]
    fake = clip_fakes.MAKERS[kind](frames, points, rng, **extra)
    assert len(fake) == len(frames) and all(f.shape == frames[0].shape and f.dtype == np.uint8 for f in fake)
    changed = [np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 10 for a, b in zip(fake, frames)]
    assert sum(c.sum() for c in changed) > 100, f"{kind} must change the video"
    if kind in ("mouth_swap", "flicker_blend", "flicker_swap", "smoothed"):  # only around the face
        x0, y0 = points[:, :, :2].min(axis=(0, 1)) - 0.3 * np.ptp(points[0, :, 0])
        x1, y1 = points[:, :, :2].max(axis=(0, 1)) + 0.3 * np.ptp(points[0, :, 0])
        for c in changed:
            c[max(0, int(y0)) : int(y1), max(0, int(x0)) : int(x1)] = False
        assert sum(c.sum() for c in changed) <= 0.01 * frames[0].shape[0] * frames[0].shape[1] * len(frames)


def test_interpolated_frames_are_the_mean_of_their_neighbours(window):
    frames, points, _ = window
    fake = clip_fakes.interpolated(frames, points, np.random.default_rng(0))
    assert np.array_equal(fake[0], frames[0]) and np.array_equal(fake[2], frames[2])
    mean = (frames[0].astype(int) + frames[2].astype(int)) / 2
    assert np.abs(fake[1].astype(int) - mean).max() <= 1


def test_encoded_clips_are_cut_as_the_scan_cuts_them(window):
    frames, _, fps = window
    clips = dataset.encoded_clips(frames, fps, np.random.default_rng(0), FaceFinder())
    assert clips.dtype == np.uint8 and clips.shape[1:] == (dataset.CLIP_LENGTH, dataset.CLIP_SIZE, dataset.CLIP_SIZE, 3)
    assert len(clips) >= 1


def test_reencoded_clip_keeps_its_shape_and_content():
    rng = np.random.default_rng(0)
    base = np.zeros((16, 112, 112, 3), np.uint8)
    base[:, 30:80, 30:80] = (200, 120, 90)
    out = dataset.reencode_clip(base, rng)
    assert out.shape == base.shape and out.dtype == np.uint8
    change = np.abs(out.astype(int) - base.astype(int)).mean()
    assert 0 < change < 12  # passed through the encoder, the picture kept


def test_the_main_track_is_the_face_seen_largest_over_the_video_not_once():
    from deepfake_scanner.tracks import FaceTrack, TrackedFace

    steady = FaceTrack(0, tuple(TrackedFace(i * 12, i * 480.0, (0.2, 0.2, 0.6, 0.6)) for i in range(15)))
    glimpse = FaceTrack(1, (TrackedFace(168, 6720.0, (0.0, 0.0, 0.9, 0.9)),))
    small = FaceTrack(2, tuple(TrackedFace(i * 12, i * 480.0, (0.1, 0.7, 0.2, 0.8)) for i in range(15)))
    assert dataset.main_track([glimpse, small, steady]) is steady
