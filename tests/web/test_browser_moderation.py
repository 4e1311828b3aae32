"""In Chromium: a creator files a video under a category with a cover title and viewers find it
by the category's name; a viewer reports a video, an operator takes it down from /admin, and it
is gone from search while its creator sees why."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from shua.accounts import service as accounts
from shua.accounts.models import User
from shua.core import jobs
from shua.core.db import Database
from shua.search import index
from tests.factories import make_video
from tests.web.conftest import Tab
from tests.web.test_browser import log_in, sign_up, snap
from tests.web.test_browser_search import poster

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import expect


async def posted(app: Any, database: Database, handle: str, caption: str) -> int:
    async with database.transaction() as db:
        owner = await accounts.get_user(db, ref=handle)
        row = await db.get(User, owner.id)
        assert row is not None
        video = await make_video(db, row, caption=caption)
    await app.state.runtime.storage.put(f"videos/{video.id}/poster.jpg", poster((90, 140, 200)),
                                        content_type="image/jpeg")
    async with database.transaction() as db:
        await index.index_video(db, video.id)
    return video.id


class TestCategoryAndCoverTitle:
    async def test_the_creator_files_a_video_and_viewers_find_it_by_category(
            self, tab: Tab, app: Any, database: Database) -> None:
        page = tab.page
        await sign_up(page, "hiker", nickname="爬山的人")
        video_id = await posted(app, database, "hiker", "周末的山顶")
        await page.goto(f"/v/{video_id}")
        await page.get_by_label("分类").select_option(label="旅行")
        await page.get_by_label("封面标题").fill("云海日出")
        await page.get_by_role("button", name="保存").click()
        await expect(page.get_by_label("封面标题")).to_have_value("云海日出")
        await jobs.drain(database)  # the edit's event re-indexes the video
        await page.goto("/me")
        await expect(page.locator(".grid__cover-text")).to_have_text("云海日出")
        await snap(page, "zh-CN-me-cover-title")
        await page.goto("/search?q=%E6%97%85%E8%A1%8C&tab=videos")  # 旅行: in neither caption nor hashtags
        await expect(page.locator("#video-results .result-card").first).to_contain_text("周末的山顶")


class TestTakeDown:
    async def test_an_operator_takes_a_reported_video_down_from_admin(
            self, tab: Tab, new_tab: Any, app: Any, database: Database) -> None:
        page = tab.page
        await sign_up(page, "scammer", nickname="发财哥")
        video_id = await posted(app, database, "scammer", "加我微信 稳赚不赔 #理财")
        viewer = (await new_tab()).page
        await sign_up(viewer, "viewer")
        response = await viewer.request.post("/api/v1/reports", data={
            "target_kind": "video", "target_id": str(video_id), "reason": "scam", "detail": "骗钱的"},
            headers={"X-CSRF-Token": await viewer.evaluate("document.querySelector('meta[name=csrf-token]')"
                                                           "?.content || ''")})
        assert response.status == 201, await response.text()

        async with database.transaction() as db:
            await accounts.ensure_admin(db, username="root", password="Correct-Horse-42")
        admin = (await new_tab()).page
        await admin.goto("/admin")
        await log_in(admin, "root", "Correct-Horse-42")
        row = admin.locator("#reports > li").first
        await expect(row).to_contain_text("诈骗")
        await expect(row).to_contain_text("骗钱的")
        await snap(admin, "zh-CN-admin-reports")
        await row.get_by_role("button", name="下架").click()
        await expect(admin.locator("#reports-status")).to_have_text("没有待处理的举报。")
        await jobs.drain(database)

        await viewer.goto("/search?q=%E7%90%86%E8%B4%A2&tab=videos")  # 理财
        await expect(viewer.get_by_role("heading", name="没有找到相关结果")).to_be_visible()
        await page.goto(f"/v/{video_id}")
        await expect(page.locator("#watch-removed")).to_contain_text("诈骗")
        await snap(page, "zh-CN-video-taken-down")
        await page.goto("/me")
        await expect(page.locator(".grid__item").first).to_contain_text("已下架")
