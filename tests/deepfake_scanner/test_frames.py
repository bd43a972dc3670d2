"""The one frame reader: stills, videos and the sampler every user of media shares."""

import cv2
import numpy as np
import pytest

from cnn_detector.errors import MediaError
from deepfake_scanner.defaults import FPS, MAX_FRAMES
from deepfake_scanner.frames import Sampling, read_frames, sample_video
from deepfake_scanner.video import VideoFrames


def write_video(path, frames: int, fps: float = 10.0, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        image = np.full((size[1], size[0], 3), i % 256, np.uint8)
        writer.write(image)
    writer.release()
    return path


def test_defaults_come_from_one_place():
    assert Sampling() == Sampling(FPS, MAX_FRAMES)
    assert VideoFrames("x.mp4").fps == FPS and VideoFrames("x.mp4").max_frames == MAX_FRAMES


def test_sampling_rejects_nonsense():
    with pytest.raises(ValueError):
        Sampling(fps=0)
    with pytest.raises(ValueError):
        Sampling(max_frames=0)


def test_a_still_is_one_frame(tmp_path):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((30, 40, 3), np.uint8))
    media = read_frames(path)
    frames = list(media)
    assert [(f.index, f.timestamp_ms, f.image.shape) for f in frames] == [(0, 0.0, (30, 40, 3))]
    assert media.warning == ""


def test_a_video_is_sampled_at_fps_and_spread_when_long(tmp_path):
    video = write_video(tmp_path / "v.mp4", 40)  # 4 s at 10 fps
    assert [f.index for f in read_frames(video, Sampling(fps=2.0))] == [0, 5, 10, 15, 20, 25, 30, 35]
    # a budget of 4 frames is spread over the whole video, not its first 2 seconds
    assert [f.index for f in read_frames(video, Sampling(fps=2.0, max_frames=4))] == [0, 10, 20, 30]
    assert [f.index for f in sample_video(video, 4)] == [0, 10, 20, 30]


def test_every_frame_marks_what_the_sampler_picks(tmp_path):
    video = write_video(tmp_path / "v.mp4", 12)
    every = list(VideoFrames(video, fps=5.0, max_frames=100).every_frame())
    assert [f.index for f, _ in every] == list(range(12))
    picked = [f.index for f, sampled in every if sampled]
    assert picked == [f.index for f in VideoFrames(video, fps=5.0, max_frames=100)] == [0, 2, 4, 6, 8, 10]


def test_unreadable_media_is_a_media_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 10)
    with pytest.raises(MediaError, match="bad.mp4"):
        list(read_frames(bad))
