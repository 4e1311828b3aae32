"""Search through the API: finding videos by Chinese words, characters, pinyin, English,
hashtags, handles and creator names; ranking; filters; tabs; visibility; indexing driven by
the outbox; bad input. Runs on SQLite FTS5 and on PostgreSQL full-text search alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import event, func, select, text, update

from shua.accounts.models import User as UserRow
from shua.core import clock, jobs
from shua.core.db import Database
from shua.media import videos
from shua.media.models import FRIENDS, PRIVATE, Video
from shua.search import index, service
from shua.search.models import Hashtag, SearchDoc, SearchLog
from shua.social import engagement, graph, people
from tests.factories import make_user, make_video
from tests.helpers import assert_problem
from tests.social.test_graph import User, sign_up


async def post(database: Database, owner: Any, caption: str, **extra: Any) -> Video:
    """A published video, indexed as the outbox would have it."""
    async with database.transaction() as db:
        video = await make_video(db, owner, caption=caption, hashtags=videos.parse_caption(caption)[0], **extra)
    async with database.transaction() as db:
        await index.index_video(db, video.id)
    return video


async def found(client: httpx2.AsyncClient | User, q: str, **params: Any) -> list[str]:
    r = await client.get("/api/v1/search", params={"q": q, "tab": "videos", **params})
    assert r.status_code == 200, r.text
    return [hit["video"]["caption"] for hit in r.json()["videos"]]


@pytest.fixture
async def creator(database: Database) -> Any:
    async with database.transaction() as db:
        return await make_user(db, "aming", nickname="阿明同学")


class TestFinding:
    async def test_chinese_words_characters_pinyin_english_hashtags(self, client: httpx2.AsyncClient,
                                                                     database: Database, creator: Any) -> None:
        await post(database, creator, "小猫咪在沙发上睡觉 #猫咪日常")
        await post(database, creator, "Funny cats and a sleepy dog #pets")
        await post(database, creator, "成都火锅探店 #成都美食")
        assert await found(client, "小猫咪") == ["小猫咪在沙发上睡觉 #猫咪日常"]
        assert await found(client, "猫") == ["小猫咪在沙发上睡觉 #猫咪日常"]  # one character finds 小猫 and 猫咪
        assert await found(client, "xiaomao") == ["小猫咪在沙发上睡觉 #猫咪日常"]  # pinyin
        assert await found(client, "xiao mao") == ["小猫咪在沙发上睡觉 #猫咪日常"]
        assert await found(client, "cat") == ["Funny cats and a sleepy dog #pets"]  # cats → cat
        assert await found(client, "CATS") == ["Funny cats and a sleepy dog #pets"]
        assert await found(client, "#成都美食") == ["成都火锅探店 #成都美食"]
        assert await found(client, "火锅") == ["成都火锅探店 #成都美食"]
        assert await found(client, "ｃａｔ") == ["Funny cats and a sleepy dog #pets"]  # full-width folds
        assert await found(client, "狗狗跳舞") == []

    async def test_the_creator_and_structured_hashtags_are_searchable(self, client: httpx2.AsyncClient,
                                                                      database: Database, creator: Any) -> None:
        await post(database, creator, "今天的午后")
        assert await found(client, "阿明同学") == ["今天的午后"]  # the creator's nickname, never in the caption
        assert await found(client, "@aming") == ["今天的午后"]
        async with database.transaction() as db:
            video = await make_video(db, creator, caption="没有话题的标题", hashtags=["萌宠"])
            await index.index_video(db, video.id)
        assert await found(client, "萌宠") == ["没有话题的标题"]

    async def test_category_and_cover_text_are_searchable(self, client: httpx2.AsyncClient,
                                                          database: Database, creator: Any) -> None:
        await post(database, creator, "今天做了一道菜", category="food")
        await post(database, creator, "随手拍", cover_text="洱海骑行")
        await post(database, creator, "没有分类的视频")
        # Neither the caption nor the hashtags say it: the category's names (both UI languages)
        # and the title over the cover do.
        assert await found(client, "美食") == ["今天做了一道菜"]
        assert await found(client, "food") == ["今天做了一道菜"]
        assert await found(client, "meishi") == ["今天做了一道菜"]
        assert await found(client, "骑行") == ["随手拍"]
        assert await found(client, "洱海") == ["随手拍"]

    async def test_jieba_cuts_by_context_but_bigrams_still_match(self, client: httpx2.AsyncClient,
                                                                 database: Database, creator: Any) -> None:
        await post(database, creator, "周末去看同城热点活动")
        assert await found(client, "同城热点") == ["周末去看同城热点活动"]

    async def test_or_of_terms_with_documents_matching_all_first(self, client: httpx2.AsyncClient,
                                                                 database: Database, creator: Any) -> None:
        await post(database, creator, "猫咪 日常")
        await post(database, creator, "跳舞 教学 零基础")
        await post(database, creator, "猫咪 跳舞 太可爱")
        results = await found(client, "猫咪跳舞")
        assert results[0] == "猫咪 跳舞 太可爱"
        assert set(results) == {"猫咪 日常", "跳舞 教学 零基础", "猫咪 跳舞 太可爱"}  # OR, not AND

    async def test_popularity_and_freshness_break_text_ties(self, client: httpx2.AsyncClient,
                                                            database: Database, creator: Any) -> None:
        liked = await post(database, creator, "旅行 vlog", created_at=clock.utcnow() - timedelta(days=200))
        old = await post(database, creator, "旅行 vlog", created_at=clock.utcnow() - timedelta(days=200))
        async with database.transaction() as db:
            for n in range(30):
                fan = await make_user(db, f"fan{n}")
                await engagement.like(db, user_id=fan.id, video=liked)
        await jobs.drain(database)  # the likes reach the document's popularity
        new = await post(database, creator, "旅行 vlog")
        r = await client.get("/api/v1/search", params={"q": "旅行", "tab": "videos"})
        order = [hit["video"]["id"] for hit in r.json()["videos"]]
        assert order.index(str(liked.id)) < order.index(str(old.id))
        assert order.index(str(new.id)) < order.index(str(old.id))
        r = await client.get("/api/v1/search", params={"q": "旅行", "tab": "videos", "sort": "likes"})
        assert r.json()["videos"][0]["video"]["id"] == str(liked.id)
        r = await client.get("/api/v1/search", params={"q": "旅行", "tab": "videos", "sort": "newest"})
        assert r.json()["videos"][0]["video"]["id"] == str(new.id)
        async with database.transaction() as db:
            assert (await db.get(SearchDoc, liked.id)).popularity == 30  # type: ignore[union-attr]
            fan = await make_user(db, "unfan")
            await engagement.like(db, user_id=fan.id, video=old)
            await engagement.unlike(db, user_id=fan.id, video=old)
        await jobs.drain(database)
        async with database.transaction() as db:
            assert (await db.get(SearchDoc, old.id)).popularity == 0  # type: ignore[union-attr]
            await index.index_video(db, liked.id)  # a reindex sets the exact figure
            assert (await db.get(SearchDoc, liked.id)).popularity == 30  # type: ignore[union-attr]


class TestFiltersTabsAndPages:
    async def test_period_and_length_filters(self, client: httpx2.AsyncClient, database: Database,
                                             creator: Any) -> None:
        await post(database, creator, "健身 短", duration_ms=20_000)
        await post(database, creator, "健身 中", duration_ms=120_000)
        await post(database, creator, "健身 长 旧", duration_ms=400_000, created_at=clock.utcnow() - timedelta(days=30))
        assert set(await found(client, "健身", length="short")) == {"健身 短"}
        assert set(await found(client, "健身", length="medium")) == {"健身 中"}
        assert set(await found(client, "健身", length="long")) == {"健身 长 旧"}
        assert set(await found(client, "健身", period="week")) == {"健身 短", "健身 中"}
        assert len(await found(client, "健身", period="half_year")) == 3
        for bad in ({"sort": "random"}, {"period": "year"}, {"length": "huge"}, {"tab": "shops"}):
            assert_problem(await client.get("/api/v1/search", params={"q": "健身", **bad}), 422, "request.invalid")

    async def test_pages_continue_without_repeats(self, client: httpx2.AsyncClient, database: Database,
                                                  creator: Any) -> None:
        for n in range(25):
            await post(database, creator, f"美食 第{n}集")
        first = (await client.get("/api/v1/search", params={"q": "美食", "tab": "videos"})).json()
        assert len(first["videos"]) == 20 and first["next_cursor"]
        second = (await client.get("/api/v1/search", params={"q": "美食", "tab": "videos",
                                                             "cursor": first["next_cursor"]})).json()
        ids = [h["video"]["id"] for h in first["videos"] + second["videos"]]
        assert len(ids) == len(set(ids)) == 25 and second["next_cursor"] is None
        assert second["search_id"] is None  # a page scrolled is not another search
        r = await client.get("/api/v1/search", params={"q": "美食", "cursor": "nope"})
        assert_problem(r, 422, "request.invalid")

    async def test_users_and_hashtags_tabs(self, client: httpx2.AsyncClient, database: Database) -> None:
        async with database.transaction() as db:
            zhang = await make_user(db, "zhangsan01", nickname="张三")
            await people.index_user(db, zhang)
        await post(database, zhang, "第一条 #猫咪日常")
        await post(database, zhang, "第二条 #猫咪日常 #猫咪")
        r = (await client.get("/api/v1/search", params={"q": "zhangsan", "tab": "users"})).json()
        assert [p["user"]["nickname"] for p in r["users"]] == ["张三"] and r["videos"] == []
        r = (await client.get("/api/v1/search", params={"q": "猫咪", "tab": "hashtags"})).json()
        assert r["hashtags"] == [{"tag": "猫咪", "videos": 1}, {"tag": "猫咪日常", "videos": 2}]  # exact first
        r = (await client.get("/api/v1/search", params={"q": "张三"})).json()  # 综合 All
        assert r["users"][0]["user"]["nickname"] == "张三" and len(r["videos"]) == 2


class TestVisibility:
    async def test_private_friends_only_blocked_and_private_accounts(self, client: httpx2.AsyncClient,
                                                                     database: Database) -> None:
        viewer = await sign_up(client, "viewer")
        async with database.transaction() as db:
            me = await db.get(UserRow, int(viewer.id))
            friend, blocker, blocked = (await make_user(db, "pal"), await make_user(db, "blocker"),
                                        await make_user(db, "blocked"))
            closed = await make_user(db, "closed")
            await graph.follow(db, follower_id=friend.id, followee=me)
            await graph.follow(db, follower_id=me.id, followee=friend)
            await graph.block(db, blocker_id=blocker.id, blocked_id=me.id)
            await graph.block(db, blocker_id=me.id, blocked_id=blocked.id)
            await graph.update_privacy(db, user_id=closed.id, private_account=True)
        await post(database, friend, "秘密 朋友可见", visibility=FRIENDS)
        await post(database, friend, "秘密 仅自己", visibility=PRIVATE)
        await post(database, blocker, "秘密 拉黑了我")
        await post(database, blocked, "秘密 我拉黑的")
        await post(database, closed, "秘密 私密账号")
        assert await found(viewer, "秘密") == ["秘密 朋友可见"]
        assert set(await found(client, "秘密")) == {"秘密 拉黑了我", "秘密 我拉黑的"}  # signed out: public ones
        assert await found(viewer, "@blocker") == [] and await found(viewer, "@blocked") == []
        users = (await viewer.get("/api/v1/search", params={"q": "blocke", "tab": "users"})).json()["users"]
        assert users == []  # neither side of a block finds the other
        async with database.transaction() as db:
            outsider = await make_user(db, "outsider")
            await graph.follow(db, follower_id=outsider.id, followee=closed)  # a request until approved
            pending = await service.search_videos(db, viewer_id=outsider.id, query="秘密")
        async with database.transaction() as db:
            await graph.approve_request(db, user_id=closed.id, follower_id=outsider.id)
        async with database.transaction() as db:
            approved = await service.search_videos(db, viewer_id=outsider.id, query="秘密")
        assert "秘密 私密账号" not in [v.caption for v in pending.videos]
        assert "秘密 私密账号" in [v.caption for v in approved.videos]

    async def test_a_signed_in_search_reads_the_viewers_friends_once(self, database: Database) -> None:
        async with database.transaction() as db:
            me, pal = await make_user(db, "me"), await make_user(db, "pal")
            await graph.follow(db, follower_id=pal.id, followee=me)
            await graph.follow(db, follower_id=me.id, followee=pal)
        await post(database, pal, "秘密 朋友可见", visibility=FRIENDS)
        statements: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engine = database.reader.sync_engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            async with database.transaction(write=False) as db:
                results = await service.search_videos(db, viewer_id=me.id, query="秘密")
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert [v.caption for v in results.videos] == ["秘密 朋友可见"]
        # Search's rule and the page's check against the videos table share one read of them.
        assert sum("FROM friendships" in s for s in statements) == 1, statements

    async def test_a_document_added_in_the_same_transaction_is_found(self, database: Database) -> None:
        async with database.transaction() as db:
            db.add(SearchDoc(id=4242, kind="video", owner_id=None, words="独一无二", grams="独一 一无 无二"))
            assert await service.text_ranked(db, "独一无二") == [4242]  # flushed before the engine query

    async def test_deleted_videos_vanish_at_once_and_their_documents_with_the_job(
            self, client: httpx2.AsyncClient, database: Database, creator: Any) -> None:
        video = await post(database, creator, "马上删除的视频")
        assert await found(client, "删除") == ["马上删除的视频"]
        async with database.transaction() as db:
            await videos.delete_video(db, owner_id=creator.id, video_id=video.id)
        assert await found(client, "删除") == []  # before any job ran
        await jobs.drain(database)
        async with database.transaction() as db:
            assert await db.get(SearchDoc, video.id) is None


class TestPostgresQueryPlans:
    async def test_the_query_is_bound_as_a_tsquery_and_a_generic_plan_finds_the_same(
            self, database: Database, creator: Any) -> None:
        if database.is_sqlite:
            pytest.skip("PostgreSQL only: how its prepared statements bind the query")
        for caption in ("可爱的小猫", "小猫睡觉", "可爱的小狗"):
            await post(database, creator, caption)
        statements: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        async def search(mode: str) -> list[str]:
            async with database.transaction(write=False) as db:
                await db.execute(text(f"SET LOCAL plan_cache_mode = {mode}"))
                return [v.caption for v in (await service.search_videos(db, viewer_id=None, query="可爱 小猫")).videos]

        event.listen(database.reader.sync_engine, "before_cursor_execute", seen)
        try:
            custom, generic = await search("force_custom_plan"), await search("force_generic_plan")
        finally:
            event.remove(database.reader.sync_engine, "before_cursor_execute", seen)
        assert custom == generic, (custom, generic)
        assert custom[0] == "可爱的小猫" and sorted(custom[1:]) == ["可爱的小狗", "小猫睡觉"]
        # Text cast to a tsquery in the statement would be parsed again for every row a plan made
        # for any query (the generic plan) matches: bound as a tsquery, it is parsed once.
        engine_query = next(s for s in statements if "ts_rank" in s)
        assert "@@ $1::TSQUERY" in engine_query and "AS TSQUERY" not in engine_query

    async def test_connections_do_not_jit(self, database: Database) -> None:
        if database.is_sqlite:
            pytest.skip("PostgreSQL only")
        async with database.transaction(write=False) as db:
            assert await db.scalar(text("SHOW jit")) == "off"


class TestIndexingFollowsTheOutbox:
    async def test_editing_category_and_cover_text_reindexes(self, client: httpx2.AsyncClient,
                                                             database: Database) -> None:
        author = await sign_up(client, "author")
        async with database.transaction() as db:
            video = await make_video(db, await db.get(UserRow, int(author.id)), caption="周末")
            await jobs.publish(db, "video.ready", {"video_id": str(video.id), "owner_id": author.id})
        await jobs.drain(database)
        r = await author.patch(f"/api/v1/videos/{video.id}", json={"category": "pets", "cover_text": "橘猫日记"})
        assert r.status_code == 200 and r.json()["category"] == "pets" and r.json()["cover_text"] == "橘猫日记"
        await jobs.drain(database)
        assert await found(client, "宠物") == ["周末"] and await found(client, "日记") == ["周末"]
        r = await author.patch(f"/api/v1/videos/{video.id}", json={"caption": "周末2"})  # category kept
        assert r.json()["category"] == "pets"
        r = await author.patch(f"/api/v1/videos/{video.id}", json={"category": None, "cover_text": ""})
        assert r.json()["category"] is None
        await jobs.drain(database)
        assert await found(client, "宠物") == [] and await found(client, "日记") == []
        for bad in ({"category": "weapons"}, {"cover_text": "x" * 41}, {"cover_text": "两行\n标题"}):
            assert_problem(await author.patch(f"/api/v1/videos/{video.id}", json=bad), 422, "request.invalid")

    async def test_edit_rename_delete(self, client: httpx2.AsyncClient, database: Database) -> None:
        author = await sign_up(client, "author", nickname="老王")
        async with database.transaction() as db:
            row = await db.get(UserRow, int(author.id))
            video = await make_video(db, row, caption="第一版标题")
            await jobs.publish(db, "video.ready", {"video_id": str(video.id), "owner_id": author.id})
        await jobs.drain(database)
        assert await found(client, "标题") == ["第一版标题"]
        r = await author.patch(f"/api/v1/videos/{video.id}", json={"caption": "改过的说明 #新话题"})
        assert r.status_code == 200, r.text
        await jobs.drain(database)
        assert await found(client, "标题") == []
        assert await found(client, "#新话题") == ["改过的说明 #新话题"]
        assert await found(client, "老王") == ["改过的说明 #新话题"]
        r = await author.patch("/api/v1/me", json={"nickname": "王师傅"})
        assert r.status_code == 200, r.text
        await jobs.drain(database)
        assert await found(client, "王师傅") == ["改过的说明 #新话题"] and await found(client, "老王") == []
        r = await author.patch(f"/api/v1/videos/{video.id}", json={"visibility": "private"})
        await jobs.drain(database)
        assert await found(client, "#新话题") == []
        async with database.transaction() as db:
            assert (await db.scalars(select(Hashtag).where(Hashtag.tag == "新话题"))).one().videos == 0

    async def test_reindex_is_idempotent_and_repairs_counts(self, database: Database, creator: Any) -> None:
        for n in range(3):
            await post(database, creator, f"第{n}个 #重建")
        async with database.transaction() as db:
            await db.execute(update(Hashtag).values(videos=99))  # drifted
            await db.execute(SearchDoc.__table__.delete().where(SearchDoc.kind == "video"))  # lost
        seen: list[tuple[int, int]] = []
        assert await index.reindex_all(database, batch=2, progress=lambda d, t: seen.append((d, t))) == 3
        assert seen[-1] == (3, 3)
        again = await index.reindex_all(database)
        async with database.transaction() as db:
            assert again == 3 and await index.document_count(db) == 3
            assert (await db.scalars(select(Hashtag).where(Hashtag.tag == "重建"))).one().videos == 3


class TestBadInput:
    @pytest.mark.parametrize("q", [
        "", "   ", "猫" * 5_000, "cat " * 2_500, '"', "*", "NEAR", "猫 NEAR 狗", "-猫", "猫:", "tags:猫", '" OR 1=1 --',
        "'; DROP TABLE search_docs; --", "猫\"*:-()", "😺😺", "🐱 cat 猫 ねこ", "AND OR NOT", "{words}: x", "^猫",
        "%_\\", "@", "#", "##", "\u200b", "猫\ttab\n换行",
    ])
    async def test_text_never_an_error(self, client: httpx2.AsyncClient, database: Database, creator: Any,
                                       q: str) -> None:
        await post(database, creator, "小猫咪 cat")
        for tab in ("all", "videos", "users", "hashtags"):
            r = await client.get("/api/v1/search", params={"q": q, "tab": tab})
            assert r.status_code == 200, (q, r.text)
        r = await client.get("/api/v1/search/suggestions", params={"q": q})
        assert r.status_code == 200, (q, r.text)
        async with database.transaction() as db:
            assert await index.document_count(db) == 1

    async def test_ten_thousand_chinese_characters(self, database: Database, creator: Any) -> None:
        await post(database, creator, "小猫咪 cat")
        async with database.transaction() as db:  # beyond what a URL carries: through the service
            assert len((await service.search_videos(db, viewer_id=None, query="小猫咪" + "啊" * 9_997)).videos) == 1

    async def test_too_long_or_binary_is_refused_and_nothing_is_logged(self, client: httpx2.AsyncClient,
                                                                       database: Database) -> None:
        assert_problem(await client.get("/api/v1/search", params={"q": "x" * 10_001}), 422, "request.invalid")
        assert_problem(await client.get("/api/v1/search", params={"q": "a\x00b"}), 422, "request.invalid")
        async with database.transaction() as db:
            assert await db.scalar(select(func.count()).select_from(SearchLog)) == 0

    async def test_empty_query_returns_nothing_and_logs_nothing(self, client: httpx2.AsyncClient,
                                                                database: Database) -> None:
        r = await client.get("/api/v1/search", params={"q": " "})
        assert r.json()["videos"] == [] and r.json()["search_id"] is None
        async with database.transaction() as db:
            assert await db.scalar(select(func.count()).select_from(SearchLog)) == 0
