"""Friend search (handle, nickname, pinyin, phone) and people you may know."""

from __future__ import annotations

import httpx2

from shua.core import jobs
from shua.core.db import Database
from shua.social.people import pinyin_keys
from tests.helpers import assert_problem
from tests.social.test_graph import User, sign_up, sign_up_all


async def found(user: User | httpx2.AsyncClient, q: str) -> list[str]:
    r = await user.get("/api/v1/people/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [item["user"]["handle"] for item in r.json()]


class TestPinyinKeys:
    def test_every_syllable_starts_a_run_and_initials(self) -> None:
        assert pinyin_keys("张三") == (" san zhangsan ", " zs ")

    def test_polyphonic_characters_index_every_reading(self) -> None:
        full, initials = pinyin_keys("曾小贤")
        assert " zengxiaoxian " in full and " cengxiaoxian " in full and " zxx " in initials

    def test_latin_and_emoji(self) -> None:
        assert pinyin_keys("Alice小美") == (" alicexiaomei mei xiaomei ", " axm ")
        assert pinyin_keys("😀") == ("", "")


class TestSearch:
    async def test_chinese_nickname_by_pinyin_initials_and_characters(self, client: httpx2.AsyncClient,
                                                                       database: Database) -> None:
        me = await sign_up(client, "searcher")
        await sign_up(client, "zs2026", nickname="张三")
        await sign_up(client, "lisi", nickname="李四")
        await sign_up(client, "zhangsanfeng", nickname="Sanfeng")
        await jobs.drain(database)  # the index follows account events
        assert await found(me, "zhangsan") == ["zhangsanfeng", "zs2026"]  # handle prefix ranks above pinyin
        assert await found(me, "张三") == ["zs2026"]
        assert await found(me, "张") == ["zs2026"]
        assert await found(me, "zs") == ["zs2026"]
        assert await found(me, "san") == ["zhangsanfeng", "zs2026"]  # nickname "Sanfeng" first, then pinyin
        assert await found(me, "Li Si") == ["lisi"]
        assert await found(me, "@lisi") == ["lisi"]
        assert await found(client, "lisi") == ["lisi"]  # logged out works too

    async def test_renames_are_found_under_the_new_name(self, client: httpx2.AsyncClient,
                                                        database: Database) -> None:
        me, other = await sign_up(client, "searcher"), await sign_up(client, "other", nickname="旧名")
        await other.patch("/api/v1/me", json={"nickname": "王五"})
        await jobs.drain(database)
        assert await found(me, "wangwu") == ["other"] and await found(me, "jiuming") == []

    async def test_phone_only_when_allowed(self, client: httpx2.AsyncClient, database: Database) -> None:
        me = await sign_up(client, "searcher")
        them = await sign_up(client, "phoned", phone="13800138000")
        await jobs.drain(database)
        assert await found(me, "13800138000") == []
        await them.patch("/api/v1/me/privacy", json={"findable_by_phone": True})
        assert await found(me, "138 0013 8000") == ["phoned"]
        assert await found(me, "+8613800138000") == ["phoned"]

    async def test_wildcards_match_only_themselves_and_bad_queries(self, client: httpx2.AsyncClient,
                                                                   database: Database) -> None:
        me = await sign_up(client, "searcher")
        await sign_up(client, "a_b_c")
        await jobs.drain(database)
        assert await found(me, "%") == [] and await found(me, "_") == ["a_b_c"]
        assert_problem(await me.get("/api/v1/people/search", params={"q": ""}), 422, "request.invalid")
        assert_problem(await me.get("/api/v1/people/search", params={"q": "x" * 41}), 422, "request.invalid")
        assert_problem(await me.get("/api/v1/people/search", params={"q": "a\x00b"}), 422, "request.invalid")


class TestSuggestions:
    async def test_friends_of_friends_ranked_and_explained(self, client: httpx2.AsyncClient) -> None:
        me = await sign_up(client, "myself")
        f1, f2, f3 = await sign_up_all(client, "friend1", "friend2", "friend3")
        two, one, fan = await sign_up_all(client, "twomutual", "onemutual", "fan")
        followed = await sign_up(client, "followed")

        async def befriend(x: User, y: User) -> None:
            await x.follow(y)
            await y.follow(x)

        for friend in (f1, f2, f3):
            await befriend(me, friend)
        await befriend(f1, two)
        await befriend(f2, two)
        await befriend(f3, one)
        await befriend(f3, followed)
        await me.follow(followed)  # already followed: not suggested
        await fan.follow(me)
        await one.follow(me)  # a friend of a friend who also follows you
        r = await me.get("/api/v1/people/suggestions")
        assert r.status_code == 200, r.text
        rows = [(p["user"]["handle"], p["mutual_friends"], p["follows_you"]) for p in r.json()]
        assert rows == [("twomutual", 2, False), ("onemutual", 1, True), ("fan", 0, True)]
        assert [p["relationship"]["followed_by"] for p in r.json()] == [False, True, True]
        await me.post("/api/v1/users/twomutual/block")
        assert [p["user"]["handle"] for p in (await me.get("/api/v1/people/suggestions")).json()] == [
            "onemutual", "fan"]
        assert_problem(await client.get("/api/v1/people/suggestions"), 401, "auth.required")


class TestReports:
    async def test_report_once_and_operators_see_it(self, client: httpx2.AsyncClient, database: Database) -> None:
        me, bad = await sign_up(client, "reporter"), await sign_up(client, "spammer")
        body = {"target_kind": "user", "target_id": bad.id, "reason": "spam", "detail": "<b>buy now</b>"}
        first = await me.post("/api/v1/reports", json=body)
        assert first.status_code == 201, first.text
        again = await me.post("/api/v1/reports", json={**body, "reason": "scam"})
        assert again.json()["id"] == first.json()["id"] and again.json()["reason"] == "scam"
        assert_problem(await me.post("/api/v1/reports", json={**body, "target_id": "12345"}),
                       404, "social.report_target_not_found")
        assert_problem(await me.post("/api/v1/reports", json={**body, "reason": "meh"}), 422, "request.invalid")
        assert_problem(await me.post("/api/v1/reports", json={**body, "detail": "x" * 501}), 422, "request.invalid")
        assert_problem(await me.get("/api/v1/admin/reports"), 403, "auth.admin_required")

    async def test_people_who_engage_with_your_videos(self, client: httpx2.AsyncClient, database: Database) -> None:
        from shua.accounts.models import User as UserRow
        from shua.core.ids import parse_id
        from tests.factories import make_video

        me, liker, commenter, quiet = await sign_up_all(client, "creator", "liker", "commenter", "quiet")
        async with database.transaction() as db:
            owner = await db.get(UserRow, parse_id(me.id))
            assert owner is not None
            video = await make_video(db, owner)
        assert (await liker.post(f"/api/v1/videos/{video.id}/like")).status_code in (200, 201)
        assert (await commenter.post(f"/api/v1/videos/{video.id}/comments", json={"body": "好看"})).status_code == 201
        assert (await commenter.post(f"/api/v1/videos/{video.id}/like")).status_code in (200, 201)
        rows = [(p["user"]["handle"], p["interactions"]) for p in (await me.get("/api/v1/people/suggestions")).json()]
        assert rows == [("commenter", 2), ("liker", 1)]
        await me.follow(liker)
        assert [p["user"]["handle"] for p in (await me.get("/api/v1/people/suggestions")).json()] == ["commenter"]

    async def test_videos_daily_posts_and_moods_can_be_reported_by_who_sees_them(
        self, client: httpx2.AsyncClient, database: Database
    ) -> None:
        import io

        from PIL import Image

        from shua.accounts.models import User as UserRow
        from shua.core.ids import parse_id
        from tests.factories import make_video

        owner, friend, stranger = await sign_up_all(client, "owner", "friend", "stranger")
        await owner.follow(friend)
        await friend.follow(owner)
        async with database.transaction() as db:
            row = await db.get(UserRow, parse_id(owner.id))
            assert row is not None
            public = await make_video(db, row)
            private = await make_video(db, row, visibility="private")
        out = io.BytesIO()
        Image.new("RGB", (64, 64)).save(out, "PNG")
        daily = (await owner.post("/api/v1/daily/photo", files={"file": ("p.png", out.getvalue(), "image/png")})).json()
        mood = (await owner.put("/api/v1/me/mood", json={"tag": "sad"})).json()

        async def report(user: User, kind: str, target: object) -> httpx2.Response:
            return await user.post("/api/v1/reports", json={"target_kind": kind, "target_id": str(target),
                                                           "reason": "other"})

        assert (await report(stranger, "video", public.id)).json()["target_owner_id"] == owner.id
        assert_problem(await report(stranger, "video", private.id), 404, "social.report_target_not_found")
        assert (await report(friend, "daily", daily["id"])).status_code == 201
        assert_problem(await report(stranger, "daily", daily["id"]), 404, "social.report_target_not_found")
        assert (await report(friend, "mood", mood["id"])).status_code == 201
        assert_problem(await report(stranger, "mood", mood["id"]), 404, "social.report_target_not_found")
