"""Shortcut baselines on hand-made cases: each statistic measures what it says, directions
come from training labels, and the wild tables count what they should."""

from __future__ import annotations

import io
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from cnn_detector.registry import PROJECT_ROOT
from deepfake_evaluation.shortcuts import (
    frame_statistics,
    jpeg_quality,
    laplacian_variance,
    measure,
    orientation,
)
from deepfake_evaluation.wild import WildItem, score_table

FACE_PHOTO = PROJECT_ROOT / "samples" / "real_img16.jpg"


@pytest.mark.parametrize("quality", [15, 40, 60, 85, 97])
def test_jpeg_quality_is_read_back_from_the_quantization_table(quality):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    assert jpeg_quality(Image.open(buffer).quantization[0]) == quality


def test_sharpness_falls_with_blur():
    rng = np.random.default_rng(1)
    sharp = rng.integers(0, 255, (64, 64)).astype(np.uint8)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 2.0)
    assert laplacian_variance(sharp) > 10 * laplacian_variance(blurred)
    assert laplacian_variance(np.full((16, 16), 7, np.uint8)) == 0.0


def test_frame_statistics_take_the_largest_face():
    image = np.zeros((200, 400, 3), np.uint8)
    small, large = (0.1, 0.1, 0.2, 0.15), (0.2, 0.5, 0.7, 0.7)  # 20x20 px and 100x80 px
    size, sharpness = frame_statistics(image, [small, large])
    assert size == 100.0 and sharpness == 0.0
    assert all(math.isnan(v) for v in frame_statistics(image, []))


def test_measure_a_real_photo_and_its_smaller_lossless_copy(tmp_path):
    from deepfake_scanner.faces import FaceFinder

    finder = FaceFinder()
    original = measure(FACE_PHOTO, finder)
    with Image.open(FACE_PHOTO) as photo:
        width, height = photo.size
        half = photo.resize((width // 2, height // 2), Image.LANCZOS)
    half.save(tmp_path / "half.png")
    smaller = measure(tmp_path / "half.png", finder)
    assert original.face_size > 0 and original.compression < 100
    assert smaller.compression == 100.0  # lossless
    assert smaller.resolution == pytest.approx(original.resolution / 4, rel=0.02)
    assert smaller.face_size == pytest.approx(original.face_size / 2, rel=0.15)


def test_orientation_follows_the_training_labels():
    assert orientation([0, 0, 1, 1], [1.0, 2.0, 3.0, 4.0]) == 1
    assert orientation([0, 0, 1, 1], [4.0, 3.0, 2.0, 1.0]) == -1
    assert orientation([0, 1, 1], [math.nan, 1.0, 2.0]) == 1  # one class only after NaNs: no evidence


def test_score_table_counts_flagged_reals_per_folder():
    def item(name, label, folder, method="real"):
        return WildItem(Path(f"/w/{folder}/{name}"), label, method, folder, "images")

    items = [item("a", 0, "real/x"), item("b", 0, "real/x"), item("c", 0, "real/y"), item("d", 0, "real/y")]
    items += [item("e", 1, "fake/g", "gen"), item("f", 1, "fake/g", "gen"), item("g", 1, "fake/h", "other")]
    scores = {"/w/real/x/a": 0.1, "/w/real/x/b": 0.9, "/w/real/y/c": 0.2, "/w/fake/g/e": 0.95, "/w/fake/g/f": 0.4}
    scores["/w/fake/h/g"] = 0.99
    table = score_table(items, scores, threshold=0.5, rounds=50)
    assert table["not_judged"] == 1  # d has no score (no face)
    assert table["fpr"] == pytest.approx(1 / 3) and table["recall"] == pytest.approx(2 / 3)
    assert table["per_source_folder"]["real/x"]["flagged"] == 0.5
    assert table["per_source_folder"]["real/y"]["flagged"] == 0.0
    assert table["per_method"]["other"]["auc"] == 1.0
    assert table["per_method"]["gen"]["auc"] == pytest.approx(5 / 6)  # 0.95 beats 3 reals, 0.4 beats 2
    assert "fpr" not in score_table(items, scores, threshold=None, rounds=10)
