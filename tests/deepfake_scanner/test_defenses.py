"""Input defenses: a lossy round trip between the decoded frame and the detectors."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_scanner.defenses import DEFENSES, apply_defense, jpeg_round_trip, resize_round_trip
from tests.conftest import RED, red_square_image


def test_each_defense_keeps_the_picture_and_wipes_out_pixel_noise():
    rng = np.random.default_rng(0)
    clean = red_square_image(240, 320)
    noise = rng.choice([-8, 8], clean.shape)  # an L-inf 8/255 perturbation, pixel by pixel
    attacked = np.clip(clean.astype(int) + noise, 0, 255).astype(np.uint8)
    for defense in ("resize", "jpeg", "both"):
        out_clean, out_attacked = apply_defense(clean, defense), apply_defense(attacked, defense)
        assert out_clean.shape == clean.shape and out_clean.dtype == np.uint8
        left = np.abs(out_attacked.astype(int) - out_clean.astype(int)).mean()
        assert left < 0.5 * np.abs(noise).mean(), defense  # most of the perturbation is gone
    assert apply_defense(clean, "none") is clean


def test_the_round_trips_are_the_documented_ones():
    image = red_square_image(90, 120)
    assert resize_round_trip(image).shape == image.shape
    assert np.abs(jpeg_round_trip(image).astype(int) - image.astype(int)).max() > 0
    with pytest.raises(ValueError, match="defense must be one of"):
        apply_defense(image, "blur")
    assert DEFENSES == ("none", "resize", "jpeg", "both")


def test_the_detectors_see_the_defended_frame(tmp_path, make_detector, tf2_graph):
    from deepfake_scanner import Scanner, ScanOptions

    stripes = np.zeros((64, 64, 3), np.uint8)  # the colour detector's own working size: no resize of its own
    stripes[:, ::2] = RED  # red one pixel in two: red to the detector, dull brown once resized
    make_detector("colour", tf2_graph, input="full_frame", input_size=[64, 64], min_score=0.3)
    found = {}
    for defense in ("none", "resize"):
        options = ScanOptions(faces=False, defense=defense)
        with Scanner.open([tmp_path / "detectors"], judge_dir=None, options=options, include_shipped=False) as scanner:
            result = scanner.scan_image(stripes)
        found[defense] = [d.label for f in result.frames for d in f.detections]
    assert found["none"] and "red_patch" in found["none"]
    assert found["resize"] == []


def test_an_unknown_defense_is_refused_by_the_options():
    from deepfake_scanner import ScanOptions

    with pytest.raises(ValueError, match="defense must be one of"):
        ScanOptions(defense="median")
