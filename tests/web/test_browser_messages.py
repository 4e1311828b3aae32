"""Messages in headless Chromium with two people on two devices: A writes, B's open page shows it
without a reload, B replies, A sees 已读; the 消息 badge counts live; notifications and message
requests; everything survives a reload."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest

from shua.accounts.models import User as UserRow
from shua.config import Settings
from shua.social import graph
from tests.factories import make_user, make_video
from tests.web.conftest import Tab
from tests.web.test_browser import csrf, sign_up, snap

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import Page, expect


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The worker makes notifications from follow events; a quick heartbeat keeps streams honest.
    return settings.model_copy(update={"run_jobs_in_process": True, "job_poll_seconds": 0.1,
                                       "live_heartbeat_seconds": 2.0})


async def follow(page: Page, handle: str) -> None:
    r = await page.request.post(f"/api/v1/users/{handle}/follow", headers={"X-CSRF-Token": await csrf(page)})
    assert r.ok, await r.text()


async def user_id(page: Page) -> str:
    r = await page.request.get("/api/v1/me")
    return str((await r.json())["id"])


async def make_friends(db: Any, a: int, b: int) -> None:
    """Two users follow each other, through the graph's own service."""
    for follower, followee in ((a, b), (b, a)):
        await graph.follow(db, follower_id=follower, followee=await db.get(UserRow, followee))


def badge(page: Page) -> Any:
    return page.locator(".tabbar [data-unread-badge]")


async def send(page: Page, text: str) -> None:
    box = page.get_by_placeholder("发消息…")
    await box.fill(text)
    await box.press("Enter")


def bubbles(page: Page) -> Any:
    return page.locator("#messages .msg__text")


class TestTwoPeopleChat:
    async def test_live_chat_with_receipts_and_badge(self, new_tab: Any) -> None:
        alice, bob = (await new_tab()).page, (await new_tab()).page
        await sign_up(alice, "alice", "小爱")
        await sign_up(bob, "bob", "小波")
        await follow(alice, "bob")
        await follow(bob, "alice")

        # Bob sits on the 消息 tab; the follows arrive as notifications (a follower, a new friend).
        await bob.goto("/inbox")
        await expect(bob.locator("[data-count=followers]")).to_have_text("2")
        await alice.goto("/inbox/new?to=bob")
        await expect(alice).to_have_url(re.compile(r"/inbox/c/\d+$"))
        await expect(alice.get_by_role("heading", name="小波")).to_be_visible()
        await expect(alice.get_by_text("打个招呼吧")).to_be_visible()

        await send(alice, "在吗？周末一起拍日常")
        await expect(bubbles(alice)).to_have_text(["在吗？周末一起拍日常"])
        row = bob.locator(".convo", has_text="小爱")
        await expect(row.locator(".convo__preview")).to_have_text("在吗？周末一起拍日常")
        await expect(row.locator(".count")).to_have_text("1")
        await expect(badge(bob).locator("[data-unread-count]")).to_have_text("3")  # + one message, live
        await snap(bob, "zh-inbox-live")

        await row.locator(".convo__link").click()
        await expect(bob).to_have_url(re.compile(r"/inbox/c/\d+$"))
        await expect(bubbles(bob)).to_have_text(["在吗？周末一起拍日常"])
        await expect(alice.locator(".msg--mine .msg__state")).to_have_text("已读")  # Bob read it
        await expect(badge(bob).locator("[data-unread-count]")).to_have_text("2")  # read: the follows remain

        await send(alice, "<b>不是粗体</b> & 第二行")
        await expect(bubbles(bob)).to_have_text(["在吗？周末一起拍日常", "<b>不是粗体</b> & 第二行"])
        assert await bob.locator("#messages b").count() == 0  # text, never HTML
        await expect(alice.locator(".msg--mine .msg__state")).to_have_text(["", "已读"])

        await send(bob, "好呀！")
        await expect(bubbles(alice)).to_have_text(["在吗？周末一起拍日常", "<b>不是粗体</b> & 第二行", "好呀！"])
        await expect(alice.locator(".msg--theirs")).to_have_count(1)
        await expect(bob.locator(".msg--mine .msg__state")).to_have_text("已读")
        await expect(badge(alice).locator("[data-unread-count]")).to_have_text("2")  # read: bob's follows remain
        await snap(alice, "zh-chat")

        await alice.reload()  # the same after a reload
        await expect(bubbles(alice)).to_have_text(["在吗？周末一起拍日常", "<b>不是粗体</b> & 第二行", "好呀！"])
        await expect(alice.locator(".msg--theirs .msg__text")).to_have_text("好呀！")
        await expect(alice.locator(".msg--mine .msg__state")).to_have_text(["", "已读"])

        await bob.goto("/inbox/notifications?category=followers")
        await expect(bob.locator(".notice__text")).to_have_count(2)  # made by two jobs, in either order
        assert sorted(await bob.locator(".notice__text").all_inner_texts()) == ["小爱 关注了你", "小爱 和你成为了朋友"]
        await expect(bob.locator(".notice--unread")).to_have_count(2)  # highlighted while you look
        await snap(bob, "zh-notifications")
        await bob.goto("/inbox")
        await expect(bob.locator("[data-count=followers]")).to_be_hidden()
        await expect(badge(bob)).to_be_hidden()

    async def test_message_request_accept(self, new_tab: Any) -> None:
        stranger_tab: Tab = await new_tab("en")
        stranger, bob = stranger_tab.page, (await new_tab()).page
        await sign_up(bob, "bob", "小波")
        await stranger.goto("/signup")
        await stranger.get_by_label("Username", exact=True).fill("carol")
        await stranger.get_by_label("Nickname").fill("Carol")
        await stranger.get_by_label("Password", exact=True).fill("Correct-Horse-42")
        await stranger.get_by_role("button", name="Sign up", exact=True).click()
        await expect(stranger).to_have_url(re.compile(r"/me$"))

        await bob.goto("/inbox")
        await stranger.goto("/inbox/new?to=bob")
        await expect(stranger.get_by_text("Say hello")).to_be_visible()  # the page's script is running
        stranger_box = stranger.get_by_placeholder("Message…")
        for text in ("Hi! I love your videos", "Can we collaborate?", "Third and last", "One more?"):
            await stranger_box.fill(text)
            await stranger_box.press("Enter")
        await expect(stranger.locator(".msg--mine .msg__state").last).to_have_text("Not sent · tap to retry")
        await expect(stranger.locator("#toast")).to_contain_text("at most 3 messages")
        await snap(stranger, "en-chat-request-limit")

        requests = bob.locator("[data-entry=requests]")
        await expect(requests).to_be_visible()  # live: it was hidden when the page loaded
        await expect(requests.locator(".count")).to_have_text("3")
        await expect(bob.locator(".convo")).to_have_count(0)
        await requests.click()
        await expect(bob.locator(".convo", has_text="Carol")).to_be_visible()
        await snap(bob, "zh-requests")
        await bob.locator(".convo", has_text="Carol").locator(".convo__link").click()
        await expect(bubbles(bob)).to_have_text(["Hi! I love your videos", "Can we collaborate?", "Third and last"])
        await expect(bob.locator("#request-bar")).to_be_visible()
        await snap(bob, "zh-chat-request")
        await bob.locator("#request-bar").get_by_role("button", name="接受").click()
        await expect(bob.locator("#toast")).to_have_text("已接受")
        await expect(bob.locator("#request-bar")).to_have_count(0)
        await send(bob, "你好 Carol")
        await expect(stranger.locator(".msg--theirs .msg__text")).to_have_text("你好 Carol")
        await expect(stranger.locator(".msg--mine .msg__state").nth(2)).to_have_text("Read")  # now it shows
        await bob.goto("/inbox")
        await expect(bob.locator(".convo", has_text="Carol")).to_be_visible()
        await expect(bob.locator("[data-entry=requests]")).to_be_hidden()


