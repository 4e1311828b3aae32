"""The feed's own tables: the append-only log of what viewers watched (`feed_events`), the
counters folded from it (`video_feed_stats`), the new-video traffic pools (`feed_pool`), the
A/B experiments, and the watermark and schedule of the jobs that fold the log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column

# What a client reports about one item it showed. Viewing kinds are counted here; the context
# kinds (like, share, follow, comment) only attribute an action to the source and page that led
# to it: their counters live in the engagement and graph contexts, which record the facts.
IMPRESSION, PLAY, WATCH, COMPLETE, REPLAY, SKIP, NOT_INTERESTED = (
    "impression", "play", "watch", "complete", "replay", "skip", "not_interested")
VIEWING_KINDS = (IMPRESSION, PLAY, WATCH, COMPLETE, REPLAY, SKIP, NOT_INTERESTED)
CONTEXT_KINDS = ("like", "share", "follow", "comment")
KINDS = VIEWING_KINDS + CONTEXT_KINDS
# Recorded by the server, never sent by a client: a search result the viewer opened (query →
# video), a positive signal of taste like a like.
SEARCH_CLICK = "search_click"
# …and a purchase made from a video's cart (小黄车): the strongest sign the video worked for them.
PURCHASE = "purchase"

TESTING, SETTLED, REMOVED = "testing", "settled", "removed"


class FeedEvent(Base):
    """One client-reported event, written once and never updated. `id` is assigned when the
    server receives it (time-ordered), so it is the watermark the aggregate job folds up to;
    `(user_id, event_id)` makes a client's retry count once."""

    __tablename__ = "feed_events"
    __table_args__ = (UniqueConstraint("user_id", "event_id", name="uq_feed_events_user_event"),
                      Index("ix_feed_events_user_time", "user_id", "received_at"))

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36))  # the client's UUID, canonical lowercase form
    video_id: Mapped[int] = mapped_column(BigInteger)  # no foreign key: a log outlives what it names
    kind: Mapped[str] = mapped_column(String(16))
    watch_ms: Mapped[int] = mapped_column(Integer, default=0)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the video's, when received
    source: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the candidate source that served it
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the feed page it was on
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the client's time, checked against ours
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class VideoFeedStats(Base):
    """Viewing counters of a video, folded from `feed_events` by the `feed.aggregate` job (never
    per event): what serving reads to estimate completion and skip rates."""

    __tablename__ = "video_feed_stats"

    video_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    plays: Mapped[int] = mapped_column(BigInteger, default=0)
    completes: Mapped[int] = mapped_column(BigInteger, default=0)
    replays: Mapped[int] = mapped_column(BigInteger, default=0)
    watch_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    skips: Mapped[int] = mapped_column(BigInteger, default=0)
    not_interested: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class FeedSchedule(Base):
    """A self-rescheduling job's state: how far it has folded the log (`watermark`, moved in the
    same transaction as the counters) and which scheduled run is the live one (`token`), so a
    chain that was restarted after a stall stops the old one at its next reschedule."""

    __tablename__ = "feed_schedules"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)
    token: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PoolEntry(Base):
    """A public video's place in the new-video traffic pools (流量池): its stage, the impression
    budget of that stage (None: unbounded), the impressions it has had there, and whether it is
    still being tested or has settled at that stage."""

    __tablename__ = "feed_pool"
    __table_args__ = (Index("ix_feed_pool_stage", "stage", "status", "stage_impressions"),
                      Index("ix_feed_pool_owner", "owner_id"))

    video_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    owner_id: Mapped[int] = mapped_column(BigInteger)
    stage: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default=TESTING)
    budget: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stage_impressions: Mapped[int] = mapped_column(Integer, default=0)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Experiment(Base):
    """An A/B experiment: arms (a list of `{"name", "weight", "params"}`, in bucketing order)
    and whether it is running. A user's arm is a pure function of the key and their id."""

    __tablename__ = "experiments"

    id: Mapped[int] = id_column()
    key: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    arms: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # running | stopped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ViewerInterests(Base):
    """The topics a viewer picked when they started (feed.interests); an empty list is "none"."""

    __tablename__ = "feed_interests"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
