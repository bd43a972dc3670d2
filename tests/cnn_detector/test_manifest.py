import pytest
import yaml

from cnn_detector.errors import ManifestError
from cnn_detector.manifest import load_manifest, parse_manifest, write_manifest

VALID = {
    "name": "gan_face",
    "version": "1.0.0",
    "author": "someone",
    "licence": "Apache-2.0",
    "algorithms": ["stylegan", "stylegan2"],
    "input": "face_crop",
    "input_size": [128, 128],
    "min_score": 0.3,
    "labelmap": "labelmap.pbtxt",
    "sha256": "a" * 64,
    "trained_on": "fake_images/stylegan_boredhumans",
}


def with_(**changes):
    data = dict(VALID)
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    return data


def test_valid_manifest_defaults():
    manifest = parse_manifest(VALID, "d/detector.yaml")
    assert manifest.graph == "frozen_inference_graph.pb"
    assert manifest.input_size == (128, 128)
    assert manifest.trained_on == ("fake_images/stylegan_boredhumans",)
    assert parse_manifest(with_(input_size=224)).input_size == (224, 224)


@pytest.mark.parametrize(
    "data, message",
    [
        (
            with_(input="face"),
            r"d/detector.yaml: input must be one of face_crop, full_frame, face_clip, face_clip_audio, got 'face'",
        ),
        (with_(name="Bad Name"), "name must be"),
        (with_(min_score=0), "min_score"),
        (with_(min_score="high"), "min_score"),
        (with_(sha256="abc"), "sha256 must be 64"),
        (with_(input_size=[128]), "input_size"),
        (with_(input_size=[8, 8]), "input_size"),
        (with_(algorithms=[]), "algorithms must be a non-empty list"),
        (with_(graph="../evil.pb"), "graph must be a file name"),
        (with_(labelmap="/etc/passwd"), "labelmap must be a relative path"),
        (with_(face_margin=5), "face_margin"),
        (with_(colour="red"), "unknown field"),
        (with_(author=...), "missing required field.*author"),
        (["not", "a", "mapping"], "expected a mapping"),
    ],
)
def test_manifest_errors(data, message):
    with pytest.raises(ManifestError, match=message):
        parse_manifest(data, "d/detector.yaml")


def test_load_manifest_yaml_errors(tmp_path):
    with pytest.raises(ManifestError, match="no detector.yaml"):
        load_manifest(tmp_path / "detector.yaml")
    broken = tmp_path / "detector.yaml"
    broken.write_text("name: a\n  bad: [indent\n")
    with pytest.raises(ManifestError, match=r"detector.yaml:\d+: not valid YAML"):
        load_manifest(broken)


def test_write_then_load_round_trip(tmp_path):
    manifest = parse_manifest(VALID)
    path = tmp_path / "detector.yaml"
    write_manifest(manifest, path)
    assert load_manifest(path) == manifest
    assert yaml.safe_load(path.read_text())["name"] == "gan_face"


def test_typical_fake_score_is_optional_and_checked():
    assert parse_manifest(VALID).typical_fake_score is None
    assert parse_manifest(with_(typical_fake_score=0.4)).typical_fake_score == 0.4
    with pytest.raises(ManifestError, match="typical_fake_score"):
        parse_manifest(with_(typical_fake_score=1.5))


def test_a_key_written_twice_is_refused(tmp_path):
    """A reviewer would read the first sha256; PyYAML alone would use the second."""
    path = tmp_path / "detector.yaml"
    text = yaml.safe_dump(VALID, sort_keys=False)
    path.write_text(text + "sha256: " + "b" * 64 + "\n")
    with pytest.raises(ManifestError, match=r"detector.yaml:\d+: not valid YAML: key 'sha256' appears twice"):
        load_manifest(path)


def test_a_recipe_section_written_twice_is_refused(tmp_path):
    from cnn_detector.registry import PROJECT_ROOT
    from cnn_detector.training.retinanet.config import load_train_config

    recipe = tmp_path / "recipe.yaml"
    shipped = (PROJECT_ROOT / "configs" / "detectors" / "upsampling.yaml").read_text()
    recipe.write_text(shipped + "augment:\n  degradation: 0.8\n")
    with pytest.raises(ValueError, match="'augment' appears twice"):
        load_train_config(recipe)
