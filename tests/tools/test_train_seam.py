"""tools/train_seam.py at CI size: fresh self-blends of the tiny share's faces -> a heatmap
detector with the OD-API contract that passes every contributor check."""

import json

import cv2
import numpy as np

from cnn_detector.registry import discover_detectors
from cnn_detector.training.seam import SeamOptions, make_example, seam_target
from tools import check_detector, train_seam


def test_seam_target_peaks_on_the_blend_boundary():
    mask = np.zeros((40, 40), np.float32)
    mask[10:30, 10:30] = 1.0
    mask = cv2.GaussianBlur(mask, (9, 9), 0)
    target = seam_target(mask, 20)
    assert target.shape == (20, 20)
    assert target[10, 10] < 0.1 and target[0, 0] < 0.1  # inside and far outside: no seam
    assert target[5, 10] > 0.5  # on the edge of the blended square
    assert not seam_target(np.zeros((40, 40), np.float32), 20).any()


def test_examples_are_made_like_the_factory_test_blends():
    rng = np.random.default_rng(0)
    face = np.full((200, 180, 3), 120, np.uint8)
    face[40:160, 40:140] = (180, 140, 120)
    ys, xs = np.mgrid[50:150:10, 50:130:8]
    landmarks = np.stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)], 1).astype(np.float32)
    landmarks = np.concatenate([landmarks] * 5)[:468]
    options = SeamOptions(input_size=96)
    image, target, label = make_example(face, landmarks, True, options, rng)
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8 and label == 1.0
    assert target.shape == (24, 24) and target.max() > 0.3
    real, real_target, real_label = make_example(face, landmarks, False, options, rng)
    assert real_label == 0.0 and not real_target.any() and real.shape == image.shape


def test_quick_seam_training_ships_a_checked_detector(tiny_share_dir, tiny_factory, tmp_path):
    output = tmp_path / "detectors"
    argv = [
        "--quick",
        "--share",
        str(tiny_share_dir),
        "--factory",
        str(tiny_factory),
        "--sources",
        str(tmp_path / "src"),
    ]
    argv += ["--run-dir", str(tmp_path / "run"), "--output-root", str(output), "--no-progress"]
    assert train_seam.main(argv) == 0
    directory = output / "blend_seam"
    spec = discover_detectors([output], include_default=False).get("blend_seam")
    assert spec.manifest.algorithms == ("self_blend",) and spec.manifest.input == "face_crop"
    report = json.loads((directory / "metrics.json").read_text())
    assert report["test"]["positives"] == ["self_blend"] and len(report["training"]["history"]) == 2
    assert "Retrain from scratch" in (directory / "MODEL_CARD.md").read_text()
    assert check_detector.main([str(directory)]) == 0
