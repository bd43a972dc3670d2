"""Scan images and videos for deepfakes: frames -> faces -> every detector at once (threads)
-> RNN judge -> one verdict per file (CSV or JSON lines)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.types import Verdict
from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    ScannerArgumentParser,
    add_detector_arguments,
    log,
    open_ray_scanner,
    open_scanner,
    parse_arguments,
    text_stdout,
)
from deepfake_scanner.cli.stop_signals import StopSignals
from deepfake_scanner.defaults import FPS, JUDGE_DIR, MAX_FRAMES, SAMPLES_DIR
from deepfake_scanner.images import IMAGE_EXTENSIONS, iter_input_files
from deepfake_scanner.output.detections_csv import detection_rows
from deepfake_scanner.output.paths import check_output_paths
from deepfake_scanner.output.people import PeopleWriter
from deepfake_scanner.output.scan_journal import journal_path
from deepfake_scanner.output.scan_results import ScanRecorder, content_sha256
from deepfake_scanner.video import VIDEO_EXTENSIONS

EXAMPLES = """examples:
  python main_thread.py --input samples/                       # verdicts as CSV on stdout
  python main_thread.py --input clips/ photos/ --output verdicts.jsonl --detections dets.csv
  python main_thread.py --input big_folder/ --output v.csv --resume   # skip what v.csv (and v.csv.journal) already has
  python main_thread.py --input a.mp4 --fps 4 --threshold 0.7 --only-detectors blend_boundary,gan_face

Each finished file is journaled (v.csv.journal, fsync'd) and v.csv is written whole at the end;
Ctrl-C, SIGTERM and SIGHUP keep what was finished, and after a crash or SIGKILL --resume
picks up the journal.

exit codes: 0 every file judged (ok or no_face), 2 some files failed (status error), 1 usage error,
  128 + N stopped by signal N (130 Ctrl-C, 143 SIGTERM)
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
    parser.add_argument("--output", type=Path, help="verdicts file, .csv, .jsonl or .parquet (default: CSV on stdout)")
    parser.add_argument("--detections", type=Path, help="also write every frame's detections to this CSV")
    parser.add_argument(
        "--people",
        type=Path,
        help="also write one verdict per person (face track) of every file, with when they are seen: .csv or .jsonl",
    )
    parser.add_argument("--fps", type=float, default=FPS, help=f"frames sampled per second of video (default {FPS:g})")
    parser.add_argument(
        "--max-frames", type=int, default=MAX_FRAMES, help=f"at most this many frames per video (default {MAX_FRAMES})"
    )
    parser.add_argument("--threshold", type=float, help="fake if probability >= this (default: the judge's own)")
    parser.add_argument("--judge", type=Path, default=JUDGE_DIR, help="judge directory")
    parser.add_argument("--resume", action="store_true", help="keep the verdicts of --output and its journal")
    parser.add_argument(
        "--no-provenance",
        action="store_true",
        help="do not read C2PA credentials and invisible watermarks (JSONL's provenance field stays empty)",
    )
    parser.add_argument("--sequential", action="store_true", help="no threads (for debugging and benchmarks)")
    parser.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="scan on Ray Data: a local Ray runtime on this machine's cores (no address), or a Ray cluster "
        "(ray://HOST:10001, or auto); one Scanner per actor",
    )
    parser.add_argument("--workers", type=int, help="--ray: actors (default: one per CPU)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_detector_arguments(parser)
    return parser


def validate(args, parser) -> None:
    if args.output and args.output.suffix.lower() not in (".csv", ".jsonl", ".parquet"):
        parser.error(f"--output must end in .csv, .jsonl or .parquet, got {args.output.name!r}")
    if args.resume and not args.output:
        parser.error("--resume needs --output")
    if args.people and args.people.suffix.lower() not in (".csv", ".jsonl"):
        parser.error(f"--people must end in .csv or .jsonl, got {args.people.name!r}")
    if args.people and args.resume:
        parser.error("--people cannot be resumed (it is written whole when the scan ends); scan again without --resume")
    if args.workers is not None and (not args.ray or args.workers < 1):
        parser.error("--workers goes with --ray and must be >= 1")
    if args.fps <= 0 or args.max_frames < 1:
        parser.error("--fps must be > 0 and --max-frames >= 1")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        parser.error(f"--threshold must be in [0, 1], got {args.threshold}")


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv, validate)
    if isinstance(args, int):
        return args
    items = list(iter_input_files(args.input or [SAMPLES_DIR], IMAGE_EXTENSIONS | VIDEO_EXTENSIONS))
    try:  # before anything is loaded or scanned: a bad output costs seconds, not the scan
        reserved = (
            {f"the journal of --output ({journal_path(args.output)})": journal_path(args.output)} if args.output else {}
        )
        outputs = {"--output": args.output, "--detections": args.detections, "--people": args.people}
        check_output_paths(outputs, [i.path for i in items], reserved)
        recorder = ScanRecorder(args.output, args.detections, args.resume)
    except DeepfakeScannerError as err:
        log.error("%s", err)
        return EXIT_USAGE
    for problem in recorder.problems:
        log.warning("%s; that file is scanned again", problem)
    opener = open_ray_scanner if args.ray else open_scanner
    scanner = opener(
        args,
        fps=args.fps,
        max_frames=args.max_frames,
        threshold=args.threshold,
        threads=not args.sequential,
        provenance=not args.no_provenance,
    )
    if isinstance(scanner, int):
        return scanner
    with scanner:
        return scan(args, scanner, items, recorder)


