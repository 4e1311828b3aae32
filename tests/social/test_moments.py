"""Daily posts and moods: friends only, 24 hours, a viewers list for the author, and the Friends tab."""

from __future__ import annotations

import io

import httpx2
from PIL import Image

from shua.core import clock, jobs
from shua.core.db import Database
from shua.core.ids import parse_id
from shua.media.models import FRIENDS
from tests.factories import make_video
from tests.helpers import assert_problem
from tests.social.test_graph import User, sign_up, sign_up_all


def photo(width: int = 1200, height: int = 1600, *, exif: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), (200, 60, 90))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x0112] = 6  # "rotate 90° to be upright", as phones write it
        data[0x8825] = {2: (39.0, 54.0, 0.0)}  # a GPS position that must not survive
        img.save(out, "JPEG", exif=data)
    else:
        img.save(out, "PNG")
    return out.getvalue()


async def befriend(a: User, b: User) -> None:
    await a.follow(b)
    await b.follow(a)


async def post_photo(user: User, caption: str = "", data: bytes | None = None) -> httpx2.Response:
    return await user.post("/api/v1/daily/photo", files={"file": ("p.jpg", data or photo(), "image/jpeg")},
                           data={"caption": caption})


class TestDailyPosts:
    async def test_friends_see_it_strangers_do_not(self, client: httpx2.AsyncClient) -> None:
        me, friend, fan = await sign_up_all(client, "author", "friend", "fan")
        await befriend(me, friend)
        await fan.follow(me)
        r = await post_photo(me, "今天的晚霞 <b>hi</b>")
        assert r.status_code == 201, r.text
        post = r.json()
        assert post["caption"] == "今天的晚霞 <b>hi</b>" and post["kind"] == "photo" and post["view_count"] == 0
        url, photo_url = f"/api/v1/daily/{post['id']}", post["photo_url"]
        assert (await friend.get(url)).json()["seen"] is False
        for outsider in (fan, client):
            assert_problem(await outsider.get(url), 404, "social.daily_not_found")
            assert (await outsider.get(photo_url)).status_code == 404
        image = await friend.get(photo_url)
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert "private" in image.headers["cache-control"]
        assert [p["id"] for p in (await friend.get(f"/api/v1/users/{me.handle}/daily")).json()] == [post["id"]]
        assert (await fan.get(f"/api/v1/users/{me.handle}/daily")).json() == []

    async def test_photo_is_upright_small_and_without_exif(self, client: httpx2.AsyncClient) -> None:
        me = await sign_up(client, "author")
        post = (await post_photo(me, data=photo(3000, 2000, exif=True))).json()
        stored = Image.open(io.BytesIO((await me.get(post["photo_url"])).content))
        assert stored.size == (960, 1440)  # turned upright, longest side 1440
        assert not stored.getexif()

    async def test_viewers_list_is_the_authors_alone(self, client: httpx2.AsyncClient) -> None:
        me, f1, f2, stranger = await sign_up_all(client, "author", "friend1", "friend2", "stranger")
        await befriend(me, f1)
        await befriend(me, f2)
        post = (await post_photo(me)).json()
        for viewer in (f1, f2, f1):
            assert (await viewer.post(f"/api/v1/daily/{post['id']}/views")).status_code == 204
        assert (await me.post(f"/api/v1/daily/{post['id']}/views")).status_code == 204  # own look: not counted
        assert_problem(await stranger.post(f"/api/v1/daily/{post['id']}/views"), 404, "social.daily_not_found")
        viewers = (await me.get(f"/api/v1/daily/{post['id']}/viewers")).json()["items"]
        assert [v["user"]["handle"] for v in viewers] == ["friend2", "friend1"]
        assert (await me.get(f"/api/v1/daily/{post['id']}")).json()["view_count"] == 2
        assert (await f1.get(f"/api/v1/daily/{post['id']}")).json()["seen"] is True
        assert_problem(await f1.get(f"/api/v1/daily/{post['id']}/viewers"), 404, "social.daily_not_found")

    async def test_gone_after_a_day_even_by_direct_url(self, client: httpx2.AsyncClient, database: Database,
                                                       settings: object) -> None:
        me, friend = await sign_up_all(client, "author", "friend")
        await befriend(me, friend)
        post = (await post_photo(me)).json()
        clock.travel(23 * 3600)
        assert (await friend.get(f"/api/v1/daily/{post['id']}")).status_code == 200
        clock.travel(3601)  # 24 h and a second: hidden at read time, whatever the job did
        assert_problem(await friend.get(f"/api/v1/daily/{post['id']}"), 404, "social.daily_not_found")
        assert_problem(await me.get(f"/api/v1/daily/{post['id']}"), 404, "social.daily_not_found")
        assert (await friend.get(post["photo_url"])).status_code == 404
        assert (await friend.get("/api/v1/friends/daily")).json() == []
        await jobs.drain(database)  # and the job removes the file
        media = settings.effective_media_dir  # type: ignore[attr-defined]
        assert not list((media / "daily" / me.id).rglob("*.jpg"))

    async def test_author_deletes_it(self, client: httpx2.AsyncClient, database: Database) -> None:
        me, friend = await sign_up_all(client, "author", "friend")
        await befriend(me, friend)
        post = (await post_photo(me)).json()
        assert_problem(await friend.delete(f"/api/v1/daily/{post['id']}"), 404, "social.daily_not_found")
        assert (await me.delete(f"/api/v1/daily/{post['id']}")).status_code == 204
        assert_problem(await friend.get(f"/api/v1/daily/{post['id']}"), 404, "social.daily_not_found")

    async def test_bad_photos_change_nothing(self, client: httpx2.AsyncClient, database: Database) -> None:
        me = await sign_up(client, "author")
        assert_problem(await post_photo(me, data=b"not an image at all"), 422, "social.invalid_photo")
        assert_problem(await post_photo(me, data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), 422, "social.invalid_photo")
        assert_problem(await post_photo(me, caption="x" * 101), 422, "request.invalid")
        assert_problem(await post_photo(me, caption="line\nbreak"), 422, "request.invalid")
        r = await me.post("/api/v1/daily/photo", data={"caption": "no file"})
        assert_problem(r, 422, "request.invalid")
        assert (await me.get(f"/api/v1/users/{me.handle}/daily")).json() == []

    async def test_a_blocked_friend_loses_sight(self, client: httpx2.AsyncClient) -> None:
        me, friend = await sign_up_all(client, "author", "friend")
        await befriend(me, friend)
        post = (await post_photo(me)).json()
        await me.post(f"/api/v1/users/{friend.handle}/block")  # also ends the friendship
        assert_problem(await friend.get(f"/api/v1/daily/{post['id']}"), 404, "social.daily_not_found")


