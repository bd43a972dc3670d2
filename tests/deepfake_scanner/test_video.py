import cv2
import numpy as np
import pytest
from PIL import Image

from cnn_detector.errors import MediaError
from cnn_detector.registry import PROJECT_ROOT
from deepfake_scanner.video import VideoFrames, is_video

SAMPLE = PROJECT_ROOT / "samples" / "videos" / "real_hamilton.mp4"


def write_mp4(path, frames: int = 30, fps: float = 10.0, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), (i * 8) % 255, np.uint8)
        writer.write(frame)
    writer.release()
    return path


def test_samples_frames_at_fps(tmp_path):
    path = write_mp4(tmp_path / "clip.mp4", frames=30, fps=10.0)
    frames = list(VideoFrames(path, fps=2.0, max_frames=100))
    assert [f.index for f in frames] == [0, 5, 10, 15, 20, 25]
    assert frames[1].timestamp_ms == pytest.approx(500.0)
    assert frames[0].image.shape == (48, 64, 3)
    capped = list(VideoFrames(path, fps=10.0, max_frames=4))
    assert len(capped) == 4


def test_real_sample_video_decodes():
    reader = VideoFrames(SAMPLE, fps=1.0, max_frames=10)
    frames = list(reader)
    assert 4 <= len(frames) <= 7 and not reader.warning


def test_truncated_video_warns_or_fails_clearly(tmp_path):
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    reader = VideoFrames(cut, fps=2.0)
    try:
        frames = list(reader)
    except MediaError as err:
        assert "cut.mp4" in str(err)
    else:
        assert frames, "a half file either yields its frames or fails clearly"


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "file is empty"), (b"just some text, not a video" * 10, "not a readable video|no video frames")],
)
def test_bad_videos(tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=reason):
        list(VideoFrames(path))


def test_audio_only_file(tmp_path):
    # A WAV file renamed .mp4: a stream FFmpeg can open, with no video in it.
    import wave

    path = tmp_path / "audio.mp4"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\x00\x00" * 8000)
    with pytest.raises(MediaError, match="bad|not a readable video|no video frames"):
        list(VideoFrames(path))


def test_animated_gif_and_webp(tmp_path):
    frames = [Image.fromarray(np.full((20, 30, 3), v, np.uint8)) for v in (0, 80, 160, 240)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=250, loop=0)
    frames[0].save(tmp_path / "a.webp", save_all=True, append_images=frames[1:], duration=250, loop=0)
    frames[0].save(tmp_path / "still.webp")
    for name in ("a.gif", "a.webp"):
        assert is_video(tmp_path / name)
        decoded = list(VideoFrames(tmp_path / name, fps=2.0))
        assert [f.timestamp_ms for f in decoded] == [0.0, 500.0]
    assert not is_video(tmp_path / "still.webp")


def test_big_frames_are_scaled_down(tmp_path):
    path = write_mp4(tmp_path / "big.mp4", frames=3, fps=1.0, size=(3840, 2160))
    frames = list(VideoFrames(path, fps=1.0))
    assert max(frames[0].image.shape[:2]) == 1920
    with pytest.raises(MediaError, match="megapixels"):
        list(VideoFrames(path, max_pixels=1_000_000))


def test_long_video_budget_spreads_over_the_whole_video(tmp_path):
    path = write_mp4(tmp_path / "long.mp4", frames=100, fps=10.0)
    frames = list(VideoFrames(path, fps=2.0, max_frames=5))
    assert len(frames) == 5
    assert frames[-1].index >= 80, "the last sample must come from the end of the video"
