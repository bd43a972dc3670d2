"""Per-person verdicts of a video (issue 22, part 6): the faces followed across its sampled
frames (`tracks.track_faces`), and the judge run once per person on that person's face and
the detections on it. A video where one of two people is swapped is told apart from one where
nobody is, and the person who drove a verdict is named with the span of time they are seen.

The video's own verdict is left as the judge gives it on all frames (its threshold was chosen
for that); the people are evidence beside it, in the same way as `likely_algorithm`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cnn_detector.types import Box, FrameDetections, Verdict
from deepfake_scanner.crops import box_area, expand_box
from deepfake_scanner.tracks import FaceTrack, track_faces

PERSON_MARGIN = 0.3  # a detection belongs to a person when it lies mostly inside the face box grown by this


@dataclass(frozen=True)
class PersonVerdict:
    """The judge's decision on one person (face track) of a video."""

    person: int  # the track's id: people are numbered in order of first appearance, from 0
    start_ms: float
    end_ms: float
    frames_used: int
    is_fake: bool
    fake_probability: float
    threshold: float
    likely_algorithm: str


def _inside(box: Box, region: Box) -> float:
    """Share of ``box``'s area inside ``region``."""
    y0, x0 = max(box[0], region[0]), max(box[1], region[1])
    y1, x1 = min(box[2], region[2]), min(box[3], region[3])
    area = box_area(box)
    return max(0.0, y1 - y0) * max(0.0, x1 - x0) / area if area > 0 else 0.0


def person_frames(frames: Sequence[FrameDetections], track: FaceTrack) -> list[FrameDetections]:
    """The frames ``track`` is seen on, each with only that face and the detections lying
    mostly (half or more) inside it, grown by PERSON_MARGIN."""
    boxes = {face.frame_index: face.box for face in track.faces}
    out = []
    for frame in frames:
        box = boxes.get(frame.frame_index)
        if box is None:
            continue
        region = expand_box(box, PERSON_MARGIN, frame.image_size)
        kept = tuple(d for d in frame.detections if _inside(d.box, region) >= 0.5)
        out.append(dataclasses.replace(frame, faces=(box,), detections=kept))
    return out


def judge_people(
    source: str, frames: Sequence[FrameDetections], judge_frames: Callable[[str, list[FrameDetections]], Verdict]
) -> tuple[PersonVerdict, ...]:
    """One verdict per person seen on ``frames`` (a video's analysed frames, with every
    detection), by ``judge_frames`` (the Scanner's), most likely fake first."""
    people = []
    for track in track_faces(frames):
        verdict = judge_frames(source, person_frames(frames, track))
        if verdict.status != "ok":
            continue
        people.append(
            PersonVerdict(
                track.track_id,
                track.start_ms,
                track.end_ms,
                verdict.frames_used,
                bool(verdict.is_fake),
                float(verdict.fake_probability),
                float(verdict.threshold),
                verdict.likely_algorithm,
            )
        )
    return tuple(sorted(people, key=lambda p: (-p.fake_probability, p.person)))
