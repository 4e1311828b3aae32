"""The new-video traffic pools: who enters, budgets handed out fairly and respected, promotion only
for a video that beats its stage's cohort by a margin, and every decision taken once."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from typing import Any

import httpx2
import pytest
from sqlalchemy import update

from shua.accounts.models import User
from shua.core import clock, jobs
from shua.core.db import Database
from shua.feed import events, pools
from shua.feed.models import PoolEntry, VideoFeedStats
from shua.media import videos as media_videos
from shua.media.models import DAILY, PRIVATE, Video
from shua.social import engagement, graph
from tests.factories import make_user, make_video
from tests.helpers import Browser

RULES = pools.PoolRules(budgets=(10, 100, 1000), min_plays=5, z=1.28, min_cohort=3,
                        baseline_completion=0.3, baseline_like=0.03)


async def enter(database: Database, *made: Video, rules: pools.PoolRules = RULES) -> None:
    async with database.transaction() as db:
        for video in made:
            assert await pools.enter(db, video_id=video.id, rules=rules)


async def stage_of(database: Database, video: Video) -> pools.Stage | None:
    async with database.transaction(write=False) as db:
        return (await pools.stage_of_many(db, [video.id])).get(video.id)


async def set_rates(database: Database, video: Video, *, impressions: int, plays: int, completes: int,
                    likes: int = 0) -> None:
    """Counters as the aggregate job and the engagement context would have left them."""
    async with database.transaction() as db:
        db.add(VideoFeedStats(video_id=video.id, impressions=impressions, plays=plays, completes=completes,
                              replays=0, watch_ms=0, skips=0, not_interested=0, updated_at=clock.utcnow()))
        await engagement.bump(db, video.id, likes=likes)
        await db.execute(update(PoolEntry).where(PoolEntry.video_id == video.id)
                         .values(stage_impressions=impressions))


async def promote(database: Database, rules: pools.PoolRules = RULES) -> list[pools.Verdict]:
    async with database.transaction() as db:
        return await pools.promote_due(db, rules=rules)


class TestEnter:
    async def test_public_posts_enter_when_ready_and_leave_when_deleted(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        async with database.transaction() as db:
            owner = await make_user(db, "creator")
            shy = await make_user(db, "shy")
            await graph.update_privacy(db, user_id=shy.id, private_account=True)
            public = await make_video(db, owner)
            private = await make_video(db, owner, visibility=PRIVATE)
            daily = await make_video(db, owner, purpose=DAILY)
            closed = await make_video(db, shy)
            for video in (public, private, daily, closed):
                await jobs.publish(db, "video.ready", {"video_id": str(video.id), "owner_id": str(video.owner_id)})
        await jobs.drain(database)
        assert await stage_of(database, public) == pools.Stage(stage=0, status="testing", impressions=0, budget=200)
        assert [await stage_of(database, v) for v in (private, daily, closed)] == [None, None, None]

        async with database.transaction() as db:  # made public later: enters then, once
            await media_videos.edit_video(db, owner_id=owner.id, video_id=private.id, visibility="public")
            await jobs.publish(db, "video.ready", {"video_id": str(public.id)})
        await jobs.drain(database)
        assert (await stage_of(database, private)) is not None

        async with database.transaction() as db:
            await media_videos.delete_video(db, owner_id=owner.id, video_id=public.id)
        await jobs.drain(database)
        assert await stage_of(database, public) is None
        async with database.transaction(write=False) as db:
            assert await pools.pool_candidates(db, 0, 10) == [private.id]


class TestCandidates:
    async def test_budgets_are_respected_and_the_least_shown_go_first(self, database: Database) -> None:
        async with database.transaction() as db:
            owner = await make_user(db, "creator")
            made = [await make_video(db, owner) for _ in range(5)]
        await enter(database, *made)
        async with database.transaction() as db:
            for video, shown in zip(made, (10, 9, 0, 3, 12), strict=True):
                await db.execute(update(PoolEntry).where(PoolEntry.video_id == video.id)
                                 .values(stage_impressions=shown))
        async with database.transaction(write=False) as db:
            under = await pools.pool_candidates(db, 0, 10)
            assert under == [made[2].id, made[3].id, made[1].id]  # 10 and 12 used their budget of 10
            assert await pools.pool_candidates(db, 0, 10, exclude={made[2].id}) == [made[3].id, made[1].id]
            assert await pools.pool_candidates(db, 1, 10) == []
            picks = {tuple(await pools.pool_candidates(db, 0, 1, spread=3)) for _ in range(60)}
        assert picks == {(made[2].id,), (made[3].id,), (made[1].id,)}  # rotated among the least shown

    async def test_an_end_to_end_promotion_from_real_events(self, database: Database) -> None:
        async with database.transaction() as db:
            owner = await make_user(db, "creator")
            good, dull = await make_video(db, owner), await make_video(db, owner)
            people = [await make_user(db, f"viewer{i:02d}") for i in range(10)]
        await enter(database, good, dull)
        for person in people:
            await watch(database, person, good, finish=True)
            await watch(database, person, dull, finish=False)
            async with database.transaction() as db:
                await engagement.like(db, user_id=person.id, video=good)
        await events.aggregate(database, settle_ms=0)
        verdicts = await promote(database)
        assert {(v.video_id, v.promoted) for v in verdicts} == {(good.id, True), (dull.id, False)}
        assert await stage_of(database, good) == pools.Stage(stage=1, status="testing", impressions=0, budget=100)
        assert await stage_of(database, dull) == pools.Stage(stage=0, status="settled", impressions=10, budget=10)
        async with database.transaction(write=False) as db:
            assert await pools.pool_candidates(db, 1, 5) == [good.id]
            assert await pools.pool_candidates(db, 0, 5) == []
        assert await promote(database) == []  # nothing is due any more: each video decided once


async def watch(database: Database, person: User, video: Video, *, finish: bool) -> None:
    now = clock.utcnow()
    kinds: list[tuple[str, dict[str, Any]]] = [("impression", {}), ("play", {})]
    kinds += [("complete", {}), ("watch", {"watch_ms": 2000})] if finish else [("skip", {"watch_ms": 400})]
    async with database.transaction() as db:
        await events.ingest(db, user_id=person.id, limits=events.Limits(), events=[
            events.EventIn(event_id=uuid.uuid4(), video_id=video.id, kind=kind, at=now, **extra)
            for kind, extra in kinds])


class TestPromotion:
    async def cohort(self, database: Database, n: int, *, completion: float, like: float) -> list[Video]:
        """`n` settled videos at stage 0 with these rates over 100 plays each."""
        async with database.transaction() as db:
            owner = await make_user(db, f"cohort{n}{int(completion * 100)}")
            made = [await make_video(db, owner) for _ in range(n)]
        await enter(database, *made)
        for video in made:
            await set_rates(database, video, impressions=100, plays=100, completes=round(completion * 100),
                            likes=round(like * 100))
        async with database.transaction() as db:
            await db.execute(update(PoolEntry).where(PoolEntry.video_id.in_([v.id for v in made]))
                             .values(status="settled"))
        return made

    async def candidate(self, database: Database, *, plays: int, completes: int, likes: int) -> Video:
        async with database.transaction() as db:
            video = await make_video(db, await make_user(db, f"new{uuid.uuid4().hex[:8]}"))
        await enter(database, video)
        await set_rates(database, video, impressions=max(plays, 10), plays=plays, completes=completes, likes=likes)
        return video

    async def test_beating_the_cohort_promotes(self, database: Database) -> None:
        await self.cohort(database, 4, completion=0.40, like=0.05)
        star = await self.candidate(database, plays=60, completes=45, likes=12)  # 75 % and 20 %
        (verdict,) = await promote(database)
        assert verdict.promoted and verdict.baseline == pytest.approx((0.40, 0.05))
        assert (await stage_of(database, star)) == pools.Stage(stage=1, status="testing", impressions=0, budget=100)

    async def test_above_the_average_but_within_the_margin_stays(self, database: Database) -> None:
        await self.cohort(database, 4, completion=0.40, like=0.05)
        # 50 % completion over 6 plays: above 40 %, but its lower bound (27 %) is not.
        lucky = await self.candidate(database, plays=6, completes=3, likes=3)
        (verdict,) = await promote(database)
        assert not verdict.promoted and verdict.completion_lower == pytest.approx(0.268, abs=0.001)
        assert (await stage_of(database, lucky)).status == "settled"  # type: ignore[union-attr]

    async def test_both_rates_must_beat_the_cohort(self, database: Database) -> None:
        await self.cohort(database, 4, completion=0.40, like=0.05)
        watched_not_liked = await self.candidate(database, plays=100, completes=90, likes=2)
        liked_not_watched = await self.candidate(database, plays=100, completes=20, likes=40)
        verdicts = await promote(database)
        assert [v.promoted for v in verdicts] == [False, False]
        for video in (watched_not_liked, liked_not_watched):
            assert (await stage_of(database, video)).status == "settled"  # type: ignore[union-attr]

    async def test_too_few_plays_settles_and_a_small_cohort_uses_the_baselines(self, database: Database) -> None:
        await self.cohort(database, 2, completion=0.95, like=0.90)  # too few to compare with
        few = await self.candidate(database, plays=4, completes=4, likes=4)
        fine = await self.candidate(database, plays=40, completes=30, likes=10)
        verdicts = {v.video_id: v for v in await promote(database)}
        assert not verdicts[few.id].promoted  # under min_plays
        assert verdicts[fine.id].promoted and verdicts[fine.id].baseline == (0.3, 0.03)

    async def test_under_budget_is_not_evaluated_and_the_top_stage_is_unbounded(self, database: Database) -> None:
        early = await self.candidate(database, plays=9, completes=9, likes=9)
        async with database.transaction() as db:
            await db.execute(update(PoolEntry).where(PoolEntry.video_id == early.id).values(stage_impressions=9))
        assert await promote(database) == []
        async with database.transaction() as db:
            await db.execute(update(PoolEntry).where(PoolEntry.video_id == early.id)
                             .values(stage=3, budget=None, stage_impressions=10**6))
        assert await promote(database) == []
        async with database.transaction(write=False) as db:
            assert await pools.pool_candidates(db, 3, 5) == [early.id]

    async def test_two_promotions_at_once_decide_each_video_once(self, database: Database) -> None:
        made = [await self.candidate(database, plays=50, completes=45, likes=20) for _ in range(6)]
        rules = dataclasses.replace(RULES, min_cohort=100)  # against the baselines: every one is promoted
        results = await asyncio.gather(promote(database, rules), promote(database, rules), promote(database, rules))
        assert sorted(v.video_id for run in results for v in run) == sorted(v.id for v in made)
        for video in made:
            assert (await stage_of(database, video)).stage == 1  # type: ignore[union-attr]


class TestWilson:
    def test_lower_bounds(self) -> None:
        assert pools.wilson_lower(0, 0, 1.28) == 0.0
        assert pools.wilson_lower(10, 10, 1.28) == pytest.approx(1 / (1 + 1.28**2 / 10))
        assert pools.wilson_lower(50, 100, 0) == pytest.approx(0.5)
        assert pools.wilson_lower(500, 1000, 1.28) > pools.wilson_lower(5, 10, 1.28)  # more data, tighter
        assert pools.wilson_lower(12, 10, 1.28) == pools.wilson_lower(10, 10, 1.28)  # capped at 100 %


class TestCreatorView:
    async def test_the_owner_sees_the_stage_and_others_do_not(self, client: httpx2.AsyncClient,
                                                              database: Database) -> None:
        owner = Browser(client)
        me = await owner.signup("creator")
        async with database.transaction() as db:
            row = await db.get(User, int(me["user"]["id"]))
            assert row is not None
            video = await make_video(db, row)
        await enter(database, video)
        mine = (await owner.get("/api/v1/me/videos")).json()[0]
        assert mine["pool"] == {"stage": 0, "status": "testing", "impressions": 0, "budget": 10}
        page = (await owner.get(f"/v/{video.id}", headers={"Accept-Language": "zh-CN"})).text
        assert "测试中：本阶段已曝光 0 / 10 次。" in page and 'aria-current="step"' in page

        async with database.transaction() as db:
            await db.execute(update(PoolEntry).values(status="settled", stage=2))
        page = (await owner.get(f"/v/{video.id}", headers={"Accept-Language": "zh-CN"})).text
        assert "流量池 · 热门流量池" in page and "已稳定在这一阶段" in page
        async with database.transaction() as db:
            await db.execute(update(PoolEntry).values(status="testing", stage=3, budget=None))
        page = (await owner.get(f"/v/{video.id}", headers={"Accept-Language": "en"})).text
        assert "Recommended widely: no impression limit." in page
        grid = (await owner.get("/me", headers={"Accept-Language": "en"})).text
        assert re.search(r'class="badge badge--pool">\s*Everyone\s*</span>', grid)

        stranger = Browser(client)
        client.cookies.clear()
        await stranger.signup("stranger")
        assert (await stranger.get(f"/api/v1/videos/{video.id}")).json()["pool"] is None
        assert 'id="pool-stage"' not in (await stranger.get(f"/v/{video.id}")).text
