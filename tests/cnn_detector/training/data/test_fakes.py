"""The fake factory's manipulations on a real shipped sample face: each changes pixels only
inside the region it reports, and the report covers the change."""

import numpy as np
import pytest

from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.training.data import fakes
from cnn_detector.training.data.factory import FakeFactory
from deepfake_scanner.images import read_image

SAMPLES = PROJECT_ROOT / "samples"


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    factory = FakeFactory(tmp_path_factory.mktemp("f"))
    found = [factory.find_face(read_image(SAMPLES / name)) for name in ("real_img16.jpg", "real_img28.jpg")]
    assert all(found), "the face finder must find the sample faces"
    return found


@pytest.mark.parametrize("method", ["self_blend", "upsampling", "face_swap"])
def test_manipulation_stays_in_its_box(faces, method):
    rng = np.random.default_rng(3)
    target, donor = faces
    if method == "self_blend":
        image, mask = fakes.self_blend(target.image, target.landmarks, rng)
    elif method == "upsampling":
        image, mask = fakes.upsampling_trace(target.image, target.landmarks, rng)
    else:
        image, mask = fakes.face_swap(target.image, target.landmarks, donor.image, donor.landmarks, rng)
    box = fakes.mask_box(mask)
    assert box is not None
    x0, y0, x1, y1 = box
    changed = np.abs(image.astype(int) - target.image.astype(int)).max(axis=2) > 8
    assert changed.sum() > 500, "the manipulation must change the face"
    outside = changed.copy()
    outside[y0:y1, x0:x1] = False
    assert outside.sum() <= 0.01 * changed.sum()
    # The box sits on the face: its centre is inside the face box the finder gave.
    fy0, fx0, fy1, fx1 = target.box
    h, w = target.image.shape[:2]
    assert fx0 * w <= (x0 + x1) / 2 <= fx1 * w and fy0 * h <= (y0 + y1) / 2 <= fy1 * h


def test_reencode_changes_bytes_not_content(faces):
    rng = np.random.default_rng(0)
    data, decoded = fakes.reencode(faces[0].image, rng)
    assert data[:2] == b"\xff\xd8"
    assert decoded.ndim == 3 and decoded.shape[2] == 3


def test_processed_outside_keeps_the_face_and_changes_its_surround(faces):
    target = faces[0]
    # the first seed whose blend is full strength inside (some blends are partial by design)
    seed = next(
        s
        for s in range(50)
        if fakes.self_blend(target.image, target.landmarks, np.random.default_rng(s))[1].max() > 0.999
    )
    image, mask = fakes.self_blend(target.image, target.landmarks, np.random.default_rng(seed), processed_outside=True)
    inside, outside = mask > 0.99, mask < 0.01
    assert inside.sum() > 500 and outside.sum() > 500
    change = np.abs(image.astype(int) - target.image.astype(int)).max(axis=2)
    assert change[inside].max() <= 3  # the original face (up to rounding where the mask is 0.99)
    assert (change[outside] > 8).mean() > 0.2  # the jittered copy around it
    # the same draws make the same mask either way round
    _, same_mask = fakes.self_blend(target.image, target.landmarks, np.random.default_rng(seed))
    assert np.array_equal(mask, same_mask)