class TestSettings:
    async def test_choose_who_can_message_me(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "bob", "小波")
        await page.goto("/settings")
        group = page.get_by_role("group", name="谁可以私信我")
        await expect(group.get_by_label("所有人")).to_be_checked()
        await group.get_by_text("朋友", exact=True).click()
        await expect(page.locator("#toast")).to_have_text("已保存")
        await page.reload()
        await expect(page.get_by_role("group", name="谁可以私信我").get_by_label("朋友", exact=True)).to_be_checked()
        r = await page.request.get("/api/v1/me/privacy")
        assert (await r.json())["who_can_message"] == "friends"


class TestSharedVideo:
    async def test_a_shared_video_is_a_card_or_unavailable(self, new_tab: Any, database: Any) -> None:
        alice, bob = (await new_tab()).page, (await new_tab()).page
        await sign_up(alice, "alice", "小爱")
        await sign_up(bob, "bob", "小波")
        await follow(alice, "bob")
        await follow(bob, "alice")
        async with database.transaction() as db:
            creator = await make_user(db, "creator", nickname="猫猫")
            public = await make_video(db, creator, caption="橘猫跳舞 #猫咪日常")
            close = await make_video(db, creator, caption="只给朋友看", visibility="friends")
            await make_friends(db, creator.id, int(await user_id(alice)))
        await alice.goto("/inbox/new?to=bob")
        convo = alice.url.rsplit("/", 1)[1]
        for video in (public, close):
            r = await alice.request.post(f"/api/v1/conversations/{convo}/messages", headers={
                "X-CSRF-Token": await csrf(alice)}, data={"kind": "video", "video_id": str(video.id)})
            assert r.status == 201, await r.text()
        await bob.goto(f"/inbox/c/{convo}")
        card = bob.locator("a.vcard")
        await expect(card).to_have_attribute("href", f"/v/{public.id}")
        await expect(card).to_contain_text("橘猫跳舞")
        await expect(bob.locator(".vcard--gone")).to_have_text("视频不可用")  # friends-only, not bob's friend
        await expect(alice.locator("a.vcard")).to_have_count(2)  # alice may see both
        await snap(bob, "zh-chat-video")
