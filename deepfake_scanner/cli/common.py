"""What every entry point shares: argument parsing with exit code 1 for usage errors,
logging to stderr, and choosing, checking and loading the detectors."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.frozen_graph import FrozenGraphDetector, LoadOptions, load_usable_detectors
from cnn_detector.registry import DETECTORS_ENV, DetectorScan, DetectorSpec, discover_detectors, roots_from_environment
from deepfake_scanner.defaults import BATCH_SIZE
from deepfake_scanner.defenses import DEFENSES
from rnn_judge.judge import Judge, JudgeError

EXIT_OK, EXIT_USAGE, EXIT_SOME_FAILED = 0, 1, 2
log = logging.getLogger("deepfake_scanner")


class UsageError(DeepfakeScannerError):
    """A command line that cannot run (exit code 1)."""


class ScannerArgumentParser(argparse.ArgumentParser):
    """argparse, but usage errors exit with 1 (2 means 'some files failed')."""

    def __init__(self, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def parse_arguments(parser: argparse.ArgumentParser, argv, validate=None):
    """Parsed arguments (logging set up), or the exit code when parsing ended the run:
    0 for --help, 1 for a usage error. ``validate(args, parser)`` may call parser.error."""
    try:
        args = parser.parse_args(argv)
        if getattr(args, "batch_size", 1) < 1:
            parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
        if validate is not None:
            validate(args, parser)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    setup_logging(getattr(args, "verbose", False))
    return args


def setup_logging(verbose: bool = False) -> None:
    """Logs go to stderr so that results on stdout stay clean; TensorFlow's chatter is muted."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    for noisy in ("tensorflow", "absl", "h5py", "PIL"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def text_stdout() -> TextIO:
    """Standard output for result rows: a file name that is not UTF-8 is written with its own
    bytes (surrogateescape) instead of failing the whole batch."""
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")
    return sys.stdout


def factory_missing(factory: Path) -> bool:
    """True (after saying how to make it) when ``factory`` holds no tools/make_fakes.py output."""
    if (Path(factory) / "index.csv").is_file():
        return False
    log.error("%s: no factory data (index.csv); run tools/make_fakes.py --out %s first", factory, factory)
    return True


def log_trained(name: str, report: dict) -> None:
    """One line on a freshly trained model: its held-out test numbers and training time."""
    overall = report["test"]["overall"]
    log.info(
        "%s: test AUC %.3f, recall %.3f at 1%% FPR; trained in %.1f min",
        name,
        overall["auc"],
        overall["recall_at_1pct_fpr"],
        report["training"]["seconds"] / 60,
    )


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_detector_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("detectors")
    group.add_argument(
        "--detectors",
        metavar="DIR",
        action="append",
        default=[],
        type=Path,
        help=f"extra folder of detector directories (repeatable; also ${DETECTORS_ENV}, '{os.pathsep}'-separated)",
    )
    group.add_argument(
        "--no-shipped",
        action="store_true",
        help="leave frozen_models/ out: only the detectors of --detectors (and $" + DETECTORS_ENV + ")",
    )
    group.add_argument("--list-detectors", action="store_true", help="list registered detectors and exit")
    group.add_argument("--only-detectors", metavar="A,B", type=_names, default=[], help="use only these detectors")
    group.add_argument("--skip-detectors", metavar="A,B", type=_names, default=[], help="leave these detectors out")
    group.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help=f"images per TensorFlow call (default {BATCH_SIZE})"
    )
    group.add_argument(
        "--defense",
        choices=DEFENSES,
        default="none",
        help="a lossy round trip before the detectors against adversarial perturbations: resize (1/3 and back), "
        "jpeg (quality 15) or both (default none; measured in README, 'Attacks and defenses')",
    )
    group.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")


def detector_roots(args: argparse.Namespace) -> list[Path]:
    """The folders of detector directories a command line asks for besides frozen_models/:
    those of $DEEPFAKE_SCANNER_DETECTORS, then each --detectors."""
    return [*roots_from_environment(), *args.detectors]


def scan_detectors(args: argparse.Namespace) -> DetectorScan:
    """Discover detectors (reporting skipped directories); config errors become UsageError."""
    try:
        scan = discover_detectors(
            detector_roots(args), include_default=not getattr(args, "no_shipped", False), include_environment=False
        )
    except DeepfakeScannerError as err:
        raise UsageError(str(err)) from None
    for problem in scan.problems:
        log.warning("%s", problem)
    return scan


