"""tools/train_judge.py --evaluate-only: the shipped judge, unchanged, scored on the streams of
the detectors shipped now (real detectors, real judge, the tiny factory)."""

import json
import shutil

import pytest

from cnn_detector.registry import PROJECT_ROOT, discover_detectors
from tools import train_judge

pytestmark = pytest.mark.slow  # trains or runs the shipped graphs: in CI all the same

SHIPPED_JUDGE = PROJECT_ROOT / "rnn_judge" / "trained"


def test_evaluate_only_keeps_the_judge_and_rewrites_its_numbers(tmp_path, tiny_share_dir, tiny_factory):
    judge_dir = tmp_path / "judge"
    shutil.copytree(SHIPPED_JUDGE, judge_dir)
    before = {name: (judge_dir / name).read_bytes() for name in ("judge.weights.h5", "judge.yaml")}
    record = json.loads((judge_dir / "metrics.json").read_text())
    args = ["--factory", str(tiny_factory), "--share", str(tiny_share_dir), "--out", str(judge_dir)]
    args += ["--cache", str(tmp_path / "streams.pkl"), "--evaluate-only"]

    assert train_judge.main(args) == 0

    for name, data in before.items():
        assert (judge_dir / name).read_bytes() == data, f"{name} changed: --evaluate-only must not retrain"
    report = json.loads((judge_dir / "metrics.json").read_text())
    shipped_now = sorted(spec.manifest.name for spec in discover_detectors(include_environment=False).select())
    assert sorted(report["detectors"]) == shipped_now
    assert report["trained_with"] == record.get("trained_with", record["detectors"])
    assert report["history"] == record["history"] and report["seconds"] == record["seconds"]
    overall = report["test"]["overall"]
    assert overall["n_fake"] > 0 and overall["n_real"] > 0
    assert report["counts"]["test"] == overall["n_fake"] + overall["n_real"]
    assert report["threshold"] == record["threshold"]
    card = (judge_dir / "MODEL_CARD.md").read_text()
    assert f"AUC {overall['auc']:.3f}" in card
    if sorted(report["trained_with"]) != shipped_now:
        assert "without retraining" in card


def test_evaluate_only_without_a_judge_names_the_file(tmp_path, tiny_share_dir, tiny_factory, capsys):
    empty = tmp_path / "no_judge"
    empty.mkdir()
    args = ["--factory", str(tiny_factory), "--share", str(tiny_share_dir), "--out", str(empty), "--evaluate-only"]
    assert train_judge.main(args + ["--cache", str(tmp_path / "streams.pkl")]) == train_judge.EXIT_USAGE
    error = capsys.readouterr().err
    assert str(empty / "judge.yaml") in error and "no trained judge" in error
    assert not (empty / "metrics.json").exists()
