"""Faces followed across a video's sampled frames (one track per person), and short clips of
each track at the video's own frame rate: what clip and audio-visual detectors read (issue 22).

Tracking is greedy IoU matching between consecutive sampled frames: cheap, and enough at 2-5
frames a second for faces that do not cross each other. Clips are cut from every decoded frame
(``VideoFrames.every_frame``) in one pass, so memory holds only the clips being filled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from cnn_detector.types import Box, FrameDetections
from deepfake_scanner.crops import box_iou, crop, expand_box
from deepfake_scanner.video import VideoFrames

CLIP_LENGTH = 16  # frames at the video's rate (0.5-0.64 s at 25-30 fps)
CLIP_SIZE = 112  # pixels of the square face crop
CLIP_MARGIN = 0.15


@dataclass(frozen=True)
class TrackedFace:
    frame_index: int
    timestamp_ms: float
    box: Box


@dataclass(frozen=True)
class FaceTrack:
    """One person's face over the sampled frames, in time order."""

    track_id: int
    faces: tuple[TrackedFace, ...]

    @property
    def start_ms(self) -> float:
        return self.faces[0].timestamp_ms

    @property
    def end_ms(self) -> float:
        return self.faces[-1].timestamp_ms

    def box_at(self, frame_index: int) -> Box:
        """The box of the sampled frame nearest to ``frame_index``."""
        return min(self.faces, key=lambda f: abs(f.frame_index - frame_index)).box


@dataclass(frozen=True)
class Clip:
    """``length`` consecutive frames of one track, cropped square around its face: uint8
    [T, size, size, 3] RGB, from frame ``start_index`` on."""

    track_id: int
    start_index: int
    start_ms: float
    frames: np.ndarray
    box: Box  # the crop of the first frame, normalized in the frame: where the clip's boxes map


def track_faces(frames: Sequence[FrameDetections], min_iou: float = 0.3, max_gap: int = 2) -> list[FaceTrack]:
    """Tracks of the faces on ``frames`` (sorted here by frame index): each face joins the open
    track whose last box overlaps it most (IoU >= ``min_iou``), else starts a track; a track
    missing from more than ``max_gap`` sampled frames in a row is closed. Ids follow first
    appearance."""
    tracks: list[list[TrackedFace]] = []
    missing: list[int] = []
    for frame in sorted(frames, key=lambda f: f.frame_index):
        open_ids = [i for i, gap in enumerate(missing) if gap <= max_gap]
        pairs = sorted(
            ((box_iou(tracks[i][-1].box, face), i, k) for i in open_ids for k, face in enumerate(frame.faces)),
            reverse=True,
        )
        taken_tracks, taken_faces = set(), set()
        for iou, i, k in pairs:
            if iou < min_iou or i in taken_tracks or k in taken_faces:
                continue
            tracks[i].append(TrackedFace(frame.frame_index, frame.timestamp_ms, frame.faces[k]))
            taken_tracks.add(i)
            taken_faces.add(k)
        for i in range(len(tracks)):
            missing[i] = 0 if i in taken_tracks else missing[i] + 1
        for k, face in enumerate(frame.faces):
            if k not in taken_faces:
                tracks.append([TrackedFace(frame.frame_index, frame.timestamp_ms, face)])
                missing.append(0)
    return [FaceTrack(i, tuple(faces)) for i, faces in enumerate(tracks)]


def track_clips(
    video: VideoFrames,
    tracks: Sequence[FaceTrack],
    length: int = CLIP_LENGTH,
    size: int = CLIP_SIZE,
    margin: float = CLIP_MARGIN,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Iterator[Clip]:
    """One clip per track and sampled frame it was seen on: the ``length`` frames from that
    frame on, cropped around the track's box (the nearest sampled one). Clips come out as they
    fill; one cut short by the end of the video is dropped. ``transform``: applied to each whole
    frame a clip is cut from (an input defense)."""
    starts = {(t.track_id, f.frame_index): t for t in tracks for f in t.faces}
    filling: list[tuple[FaceTrack, int, float, Box, list[np.ndarray]]] = []
    for frame, _sampled in video.every_frame():
        height, width = frame.image.shape[:2]
        if transform is not None and (filling or any(k[1] == frame.index for k in starts)):
            frame = dataclasses.replace(frame, image=transform(frame.image))
        for key in [k for k in starts if k[1] == frame.index]:
            track = starts.pop(key)
            first = expand_box(track.box_at(frame.index), margin, (height, width))
            filling.append((track, frame.index, frame.timestamp_ms, first, []))
        done = []
        for entry in filling:
            track, crops = entry[0], entry[4]
            region = expand_box(track.box_at(frame.index), margin, (height, width))
            crops.append(cv2.resize(crop(frame.image, region), (size, size), interpolation=cv2.INTER_AREA))
            if len(crops) == length:
                done.append(entry)
        for entry in done:
            filling.remove(entry)
            track, start, start_ms, first, crops = entry
            yield Clip(track.track_id, start, start_ms, np.stack(crops), first)
