"""The audio of a video, decoded with FFmpeg (PyAV) as 16 kHz mono float32: for detectors that
compare a mouth with its sound (issue 22).

Audio is read span by span (`AudioTrack.span`), never whole: a two-hour video costs the memory
of the span asked for. A video without an audio stream has no track (``open_audio`` gives
None); a track that cannot be decoded is a `MediaError` naming the file, so the caller can warn
and judge the video from its frames alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.errors import MediaError
from deepfake_scanner.images import check_readable_file

AUDIO_RATE = 16_000
MAX_SPAN_SECONDS = 600.0  # one call decodes at most ten minutes (38 MB of float32)
PRE_ROLL_S = 0.25


@dataclass(frozen=True)
class AudioTrack:
    """The first audio stream of ``path``: its native rate and channels, and its duration in
    seconds (0.0 when the container does not say)."""

    path: Path
    native_rate: int
    channels: int
    duration_s: float

    def span(self, start_s: float, seconds: float, rate: int = AUDIO_RATE) -> np.ndarray:
        """``seconds`` of audio from ``start_s`` on, mono float32 at ``rate`` in [-1, 1]; shorter
        at the end of the track (zero length past it). MediaError when the stream breaks."""
        if start_s < 0 or not 0 < seconds <= MAX_SPAN_SECONDS:
            raise ValueError(f"a span starts at >= 0 s and lasts (0, {MAX_SPAN_SECONDS:g}] s, got {start_s}, {seconds}")
        import av

        wanted = int(round(seconds * rate))
        first = int(round(start_s * rate))
        out = np.zeros(wanted, np.float32)
        filled = 0
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.audio[0]
                if start_s > PRE_ROLL_S:  # the resampler settles in the pre-roll, which is dropped
                    container.seek(int((start_s - PRE_ROLL_S) / stream.time_base), stream=stream, backward=True)
                resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
                position = None  # sample index (at ``rate``) of the next resampled sample
                for frame in _frames(container, stream, resampler):
                    samples = frame.to_ndarray().reshape(-1)
                    if position is None:
                        position = int(round(float(frame.pts * frame.time_base) * rate)) if frame.pts is not None else 0
                    begin, end = position, position + len(samples)
                    position = end
                    if end <= first + filled:
                        continue
                    take = samples[max(0, first + filled - begin) :]
                    take = take[: wanted - filled]
                    out[filled : filled + len(take)] = take
                    filled += len(take)
                    if filled >= wanted:
                        break
        except av.error.FFmpegError as err:
            raise MediaError(f"{self.path}: the audio track cannot be decoded ({err})") from None
        return np.clip(out[:filled], -1.0, 1.0)


def _frames(container, stream, resampler):
    for frame in container.decode(stream):
        yield from resampler.resample(frame)
    yield from resampler.resample(None)


def open_audio(path: Path | str) -> AudioTrack | None:
    """The audio track of a video, or None when it has none. MediaError when the file cannot be
    opened as media at all."""
    import av

    path = Path(path)
    check_readable_file(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            context = stream.codec_context
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = 0.0
            rate = int(context.sample_rate or stream.rate or 0)
            if rate <= 0:
                raise MediaError(f"{path}: the audio track has no sample rate")
            return AudioTrack(path, rate, int(context.channels or 1), max(0.0, duration))
    except av.error.FFmpegError as err:
        raise MediaError(f"{path}: not readable as media ({err})") from None
