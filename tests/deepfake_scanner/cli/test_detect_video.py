import csv

import cv2

import detect_video
from cnn_detector.registry import PROJECT_ROOT

VIDEO = PROJECT_ROOT / "samples" / "videos" / "real_hamilton.mp4"


def frame_count(path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_annotated_video_plays_back(tmp_path, colour_detector_args):
    output, detections = tmp_path / "out.mp4", tmp_path / "d.csv"
    code = detect_video.main(
        ["--input", str(VIDEO), "--output", str(output), "--detections", str(detections), "--fps", "2"]
        + colour_detector_args
    )
    assert code == 0
    assert frame_count(output) == frame_count(VIDEO)
    rows = list(csv.DictReader(open(detections)))
    assert all(r["source"] == str(VIDEO) for r in rows)


def test_bad_video_fails_cleanly(tmp_path, make_detector, tf1_graph, random_judge_dir):
    make_detector("colour", tf1_graph)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage" * 100)
    code = detect_video.main(
        [
            "--input",
            str(bad),
            "--output",
            str(tmp_path / "o.mp4"),
            "--detectors",
            str(tmp_path / "detectors"),
            "--only-detectors",
            "colour",
            "--judge",
            str(random_judge_dir),
        ]
    )
    assert code == 2
    assert not (tmp_path / "o.mp4").exists() and not list(tmp_path.glob(".*"))
