#!/usr/bin/env python3
"""Scan images and videos for deepfakes: frames -> faces -> every detector at once (threads)
-> RNN judge -> one verdict per file (CSV or JSON lines)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from cnn_detector.cli import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    ScannerArgumentParser,
    add_detector_arguments,
    log,
    parse_arguments,
)
from cnn_detector.csv_output import DetectionCsvWriter
from cnn_detector.engine import EngineOptions, ScanEngine
from cnn_detector.image_io import IMAGE_EXTENSIONS, iter_input_files
from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.types import Verdict
from cnn_detector.verdict_output import AtomicResultFile, VerdictWriter, previous_detection_rows, previous_results
from cnn_detector.video import VIDEO_EXTENSIONS

EXAMPLES = """examples:
  python main_thread.py --input samples/                       # verdicts as CSV on stdout
  python main_thread.py --input clips/ photos/ --output verdicts.jsonl --detections dets.csv
  python main_thread.py --input big_folder/ --output v.csv --resume   # skip what v.csv already has
  python main_thread.py --input a.mp4 --fps 4 --threshold 0.7 --only-detectors blend_boundary,gan_face

exit codes: 0 every file judged (ok or no_face), 2 some files failed (status error), 1 usage error
"""


def build_parser() -> ScannerArgumentParser:
    parser = ScannerArgumentParser(prog="main_thread.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument(
        "--input",
        metavar="PATH",
        nargs="+",
        type=Path,
        help="files or folders (recursive); images and videos (mp4, mov, avi, mkv, webm, gif, webp); default: samples/",
    )
    parser.add_argument("--output", type=Path, help="verdicts file, .csv or .jsonl (default: CSV on stdout)")
    parser.add_argument("--detections", type=Path, help="also write every frame's detections to this CSV")
    parser.add_argument("--fps", type=float, default=2.0, help="frames sampled per second of video (default 2)")
    parser.add_argument("--max-frames", type=int, default=120, help="at most this many frames per video (default 120)")
    parser.add_argument("--threshold", type=float, help="fake if probability >= this (default: the judge's own)")
    parser.add_argument("--judge", type=Path, default=PROJECT_ROOT / "rnn_judge" / "trained", help="judge directory")
    parser.add_argument("--resume", action="store_true", help="keep --output's verdicts and skip those sources")
    parser.add_argument("--sequential", action="store_true", help="no threads (for debugging and benchmarks)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_detector_arguments(parser)
    return parser


def validate(args, parser) -> None:
    if args.output and args.output.suffix.lower() not in (".csv", ".jsonl"):
        parser.error(f"--output must end in .csv or .jsonl, got {args.output.name!r}")
    if args.resume and not args.output:
        parser.error("--resume needs --output")
    if args.fps <= 0 or args.max_frames < 1:
        parser.error("--fps must be > 0 and --max-frames >= 1")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        parser.error(f"--threshold must be in [0, 1], got {args.threshold}")


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv, validate)
    if isinstance(args, int):
        return args
    from rnn_judge.judge import judge_and_detectors

    parts = judge_and_detectors(args)
    if isinstance(parts, int):
        return parts
    judge, detectors = parts
    from cnn_detector.faces import FaceFinder

    engine = ScanEngine(
        detectors,
        FaceFinder(),
        judge,
        EngineOptions(fps=args.fps, max_frames=args.max_frames, batch_size=args.batch_size),
    )
    earlier_lines, done_sources = previous_results(args.output) if args.resume else ([], set())
    items = list(iter_input_files(args.input or [PROJECT_ROOT / "samples"], IMAGE_EXTENSIONS | VIDEO_EXTENSIONS))
    bad = [i for i in items if i.error and str(i.path) not in done_sources]
    todo = [i.path for i in items if not i.error and str(i.path) not in done_sources]
    if done_sources:
        log.info("resuming: %d source(s) already in %s", len(done_sources), args.output)

    verdict_file = AtomicResultFile(args.output) if args.output else None
    detections_file = AtomicResultFile(args.detections) if args.detections else None
    out = verdict_file.stream if verdict_file else sys.stdout
    writer = VerdictWriter(out, jsonl=bool(args.output and args.output.suffix.lower() == ".jsonl"))
    for line in earlier_lines:
        writer.write_raw(line)
    detection_writer = DetectionCsvWriter(detections_file.stream) if detections_file else None
    if detection_writer and args.resume:
        detection_writer.write_rows(previous_detection_rows(args.detections, done_sources))
    failed = 0
    for item in bad:
        log.error("%s: %s", item.path, item.error)
        writer.write(Verdict(str(item.path), "error", detectors=engine.names, error=f"{item.path}: {item.error}"))
        failed += 1
    from tqdm import tqdm

    progress = tqdm(total=len(todo), unit="file", file=sys.stderr, disable=args.no_progress)
    frames = judged = 0
    started = time.perf_counter()
    stop = threading.Event()
    results = (engine.scan_file(p) for p in todo) if args.sequential else engine.scan(todo, stop)
    interrupted = finished = False
    try:
        for result in results:
            if result.warning:
                log.warning("%s", result.warning)
            if result.verdict.status == "error":
                log.error("%s", result.verdict.error)
                failed += 1
            writer.write(result.verdict)
            if detection_writer:
                for frame in result.frames:
                    detection_writer.write_frame(engine.reported(frame))
            frames += len(result.frames)
            judged += 1
            progress.update(1)
            progress.set_postfix(frames=frames, fps=f"{frames / max(time.perf_counter() - started, 1e-6):.1f}")
        finished = True
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        log.warning("interrupted: keeping the %d verdict(s) finished so far", judged)
    finally:
        progress.close()
        if hasattr(results, "close"):
            results.close()
        for result_file in (verdict_file, detections_file):
            if result_file and (finished or interrupted):
                result_file.commit()  # complete, or what was finished before Ctrl-C
            elif result_file:
                result_file.discard()  # a crash: the earlier complete file stays as it was
        for detector in detectors:
            detector.close()
    log.info("judged %d file(s), %d frame(s), %d failed", judged, frames, failed)
    if interrupted:
        return 130
    return EXIT_SOME_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
