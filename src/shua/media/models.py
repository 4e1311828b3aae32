from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column


class Upload(Base):
    """A resumable upload (tus 1.0): bytes arrive in chunks at increasing offsets."""

    __tablename__ = "media_uploads"
    __table_args__ = (Index("ix_media_uploads_owner", "owner_id", "created_at"),)

    id: Mapped[int] = id_column()
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


UPLOADED, PROBING, TRANSCODING, READY, FAILED, DELETED = (
    "uploaded", "probing", "transcoding", "ready", "failed", "deleted")
PUBLIC, FRIENDS, PRIVATE = "public", "friends", "private"
POST, DAILY = "post", "daily"  # a video on the creator's profile, or the clip of a 24-hour daily post


class Video(Base):
    """A posted video. Processing is a state machine driven by the `media.process` job:
    uploaded → probing → transcoding → ready | failed (with a reason the creator can read)."""

    __tablename__ = "videos"
    __table_args__ = (Index("ix_videos_owner", "owner_id", "id"), Index("ix_videos_status", "status"))

    id: Mapped[int] = id_column()
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    upload_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    caption: Mapped[str] = mapped_column(String(2200), default="")
    # The creator's pick from media.categories and the title drawn over the cover (封面标题):
    # both are searched, since viewers search topics the caption never spells out.
    category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    cover_text: Mapped[str] = mapped_column(String(40), default="", server_default="")
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    visibility: Mapped[str] = mapped_column(String(8), default=PUBLIC)
    # Daily clips never appear in feeds, grids or search; the social context expires them.
    purpose: Mapped[str] = mapped_column(String(8), default=POST, server_default=POST)
    allow_comments: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_duets: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(12), default=UPLOADED)
    failure_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    process_attempts: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)  # as displayed (rotation applied)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cover_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    playable_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Taken down by a moderator: hidden from everyone but its creator, who sees why; restorable.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removal_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)


def is_watchable(video: Video) -> bool:
    """Published: the lowest rendition is stored (the rest may still be coming) and the video
    is neither deleted, failed nor taken down. Who may watch it is the visibility's business."""
    return video.playable_at is not None and video.status not in (DELETED, FAILED) and video.removed_at is None


class VideoFile(Base):
    """A stored file of a video: an MP4 rendition, the HLS master playlist, the poster."""

    __tablename__ = "video_files"
    __table_args__ = (UniqueConstraint("video_id", "kind", "name", name="uq_video_files_kind_name"),)

    id: Mapped[int] = id_column()
    video_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "mp4" | "hls" | "poster" | "original"
    name: Mapped[str] = mapped_column(String(20))  # "360p", "master", "poster"
    key: Mapped[str] = mapped_column(String(300))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bit_rate: Mapped[int | None] = mapped_column(Integer, nullable=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
