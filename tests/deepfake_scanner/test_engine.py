"""The threaded engine against the plain sequential path, on real graphs and real files."""

import threading

import pytest
from PIL import Image

from cnn_detector.frozen_graph import load_detector
from cnn_detector.registry import PROJECT_ROOT, discover_detectors
from deepfake_scanner.engine import EngineOptions, ScanEngine
from deepfake_scanner.faces import FaceFinder
from rnn_judge.judge import Judge
from tests.conftest import red_square_image

SAMPLES = PROJECT_ROOT / "samples"


@pytest.fixture(scope="module")
def engine(tmp_path_factory, random_judge_dir):
    from cnn_detector.detector_dir import write_detector_directory
    from tests.graphs import build_tf1_colour_graph, build_tf2_colour_graph

    root = tmp_path_factory.mktemp("detectors")
    classes = [(1, "red_patch", "Red patch")]
    write_detector_directory(root / "red_full", build_tf1_colour_graph(), classes, min_score=0.3)
    write_detector_directory(root / "red_face", build_tf2_colour_graph(), classes, min_score=0.3, input="face_crop")
    scan = discover_detectors([root], include_default=False)
    detectors = [load_detector(spec) for spec in scan.select()]
    return ScanEngine(detectors, FaceFinder(), Judge.load(random_judge_dir), EngineOptions(fps=2, max_frames=6))


def test_threaded_equals_sequential(engine, tmp_path):
    Image.fromarray(red_square_image()).save(tmp_path / "red.png")
    (tmp_path / "broken.jpg").write_bytes(b"nope")
    paths = [
        SAMPLES / "videos" / "real_hamilton.mp4",
        SAMPLES / "real_img16.jpg",
        tmp_path / "red.png",
        tmp_path / "broken.jpg",
        tmp_path / "missing.mp4",
        SAMPLES / "fake_face_swap_img28_johnsnow.jpg",
    ]
    threaded = list(engine.scan(paths))
    sequential = [engine.scan_file(p) for p in paths]
    assert [r.source for r in threaded] == [str(p) for p in paths]
    for a, b in zip(threaded, sequential):
        assert a.verdict == b.verdict
        assert [f.detections for f in a.frames] == [f.detections for f in b.frames]
    statuses = [r.verdict.status for r in threaded]
    assert statuses == ["ok", "ok", "no_face", "error", "error", "ok"]
    assert "not a recognised image" in threaded[3].verdict.error
    assert "no such file" in threaded[4].verdict.error
    video = threaded[0]
    assert 6 >= len(video.frames) >= 5 and [f.frame_index for f in video.frames] == sorted(
        f.frame_index for f in video.frames
    )
    # the red square (no face) is still boxed by the full-frame detector
    assert {d.detector for f in threaded[2].frames for d in f.detections} == {"red_full"}


def test_stop_ends_threads(engine):
    stop = threading.Event()
    results = engine.scan([SAMPLES / "videos" / "real_hamilton.mp4"] * 20, stop)
    first = next(results)
    assert first.verdict.status == "ok"
    results.close()
    assert stop.is_set()
    assert not [t for t in threading.enumerate() if t.name in ("reader", "faces") or t.name.startswith("detector-")]


def test_failing_detector_makes_an_error_not_a_real_verdict(engine, monkeypatch):
    broken = engine.detectors[0]

    def explode(*args, **kwargs):
        raise RuntimeError("graph exploded")

    monkeypatch.setattr(broken, "detect", explode)
    threaded = list(engine.scan([SAMPLES / "real_img16.jpg"]))
    sequential = engine.scan_file(SAMPLES / "real_img16.jpg")
    for result in (threaded[0], sequential):
        assert result.verdict.status == "error"
        assert "graph exploded" in result.verdict.error


def test_duplicate_detector_names_are_refused(engine):
    with pytest.raises(ValueError, match="unique"):
        ScanEngine([engine.detectors[0], engine.detectors[0]], engine.face_finder, engine.judge)


def test_judge_score_scale():
    from deepfake_scanner.engine import judge_score

    assert judge_score(0.3, 0.3, None) == 0.0
    assert judge_score(1.0, 0.3, None) == pytest.approx(1.0)
    assert judge_score(0.6, 0.4, 0.6) == pytest.approx(0.5)
    assert judge_score(0.9, 0.4, 0.6) == 1.0
    # a typical fake score at or below min_score: any detection above min_score is strong evidence
    assert judge_score(0.14, 0.12, 0.11) == pytest.approx(0.5)
