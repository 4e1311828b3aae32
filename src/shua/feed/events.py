"""What viewers watched: client events in, an append-only log, counters folded from it.

Ingestion is one multi-row `INSERT … ON CONFLICT DO NOTHING` per batch into `feed_events` — no
transaction per event and no counter row touched per event. The `feed.aggregate` job folds new
rows (above a watermark) into `video_feed_stats` and the traffic pools' impression counts, and
moves the watermark in the same transaction, so a re-run or a crash folds nothing twice.

Ids are time-ordered but assigned before commit, so the log is not committed in id order: a
batch that took its ids first may commit after a later one. Folding up to the newest id seen
could then step over a batch still in flight, for good. The fold therefore stops at a
*ceiling* below which everything has committed: on PostgreSQL every batch holds a shared
advisory lock from before it takes ids until it commits, and the job takes the same lock
exclusively for a moment before taking its ceiling id; on SQLite a batch takes its ids inside
its write transaction (`BEGIN IMMEDIATE`), which the job's own write transaction waits for.
The settle time keeps a margin for the clocks of different hosts.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock, jobs
from shua.core.db import Database, insert_ignore
from shua.core.errors import ShuaError
from shua.core.ids import NODE_BITS, SEQ_BITS, new_id
from shua.feed.models import (
    COMPLETE,
    CONTEXT_KINDS,
    IMPRESSION,
    NOT_INTERESTED,
    PLAY,
    PURCHASE,
    REPLAY,
    SEARCH_CLICK,
    SKIP,
    TESTING,
    WATCH,
    FeedEvent,
    FeedSchedule,
    PoolEntry,
    VideoFeedStats,
)
from shua.media import videos
from shua.media.models import POST, Video, is_watchable
from shua.social import engagement

AGGREGATE = "aggregate"
AGGREGATE_TASK = "feed.aggregate"
# Any constant works; it names the lock between event batches and the aggregate job's ceiling.
_INGEST_LOCK = 0x5348_5541_4645_4544 & 0x7FFF_FFFF_FFFF_FFFF
MAX_IDLE_SECONDS = 600.0


class BatchTooLarge(ShuaError):
    code = "feed.batch_too_large"
    status = 413
    title = "Too many events in one batch"


@dataclass(frozen=True)
class EventIn:
    """One event as the client reported it (already type-checked by the API schema)."""

    event_id: uuid.UUID
    video_id: int
    kind: str
    at: datetime
    watch_ms: int = 0
    replays: int = 0
    source: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Limits:
    max_batch: int = 200
    skew: timedelta = timedelta(minutes=2)
    max_age: timedelta = timedelta(hours=72)
    watch_slack_ms: int = 2000
    skip_ms: int = 3000


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (event_id, reason)


def _dialect(db: AsyncSession) -> str:
    return db.get_bind().dialect.name


def _insert(db: AsyncSession, model: type[FeedEvent] | type[VideoFeedStats]) -> postgresql.Insert | sqlite.Insert:
    return sqlite.insert(model) if _dialect(db) == "sqlite" else postgresql.insert(model)


def _leave_kind(kind: str, watch_ms: int, skip_ms: int, duration_ms: int | None) -> str:
    """The server, not the client, applies N: a `skip` that says it was watched for N or more,
    or to the end, is a `watch` (its time still counts). A `watch` carries the view's time and
    is never a skip by itself; a client leaving early sends `skip` as well."""
    if kind == SKIP and (watch_ms >= skip_ms or (duration_ms and watch_ms >= duration_ms)):
        return WATCH
    return kind


def _check(event: EventIn, video: Video | None, *, user_id: int, now: datetime, limits: Limits) -> str | None:
    """Why the event is dropped, or None to keep it."""
    if video is None or video.purpose != POST or not is_watchable(video):
        return "video_unavailable"
    if video.owner_id == user_id:
        return "own_video"  # a creator's own views would inflate their pool stage
    if event.at > now + limits.skew:
        return "future"
    if event.at < now - limits.max_age:
        return "too_old"
    if video.duration_ms and event.watch_ms > video.duration_ms * (event.replays + 1) + limits.watch_slack_ms:
        return "watch_exceeds_duration"
    return None


async def ingest(db: AsyncSession, *, user_id: int, events: list[EventIn], limits: Limits,
                 aggregate_every: float = 30.0) -> IngestResult:
    """Record a batch of the user's events. Events for videos the user may not (or no longer)
    see, from the future, too old or watched longer than the video plays are dropped and named
    in the result; the rest are written in one statement, a repeated event id counting once."""
    if len(events) > limits.max_batch:
        raise BatchTooLarge(f"Send at most {limits.max_batch} events per batch", max_batch=limits.max_batch,
                            received=len(events))
    result = IngestResult()
    visible = await videos.visible_by_id(db, viewer_id=user_id, video_ids=list({e.video_id for e in events}))
    now, seen, rows = clock.utcnow(), set(), []
    for event in events:
        event_id = str(event.event_id)
        if event_id in seen:
            result.duplicates += 1
            continue
        seen.add(event_id)
        video = visible.get(event.video_id)
        reason = _check(event, video, user_id=user_id, now=now, limits=limits)
        if reason is not None:
            result.dropped.append((event_id, reason))
            continue
        rows.append({"user_id": user_id, "event_id": event_id, "video_id": event.video_id,
                     "kind": _leave_kind(event.kind, event.watch_ms, limits.skip_ms,
                                         video.duration_ms if video is not None else None),
                     "watch_ms": event.watch_ms, "replays": event.replays,
                     "duration_ms": video.duration_ms if video is not None else None,
                     "source": event.source, "request_id": event.request_id,
                     "at": min(event.at, now), "received_at": now})
    if not rows:
        return result
    if _dialect(db) != "sqlite":
        await db.execute(select(func.pg_advisory_xact_lock_shared(_INGEST_LOCK)))
    for row in rows:  # ids after the lock: the aggregate job's ceiling relies on it
        row["id"] = new_id()
    statement = _insert(db, FeedEvent).values(rows).on_conflict_do_nothing(
        index_elements=["user_id", "event_id"]).returning(FeedEvent.id)
    result.accepted = len((await db.execute(statement)).all())
    result.duplicates += len(rows) - result.accepted
    if result.accepted:
        await ensure_scheduled(db, AGGREGATE, AGGREGATE_TASK, every=aggregate_every)
    return result


# Scheduling -------------------------------------------------------------------------------------


async def ensure_scheduled(db: AsyncSession, name: str, task_name: str, *, every: float) -> bool:
    """Start the job's chain unless one is live: a read on the common path, a conditional
    update (one winner) only when no run is due or the due run is long overdue (a chain that
    died, e.g. a job that exhausted its attempts). True if this call scheduled a run."""
    now = clock.utcnow()
    row = (await db.execute(select(FeedSchedule.token, FeedSchedule.due_at)
                            .where(FeedSchedule.name == name))).first()
    stale = timedelta(seconds=max(600.0, 10 * every))
    if row is not None and row.due_at is not None and row.due_at > now - stale:
        return False
    token, due = new_id(), now + timedelta(seconds=every)
    if row is None:
        taken = await insert_ignore(db, FeedSchedule, name=name, watermark=0, token=token, due_at=due)
    else:
        same = FeedSchedule.token.is_(None) if row.token is None else FeedSchedule.token == row.token
        taken = bool(getattr(await db.execute(update(FeedSchedule).where(FeedSchedule.name == name, same)
                                              .values(token=token, due_at=due)), "rowcount", 0))
    if taken:
        await jobs.enqueue(db, task_name, {"token": str(token)}, run_at=due)
    return taken


async def claim_due(db: AsyncSession, name: str, *, every: timedelta) -> bool:
    """True for exactly one caller once `name` is due (never run, or `every` has passed since it
    was last claimed), and the next due time moves on in the same statement."""
    await insert_ignore(db, FeedSchedule, name=name, watermark=0, token=None, due_at=None)
    now = clock.utcnow()
    query = (update(FeedSchedule)
             .where(FeedSchedule.name == name, or_(FeedSchedule.due_at.is_(None), FeedSchedule.due_at <= now))
             .values(due_at=now + every))
    return bool(getattr(await db.execute(query), "rowcount", 0))


async def reschedule(db: AsyncSession, name: str, task_name: str, *, token: int | None, after: float,
                     payload: dict[str, Any] | None = None) -> bool:
    """Queue the chain's next run, if `token` is still the live run (else this chain ends; a run
    queued by hand, without a token, folds and ends too)."""
    if token is None:
        return False
    new_token, due = new_id(), clock.utcnow() + timedelta(seconds=after)
    query = update(FeedSchedule).where(FeedSchedule.name == name, FeedSchedule.token == token)
    if not getattr(await db.execute(query.values(token=new_token, due_at=due)), "rowcount", 0):
        return False
    await jobs.enqueue(db, task_name, {**(payload or {}), "token": str(new_token)}, run_at=due)
    return True


def next_delay(every: float, folded: int, idle_runs: int, *, backlog: bool = False) -> float:
    """At once while a backlog remains; every `every` seconds while events arrive; doubling up
    to ten minutes while idle."""
    if backlog:
        return 0.0
    return every if folded else min(MAX_IDLE_SECONDS, every * 2 ** min(idle_runs, 10))


# Aggregation ------------------------------------------------------------------------------------


async def _ceiling(database: Database, settle_ms: int) -> int:
    """An id below which every event has committed (see the module's docstring)."""
    if database.is_sqlite:
        ceiling = new_id()
    else:
        async with database.transaction() as db:
            await db.execute(select(func.pg_advisory_xact_lock(_INGEST_LOCK)))
            ceiling = new_id()
    return ceiling - (settle_ms << (NODE_BITS + SEQ_BITS))


async def _lock_schedule(db: AsyncSession, name: str) -> FeedSchedule:
    await insert_ignore(db, FeedSchedule, name=name, watermark=0, token=None, due_at=None)
    query = select(FeedSchedule).where(FeedSchedule.name == name)
    if _dialect(db) != "sqlite":  # SQLite's BEGIN IMMEDIATE already serialises the job's runs
        query = query.with_for_update()
    return (await db.scalars(query)).one()


_COUNTED = {IMPRESSION: "impressions", PLAY: "plays", COMPLETE: "completes", REPLAY: "replays",
            SKIP: "skips", NOT_INTERESTED: "not_interested"}
_COLUMNS = ("impressions", "plays", "completes", "replays", "watch_ms", "skips", "not_interested")
_UPSERT_ROWS = 1000


async def fold_once(database: Database, *, batch: int, settle_ms: int) -> int:
    """Fold up to `batch` new events into the counters; how many were folded."""
    ceiling = await _ceiling(database, settle_ms)
    async with database.transaction() as db:
        state = await _lock_schedule(db, AGGREGATE)
        rows = (await db.execute(
            select(FeedEvent.id, FeedEvent.video_id, FeedEvent.kind, FeedEvent.watch_ms)
            .where(FeedEvent.id > state.watermark, FeedEvent.id <= ceiling)
            .order_by(FeedEvent.id).limit(batch))).all()
        if not rows:
            return 0
        deltas: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COLUMNS, 0))
        for row in rows:
            if row.kind in CONTEXT_KINDS:
                continue
            counts = deltas[row.video_id]
            if row.kind in _COUNTED:
                counts[_COUNTED[row.kind]] += 1
            if row.kind in (WATCH, SKIP):
                counts["watch_ms"] += row.watch_ms
        now = clock.utcnow()
        if deltas:
            values = [{"video_id": vid, **counts, "updated_at": now} for vid, counts in sorted(deltas.items())]
            for start in range(0, len(values), _UPSERT_ROWS):  # asyncpg binds at most 32 767 values
                statement = _insert(db, VideoFeedStats).values(values[start:start + _UPSERT_ROWS])
                statement = statement.on_conflict_do_update(
                    index_elements=["video_id"],
                    set_={**{name: getattr(VideoFeedStats, name) + statement.excluded[name] for name in _COLUMNS},
                          "updated_at": statement.excluded.updated_at})
                await db.execute(statement)
            seen = [{"vid": vid, "n": c["impressions"]} for vid, c in sorted(deltas.items()) if c["impressions"]]
            if seen:
                pool = cast("Table", PoolEntry.__table__)
                await db.execute(
                    update(pool).where(pool.c.video_id == bindparam("vid"), pool.c.status == TESTING)
                    .values(stage_impressions=pool.c.stage_impressions + bindparam("n")), seen)
        await db.execute(update(FeedSchedule).where(FeedSchedule.name == AGGREGATE)
                         .values(watermark=rows[-1].id))
        return len(rows)


