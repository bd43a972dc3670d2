import pytest

from cnn_detector.errors import DuplicateDetectorError, UnknownDetectorError
from cnn_detector.registry import DETECTORS_ENV, discover_detectors


def test_discovers_valid_and_reports_invalid(tmp_path, make_detector, tf1_graph):
    root = tmp_path / "detectors"
    make_detector("red_one", tf1_graph)
    make_detector("wrong_sha", tf1_graph, sha256="0" * 64)  # checked at load time, not discovery
    broken = root / "broken"
    broken.mkdir()
    (broken / "detector.yaml").write_text("name: broken\ninput: face\n")
    (root / "empty_dir").mkdir()
    (root / "README.md").write_text("not a detector")
    scan = discover_detectors([root], include_default=False)
    assert sorted(scan.specs) == ["red_one", "wrong_sha"]
    reasons = {p.directory.name: p.reason for p in scan.problems}
    assert set(reasons) == {"broken", "empty_dir"}
    assert "missing required field" in reasons["broken"]
    assert "no detector.yaml" in reasons["empty_dir"]


def test_duplicate_name_names_both_paths(tmp_path, make_detector, tf1_graph):
    first = make_detector("dup", tf1_graph, root=tmp_path / "a")
    second = make_detector("other_dir", tf1_graph, root=tmp_path / "b", name="dup")
    with pytest.raises(DuplicateDetectorError) as err:
        discover_detectors([tmp_path / "a", tmp_path / "b"], include_default=False)
    assert str(first) in str(err.value) and str(second) in str(err.value)


def test_root_may_be_one_detector_and_env_adds_roots(tmp_path, make_detector, tf1_graph, monkeypatch):
    single = make_detector("single", tf1_graph, root=tmp_path / "x")
    make_detector("from_env", tf1_graph, root=tmp_path / "env")
    monkeypatch.setenv(DETECTORS_ENV, str(tmp_path / "env"))
    scan = discover_detectors([single], include_default=False)
    assert sorted(scan.specs) == ["from_env", "single"]


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(Exception, match="does not exist"):
        discover_detectors([tmp_path / "nope"], include_default=False)


def test_labelmap_may_not_escape(tmp_path, make_detector, tf1_graph):
    (tmp_path / "secret.pbtxt").write_text("item { id: 1 name: 'x' }")
    make_detector("escapes", tf1_graph, labelmap="../../secret.pbtxt")
    scan = discover_detectors([tmp_path / "detectors"], include_default=False)
    assert not scan.specs
    assert "points outside" in scan.problems[0].reason


def test_shared_labelmaps_dir_beside_root(tmp_path, make_detector, tf1_graph):
    (tmp_path / "labelmaps").mkdir()
    (tmp_path / "labelmaps" / "shared.pbtxt").write_text("item { id: 1 name: 'red' }\nitem { id: 2 name: 'blue' }\n")
    make_detector("uses_shared", tf1_graph, labelmap="../../labelmaps/shared.pbtxt")
    scan = discover_detectors([tmp_path / "detectors"], include_default=False)
    assert scan.get("uses_shared").labelmap.name_of(2) == "blue"


def test_select_and_did_you_mean(tmp_path, make_detector, tf1_graph):
    make_detector("gan_face", tf1_graph)
    make_detector("blend_boundary", tf1_graph)
    scan = discover_detectors([tmp_path / "detectors"], include_default=False)
    assert [s.name for s in scan.select()] == ["blend_boundary", "gan_face"]
    assert [s.name for s in scan.select(skip=["gan_face"])] == ["blend_boundary"]
    assert [s.name for s in scan.select(only=["gan_face"])] == ["gan_face"]
    with pytest.raises(UnknownDetectorError, match="did you mean 'gan_face'"):
        scan.select(only=["gan_fase"])


def test_select_names_each_detector_once(tmp_path, make_detector, tf1_graph):
    make_detector("gan_face", tf1_graph)
    scan = discover_detectors([tmp_path / "detectors"], include_default=False)
    assert [s.name for s in scan.select(only=["gan_face", "gan_face"])] == ["gan_face"]
