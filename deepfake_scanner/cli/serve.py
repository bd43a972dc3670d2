"""``python serve.py``: the scanner as an HTTP service with a web page (issue 23).

FastAPI under uvicorn; OpenAPI docs at /docs. The database is SQLite in the data folder unless
--db names another (``postgresql+psycopg://user:pass@host/db``); its schema is migrated on
start. Jobs live in the database, so a restart finishes what was queued or running.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    ScannerArgumentParser,
    add_detector_arguments,
    log,
    open_scanner,
    parse_arguments,
)
from deepfake_scanner.defaults import FPS, JUDGE_DIR, MAX_FRAMES, WORK_DIR

DATA_DIR = WORK_DIR / "service"
EXAMPLES = """examples:
  python serve.py                                   # http://127.0.0.1:8080/ (SQLite in work_data/service)
  python serve.py --add-moderator alice             # prints alice's bearer token, once
  python serve.py --db postgresql+psycopg://scanner:secret@localhost/scanner --workers 2
"""


def build_parser() -> argparse.ArgumentParser:
    parser = ScannerArgumentParser(prog="serve.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: SQLite in --data-dir)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="media, frames and the default database")
    parser.add_argument("--workers", type=int, default=2, help="scans run at once (one Scanner shared)")
    parser.add_argument("--queue", type=int, default=32, help="queued + running scans before uploads get 429")
    parser.add_argument("--max-upload-mb", type=float, default=200.0)
    parser.add_argument("--fps", type=float, default=FPS, help=f"frames sampled per second of video (default {FPS:g})")
    parser.add_argument("--max-frames", type=int, default=MAX_FRAMES)
    parser.add_argument("--threshold", type=float, default=None, help="the judge's threshold (default: calibrated)")
    parser.add_argument("--judge", type=Path, default=JUDGE_DIR, help="judge directory")
    parser.add_argument("--add-moderator", metavar="NAME", help="create a moderator, print their token and exit")
    add_detector_arguments(parser)
    return parser


def _validate(args, parser) -> None:
    if args.workers < 1 or args.queue < 1 or args.max_upload_mb <= 0:
        parser.error("--workers and --queue must be >= 1 and --max-upload-mb > 0")
    if not 0 < args.port < 65536:
        parser.error("--port must be in 1..65535")


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv, _validate)
    if isinstance(args, int):
        return args
    from deepfake_scanner.service.app import ServiceSettings, add_moderator, create_app, open_database

    settings = ServiceSettings(
        data_dir=args.data_dir,
        db_url=args.db,
        workers=args.workers,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        max_pending=args.queue,
    )
    if args.add_moderator is not None:
        engine, sessions = open_database(settings)
        try:
            token = add_moderator(sessions, args.add_moderator)
        except ValueError as err:
            log.error("%s", err)
            return EXIT_USAGE
        finally:
            engine.dispose()
        print(token)
        log.info("moderator %s added; the token above is shown once (only its sha256 is kept)", args.add_moderator)
        return EXIT_OK
    scanner = open_scanner(args, fps=args.fps, max_frames=args.max_frames, threshold=args.threshold)
    if isinstance(scanner, int):
        return scanner
    import uvicorn

    with scanner:
        app = create_app(settings, scanner)
        log.info("serving on http://%s:%d/ (API docs at /docs)", args.host, args.port)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=30)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
