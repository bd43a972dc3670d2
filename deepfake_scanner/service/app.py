"""The FastAPI app: scans, posts, reports, moderators, health, and the web page.

`create_app(settings)` builds it; on start it migrates the database, opens one `Scanner`
(unless one is passed in) and starts the job workers; on stop it lets running scans finish.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
import uuid
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from deepfake_scanner.service.database import default_url, migrate, open_engine, session_factory
from deepfake_scanner.service.jobs import JobRunner, frame_path, publish
from deepfake_scanner.service.models import DEEPFAKE_TAG, Moderator, Post, Report, Scan, now
from deepfake_scanner.service.uploads import MAX_FIELD_BYTES, UploadError, clear_incoming, receive_upload

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
# The page runs only its own script file (no inline script), so text that reached the page as
# markup could not run script either.
CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'"


@dataclass
class ServiceSettings:
    """data_dir: the database (by default), the stored media and annotated frames.
    db_url: SQLAlchemy URL (None: SQLite in data_dir). max_pending: queued + running scans
    beyond which uploads get 429. scanner_options: `deepfake_scanner.ScanOptions` keywords."""

    data_dir: Path
    db_url: str | None = None
    workers: int = 2
    max_upload_bytes: int = 200 * 1024 * 1024
    max_pending: int = 32
    upload_deadline_s: float = 300.0
    retry_after_s: int = 10
    scanner_options: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.db_url or default_url(self.data_dir)


def open_database(settings: ServiceSettings):
    """The engine (schema migrated) and session factory of ``settings``."""
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    engine = open_engine(settings.url)
    migrate(engine)
    return engine, session_factory(engine)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_moderator(sessions, name: str) -> str:
    """A new moderator called ``name``; returns their bearer token (only its sha256 is kept)."""
    name = name.strip()
    if not 1 <= len(name) <= 64 or not name.isprintable():
        raise ValueError("a moderator's name is 1-64 printable characters")
    token = secrets.token_urlsafe(32)
    with sessions.begin() as session:
        if session.scalar(select(Moderator).where(Moderator.name == name)) is not None:
            raise ValueError(f"there is already a moderator called {name!r}")
        session.add(Moderator(name=name, token_sha256=token_digest(token)))
    return token


class ReportIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_FIELD_BYTES)


class DecisionIn(BaseModel):
    decision: str = Field(pattern="^(fake|real)$")
    note: str = Field(default="", max_length=MAX_FIELD_BYTES)


def scan_json(scan: Scan) -> dict:
    return {
        "id": scan.id,
        "status": scan.status,
        "progress": scan.progress,
        "filename": scan.filename,
        "media_kind": scan.media_kind,
        "size": scan.size,
        "sha256": scan.sha256,
        "attempts": scan.attempts,
        "created_at": scan.created_at.isoformat(),
        "finished_at": scan.finished_at.isoformat() if scan.finished_at else None,
        "error": scan.error,
        "result": json.loads(scan.result) if scan.result else None,
        "frame_url": f"/api/scans/{scan.id}/frame.jpg" if scan.status in ("done", "error") else None,
    }


def post_json(post: Post, scan: Scan | None) -> dict:
    verdict = ((json.loads(scan.result) if scan and scan.result else None) or {}).get("verdict") or {}
    return {
        "id": post.id,
        "caption": post.caption,
        "status": post.status,
        "tags": [t for t in post.tags.split() if t],
        "scan_id": post.scan_id,
        "media_kind": scan.media_kind if scan else None,
        "fake_probability": verdict.get("fake_probability"),
        "likely_algorithm": verdict.get("likely_algorithm", ""),
        "created_at": post.created_at.isoformat(),
        "published_at": post.published_at.isoformat() if post.published_at else None,
        "frame_url": f"/api/scans/{post.scan_id}/frame.jpg",
    }


def report_json(report: Report, scan: Scan | None) -> dict:
    return {
        "id": report.id,
        "post_id": report.post_id,
        "reason": report.reason,
        "status": report.status,
        "decision": report.decision,
        "note": report.note,
        "scan": scan_json(scan) if scan else None,
        "created_at": report.created_at.isoformat(),
        "decided_at": report.decided_at.isoformat() if report.decided_at else None,
    }


def create_app(settings: ServiceSettings, scanner=None) -> FastAPI:
    """The service. ``scanner``: an open `Scanner` to share (the caller closes it); None opens one."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine, sessions = open_database(settings)
        owned = None
        if scanner is None:
            from deepfake_scanner import Scanner, ScanOptions

            owned = Scanner.open(options=ScanOptions(**settings.scanner_options))
        cleared = clear_incoming(Path(settings.data_dir) / "incoming")
        if cleared:
            log.info("removed %d upload(s) cut off by an earlier process", cleared)
        runner = JobRunner(sessions, scanner or owned, settings.data_dir, settings.workers)
        app.state.sessions, app.state.runner, app.state.scanner = sessions, runner, scanner or owned
        runner.start()
        try:
            yield
        finally:
            runner.stop()
            if owned is not None:
                owned.close()
            engine.dispose()

    app = FastAPI(
        title="Deepfake Scanner",
        summary="Scan images and videos for deepfakes; posts tagged #Deepfake; reports for moderators.",
        lifespan=lifespan,
    )
    media_dir = Path(settings.data_dir) / "media"
    incoming = Path(settings.data_dir) / "incoming"

    @app.exception_handler(UploadError)
    async def _upload_error(_request: Request, err: UploadError):
        return JSONResponse({"detail": err.message}, status_code=err.status)

    def sessions(request: Request):
        return request.app.state.sessions

    def moderator(request: Request) -> Moderator:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "a moderator's bearer token is needed", headers={"WWW-Authenticate": "Bearer"})
        with request.app.state.sessions() as session:
            found = session.scalar(select(Moderator).where(Moderator.token_sha256 == token_digest(token.strip())))
        if found is None:
            raise HTTPException(403, "that token is not a moderator's")
        return found

    def too_busy(request: Request) -> None:
        if request.app.state.runner.pending() >= settings.max_pending:
            raise HTTPException(
                429,
                f"{settings.max_pending} scans are already waiting; try again later",
                headers={"Retry-After": str(settings.retry_after_s)},
            )

    def new_scan(request: Request, sha256: str, filename: str, media: Path, kind: str, size: int) -> Scan:
        scan = Scan(
            id=uuid.uuid4().hex,
            sha256=sha256,
            filename=filename,
            media_path=str(media),
            media_kind=kind,
            size=size,
            status="queued",
            progress=0.0,
            attempts=0,
            error="",
        )
        with request.app.state.sessions.begin() as session:
            session.add(scan)
        request.app.state.runner.wake()
        return scan

    async def stored_scan(request: Request) -> tuple[Scan, bool, dict]:
        """The upload of ``request`` as a scan: a finished, running or queued scan of the same
        bytes is reused; else the media is kept (by its sha256) and a scan queued."""
        upload = await receive_upload(
            request, incoming, settings.max_upload_bytes, deadline_s=settings.upload_deadline_s
        )
        try:
            with request.app.state.sessions() as session:
                earlier = session.scalar(
                    select(Scan)
                    .where(Scan.sha256 == upload.sha256, Scan.status.in_(("queued", "running", "done")))
                    .order_by(Scan.created_at.desc())
                    .limit(1)
                )
            if earlier is not None:
                return earlier, True, upload.fields
            too_busy(request)
            media_dir.mkdir(parents=True, exist_ok=True)
            media = media_dir / f"{upload.sha256}{upload.extension}"
            if not media.exists():
                shutil.move(upload.path, media)
            return (
                new_scan(request, upload.sha256, upload.filename, media, upload.kind, upload.size),
                False,
                upload.fields,
            )
        finally:
            upload.discard()

    @app.get("/healthz")
    def healthz(request: Request):
        scanner_ = request.app.state.scanner
        judge = getattr(scanner_, "judge", None)
        return {
            "status": "ok",
            "detectors": list(scanner_.detector_names),
            "judge": getattr(judge, "name", None) or (type(judge).__name__ if judge is not None else None),
            "pending_scans": request.app.state.runner.pending(),
            "workers": settings.workers,
        }

    @app.post("/api/scans", status_code=202)
    async def create_scan(request: Request):
        """Upload an image or video (multipart field ``file``) to scan. 202 and the queued scan;
        200 and the earlier scan when the same bytes were scanned or are being scanned."""
        scan, reused, _ = await stored_scan(request)
        return JSONResponse(scan_json(scan), status_code=200 if reused else 202)

    def scan_or_404(request: Request, scan_id: str) -> Scan:
        with sessions(request)() as session:
            scan = session.get(Scan, scan_id)
        if scan is None:
            raise HTTPException(404, "no such scan")
        return scan

    @app.get("/api/scans/{scan_id}")
    def get_scan(scan_id: str, request: Request):
        return scan_json(scan_or_404(request, scan_id))

    @app.get("/api/scans/{scan_id}/frame.jpg")
    def get_frame(scan_id: str, request: Request):
        scan = scan_or_404(request, scan_id)
        if scan.status in ("queued", "running"):
            raise HTTPException(409, "the scan has not finished")
        path = frame_path(settings.data_dir, scan_id)
        if not path.is_file():
            raise HTTPException(404, "the scan has no frame to show")
        return FileResponse(path, media_type="image/jpeg")

    @app.post("/api/posts", status_code=202)
    async def create_post(request: Request):
        """A post (multipart: ``file`` and ``caption``): scanned before it is published; fake
        media gets the #Deepfake tag."""
        scan, _, fields = await stored_scan(request)
        with sessions(request).begin() as session:
            post = Post(caption=fields.get("caption", ""), scan_id=scan.id, status="scanning", tags="")
            session.add(post)
        with sessions(request).begin() as session:  # the scan may have ended before the post was in
            post, current = session.get(Post, post.id), session.get(Scan, scan.id)
            if current.status in ("done", "error") and post.status == "scanning":
                verdict = (json.loads(current.result) if current.result else {}).get("verdict") or {}
                publish(post, verdict, current.status)
            session.flush()
            body = post_json(post, current)
        return JSONResponse(body, status_code=202 if body["status"] == "scanning" else 201)

    @app.get("/api/posts")
    def list_posts(request: Request, limit: int = 50, offset: int = 0):
        """The feed: published posts, newest first (a post being scanned is seen by its id only)."""
        limit = max(1, min(limit, 200))
        with sessions(request)() as session:
            rows = session.execute(
                select(Post, Scan)
                .join(Scan, Scan.id == Post.scan_id)
                .where(Post.status == "published")
                .order_by(Post.id.desc())
                .limit(limit)
                .offset(max(0, offset))
            ).all()
        return [post_json(post, scan) for post, scan in rows]

    @app.get("/api/posts/{post_id}")
    def get_post(post_id: int, request: Request):
        with sessions(request)() as session:
            post = session.get(Post, post_id)
            if post is None:
                raise HTTPException(404, "no such post")
            return post_json(post, session.get(Scan, post.scan_id))

    @app.post("/api/posts/{post_id}/reports", status_code=201)
    def report_post(post_id: int, body: ReportIn, request: Request):
        """Report a post as fake: its media is scanned again and a report opened for moderators."""
        with sessions(request)() as session:
            post = session.get(Post, post_id)
            if post is None:
                raise HTTPException(404, "no such post")
            scan = session.get(Scan, post.scan_id)
        with sessions(request)() as session:  # a rescan of these bytes already waiting serves this report too
            rescan = session.scalar(
                select(Scan)
                .where(Scan.sha256 == scan.sha256, Scan.status.in_(("queued", "running")), Scan.id != scan.id)
                .limit(1)
            )
        if rescan is None:
            too_busy(request)
            rescan = new_scan(request, scan.sha256, scan.filename, Path(scan.media_path), scan.media_kind, scan.size)
        with sessions(request).begin() as session:
            report = Report(post_id=post_id, reason=body.reason, scan_id=rescan.id, status="open", decision="", note="")
            session.add(report)
            session.flush()
            return report_json(report, rescan)

    @app.get("/api/reports")
    def list_reports(request: Request, status: str = "open", who: Moderator = Depends(moderator)):
        with sessions(request)() as session:
            query = select(Report, Scan).join(Scan, Scan.id == Report.scan_id).order_by(Report.id)
            if status != "all":
                query = query.where(Report.status == status)
            return [report_json(report, scan) for report, scan in session.execute(query).all()]

    @app.post("/api/reports/{report_id}/decision")
    def decide(report_id: int, body: DecisionIn, request: Request, who: Moderator = Depends(moderator)):
        """A moderator's decision: ``fake`` tags the post #Deepfake, ``real`` removes the tag."""
        with sessions(request).begin() as session:
            report = session.get(Report, report_id)
            if report is None:
                raise HTTPException(404, "no such report")
            if report.status == "decided":
                raise HTTPException(409, "this report was already decided")
            report.status, report.decision, report.note = "decided", body.decision, body.note
            report.moderator_id, report.decided_at = who.id, now()
            post = session.get(Post, report.post_id)
            others = [t for t in post.tags.split() if t != DEEPFAKE_TAG]
            post.tags = " ".join(([DEEPFAKE_TAG] if body.decision == "fake" else []) + others)
            session.flush()
            return report_json(report, session.get(Scan, report.scan_id))

    @app.get("/api/stats")
    def stats(request: Request):
        with sessions(request)() as session:
            counts = dict(session.execute(select(Scan.status, func.count()).group_by(Scan.status)).all())
        return {"scans": counts}

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if not request.url.path.startswith("/docs"):  # Swagger UI loads its own scripts
            response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page():
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/app.js", include_in_schema=False)
    def script():
        return FileResponse(STATIC / "app.js", media_type="text/javascript")

    return app


@contextmanager
def serving(app: FastAPI, host: str = "127.0.0.1", port: int = 0):
    """``app`` served by uvicorn in a background thread (tests, benchmarks, notebooks); yields
    its base URL and stops it on exit. ``port`` 0 takes a free one."""
    import socket
    import threading
    import time

    import uvicorn

    if port == 0:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(60)
