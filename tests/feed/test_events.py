"""`POST /api/v1/feed/events`: batches written once, validated, and never on someone else's behalf."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import select, update

from shua.config import Settings
from shua.core import clock
from shua.core.db import Database
from shua.core.jobs import Job
from shua.feed.models import FeedEvent
from shua.media.models import DAILY, DELETED, FAILED, FRIENDS, PRIVATE, Video
from tests.conftest import table_count
from tests.factories import make_user, make_video
from tests.helpers import assert_problem
from tests.social.test_graph import User, sign_up

URL = "/api/v1/feed/events"


def ev(video: object, kind: str = "impression", **extra: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "video_id": str(getattr(video, "id", video)), "kind": kind,
            "at": clock.utcnow().isoformat(), **extra}


async def send(user: User, *events: dict[str, Any]) -> httpx2.Response:
    return await user.post(URL, json={"events": list(events)})


async def accepted(user: User, *events: dict[str, Any]) -> dict[str, Any]:
    r = await send(user, *events)
    assert r.status_code == 202, r.text
    return dict(r.json())


async def public_video(database: Database, handle: str = "creator", **kw: Any) -> Video:
    async with database.transaction() as db:
        owner = await make_user(db, handle)
        return await make_video(db, owner, **kw)


async def logged(database: Database) -> list[tuple[int, str, str, int]]:
    async with database.transaction(write=False) as db:
        rows = await db.execute(select(FeedEvent.user_id, FeedEvent.event_id, FeedEvent.kind, FeedEvent.watch_ms)
                                .order_by(FeedEvent.id))
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


class TestRecordEvents:
    async def test_a_batch_is_written_once_and_a_resend_counts_nothing(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        video = await public_video(database)
        batch = [ev(video), ev(video, "play", source="trending", request_id="req-1"),
                 ev(video, "watch", watch_ms=2000), ev(video, "complete")]
        assert await accepted(viewer, *batch) == {"accepted": 4, "duplicates": 0, "dropped": []}
        assert await accepted(viewer, *batch) == {"accepted": 0, "duplicates": 4, "dropped": []}
        again = [batch[0], batch[0], ev(video, "replay")]  # a repeat inside one batch, too
        assert await accepted(viewer, *again) == {"accepted": 1, "duplicates": 2, "dropped": []}
        rows = await logged(database)
        assert [kind for _, _, kind, _ in rows] == ["impression", "play", "watch", "complete", "replay"]
        assert {user_id for user_id, *_ in rows} == {int(viewer.id)}
        async with database.transaction(write=False) as db:
            play = (await db.scalars(select(FeedEvent).where(FeedEvent.kind == "play"))).one()
        assert (play.source, play.request_id, play.duration_ms) == ("trending", "req-1", 2000)

    async def test_the_viewing_history_is_in_the_data_export(self, client: httpx2.AsyncClient,
                                                               database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        video = await public_video(database)
        event = ev(video, "watch", watch_ms=2000, source="fresh")
        await accepted(viewer, event)
        exported = (await viewer.get("/api/v1/me/export")).json()["feed_events"]
        assert exported == [{"event_id": event["event_id"], "video_id": str(video.id), "kind": "watch",
                             "watch_ms": 2000, "replays": 0, "source": "fresh", "at": exported[0]["at"]}]

    async def test_the_same_event_id_from_two_users_is_two_events(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up(client, "alice"), await sign_up(client, "bob")
        video = await public_video(database)
        event = ev(video)
        assert (await accepted(a, event))["accepted"] == 1
        assert (await accepted(b, event))["accepted"] == 1  # ids are unique per user, not globally

    async def test_anonymous_viewers_cannot_send(self, client: httpx2.AsyncClient, database: Database) -> None:
        video = await public_video(database)
        assert_problem(await client.post(URL, json={"events": [ev(video)]}), 401, "auth.required")
        assert await table_count(database, "feed_events") == 0

    async def test_events_for_another_user_are_impossible(self, client: httpx2.AsyncClient,
                                                          database: Database) -> None:
        viewer, victim = await sign_up(client, "viewer"), await sign_up(client, "victim")
        video = await public_video(database)
        r = await send(viewer, {**ev(video), "user_id": victim.id})
        assert_problem(r, 422, "request.invalid")
        assert await table_count(database, "feed_events") == 0
        await accepted(viewer, ev(video))
        assert [user_id for user_id, *_ in await logged(database)] == [int(viewer.id)]

    async def test_events_for_a_deleted_or_unplayable_video_are_dropped(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        async with database.transaction() as db:
            owner = await make_user(db, "creator")
            gone = await make_video(db, owner, status=DELETED, deleted_at=clock.utcnow())
            failed = await make_video(db, owner, status=FAILED)
            unplayable = await make_video(db, owner, playable=False)
            daily = await make_video(db, owner, purpose=DAILY)
            fine = await make_video(db, owner)
        events = [ev(gone), ev(failed), ev(unplayable), ev(daily), ev(424242), ev(fine)]
        result = await accepted(viewer, *events)
        assert result["accepted"] == 1
        assert result["dropped"] == [{"event_id": e["event_id"], "reason": "video_unavailable"} for e in events[:5]]
        # Deleted after it was watched, before the batch arrived: the same.
        async with database.transaction() as db:
            await db.execute(update(Video).where(Video.id == fine.id).values(status=DELETED))
        late = ev(fine, "watch", watch_ms=1000)
        assert (await accepted(viewer, late))["dropped"] == [{"event_id": late["event_id"],
                                                              "reason": "video_unavailable"}]
        assert len(await logged(database)) == 1

    async def test_a_video_you_may_not_see_is_refused(self, client: httpx2.AsyncClient, database: Database) -> None:
        viewer, friend, stranger = (await sign_up(client, "viewer"), await sign_up(client, "friend"),
                                    await sign_up(client, "stranger"))
        await viewer.follow(friend)
        await friend.follow(viewer)
        async with database.transaction() as db:
            f_private = await make_video(db, await _user(db, friend), visibility=PRIVATE)
            f_friends = await make_video(db, await _user(db, friend), visibility=FRIENDS)
            s_friends = await make_video(db, await _user(db, stranger), visibility=FRIENDS)
            s_public = await make_video(db, await _user(db, stranger))
        assert (await stranger.post(f"/api/v1/users/{viewer.handle}/block")).status_code in (200, 204)
        events = [ev(f_private), ev(f_friends), ev(s_friends), ev(s_public)]
        result = await accepted(viewer, *events)
        assert result["accepted"] == 1  # the friend's friends-only video
        assert [d["event_id"] for d in result["dropped"]] == [events[0]["event_id"], events[2]["event_id"],
                                                               events[3]["event_id"]]
        assert {d["reason"] for d in result["dropped"]} == {"video_unavailable"}

    async def test_your_own_videos_do_not_count(self, client: httpx2.AsyncClient, database: Database) -> None:
        creator = await sign_up(client, "creator")
        async with database.transaction() as db:
            mine = await make_video(db, await _user(db, creator))
        event = ev(mine, "play")
        assert (await accepted(creator, event))["dropped"] == [{"event_id": event["event_id"], "reason": "own_video"}]

    async def test_clocks_far_ahead_or_events_too_old(self, client: httpx2.AsyncClient, database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        video = await public_video(database)
        now = clock.utcnow()
        future = ev(video, at=(now + timedelta(hours=1)).isoformat())
        skewed = ev(video, at=(now + timedelta(seconds=60)).isoformat())  # a little ahead: fine
        old = ev(video, at=(now - timedelta(days=4)).isoformat())
        yesterday = ev(video, at=(now - timedelta(days=1)).isoformat())
        far = ev(video, at="9999-12-31T23:59:59+00:00")
        result = await accepted(viewer, future, skewed, old, yesterday, far)
        assert result["accepted"] == 2
        assert [(d["event_id"], d["reason"]) for d in result["dropped"]] == [
            (future["event_id"], "future"), (old["event_id"], "too_old"), (far["event_id"], "future")]
        async with database.transaction(write=False) as db:
            times = list((await db.scalars(select(FeedEvent.at).order_by(FeedEvent.id))).all())
        assert max(times) <= clock.utcnow()  # a skewed client time is never stored in our future
        assert_problem(await send(viewer, ev(video, at="2026-12-01T10:00:00")), 422, "request.invalid")  # naive

    async def test_watch_time_within_duration_times_plays(self, client: httpx2.AsyncClient,
                                                          database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        video = await public_video(database)  # 2 s long; 2 s of slack
        for bad in (-1, 10**12, 2**63):
            assert_problem(await send(viewer, ev(video, "watch", watch_ms=bad), ev(video)), 422, "request.invalid")
        assert_problem(await send(viewer, ev(video, "watch", watch_ms=1000, replays=-1)), 422, "request.invalid")
        assert await table_count(database, "feed_events") == 0
        too_long = ev(video, "watch", watch_ms=4001)
        looped = ev(video, "watch", watch_ms=7900, replays=2)
        looped_too_long = ev(video, "watch", watch_ms=8100, replays=2)
        result = await accepted(viewer, too_long, looped, looped_too_long, ev(video, "watch", watch_ms=4000))
        assert result["accepted"] == 2
        assert {d["event_id"] for d in result["dropped"]} == {too_long["event_id"], looped_too_long["event_id"]}
        assert {d["reason"] for d in result["dropped"]} == {"watch_exceeds_duration"}

    async def test_unknown_kinds_and_bad_fields_refuse_the_batch(self, client: httpx2.AsyncClient,
                                                                 database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        video = await public_video(database)
        for bad in ({"kind": "teleport"}, {"event_id": "not-a-uuid"}, {"video_id": "-3"},
                    {"source": "x" * 33}, {"source": "bad\x00source"}, {"request_id": "a\nb"},
                    {"at": "yesterday"}):
            r = await send(viewer, ev(video), {**ev(video), **bad})
            assert_problem(r, 422, "request.invalid")
        assert_problem(await viewer.post(URL, json={"events": []}), 422, "request.invalid")
        assert await table_count(database, "feed_events") == 0

    async def test_a_batch_over_the_limit_is_refused_whole(self, client: httpx2.AsyncClient,
                                                           database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        video = await public_video(database)
        body = assert_problem(await send(viewer, *[ev(video) for _ in range(201)]), 413, "feed.batch_too_large")
        assert (body["max_batch"], body["received"]) == (200, 201)
        huge = json.dumps({"events": [ev(video) for _ in range(10_000)]})
        r = await client.post(URL, content=huge, headers={**viewer.headers, "Content-Type": "application/json"})
        assert_problem(r, 413, "request.too_large")
        assert await table_count(database, "feed_events") == 0
        assert (await accepted(viewer, *[ev(video) for _ in range(200)]))["accepted"] == 200

    async def test_a_skip_is_checked_against_n(self, client: httpx2.AsyncClient, database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        async with database.transaction() as db:
            video = await make_video(db, await make_user(db, "creator"), duration_ms=20_000)
        # As the web client reports a short view: the time on `watch`, and `skip` on its own.
        await accepted(viewer, ev(video, "watch", watch_ms=1200), ev(video, "skip"),
                       ev(video, "skip", watch_ms=2999), ev(video, "skip", watch_ms=12_000),
                       ev(video, "watch", watch_ms=500))
        assert [(kind, ms) for _, _, kind, ms in await logged(database)] == [
            ("watch", 1200), ("skip", 0), ("skip", 2999), ("watch", 12_000), ("watch", 500)]
        short = await public_video(database, "shorts", duration_ms=2000)
        await accepted(viewer, ev(short, "skip", watch_ms=2000))
        assert (await logged(database))[-1][2] == "watch"  # watched to the end: no skip

    async def test_empty_source_and_request_id_mean_none(self, client: httpx2.AsyncClient,
                                                         database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        video = await public_video(database)
        await accepted(viewer, ev(video, source="", request_id=""),
                       ev(video, source="following", request_id="9f0c2b1e.1764583200"))
        async with database.transaction(write=False) as db:
            rows = (await db.execute(select(FeedEvent.source, FeedEvent.request_id).order_by(FeedEvent.id))).all()
        assert [tuple(r) for r in rows] == [(None, None), ("following", "9f0c2b1e.1764583200")]

    async def test_the_first_batch_schedules_the_aggregate_job_once(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        video = await public_video(database)
        for _ in range(3):
            await accepted(viewer, ev(video))
        async with database.transaction(write=False) as db:
            queued = list((await db.scalars(select(Job).where(Job.name == "feed.aggregate"))).all())
        assert len(queued) == 1 and queued[0].run_at > clock.utcnow()

    async def test_two_sends_of_one_batch_at_once_count_once(self, client: httpx2.AsyncClient,
                                                             database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        video = await public_video(database)
        batch = [ev(video) for _ in range(50)]
        results = await asyncio.gather(*(accepted(viewer, *batch) for _ in range(4)))
        assert sum(r["accepted"] for r in results) == 50
        assert sum(r["duplicates"] for r in results) == 150
        assert await table_count(database, "feed_events") == 50


class TestRateLimit:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"feed_events_rate": "3/minute"})

    async def test_batches_are_rate_limited_per_user(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up(client, "alice"), await sign_up(client, "bob")
        video = await public_video(database)
        codes = [(await send(a, ev(video))).status_code for _ in range(4)]
        assert codes == [202, 202, 202, 429]
        assert (await send(b, ev(video))).status_code == 202
        assert await table_count(database, "feed_events") == 4


async def _user(db: Any, user: User) -> Any:
    from shua.accounts.models import User as UserRow

    return await db.get(UserRow, int(user.id))
