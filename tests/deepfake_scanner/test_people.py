"""Per-person verdicts: each face track judged on its own face and the detections on it, and the
person who drove a fake video named, with when they are seen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnn_detector.types import Detection, FrameDetections, Verdict
from deepfake_scanner.output.people import PERSON_COLUMNS, person_record
from deepfake_scanner.people import judge_people, person_frames
from deepfake_scanner.tracks import track_faces

ROOT = Path(__file__).resolve().parents[2]
LEFT = (0.2, 0.1, 0.5, 0.3)
RIGHT = (0.2, 0.6, 0.5, 0.8)


def on(box, score, name="d"):
    inner = (box[0] + 0.05, box[1] + 0.05, box[2] - 0.05, box[3] - 0.05)
    return Detection(inner, score, 1, "swap", name)


def frame(index, detections=(), faces=(LEFT, RIGHT)):
    return FrameDetections("v.mp4", index, index * 500.0, (240, 320), faces, tuple(detections))


def test_a_person_keeps_only_their_face_and_the_detections_on_it():
    frames = [frame(i, [on(RIGHT, 0.9), on(LEFT, 0.2)]) for i in range(3)] + [frame(3, faces=(LEFT,))]
    left, right = track_faces(frames)
    mine = person_frames(frames, right)
    assert [f.frame_index for f in mine] == [0, 1, 2]  # not seen on frame 3
    assert all(f.faces == (RIGHT,) and [d.score for d in f.detections] == [0.9] for f in mine)
    assert [d.score for f in person_frames(frames, left) for d in f.detections] == [0.2] * 3


def test_people_are_judged_apart_and_the_likeliest_fake_comes_first():
    """The judge here is the largest detection score (the real judge is in the test below):
    what is checked is which detections each person's judgement sees."""

    def judge(source, frames):
        top = max((d.score for f in frames for d in f.detections), default=0.0)
        return Verdict(source, "ok", top >= 0.5, top, 0.5, "swap" if top >= 0.5 else "", len(frames))

    frames = [frame(i, [on(RIGHT, 0.9), on(LEFT, 0.2)], faces=(LEFT, RIGHT) if i else (LEFT,)) for i in range(4)]
    fake, real = judge_people("v.mp4", frames, judge)
    assert (fake.person, fake.is_fake, fake.fake_probability, fake.likely_algorithm) == (1, True, 0.9, "swap")
    assert (fake.start_ms, fake.end_ms, fake.frames_used) == (500.0, 1500.0, 3)
    assert (real.person, real.is_fake, real.fake_probability) == (0, False, 0.2)
    assert set(person_record("v.mp4", fake)) == set(PERSON_COLUMNS)


@pytest.mark.slow
def test_the_swapped_person_of_the_sample_video_scores_above_everyone_in_the_real_one(tmp_path):
    """The bundled face-swap video (one of the people swapped) against the same clip unswapped,
    through the shipped detectors and judge and main_thread.py --people."""
    import csv

    from deepfake_scanner.cli import main_thread

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        people = tmp_path / "people.csv"
        args = [
            "--input",
            "samples/videos",
            "--people",
            str(people),
            "--no-progress",
            "--output",
            str(tmp_path / "v.csv"),
        ]
        assert main_thread.main(args) == 0
    finally:
        os.chdir(cwd)
    with open(people, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and list(rows[0]) == list(PERSON_COLUMNS)
    top = {}
    for row in rows:
        top.setdefault(row["source"], row)  # most likely fake first, per file
        assert float(row["start_s"]) <= float(row["end_s"])
    swapped, real = top["samples/videos/fake_face_swap_hamilton.mp4"], top["samples/videos/real_hamilton.mp4"]
    assert float(swapped["fake_probability"]) > float(real["fake_probability"]) + 0.2


def test_people_file_needs_a_known_suffix_and_no_resume(tmp_path, capsys):
    from deepfake_scanner.cli import main_thread
    from deepfake_scanner.cli.common import EXIT_USAGE

    assert main_thread.main(["--input", "samples", "--people", str(tmp_path / "p.txt")]) == EXIT_USAGE
    assert "--people must end in .csv or .jsonl" in capsys.readouterr().err
    args = ["--people", str(tmp_path / "p.csv"), "--output", str(tmp_path / "o.csv"), "--resume"]
    assert main_thread.main(args) == EXIT_USAGE
    assert "--people cannot be resumed" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_a_stopped_scan_leaves_an_earlier_people_file_as_it_was(tmp_path):
    from deepfake_scanner.cli.main_thread import finish_people
    from deepfake_scanner.output.people import PeopleWriter

    path = tmp_path / "people.csv"
    path.write_text("earlier\n")
    writer = PeopleWriter(path)
    assert finish_people(writer, path, complete=False) is None
    assert path.read_text() == "earlier\n" and [p.name for p in tmp_path.iterdir()] == ["people.csv"]
    writer = PeopleWriter(path)
    assert finish_people(writer, path, complete=True) is None
    assert path.read_text().startswith("source,person,")
