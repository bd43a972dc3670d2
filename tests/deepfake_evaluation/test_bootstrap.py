"""The bootstrap intervals every reported number carries."""

import math

import numpy as np
import pytest

from deepfake_evaluation.metrics import bootstrap, summarize


def mean_of_scores(labels, scores):
    return float(scores.mean())


def test_interval_holds_the_statistic_and_narrows_with_data():
    rng = np.random.default_rng(1)
    small = rng.normal(0.5, 0.1, 50)
    large = rng.normal(0.5, 0.1, 5000)
    lo, hi = bootstrap(mean_of_scores, np.zeros(50), small, rounds=300)
    assert lo < small.mean() < hi
    big_lo, big_hi = bootstrap(mean_of_scores, np.zeros(5000), large, rounds=300)
    assert big_hi - big_lo < (hi - lo) / 5  # about 1/sqrt(100) as wide
    # a 95% interval of the mean of N(0.5, 0.1) on 50 draws is about +-0.028
    assert hi - lo == pytest.approx(2 * 1.96 * 0.1 / math.sqrt(50), rel=0.3)


def test_same_seed_same_interval():
    labels, scores = np.array([0, 1, 0, 1, 1]), np.array([0.1, 0.9, 0.4, 0.6, 0.8])
    assert bootstrap(mean_of_scores, labels, scores, rounds=50) == bootstrap(mean_of_scores, labels, scores, rounds=50)


def test_statistics_undefined_on_every_resample_give_nan():
    def recall(labels, scores):
        return float(scores[labels == 1].mean()) if (labels == 1).any() else math.nan

    low, high = bootstrap(recall, np.zeros(10, int), np.ones(10), rounds=20)
    assert math.isnan(low) and math.isnan(high)


def test_summary_counts_and_rates_at_the_threshold():
    summary = summarize([1, 1, 1, 1, 0, 0, 0, 0], [0.9, 0.8, 0.2, 0.7, 0.1, 0.6, 0.3, 0.2], 0.5, rounds=100)
    assert summary.n_fake == 4 and summary.n_real == 4
    assert summary.recall == pytest.approx(0.75) and summary.fpr == pytest.approx(0.25)
    assert summary.as_dict()["recall_at_0.1pct_fpr"] == summary.recall_at_01pct_fpr
    assert summary.as_dict()["auc_ci95"] == list(summary.auc_ci95)
