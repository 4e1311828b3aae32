"""Moderators take videos down and put them back: a removed video is gone for everyone but its
creator (pages, API, playback, search, profiles, pools) at once, its open reports close, and
every step is audited. Categories and cover text are validated on posting."""

from __future__ import annotations

from typing import Any

import httpx2
from sqlalchemy import select

from shua.accounts import service as accounts
from shua.accounts.models import User as UserRow
from shua.core import audit, jobs
from shua.core.db import Database
from shua.feed.models import REMOVED, PoolEntry
from shua.search.models import SearchDoc
from shua.social.models import Report
from tests.factories import make_video
from tests.helpers import Browser, assert_problem
from tests.social.test_graph import User, sign_up


async def admin(client: httpx2.AsyncClient, database: Database) -> User:
    root = await sign_up(client, "root")
    async with database.transaction() as db:
        await accounts.set_role(db, user_id=int(root.id), role="admin")
    return root


async def published(database: Database, owner: User, caption: str) -> Any:
    async with database.transaction() as db:
        video = await make_video(db, await db.get(UserRow, int(owner.id)), caption=caption)
        await jobs.publish(db, "video.ready", {"video_id": str(video.id), "owner_id": owner.id})
    await jobs.drain(database)
    return video


async def captions(client: httpx2.AsyncClient | User, q: str) -> list[str]:
    r = await client.get("/api/v1/search", params={"q": q, "tab": "videos"})
    assert r.status_code == 200, r.text
    return [hit["video"]["caption"] for hit in r.json()["videos"]]


class TestTakeDown:
    async def test_gone_for_everyone_but_the_creator_then_restored(self, client: httpx2.AsyncClient,
                                                                   database: Database) -> None:
        creator, viewer, root = await sign_up(client, "creator"), await sign_up(client, "viewer"), \
            await admin(client, database)
        video = await published(database, creator, "违规视频 #测试")
        assert await captions(viewer, "违规视频") == ["违规视频 #测试"]
        r = await viewer.post("/api/v1/reports", json={"target_kind": "video", "target_id": str(video.id),
                                                       "reason": "scam"})
        assert r.status_code == 201, r.text

        r = await root.put(f"/api/v1/admin/videos/{video.id}/removal", json={"reason": "scam"})
        assert r.status_code == 200 and r.json()["removed"] is True, r.text
        # at once, before any job: not for the viewer, not signed out, not in search results
        assert_problem(await viewer.get(f"/api/v1/videos/{video.id}"), 404, "media.video_not_found")
        assert_problem(await client.get(f"/api/v1/videos/{video.id}"), 404, "media.video_not_found")
        assert (await client.get(f"/media/videos/{video.id}/360p.mp4")).status_code == 404
        assert await captions(viewer, "违规视频") == []
        assert (await client.get(f"/v/{video.id}")).status_code == 404
        own = await creator.get(f"/api/v1/videos/{video.id}")
        assert own.status_code == 200 and own.json()["removed"] and own.json()["removal_reason"] == "scam"
        assert own.json()["playable"] is False
        await Browser(client).login("creator")  # the page, as the creator's browser sees it
        page = await client.get(f"/v/{video.id}")
        assert page.status_code == 200 and 'id="watch-removed"' in page.text
        assert "已下架" in page.text and "已下架" in (await client.get("/me")).text  # the grid's badge
        client.cookies.clear()

        await jobs.drain(database)  # then the events: search document, pools, reports
        async with database.transaction() as db:
            assert await db.get(SearchDoc, video.id) is None
            assert (await db.scalar(select(PoolEntry.status).where(PoolEntry.video_id == video.id))) == REMOVED
            assert (await db.scalars(select(Report.status))).all() == ["actioned"]
            assert [e.action for e in await audit.entries(db, action_prefix="media.")] == ["media.video_take_down"]

        again = await root.put(f"/api/v1/admin/videos/{video.id}/removal", json={"reason": "spam"})
        assert again.json()["removal_reason"] == "scam"  # already down: nothing changes
        r = await root.delete(f"/api/v1/admin/videos/{video.id}/removal")
        assert r.status_code == 200 and r.json()["removed"] is False
        assert (await viewer.get(f"/api/v1/videos/{video.id}")).status_code == 200
        await jobs.drain(database)
        assert await captions(viewer, "违规视频") == ["违规视频 #测试"]
        async with database.transaction() as db:
            assert (await db.scalar(select(PoolEntry.status).where(PoolEntry.video_id == video.id))) != REMOVED
            assert [e.action for e in await audit.entries(db, action_prefix="media.")] == [
                "media.video_restore", "media.video_take_down"]

    async def test_only_administrators_and_only_real_videos(self, client: httpx2.AsyncClient,
                                                            database: Database) -> None:
        creator, root = await sign_up(client, "creator"), await admin(client, database)
        video = await published(database, creator, "正常视频")
        url = f"/api/v1/admin/videos/{video.id}/removal"
        assert_problem(await creator.put(url, json={"reason": "spam"}), 403, "auth.admin_required")
        assert_problem(await creator.delete(url), 403, "auth.admin_required")
        assert_problem(await client.put(url, json={"reason": "spam"}), 401, "auth.required")
        for bad in ({"reason": "boring"}, {}, {"reason": "spam", "extra": 1}):
            assert_problem(await root.put(url, json=bad), 422, "request.invalid")
        assert_problem(await root.put("/api/v1/admin/videos/123/removal", json={"reason": "spam"}), 404,
                       "media.video_not_found")
        assert (await creator.get(f"/api/v1/videos/{video.id}")).json()["removed"] is False

    async def test_dismissing_a_report_leaves_the_video(self, client: httpx2.AsyncClient, database: Database) -> None:
        creator, viewer, root = await sign_up(client, "creator"), await sign_up(client, "viewer"), \
            await admin(client, database)
        video = await published(database, creator, "被误报的视频")
        r = await viewer.post("/api/v1/reports", json={"target_kind": "video", "target_id": str(video.id),
                                                       "reason": "spam"})
        report_id = r.json()["id"]
        assert_problem(await viewer.post(f"/api/v1/admin/reports/{report_id}/dismissal"), 403, "auth.admin_required")
        r = await root.post(f"/api/v1/admin/reports/{report_id}/dismissal")
        assert r.status_code == 200 and r.json()["status"] == "dismissed"
        assert (await root.get("/api/v1/admin/reports")).json()["items"] == []
        assert (await viewer.get(f"/api/v1/videos/{video.id}")).status_code == 200
        assert_problem(await root.post("/api/v1/admin/reports/42/dismissal"), 404, "social.report_target_not_found")


class TestCategoryAndCoverText:
    async def test_shown_on_the_profile_grid(self, client: httpx2.AsyncClient, database: Database) -> None:
        creator = await sign_up(client, "creator")
        async with database.transaction() as db:
            await make_video(db, await db.get(UserRow, int(creator.id)), caption="c", cover_text="<b>封面</b>",
                             category="travel")
        page = await client.get("/u/creator")
        assert '<span class="grid__cover-text">&lt;b&gt;封面&lt;/b&gt;</span>' in page.text
