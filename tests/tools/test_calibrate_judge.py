"""tools/calibrate_judge.py at CI size: the judge's threshold checked, then set, on real inputs
(factory crops, each kind of real photo made from them, the share's real media); the weights
never change."""

import json
import shutil

import yaml

from cnn_detector.training.real_kinds import REAL_KINDS
from tools import calibrate_judge


def test_measures_then_writes_the_threshold(tmp_path, tiny_factory, tiny_share_dir, random_judge_dir):
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
    assert yaml.safe_load((judge / "judge.yaml").read_text())["threshold"] == report["current_threshold"]
    assert calibrate_judge.main([*argv, "--write"]) == 0
    settings = yaml.safe_load((judge / "judge.yaml").read_text())
    again = json.loads((tmp_path / "out" / "report.json").read_text())
    assert settings["threshold"] == again["threshold_for_target"]
    assert settings["threshold_calibration"]["reals"] == again["reals"]
    assert (judge / "judge.weights.h5").read_bytes() == weights
