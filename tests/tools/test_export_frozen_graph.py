"""tools/export_frozen_graph.py: a Model Garden RetinaNet exported with the OD-API contract."""

import numpy as np
import pytest
import yaml

from cnn_detector.detector_dir import write_detector_directory
from cnn_detector.frozen_graph import load_detector
from cnn_detector.graph_trust import read_and_verify_graph
from cnn_detector.labelmap import format_labelmap
from cnn_detector.manifest import load_manifest
from cnn_detector.registry import discover_detectors
from tools import export_frozen_graph

CLASSES = [(1, "blend", "Blending seam"), (2, "upsample", "Up-sampling trace")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump({"model": {"input_size": [128, 128], "max_level": 5, "max_detections": 7}}))
    labelmap = root / "labelmap.pbtxt"
    labelmap.write_text(format_labelmap(CLASSES))
    detector_dir = write_detector_directory(
        root / "detectors" / "retina", b"placeholder", CLASSES, input_size=[128, 128]
    )
    output = detector_dir / "frozen_inference_graph.pb"
    code = export_frozen_graph.main(
        ["--config", str(config), "--labelmap", str(labelmap), "--output", str(output), "--update-manifest"]
    )
    assert code == 0
    return root, output


def test_export_has_contract_and_passes_trust_checks(exported):
    _, output = exported
    manifest = load_manifest(output.parent / "detector.yaml")
    verified = read_and_verify_graph(output, manifest.sha256)
    assert {"CombinedNonMaxSuppression", "DepthwiseConv2dNative", "FusedBatchNormV3"} <= verified.op_types
    names = {node.name for node in verified.graph_def.node}
    assert {"image_tensor", "detection_boxes", "detection_scores", "detection_classes", "num_detections"} <= names
    assert verified.size_bytes < 15 * 1024 * 1024


def test_exported_graph_runs_through_the_registry(exported):
    root, _ = exported
    spec = discover_detectors([root / "detectors"], include_default=False).get("retina")
    detector = load_detector(spec)
    rng = np.random.default_rng(1)
    batch = rng.integers(0, 255, (3, 128, 128, 3), dtype=np.uint8)
    raw = detector.run(batch)
    assert len(raw) == 3
    for item in raw:
        assert item.boxes.shape[1:] == (4,) and len(item.boxes) <= 7
        assert np.all((item.boxes >= 0) & (item.boxes <= 1))
        assert set(item.classes.tolist()) <= {1, 2}
    # Any input size: the graph resizes; detect() resizes to input_size first.
    assert isinstance(detector.detect([rng.integers(0, 255, (90, 200, 3), dtype=np.uint8)], min_score=0.0)[0], list)
    detector.close()


def test_bad_labelmap_ids_are_refused(tmp_path):
    labelmap = tmp_path / "gappy.pbtxt"
    labelmap.write_text("item { id: 1 name: 'a' }\nitem { id: 3 name: 'c' }\n")
    config = tmp_path / "config.yaml"
    config.write_text("model:\n  input_size: [128, 128]\n")
    code = export_frozen_graph.main(
        ["--config", str(config), "--labelmap", str(labelmap), "--output", str(tmp_path / "g.pb")]
    )
    assert code == 1
    assert not (tmp_path / "g.pb").exists()


def test_unknown_config_key_is_refused(tmp_path):
    from cnn_detector.training.retinanet.model import RetinaNetConfig

    with pytest.raises(ValueError, match="unknown model setting"):
        RetinaNetConfig.from_dict({"alpah": 0.5})
    with pytest.raises(ValueError, match="multiples of 32"):
        RetinaNetConfig.from_dict({"input_size": [100, 100]})
