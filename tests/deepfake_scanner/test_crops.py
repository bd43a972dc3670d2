"""Face regions: the box a face_crop detector sees, and its pixels."""

import numpy as np
import pytest

from deepfake_scanner.crops import WHOLE_FRAME, crop, expand_box


def test_margin_grows_a_centred_square_on_each_side():
    # a 20x10 px face (height x width) in a 100x100 frame, margin 0.5: side 20 * 2 = 40 px
    box = expand_box((0.4, 0.45, 0.6, 0.55), 0.5, (100, 100))
    assert box == pytest.approx((0.3, 0.3, 0.7, 0.7))


def test_square_in_pixels_on_a_wide_frame():
    # 200 x 400 frame: a 40x40 px face at the centre; margin 0 keeps 40 px, in each axis's units
    y0, x0, y1, x1 = expand_box((0.4, 0.45, 0.6, 0.55), 0.0, (200, 400))
    assert (y1 - y0) * 200 == pytest.approx(40) and (x1 - x0) * 400 == pytest.approx(40)
    assert ((y0 + y1) / 2, (x0 + x1) / 2) == pytest.approx((0.5, 0.5))


def test_clipped_to_the_frame():
    box = expand_box((0.0, 0.9, 0.2, 1.0), 1.0, (100, 100))
    assert box[0] == 0.0 and box[3] == 1.0
    assert all(0.0 <= v <= 1.0 for v in box)


def test_crop_takes_the_box_pixels_and_never_nothing():
    image = np.arange(10 * 20 * 3, dtype=np.uint8).reshape(10, 20, 3)
    assert crop(image, (0.0, 0.0, 0.5, 0.5)).shape == (5, 10, 3)
    assert np.array_equal(crop(image, (0.2, 0.5, 0.4, 0.75)), image[2:4, 10:15])
    assert crop(image, (0.5, 0.5, 0.5, 0.5)).shape == (1, 1, 3)  # an empty box still gives a pixel
    assert crop(image, WHOLE_FRAME).shape == image.shape


def test_box_iou():
    from deepfake_scanner.crops import box_iou

    assert box_iou((0.0, 0.0, 0.5, 1.0), (0.25, 0.0, 0.75, 1.0)) == pytest.approx(1 / 3)
    assert box_iou((0.0, 0.0, 0.2, 0.2), (0.5, 0.5, 0.7, 0.7)) == 0.0
    assert box_iou((0.1, 0.1, 0.3, 0.3), (0.1, 0.1, 0.3, 0.3)) == pytest.approx(1.0)
    assert box_iou((0.1, 0.1, 0.1, 0.1), (0.1, 0.1, 0.1, 0.1)) == 0.0  # empty boxes overlap nothing
