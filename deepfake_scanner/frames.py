"""The one frame reader: any image or video file -> the frames the scanner analyses.

A still is one frame; a video (or animated GIF / WebP) is sampled at ``Sampling.fps`` frames
per second of media time, at most ``Sampling.max_frames``, spread over the whole video when
it is longer. Scanning, detect_video's annotation, the judge's training data, the fake
factory, calibration and the benches all read media through here, so they see the same
frames the same way (frames above 1920 px scaled down once).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deepfake_scanner.defaults import FPS, MAX_FRAMES
from deepfake_scanner.images import DEFAULT_MAX_PIXELS, read_image
from deepfake_scanner.video import VideoFrame, VideoFrames, fit_for_processing, is_video


@dataclass(frozen=True)
class Sampling:
    """fps / max_frames: frames sampled from a video; max_pixels: the largest still accepted
    (video frames have their own limit, `deepfake_scanner.video.DEFAULT_MAX_FRAME_PIXELS`)."""

    fps: float = FPS
    max_frames: int = MAX_FRAMES
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if not self.fps > 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if self.max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {self.max_frames}")


class StillFrames:
    """One still as a one-frame source (same interface as VideoFrames: iterate, then ``warning``)."""

    def __init__(self, path: Path, max_pixels: int):
        self.path = Path(path)
        self.max_pixels = max_pixels
        self.warning = ""

    def __iter__(self) -> Iterator[VideoFrame]:
        yield VideoFrame(0, 0.0, fit_for_processing(read_image(self.path, self.max_pixels)))


def read_frames(path: Path | str, sampling: Sampling = Sampling()) -> VideoFrames | StillFrames:
    """The frames of ``path`` as the scanner samples them: iterate for `VideoFrame`s (a
    `MediaError` names the file and what was wrong), then read ``.warning`` (set when a
    stream broke part-way and only the frames before the break were read)."""
    path = Path(path)
    if is_video(path):
        return VideoFrames(path, fps=sampling.fps, max_frames=sampling.max_frames)
    return StillFrames(path, sampling.max_pixels)


def sample_video(path: Path | str, frames: int, fps: float = FPS) -> list[VideoFrame]:
    """At most ``frames`` frames of a video, sampled like a scan with that frame budget."""
    return list(VideoFrames(Path(path), fps=fps, max_frames=frames))
