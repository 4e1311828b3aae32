"""Two new users in two browsers: find each other by pinyin, follow each other, become friends,
and see each other's daily post and mood in the Friends tab — which a third person cannot."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import pytest
from PIL import Image

from shua.config import Settings
from tests.web.conftest import SCREENSHOTS, Tab
from tests.web.test_browser import sign_up, sign_up_any, snap

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import Page, expect


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The job worker on: friend search is indexed from account events."""
    return settings.model_copy(update={"run_jobs_in_process": True, "job_poll_seconds": 0.1})


def sunset_photo() -> bytes:
    img = Image.new("RGB", (720, 960), (255, 140, 60))
    for y in range(480, 960):
        for x in range(0, 720, 4):
            img.putpixel((x, y), (40, 60, 120))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


async def find_by_search(page: Page, query: str, nickname: str) -> None:
    """Type into the search box until the person shows up (their index entry comes from a job)."""
    box = page.get_by_label("搜索用户")
    for _ in range(40):
        await box.fill("")
        await box.fill(query)
        row = page.locator("#results .person").filter(has_text=nickname)
        try:
            await expect(row).to_be_visible(timeout=500)
            return
        except AssertionError:
            continue
    await expect(page.locator("#results .person").filter(has_text=nickname)).to_be_visible()


