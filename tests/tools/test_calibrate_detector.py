"""tools/calibrate_detector.py at CI size: every detector of a folder scored on the same real
inputs (crops, each kind of real, the share's real media), min_score written, graph untouched."""

import json
import shutil

import pytest
import yaml

from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.training.data.real_kinds import REAL_KINDS
from tools import calibrate_detector

pytestmark = pytest.mark.slow  # trains or runs the shipped graphs: in CI all the same


def test_measures_then_writes_min_scores(tmp_path, tiny_factory, tiny_share_dir):
    models = tmp_path / "frozen_models"  # beside a labelmaps/ folder, as the manifests expect
    for name in ("gan_face", "upsampling"):
        shutil.copytree(PROJECT_ROOT / "frozen_models" / name, models / name, ignore=shutil.ignore_patterns("samples"))
        (tmp_path / "labelmaps").mkdir(exist_ok=True)
        shutil.copy(PROJECT_ROOT / "labelmaps" / f"{name}.pbtxt", tmp_path / "labelmaps")
    before = {p: p.read_bytes() for p in models.rglob("*") if p.is_file()}
    argv = ["--factory", str(tiny_factory), "--share", str(tiny_share_dir), "--models", str(models)]
    argv += ["--copies", "1", "--out", str(tmp_path / "out")]
    assert calibrate_detector.main([*argv, "--measure-only"]) == 0
    assert {p: p.read_bytes() for p in models.rglob("*") if p.is_file()} == before
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(report["detectors"]) == {"gan_face", "upsampling"}
    for result in report["detectors"].values():
        reals = result["reals"]
        assert reals["crop"] > 0 and all(reals[kind] == reals["crop"] for kind in REAL_KINDS)
        assert "photos" in reals
        assert result["total"] == sum(reals.values())
        pooled = sum(result["fpr_new"][k] * n for k, n in reals.items()) / result["total"]
        assert pooled <= 0.01 + 1e-9

    assert calibrate_detector.main(argv) == 0
    for name, result in report["detectors"].items():
        manifest = yaml.safe_load((models / name / "detector.yaml").read_text())
        assert manifest["min_score"] == result["min_score"]
        assert (models / name / "frozen_inference_graph.pb").read_bytes() == before[
            models / name / "frozen_inference_graph.pb"
        ]


def test_no_detector_folder_or_a_broken_one_is_a_usage_error(tmp_path, tiny_factory, capfd):
    argv = ["--factory", str(tiny_factory), "--models", str(tmp_path), "--out", str(tmp_path / "out")]
    assert calibrate_detector.main(argv) == 1
    shutil.copytree(PROJECT_ROOT / "frozen_models" / "gan_face", tmp_path / "gan_face")  # its labelmap is not there
    assert calibrate_detector.main(argv) == 1
    assert "gan_face.pbtxt: labelmap file not found" in capfd.readouterr().err