def write_detector_list(scan: DetectorScan, stream: TextIO) -> None:
    """name, algorithms, input kind, version and source folder of each registered detector."""
    rows = [("name", "algorithms", "input", "version", "folder")]
    for name in sorted(scan.specs):
        spec = scan.specs[name]
        manifest = spec.manifest
        rows.append((name, ",".join(manifest.algorithms), manifest.input, manifest.version, str(spec.directory)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        stream.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() + "\n")
    for problem in scan.problems:
        stream.write(f"# {problem}\n")


def choose_specs(scan: DetectorScan, args: argparse.Namespace) -> list[DetectorSpec]:
    try:
        return scan.select(args.only_detectors, args.skip_detectors)
    except DeepfakeScannerError as err:
        raise UsageError(str(err)) from None


def detectors_from_arguments(args: argparse.Namespace) -> list[FrozenGraphDetector] | int:
    """The detectors the command line asks for, loaded; or an exit code: 0 after
    --list-detectors printed the list, 1 after a usage error was logged."""
    try:
        scan = scan_detectors(args)
        if args.list_detectors:
            write_detector_list(scan, sys.stdout)
            return EXIT_OK
        return load_detectors(choose_specs(scan, args), LoadOptions(batch_size=args.batch_size))
    except UsageError as err:
        log.error("%s", err)
        return EXIT_USAGE


def load_detectors(specs: Sequence[DetectorSpec], options: LoadOptions) -> list[FrozenGraphDetector]:
    """Verify and load each graph; one that fails a check is logged and left out."""
    try:
        loaded = load_usable_detectors(
            specs, options, lambda spec, err: log.error("skipped detector %s: %s", spec, err)
        )
    except DeepfakeScannerError as err:
        raise UsageError(str(err)) from None
    log.info("detectors: %s", ", ".join(d.name for d in loaded))
    return loaded


def judge_from_arguments(args) -> Judge | int:
    """The judge of ``--judge`` with ``--threshold``, or exit code 1 after logging why not."""
    try:
        return Judge.load(args.judge, args.threshold)
    except JudgeError as err:
        log.error("%s", err)
        return EXIT_USAGE


def judge_and_detectors(args):
    """(judge, detectors) for a command line, or the exit code after logging why not."""
    judge = judge_from_arguments(args)
    if isinstance(judge, int):
        return judge
    detectors = detectors_from_arguments(args)
    if isinstance(detectors, int):
        return detectors
    return judge, detectors


def open_scanner(args: argparse.Namespace, judge: bool = True, **options):
    """The Scanner a command line asks for: the detector options every command shares
    (--only-detectors, --skip-detectors, --batch-size) and ``options`` (ScanOptions fields),
    with ``judge`` the judge of --judge. Or an exit code: 0 after --list-detectors printed the
    list, 1 after a usage error was logged. Problems that left a detector out are logged."""
    from deepfake_scanner.scanner import Scanner

    def opened(shared):
        return Scanner.open(
            detector_roots(args),
            args.judge if judge else None,
            shared,
            include_shipped=not getattr(args, "no_shipped", False),
        )

    return _open(args, opened, options)


def open_ray_scanner(args: argparse.Namespace, **options):
    """As open_scanner, on Ray Data (deepfake_scanner.distributed): ``--ray [ADDRESS]`` and
    ``--workers``; the detectors and judge are loaded by each actor."""
    from deepfake_scanner.distributed import RayScanner

    def opened(shared):
        return RayScanner(
            detector_roots(args),
            args.judge,
            shared,
            include_shipped=not getattr(args, "no_shipped", False),
            address=None if args.ray == "local" else args.ray,
            workers=args.workers,
            progress=not getattr(args, "no_progress", False),
        )

    return _open(args, opened, options)


def _open(args: argparse.Namespace, opened, options: dict):
    from deepfake_scanner.scanner import ScanOptions

    if args.list_detectors:
        try:
            write_detector_list(scan_detectors(args), sys.stdout)
        except UsageError as err:
            log.error("%s", err)
            return EXIT_USAGE
        return EXIT_OK
    try:
        shared = ScanOptions(
            only=tuple(args.only_detectors),
            skip=tuple(args.skip_detectors),
            batch_size=args.batch_size,
            defense=getattr(args, "defense", "none"),
            **options,
        )
        scanner = opened(shared)
    except (JudgeError, DeepfakeScannerError) as err:
        for problem in getattr(err, "problems", ()):
            (log.error if problem.startswith("skipped detector") else log.warning)("%s", problem)
        log.error("%s", err)
        return EXIT_USAGE
    for problem in getattr(scanner, "problems", ()):
        (log.error if problem.startswith("skipped detector") else log.warning)("%s", problem)
    log.info("detectors: %s", ", ".join(scanner.detector_names))
    return scanner