async def aggregate(database: Database, *, batch: int = 5000, settle_ms: int = 2000, max_batches: int = 20) -> int:
    """Fold settled new events, `batch` at a time and at most `max_batches` batches (a run
    stays short; the caller comes back at once when it folded that many); how many were folded."""
    total = 0
    for _ in range(max_batches):
        folded = await fold_once(database, batch=batch, settle_ms=settle_ms)
        total += folded
        if folded < batch:
            break
    return total


# Reads for serving and training -----------------------------------------------------------------


@dataclass(frozen=True)
class FeedStats:
    impressions: int = 0
    plays: int = 0
    completes: int = 0
    replays: int = 0
    watch_ms: int = 0
    skips: int = 0
    not_interested: int = 0

    def completion_rate(self, prior: float = 0.3, weight: float = 20.0) -> float:
        """Completes per play, smoothed towards `prior` as if `weight` plays had been seen."""
        return (min(self.completes, self.plays) + prior * weight) / (self.plays + weight)

    def skip_rate(self, prior: float = 0.3, weight: float = 20.0) -> float:
        """Skips per impression, smoothed the same way."""
        return (min(self.skips, self.impressions) + prior * weight) / (self.impressions + weight)

    @property
    def mean_watch_ms(self) -> float:
        return self.watch_ms / self.plays if self.plays else 0.0


