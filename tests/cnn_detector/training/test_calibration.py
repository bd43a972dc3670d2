"""The min_score rule on hand-made scores: at most the target share of all real inputs reach
it (and, with each_kind, of each common kind of real on its own)."""

import numpy as np
import pytest

from cnn_detector.training.calibration import MIN_KIND_INPUTS, min_score_for, rounded_up


def test_the_pooled_threshold_when_every_kind_is_alike():
    scores = np.linspace(0.0, 0.5, 1000)  # the 10 highest: 0.4955..0.5
    chosen = min_score_for({"crop": scores[::2], "upscaled": scores[1::2]}, 0.01)
    assert (scores >= chosen).mean() <= 0.01
    assert chosen == 0.5  # 0.4955 rounded up to two decimals


def test_a_common_kind_that_fires_more_raises_the_threshold():
    calm = np.full(2000, 0.1)
    noisy = np.concatenate([np.full(190, 0.2), np.full(10, 0.7)])  # 5% of up-scaled photos at 0.7
    pooled_only = min_score_for({"crop": np.concatenate([calm, noisy])}, 0.01)
    assert pooled_only < 0.7  # 10 of 2,200 is under 1%: pooled, the 0.7s would pass
    chosen = min_score_for({"crop": calm, "upscaled": noisy}, 0.01, each_kind=True)
    assert chosen > 0.7 and (noisy >= chosen).mean() <= 0.01
    assert min_score_for({"crop": calm, "upscaled": noisy}, 0.01) == pooled_only  # the default: pooled


def test_a_rare_kind_does_not_move_it():
    calm = np.full(2000, 0.1)
    rare = np.full(MIN_KIND_INPUTS - 1, 0.9)  # too few inputs to stand for a kind on its own
    rare[1:] = 0.1
    alone = min_score_for({"crop": calm, "photos": rare}, 0.01, each_kind=True)
    assert alone == min_score_for({"crop": np.append(calm, rare)}, 0.01)


def test_saturated_scores_get_a_third_decimal_and_a_cap():
    assert rounded_up(0.9912) == 0.992
    assert rounded_up(0.99991) == 0.999
    assert rounded_up(0.001) == 0.05
    assert rounded_up(0.731) == 0.74
    assert rounded_up(float(np.nextafter(0.7, 1.0))) == 0.71  # 0.7 + 1 ulp is above 0.7


def test_no_scores_is_an_error():
    with pytest.raises(ValueError, match="no real scores"):
        min_score_for({}, 0.01)
