"""The hot-search list under a controlled clock, operators' pins and removals, suggestions
(prefix, pinyin, initials, people), history, guesses, and result clicks."""

from __future__ import annotations

from typing import Any

import httpx2
from sqlalchemy import select

from shua.accounts import service as accounts
from shua.core import audit, clock, jobs
from shua.core.db import Database
from shua.feed import events
from shua.feed.models import SEARCH_CLICK
from shua.search import hot, service
from shua.search.models import SearchClick
from shua.social import engagement, people
from tests.factories import make_user
from tests.search.test_search import post
from tests.social.test_graph import sign_up

HOUR = 3600.0


async def searches(database: Database, query: str, times: int) -> None:
    """`times` searches by different signed-out people, now."""
    async with database.transaction() as db:
        for _ in range(times):
            await service.log_search(db, user_id=None, query=query, tab="all", results=1)


async def terms(database: Database) -> list[tuple[str, str | None]]:
    async with database.transaction() as db:
        return [(i.term, i.badge) for i in await hot.hot_list(db)]


class TestHotList:
    async def test_rising_beats_big_and_steady(self, database: Database) -> None:
        for _ in range(hot.BASELINE_HOURS):  # a day of steady searching for 天气
            await searches(database, "天气", 20)
            clock.travel(HOUR)
        await searches(database, "天气", 20)
        await searches(database, "春晚 节目单", 12)  # from nothing to 12 this hour
        await hot.refresh(database)
        listed = await terms(database)
        assert listed[0] == ("春晚 节目单", "new")
        assert "天气" not in [t for t, _ in listed]  # big, but not rising
        clock.travel(HOUR)
        await searches(database, "天气", 200)  # a storm: ten times its usual volume
        await hot.refresh(database)
        listed = await terms(database)
        assert listed[0] == ("天气", "hot")
        assert ("春晚 节目单", None) not in listed or listed.index(("春晚 节目单", None)) > 0
        clock.travel(hot.BASELINE_HOURS * HOUR)  # a day later, nothing has happened since
        await hot.refresh(database)
        assert await terms(database) == []

    async def test_one_person_repeating_a_query_does_not_make_it_hot(self, client: httpx2.AsyncClient,
                                                                    database: Database) -> None:
        spammer = await sign_up(client, "spammer")
        for _ in range(30):
            assert (await spammer.get("/api/v1/search", params={"q": "刷榜"})).status_code == 200
        await hot.refresh(database)
        assert await terms(database) == []

    async def test_engagement_on_a_hashtag_counts(self, database: Database) -> None:
        async with database.transaction() as db:
            creator = await make_user(db, "creator")
        video = await post(database, creator, "舞蹈挑战 #新年舞")
        async with database.transaction() as db:
            for n in range(20):
                fan = await make_user(db, f"fan{n}")
                await engagement.like(db, user_id=fan.id, video=video)
        await jobs.drain(database)
        await hot.refresh(database)
        assert ("新年舞", "new") in await terms(database)

    async def test_searching_keeps_the_list_refreshed(self, client: httpx2.AsyncClient, database: Database) -> None:
        for n in range(5):
            viewer = await sign_up(client, f"viewer{n}")
            assert (await viewer.get("/api/v1/search", params={"q": "流星雨"})).status_code == 200
        await jobs.drain(database)  # the first search queued a refresh
        assert ("流星雨", "new") in await terms(database)
        r = await client.get("/api/v1/search/hot")
        top = r.json()[0]
        assert top == {"rank": 1, "term": "流星雨", "badge": "new", "pinned": False, "heat": top["heat"]}

    async def test_operators_pin_and_remove_audited(self, client: httpx2.AsyncClient, database: Database) -> None:
        from tests.helpers import assert_problem

        await searches(database, "地震", 10)
        await searches(database, "演唱会", 8)
        await hot.refresh(database)
        user = await sign_up(client, "someone")
        assert_problem(await user.put("/api/v1/admin/search/hot/x", json={"action": "remove"}), 403,
                       "auth.admin_required")
        root = await sign_up(client, "root")
        async with database.transaction() as db:
            await accounts.set_role(db, user_id=int(root.id), role="admin")
        r = await root.put("/api/v1/admin/search/hot/地震", json={"action": "remove"})
        assert r.status_code == 200, r.text
        r = await root.put("/api/v1/admin/search/hot/公告", json={"action": "pin", "position": 1})
        assert [(i["term"], i["pinned"]) for i in r.json()["items"]] == [("公告", True), ("演唱会", False)]
        await hot.refresh(database)  # overrides outlive refreshes
        assert [t for t, _ in await terms(database)] == ["公告", "演唱会"]
        r = await root.delete("/api/v1/admin/search/hot/地震")
        assert [i["term"] for i in r.json()["items"]] == ["公告", "地震", "演唱会"]
        assert_problem(await root.delete("/api/v1/admin/search/hot/地震"), 404, "search.override_not_found")
        for bad in ({"action": "feature"}, {"action": "pin", "position": 0}, {"action": "pin", "position": 51}):
            assert_problem(await root.put("/api/v1/admin/search/hot/x", json=bad), 422, "request.invalid")
        async with database.transaction() as db:
            log = [(e.action, e.target, e.actor_id) for e in await audit.entries(db, action_prefix="search.")]
        assert log == [("search.hot_restore", "地震", int(root.id)), ("search.hot_pin", "公告", int(root.id)),
                       ("search.hot_remove", "地震", int(root.id))]


