"""Daily posts (拍日常) and moods (写心情): the 24-hour "video Moments" of friends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column

PHOTO, VIDEO = "photo", "video"


class DailyPost(Base):
    """A photo or a short clip for friends only, gone 24 hours after posting."""

    __tablename__ = "daily_posts"
    __table_args__ = (Index("ix_daily_posts_author", "author_id", "expires_at"),)

    id: Mapped[int] = id_column()
    author_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # "photo" | "video"
    photo_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    video_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # a media video, purpose "daily"
    caption: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DailyView(Base):
    """A friend saw a daily post (the author sees who)."""

    __tablename__ = "daily_views"

    post_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("daily_posts.id", ondelete="CASCADE"),
                                         primary_key=True)
    viewer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Mood(Base):
    """A short status with a mood tag, shown for 24 hours. Posting a new one replaces it."""

    __tablename__ = "moods"
    __table_args__ = (Index("ix_moods_user", "user_id", "expires_at"),)

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(String(60), default="")
    visibility: Mapped[str] = mapped_column(String(8), default="friends")  # "friends" | "public"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
