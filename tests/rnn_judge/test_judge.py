"""The judge's invariance to the detector set, and its decisions' shape."""

import numpy as np
import pytest

from cnn_detector.types import Detection, FrameDetections
from rnn_judge.features import NUM_FEATURES, detector_features, sequence_features
from rnn_judge.judge import Judge
from rnn_judge.model import JudgeConfig

FACE = (0.2, 0.3, 0.7, 0.7)


def frames(n: int, score: float, detector: str = "blend_boundary"):
    made = []
    for i in range(n):
        det = Detection((0.25, 0.35, 0.6, 0.65), min(1.0, score + 0.01 * i), 1, "self_blend", detector)
        made.append(FrameDetections("v.mp4", i, i * 500.0, (480, 640), faces=(FACE,), detections=(det,)))
    return made


@pytest.fixture(scope="module")
def judge():
    return Judge(JudgeConfig(num_features=NUM_FEATURES), threshold=0.5)


def test_silent_detector_has_zero_features():
    assert not detector_features([], [FACE]).any()
    features = sequence_features(frames(3, 0.8), ["blend_boundary", "never_fires"])
    assert features.shape == (3, 2, NUM_FEATURES)
    assert not features[:, 1].any() and features[:, 0, 0].min() >= 0.8


def test_extra_silent_detector_changes_nothing(judge):
    source = frames(5, 0.7)
    without = judge.decide("v.mp4", source, ["blend_boundary"])
    with_extra = judge.decide("v.mp4", source, ["blend_boundary", "never_fires", "another_silent"])
    assert with_extra.fake_probability == pytest.approx(without.fake_probability, abs=1e-6)
    assert with_extra.is_fake == without.is_fake
    assert with_extra.detectors == ("blend_boundary", "never_fires", "another_silent")


def test_no_face_anywhere_is_no_face(judge):
    empty = [FrameDetections("v.mp4", i, 0.0, (10, 10)) for i in range(3)]
    verdict = judge.decide("v.mp4", empty, ["blend_boundary"])
    assert verdict.status == "no_face" and verdict.fake_probability is None


def test_single_image_is_a_sequence_of_one(judge):
    verdict = judge.decide("a.jpg", frames(1, 0.9), ["blend_boundary"])
    assert verdict.status == "ok" and verdict.frames_used == 1
    assert 0.0 <= verdict.fake_probability <= 1.0


def test_batch_and_single_agree(judge):
    a = sequence_features(frames(4, 0.6), ["blend_boundary"])
    b = sequence_features(frames(2, 0.2), ["blend_boundary"])
    batch = np.zeros((2, 4, 1, NUM_FEATURES), np.float32)
    mask = np.zeros((2, 4), np.float32)
    batch[0], mask[0] = a, 1
    batch[1, :2], mask[1, :2] = b, 1
    together = judge.run_batch(batch, mask)
    assert together[0] == pytest.approx(judge.run(a).probability, abs=1e-5)
    assert together[1] == pytest.approx(judge.run(b).probability, abs=1e-5)


def test_likely_algorithm_is_empty_when_nothing_fired(judge):
    quiet = [FrameDetections("v.mp4", 0, 0.0, (480, 640), faces=(FACE,))]
    output = judge.run(sequence_features(quiet, ["a", "b"]))
    from rnn_judge.judge import likely_algorithm

    assert likely_algorithm(quiet, ["a", "b"], output) == ""
