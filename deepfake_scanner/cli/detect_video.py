"""Annotate a video: boxes with 'detector:label score' on each face, and a running fake
probability from the judge; also writes the per-frame detections as CSV."""

from __future__ import annotations

from pathlib import Path

from cnn_detector.errors import DeepfakeScannerError, MediaError
from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    ScannerArgumentParser,
    add_detector_arguments,
    log,
    open_scanner,
    parse_arguments,
)
from deepfake_scanner.cli.stop_signals import StopSignals
from deepfake_scanner.defaults import ANNOTATION_FPS, ANNOTATION_MAX_FRAMES, JUDGE_DIR, PROJECT_ROOT, SAMPLE_VIDEO
from deepfake_scanner.output.paths import check_output_paths

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
    parser.add_argument(
        "--fps", type=float, default=ANNOTATION_FPS, help=f"frames analysed per second (default {ANNOTATION_FPS:g})"
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        default=ANNOTATION_MAX_FRAMES,
        help=f"at most this many frames analysed, spread over the video (default {ANNOTATION_MAX_FRAMES}); "
        "every frame is written",
    )
    parser.add_argument("--threshold", type=float, help="fake threshold (default: the judge's)")
    parser.add_argument("--judge", type=Path, default=JUDGE_DIR, help="judge directory")
    add_detector_arguments(parser)

    def validate(args, parser) -> None:
        if args.output is not None and args.output.suffix.lower() != ".mp4":
            parser.error("--output must end in .mp4")
        if args.fps <= 0 or args.max_frames < 1:
            parser.error("--fps must be > 0 and --max-frames >= 1")
        if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
            parser.error(f"--threshold must be in [0, 1], got {args.threshold}")

    args = parse_arguments(parser, argv, validate)
    if isinstance(args, int):
        return args
    output = args.output or Path(f"{args.input.stem}_annotated.mp4")
    try:  # before anything is loaded: an output that would replace the input is refused
        check_output_paths({"--output": output, "--detections": args.detections}, [args.input])
    except DeepfakeScannerError as err:
        log.error("%s", err)
        return EXIT_USAGE
    from deepfake_scanner.annotation import annotate_video

    scanner = open_scanner(args, fps=args.fps, max_frames=args.max_frames, threshold=args.threshold)
    if isinstance(scanner, int):
        return scanner
    try:  # a stop signal, like Ctrl-C, leaves no temporary file and an earlier output as it was
        with scanner, StopSignals():
            report = annotate_video(args.input, output, scanner, args.detections)
    except MediaError as err:
        log.error("%s", err)
        return EXIT_SOME_FAILED
    except KeyboardInterrupt as interrupt:
        log.warning("interrupted (%s): %s not written", interrupt, output)
        return getattr(interrupt, "exit_code", 130)
    if report.warning:
        log.warning("%s", report.warning)
    verdict = report.verdict
    log.info(
        "wrote %s (%d frames, checked by reading it back); verdict: %s, fake probability %s",
        output,
        report.frames_written,
        "fake" if verdict.is_fake else verdict.status,
        verdict.fake_probability,
    )
    return EXIT_OK
