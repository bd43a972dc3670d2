"""The baselines' scorer (tools/evaluate.py --score max) against hand-computable cases."""

import pytest

from cnn_detector.types import Detection, FrameDetections
from deepfake_evaluation.metrics import roc_auc
from deepfake_evaluation.scoring import MaxScore, read_labels, summarize

FACE = ((0.1, 0.1, 0.9, 0.9),)


def frame(*scores, detector="a", faces=FACE, index=0):
    detections = tuple(Detection((0.2, 0.2, 0.8, 0.8), s, 1, "fake", detector) for s in scores)
    return FrameDetections("x.jpg", index, 0.0, (100, 100), faces, detections)


def test_min_score_maps_to_threshold_and_order_is_kept():
    scorer = MaxScore({"a": 0.2})
    assert scorer.scale("a", 0.2) == pytest.approx(0.5)
    assert scorer.scale("a", 0.0) == 0.0 and scorer.scale("a", 1.0) == pytest.approx(1.0)
    raw = [0.0, 0.05, 0.19, 0.2, 0.21, 0.6, 0.99]
    mapped = [scorer.scale("a", s) for s in raw]
    assert mapped == sorted(mapped) and len(set(mapped)) == len(mapped)


def test_one_detector_auc_is_its_raw_auc():
    scorer = MaxScore({"a": 0.3})
    raw = [0.1, 0.35, 0.2, 0.9, 0.3, 0.25]
    labels = [0, 0, 1, 1, 1, 0]
    verdicts = [scorer.decide("x", [frame(s)], ["a"]) for s in raw]
    assert roc_auc(labels, [v.fake_probability for v in verdicts]) == roc_auc(labels, raw)
    # At the threshold: fakes 0.9 and 0.3 reach min_score, 0.2 does not; the real 0.35 does.
    metrics = summarize(labels, [v.fake_probability for v in verdicts], scorer.threshold, rounds=10)
    assert metrics.recall == pytest.approx(2 / 3) and metrics.fpr == pytest.approx(1 / 3)


def test_highest_frame_and_listed_detectors_only():
    scorer = MaxScore({"a": 0.5, "b": 0.5})
    frames = [frame(0.2, index=0), frame(0.8, index=1), frame(0.95, detector="b", index=2)]
    verdict = scorer.decide("x", frames, ["a"])
    assert verdict.fake_probability == pytest.approx(scorer.scale("a", 0.8))
    assert verdict.is_fake and verdict.likely_algorithm == "a:fake" and verdict.frames_used == 3
    silent = scorer.decide("x", [frame()], ["a"])
    assert silent.status == "ok" and silent.fake_probability == 0.0 and not silent.is_fake
    assert scorer.decide("x", [frame(0.9, faces=())], ["a"]).status == "no_face"


def test_manifest_source_folder_column(tmp_path):
    (tmp_path / "crops").mkdir()
    for name in ("r.jpg", "f.jpg"):
        (tmp_path / "crops" / name).write_bytes(b"x")
    manifest = tmp_path / "labels.csv"
    manifest.write_text(
        "path,label,method,source_folder\ncrops/r.jpg,real,,real_images/att_orl\ncrops/f.jpg,fake,self_blend,\n"
    )
    real, fake = read_labels(manifest)
    assert (real.source_folder, real.method) == ("real_images/att_orl", "real")
    assert (fake.source_folder, fake.method, fake.label) == ("crops", "self_blend", 1)
