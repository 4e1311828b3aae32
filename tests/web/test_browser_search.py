"""A viewer finds videos in Chromium: by a Chinese word, by pinyin (with suggestions while
typing), by hashtag; sees the hot list, their history, and results in tabs; English too."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import pytest
from PIL import Image, ImageDraw

from shua.core.db import Database
from shua.search import hot, index, service
from shua.social import people
from tests.factories import make_user, make_video
from tests.web.conftest import Tab
from tests.web.test_browser import sign_up, snap

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import expect


def poster(colour: tuple[int, int, int]) -> bytes:
    img = Image.new("RGB", (360, 480), colour)
    ImageDraw.Draw(img).ellipse((90, 150, 270, 330), fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


async def seed(app: Any, database: Database) -> None:
    storage = app.state.runtime.storage
    async with database.transaction() as db:
        cats = await make_user(db, "catlady", nickname="猫咪研究所")
        food = await make_user(db, "chengdu_eats", nickname="成都吃货")
        for user in (cats, food):
            await people.index_user(db, user)
        made = [
            await make_video(db, cats, caption="小猫咪第一次见到雪 #猫咪日常", hashtags=["猫咪日常"]),
            await make_video(db, cats, caption="橘猫抢零食 太可爱了 #猫咪日常 #萌宠", hashtags=["猫咪日常", "萌宠"]),
            await make_video(db, food, caption="成都火锅探店 麻辣鲜香 #成都美食", hashtags=["成都美食"]),
            await make_video(db, food, caption="Street food night market in Chengdu #travel", hashtags=["travel"]),
        ]
    colours = [(240, 170, 80), (200, 120, 60), (190, 40, 40), (40, 90, 160)]
    for video, colour in zip(made, colours, strict=True):
        await storage.put(f"videos/{video.id}/poster.jpg", poster(colour), content_type="image/jpeg")
        async with database.transaction() as db:
            await index.index_video(db, video.id)
    async with database.transaction() as db:
        for _ in range(6):
            await service.log_search(db, user_id=None, query="初雪", tab="all", results=1)
        for _ in range(4):
            await service.log_search(db, user_id=None, query="成都美食", tab="all", results=1)
    await hot.refresh(database)


class TestSearchJourney:
    async def test_find_by_word_pinyin_and_hashtag(self, tab: Tab, app: Any, database: Database) -> None:
        await seed(app, database)
        page = tab.page
        await sign_up(page, "seeker", nickname="找视频的人")
        await page.goto("/")
        await page.locator("[data-search-entry]").first.click()
        await expect(page).to_have_url(re.compile(r"/search$"))
        hot_list = page.locator("#hot-list")
        await expect(hot_list.locator(".hot__item").first).to_contain_text("初雪")
        await expect(hot_list.locator(".hot__badge").first).to_have_text("新")
        await snap(page, "zh-CN-search-discover")

        box = page.get_by_label("搜索视频、用户和话题")
        await box.fill("小猫咪")  # a Chinese word
        await box.press("Enter")
        await expect(page).to_have_url(re.compile(r"/search\?q=%E5%B0%8F%E7%8C%AB%E5%92%AA"))
        cards = page.locator("#video-results .result-card")
        await expect(cards.first).to_contain_text("小猫咪第一次见到雪")
        await snap(page, "zh-CN-search-results")
        await page.goto("/search?q=%E7%8C%AB%E5%92%AA")  # 猫咪: the 综合 tab has people and hashtags too
        await expect(page.locator(".person").first).to_contain_text("猫咪研究所")
        await expect(page.locator(".tag-result").first).to_contain_text("猫咪日常")
        await snap(page, "zh-CN-search-all")

        await page.goto("/search")
        await page.get_by_label("搜索视频、用户和话题").press_sequentially("chengdu", delay=30)  # pinyin
        suggestion = page.locator("#suggestions .suggestion").filter(has_text="成都美食")
        await expect(suggestion).to_be_visible()
        await snap(page, "zh-CN-search-suggestions")
        await suggestion.click()
        await expect(page.locator("#video-results .result-card").first).to_contain_text("成都火锅探店")

        await page.goto("/search?q=%23%E7%8C%AB%E5%92%AA%E6%97%A5%E5%B8%B8&tab=videos")  # #猫咪日常
        await expect(page.locator("#video-results .result-card")).to_have_count(2)
        await page.get_by_role("link", name="话题").click()
        await expect(page.locator(".tag-result").first).to_contain_text("猫咪日常")
        await expect(page.locator(".tag-result").first).to_contain_text("2个视频")

        await page.goto("/search?q=%E5%B0%8F%E7%8C%AB%E5%92%AA")
        await page.locator("#video-results .result-card a").first.click()
        await expect(page).to_have_url(re.compile(r"/v/\d+$"))
        await page.goto("/search")
        await expect(page.locator("#history-list")).to_contain_text("小猫咪")
        await page.get_by_role("button", name="清除").click()
        await expect(page.locator("#history")).to_have_count(0)
        await expect(page.locator("#toast")).to_have_text("已清除搜索历史")

    async def test_english_interface_and_filters(self, new_tab: Any, app: Any, database: Database) -> None:
        await seed(app, database)
        page = (await new_tab("en")).page
        await page.goto("/search?q=street+food&tab=videos")
        await expect(page.locator("#video-results .result-card").first).to_contain_text("Street food night market")
        await page.locator("select[name=sort]").select_option("newest")
        await expect(page).to_have_url(re.compile(r"sort=newest"))
        await expect(page.locator("select[name=sort]")).to_have_value("newest")
        await snap(page, "en-search-results")
        await page.goto("/search?q=%E7%8B%97%E7%8B%97%E8%B7%B3%E8%88%9E")
        await expect(page.get_by_role("heading", name="No results")).to_be_visible()


class TestOperatorHotList:
    async def test_pin_remove_and_restore_from_the_admin_page(self, tab: Tab, app: Any, database: Database) -> None:
        from shua.accounts import service as accounts
        from tests.web.test_browser import log_in

        await seed(app, database)
        async with database.transaction() as db:
            await accounts.ensure_admin(db, username="root", password="Correct-Horse-42")
        page = tab.page
        await page.goto("/admin")
        await log_in(page, "root", "Correct-Horse-42")
        rows = page.locator("#hot-admin > li")
        await expect(rows.first).to_contain_text("1. 初雪")
        await expect(page.locator("#search-stats")).to_contain_text("今日搜索 10")
        await page.get_by_label("要置顶的词").fill("官方公告")
        await page.get_by_role("button", name="置顶", exact=True).click()
        await expect(rows.first).to_contain_text("1. 官方公告")
        await expect(rows.first).to_contain_text("置顶于第1位")
        await rows.filter(has_text="初雪").get_by_role("button", name="移除 初雪").click()
        await expect(rows.filter(has_text="初雪")).to_contain_text("已从榜单移除")
        await snap(page, "zh-CN-admin-hot")
        await page.goto("/search")
        await expect(page.locator("#hot-list .hot__item").first).to_contain_text("官方公告")
        await expect(page.locator("#hot-list")).not_to_contain_text("初雪")
        await page.goto("/admin")
        await rows.filter(has_text="初雪").get_by_role("button", name="恢复 初雪").click()
        await expect(rows.filter(has_text="初雪")).to_contain_text("热度")
        async with database.transaction() as db:
            from shua.core import audit

            assert [e.action for e in await audit.entries(db, action_prefix="search.")] == [
                "search.hot_restore", "search.hot_remove", "search.hot_pin"]