NO_FEED_STATS = FeedStats()


async def stats_of_many(db: AsyncSession, video_ids: list[int]) -> dict[int, FeedStats]:
    """The viewing counters of several videos in one query (zeros for one nobody watched)."""
    found = dict.fromkeys(video_ids, NO_FEED_STATS)
    if video_ids:
        for row in await db.scalars(select(VideoFeedStats).where(VideoFeedStats.video_id.in_(set(video_ids)))):
            found[row.video_id] = FeedStats(**{name: getattr(row, name) for name in _COLUMNS})
    return found


@dataclass(frozen=True)
class RecentEvent:
    video_id: int
    kind: str
    at: datetime
    watch_ms: int = 0
    source: str | None = None


async def record_search_click(db: AsyncSession, *, user_id: int, video_id: int, click_id: int) -> bool:
    """A search result the viewer opened, into their log as a taste signal; once per click."""
    event_id = str(uuid.uuid5(uuid.NAMESPACE_OID, f"shua.search_click.{click_id}"))
    now = clock.utcnow()
    return await insert_ignore(db, FeedEvent, id=new_id(), user_id=user_id, event_id=event_id, video_id=video_id,
                               kind=SEARCH_CLICK, watch_ms=0, replays=0, source="search", at=now, received_at=now)


async def record_purchase(db: AsyncSession, *, user_id: int, video_id: int, order_id: int) -> bool:
    """A paid order that came from the video's cart, into the buyer's log; once per order."""
    event_id = str(uuid.uuid5(uuid.NAMESPACE_OID, f"shua.purchase.{order_id}"))
    now = clock.utcnow()
    return await insert_ignore(db, FeedEvent, id=new_id(), user_id=user_id, event_id=event_id, video_id=video_id,
                               kind=PURCHASE, watch_ms=0, replays=0, source="shop", at=now, received_at=now)


