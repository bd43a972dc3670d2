import math

import numpy as np
import pytest

from deepfake_evaluation.metrics import average_precision, family_of, recall_at_fpr, roc_auc, threshold_at_fpr


def test_auc_hand_cases():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    # one of four pairs inverted
    assert roc_auc([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9]) == 0.75
    # ties across classes count half: pairs (1:0.5 vs 0:0.5)=0.5, (1:0.5 vs 0:0.1)=1, (1:0.9 vs both)=2
    assert roc_auc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]) == pytest.approx(3.5 / 4)
    assert math.isnan(roc_auc([1, 1], [0.1, 0.2]))


def test_auc_random_is_half():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 20000)
    assert roc_auc(labels, rng.random(20000)) == pytest.approx(0.5, abs=0.02)


def test_recall_at_fpr():
    reals = list(range(100))  # scores 0..99
    fakes = [50, 98.5, 99.5, 200]
    labels = [0] * 100 + [1] * 4
    scores = reals + fakes
    # 1% FPR allows one real above the threshold: threshold just above 98.
    assert threshold_at_fpr(reals, 0.01) == pytest.approx(98, abs=1e-9)
    assert recall_at_fpr(labels, scores, 0.01) == 0.75
    assert recall_at_fpr(labels, scores, 0.0) == 0.5
    assert recall_at_fpr([0, 1], [0.3, 0.3], 0.0) == 0.0


def test_average_precision_cases():
    truth = {"a": [(0, 0, 0.5, 0.5)], "b": [(0.5, 0.5, 1, 1)]}
    perfect = [("a", 0.9, (0, 0, 0.5, 0.5)), ("b", 0.8, (0.5, 0.5, 1, 1))]
    assert average_precision(perfect, truth) == 1.0
    # a high-scoring false positive first, then both hits: precision 1/2 then 2/3 at recall 0.5, 1
    with_fp = [("a", 0.95, (0.6, 0.6, 0.9, 0.9))] + perfect
    assert average_precision(with_fp, truth) == pytest.approx(0.5 * 2 / 3 + 0.5 * 2 / 3)
    # duplicates do not count twice
    assert average_precision([("a", 0.9, (0, 0, 0.5, 0.5)), ("a", 0.8, (0, 0, 0.5, 0.5))], truth) == 0.5
    assert average_precision([], truth) == 0.0


@pytest.mark.parametrize(
    "method, family",
    [
        ("talkinghead_anitalker", "talking head"),
        ("animated", "talking head"),
        ("lipsync_wav2lip", "lip-sync"),
        ("mouth_swap", "lip-sync"),  # the mouth re-synthesized: lip-sync, though the name says swap
        ("face_swap", "swap"),
        ("flicker_blend", "swap"),
        ("real", "real"),
        ("stable_diffusion", "other"),
        ("demo_reenact", "other"),  # "emo" only as a word
        ("emo_portrait", "talking head"),
    ],
)
def test_video_methods_fall_into_families(method, family):
    assert family_of(method) == family
