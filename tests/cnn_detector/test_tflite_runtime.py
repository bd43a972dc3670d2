"""A detector directory with runtime: tflite is loaded by the registry like a frozen graph, after
trust checks of its own (size, sha256, a TFLite flatbuffer, no custom or flex op, the input
contract), and a scan on TFLite models gives the frozen graphs' verdicts."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from cnn_detector.errors import ManifestError, UntrustedGraphError
from cnn_detector.frozen_graph import LoadOptions, load_detector
from cnn_detector.manifest import parse_manifest
from cnn_detector.registry import PROJECT_ROOT, discover_detectors, load_detector_spec
from tests.conftest import FRAME_DETECTORS

pytestmark = pytest.mark.slow  # converts the shipped detectors
SAMPLES = sorted((PROJECT_ROOT / "samples").glob("*.jpg"))


def _rgb(path: Path) -> np.ndarray:
    import cv2

    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_the_registry_loads_a_tflite_detector_that_finds_what_its_frozen_graph_finds(tflite_models):
    from cnn_detector.tflite import TfliteGraphDetector

    scan = discover_detectors([tflite_models / "detectors"], include_default=False, include_environment=False)
    assert sorted(scan.specs) == sorted(FRAME_DETECTORS) and not scan.problems
    shipped = discover_detectors(include_environment=False).get("gan_face")
    with load_detector(scan.get("gan_face")) as tflite, load_detector(shipped) as frozen:
        assert isinstance(tflite, TfliteGraphDetector)
        images = [_rgb(p) for p in SAMPLES]
        for got, expected in zip(tflite.detect(images, min_score=0.05), frozen.detect(images, min_score=0.05)):
            assert len(got) == len(expected)
            for a, b in zip(sorted(got, key=lambda d: -d.score), sorted(expected, key=lambda d: -d.score)):
                assert abs(a.score - b.score) < 0.03 and a.label == b.label
                assert np.abs(np.array(a.box) - np.array(b.box)).max() < 0.03


def test_a_scan_on_tflite_models_gives_the_frozen_graphs_verdicts(tflite_models):
    from deepfake_scanner.scanner import Scanner, ScanOptions
    from rnn_judge.tflite import TfliteJudge

    paths = [str(p) for p in SAMPLES] + [str(p) for p in sorted((PROJECT_ROOT / "samples/videos").glob("*.mp4"))]
    options = ScanOptions(only=FRAME_DETECTORS, provenance=False)
    with Scanner.open(options=options) as frozen:
        expected = {r.source: r.verdict for r in frozen.scan_many(paths)}
    with Scanner.open(
        [tflite_models / "detectors"], judge_dir=tflite_models / "judge", options=options, include_shipped=False
    ) as tflite:
        assert isinstance(tflite.judge, TfliteJudge)
        got = {r.source: r.verdict for r in tflite.scan_many(paths)}
    assert got.keys() == expected.keys()
    for source, verdict in got.items():
        assert verdict.status == expected[source].status == "ok", source
        assert abs(verdict.fake_probability - expected[source].fake_probability) <= 0.02, source
        assert verdict.is_fake == expected[source].is_fake


@pytest.fixture
def copied(tflite_models, tmp_path):
    directory = tmp_path / "gan_face"
    shutil.copytree(tflite_models / "detectors" / "gan_face", directory)
    return directory


def _set(directory: Path, model: bytes | None = None, **fields) -> None:
    manifest = yaml.safe_load((directory / "detector.yaml").read_text())
    if model is not None:
        (directory / "model.tflite").write_bytes(model)
        manifest["sha256"] = hashlib.sha256(model).hexdigest()
    manifest.update(fields)
    (directory / "detector.yaml").write_text(yaml.safe_dump(manifest))


def _custom_op_model() -> bytes:
    import tensorflow as tf

    function = tf.function(lambda x: tf.math.erfinv(tf.cast(x, tf.float32) / 300.0))
    concrete = function.get_concrete_function(tf.TensorSpec([1, 128, 128, 3], tf.uint8))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    converter.allow_custom_ops = True  # Erfinv has no builtin kernel
    return converter.convert()


def test_a_changed_model_is_refused_by_its_sha256(copied):
    data = bytearray((copied / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 1
    (copied / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(UntrustedGraphError, match="sha256"):
        load_detector(load_detector_spec(copied))


def test_a_model_with_a_custom_op_is_refused_before_it_runs(copied):
    _set(copied, _custom_op_model(), nms=None)
    with pytest.raises(UntrustedGraphError, match="refused TFLite op.*CUSTOM:Erfinv"):
        load_detector(load_detector_spec(copied))


def test_bytes_that_are_not_a_tflite_model_are_refused(copied):
    _set(copied, b"\x00" * 64 + bytes(range(256)) * 10)
    with pytest.raises(UntrustedGraphError, match="not a TFLite model"):
        load_detector(load_detector_spec(copied))


def test_an_oversized_model_is_refused_before_it_is_read(copied):
    with pytest.raises(UntrustedGraphError, match="limit"):
        load_detector(load_detector_spec(copied), LoadOptions(max_graph_bytes=10_000))


def test_a_model_whose_input_or_outputs_are_not_the_manifests_is_refused(copied):
    manifest = yaml.safe_load((copied / "detector.yaml").read_text())
    _set(copied, input_size=[96, 96])
    with pytest.raises(UntrustedGraphError, match=r"input must be one uint8 \[1, 96, 96, 3\] image"):
        load_detector(load_detector_spec(copied))
    _set(copied, input_size=manifest["input_size"], nms={**manifest["nms"], "scores": "no_such_tensor"})
    with pytest.raises(UntrustedGraphError, match="missing output.*no_such_tensor"):
        load_detector(load_detector_spec(copied))


BASE = {
    "name": "x_detector",
    "version": "1",
    "author": "a",
    "licence": "MIT",
    "algorithms": ["gan"],
    "input": "face_crop",
    "input_size": [128, 128],
    "min_score": 0.5,
    "labelmap": "labelmap.pbtxt",
    "sha256": "0" * 64,
    "trained_on": ["x"],
}
NMS = {"boxes": "b", "scores": "s", "per_class": 10, "total": 10, "iou": 0.5, "score_threshold": 0.01}


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"runtime": "onnx"}, "runtime must be one of"),
        ({"nms": NMS}, "nms is for runtime tflite only"),
        ({"runtime": "tflite", "input": "face_clip", "clip_frames": 8}, "frame detectors"),
        ({"runtime": "tflite", "nms": {**NMS, "iou": 3}}, r"nms\.iou"),
        ({"runtime": "tflite", "nms": {"boxes": "b"}}, "exactly"),
    ],
)
def test_bad_runtime_fields_are_refused(fields, message):
    with pytest.raises(ManifestError, match=message):
        parse_manifest({**BASE, **fields})


def test_a_tflite_manifest_round_trips():
    manifest = parse_manifest({**BASE, "runtime": "tflite", "nms": NMS})
    assert manifest.runtime == "tflite" and manifest.nms == NMS
    assert parse_manifest(manifest.to_yaml_dict()) == manifest
    assert "runtime" not in parse_manifest(BASE).to_yaml_dict()


def test_check_detector_passes_a_tflite_form_and_fails_a_custom_op(tflite_models, copied):
    from deepfake_scanner.detector_checks import run_checks

    results = run_checks(tflite_models / "detectors" / "gan_face")
    assert all(r.ok for r in results), [str(r) for r in results if not r.ok]
    assert {"op allowlist", "tensor contract", "samples/expected.csv reproduced", "latency"} <= {
        r.name for r in results
    }
    _set(copied, _custom_op_model(), nms=None)
    results = run_checks(copied)
    assert not results[-1].ok and results[-1].name == "op allowlist" and "CUSTOM:Erfinv" in results[-1].detail