async def recent_events(db: AsyncSession, user_id: int, limit: int = 50) -> list[RecentEvent]:
    """The user's latest events, newest first: what they just watched, skipped or marked not
    interested, and what they liked (from the engagement context's likes, the truth about them,
    so an unlike takes it back)."""
    rows = (await db.execute(
        select(FeedEvent.video_id, FeedEvent.kind, FeedEvent.received_at, FeedEvent.watch_ms, FeedEvent.source)
        .where(FeedEvent.user_id == user_id, FeedEvent.kind.not_in(CONTEXT_KINDS))
        .order_by(FeedEvent.received_at.desc(), FeedEvent.id.desc()).limit(limit))).all()
    found = [RecentEvent(video_id=r.video_id, kind=r.kind, at=r.received_at, watch_ms=r.watch_ms, source=r.source)
             for r in rows]
    for _user, video_id, liked_at in await engagement.likes_by(db, user_ids=[user_id], limit=limit):
        found.append(RecentEvent(video_id=video_id, kind="like", at=liked_at))
    found.sort(key=lambda e: e.at, reverse=True)
    return found[:limit]


async def seen_video_ids(db: AsyncSession, user_id: int, since: datetime) -> set[int]:
    """Videos the user was shown (or watched) since `since`, for dedupe."""
    query = select(FeedEvent.video_id).where(FeedEvent.user_id == user_id, FeedEvent.received_at >= since,
                                             FeedEvent.kind.not_in(CONTEXT_KINDS)).distinct()
    return set((await db.scalars(query)).all())


