"""The `feed.aggregate` job and the reads built on the event log: counters folded exactly once,
whatever re-runs, crashes or concurrent batches do; a chain of runs that keeps itself going."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import insert, select, update

from shua.accounts.models import User
from shua.config import Settings
from shua.core import clock, jobs
from shua.core.db import Database
from shua.core.ids import new_id
from shua.core.jobs import Job
from shua.feed import events, pools
from shua.feed.models import FeedEvent, FeedSchedule, PoolEntry
from shua.media.models import Video
from shua.social import engagement
from tests.factories import make_user, make_video

LIMITS = events.Limits()


def e(video: Video | int, kind: str = "impression", **kw: Any) -> events.EventIn:
    return events.EventIn(event_id=uuid.uuid4(), video_id=getattr(video, "id", video), kind=kind,
                          at=clock.utcnow(), **kw)


async def ingest(database: Database, user: User, *batch: events.EventIn) -> events.IngestResult:
    async with database.transaction() as db:
        return await events.ingest(db, user_id=user.id, events=list(batch), limits=LIMITS)


async def stats(database: Database, *videos: Video) -> list[events.FeedStats]:
    async with database.transaction(write=False) as db:
        found = await events.stats_of_many(db, [v.id for v in videos])
    return [found[v.id] for v in videos]


async def world(database: Database, viewers: int = 1, videos: int = 1) -> tuple[list[User], list[Video]]:
    async with database.transaction() as db:
        creator = await make_user(db, "creator")
        made = [await make_video(db, creator, duration_ms=10_000) for _ in range(videos)]
        people = [await make_user(db, f"viewer{i:03d}") for i in range(viewers)]
    return people, made


def fold(database: Database, **kw: Any) -> Any:
    return events.aggregate(database, settle_ms=0, **kw)


class TestAggregate:
    async def test_counts_each_kind(self, database: Database) -> None:
        (viewer,), (video, other) = await world(database, videos=2)
        await ingest(database, viewer, e(video), e(video, "play"), e(video, "watch", watch_ms=9000),
                     e(video, "complete"), e(video, "replay"), e(video, "impression"), e(video, "skip", watch_ms=1200),
                     e(video, "not_interested"), e(video, "like"), e(other))
        assert await fold(database) == 10
        assert await stats(database, video, other) == [
            events.FeedStats(impressions=2, plays=1, completes=1, replays=1, watch_ms=10_200, skips=1,
                             not_interested=1),
            events.FeedStats(impressions=1)]

    async def test_re_runs_fold_nothing_twice(self, database: Database) -> None:
        (viewer,), (video,) = await world(database)
        await ingest(database, viewer, e(video), e(video, "play"))
        assert await fold(database) == 2
        assert await fold(database) == 0
        await ingest(database, viewer, e(video, "play"))
        assert await fold(database) == 1
        assert await fold(database) == 0
        (counted,) = await stats(database, video)
        assert (counted.impressions, counted.plays) == (1, 2)

    async def test_folds_in_batches_and_moves_the_watermark_with_them(self, database: Database) -> None:
        (viewer,), (video,) = await world(database)
        await ingest(database, viewer, *[e(video) for _ in range(7)])
        assert await events.fold_once(database, batch=3, settle_ms=0) == 3
        assert (await stats(database, video))[0].impressions == 3
        assert await fold(database, batch=3) == 4
        assert (await stats(database, video))[0].impressions == 7

    async def test_a_failed_fold_leaves_counters_and_watermark_as_they_were(
            self, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        (viewer,), (video,) = await world(database)
        await ingest(database, viewer, e(video), e(video))
        real = events._insert

        def broken(db: Any, model: Any) -> Any:
            if model is events.VideoFeedStats:
                raise RuntimeError("the database went away mid-fold")
            return real(db, model)

        monkeypatch.setattr(events, "_insert", broken)
        with pytest.raises(RuntimeError):
            await fold(database)
        monkeypatch.setattr(events, "_insert", real)
        assert (await stats(database, video))[0].impressions == 0
        assert await fold(database) == 2
        assert (await stats(database, video))[0].impressions == 2

    async def test_settling_events_wait_for_the_next_run(self, database: Database) -> None:
        (viewer,), (video,) = await world(database)
        await ingest(database, viewer, e(video))
        assert await events.aggregate(database, settle_ms=60_000) == 0  # younger than a minute
        assert await fold(database) == 1

    async def test_concurrent_batches_and_folds_count_every_event_once(self, database: Database) -> None:
        viewers, (video, other) = await world(database, viewers=16, videos=2)
        done = asyncio.Event()

        async def batch(user: User, pause: float) -> None:
            async with database.transaction() as db:
                await events.ingest(db, user_id=user.id, limits=LIMITS,
                                    events=[*[e(video) for _ in range(5)], e(other, "play")])
                await asyncio.sleep(pause)  # a slow request: its ids are taken, its rows not committed

        async def batches() -> None:
            await asyncio.gather(*(batch(u, 0.03 * (i % 4)) for i, u in enumerate(viewers)))
            done.set()

        async def folds() -> None:
            while not done.is_set():  # folding all the while, the watermark racing the batches
                await fold(database, batch=7)
                await asyncio.sleep(0.002)

        for _ in range(3):
            done.clear()
            await asyncio.gather(batches(), folds(), folds())
        await fold(database)
        assert [(s.impressions, s.plays) for s in await stats(database, video, other)] == [(240, 0), (0, 48)]

    async def test_a_fold_over_thousands_of_videos(self, database: Database) -> None:
        (viewer,), _ = await world(database)
        now = clock.utcnow()
        rows = [{"id": new_id(), "user_id": viewer.id, "event_id": str(uuid.uuid4()), "video_id": 10_000 + i,
                 "kind": "impression", "watch_ms": 0, "replays": 0, "at": now, "received_at": now}
                for i in range(4000)]
        async with database.transaction() as db:
            for start in range(0, len(rows), 500):
                await db.execute(insert(FeedEvent).values(rows[start:start + 500]))
        assert await fold(database, batch=5000) == 4000  # 4000 counter rows: more values than asyncpg binds
        async with database.transaction(write=False) as db:
            found = await events.stats_of_many(db, [10_000, 13_999])
        assert [s.impressions for s in found.values()] == [1, 1]

    async def test_pool_impressions_are_folded_with_the_counters(self, database: Database) -> None:
        (viewer,), (video, outside) = await world(database, videos=2)
        async with database.transaction() as db:
            assert await pools.enter(db, video_id=video.id, rules=pools.PoolRules())
        await ingest(database, viewer, e(video), e(video), e(video, "play"), e(outside))
        await fold(database)
        async with database.transaction(write=False) as db:
            stage = (await pools.stage_of_many(db, [video.id, outside.id]))
        assert stage == {video.id: pools.Stage(stage=0, status="testing", impressions=2, budget=200)}


class TestChain:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"feed_aggregate_settle_ms": 0, "feed_aggregate_seconds": 30.0})

    async def _queued(self, database: Database) -> list[Job]:
        async with database.transaction(write=False) as db:
            query = select(Job).where(Job.name == "feed.aggregate", Job.status == jobs.QUEUED)
            return list((await db.scalars(query)).all())

    async def test_the_job_folds_then_schedules_its_next_run(self, client: httpx2.AsyncClient,
                                                             database: Database) -> None:
        (viewer,), (video,) = await world(database)
        await ingest(database, viewer, e(video))
        assert await jobs.drain(database) == 0  # due in 30 s, not now
        clock.travel(31)
        assert await jobs.drain(database) == 1
        assert (await stats(database, video))[0].impressions == 1
        (nxt,) = await self._queued(database)
        assert timedelta(seconds=29) < nxt.run_at - clock.utcnow() <= timedelta(seconds=30)
        clock.travel(31)  # nothing new: the next run comes later, and later again
        assert await jobs.drain(database) == 1
        (idle,) = await self._queued(database)
        assert timedelta(seconds=59) < idle.run_at - clock.utcnow() <= timedelta(seconds=60)
        assert idle.payload["idle"] == 1
        await ingest(database, viewer, e(video))  # a live chain: the batch schedules nothing more
        assert len(await self._queued(database)) == 1

    async def test_a_backlog_is_folded_run_after_run(self, client: httpx2.AsyncClient, database: Database,
                                                     settings: Settings) -> None:
        (viewer,), (video,) = await world(database)
        settings.feed_aggregate_batch = 2  # 2 × 20 per run: 45 events take two runs back to back
        for _ in range(3):
            await ingest(database, viewer, *[e(video) for _ in range(15)])
        clock.travel(31)
        assert await jobs.drain(database) == 2
        assert (await stats(database, video))[0].impressions == 45
        (nxt,) = await self._queued(database)
        assert nxt.run_at - clock.utcnow() > timedelta(seconds=29)  # caught up: back to every 30 s

    async def test_a_dead_chain_is_restarted_and_a_late_one_ends(self, client: httpx2.AsyncClient,
                                                                 database: Database) -> None:
        (viewer,), (video,) = await world(database)
        await ingest(database, viewer, e(video))
        (first,) = await self._queued(database)
        async with database.transaction() as db:  # its worker died; the job is stuck for an hour
            await db.execute(update(Job).where(Job.id == first.id).values(
                status=jobs.RUNNING, locked_until=clock.utcnow() + timedelta(hours=2)))
        clock.travel(3600)
        await ingest(database, viewer, e(video))  # notices the overdue run and starts a new chain
        (second,) = await self._queued(database)
        assert second.payload["token"] != first.payload["token"]
        async with database.transaction() as db:  # the old job comes back after all
            await db.execute(update(Job).where(Job.id == first.id).values(status=jobs.QUEUED, locked_until=None))
        clock.travel(60)
        assert await jobs.drain(database) == 2
        (only,) = await self._queued(database)  # the old chain ended; one run is queued
        async with database.transaction(write=False) as db:
            token = await db.scalar(select(FeedSchedule.token).where(FeedSchedule.name == "aggregate"))
        assert only.payload["token"] == str(token)
        assert (await stats(database, video))[0].impressions == 2

    async def test_used_budgets_queue_the_promotion(self, client: httpx2.AsyncClient, database: Database) -> None:
        viewers, (video,) = await world(database, viewers=3)
        async with database.transaction() as db:
            await pools.enter(db, video_id=video.id, rules=pools.PoolRules())
            await db.execute(update(PoolEntry).values(budget=3))
        for viewer in viewers:
            await ingest(database, viewer, e(video))
        clock.travel(31)
        assert await jobs.drain(database) == 2  # aggregate, then promote
        async with database.transaction(write=False) as db:
            assert (await pools.stage_of_many(db, [video.id]))[video.id].status == "settled"  # 0 plays


    async def test_the_recommender_retrains_when_due(self, client: httpx2.AsyncClient, database: Database,
                                                     settings: Settings) -> None:
        import shutil

        from shua.feed import learning

        settings.feed_retrain_hours = 6
        folder = learning.model_folder(settings.var_dir)
        try:
            (viewer,), (video,) = await world(database)
            await ingest(database, viewer, e(video), e(video, "watch", watch_ms=4000))
            clock.travel(31)
            assert await jobs.drain(database) == 2  # aggregate, then the first training
            assert (folder / "meta.json").exists()
            trained = (folder / "meta.json").stat().st_mtime_ns
            for _ in range(2):  # within six hours: folding only
                await ingest(database, viewer, e(video))
                clock.travel(31)
                assert await jobs.drain(database) == 1
            clock.travel(6 * 3600)
            await ingest(database, viewer, e(video))
            assert await jobs.drain(database) == 2  # due again: folded and retrained, once
            assert (folder / "meta.json").stat().st_mtime_ns != trained
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class TestReads:
    async def test_recent_events_and_seen_videos(self, database: Database) -> None:
        (viewer, other), (a, b, c) = await world(database, viewers=2, videos=3)
        await ingest(database, viewer, e(a), e(a, "watch", watch_ms=8000, source="trending"))
        clock.travel(5)
        await ingest(database, viewer, e(b, "not_interested"), e(b, "share"))
        clock.travel(5)
        async with database.transaction() as db:
            await engagement.like(db, user_id=viewer.id, video=c)
        await ingest(database, other, e(c))
        async with database.transaction(write=False) as db:
            recent = await events.recent_events(db, viewer.id, limit=10)
            seen = await events.seen_video_ids(db, viewer.id, since=clock.utcnow() - timedelta(seconds=7))
            everything = await events.seen_video_ids(db, viewer.id, since=clock.utcnow() - timedelta(hours=1))
        assert [(r.video_id, r.kind) for r in recent] == [(c.id, "like"), (b.id, "not_interested"),
                                                          (a.id, "watch"), (a.id, "impression")]
        assert recent[2].source == "trending" and recent[2].watch_ms == 8000
        assert seen == {b.id} and everything == {a.id, b.id}

    async def test_training_interactions_per_user_and_video(self, database: Database) -> None:
        (u, v), (a, b) = await world(database, viewers=2, videos=2)  # 10 s videos
        await ingest(database, u, e(a), e(a, "play"), e(a, "watch", watch_ms=4000),
                     e(a, "watch", watch_ms=15_000, replays=1), e(a, "replay"), e(a, "complete"))
        await ingest(database, u, e(b, "watch", watch_ms=900), e(b, "skip"), e(b, "not_interested"))
        await ingest(database, v, e(a, "watch", watch_ms=5000))
        async with database.transaction(write=False) as db:
            rows = await events.training_interactions(db, since=clock.utcnow() - timedelta(hours=1))
            later = await events.training_interactions(db, since=clock.utcnow() + timedelta(hours=1))
        found = {(r.user_id, r.video_id): r for r in rows}
        assert set(found) == {(u.id, a.id), (u.id, b.id), (v.id, a.id)}
        ua, ub, va = found[(u.id, a.id)], found[(u.id, b.id)], found[(v.id, a.id)]
        assert (ua.watch_ratio, ua.completed, ua.replays, ua.skipped, ua.not_interested) == (1.5, True, 1, False, False)
        assert (ub.watch_ratio, ub.completed, ub.skipped, ub.not_interested) == (0.09, False, True, True)
        assert (va.watch_ratio, va.completed, va.skipped) == (0.5, False, False)
        assert later == []

    async def test_smoothed_rates(self) -> None:
        assert events.FeedStats().completion_rate() == pytest.approx(0.3)
        seen = events.FeedStats(impressions=100, plays=100, completes=80, skips=10)
        assert seen.completion_rate() == pytest.approx((80 + 6) / 120)
        assert seen.skip_rate() == pytest.approx((10 + 6) / 120)
