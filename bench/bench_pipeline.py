#!/usr/bin/env python3
"""The same frames through the threaded engine and through a plain sequential loop (the shipped
frame detectors): frames per second of each and their ratio, with decode-only as the ceiling;
the threaded engine again with the shipped clip detector (temporal_face) added, and with a
trivial one instead (cnn_detector.flicker_clip, so that row measures the clip stage around a
detector: face tracks, the second decoding pass, cutting clips), and a trivial one that reads
each clip's audio from a video with sound (the audio stage's cost: decoding every clip's span);
then peak memory
for a 1-minute and a 10-minute video (the sample clip looped), each in its own process.

    python bench/bench_pipeline.py                 # shipped detectors and judge
    python bench/bench_pipeline.py --copies 6 --skip-memory
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from deepfake_scanner.cli.common import setup_logging
from deepfake_scanner.defaults import FPS, SAMPLES_DIR

SAMPLE = SAMPLES_DIR / "videos" / "real_hamilton.mp4"


def with_speechlike_audio(video: Path, path: Path, seconds: float) -> Path:
    """``video`` remuxed with an AAC track of noise that swells and fades at a syllable rate (a
    stand-in for speech: what an audio detector's decoding costs does not depend on the words)."""
    import av
    import numpy as np

    rate = 16_000
    rng = np.random.default_rng(0)
    envelope = np.repeat(rng.uniform(0, 1, int(seconds * 5) + 1) ** 2, rate // 5)[: int(seconds * rate)]
    sound = (rng.normal(0, 0.1, len(envelope)) * envelope).astype(np.float32)
    with av.open(str(video)) as source, av.open(str(path), "w") as out:
        picture = out.add_stream_from_template(source.streams.video[0])
        audio = out.add_stream("aac", rate=rate, layout="mono")
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = picture
                out.mux(packet)
        for start in range(0, len(sound), 1024):
            frame = av.AudioFrame.from_ndarray(sound[None, start : start + 1024], format="flt", layout="mono")
            frame.sample_rate = rate
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


def looped_video(seconds: float, path: Path) -> Path:
    """The sample clip looped to ``seconds`` of video."""
    from deepfake_scanner.video import VideoFrames

    video = VideoFrames(SAMPLE)
    frames = [cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR) for frame, _ in video.every_frame()]
    fps = video.native_fps
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for i in range(int(seconds * fps)):
        writer.write(frames[i % len(frames)])
    writer.release()
    return path


def build_engine(fps: float, max_frames: int, clip_root: Path | None = None, clips: bool = True, audio: bool = False):
    """The shipped detectors and judge (without ``clips``: the frame detectors only); with
    ``clip_root``, also a 16-frame flicker clip detector written there (with ``audio``, one that
    reads the clips' audio: face_clip_audio)."""
    from cnn_detector.detector_dir import write_detector_directory
    from cnn_detector.flicker_clip import build_flicker_clip_graph
    from cnn_detector.frozen_graph import load_detector
    from cnn_detector.registry import discover_detectors
    from deepfake_scanner.engine import EngineOptions, ScanEngine
    from deepfake_scanner.faces import FaceFinder
    from rnn_judge.judge import Judge

    roots = []
    if clip_root is not None:
        fields = {"input": "face_clip", "clip_frames": 16, "input_size": [112, 112], "min_score": 0.5}
        if audio:
            fields.update(input="face_clip_audio", audio_samples=16 * 640)
        write_detector_directory(
            clip_root / "flicker_clip", build_flicker_clip_graph(audio), [(1, "flicker", "Flicker")], **fields
        )
        roots.append(clip_root)
    shipped = [s for s in discover_detectors(include_environment=False).select() if clips or not s.manifest.is_clip]
    extra = discover_detectors(roots, include_default=False, include_environment=False).select() if roots else []
    detectors = [load_detector(spec) for spec in [*shipped, *extra]]
    return ScanEngine(detectors, FaceFinder(), Judge.load(), EngineOptions(fps=fps, max_frames=max_frames))


def throughput(args) -> None:
    from deepfake_scanner.video import VideoFrames

    engine = build_engine(args.fps, 10_000, clips=False)
    with tempfile.TemporaryDirectory() as tmp:
        clip = looped_video(args.seconds, Path(tmp) / "clip.mp4")
        paths = [clip] * args.copies
        engine.scan_file(clip)  # warm-up: first calls trace graphs
        started = time.perf_counter()
        decoded = sum(1 for p in paths for _ in VideoFrames(p, fps=args.fps, max_frames=10_000))
        decode_fps = decoded / (time.perf_counter() - started)
        started = time.perf_counter()
        sequential = sum(len(engine.scan_file(p).frames) for p in paths)
        sequential_fps = sequential / (time.perf_counter() - started)
        started = time.perf_counter()
        threaded = sum(len(r.frames) for r in engine.scan(paths))
        threaded_fps = threaded / (time.perf_counter() - started)
        voiced = with_speechlike_audio(clip, Path(tmp) / "voiced.mp4", args.seconds)
        rows = []
        for name, built, video in (
            ("threaded + temporal_face (all shipped)", build_engine(args.fps, 10_000), clip),
            (
                "threaded + a trivial clip detector",
                build_engine(args.fps, 10_000, Path(tmp) / "clips", clips=False),
                clip,
            ),
            (
                "threaded + a trivial clip detector reading audio (video with sound)",
                build_engine(args.fps, 10_000, Path(tmp) / "audio_clips", clips=False, audio=True),
                voiced,
            ),
        ):
            built.scan_file(video)
            started = time.perf_counter()
            count = sum(len(r.frames) for r in built.scan([video] * args.copies))
            rows.append((name, count, count / (time.perf_counter() - started)))
    print(f"detectors: {', '.join(engine.names)}; {args.copies} x {args.seconds:.0f} s clip, {args.fps} fps sampled")
    print("| path | frames | frames/s | vs sequential |")
    print("|---|---|---|---|")
    print(f"| decode only (ceiling) | {decoded} | {decode_fps:.1f} | {decode_fps / sequential_fps:.2f}x |")
    print(f"| sequential loop | {sequential} | {sequential_fps:.1f} | 1.00x |")
    print(f"| threaded engine | {threaded} | {threaded_fps:.1f} | {threaded_fps / sequential_fps:.2f}x |")
    for name, count, rate in rows:
        print(f"| {name} | {count} | {rate:.1f} | {rate / sequential_fps:.2f}x |")


def memory_child(video: str, fps: float) -> None:
    engine = build_engine(fps, 100_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    frames = sum(len(r.frames) for r in engine.scan([video]))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"frames": frames, "peak_before_mb": before / 1024, "peak_after_mb": after / 1024}))


def memory(args) -> None:
    print("\n| video | frames analysed | peak RSS before scan MB | peak RSS after MB | growth MB |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (1, 10):
            video = looped_video(minutes * 60, Path(tmp) / f"{minutes}min.mp4")
            out = subprocess.run(
                [sys.executable, __file__, "--memory-child", str(video), "--fps", str(args.fps)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            growth = result["peak_after_mb"] - result["peak_before_mb"]
            print(
                f"| {minutes} min | {result['frames']} | {result['peak_before_mb']:.0f} | "
                f"{result['peak_after_mb']:.0f} | {growth:.0f} |"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fps", type=float, default=FPS)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each clip in the throughput run")
    parser.add_argument("--copies", type=int, default=4, help="clips in the throughput run")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup_logging()
    if args.memory_child:
        memory_child(args.memory_child, args.fps)
        return 0
    throughput(args)
    if not args.skip_memory:
        memory(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
