"""tools/evaluate.py: manifests are checked before anything runs; the whole report is written."""

import json

import pytest

from cnn_detector.registry import PROJECT_ROOT
from tools import evaluate

pytestmark = pytest.mark.slow  # trains or runs the shipped graphs: in CI all the same

SAMPLES = PROJECT_ROOT / "samples"


@pytest.mark.parametrize(
    "content, reason",
    [
        ("path,label\nmissing.jpg,fake\n", "no such file"),
        (f"path,label\n{SAMPLES / 'real_img16.jpg'},maybe\n", "label must be real or fake"),
        ("file,kind\nx,y\n", "expected a header"),
        (f"path,label\n{SAMPLES / 'real_img16.jpg'},real\n", "both real and fake"),
    ],
)
def test_bad_manifest_is_refused_before_running(tmp_path, content, reason, capsys):
    manifest = tmp_path / "labels.csv"
    manifest.write_text(content)
    assert evaluate.main(["--manifest", str(manifest), "--out", str(tmp_path / "out")]) == 1
    assert reason in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_evaluates_samples_with_widening(tmp_path, make_detector, tf1_graph, random_judge_dir):
    make_detector("colour", tf1_graph, min_score=0.3)
    out = tmp_path / "eval"
    code = evaluate.main(
        [
            "--manifest",
            str(SAMPLES / "labels.csv"),
            "--out",
            str(out),
            "--detectors",
            str(tmp_path / "detectors"),
            "--judge",
            str(random_judge_dir),
            "--robustness",
            "--widening",
            "--max-frames",
            "4",
            "--bootstrap",
            "50",
        ]
    )
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["metrics"]["overall"]["n_fake"] + report["metrics"]["overall"]["n_real"] >= 7
    assert {"self_blend", "face_swap", "upsampling"} <= set(report["metrics"]["per_method"])
    assert len(report["widening"]) == len(report["detectors"])
    assert list(report["robustness"])[:2] == ["original", "jpeg90"] and len(report["robustness"]) == 10
    for name in ("verdicts.csv", "report.md", "roc.png", "histogram.png", "coverage.png", "robustness.png"):
        assert (out / name).is_file(), name
