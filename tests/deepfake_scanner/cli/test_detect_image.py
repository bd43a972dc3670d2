"""detect_image.py end to end: real graphs, real files, CSV on stdout, one error line per bad file."""

import csv
import io

import numpy as np
import pytest
from PIL import Image

import detect_image
from deepfake_scanner.output.detections_csv import DETECTION_COLUMNS
from tests.conftest import red_square_image
from tests.deepfake_scanner.test_images import png_header_only
from tests.graphs import build_tf1_colour_graph


@pytest.fixture
def colour_detectors(tmp_path, make_detector, tf1_graph, tf2_graph):
    make_detector("colour_tf1", tf1_graph, min_score=0.3)
    make_detector("colour_tf2", tf2_graph, min_score=0.3)
    return tmp_path / "detectors"


def run(capsys, *argv):
    code = detect_image.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, list(csv.reader(io.StringIO(out))), err


def only(colour_detectors):
    return ["--detectors", colour_detectors, "--only-detectors", "colour_tf1,colour_tf2"]


def test_scans_folder_and_writes_schema(tmp_path, capsys, colour_detectors):
    photos = tmp_path / "photos dir"
    (photos / "nested").mkdir(parents=True)
    Image.fromarray(red_square_image()).save(photos / "nested" / "rouge été.png")
    Image.fromarray(np.full((50, 50, 3), 128, np.uint8)).save(photos / "grey.jpg")
    code, rows, err = run(capsys, "--input", photos, *only(colour_detectors))
    assert code == 0, err
    assert tuple(rows[0]) == DETECTION_COLUMNS
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert body and {r["detector"] for r in body} == {"colour_tf1", "colour_tf2"}
    assert all(r["source"].endswith("rouge été.png") and r["label"] == "red_patch" for r in body)
    assert all(r["width"] == "160" and r["height"] == "120" for r in body)
    assert all(0.3 <= float(r["score"]) <= 1 for r in body)
    assert "scanned 2 image(s)" in err


def test_min_score_filters(tmp_path, capsys, colour_detectors):
    # Not aligned with the detector's 8x8 grid: a few cells full, the rest partly red.
    Image.fromarray(red_square_image(120, 160, box=(20, 25, 70, 75))).save(tmp_path / "red.png")
    _, low, _ = run(capsys, "--input", tmp_path / "red.png", "--min-score", "0.05", *only(colour_detectors))
    _, high, _ = run(capsys, "--input", tmp_path / "red.png", "--min-score", "0.99", *only(colour_detectors))
    assert len(low) > len(high) > 1
    assert all(float(r[6]) >= 0.99 for r in high[1:])


def test_bad_inputs_are_reported_and_the_rest_scanned(tmp_path, capsys, colour_detectors):
    good = tmp_path / "good.png"
    Image.fromarray(red_square_image()).save(good)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    (tmp_path / "bomb.png").write_bytes(png_header_only(60000, 60000))
    buffer = io.BytesIO()
    Image.fromarray(red_square_image()).save(buffer, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[:200])
    missing = tmp_path / "missing.png"
    code, rows, err = run(capsys, "--input", tmp_path, missing, *only(colour_detectors))
    assert code == 2
    assert {r[0] for r in rows[1:]} == {str(good)}
    for name, reason in [
        ("empty.jpg", "file is empty"),
        ("text.jpg", "not a recognised image"),
        ("bomb.png", "decompression bomb"),
        ("cut.jpg", "truncated or corrupt"),
        ("missing.png", "no such file"),
    ]:
        lines = [line for line in err.splitlines() if name in line]
        assert len(lines) == 1 and reason in lines[0], (name, err)
    assert "scanned 1 image(s)" in err and "5 failed" in err


def test_usage_errors_exit_1(tmp_path, capsys, colour_detectors):
    assert detect_image.main(["--min-score", "2"]) == 1
    assert detect_image.main(["--no-such-flag"]) == 1
    code, _, err = run(capsys, "--input", tmp_path, "--detectors", colour_detectors, "--only-detectors", "colour_tf")
    assert code == 1 and "did you mean 'colour_tf" in err
    code, _, err = run(capsys, "--detectors", tmp_path / "no_such_folder")
    assert code == 1 and "does not exist" in err


def test_list_detectors_shows_skipped(capsys, colour_detectors):
    broken = colour_detectors / "broken"
    broken.mkdir()
    (broken / "detector.yaml").write_text("name: [")
    assert detect_image.main(["--detectors", str(colour_detectors), "--list-detectors"]) == 0
    out = capsys.readouterr().out
    assert "colour_tf1" in out and "full_frame" in out and str(colour_detectors) in out
    assert "skipped detector" in out and "not valid YAML" in out


def test_malicious_detector_is_skipped_others_run(tmp_path, capsys, make_detector, tf1_graph):
    marker = tmp_path / "pwned.txt"
    make_detector("evil", build_tf1_colour_graph(extra_op="WriteFile", extra_path=str(marker)))
    make_detector("colour", tf1_graph, min_score=0.3)
    Image.fromarray(red_square_image()).save(tmp_path / "red.png")
    code, rows, err = run(
        capsys,
        "--input",
        tmp_path / "red.png",
        "--detectors",
        tmp_path / "detectors",
        "--only-detectors",
        "evil,colour",
    )
    assert code == 0
    assert "skipped detector evil" in err and "WriteFile" in err
    assert {r[3] for r in rows[1:]} == {"colour"}
    assert not marker.exists()
