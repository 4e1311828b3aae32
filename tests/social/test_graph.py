"""Follows, friends, follow requests, blocks, lists and privacy through the API."""

from __future__ import annotations

import asyncio

import httpx2

from shua.core import jobs
from shua.core.db import Database
from shua.social import graph
from tests.factories import make_user
from tests.helpers import assert_problem


class User:
    """An API client signed up as `handle`."""

    def __init__(self, client: httpx2.AsyncClient, handle: str, token: str, user_id: str) -> None:
        self.client, self.handle, self.id = client, handle, user_id
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, url: str, **kw: object) -> httpx2.Response:
        return await self.client.get(url, headers=self.headers, **kw)  # type: ignore[arg-type]

    async def post(self, url: str, **kw: object) -> httpx2.Response:
        return await self.client.post(url, headers=self.headers, **kw)  # type: ignore[arg-type]

    async def patch(self, url: str, **kw: object) -> httpx2.Response:
        return await self.client.patch(url, headers=self.headers, **kw)  # type: ignore[arg-type]

    async def put(self, url: str, **kw: object) -> httpx2.Response:
        return await self.client.put(url, headers=self.headers, **kw)  # type: ignore[arg-type]

    async def delete(self, url: str) -> httpx2.Response:
        return await self.client.delete(url, headers=self.headers)

    async def follow(self, other: User | str) -> httpx2.Response:
        return await self.post(f"/api/v1/users/{other.handle if isinstance(other, User) else other}/follow")

    async def stats(self, of: User | None = None) -> dict[str, int]:
        r = await self.get(f"/api/v1/users/{(of or self).handle}/profile")
        assert r.status_code == 200, r.text
        return dict(r.json()["stats"])


async def sign_up(client: httpx2.AsyncClient, handle: str, **extra: object) -> User:
    r = await client.post("/api/v1/auth/signup", json={"username": handle, "password": "Correct-Horse-42",
                                                       "session_kind": "api", **extra})
    assert r.status_code == 201, r.text
    return User(client, handle, r.json()["token"], r.json()["user"]["id"])


async def sign_up_all(client: httpx2.AsyncClient, *handles: str) -> list[User]:
    return [await sign_up(client, handle) for handle in handles]