class TestMood:
    async def test_friends_see_a_mood_for_a_day(self, client: httpx2.AsyncClient) -> None:
        me, friend, fan = await sign_up_all(client, "author", "friend", "fan")
        await befriend(me, friend)
        await fan.follow(me)
        r = await me.put("/api/v1/me/mood", json={"tag": "happy", "text": "<script>x</script> 好开心"})
        assert r.status_code == 200, r.text
        assert (r.json()["emoji"], r.json()["visibility"]) == ("😊", "friends")
        mood = (await friend.get(f"/api/v1/users/{me.handle}/mood")).json()
        assert mood["text"] == "<script>x</script> 好开心"
        assert (await fan.get(f"/api/v1/users/{me.handle}/mood")).json() is None
        await me.put("/api/v1/me/mood", json={"tag": "tired", "visibility": "public"})
        assert (await fan.get(f"/api/v1/users/{me.handle}/mood")).json()["tag"] == "tired"  # replaced, public
        assert (await client.get(f"/api/v1/users/{me.handle}/mood")).json()["tag"] == "tired"
        clock.travel(24 * 3600 + 1)
        assert (await friend.get(f"/api/v1/users/{me.handle}/mood")).json() is None

    async def test_clear_and_bad_input(self, client: httpx2.AsyncClient) -> None:
        me = await sign_up(client, "author")
        await me.put("/api/v1/me/mood", json={"tag": "busy"})
        assert (await me.delete("/api/v1/me/mood")).status_code == 204
        assert (await me.get(f"/api/v1/users/{me.handle}/mood")).json() is None
        assert_problem(await me.put("/api/v1/me/mood", json={"tag": "grumpy"}), 422, "request.invalid")
        assert_problem(await me.put("/api/v1/me/mood", json={"tag": "sad", "text": "x" * 61}), 422, "request.invalid")
        assert_problem(await client.put("/api/v1/me/mood", json={"tag": "sad"}), 401, "auth.required")


