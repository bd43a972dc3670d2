#!/usr/bin/env python3
"""What reading a video costs before any detector runs: decoding the frames a scan samples
(the baseline), every frame (what clip detectors and detect_video need), face-track clips, and
the audio track at 16 kHz mono. Ratios are against the sampled-frames decode in the same run.

    python bench/bench_media.py                              # the share's real videos (with audio)
    python bench/bench_media.py --videos clip.mp4 other.mov --fps 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deepfake_scanner.audio import open_audio
from deepfake_scanner.cli.common import setup_logging
from deepfake_scanner.defaults import FPS, MAX_FRAMES, SHARE_DIR
from deepfake_scanner.tracks import FaceTrack, TrackedFace, track_clips
from deepfake_scanner.video import VideoFrames

CHUNK_S = 30.0


def timed(work) -> tuple[float, int]:
    started = time.perf_counter()
    count = work()
    return time.perf_counter() - started, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", nargs="+", type=Path, help="default: ../shared/data/videos/real")
    parser.add_argument("--fps", type=float, default=FPS)
    args = parser.parse_args(argv)
    setup_logging()
    videos = args.videos or sorted((SHARE_DIR / "videos" / "real").rglob("*.mp4"))
    if not videos:
        print("no videos: pass --videos", file=sys.stderr)
        return 1
    # one fixed face box per video (a centred face): the clip cost without the face finder's
    track = FaceTrack(0, tuple(TrackedFace(i, 0.0, (0.2, 0.3, 0.7, 0.7)) for i in range(0, 100_000, 12)))

    def sampled():
        return sum(1 for v in videos for _ in VideoFrames(v, fps=args.fps, max_frames=MAX_FRAMES))

    def every():
        return sum(1 for v in videos for _ in VideoFrames(v, fps=args.fps).every_frame())

    def clips():
        return sum(1 for v in videos for _ in track_clips(VideoFrames(v, fps=args.fps, max_frames=10_000), [track]))

    def audio():
        seconds = 0.0
        for v in videos:
            sound = open_audio(v)
            start = 0.0
            while sound is not None and start < sound.duration_s:
                seconds += len(sound.span(start, CHUNK_S)) / 16_000
                start += CHUNK_S
        return round(seconds)

    base, frames = timed(sampled)
    rows = [("sampled frames (the scan)", base, frames, "frames")]
    for name, work, unit in (
        ("every frame", every, "frames"),
        ("face-track clips (16 x 112 px)", clips, "clips"),
        ("audio, 16 kHz mono", audio, "s of audio"),
    ):
        seconds, count = timed(work)
        rows.append((name, seconds, count, unit))
    print(f"{len(videos)} videos")
    for name, seconds, count, unit in rows:
        print(f"{name:32s} {seconds:7.2f} s  {count:6d} {unit:10s} x{seconds / base:5.2f} of the sampled decode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
