"""Likes, favourites and collections, shares, the counters a video carries in every read, and
the events the feed, analytics and notifications read."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
from sqlalchemy import event, select

from shua.accounts.models import User as UserRow
from shua.core import clock, jobs
from shua.core.db import Database
from shua.core.ids import parse_id
from shua.media.models import DELETED, FRIENDS, PRIVATE
from shua.social import engagement
from shua.social.engagement_models import Collection
from tests.factories import make_user, make_video
from tests.helpers import assert_problem
from tests.social.test_graph import User, sign_up, sign_up_all


async def video_of(database: Database, owner: User, **kw: Any) -> str:
    async with database.transaction() as db:
        row = await db.get(UserRow, parse_id(owner.id))
        assert row is not None
        return str((await make_video(db, row, **kw)).id)


async def events(database: Database, topic: str) -> list[dict[str, Any]]:
    async with database.transaction(write=False) as db:
        rows = await db.scalars(select(jobs.OutboxEvent).where(jobs.OutboxEvent.topic == topic)
                                .order_by(jobs.OutboxEvent.id))
        return [dict(r.payload) for r in rows]


async def engagement_of(user: User | httpx2.AsyncClient, vid: str) -> dict[str, Any]:
    r = await user.get(f"/api/v1/videos/{vid}/engagement")
    assert r.status_code == 200, r.text
    return dict(r.json())


class TestLike:
    async def test_like_twice_is_once_and_unlike_twice_is_harmless(self, client: httpx2.AsyncClient,
                                                                   database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        for _ in range(2):
            r = await bob.post(f"/api/v1/videos/{vid}/like")
            assert r.status_code == 200, r.text
            assert r.json()["stats"]["likes"] == 1 and r.json()["me"]["liked"] is True
        assert (await bob.stats(alice))["likes_received"] == 1
        assert await events(database, "social.liked") == [
            {"user_id": bob.id, "video_id": vid, "owner_id": alice.id}]
        for _ in range(2):
            r = await bob.delete(f"/api/v1/videos/{vid}/like")
            assert r.status_code == 200 and r.json()["stats"]["likes"] == 0 and r.json()["me"]["liked"] is False
        assert (await bob.stats(alice))["likes_received"] == 0
        assert await events(database, "social.unliked") == [{"user_id": bob.id, "video_id": vid}]

    async def test_video_and_feed_reads_carry_stats_and_my_state(self, client: httpx2.AsyncClient,
                                                                 database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        await bob.post(f"/api/v1/videos/{vid}/like")
        await bob.post(f"/api/v1/videos/{vid}/favourite")
        mine = (await bob.get(f"/api/v1/videos/{vid}")).json()
        assert mine["stats"] == {"likes": 1, "comments": 0, "shares": 0, "favourites": 1}
        assert mine["me"]["liked"] is True and mine["me"]["favourited"] is True
        anonymous = (await client.get("/api/v1/feed")).json()["items"][0]["video"]
        assert anonymous["stats"]["likes"] == 1
        assert anonymous["me"] == {"liked": False, "favourited": False, "collection_id": None}
        item = (await bob.get("/api/v1/feed")).json()["items"][0]
        assert item["video"]["me"]["liked"] is True
        assert (await alice.get("/api/v1/me/videos")).json()[0]["stats"]["favourites"] == 1

    async def test_a_feed_page_reads_engagement_in_constant_queries(self, app: Any, client: httpx2.AsyncClient,
                                                                    database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        first = await video_of(database, alice)
        await bob.post(f"/api/v1/videos/{first}/like")

        async def statements() -> int:
            seen: list[str] = []

            def count(*args: Any) -> None:
                seen.append(str(args[2]))

            engine = database.reader.sync_engine
            event.listen(engine, "before_cursor_execute", count)
            try:
                r = await bob.get("/api/v1/feed")
                assert r.status_code == 200
            finally:
                event.remove(engine, "before_cursor_execute", count)
            return len(seen)

        await statements()  # warm: For You computes its trending list once per process and TTL
        one = await statements()
        for _ in range(7):
            vid = await video_of(database, alice)
            await bob.post(f"/api/v1/videos/{vid}/like")
        app.state.runtime.extras["feed"].forget()  # the newest videos are shared for a few seconds
        await statements()  # warm again with the new list
        assert len((await bob.get("/api/v1/feed")).json()["items"]) == 8
        assert await statements() == one  # no query per video

    async def test_what_you_cannot_see_you_cannot_like(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        hidden = await video_of(database, alice, visibility=PRIVATE)
        friends_only = await video_of(database, alice, visibility=FRIENDS)
        gone = await video_of(database, alice, status=DELETED, deleted_at=clock.utcnow())
        processing = await video_of(database, alice, playable=False, status="transcoding")
        for vid in (hidden, friends_only, gone, processing, "999999", "0"):
            for method in ("post", "delete"):
                r = await getattr(bob, method)(f"/api/v1/videos/{vid}/like")
                assert r.status_code in (404, 422), r.text
                if r.status_code == 404:
                    assert r.json()["code"] == "media.video_not_found"
            assert_problem(await bob.post(f"/api/v1/videos/{vid}/favourite"), 404, "media.video_not_found") \
                if vid != "0" else None
        assert (await alice.post(f"/api/v1/videos/{hidden}/like")).status_code == 200  # the owner may
        visible = await video_of(database, alice)
        await carol.post(f"/api/v1/users/{alice.handle}/block")
        assert_problem(await alice.post(f"/api/v1/videos/{await video_of(database, carol)}/like"),
                       404, "media.video_not_found")
        assert_problem(await carol.post(f"/api/v1/videos/{visible}/like"), 404, "media.video_not_found")
        assert_problem(await client.post(f"/api/v1/videos/{visible}/like"), 401, "auth.required")
        assert (await engagement_of(alice, visible))["stats"]["likes"] == 0

    async def test_deleting_the_video_hides_it_and_its_engagement(self, client: httpx2.AsyncClient,
                                                                  database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        await bob.post(f"/api/v1/videos/{vid}/like")
        await bob.post(f"/api/v1/videos/{vid}/favourite")
        assert (await alice.delete(f"/api/v1/videos/{vid}")).status_code == 204
        await jobs.drain(database)
        assert_problem(await bob.get(f"/api/v1/videos/{vid}/engagement"), 404, "media.video_not_found")
        assert_problem(await bob.get(f"/api/v1/videos/{vid}/comments"), 404, "media.video_not_found")
        assert (await bob.get("/api/v1/me/favourites")).json()["items"] == []

    async def test_likes_are_rate_limited(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        codes = [(await bob.post(f"/api/v1/videos/{vid}/like")).status_code for _ in range(121)]
        assert codes[:120] == [200] * 120 and codes[120] == 429


class TestLikeConcurrency:
    async def test_twenty_people_at_once_count_twenty(self, database: Database) -> None:
        async with database.transaction() as db:
            star = await make_user(db, "star")
            fans = [await make_user(db, f"fan{i:02d}") for i in range(20)]
            video = await make_video(db, star)

        async def like(fan_id: int) -> None:
            async with database.transaction() as db:
                row = await db.get(type(video), video.id)
                assert row is not None
                await engagement.like(db, user_id=fan_id, video=row)

        await asyncio.gather(*(like(f.id) for f in fans))
        async with database.transaction(write=False) as db:
            assert (await engagement.stats_of_many(db, [video.id]))[video.id].likes == 20
            from shua.social import graph

            assert (await graph.stats_of(db, star.id)).likes_received == 20

    async def test_one_person_twice_at_once_counts_once(self, database: Database) -> None:
        async with database.transaction() as db:
            star, fan = await make_user(db, "star"), await make_user(db, "fan")
            video = await make_video(db, star)
            await engagement.ensure_stats(db, video.id)

        async def like() -> bool:
            async with database.transaction() as db:
                row = await db.get(type(video), video.id)
                assert row is not None
                return await engagement.like(db, user_id=fan.id, video=row)

        made = await asyncio.gather(*(like() for _ in range(6)))
        assert sorted(made) == [False] * 5 + [True]
        async with database.transaction(write=False) as db:
            assert (await engagement.stats_of_many(db, [video.id]))[video.id].likes == 1

        async def unlike() -> bool:
            async with database.transaction() as db:
                row = await db.get(type(video), video.id)
                assert row is not None
                return await engagement.unlike(db, user_id=fan.id, video=row)

        assert sorted(await asyncio.gather(*(unlike() for _ in range(4)))) == [False] * 3 + [True]
        async with database.transaction(write=False) as db:
            assert (await engagement.stats_of_many(db, [video.id]))[video.id].likes == 0


class TestFavourites:
    async def test_first_favourite_makes_the_default_collection(self, client: httpx2.AsyncClient,
                                                                database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        first, second = await video_of(database, alice), await video_of(database, alice)
        assert (await bob.get(f"/api/v1/users/{bob.handle}/collections")).json()["items"] == []
        r = await bob.post(f"/api/v1/videos/{first}/favourite")
        assert r.status_code == 200 and r.json()["stats"]["favourites"] == 1
        assert (await bob.post(f"/api/v1/videos/{first}/favourite")).json()["stats"]["favourites"] == 1
        await bob.post(f"/api/v1/videos/{second}/favourite", json={})
        folders = (await bob.get(f"/api/v1/users/{bob.handle}/collections")).json()["items"]
        assert [(f["name"], f["is_default"], f["is_private"], f["count"]) for f in folders] == [
            ("收藏", True, True, 2)]
        page = (await bob.get("/api/v1/me/favourites")).json()
        assert [v["id"] for v in page["items"]] == [second, first]
        assert page["items"][0]["me"]["favourited"] is True
        assert await events(database, "social.favourited") == [
            {"user_id": bob.id, "video_id": first}, {"user_id": bob.id, "video_id": second}]
        assert (await bob.get(f"/api/v1/users/{alice.handle}/collections")).json()["items"] == []

    async def test_collections_move_rename_share_and_delete(self, client: httpx2.AsyncClient,
                                                            database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        vid = await video_of(database, alice)
        r = await bob.post("/api/v1/me/collections", json={"name": "猫猫 <b>", "is_private": False})
        assert r.status_code == 201, r.text
        cats = r.json()
        assert cats["name"] == "猫猫 <b>" and cats["count"] == 0
        r = await bob.post(f"/api/v1/videos/{vid}/favourite", json={"collection_id": cats["id"]})
        assert r.json()["me"]["collection_id"] == cats["id"]
        default = (await bob.get(f"/api/v1/users/{bob.handle}/collections")).json()["items"][0]
        assert default["is_default"] and default["count"] == 0
        mine = (await bob.get("/api/v1/me/collections")).json()["items"]
        assert [(c["name"], c["count"]) for c in mine] == [("收藏", 0), ("猫猫 <b>", 1)]
        assert_problem(await client.get("/api/v1/me/collections"), 401, "auth.required")
        r = await bob.post(f"/api/v1/videos/{vid}/favourite", json={"collection_id": default["id"]})  # a move
        assert r.json()["stats"]["favourites"] == 1 and r.json()["me"]["collection_id"] == default["id"]
        await bob.post(f"/api/v1/videos/{vid}/favourite", json={"collection_id": cats["id"]})
        # a public collection is there for others; the default stays private
        theirs = (await carol.get(f"/api/v1/users/{bob.handle}/collections")).json()["items"]
        assert [c["id"] for c in theirs] == [cats["id"]]
        assert [v["id"] for v in (await carol.get(f"/api/v1/collections/{cats['id']}/videos")).json()["items"]] == [vid]
        assert_problem(await carol.get(f"/api/v1/collections/{default['id']}/videos"), 404,
                       "social.collection_not_found")
        r = await bob.patch(f"/api/v1/me/collections/{cats['id']}", json={"name": "私藏", "is_private": True})
        assert r.json()["name"] == "私藏" and r.json()["count"] == 1
        assert_problem(await carol.get(f"/api/v1/collections/{cats['id']}/videos"), 404, "social.collection_not_found")
        assert_problem(await carol.patch(f"/api/v1/me/collections/{cats['id']}", json={"name": "x"}), 404,
                       "social.collection_not_found")
        assert_problem(await carol.post(f"/api/v1/videos/{vid}/favourite", json={"collection_id": cats["id"]}),
                       404, "social.collection_not_found")
        assert_problem(await bob.delete(f"/api/v1/me/collections/{default['id']}"), 409, "social.default_collection")
        assert (await bob.delete(f"/api/v1/me/collections/{cats['id']}")).status_code == 204
        assert (await engagement_of(bob, vid))["stats"]["favourites"] == 0
        assert (await engagement_of(bob, vid))["me"]["favourited"] is False

    async def test_bad_collection_input(self, client: httpx2.AsyncClient) -> None:
        bob = await sign_up(client, "bob")
        for body in ({"name": ""}, {"name": "x" * 21}, {"name": "a\nb"}, {"name": "a\x00"}, {"name": "ok", "x": 1}):
            assert_problem(await bob.post("/api/v1/me/collections", json=body), 422, "request.invalid")

    async def test_two_first_favourites_at_once_make_one_default(self, database: Database) -> None:
        async with database.transaction() as db:
            star, fan = await make_user(db, "star"), await make_user(db, "fan")
            made = [await make_video(db, star) for _ in range(4)]

        async def favourite(video_id: int) -> None:
            async with database.transaction() as db:
                row = await db.get(type(made[0]), video_id)
                assert row is not None
                await engagement.favourite(db, user_id=fan.id, video=row)

        await asyncio.gather(*(favourite(v.id) for v in made))
        async with database.transaction(write=False) as db:
            folders = (await db.scalars(select(Collection).where(Collection.owner_id == fan.id))).all()
            assert len(folders) == 1
            page = await engagement.list_favourites(db, viewer_id=fan.id, owner_id=fan.id, collection_id=None,
                                                    cursor=None)
            assert len(page.videos) == 4

    async def test_favourites_page_by_cursor_and_drop_what_became_hidden(self, client: httpx2.AsyncClient,
                                                                         database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        made = [await video_of(database, alice) for _ in range(20)]
        for vid in made:
            await bob.post(f"/api/v1/videos/{vid}/favourite")
        await alice.patch(f"/api/v1/videos/{made[-1]}", json={"visibility": "private"})
        seen, cursor = [], None
        while True:
            r = await bob.get("/api/v1/me/favourites", params={"cursor": cursor} if cursor else {})
            assert r.status_code == 200, r.text
            seen += [v["id"] for v in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert seen == list(reversed(made[:-1]))
        assert_problem(await bob.get("/api/v1/me/favourites", params={"cursor": "bad"}), 422, "request.invalid")


class TestShares:
    async def test_every_share_counts_and_says_where(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        r = await bob.post(f"/api/v1/videos/{vid}/shares", json={"channel": "link"})
        assert r.status_code == 201 and r.json()["stats"]["shares"] == 1
        r = await bob.post(f"/api/v1/videos/{vid}/shares", json={})
        assert r.json()["stats"]["shares"] == 2
        async with database.transaction() as db:
            await engagement.record_share(db, user_id=int(bob.id), video_id=int(vid), channel="dm")
        assert (await engagement_of(client, vid))["stats"]["shares"] == 3
        assert [e["channel"] for e in await events(database, "social.shared")] == ["link", "link", "dm"]
        assert (await events(database, "social.shared"))[0] == {"user_id": bob.id, "video_id": vid,
                                                                 "owner_id": alice.id, "channel": "link"}
        assert_problem(await bob.post(f"/api/v1/videos/{vid}/shares", json={"channel": "fax"}), 422,
                       "request.invalid")
        secret = await video_of(database, alice, visibility=PRIVATE)
        assert_problem(await bob.post(f"/api/v1/videos/{secret}/shares", json={}), 404, "media.video_not_found")


class TestAccountDeletion:
    async def test_a_deleted_account_takes_its_likes_and_favourites_back(self, client: httpx2.AsyncClient,
                                                                         database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        await bob.post(f"/api/v1/videos/{vid}/like")
        await bob.post(f"/api/v1/videos/{vid}/favourite")
        r = await bob.post("/api/v1/me/deletion", json={"password": "Correct-Horse-42"})
        assert r.status_code == 202, r.text
        await jobs.drain(database)
        assert (await engagement_of(alice, vid))["stats"] == {"likes": 0, "comments": 0, "shares": 0,
                                                              "favourites": 0}
        assert (await alice.stats())["likes_received"] == 0


class TestExport:
    async def test_likes_and_collections_are_in_the_export(self, client: httpx2.AsyncClient,
                                                           database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        await bob.post(f"/api/v1/videos/{vid}/like")
        await bob.post(f"/api/v1/videos/{vid}/favourite")
        r = await bob.get("/api/v1/me/export")
        assert r.status_code == 200, r.text
        data = r.json()
        assert [like["video_id"] for like in data["likes"]] == [vid]
        assert data["collections"][0]["name"] == "收藏"
        assert [v["video_id"] for v in data["collections"][0]["videos"]] == [vid]
