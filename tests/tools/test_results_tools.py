"""The issue-6 tools at CI size on a tiny share: the baseline classifier, leave-one-method-out,
the held-out manifest, evaluate.py --score max and the README results section."""

import csv
import json

import pytest

from cnn_detector.registry import discover_detectors
from deepfake_evaluation.scoring import read_labels
from tools import evaluate, leave_one_out, make_manifest, train_baseline, update_readme

pytestmark = pytest.mark.slow  # trains or runs the shipped graphs: in CI all the same


@pytest.fixture(scope="module")
def baseline(tiny_factory, tmp_path_factory):
    out = tmp_path_factory.mktemp("baselines")
    args = ["--factory", str(tiny_factory), "--output-root", str(out), "--run-dir", str(out / "run"), "--quick"]
    assert train_baseline.main([*args, "--no-progress"]) == 0
    return out / "frame_classifier"


@pytest.fixture
def manifest(tiny_factory, tmp_path):
    """The tiny factory's held-out manifest, as tools/make_manifest.py writes it."""
    path = tmp_path / "heldout" / "labels.csv"
    assert (
        make_manifest.main(["--factory", str(tiny_factory), "--share", str(tmp_path / "none"), "--out", str(path)]) == 0
    )
    return path


def test_baseline_is_a_verified_detector_directory(baseline):
    spec = discover_detectors([baseline.parent], include_default=False).get("frame_classifier")
    assert spec.manifest.input == "face_crop" and spec.manifest.algorithms == ("fake",)
    report = json.loads((baseline / "metrics.json").read_text())
    assert report["baseline"]["pretrained"] is None
    assert set(report["test"]["per_method"]) >= {"self_blend", "upsampling"}
    # Calibrated like a detector: min_score and the typical fake score are in its manifest.
    assert 0.05 <= spec.manifest.min_score <= 0.99


def test_manifest_holds_only_the_test_split(tiny_factory, manifest):
    out = manifest
    rows = list(csv.DictReader(open(out)))
    index = {r["image"]: r for r in csv.DictReader(open(tiny_factory / "index.csv"))}
    assert rows and all(index[r["path"].split("factory/", 1)[1]]["split"] == "test" for r in rows)
    assert len(rows) == sum(1 for r in index.values() if r["split"] == "test")
    items = read_labels(out)
    assert {i.source_folder for i in items} <= {r["source_folder"] for r in index.values()}


def test_baseline_evaluated_by_max_score_and_rendered(baseline, manifest, tmp_path):
    results = tmp_path / "results"
    common = ["--manifest", str(manifest), "--bootstrap", "20", "--detectors", str(baseline.parent)]
    for folder in ("system", "baseline_scratch"):
        code = evaluate.main(
            [*common, "--out", str(results / folder), "--only-detectors", "frame_classifier", "--score", "max"]
        )
        assert code == 0
    report = json.loads((results / "system" / "metrics.json").read_text())
    assert report["score"] == "max detection score" and report["threshold"] == 0.5
    verdicts = list(csv.DictReader(open(results / "system" / "verdicts.csv")))
    assert len(verdicts) == report["metrics"]["overall"]["n_fake"] + report["metrics"]["overall"]["n_real"]
    readme = tmp_path / "README.md"
    readme.write_text(
        "x\n<!-- detectors:start -->\n<!-- detectors:end -->\n<!-- judge:start -->\n<!-- judge:end -->\n"
        "<!-- results:start -->\nSTALE-TEXT\n<!-- results:end -->\n"
    )
    docs = tmp_path / "docs"
    argv = ["--results", str(results), "--leave-one-out", str(tmp_path / "none"), "--readme", str(readme)]
    assert update_readme.main([*argv, "--docs", str(docs)]) == 0
    text = readme.read_text()
    assert "STALE-TEXT" not in text and (docs / "roc.png").is_file()
    overall = report["metrics"]["overall"]
    auc = "n/a" if overall["auc"] != overall["auc"] else f"{overall['auc']:.3f}"
    assert f"| overall | {auc} (" in text


@pytest.mark.heavy
def test_leave_one_out_rebuilds_the_set_without_the_method(tiny_share_dir, tiny_factory, manifest, tmp_path):
    out = tmp_path / "loo"
    argv = ["--quick", "--manifest", str(manifest), "--factory", str(tiny_factory), "--share", str(tiny_share_dir)]
    argv += ["--out", str(out), "--bootstrap", "20"]
    assert leave_one_out.main([*argv, "--methods", "self_blend,upsampling", "--no-progress"]) == 0
    rows = {r["method"]: r for r in json.loads((out / "leave_one_out.json").read_text())["rows"]}
    assert set(rows) == {"self_blend", "upsampling"}
    # blend_boundary also learned face swaps: retrained without self-blends; blend_seam knew only them.
    assert rows["self_blend"]["retrained"] == {"blend_boundary": "blend_boundary_without_self_blend"}
    assert rows["self_blend"]["dropped"] == ["blend_seam"] and "gan_face" in rows["self_blend"]["kept"]
    assert rows["upsampling"]["dropped"] == ["upsampling"] and not rows["upsampling"]["retrained"]
    variant = discover_detectors([out], include_default=False).get("blend_boundary_without_self_blend")
    assert variant.manifest.algorithms == ("face_swap",)
    assert leave_one_out.main([*argv, "--methods", "nothing"]) == 1
