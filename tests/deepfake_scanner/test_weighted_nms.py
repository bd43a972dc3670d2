"""MediaPipe's weighted non-max suppression, on hand-made boxes."""

import numpy as np
import pytest

from deepfake_scanner.faces import weighted_nms


def boxes(*rows):
    return np.array(rows, np.float32)


def test_overlapping_boxes_are_averaged_by_score():
    b = boxes((0.0, 0.0, 0.4, 0.4), (0.02, 0.02, 0.42, 0.42))
    scores = np.array([0.9, 0.3], np.float32)
    points = np.array([[[0.1, 0.1]], [[0.3, 0.3]]], np.float32)
    [(box, score, pts)] = weighted_nms(b, scores, points)
    assert score == pytest.approx(0.9)  # the best score of the cluster
    assert box == pytest.approx((0.005, 0.005, 0.405, 0.405))  # (0.9 * 0 + 0.3 * 0.02) / 1.2
    assert pts[0] == pytest.approx((0.15, 0.15))


def test_separate_faces_stay_apart_best_first():
    b = boxes((0.6, 0.6, 0.9, 0.9), (0.0, 0.0, 0.3, 0.3))
    scores = np.array([0.5, 0.8], np.float32)
    points = np.zeros((2, 6, 2), np.float32)
    kept = weighted_nms(b, scores, points)
    assert [round(s, 2) for _, s, _ in kept] == [0.8, 0.5]
    assert kept[0][0] == pytest.approx((0.0, 0.0, 0.3, 0.3))


def test_iou_threshold_decides_what_merges():
    # IoU of these two is 1/3: merged at 0.3, kept apart at 0.5
    b = boxes((0.0, 0.0, 0.5, 1.0), (0.25, 0.0, 0.75, 1.0))
    scores = np.array([0.9, 0.8], np.float32)
    points = np.zeros((2, 1, 2), np.float32)
    assert len(weighted_nms(b, scores, points, iou=0.3)) == 1
    assert len(weighted_nms(b, scores, points, iou=0.5)) == 2


def test_no_boxes():
    assert weighted_nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 6, 2))) == []
