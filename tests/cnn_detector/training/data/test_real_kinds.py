"""The kinds of real photo that calibration runs every real face through: deterministic from
their seed, shape-preserving, and each measurably doing what its name says."""

import cv2
import numpy as np
import pytest
from PIL import Image

from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.training.data.real_kinds import REAL_KINDS, real_variants

PHOTO = PROJECT_ROOT / "samples" / "real_img16.jpg"


@pytest.fixture(scope="module")
def photo():
    return np.array(Image.open(PHOTO).convert("RGB").resize((160, 192)))


def sharpness(image):
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def fine_texture(image):
    """Median absolute Laplacian: the skin's fine grain, where edges (variance) do not count."""
    return float(np.median(np.abs(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F))))


def saturation(image):
    return float(cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[..., 1].mean())


def test_variants_are_a_function_of_image_and_seed(photo):
    first = list(real_variants(photo, seed=7, copies=2))
    again = list(real_variants(photo, seed=7, copies=2))
    other = list(real_variants(photo, seed=8, copies=2))
    assert [k for k, _ in first] == [k for k in REAL_KINDS for _ in range(2)]
    for (kind, a), (_, b), (_, c) in zip(first, again, other):
        assert a.shape == photo.shape and a.dtype == np.uint8, kind
        assert np.array_equal(a, b), kind
        assert not np.array_equal(a, c), kind  # another seed, another draw
        assert np.abs(a.astype(float) - photo).mean() > 1.0, kind  # every kind changes the photo


def test_each_kind_does_what_its_name_says(photo):
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    # Up-scaled from a small copy: most of the fine detail is gone.
    assert sharpness(REAL_KINDS["upscaled"](photo, rng())) < 0.5 * sharpness(photo)
    # Old photo: no colour left beyond a sepia tint, contrast faded.
    old = REAL_KINDS["old_photo"](photo, rng())
    assert saturation(old) < 0.6 * saturation(photo) + 20
    assert old.astype(float).std() < photo.astype(float).std()
    # Beauty filter: smoother skin (less fine texture), never darker.
    for seed in range(5):
        beauty = REAL_KINDS["beauty_filter"](photo, np.random.default_rng(seed))
        assert fine_texture(beauty) < fine_texture(photo), seed
        assert beauty.mean() >= photo.mean() - 1, seed
    # Tight crop: the centre blown up, so the photo's border is gone; the centre region matches
    # the original's centre scaled up, not the original.
    tight = REAL_KINDS["tight_crop"](photo, rng())
    assert np.abs(tight[:8].astype(float) - photo[:8]).mean() > 5


def test_a_grey_image_and_a_tiny_one_go_through_every_kind():
    grey = np.full((20, 12, 3), 128, np.uint8)
    for kind, out in real_variants(grey, seed=0):
        assert out.shape == grey.shape and out.dtype == np.uint8, kind


def test_not_an_rgb_image_is_refused():
    with pytest.raises(ValueError, match="uint8 RGB"):
        list(real_variants(np.zeros((8, 8), np.uint8), seed=0))