class TestFriendsJourney:
    async def test_find_follow_befriend_and_share_the_day(self, new_tab: Any) -> None:
        zhang: Tab = await new_tab()
        li: Tab = await new_tab()
        await sign_up(zhang.page, "san2026", nickname="张三")
        await sign_up(li.page, "lisi2026", nickname="李四")

        # 李四 finds 张三 by pinyin and follows.
        page = li.page
        await page.get_by_role("link", name="朋友", exact=True).click()
        await expect(page.get_by_role("heading", name="还没有朋友")).to_be_visible()
        await snap(page, "zh-CN-friends-empty")
        await page.get_by_role("link", name="添加朋友").first.click()
        await expect(page).to_have_url(re.compile(r"/friends/add$"))
        await find_by_search(page, "zhangsan", "张三")
        row = page.locator("#results .person").filter(has_text="张三")
        await row.get_by_role("button", name="关注").click()
        await expect(row.get_by_role("button", name="已关注")).to_be_visible()
        await snap(page, "zh-CN-friends-search-pinyin")

        # 张三 sees 李四 among people they may know ("follows you") and follows back.
        page = zhang.page
        await page.goto("/friends/add")
        suggestion = page.locator("#suggestions .person").filter(has_text="李四")
        await expect(suggestion).to_contain_text("关注了你")
        await snap(page, "zh-CN-friends-suggestions")
        await suggestion.get_by_role("button", name="回关").click()
        await expect(suggestion.get_by_role("button", name="互相关注")).to_be_visible()

        # The profile says so too, with the counts.
        await page.goto("/u/lisi2026")
        await expect(page.locator(".follow-btn")).to_have_text("互相关注")
        await expect(page.locator("#stat-friends .stat__count")).to_have_text("1")
        await snap(page, "zh-CN-profile-friend")

        # 张三 posts a daily photo and a mood, for friends only.
        await page.goto("/friends")
        await page.get_by_role("link", name="拍日常").click()
        await page.locator("#daily-file").set_input_files(
            {"name": "sunset.jpg", "mimeType": "image/jpeg", "buffer": sunset_photo()})
        await expect(page.locator("#daily-photo")).to_be_visible()
        await page.get_by_label("说点什么").fill("今天的晚霞 <b>真好看</b>")
        await snap(page, "zh-CN-daily-new")
        await page.get_by_role("button", name="发布", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/friends$"))
        await expect(page.locator("#toast")).to_have_text("已发布给朋友")
        await page.get_by_role("link", name="写心情").click()
        await page.get_by_text("旅行中").click()
        await page.get_by_label("一句话").fill("在大理 🌊")
        await snap(page, "zh-CN-mood")
        await page.get_by_role("button", name="发布", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/friends$"))
        await expect(page.locator("#mood-link")).to_contain_text("旅行中")

        # 李四's Friends tab: 张三's ring in the strip, and the mood and daily post marked new.
        page = li.page
        await page.goto("/friends")
        await expect(page.locator("#daily-strip .strip__ring--unseen")).to_have_count(1)
        cards = page.locator("#moments .moment")
        await expect(cards).to_have_count(2)
        await expect(cards.nth(0)).to_contain_text("更新了心情")
        await expect(cards.nth(0)).to_contain_text("在大理 🌊")
        await expect(cards.nth(1)).to_contain_text("今天的晚霞 <b>真好看</b>")  # text, not markup
        await expect(page.locator(".moment__new:visible")).to_have_count(2)
        await snap(page, "zh-CN-friends-feed")
        await page.locator("#daily-strip a").filter(has_text="张三").click()
        await expect(page).to_have_url(re.compile(r"/u/san2026/daily$"))
        await expect(page.locator("#story-photo")).to_have_js_property("complete", True)
        assert await page.locator("#story-photo").evaluate("img => img.naturalWidth") > 0
        await expect(page.locator("#story-caption")).to_have_text("今天的晚霞 <b>真好看</b>")
        await page.screenshot(path=str(SCREENSHOTS / "zh-CN-daily-watch.png"))
        await page.goto("/friends")  # seen now, and no longer new
        await expect(page.locator("#daily-strip .strip__ring--unseen")).to_have_count(0)
        await expect(page.locator(".moment__new:visible")).to_have_count(0)

        # 张三 sees who looked.
        page = zhang.page
        await page.goto("/u/san2026/daily")
        await expect(page.locator("#story-viewers-btn")).to_have_text("1 人看过")
        await page.locator("#story-viewers-btn").click()
        await expect(page.locator("#viewers .person")).to_contain_text("李四")
        await page.screenshot(path=str(SCREENSHOTS / "zh-CN-daily-viewers.png"))

        # 李四 messages 张三 from the profile; the chat is live both ways, and 张三's notifications
        # say who followed and who became a friend.
        page = li.page
        await page.goto("/u/san2026")
        await page.get_by_role("link", name="私信").click()
        await expect(page).to_have_url(re.compile(r"/inbox/c/\d+$"))
        box = page.get_by_placeholder("发消息…")
        await box.fill("看到你的晚霞了！")
        await box.press("Enter")
        # The server has it once its bubble carries the message id (a draft's id is empty).
        await expect(page.locator('#messages .msg--mine:not([data-id=""])')).to_have_count(1)
        chat = zhang.page
        await chat.goto("/inbox")
        row = chat.locator(".convo", has_text="李四")
        await expect(row.locator(".convo__preview")).to_have_text("看到你的晚霞了！")
        await row.locator(".convo__link").click()
        await expect(chat.locator("#messages .msg__text")).to_have_text(["看到你的晚霞了！"])
        reply = chat.get_by_placeholder("发消息…")
        await reply.fill("在大理拍的 🌅")
        await reply.press("Enter")
        await expect(page.locator("#messages .msg__text")).to_have_text(["看到你的晚霞了！", "在大理拍的 🌅"])
        await expect(page.locator(".msg--mine .msg__state")).to_have_text("已读")
        await snap(page, "zh-CN-friends-chat")
        await chat.goto("/inbox/notifications?category=followers")
        texts = await chat.locator(".notice__text").all_inner_texts()
        assert "李四 关注了你" in texts and "李四 和你成为了朋友" in texts, texts

        # Someone who is not a friend sees neither the mood nor the daily post.
        stranger: Tab = await new_tab()
        await sign_up(stranger.page, "wangwu", nickname="王五")
        await stranger.page.goto("/u/san2026")
        await expect(stranger.page.locator("#profile-name")).to_have_text("张三")
        await expect(stranger.page.locator("#mood-chip")).to_have_count(0)
        await expect(stranger.page.locator(".daily-ring")).to_have_count(0)
        await snap(stranger.page, "zh-CN-profile-stranger")
        r = await stranger.page.goto("/u/san2026/daily")
        assert r is not None and r.status == 404

    async def test_block_from_the_profile_menu(self, new_tab: Any) -> None:
        a: Tab = await new_tab(locale="en")
        b: Tab = await new_tab(locale="en")
        for tab, handle in ((a, "annie"), (b, "bobby")):
            await tab.page.goto("/signup")
            await sign_up_any(tab.page, handle, handle.title())
        page = a.page
        await page.goto("/u/bobby")
        await page.locator(".follow-btn").click()
        await expect(page.locator(".follow-btn")).to_have_text("Following")
        await page.get_by_role("button", name="More").or_(page.locator(".menu__toggle")).first.click()
        page.once("dialog", lambda dialog: dialog.accept())
        await page.get_by_role("menuitem", name="Block").click()
        await expect(page.locator("#toast")).to_have_text("Blocked")
        await expect(page.get_by_text("You blocked this account.")).to_be_visible()
        await snap(page, "en-profile-blocked")
        r = await b.page.goto("/u/annie")
        assert r is not None and r.status == 404  # to bobby, annie no longer exists
        await page.goto("/settings")
        await expect(page.locator("#blocked .person")).to_contain_text("bobby")

    async def test_lists_follow_back_and_remove_a_follower(self, new_tab: Any) -> None:
        a: Tab = await new_tab(locale="en")
        b: Tab = await new_tab(locale="en")
        for tab, handle in ((a, "annie"), (b, "bobby")):
            await tab.page.goto("/signup")
            await sign_up_any(tab.page, handle, handle.title())
        await b.page.goto("/u/annie")
        await b.page.locator(".follow-btn").click()
        await expect(b.page.locator(".follow-btn")).to_have_text("Following")
        await expect(b.page.locator("#stat-followers .stat__count")).to_have_text("1")

        page = a.page
        await page.goto("/me")
        await page.locator("#stat-followers").click()
        await expect(page).to_have_url(re.compile(r"/u/annie/people\?tab=followers$"))
        row = page.locator("#people-list .person").filter(has_text="Bobby")
        await expect(row.get_by_role("button", name="Follow back")).to_be_visible()
        await snap(page, "en-people-followers")
        page.once("dialog", lambda dialog: dialog.accept())
        await row.get_by_role("button", name="Remove Bobby from your followers").click()
        await expect(row).to_have_count(0)
        await expect(page.locator("#toast")).to_have_text("Follower removed")
        await b.page.reload()
        await expect(b.page.locator(".follow-btn")).to_have_text("Follow")


class TestShareToAFriend:
    async def test_send_a_video_to_a_friend_from_the_share_sheet(self, new_tab: Any, database: Any) -> None:
        from shua.accounts.models import User as UserRow
        from shua.social import graph
        from tests.factories import make_user, make_video

        sender, friend = (await new_tab()).page, (await new_tab()).page
        await sign_up(sender, "sharer", nickname="分享者")
        await sign_up(friend, "pal", nickname="好友")
        async with database.transaction() as db:
            from sqlalchemy import select

            rows = {u.handle: u for u in (await db.scalars(select(UserRow))).all()}
            await graph.follow(db, follower_id=rows["sharer"].id, followee=rows["pal"])
            await graph.follow(db, follower_id=rows["pal"].id, followee=rows["sharer"])
            creator = await make_user(db, "maker")
            video = await make_video(db, creator, caption="好看的视频 #推荐")
        await sender.goto(f"/v/{video.id}")
        await sender.locator('[data-action="share"]').first.click()
        sheet = sender.locator("#share-sheet")
        await expect(sheet).to_be_visible()
        await expect(sheet.get_by_role("button", name="发送给好友")).to_be_visible()
        await snap(sender, "zh-CN-share-sheet")
        await sheet.get_by_role("button", name="发送给好友").click()
        await expect(sender.locator("#toast")).to_have_text("已发送给好友")
        await expect(sheet.locator(".share__friend--sent")).to_have_count(1)
        r = await sender.request.get(f"/api/v1/videos/{video.id}/engagement")
        assert (await r.json())["stats"]["shares"] == 1
        await friend.goto("/inbox")
        await friend.locator("a[href^='/inbox/c/']").first.click()
        await expect(friend).to_have_url(re.compile(r"/inbox/c/\d+$"))
        await expect(friend.locator("a.vcard")).to_contain_text("好看的视频")

    async def test_report_a_video_from_the_share_sheet_and_a_comment(self, tab: Tab, database: Any) -> None:
        from sqlalchemy import select

        from shua.social.models import Report
        from tests.factories import make_user, make_video

        page = tab.page
        await sign_up(page, "watcher", nickname="观众")
        async with database.transaction() as db:
            creator = await make_user(db, "maker")
            video = await make_video(db, creator, caption="有问题的视频")
        r = await page.request.post(f"/api/v1/videos/{video.id}/comments", data={"body": "我的评论"},
                                    headers={"X-CSRF-Token": await page.locator('meta[name="csrf-token"]')
                                             .get_attribute("content") or ""})
        assert r.status == 201
        await page.goto(f"/v/{video.id}")
        await page.locator('[data-action="share"]').first.click()
        await page.locator("#share-report").click()
        dialog = page.locator("#report-sheet")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#report-title")).to_have_text("举报这个视频")
        await dialog.get_by_text("诈骗").click()
        await dialog.get_by_label("补充说明（可选）").fill("冒充客服")
        await snap(page, "zh-CN-report-video")
        await dialog.get_by_role("button", name="提交举报").click()
        await expect(page.locator("#toast")).to_have_text("已收到举报，我们会尽快处理。")
        async with database.transaction(write=False) as db:
            rows = (await db.scalars(select(Report))).all()
        assert [(r.target_kind, r.reason, r.detail) for r in rows] == [("video", "scam", "冒充客服")]
        # One's own comment offers no "report".
        await page.locator('[data-action="comments"]').first.click()
        mine = page.locator("#comments-sheet .comment").filter(has_text="我的评论")
        await expect(mine).to_be_visible()
        await expect(mine.locator('[data-action="report"]')).to_be_hidden()
