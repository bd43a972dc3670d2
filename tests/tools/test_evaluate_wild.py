"""tools/evaluate.py --wild at CI size: a tiny wild folder (sample photos and videos), the shipped
detectors and judge, a quick baseline; every scorer and shortcut per kind, method and folder."""

import csv
import hashlib
import json
import shutil

import pytest

from cnn_detector.registry import PROJECT_ROOT
from deepfake_evaluation.wild import KINDS
from tools import evaluate, train_baseline, update_readme

pytestmark = pytest.mark.slow  # trains or runs the shipped graphs: in CI all the same

SAMPLES = PROJECT_ROOT / "samples"


def tiny_wild(root):
    """wild/-shaped folder: MANIFEST.csv (local_path,...,label,method) and the files."""
    plan = [
        ("real_images/portraits", "real", "real", sorted(SAMPLES.glob("real_*.jpg"))),
        ("fake_images/some_generator", "fake", "gen_a", sorted(SAMPLES.glob("fake_*.jpg"))[:2]),
        ("fake_images/other_generator", "fake", "gen_b", sorted(SAMPLES.glob("fake_*.jpg"))[2:]),
        ("videos/real/clips", "real", "real", [SAMPLES / "videos" / "real_hamilton.mp4"]),
        ("videos/fake/swaps", "fake", "swap", [SAMPLES / "videos" / "fake_face_swap_hamilton.mp4"]),
    ]
    rows = []
    for folder, label, method, sources in plan:
        (root / folder).mkdir(parents=True)
        for source in sources:
            name = f"{folder}/{source.name}"
            shutil.copy(source, root / name)
            digest = hashlib.sha256((root / name).read_bytes()).hexdigest()
            rows.append({"local_path": name, "repo": "samples", "label": label, "method": method, "sha256": digest})
    with open(root / "MANIFEST.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture(scope="module")
def quick_baselines(tiny_factory, tmp_path_factory):
    out = tmp_path_factory.mktemp("baselines")
    name, _ = evaluate.IMAGENET_BASELINE
    args = ["--factory", str(tiny_factory), "--output-root", str(out), "--run-dir", str(out / "run"), "--quick"]
    assert train_baseline.main([*args, "--name", name, "--no-progress"]) == 0
    return out


@pytest.mark.heavy
def test_wild_validation_in_one_command(tmp_path, tiny_share_dir, quick_baselines):
    wild = tiny_wild(tmp_path / "wild")
    out = tmp_path / "out"
    argv = ["--wild", "--wild-dir", str(wild), "--share", str(tiny_share_dir), "--baselines", str(quick_baselines)]
    assert evaluate.main([*argv, "--out", str(out), "--bootstrap", "20", "--max-frames", "4"]) == 0
    report = json.loads((out / "wild.json").read_text())
    assert set(report["kinds"]) == set(KINDS)
    scorers = {key for key, _ in report["scorers"]}
    shortcuts = {"face_size", "sharpness", "compression", "resolution"}
    assert scorers == {"system", "max_score", "imagenet_baseline"} | shortcuts
    images = report["kinds"]["images"]
    counts = {"fake": len(list(SAMPLES.glob("fake_*.jpg"))), "real": len(list(SAMPLES.glob("real_*.jpg")))}
    assert images["counts"] == counts
    for key in scorers:
        table = images["scorers"][key]
        assert table["n_fake"] + table["n_real"] + table["not_judged"] == counts["fake"] + counts["real"]
        assert set(table["per_method"]) <= {"gen_a", "gen_b"}
    system = images["scorers"]["system"]
    assert 0 <= system["fpr"] <= 1 and len(system["fpr_ci95"]) == 2
    assert set(system["per_source_folder"]) <= {
        "real_images/portraits",
        "fake_images/some_generator",
        "fake_images/other_generator",
    }
    assert "fpr" not in images["scorers"]["face_size"], "shortcuts have no threshold, only AUC"
    assert report["shortcut_orientation"]["images"]["resolution"] in (1, -1)
    text = (out / "report.md").read_text()
    assert "validation set" in text and "Per source folder (videos)" in text and "Widening (images)" in text
    readme = tmp_path / "README.md"
    blocks = ["detectors", "judge", "wild"]
    readme.write_text("".join(f"<!-- {b}:start -->\nSTALE\n<!-- {b}:end -->\n" for b in blocks))
    assert update_readme.main(["--wild", str(out), "--readme", str(readme)]) == 0
    assert "STALE" not in readme.read_text() and "face size only" in readme.read_text()
