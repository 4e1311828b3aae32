"""Engagement with videos: likes, favourites in collections, shares, threaded comments and comment
likes, plus the denormalised counters about each video (`video_stats`). Media owns the videos
table; these are the social context's facts about a video, keyed by its id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column

SHARE_CHANNELS = ("link", "dm", "other")
DEFAULT_COLLECTION_NAME = "收藏"


def _video_fk(primary_key: bool = False) -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=primary_key)


def _user_fk(primary_key: bool = False) -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=primary_key)


class Like(Base):
    """`user_id` likes `video_id`. The key makes liking idempotent: a second insert does nothing."""

    __tablename__ = "likes"
    __table_args__ = (Index("ix_likes_video", "video_id", "created_at"),
                      Index("ix_likes_user", "user_id", "created_at"))

    user_id: Mapped[int] = _user_fk(primary_key=True)
    video_id: Mapped[int] = _video_fk(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class VideoStats(Base):
    """Counters shown on a video, changed in the same transaction as the fact they count
    (`UPDATE … SET n = n + 1`); `shua social recount` rebuilds them from the facts."""

    __tablename__ = "video_stats"

    video_id: Mapped[int] = _video_fk(primary_key=True)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)  # live comments, replies included
    shares: Mapped[int] = mapped_column(Integer, default=0)
    favourites: Mapped[int] = mapped_column(Integer, default=0)


class Collection(Base):
    """A user's folder of favourite videos (收藏夹). Everyone gets one default collection, made
    on their first favourite; a partial unique index keeps it one even under concurrency."""

    __tablename__ = "collections"
    __table_args__ = (
        Index("ix_collections_owner", "owner_id", "id"),
        Index("uq_collections_default", "owner_id", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
    )

    id: Mapped[int] = id_column()
    owner_id: Mapped[int] = _user_fk()
    name: Mapped[str] = mapped_column(String(20))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_private: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Favourite(Base):
    """`user_id` favourited `video_id` into one of their collections. One favourite per user and
    video (the counter counts people); choosing another collection moves it."""

    __tablename__ = "favourites"
    __table_args__ = (Index("ix_favourites_collection", "collection_id", "created_at"),
                      Index("ix_favourites_user", "user_id", "created_at"))

    user_id: Mapped[int] = _user_fk(primary_key=True)
    video_id: Mapped[int] = _video_fk(primary_key=True)
    collection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("collections.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Share(Base):
    """A share of a video: a copied link, a DM to a friend, or another app. Every share counts."""

    __tablename__ = "shares"
    __table_args__ = (Index("ix_shares_video", "video_id"), Index("ix_shares_user", "user_id", "id"))

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = _user_fk()
    video_id: Mapped[int] = _video_fk()
    channel: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Comment(Base):
    """A comment on a video. Top-level comments have no `root_id`; replies sit one level under
    their root (like Douyin) and say whom they answer (`reply_to_id`, `reply_to_user_id`).
    Deleting is soft: a deleted root with live replies stays as a placeholder. `likes` and
    `replies` (live replies under a root) are counters kept in the same transaction."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_video_top", "video_id", "root_id", "likes", "id"),
        Index("ix_comments_root", "root_id", "id"),
        Index("ix_comments_author", "author_id", "id"),
    )

    id: Mapped[int] = id_column()
    video_id: Mapped[int] = _video_fk()
    # Kept (as NULL) when a purged account's rows go, so the replies under a placeholder survive.
    author_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"),
                                                  nullable=True)
    root_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reply_to_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reply_to_user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    body: Mapped[str] = mapped_column(String(500), default="")
    mentions: Mapped[list[int]] = mapped_column(JSON, default=list)  # users who exist and may see the video
    likes: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class CommentLike(Base):
    __tablename__ = "comment_likes"
    __table_args__ = (Index("ix_comment_likes_comment", "comment_id"),)

    user_id: Mapped[int] = _user_fk(primary_key=True)
    comment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("comments.id", ondelete="CASCADE"),
                                            primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
