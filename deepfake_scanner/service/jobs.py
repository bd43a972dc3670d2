"""Scan jobs that survive a restart: the queue is the ``scans`` table itself.

N worker threads share one `Scanner`. A worker claims the oldest queued scan with one
conditional UPDATE (queued -> running), so no two workers run the same scan. The result is
written with another (running -> done), so it is written once. On start, scans left ``running``
by a process that died go back to ``queued``: they had not finished, so running them again
finishes them exactly once; one interrupted MAX_ATTEMPTS times (its media takes the process
down) is given up as an error. One service process per database: a second one starting would
requeue the first one's running scans (owners and heartbeats would lift that).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from sqlalchemy import func, select, update

from cnn_detector.atomic_file import atomic_write_bytes
from deepfake_scanner.output.verdicts import provenance_from_record
from deepfake_scanner.service.models import AI_TAG, DEEPFAKE_TAG, Post, Scan, now
from deepfake_scanner.service.results import annotated_frame, scan_record

log = logging.getLogger(__name__)

RUNNING_PROGRESS = 0.1  # a running scan's progress until it ends (the scanner reports no steps)
MAX_ATTEMPTS = 3  # a scan interrupted this many times (its media crashes the process) is given up


def frame_path(data_dir: Path, scan_id: str) -> Path:
    return Path(data_dir) / "frames" / f"{scan_id}.jpg"


class JobRunner:
    """``workers`` threads running the queued scans of ``sessions``' database with ``scanner``."""

    def __init__(self, sessions, scanner, data_dir: Path, workers: int = 2, poll_s: float = 1.0):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.sessions, self.scanner, self.data_dir = sessions, scanner, Path(data_dir)
        self.workers, self.poll_s = workers, poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> int:
        """Requeue what a stopped process left running, start the workers; the requeued count."""
        with self.sessions.begin() as session:
            given_up = session.execute(  # media that took the process down each time it was scanned
                update(Scan)
                .where(Scan.status == "running", Scan.attempts >= MAX_ATTEMPTS)
                .values(
                    status="error",
                    progress=1.0,
                    finished_at=now(),
                    error=f"the scan was interrupted {MAX_ATTEMPTS} times; not tried again",
                )
            ).rowcount
            for post in session.scalars(select(Post).join(Scan, Scan.id == Post.scan_id).where(Scan.status == "error")):
                if post.status == "scanning":
                    publish(post, {}, "error")
            requeued = session.execute(
                update(Scan).where(Scan.status == "running").values(status="queued", progress=0.0)
            ).rowcount
        if requeued or given_up:
            log.info("requeued %d scan(s) left running by an earlier process; gave up on %d", requeued, given_up)
        for k in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"scan-worker-{k}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return requeued

    def stop(self, timeout: float = 60.0) -> None:
        """Stop taking jobs and wait for the running ones (a scan cut short is requeued on start)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def pending(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).where(Scan.status.in_(("queued", "running"))))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                scan_id = self._claim()
                if scan_id is None:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
                    continue
                try:
                    self._run(scan_id)
                except Exception as err:  # a bug, not bad media (the scanner turns that into a verdict)
                    log.exception("scan %s failed", scan_id)
                    if not self._stop.is_set():
                        self._finish(scan_id, "error", None, f"the scan failed ({type(err).__name__})")
            except Exception:  # the database went away for a moment: never lose the worker
                log.exception("scan worker: database error; retrying in %.0f s", self.poll_s * 5)
                self._stop.wait(self.poll_s * 5)

    def _claim(self) -> str | None:
        with self.sessions.begin() as session:
            candidates = session.scalars(
                select(Scan.id).where(Scan.status == "queued").order_by(Scan.created_at, Scan.id).limit(4)
            ).all()
            for scan_id in candidates:
                claimed = session.execute(
                    update(Scan)
                    .where(Scan.id == scan_id, Scan.status == "queued")
                    .values(status="running", attempts=Scan.attempts + 1, started_at=now(), progress=RUNNING_PROGRESS)
                ).rowcount
                if claimed == 1:
                    return scan_id
        return None

    def _run(self, scan_id: str) -> None:
        with self.sessions() as session:
            scan = session.get(Scan, scan_id)
            path, name = Path(scan.media_path), scan.filename
        result = self.scanner.scan_file(path)
        if self._stop.is_set():  # shutting down: the scanner may be closing under this scan
            log.info("scan %s: stopped before its result was written; it is requeued on start", scan_id)
            return
        record = scan_record(result, name)
        if result.frames:
            jpeg = annotated_frame(path, result, self.scanner.options.engine.sampling)
            if jpeg is not None:
                target = frame_path(self.data_dir, scan_id)
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(target, jpeg)
        verdict = record["verdict"] or {}
        error = record["error"] or (verdict.get("error", "") if verdict.get("status") == "error" else "")
        self._finish(scan_id, "error" if error else "done", record, error)

    def _finish(self, scan_id: str, status: str, record: dict | None, error: str) -> None:
        """Write the result once (running -> done/error) and publish the posts waiting on it."""
        with self.sessions.begin() as session:
            written = session.execute(
                update(Scan)
                .where(Scan.id == scan_id, Scan.status == "running")
                .values(
                    status=status,
                    progress=1.0,
                    result=json.dumps(record) if record is not None else None,
                    error=error,
                    finished_at=now(),
                )
            ).rowcount
            if written != 1:
                log.warning("scan %s: finished, but it was no longer running; result dropped", scan_id)
                return
            verdict = (record or {}).get("verdict") or {}
            for post in session.scalars(select(Post).where(Post.scan_id == scan_id, Post.status == "scanning")):
                publish(post, verdict, status)


def publish(post: Post, verdict: dict, scan_status: str) -> None:
    """A post whose scan has ended: published, tagged #Deepfake when its media was judged fake
    and #AIGenerated when the media declares itself AI-made (C2PA credentials or a generator's
    watermark); media the scanner could not read is not published."""
    if scan_status == "error":
        post.status = "rejected"
        return
    post.status = "published"
    post.published_at = now()
    provenance = provenance_from_record(verdict.get("provenance"))
    declared = provenance is not None and provenance.declares_ai
    post.tags = " ".join(t for t, on in ((DEEPFAKE_TAG, verdict.get("is_fake")), (AI_TAG, declared)) if on)