class TestFriendsFeed:
    async def test_friends_videos_daily_posts_and_moods_newest_first(self, client: httpx2.AsyncClient,
                                                                      database: Database) -> None:
        me, friend, other = await sign_up_all(client, "viewer", "friend", "notfriend")
        await befriend(me, friend)
        await me.follow(other)  # followed, not a friend: not in the Friends tab
        async with database.transaction() as db:
            from shua.accounts.models import User as UserRow

            owner = await db.get(UserRow, parse_id(friend.id))
            stranger = await db.get(UserRow, parse_id(other.id))
            assert owner and stranger
            public = await make_video(db, owner, caption="public one")
            only_friends = await make_video(db, owner, caption="friends only", visibility=FRIENDS)
            await make_video(db, stranger, caption="not a friend's")
        daily = (await post_photo(friend, "日常")).json()
        await friend.put("/api/v1/me/mood", json={"tag": "travel", "text": "在大理"})
        page = (await me.get("/api/v1/friends/feed")).json()
        kinds = [(item["kind"], item["new"]) for item in page["items"]]
        assert kinds == [("mood", True), ("daily", True), ("video", True), ("video", True)]
        assert [item["video"]["id"] for item in page["items"] if item["kind"] == "video"] == [
            str(only_friends.id), str(public.id)]
        assert page["items"][1]["daily"]["id"] == daily["id"]
        assert page["last_visit_at"] is None

        assert (await me.post("/api/v1/friends/seen")).status_code == 204
        await friend.put("/api/v1/me/mood", json={"tag": "happy"})
        page = (await me.get("/api/v1/friends/feed")).json()
        assert [(i["kind"], i["new"]) for i in page["items"]] == [
            ("mood", True), ("daily", False), ("video", False), ("video", False)]  # the old mood was replaced
        assert (await other.get("/api/v1/friends/feed")).json()["items"] == []

    async def test_pages_across_kinds_without_repeats(self, client: httpx2.AsyncClient, database: Database) -> None:
        me, friend = await sign_up_all(client, "viewer", "friend")
        await befriend(me, friend)
        async with database.transaction() as db:
            from shua.accounts.models import User as UserRow

            owner = await db.get(UserRow, parse_id(friend.id))
            assert owner
            for i in range(14):
                await make_video(db, owner, caption=f"v{i}")
        for i in range(3):
            await post_photo(friend, f"d{i}")
        seen, cursor = [], None
        while True:
            r = await me.get("/api/v1/friends/feed", params={"cursor": cursor} if cursor else {})
            seen += [item["id"] for item in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 17 == len(set(seen)) and seen == sorted(seen, key=int, reverse=True)
        assert_problem(await client.get("/api/v1/friends/feed"), 401, "auth.required")


class TestDailyClip:
    async def test_a_clip_for_friends_that_never_reaches_feeds(self, client: httpx2.AsyncClient,
                                                              database: Database) -> None:
        from tests.media.test_videos import _upload

        me, friend = await sign_up_all(client, "author", "friend")
        await befriend(me, friend)
        data = await _clip_bytes()
        upload_id = await _upload(client, me.headers, data)
        r = await me.post("/api/v1/daily/video", json={"upload_id": upload_id, "caption": "下班路上"})
        assert r.status_code == 201, r.text
        post = r.json()
        assert post["kind"] == "video" and post["video"]["status"] == "uploaded"  # the author sees it processing
        assert_problem(await friend.get(f"/api/v1/daily/{post['id']}"), 404, "social.daily_not_found")
        assert (await friend.get(f"/api/v1/users/{me.handle}/daily")).json() == []  # not until it plays
        await jobs.drain(database)
        shown = (await friend.get(f"/api/v1/daily/{post['id']}")).json()
        assert shown["video"]["playable"] is True and shown["video"]["renditions"][0]["url"].startswith("/media/s/")
        assert (await me.get("/api/v1/me/videos")).json() == []  # not on the profile grid
        assert (await friend.get("/api/v1/feed")).json()["items"] == []  # nor in For You
        friends_tab = (await friend.get("/api/v1/friends/feed")).json()["items"]
        assert [i["kind"] for i in friends_tab] == ["daily"]

    async def test_a_clip_over_the_daily_limit_fails_readably(self, client: httpx2.AsyncClient,
                                                             database: Database, app: object) -> None:
        from tests.media.test_videos import _upload

        app.state.runtime.settings.max_daily_seconds = 1.0  # type: ignore[attr-defined]
        me = await sign_up(client, "author")
        upload_id = await _upload(client, me.headers, await _clip_bytes())
        post = (await me.post("/api/v1/daily/video", json={"upload_id": upload_id})).json()
        await jobs.drain(database)
        clip = (await me.get(f"/api/v1/daily/{post['id']}")).json()["video"]
        assert (clip["status"], clip["failure_code"]) == ("failed", "media.too_long")


_CLIP: bytes | None = None


async def _clip_bytes() -> bytes:
    global _CLIP
    if _CLIP is None:
        import asyncio
        import tempfile
        from pathlib import Path

        from shua.media.synth import synthesize

        with tempfile.TemporaryDirectory() as tmp:
            path = await asyncio.to_thread(synthesize, Path(tmp) / "c.mp4", duration=2.0, width=320, height=568,
                                           fps=24, audio=True, caption="日常")
            _CLIP = path.read_bytes()
    return _CLIP
