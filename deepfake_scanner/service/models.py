"""The service's tables (SQLAlchemy 2). The schema is made and changed only by the Alembic
migrations beside this file (`database.migrate`); a change here needs a new migration."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCAN_STATUSES = ("queued", "running", "done", "error")
POST_STATUSES = ("scanning", "published", "rejected")
REPORT_STATUSES = ("open", "decided")
DECISIONS = ("fake", "real")
DEEPFAKE_TAG = "#Deepfake"  # the detectors' judgement (or a moderator's decision)
AI_TAG = "#AIGenerated"  # the media's own provenance: C2PA credentials or a generator's watermark


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Scan(Base):
    """One scan of one stored media file. ``result`` is the JSON of `results.scan_record`."""

    __tablename__ = "scans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_path: Mapped[str] = mapped_column(String(1024))
    media_kind: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Post(Base):
    """A post: its caption and media. It is published once its scan has finished; fake media
    (or a moderator's decision) gives it the #Deepfake tag."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caption: Mapped[str] = mapped_column(Text)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="scanning")
    tags: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Report(Base):
    """A user's report that a post is fake: a new scan of its media and a moderator's decision."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id"))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    decision: Mapped[str] = mapped_column(String(8), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("moderators.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Moderator(Base):
    """Someone who may read reports and decide them; only the sha256 of their token is kept."""

    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