@dataclass(frozen=True)
class Interaction:
    """What one user did with one video: the trainer's input, one row per pair."""

    user_id: int
    video_id: int
    watch_ratio: float  # the longest view over the duration; above 1 with replays
    completed: bool
    replays: int
    skipped: bool
    not_interested: bool
    last_at: datetime


async def training_interactions(db: AsyncSession, since: datetime) -> list[Interaction]:
    """Every (user, video) pair with viewing events received since `since`, folded in SQL."""
    viewing = FeedEvent.kind.not_in(CONTEXT_KINDS)
    leave = and_(FeedEvent.kind.in_((WATCH, SKIP)), FeedEvent.duration_ms > 0)

    def flag(kind: str) -> ColumnElement[int]:
        return func.max(case((FeedEvent.kind == kind, 1), else_=0))

    query = (select(
        FeedEvent.user_id, FeedEvent.video_id,
        func.max(case((leave, FeedEvent.watch_ms * 1.0 / FeedEvent.duration_ms), else_=0.0)).label("ratio"),
        flag(COMPLETE).label("completed"),
        func.sum(case((FeedEvent.kind == REPLAY, 1), else_=0)).label("replay_events"),
        func.max(FeedEvent.replays).label("replays"),
        flag(SKIP).label("skipped"), flag(NOT_INTERESTED).label("not_interested"),
        func.max(FeedEvent.at).label("last_at"))
        .where(viewing, FeedEvent.received_at >= since)
        .group_by(FeedEvent.user_id, FeedEvent.video_id).order_by(FeedEvent.user_id, FeedEvent.video_id))
    return [Interaction(user_id=r.user_id, video_id=r.video_id, watch_ratio=float(r.ratio or 0.0),
                        completed=bool(r.completed) or float(r.ratio or 0.0) >= 1.0,
                        replays=max(int(r.replay_events or 0), int(r.replays or 0)), skipped=bool(r.skipped),
                        not_interested=bool(r.not_interested),
                        last_at=r.last_at)
            for r in (await db.execute(query)).all()]


async def export_events(db: AsyncSession, user_id: int, limit: int = 100_000) -> list[dict[str, Any]]:
    """The user's viewing history for their data export (the newest `limit` events)."""
    rows = (await db.scalars(select(FeedEvent).where(FeedEvent.user_id == user_id)
                             .order_by(FeedEvent.received_at.desc(), FeedEvent.id.desc()).limit(limit))).all()
    return [{"event_id": r.event_id, "video_id": str(r.video_id), "kind": r.kind, "watch_ms": r.watch_ms,
             "replays": r.replays, "source": r.source, "at": r.at.isoformat()} for r in rows]
