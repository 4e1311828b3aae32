"""The one visibility rule, as the media and feed contexts apply it: friends-only videos for
friends, private accounts for approved followers (with signed URLs), blocks hide everything."""

from __future__ import annotations

import httpx2

from shua.core.db import Database
from shua.core.ids import parse_id
from shua.media.models import FRIENDS, PRIVATE
from tests.factories import make_video
from tests.social.test_graph import User, sign_up, sign_up_all


async def _video(database: Database, owner: User, **kw: object) -> str:
    async with database.transaction() as db:
        from shua.accounts.models import User as UserRow

        row = await db.get(UserRow, parse_id(owner.id))
        assert row is not None
        return str((await make_video(db, row, **kw)).id)  # type: ignore[arg-type]


async def feed_ids(user: User | httpx2.AsyncClient) -> list[str]:
    r = await user.get("/api/v1/feed")
    return [item["video"]["id"] for item in r.json()["items"]]


class TestVideoVisibility:
    async def test_friends_only_is_for_friends(self, client: httpx2.AsyncClient, database: Database) -> None:
        owner, friend, fan = await sign_up_all(client, "owner", "friend", "fan")
        await owner.follow(friend)
        await friend.follow(owner)
        await fan.follow(owner)  # follows, but not followed back: not a friend
        vid = await _video(database, owner, visibility=FRIENDS)
        secret = await _video(database, owner, visibility=PRIVATE)
        assert (await friend.get(f"/api/v1/videos/{vid}")).status_code == 200
        for outsider in (fan, client):
            assert (await outsider.get(f"/api/v1/videos/{vid}")).status_code == 404
        assert (await friend.get(f"/api/v1/videos/{secret}")).status_code == 404
        url = (await friend.get(f"/api/v1/videos/{vid}")).json()["renditions"][0]["url"]
        assert url.startswith("/media/s/")  # signed: only who got it from the API may play it
        assert await feed_ids(friend) == []  # For You is public videos only

    async def test_private_account_is_for_approved_followers(self, client: httpx2.AsyncClient,
                                                             database: Database) -> None:
        owner, fan, stranger = await sign_up_all(client, "owner", "fan", "stranger")
        await owner.patch("/api/v1/me/privacy", json={"private_account": True})
        await fan.follow(owner)
        await owner.post(f"/api/v1/me/follow-requests/{fan.id}")
        vid = await _video(database, owner)
        assert (await stranger.get(f"/api/v1/videos/{vid}")).status_code == 404
        assert (await client.get(f"/api/v1/videos/{vid}")).status_code == 404
        r = await fan.get(f"/api/v1/videos/{vid}")
        assert r.status_code == 200 and r.json()["renditions"][0]["url"].startswith("/media/s/")
        assert (await client.get(f"/media/videos/{vid}/360p.mp4")).status_code == 404  # no open URL
        assert await feed_ids(stranger) == [] and await feed_ids(client) == []
        assert await feed_ids(fan) == [vid]

    async def test_blocks_hide_videos_both_ways(self, client: httpx2.AsyncClient, database: Database) -> None:
        owner, blocked = await sign_up(client, "owner"), await sign_up(client, "blocked")
        mine, theirs = await _video(database, owner), await _video(database, blocked)
        await owner.post(f"/api/v1/users/{blocked.handle}/block")
        assert (await blocked.get(f"/api/v1/videos/{mine}")).status_code == 404
        assert (await owner.get(f"/api/v1/videos/{theirs}")).status_code == 404
        assert await feed_ids(blocked) == [] and await feed_ids(owner) == []  # neither sees the other (nor self)
        assert sorted(await feed_ids(client)) == sorted([mine, theirs])