def finish(recorder: ScanRecorder, complete: bool) -> int | None:
    """Write the final files; EXIT_USAGE (1) if they cannot be written (the journal stays)."""
    try:
        notes = recorder.finish(complete)
    except OSError as err:
        where = f"; the finished verdicts are kept in {journal_path(recorder.output)}" if recorder.output else ""
        log.error("cannot write the results: %s%s", err, where)
        return EXIT_USAGE
    for note in notes:
        log.warning("%s", note)
    return None


def finish_people(people: PeopleWriter, path: Path, complete: bool) -> int | None:
    """Put the --people file in place when the scan finished (an earlier file is replaced only
    then); a stopped or crashed scan leaves it as it was. EXIT_USAGE if it cannot be written."""
    try:
        if complete:
            people.commit()
            return None
        people.discard()
        log.warning("%s is left as it was: the scan did not finish (--people is written whole)", path)
    except OSError as err:
        people.discard()
        log.error("cannot write %s: %s", path, err)
        return EXIT_USAGE
    return None


def content_changed(recorder: ScanRecorder, source: str) -> bool:
    """A done file whose recorded content sha256 is not its content now (False when none was
    recorded: outputs written before sha256 was kept, or CSV)."""
    recorded = recorder.recorded_sha256(source)
    if not recorded:
        return False
    current = content_sha256(source)
    return bool(current) and current != recorded  # unreadable now: unknown, the verdict stays


def content_sha256_of(scanner, source: str) -> str:
    """The sha256 the Ray actors computed for ``source`` (deepfake_scanner.distributed), else
    read here."""
    known = getattr(scanner, "sha256", {})
    return known.get(source) or content_sha256(source)


def scan(args, scanner, items: list, recorder: ScanRecorder) -> int:
    """Judge every item not already done, recording each as it finishes; a stop signal keeps
    what was finished (exit 128 + signal), a crash keeps the journal for --resume."""
    done = recorder.done
    changed = [str(i.path) for i in items if str(i.path) in done and content_changed(recorder, str(i.path))]
    for source in changed:
        log.warning("%s: its content changed since the earlier scan; scanned again", source)
    done = done - set(changed)
    bad = [i for i in items if i.error and str(i.path) not in done]
    todo = [i.path for i in items if not i.error and str(i.path) not in done]
    if done:
        log.info("resuming: %d file(s) already judged (%s and its journal)", len(done), args.output)
    from tqdm import tqdm

    progress = tqdm(total=len(todo), unit="file", file=sys.stderr, disable=args.no_progress)
    frames = judged = failed = 0
    started = time.perf_counter()
    stop = threading.Event()
    results = iter(())
    exit_code = None
    try:
        recorder.start(text_stdout())
    except DeepfakeScannerError as err:  # another scan holds the journal
        log.error("%s", err)
        return EXIT_USAGE
    people = PeopleWriter(args.people) if args.people else None
    with StopSignals() as signals:
        try:
            for item in bad:
                log.error("%s: %s", item.path, item.error)
                verdict = Verdict(
                    str(item.path), "error", detectors=scanner.detector_names, error=f"{item.path}: {item.error}"
                )
                with signals.protected():
                    recorder.record(verdict, [])
                failed += 1
            results = scanner.scan_many(todo, stop)
            for result in results:
                if result.warning:
                    log.warning("%s", result.warning)
                if result.verdict.status == "error":
                    log.error("%s", result.verdict.error)
                    failed += 1
                frames_rows = (detection_rows(frame) for frame in result.frames)
                rows = [row for found in frames_rows for row in found] if args.detections else []
                sha256 = content_sha256_of(scanner, result.source) if args.output else ""
                with signals.protected():  # a signal waits until the file is journaled and counted
                    recorder.record(result.verdict, rows, sha256)
                    if people is not None:
                        people.write(result.source, result.people)
                    frames += len(result.frames)
                    judged += 1
                progress.update(1)
                progress.set_postfix(frames=frames, fps=f"{frames / max(time.perf_counter() - started, 1e-6):.1f}")
            exit_code = EXIT_SOME_FAILED if failed else EXIT_OK
        except KeyboardInterrupt as interrupt:
            exit_code = getattr(interrupt, "exit_code", 130)
            log.warning("interrupted (%s): keeping the %d verdict(s) finished so far", interrupt, judged)
        finally:
            with signals.protected(raise_pending=False):
                stop.set()
                progress.close()
                if hasattr(results, "close"):
                    results.close()
                complete = exit_code in (EXIT_OK, EXIT_SOME_FAILED)
                if exit_code is None:
                    recorder.abandon()  # a crash: the journal stays, --resume picks it up
                    if args.output:
                        log.error("finished verdicts kept in %s; rerun with --resume", journal_path(args.output))
                else:
                    exit_code = finish(recorder, complete=complete) or exit_code
                if people is not None:
                    exit_code = finish_people(people, args.people, complete) or exit_code
    log.info("judged %d file(s), %d frame(s), %d failed", judged, frames, failed)
    return exit_code
