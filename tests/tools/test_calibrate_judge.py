"""tools/calibrate_judge.py at CI size: the judge's threshold checked, then set, on real inputs
(factory crops, each kind of real photo made from them, the share's real media); the weights
never change."""

import json
import shutil

import pytest
import yaml

from cnn_detector.training.data.real_kinds import REAL_KINDS
from tools import calibrate_judge

pytestmark = pytest.mark.slow  # trains or runs the shipped graphs: in CI all the same


def test_measures_then_writes_the_threshold(tmp_path, tiny_factory, tiny_share_dir, random_judge_dir, monkeypatch):
    from rnn_judge.judge import Judge

    # An untrained judge's lone-detector ceiling means nothing; the mechanics are tested here, the
    # refusal below.
    ceiling = Judge.lone_detector_ceiling
    monkeypatch.setattr(Judge, "lone_detector_ceiling", lambda self, names: max(0.99, ceiling(self, names)))
    judge = tmp_path / "judge"
    shutil.copytree(random_judge_dir, judge)
    weights = (judge / "judge.weights.h5").read_bytes()
    argv = ["--factory", str(tiny_factory), "--share", str(tiny_share_dir), "--judge", str(judge), "--copies", "2"]
    argv += ["--out", str(tmp_path / "out"), "--wild-results", str(tmp_path / "none"), "--only-detectors", "gan_face"]
    assert calibrate_judge.main(argv) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    reals = report["reals"]
    assert reals["crop"] > 0 and all(0 < reals[kind] <= 2 * reals["crop"] for kind in REAL_KINDS)
    assert set(report["detector_fired"]) == set(report["reals"])
    assert 0.0 < report["lone_detector_ceiling"] < 1.0
    assert yaml.safe_load((judge / "judge.yaml").read_text())["threshold"] == report["current_threshold"]
    assert calibrate_judge.main([*argv, "--write"]) == 0
    settings = yaml.safe_load((judge / "judge.yaml").read_text())
    again = json.loads((tmp_path / "out" / "report.json").read_text())
    assert settings["threshold"] == again["threshold_for_target"]
    assert settings["threshold_calibration"]["reals"] == again["reals"]
    assert (judge / "judge.weights.h5").read_bytes() == weights


def test_a_threshold_no_lone_detector_can_reach_is_not_written(
    tmp_path, tiny_factory, tiny_share_dir, random_judge_dir, monkeypatch, capfd
):
    from rnn_judge.judge import Judge

    judge = tmp_path / "judge"
    shutil.copytree(random_judge_dir, judge)
    before = (judge / "judge.yaml").read_bytes()
    # A judge on which one detector alone reaches nothing: any threshold is out of its reach.
    monkeypatch.setattr(Judge, "lone_detector_ceiling", lambda self, names: 0.0)
    argv = ["--factory", str(tiny_factory), "--share", str(tiny_share_dir), "--judge", str(judge), "--copies", "1"]
    argv += ["--out", str(tmp_path / "out"), "--wild-results", str(tmp_path / "none"), "--only-detectors", "gan_face"]
    assert calibrate_judge.main([*argv, "--write"]) == 1
    assert (judge / "judge.yaml").read_bytes() == before
    assert "what one detector firing alone" in capfd.readouterr().err


def test_the_shipped_threshold_is_within_reach_of_one_detector():
    """Above this ceiling no detector alone could call a still fake (widening could add no recall)."""
    from cnn_detector.registry import discover_detectors
    from rnn_judge.judge import Judge

    judge = Judge.load()
    names = [spec.name for spec in discover_detectors(include_environment=False).select()]
    assert 0.0 < judge.threshold < judge.lone_detector_ceiling(names) < 1.0
