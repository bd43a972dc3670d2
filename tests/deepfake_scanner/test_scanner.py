"""The library facade: Scanner.open() and its scan_* calls."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from cnn_detector.registry import DETECTORS_ENV
from deepfake_scanner import Scanner, ScanOptions, ScanResult
from deepfake_scanner.scanner import ScannerError
from tests.conftest import red_square_image

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture
def colour_scanner(tmp_path, make_detector, tf1_graph, random_judge_dir):
    make_detector("colour", tf1_graph, min_score=0.3)
    options = ScanOptions(faces=False)
    with Scanner.open([tmp_path / "detectors"], random_judge_dir, options, include_shipped=False) as scanner:
        yield scanner


def test_scan_image_and_frames_find_the_patch(colour_scanner):
    result = colour_scanner.scan_image(red_square_image(), source="mem")
    assert isinstance(result, ScanResult) and result.ok and result.source == "mem"
    [frame] = result.frames
    assert frame.detections and {d.label for d in frame.detections} == {"red_patch"}
    assert result.verdict.status == "no_face"  # no face stage: nothing for the judge
    frames = colour_scanner.scan_frames("clip", [red_square_image(), np.zeros((120, 160, 3), np.uint8)])
    assert [f.frame_index for f in frames.frames] == [0, 1]
    assert [f.timestamp_ms for f in frames.frames] == [0.0, 500.0]  # numbered at options.fps (2)
    assert [bool(f.detections) for f in frames.frames] == [True, False]


def test_bad_frames_and_files_are_results_with_an_error(colour_scanner, tmp_path):
    bad = colour_scanner.scan_frames("clip", [np.zeros((4, 4), np.uint8)])
    assert not bad.ok and "clip: frame 0 must be an RGB uint8 array" in bad.error
    assert bad.verdict.status == "error"
    assert colour_scanner.scan_frames("none", []).error == "none: no frames given"
    from deepfake_scanner.video import VideoFrame

    flat = colour_scanner.scan_frames("clip", [VideoFrame(3, 1.0, np.zeros((4, 4), np.uint8))])
    assert "clip: frame 0 must be an RGB uint8 array" in flat.error
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    result = colour_scanner.scan_file(tmp_path / "broken.jpg")
    assert not result.ok and str(tmp_path / "broken.jpg") in result.error and result.frames == ()


def test_scan_many_streams_in_order_threaded_or_not(colour_scanner, tmp_path):
    import cv2

    paths = []
    for k in range(4):
        path = tmp_path / f"img{k}.png"
        image = red_square_image() if k % 2 == 0 else np.full((120, 160, 3), 128, np.uint8)
        cv2.imwrite(str(path), image[:, :, ::-1])
        paths.append(path)
    paths.insert(2, tmp_path / "missing.jpg")
    threaded = list(colour_scanner.scan_many(paths))
    assert [r.source for r in threaded] == [str(p) for p in paths]
    assert [bool(r.frames[0].detections) if r.frames else None for r in threaded] == [True, False, None, True, False]
    assert "no such file" in threaded[2].error
    sequential = Scanner(colour_scanner.detectors, colour_scanner.judge, ScanOptions(faces=False, threads=False))
    assert list(sequential.scan_many(paths)) == threaded
    stop = threading.Event()
    stop.set()
    assert list(sequential.scan_many(paths, stop)) == []


def test_without_a_judge_results_carry_detections_only(tmp_path, make_detector, tf1_graph):
    make_detector("colour", tf1_graph, min_score=0.3)
    options = ScanOptions(faces=False, min_score=0.05)
    with Scanner.open([tmp_path / "detectors"], None, options, include_shipped=False) as scanner:
        assert scanner.judge is None
        result = scanner.scan_image(red_square_image())
        assert result.verdict is None and result.ok and result.frames[0].detections
        with pytest.raises(ScannerError, match="no judge"):
            scanner.judge_frames("x", result.frames)


def test_open_reads_no_environment_and_names_what_is_wrong(tmp_path, make_detector, tf1_graph, monkeypatch):
    make_detector("colour", tf1_graph)
    monkeypatch.setenv(DETECTORS_ENV, str(tmp_path / "detectors"))
    with pytest.raises(ScannerError, match="no usable detector"):
        Scanner.open(judge_dir=None, include_shipped=False)  # the variable is the CLIs' business
    with pytest.raises(ScannerError, match="does not exist"):
        Scanner.open([tmp_path / "nowhere"], None)
    with pytest.raises(ScannerError, match="unknown detector 'colr'"):
        Scanner.open([tmp_path / "detectors"], None, ScanOptions(only=("colr",)), include_shipped=False)
    broken = tmp_path / "detectors" / "broken"
    broken.mkdir()
    (broken / "detector.yaml").write_text("name: [\n")
    with Scanner.open([tmp_path / "detectors"], None, include_shipped=False) as scanner:
        assert scanner.detector_names == ("colour",)
        assert any("broken" in p for p in scanner.problems)
    with pytest.raises(ScannerError, match="no usable detector") as refused:  # only the broken one left
        Scanner.open([tmp_path / "detectors"], None, ScanOptions(skip=("colour",)), include_shipped=False)
    assert any("broken" in p for p in refused.value.problems)  # and why it was left out


@pytest.mark.slow
def test_library_verdicts_equal_main_thread_on_the_samples():
    """The README's library example gives main_thread.py's verdicts (tests/golden/verdicts.csv)."""
    from deepfake_scanner.images import IMAGE_EXTENSIONS, iter_input_files
    from deepfake_scanner.output.verdicts import verdict_line
    from deepfake_scanner.video import VIDEO_EXTENSIONS

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        paths = [i.path for i in iter_input_files([Path("samples")], IMAGE_EXTENSIONS | VIDEO_EXTENSIONS)]
        with Scanner.open() as scanner:
            lines = [verdict_line(r.verdict, jsonl=False) for r in scanner.scan_many(paths)]
            one = scanner.scan_file("samples/fake_self_blend_img16.jpg")
    finally:
        os.chdir(cwd)
    golden = (GOLDEN / "verdicts.csv").read_text(encoding="utf-8").splitlines(keepends=True)[1:]
    assert sorted(lines) == sorted(golden)
    assert verdict_line(one.verdict, jsonl=False) in golden


@pytest.mark.slow
def test_the_readme_library_example_prints_main_threads_verdict():
    """The README's first python block, run as a user would, prints the verdict main_thread.py
    gives the same file (tests/golden/verdicts.csv)."""
    import contextlib
    import csv
    import io
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## Using it as a library.*?```python\n(.*?)```", readme, re.S).group(1)
    path = re.search(r'scan_file\("([^"]+)"\)', code).group(1)
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    first = out.getvalue().splitlines()[0]
    [row] = [r for r in csv.DictReader(open(GOLDEN / "verdicts.csv", encoding="utf-8")) if r["source"] == path]
    assert first == f"{row['status']} {row['is_fake'].capitalize()} {row['fake_probability']}"
    assert f"`{first}`" in readme.replace("\n", " ")  # and the README says so
