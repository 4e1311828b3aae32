"""Notifications: made by job handlers from follows, likes, comments and mentions; idempotent on
re-delivery; never about yourself or across a block; listed by category, marked read, counted."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
from sqlalchemy import func, select

from shua.accounts.models import User as UserRow
from shua.core import jobs
from shua.core.db import Database
from shua.core.live import Event
from shua.social import messaging_tasks
from shua.social.messaging_models import InboxStats, Notification
from tests.factories import make_video
from tests.helpers import PASSWORD, assert_problem
from tests.social.test_graph import User, sign_up, sign_up_all


async def video_of(database: Database, owner: User, **kw: Any) -> Any:
    async with database.transaction() as db:
        row = await db.get(UserRow, int(owner.id))
        assert row is not None
        return await make_video(db, row, **kw)


async def publish(database: Database, topic: str, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        await jobs.publish(db, topic, payload)
    await jobs.drain(database)


async def kinds(u: User, category: str = "all") -> list[tuple[str, str]]:
    r = await u.get("/api/v1/notifications", params={"category": category})
    assert r.status_code == 200, r.text
    return [(n["kind"], n["actor"]["handle"]) for n in r.json()["items"]]


async def counts(u: User) -> dict[str, int]:
    r = await u.get("/api/v1/me/unread")
    return {k: v for k, v in r.json().items() if k in ("followers", "interactions", "notifications")}


async def rows(database: Database) -> int:
    async with database.transaction(write=False) as db:
        return int(await db.scalar(select(func.count()).select_from(Notification)) or 0)


async def badge_row(database: Database, user_id: str) -> tuple[int, int]:
    async with database.transaction(write=False) as db:
        row = (await db.execute(select(InboxStats.unread_followers, InboxStats.unread_interactions)
                                .where(InboxStats.user_id == int(user_id)))).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


class TestFollowers:
    async def test_new_follower_then_friends(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await a.follow(b)
        await jobs.drain(database)
        assert await kinds(b) == [("new_follower", "alice")]
        assert await counts(b) == {"followers": 1, "interactions": 0, "notifications": 1}
        await b.follow(a)
        await jobs.drain(database)
        assert sorted(await kinds(a)) == [("friend_added", "bob"), ("new_follower", "bob")]
        assert await kinds(b) == [("friend_added", "alice"), ("new_follower", "alice")]
        assert await kinds(b, "interactions") == []

    async def test_follow_request_to_a_private_account(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await b.patch("/api/v1/me/privacy", json={"private_account": True})
        await a.follow(b)
        await jobs.drain(database)
        assert await kinds(b, "followers") == [("follow_request", "alice")]

    async def test_refollowing_does_not_notify_again(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        for _ in range(3):
            await a.follow(b)
            await a.delete(f"/api/v1/users/{b.handle}/follow")
        await jobs.drain(database)
        assert await kinds(b) == [("new_follower", "alice")] and (await counts(b))["followers"] == 1


class TestInteractions:
    async def test_like_and_its_redelivery(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        video = await video_of(database, b)
        event = {"user_id": a.id, "video_id": str(video.id), "owner_id": b.id}
        await publish(database, "social.liked", event)
        await publish(database, "social.liked", event)  # delivered again (at least once)
        assert await kinds(b) == [("like", "alice")]
        items = (await b.get("/api/v1/notifications")).json()["items"]
        assert items[0]["video_id"] == str(video.id) and items[0]["read"] is False
        assert await counts(b) == {"followers": 0, "interactions": 1, "notifications": 1}
        assert await badge_row(database, b.id) == (0, 1)

    async def test_concurrent_redeliveries_notify_once(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        payload = {"user_id": a.id, "video_id": str((await video_of(database, b)).id), "owner_id": b.id}
        await asyncio.gather(*(messaging_tasks.notify_liked(database, payload) for _ in range(4)))
        assert await rows(database) == 1 and await badge_row(database, b.id) == (0, 1)

    async def test_never_about_yourself(self, client: httpx2.AsyncClient, database: Database) -> None:
        b = await sign_up(client, "bob")
        video_id = str((await video_of(database, b)).id)
        await publish(database, "social.liked", {"user_id": b.id, "video_id": video_id, "owner_id": b.id})
        await publish(database, "social.commented", {
            "comment_id": "88", "video_id": video_id, "author_id": b.id, "video_owner_id": b.id, "parent_id": None,
            "reply_to_user_id": None, "mentions": [b.id]})
        assert await rows(database) == 0 and await counts(b) == {"followers": 0, "interactions": 0,
                                                                  "notifications": 0}

    async def test_never_across_a_block(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        video_id = str((await video_of(database, b)).id)
        like = {"user_id": a.id, "video_id": video_id, "owner_id": b.id}
        await b.post("/api/v1/users/alice/block")
        await publish(database, "social.liked", like)
        await publish(database, "social.comment_liked", {"user_id": b.id, "comment_id": "5",
                                                         "comment_author_id": a.id, "video_id": video_id})
        assert await rows(database) == 0
        await b.delete("/api/v1/users/alice/block")
        await publish(database, "social.liked", like)  # the same event is fine without the block
        assert await rows(database) == 1

    async def test_comment_reply_and_mentions(self, client: httpx2.AsyncClient, database: Database) -> None:
        owner, author, replied, mentioned, outsider = await sign_up_all(
            client, "owner", "author", "replied", "mentioned", "outsider")
        video = await video_of(database, owner, caption="猫")
        hidden = await video_of(database, owner, caption="私密", visibility="private")
        await publish(database, "social.commented", {
            "comment_id": "1001", "video_id": str(video.id), "author_id": author.id, "video_owner_id": owner.id,
            "parent_id": "1000", "reply_to_user_id": replied.id, "mentions": [mentioned.id, replied.id]})
        assert await kinds(owner) == [("comment", "author")]
        assert await kinds(replied) == [("reply", "author")]  # not also a mention
        assert await kinds(mentioned) == [("mention", "author")]
        item = (await replied.get("/api/v1/notifications")).json()["items"][0]
        assert item["subject_kind"] == "comment" and item["subject_id"] == "1001"
        assert item["video_id"] == str(video.id) and item["data"]["parent_id"] == "1000"
        # A reply to the owner is one reply; someone who may not see the video hears nothing.
        await publish(database, "social.commented", {
            "comment_id": "1002", "video_id": str(hidden.id), "author_id": owner.id, "video_owner_id": owner.id,
            "parent_id": None, "reply_to_user_id": None, "mentions": [outsider.id]})
        await publish(database, "social.commented", {
            "comment_id": "1003", "video_id": str(video.id), "author_id": author.id, "video_owner_id": owner.id,
            "parent_id": "1001", "reply_to_user_id": owner.id, "mentions": []})
        assert await kinds(owner) == [("reply", "author"), ("comment", "author")]
        assert await kinds(outsider) == []

    async def test_comment_like(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        video_id = str((await video_of(database, a)).id)
        await publish(database, "social.comment_liked", {"user_id": a.id, "comment_id": "55",
                                                         "comment_author_id": b.id, "video_id": video_id})
        items = (await b.get("/api/v1/notifications", params={"category": "interactions"})).json()["items"]
        assert [(n["kind"], n["subject_id"], n["video_id"]) for n in items] == [("comment_like", "55", video_id)]

    async def test_mentions_in_a_video_caption(self, client: httpx2.AsyncClient, database: Database) -> None:
        owner, friend, stranger = await sign_up_all(client, "owner", "friend", "stranger")
        assert (await owner.follow(friend)).status_code == 200
        assert (await friend.follow(owner)).status_code == 200
        await jobs.drain(database)
        public = await video_of(database, owner, caption="和 @friend @stranger @nobody_here @owner",
                                mentions=["friend", "stranger", "nobody_here", "owner"])
        close = await video_of(database, owner, caption="@friend @stranger", visibility="friends",
                               mentions=["friend", "stranger"])
        for video in (public, close):
            await publish(database, "video.ready", {"video_id": str(video.id), "owner_id": owner.id})
        assert await kinds(friend, "interactions") == [("mention", "owner"), ("mention", "owner")]
        assert await kinds(stranger) == [("mention", "owner")]  # the friends-only one is not for them
        assert (await kinds(owner, "interactions")) == []


class TestReading:
    async def test_mark_one_and_all_read(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b, c = await sign_up_all(client, "alice", "bob", "carol")
        await a.follow(b)
        await c.follow(b)
        video_id = str((await video_of(database, b)).id)
        await publish(database, "social.liked", {"user_id": a.id, "video_id": video_id, "owner_id": b.id})
        items = (await b.get("/api/v1/notifications")).json()["items"]
        assert await counts(b) == {"followers": 2, "interactions": 1, "notifications": 3}
        follow_id = next(n["id"] for n in items if n["kind"] == "new_follower")
        assert (await b.post(f"/api/v1/notifications/{follow_id}/read")).status_code == 204
        assert (await b.post(f"/api/v1/notifications/{follow_id}/read")).status_code == 204  # again: no change
        assert await counts(b) == {"followers": 1, "interactions": 1, "notifications": 2}
        r = await b.post("/api/v1/notifications/read", json={"category": "interactions"})
        assert r.json()["interactions"] == 0 and r.json()["followers"] == 1
        r = await b.post("/api/v1/notifications/read", json={})
        assert r.json()["total"] == 0
        assert all(n["read"] for n in (await b.get("/api/v1/notifications")).json()["items"])
        assert await badge_row(database, b.id) == (0, 0)

    async def test_someone_elses_notification_is_not_found(self, client: httpx2.AsyncClient,
                                                           database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await a.follow(b)
        await jobs.drain(database)
        theirs = (await b.get("/api/v1/notifications")).json()["items"][0]["id"]
        assert_problem(await a.post(f"/api/v1/notifications/{theirs}/read"), 404, "notifications.not_found")
        assert (await counts(b))["followers"] == 1

    async def test_pages_by_cursor(self, client: httpx2.AsyncClient, database: Database) -> None:
        b = await sign_up(client, "bob")
        likers = await sign_up_all(client, *[f"fan{n}" for n in range(25)])
        video_id = str((await video_of(database, b)).id)
        for liker in likers:
            async with database.transaction() as db:
                await jobs.publish(db, "social.liked", {"user_id": liker.id, "video_id": video_id, "owner_id": b.id})
        await jobs.drain(database)
        first = (await b.get("/api/v1/notifications")).json()
        second = (await b.get("/api/v1/notifications", params={"cursor": first["next_cursor"]})).json()
        assert len(first["items"]) == 20 and len(second["items"]) == 5 and second["next_cursor"] is None
        assert len({n["id"] for n in first["items"] + second["items"]}) == 25

    async def test_a_block_removes_what_is_between_them(self, client: httpx2.AsyncClient,
                                                        database: Database) -> None:
        a, b, c = await sign_up_all(client, "alice", "bob", "carol")
        await a.follow(b)
        await c.follow(b)
        await jobs.drain(database)
        await b.post("/api/v1/users/alice/block")
        await jobs.drain(database)
        assert await kinds(b) == [("new_follower", "carol")] and (await counts(b))["followers"] == 1

    async def test_a_deleted_account_stops_notifying(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b, c = await sign_up_all(client, "alice", "bob", "carol")
        await a.follow(b)
        await c.follow(b)
        await jobs.drain(database)
        await a.post("/api/v1/me/deletion", json={"password": PASSWORD})
        await jobs.drain(database)
        assert await kinds(b) == [("new_follower", "carol")] and (await counts(b))["followers"] == 1


class TestLive:
    async def test_a_new_notification_reaches_open_pages(self, client: httpx2.AsyncClient, database: Database,
                                                         app: Any) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        hub = app.state.runtime.live
        async with hub.subscribe(int(b.id)) as events:
            await a.follow(b)
            await jobs.drain(database)
            await hub.flush()
            got = [await events.get(within=5), await events.get(within=5)]
        assert {e.kind for e in got if e} == {"unread", "notification"}
        unread = next(e for e in got if e and e.kind == "unread")
        assert unread == Event("unread", {"messages": 0, "requests": 0, "followers": 1, "interactions": 0,
                                          "notifications": 1, "total": 1})
        notice = next(e for e in got if e and e.kind == "notification")
        assert notice.data["notification"]["kind"] == "new_follower"
        assert notice.data["notification"]["actor"]["handle"] == "alice"
