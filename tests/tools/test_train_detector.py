"""The whole retraining path at CI size: a tiny share built from the shipped samples ->
make_fakes -> voc/TFRecords -> train_detector --quick -> a detector directory that the
registry accepts and detect_image.py runs."""

import csv
import json

import pytest
import yaml

import detect_image
from cnn_detector.registry import PROJECT_ROOT, discover_detectors
from tests.tools.tiny_share import tiny_share
from tools import make_fakes, train_detector

pytestmark = pytest.mark.slow  # trains or runs the shipped graphs: in CI all the same

SAMPLES = PROJECT_ROOT / "samples"


def test_quick_retrain_produces_a_working_detector(tmp_path, capsys):
    share = tmp_path / "share"
    assert tiny_share(share) == {"train", "val", "test"}
    factory = tmp_path / "factory"
    assert make_fakes.main(["--share", str(share), "--out", str(factory), "--frames-per-video", "1"]) == 0
    index = list(csv.DictReader(open(factory / "index.csv")))
    assert {r["method"] for r in index} >= {"real", "self_blend", "upsampling", "stylegan"}
    output = tmp_path / "detectors"
    # The shipped recipe under another name, so that it cannot clash with the shipped gan_face.
    recipe = yaml.safe_load((PROJECT_ROOT / "configs/detectors/gan_face.yaml").read_text())
    recipe["detector"]["name"] = "quick_gan_face"
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    train = [
        "--config",
        str(tmp_path / "recipe.yaml"),
        "--quick",
        "--no-progress",
        "--factory",
        str(factory),
        "--run-dir",
        str(tmp_path / "run"),
        "--output-root",
        str(output),
    ]
    assert train_detector.main(train) == 0
    directory = output / "quick_gan_face"
    for name in ("frozen_inference_graph.pb", "detector.yaml", "labelmap.pbtxt", "metrics.json", "MODEL_CARD.md"):
        assert (directory / name).is_file(), name
    assert "Retrain from scratch" in (directory / "MODEL_CARD.md").read_text()
    spec = discover_detectors([output], include_default=False).get("quick_gan_face")
    assert spec.manifest.input == "face_crop" and spec.manifest.input_size == (128, 128)
    capsys.readouterr()
    scan = [
        "--input",
        str(SAMPLES / "real_img16.jpg"),
        "--detectors",
        str(output),
        "--only-detectors",
        "quick_gan_face",
        "--min-score",
        "0.01",
    ]
    assert detect_image.main(scan) == 0
    assert capsys.readouterr().out.startswith("source,frame_index")
    # A second run into the same run directory must not silently mix with the first.
    assert train_detector.main(train) == 1

    # The factory changes (here: its test stylegan fakes go): --evaluate-only measures the same
    # graph again, keeps the training record and says so in the card.
    graph = (directory / "frozen_inference_graph.pb").read_bytes()
    before = json.loads((directory / "metrics.json").read_text())
    assert before["test"]["per_method"]["stylegan"]["n_fake"] > 0
    kept = [r for r in index if not (r["split"] == "test" and r["method"] == "stylegan")]
    with open(factory / "index.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(index[0]))
        writer.writeheader()
        writer.writerows(kept)
    assert train_detector.main([*train, "--evaluate-only"]) == 0
    after = json.loads((directory / "metrics.json").read_text())
    assert "stylegan" not in after["test"]["per_method"] and after["test_remeasured"] is True
    assert after["training"] == before["training"] and after["data"] == before["data"]
    assert after["test"]["overall"]["n_real"] == before["test"]["overall"]["n_real"]
    assert (directory / "frozen_inference_graph.pb").read_bytes() == graph
    card = (directory / "MODEL_CARD.md").read_text()
    assert "--evaluate-only" in card and "| stylegan |" not in card.split("## Held-out test split")[1]
    # The recipe's own augmentation (the gan_face recipe keeps the defaults), not a fixed sentence.
    assert "resolution 35%-100% of the input size, JPEG 30-95 on 50% of images" in card
    assert "Source folders trained on" in card and "the test row is the old split's" in card
    # The card's wording changes: --card-only writes it again from metrics.json, nothing measured.
    (directory / "MODEL_CARD.md").write_text("stale")
    metrics_bytes = (directory / "metrics.json").read_bytes()
    assert train_detector.main([*train, "--card-only"]) == 0
    assert (directory / "MODEL_CARD.md").read_text() == card
    assert (directory / "metrics.json").read_bytes() == metrics_bytes
    (directory / "metrics.json").write_text('{"training": {}}')
    assert train_detector.main([*train, "--card-only"]) == 1
    assert (directory / "MODEL_CARD.md").read_text() == card
    # Nothing trained yet: a clear usage error, not a traceback.
    assert train_detector.main([*train[:-1], str(tmp_path / "empty"), "--evaluate-only"]) == 1


@pytest.mark.parametrize("bad", ["unknown: 1\n", "detector: {name: x}\n"])
def test_bad_recipe_is_a_usage_error(tmp_path, bad):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(bad)
    assert train_detector.main(["--config", str(recipe), "--factory", str(tmp_path)]) == 1
