"""Audio spans decoded by FFmpeg (PyAV), on files written here with a known tone."""

import av
import numpy as np
import pytest

from cnn_detector.errors import MediaError
from deepfake_scanner.audio import AUDIO_RATE, open_audio

NATIVE = 44_100


def write_talking_video(path, seconds=3.0, tone=(1.0, 2.0), audio=True, image=None):
    """A 25 fps video of ``image`` (RGB, even sides; default grey 64x48) with, when ``audio``, a
    stereo 44.1 kHz track that is silent except for a 440 Hz tone (amplitude 0.5) from tone[0]
    to tone[1] seconds."""
    image = np.full((48, 64, 3), 100, np.uint8) if image is None else image
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
        sound = container.add_stream("aac", rate=NATIVE, layout="stereo") if audio else None
        for _ in range(int(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            t = np.arange(int(seconds * NATIVE)) / NATIVE
            wave = np.where((t >= tone[0]) & (t < tone[1]), 0.5 * np.sin(2 * np.pi * 440 * t), 0.0)
            samples = np.stack([wave, wave]).astype(np.float32)
            for start in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, start : start + 1024]), "fltp", "stereo"
                )
                chunk.sample_rate = NATIVE
                chunk.pts = start
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return path


def rms(x):
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def test_a_span_is_16k_mono_and_in_time(tmp_path):
    track = open_audio(write_talking_video(tmp_path / "v.mp4"))
    assert track.native_rate == NATIVE and track.channels == 2 and track.duration_s == pytest.approx(3.0, abs=0.1)
    whole = track.span(0.0, 3.0)
    assert whole.dtype == np.float32 and len(whole) == pytest.approx(3 * AUDIO_RATE, abs=AUDIO_RATE // 20)
    second = AUDIO_RATE
    assert rms(whole[: second - 800]) < 0.01  # silence, then the tone (aac smears its edges a little)
    tone = whole[second + 800 : 2 * second - 800]
    assert rms(tone) > 0.3  # FFmpeg's stereo-to-mono downmix keeps the tone's level (-3 dB a channel)
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.fft.rfftfreq(len(tone), 1 / AUDIO_RATE)[spectrum.argmax()] == pytest.approx(440, abs=3)  # in tune
    assert rms(whole[2 * second + 800 :]) < 0.01
    # a span from the middle equals the same samples of the whole, after a seek
    middle = track.span(1.5, 0.5)
    assert len(middle) == AUDIO_RATE // 2
    same = whole[int(1.5 * second) - 8 : int(2.0 * second) + 8]
    lag = int(np.argmax(np.correlate(same, middle, mode="valid"))) - 8
    assert abs(lag) <= 1  # within a sample (63 us) of where the whole track has them
    assert len(track.span(2.9, 1.0)) == pytest.approx(0.1 * AUDIO_RATE, abs=AUDIO_RATE // 20)  # the end
    with pytest.raises(ValueError):
        track.span(0.0, 0.0)


def test_no_audio_stream_is_no_track(tmp_path):
    assert open_audio(write_talking_video(tmp_path / "silent.mp4", audio=False)) is None


def test_what_is_not_media_is_a_media_error_naming_the_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"no media here" * 50)
    with pytest.raises(MediaError, match="bad.mp4"):
        open_audio(bad)
    with pytest.raises(MediaError, match="no such file"):
        open_audio(tmp_path / "missing.mp4")
