#!/usr/bin/env python3
"""Annotate a video: boxes with 'detector:label score' on each face, and a running fake
probability from the judge; also writes the per-frame detections as CSV."""

from __future__ import annotations

import sys
from pathlib import Path

from cnn_detector.cli import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    ScannerArgumentParser,
    add_detector_arguments,
    log,
    parse_arguments,
)
from cnn_detector.errors import DeepfakeScannerError, MediaError
from cnn_detector.output_paths import check_output_paths
from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.stop_signals import StopSignals

SAMPLE_VIDEO = PROJECT_ROOT / "samples" / "videos" / "fake_face_swap_hamilton.mp4"
EXAMPLES = f"""examples:
  python detect_video.py                                  # the bundled {SAMPLE_VIDEO.relative_to(PROJECT_ROOT)}
  python detect_video.py --input clip.mp4 --output clip_annotated.mp4 --detections clip.csv
  python detect_video.py --input clip.mov --fps 5 --only-detectors blend_boundary

exit codes: 0 written, 2 the video could not be read, 1 usage error, 128 + N stopped by signal N
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="detect_video.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--input", type=Path, default=SAMPLE_VIDEO, help="a video (default: the bundled sample)")
    parser.add_argument("--output", type=Path, help="annotated .mp4 (default: INPUT_annotated.mp4 in the cwd)")
    parser.add_argument("--detections", type=Path, help="per-frame detections CSV")
    parser.add_argument("--fps", type=float, default=5.0, help="frames analysed per second (default 5)")
    parser.add_argument("--threshold", type=float, help="fake threshold (default: the judge's)")
    parser.add_argument("--judge", type=Path, default=PROJECT_ROOT / "rnn_judge" / "trained")
    add_detector_arguments(parser)

    def validate(args, parser) -> None:
        if args.output is not None and args.output.suffix.lower() != ".mp4":
            parser.error("--output must end in .mp4")

    args = parse_arguments(parser, argv, validate)
    if isinstance(args, int):
        return args
    output = args.output or Path(f"{args.input.stem}_annotated.mp4")
    try:  # before anything is loaded: an output that would replace the input is refused
        check_output_paths({"--output": output, "--detections": args.detections}, [args.input])
    except DeepfakeScannerError as err:
        log.error("%s", err)
        return EXIT_USAGE
    from rnn_judge.judge import judge_and_detectors

    parts = judge_and_detectors(args)
    if isinstance(parts, int):
        return parts
    judge, detectors = parts
    from cnn_detector.video_annotation import annotate_video

    try:  # a stop signal, like Ctrl-C, leaves no temporary file and an earlier output as it was
        with StopSignals():
            report = annotate_video(args.input, output, detectors, judge, args.fps, args.detections)
    except MediaError as err:
        log.error("%s", err)
        return EXIT_SOME_FAILED
    except KeyboardInterrupt as interrupt:
        log.warning("interrupted (%s): %s not written", interrupt, output)
        return getattr(interrupt, "exit_code", 130)
    finally:
        for detector in detectors:
            detector.close()
    verdict = report.verdict
    log.info(
        "wrote %s (%d frames, checked by reading it back); verdict: %s, fake probability %s",
        output,
        report.frames_written,
        "fake" if verdict.is_fake else verdict.status,
        verdict.fake_probability,
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