async def ids(r: httpx2.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [item["user"]["id"] for item in r.json()["items"]]


class TestFollow:
    async def test_follow_back_makes_friends_and_unfollow_ends_it(self, client: httpx2.AsyncClient) -> None:
        a, b = await sign_up(client, "alice"), await sign_up(client, "bob")
        r = await a.follow(b)
        assert r.json()["status"] == "active"
        assert r.json()["relationship"] == {"following": "active", "followed_by": False, "friends": False,
                                            "blocking": False}
        assert (await a.follow(b)).status_code == 200  # twice is once
        assert await a.stats(b) == {"followers": 1, "following": 0, "friends": 0, "likes_received": 0}
        r = await b.follow(a)
        assert r.json()["relationship"]["friends"] is True
        assert (await a.stats())["friends"] == 1 and (await b.stats())["friends"] == 1
        assert await ids(await a.get(f"/api/v1/users/{a.handle}/friends")) == [b.id]
        profile = (await b.get(f"/api/v1/users/{a.handle}/profile")).json()
        assert profile["relationship"] == {"following": "active", "followed_by": True, "friends": True,
                                           "blocking": False}

        assert (await a.delete(f"/api/v1/users/{b.handle}/follow")).status_code == 204
        assert (await a.delete(f"/api/v1/users/{b.handle}/follow")).status_code == 204  # idempotent
        assert await a.stats() == {"followers": 1, "following": 0, "friends": 0, "likes_received": 0}
        assert await b.stats() == {"followers": 0, "following": 1, "friends": 0, "likes_received": 0}
        assert await ids(await a.get(f"/api/v1/users/{a.handle}/friends")) == []

    async def test_cannot_follow_yourself_or_nobody(self, client: httpx2.AsyncClient) -> None:
        a = await sign_up(client, "alice")
        assert_problem(await a.follow(a), 422, "social.follow_self")
        assert_problem(await a.follow("nobody_here"), 404, "accounts.user_not_found")
        assert_problem(await client.post("/api/v1/users/alice/follow"), 401, "auth.required")
        assert await a.stats() == {"followers": 0, "following": 0, "friends": 0, "likes_received": 0}

    async def test_remove_a_follower(self, client: httpx2.AsyncClient) -> None:
        a, b = await sign_up(client, "alice"), await sign_up(client, "bob")
        await b.follow(a)
        await a.follow(b)
        assert (await a.delete(f"/api/v1/me/followers/{b.id}")).status_code == 204
        assert (await a.stats())["followers"] == 0 and (await a.stats())["friends"] == 0
        assert (await b.stats())["following"] == 0

    async def test_follows_are_rate_limited(self, client: httpx2.AsyncClient, database: Database) -> None:
        a = await sign_up(client, "spammer")
        async with database.transaction() as db:
            for i in range(31):
                await make_user(db, f"target{i:02d}")
        codes = [(await a.follow(f"target{i:02d}")).status_code for i in range(31)]
        assert codes[:30] == [200] * 30 and codes[30] == 429
        assert (await a.stats())["following"] == 30


class TestFollowRequests:
    async def test_private_account_approves_or_turns_down(self, client: httpx2.AsyncClient) -> None:
        star, fan, other = await sign_up(client, "star"), await sign_up(client, "fan"), await sign_up(client, "other")
        r = await star.patch("/api/v1/me/privacy", json={"private_account": True})
        assert r.status_code == 200 and r.json()["private_account"] is True
        assert (await fan.follow(star)).json()["status"] == "pending"
        assert (await other.follow(star)).json()["status"] == "pending"
        assert (await star.stats())["followers"] == 0
        assert await ids(await star.get("/api/v1/me/follow-requests")) == [other.id, fan.id]
        assert (await star.post(f"/api/v1/me/follow-requests/{fan.id}")).status_code == 204
        assert (await star.delete(f"/api/v1/me/follow-requests/{other.id}")).status_code == 204
        assert_problem(await star.post(f"/api/v1/me/follow-requests/{other.id}"), 404, "social.request_not_found")
        assert (await star.stats())["followers"] == 1
        assert (await fan.get(f"/api/v1/users/{star.handle}/profile")).json()["can_see_videos"] is True
        assert (await other.get(f"/api/v1/users/{star.handle}/profile")).json()["can_see_videos"] is False

    async def test_going_public_approves_everyone_waiting(self, client: httpx2.AsyncClient) -> None:
        star, fan = await sign_up(client, "star"), await sign_up(client, "fan")
        await star.patch("/api/v1/me/privacy", json={"private_account": True})
        await fan.follow(star)
        await star.patch("/api/v1/me/privacy", json={"private_account": False})
        assert (await star.stats())["followers"] == 1
        assert await ids(await star.get("/api/v1/me/follow-requests")) == []


class TestBlock:
    async def test_block_ends_follows_and_hides_both_ways(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b, c = await sign_up(client, "alice"), await sign_up(client, "bob"), await sign_up(client, "carol")
        await a.follow(b)
        await b.follow(a)
        await c.follow(a)
        await b.follow(c)
        assert (await a.post(f"/api/v1/users/{b.handle}/block")).status_code == 204
        assert await a.stats() == {"followers": 1, "following": 0, "friends": 0, "likes_received": 0}
        assert (await b.stats())["following"] == 1 and (await b.stats())["followers"] == 0
        # b no longer finds a anywhere
        assert_problem(await b.get(f"/api/v1/users/{a.handle}/profile"), 404, "accounts.user_not_found")
        assert_problem(await b.get(f"/api/v1/users/{a.handle}"), 404, "accounts.user_not_found")
        assert_problem(await b.follow(a), 404, "accounts.user_not_found")
        assert_problem(await b.get(f"/api/v1/users/{a.handle}/followers"), 404, "accounts.user_not_found")
        await jobs.drain(database)
        assert a.id not in await ids_of_search(b, "alice")
        assert a.id not in await ids(await b.get(f"/api/v1/users/{c.handle}/following"))
        # and a must unblock before following again
        assert_problem(await a.follow(b), 409, "social.you_blocked")
        assert await ids(await a.get("/api/v1/me/blocks")) == [b.id]
        assert (await a.get(f"/api/v1/users/{b.handle}/profile")).json()["relationship"]["blocking"] is True
        assert (await a.delete(f"/api/v1/users/{b.handle}/block")).status_code == 204
        assert (await a.follow(b)).json()["status"] == "active"
        assert_problem(await a.post(f"/api/v1/users/{a.handle}/block"), 422, "social.block_self")


async def ids_of_search(user: User, q: str) -> list[str]:
    r = await user.get("/api/v1/people/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [item["user"]["id"] for item in r.json()]


class TestLists:
    async def test_pages_without_repeats(self, client: httpx2.AsyncClient, database: Database) -> None:
        star = await sign_up(client, "star")
        fans = [await sign_up(client, f"fan{i:02d}") for i in range(23)]
        for fan in fans:
            await fan.follow(star)
        seen, cursor = [], None
        while True:
            r = await star.get("/api/v1/users/star/followers", params={"cursor": cursor} if cursor else {})
            seen += await ids(r)
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert seen == [f.id for f in reversed(fans)]
        first = (await star.get("/api/v1/users/star/followers")).json()["items"][0]
        assert first["relationship"] == {"following": "none", "followed_by": True, "friends": False,
                                         "blocking": False}
        assert_problem(await star.get("/api/v1/users/star/followers", params={"cursor": "bad"}),
                       422, "request.invalid")

    async def test_private_lists_are_not_found_for_others(self, client: httpx2.AsyncClient) -> None:
        a, b = await sign_up(client, "alice"), await sign_up(client, "bob")
        await b.follow(a)
        await a.patch("/api/v1/me/privacy", json={"lists_private": True})
        for kind in ("followers", "following", "friends"):
            assert_problem(await b.get(f"/api/v1/users/alice/{kind}"), 404, "social.lists_private")
            assert_problem(await client.get(f"/api/v1/users/alice/{kind}"), 404, "social.lists_private")
            assert (await a.get(f"/api/v1/users/alice/{kind}")).status_code == 200
        assert (await b.get("/api/v1/users/alice/profile")).json()["stats"]["followers"] == 1  # counts stay public
        for url in ("/api/v1/me/follow-requests", "/api/v1/me/blocks", "/api/v1/me/privacy"):
            assert_problem(await client.get(url), 401, "auth.required")


class TestPrivacy:
    async def test_settings_round_trip_and_bad_values(self, client: httpx2.AsyncClient) -> None:
        a = await sign_up(client, "alice")
        assert (await a.get("/api/v1/me/privacy")).json() == {
            "private_account": False, "lists_private": False, "who_can_comment": "everyone",
            "who_can_message": "everyone", "findable_by_phone": False}
        r = await a.patch("/api/v1/me/privacy", json={"who_can_comment": "friends", "findable_by_phone": True})
        assert r.json()["who_can_comment"] == "friends" and r.json()["findable_by_phone"] is True
        assert_problem(await a.patch("/api/v1/me/privacy", json={"who_can_comment": "aliens"}), 422, "request.invalid")
        assert_problem(await a.patch("/api/v1/me/privacy", json={"spy": True}), 422, "request.invalid")
        assert (await a.get("/api/v1/me/privacy")).json()["who_can_comment"] == "friends"


class TestConcurrency:
    async def test_simultaneous_follow_backs_make_one_friendship(self, client: httpx2.AsyncClient,
                                                                 database: Database) -> None:
        async with database.transaction() as db:
            pairs = [(await make_user(db, f"left{i}"), await make_user(db, f"right{i}")) for i in range(6)]
            # Counter rows already there (any user with history): nothing else serialises the pair.
            await graph.ensure_stats(db, *(u.id for pair in pairs for u in pair))

        async def follow(follower_id: int, followee_id: int) -> None:
            async with database.transaction() as db:
                followee = await db.get(type(pairs[0][0]), followee_id)
                assert followee is not None
                await graph.follow(db, follower_id=follower_id, followee=followee)

        await asyncio.gather(*(follow(x.id, y.id) for x, y in pairs), *(follow(y.id, x.id) for x, y in pairs))
        async with database.transaction(write=False) as db:
            for x, y in pairs:
                assert await graph.are_friends(db, x.id, y.id) and await graph.are_friends(db, y.id, x.id)
                assert (await graph.stats_of(db, x.id)).friends == 1

    async def test_many_followers_at_once_count_exactly(self, database: Database) -> None:
        async with database.transaction() as db:
            star = await make_user(db, "star")
            fans = [await make_user(db, f"fan{i:02d}") for i in range(20)]

        async def follow(fan_id: int) -> None:
            async with database.transaction() as db:
                target = await db.get(type(star), star.id)
                assert target is not None
                await graph.follow(db, follower_id=fan_id, followee=target)

        await asyncio.gather(*(follow(f.id) for f in fans), *(follow(f.id) for f in fans[:5]))
        async with database.transaction(write=False) as db:
            assert (await graph.stats_of(db, star.id)).followers == 20


class TestAccountDeletion:
    async def test_a_deleted_account_leaves_others_counts_right(self, client: httpx2.AsyncClient,
                                                                database: Database) -> None:
        a, b = await sign_up(client, "alice"), await sign_up(client, "bob")
        await a.follow(b)
        await b.follow(a)
        r = await b.post("/api/v1/me/deletion", json={"password": "Correct-Horse-42"})
        assert r.status_code == 202, r.text
        await jobs.drain(database)
        assert await a.stats() == {"followers": 0, "following": 0, "friends": 0, "likes_received": 0}