class TestSuggestions:
    async def test_hashtags_by_prefix_pinyin_and_initials_people_by_initials(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        async with database.transaction() as db:
            zhang = await make_user(db, "zhang3", nickname="张三")
            await people.index_user(db, zhang)
        await post(database, zhang, "今天 #小猫咪")

        async def suggest(q: str) -> list[tuple[str, str]]:
            r = await client.get("/api/v1/search/suggestions", params={"q": q})
            assert r.status_code == 200, r.text
            return [(s["kind"], s["text"]) for s in r.json()]

        assert ("hashtag", "#小猫咪") in await suggest("小猫")
        assert ("hashtag", "#小猫咪") in await suggest("xiaom")
        assert ("hashtag", "#小猫咪") in await suggest("xmm")
        assert ("hashtag", "#小猫咪") in await suggest("#小")
        assert ("user", "张三") in await suggest("zs")
        assert await suggest("") == []

    async def test_a_query_is_offered_to_others_only_once_several_people_searched_it(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        first = await sign_up(client, "first")
        await first.get("/api/v1/search", params={"q": "火锅 推荐"})
        await hot.fold_searches(database)
        other = await sign_up(client, "other")
        r = await other.get("/api/v1/search/suggestions", params={"q": "火锅"})
        assert r.json() == []  # one person's search stays theirs
        r = await first.get("/api/v1/search/suggestions", params={"q": "火锅"})
        assert r.json()[0] == {"kind": "history", "text": "火锅 推荐", "user": None, "videos": 0}
        await searches(database, "火锅 推荐", hot.SUGGEST_MIN_SEARCHERS)
        # signed-out searches with no results do not count; these had results
        await hot.fold_searches(database)
        r = await other.get("/api/v1/search/suggestions", params={"q": "huoguo"})
        assert {"kind": "term", "text": "火锅 推荐", "user": None, "videos": 0} in r.json()


class TestHistoryGuessesClicks:
    async def test_history_is_newest_first_and_clearable(self, client: httpx2.AsyncClient) -> None:
        me = await sign_up(client, "mine")
        for q in ("猫", "狗", "猫"):
            await me.get("/api/v1/search", params={"q": q})
        assert (await me.get("/api/v1/search/history")).json() == ["猫", "狗"]
        assert (await me.delete("/api/v1/search/history?q=%E7%8C%AB")).status_code == 204
        assert (await me.get("/api/v1/search/history")).json() == ["狗"]
        assert (await me.delete("/api/v1/search/history")).status_code == 204
        assert (await me.get("/api/v1/search/history")).json() == []
        assert (await client.get("/api/v1/search/history")).status_code == 401

    async def test_guesses_come_from_what_you_liked(self, client: httpx2.AsyncClient, database: Database) -> None:
        me = await sign_up(client, "mine")
        async with database.transaction() as db:
            creator = await make_user(db, "creator")
        video = await post(database, creator, "围棋 入门 #围棋")
        assert (await me.post(f"/api/v1/videos/{video.id}/like")).status_code in (200, 201)
        r = await me.get("/api/v1/search/discover")
        assert r.status_code == 200 and "围棋" in r.json()["guesses"]
        await me.get("/api/v1/search", params={"q": "围棋"})
        assert "围棋" not in (await me.get("/api/v1/search/discover")).json()["guesses"]  # already searched

    async def test_clicks_are_recorded_for_the_searcher_only(self, client: httpx2.AsyncClient,
                                                             database: Database) -> None:
        from tests.helpers import assert_problem

        me, other = await sign_up(client, "mine"), await sign_up(client, "other")
        async with database.transaction() as db:
            creator = await make_user(db, "creator")
        video = await post(database, creator, "点我")
        r = (await me.get("/api/v1/search", params={"q": "点我"})).json()
        body: dict[str, Any] = {"search_id": r["search_id"], "video_id": r["videos"][0]["video"]["id"], "position": 0}
        assert (await me.post("/api/v1/search/clicks", json=body)).status_code == 204
        assert_problem(await other.post("/api/v1/search/clicks", json=body), 404, "search.not_found")
        assert_problem(await me.post("/api/v1/search/clicks", json={**body, "search_id": "1"}), 404,
                       "search.not_found")
        assert_problem(await me.post("/api/v1/search/clicks", json={**body, "position": -1}), 422, "request.invalid")
        assert_problem(await me.post("/api/v1/search/clicks", json={**body, "video_id": "42"}), 404,
                       "media.video_not_found")
        async with database.transaction() as db:
            clicks = (await db.scalars(select(SearchClick))).all()
        assert [(c.video_id, c.user_id) for c in clicks] == [(video.id, int(me.id))]
        await jobs.drain(database)  # the recommender hears of it: query → video, a taste signal
        async with database.transaction() as db:
            recent = await events.recent_events(db, int(me.id))
        assert [(e.video_id, e.kind, e.source) for e in recent] == [(video.id, SEARCH_CLICK, "search")]


class TestOperatorStats:
    async def test_search_mau_click_through_and_failing_queries(self, client: httpx2.AsyncClient,
                                                                database: Database) -> None:
        from tests.helpers import assert_problem

        async with database.transaction() as db:
            creator = await make_user(db, "creator")
        await post(database, creator, "有结果的视频")
        a, b = await sign_up(client, "searcher_a"), await sign_up(client, "searcher_b")
        found = (await a.get("/api/v1/search", params={"q": "有结果"})).json()
        await a.post("/api/v1/search/clicks", json={"search_id": found["search_id"],
                                                    "video_id": found["videos"][0]["video"]["id"]})
        await a.get("/api/v1/search", params={"q": "找不到的东西"})
        await b.get("/api/v1/search", params={"q": "找不到的东西"})
        await client.get("/api/v1/search", params={"q": "匿名"})
        assert_problem(await a.get("/api/v1/admin/search/stats"), 403, "auth.admin_required")
        async with database.transaction() as db:
            await accounts.set_role(db, user_id=int(b.id), role="admin")
        stats = (await b.get("/api/v1/admin/search/stats")).json()
        assert stats == {"searches_today": 4, "searchers_30d": 2, "anonymous_30d": 1, "click_through": 0.25,
                         "top_no_results": [{"query": "找不到的东西", "searches": 2}, {"query": "匿名", "searches": 1}]}


async def test_operators_can_ask_for_a_refresh_now(client: httpx2.AsyncClient, database: Database) -> None:
    await searches(database, "台风", 6)
    root = await sign_up(client, "root")
    async with database.transaction() as db:
        await accounts.set_role(db, user_id=int(root.id), role="admin")
    assert (await root.post("/api/v1/admin/search/hot/refresh")).status_code == 202
    await jobs.drain(database)
    assert ("台风", "new") in await terms(database)
