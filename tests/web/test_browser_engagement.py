"""Likes and comments in headless Chromium: B double-taps A's video in the feed and the heart
count goes to 1; B comments with HTML in it (shown as text) and an @mention; A replies on the
video page and pins it; B sees the thread; a logged-out tap goes to the login page; favourites."""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shua.accounts import service as accounts
from shua.config import Settings
from shua.core.db import Database
from shua.media.synth import synthesize
from shua.media.uploads import import_file
from shua.media.videos import post_video
from tests.helpers import PASSWORD
from tests.web.conftest import Tab
from tests.web.test_browser import sign_up, snap

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import Page, expect

HOSTILE = "好看！<script>alert(1)</script> @alice"
PINNED = ':scope > .comment__main > .comment__name > [data-field="pinned"]'


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"run_jobs_in_process": True, "job_poll_seconds": 0.1})


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("engage-clips")
    return synthesize(folder / "cat.mp4", duration=2, width=320, height=568, fps=24, caption="橘猫", seed=5)


async def post_as(database: Database, settings: Settings, handle: str, clip: Path, caption: str) -> str:
    """A video by an existing user, posted behind the browser's back; the app's worker processes it."""
    async with database.transaction() as db:
        owner = await accounts.get_user(db, ref=handle)
        upload = await import_file(db, owner_id=owner.id, source=clip, var_dir=settings.var_dir,
                                   ttl=timedelta(hours=1))
        return str((await post_video(db, owner_id=owner.id, upload_id=upload.id, caption=caption)).id)


async def wait_for_feed(page: Page, count: int = 1) -> None:
    slides = page.locator("#feed .slide")
    for _ in range(90):  # the video is being transcoded by the app's worker
        await page.goto("/")
        if await slides.count() >= count:
            return
        await page.wait_for_timeout(1000)
    await expect(slides).to_have_count(count)


async def api_sign_up(page: Page, handle: str) -> None:
    """Sign up through the API in this browser profile (its cookie jar gets the session)."""
    r = await page.request.post("/api/v1/auth/signup", data={"username": handle, "password": PASSWORD})
    assert r.status == 201, await r.text()


class TestLikeAndComment:
    async def test_double_tap_comment_reply_and_pin(
        self, new_tab: Any, clip: Path, database: Database, settings: Settings
    ) -> None:
        alice_tab: Tab = await new_tab()
        alice = alice_tab.page
        await sign_up(alice, "alice", nickname="爱丽丝")
        vid = await post_as(database, settings, "alice", clip, "橘猫早安 #猫咪日常")

        bob_tab: Tab = await new_tab()
        bob = bob_tab.page
        await sign_up(bob, "bob", nickname="小波")
        await wait_for_feed(bob)
        slide = bob.locator("#feed .slide").first
        like = slide.locator('[data-action="like"]')
        await expect(like.locator("[data-count]")).to_have_text("0")
        await slide.locator(".slide__tap").dblclick(position={"x": 120, "y": 260})
        await expect(like).to_have_attribute("aria-pressed", "true")
        await expect(like.locator("[data-count]")).to_have_text("1")
        await expect(slide.locator(".heart-burst")).to_have_count(1)
        await snap(bob, "zh-CN-engage-double-tap")
        await slide.locator(".slide__tap").dblclick(position={"x": 200, "y": 300})  # a double tap never unlikes
        await expect(like.locator("[data-count]")).to_have_text("1")
        await bob.reload()
        await expect(bob.locator('#feed .slide [data-action="like"]').first).to_have_attribute("aria-pressed", "true")

        slide = bob.locator("#feed .slide").first
        await slide.locator('[data-action="comments"]').click()
        sheet = bob.locator("#comments-sheet")
        await expect(sheet).to_be_visible()
        await expect(sheet.get_by_text("还没有评论，快来抢沙发～")).to_be_visible()
        await sheet.get_by_label("写评论").fill(HOSTILE)
        await sheet.get_by_role("button", name="发送").click()
        first = sheet.locator("#comments-list > .comment").first
        await expect(first.locator(".comment__body")).to_have_text(HOSTILE)
        await expect(first.locator(".comment__mention")).to_have_text("@alice")
        await expect(first.locator(".comment__mention")).to_have_attribute("href", "/u/alice")
        assert await bob.locator("#comments-list script").count() == 0  # text, never markup
        await expect(bob.locator("#comments-title")).to_have_text("1 条评论")
        await expect(slide.locator('[data-count="comments"]')).to_have_text("1")
        await snap(bob, "zh-CN-engage-comment")

        await alice.goto(f"/v/{vid}?comments")
        sheet = alice.locator("#comments-sheet")
        theirs = sheet.locator("#comments-list > .comment").first
        await expect(theirs.locator(".comment__body")).to_have_text(HOSTILE)
        await theirs.get_by_role("button", name="回复", exact=True).click()
        await expect(sheet.locator("#comments-replying")).to_have_text(re.compile("回复 小波"))
        await sheet.get_by_label("写评论").fill("谢谢喜欢 @bob")
        await sheet.get_by_label("写评论").press("Enter")
        await expect(theirs.locator(".comment--reply .comment__body")).to_have_text("谢谢喜欢 @bob")
        await expect(theirs.locator(".comment--reply .comment__badge").first).to_have_text("作者")
        await theirs.locator(':scope > .comment__main > .comment__meta > [data-action="pin"]').click()
        await expect(alice.locator("#toast")).to_have_text("已置顶")
        pinned = sheet.locator("#comments-list > .comment").first
        await expect(pinned.locator(PINNED)).to_be_visible()
        await expect(pinned.locator(PINNED)).to_have_text("置顶")
        await pinned.locator(':scope > [data-action="like"]').click()
        await expect(pinned.locator(':scope > [data-action="like"]')).to_have_attribute("aria-pressed", "true")
        await snap(alice, "zh-CN-engage-creator-pinned")

        await bob.goto(f"/v/{vid}?comments")
        thread = bob.locator("#comments-list > .comment").first
        await expect(thread.locator(PINNED)).to_be_visible()
        await expect(thread.locator(".comment--reply .comment__body")).to_have_text("谢谢喜欢 @bob")
        await expect(thread.locator(':scope > [data-action="like"] [data-field="likes"]')).to_have_text("1")
        own_delete = thread.locator(':scope > .comment__main > .comment__meta > [data-action="delete"]')
        await expect(own_delete).to_be_visible()
        await expect(thread.locator(".comment--reply [data-action='delete']")).to_be_hidden()
        await snap(bob, "zh-CN-engage-video-comments")
        await bob.keyboard.press("Escape")
        await expect(bob.locator("#comments-sheet")).to_be_hidden()

        english: Tab = await new_tab(locale="en")
        await api_sign_up(english.page, "carol")
        await english.page.goto(f"/v/{vid}?comments")
        await expect(english.page.locator("#comments-title")).to_have_text("2 comments")
        await expect(english.page.locator("#comments-list > .comment").first.locator(PINNED)
                     ).to_have_text("Pinned")
        await snap(english.page, "en-engage-comments")

        counts = "(ns) => import('/static/js/engage.js').then((m) => ns.map((n) => m.formatCount(n)))"
        numbers = [0, 999, 1234, 12345, 123456789]
        assert await english.page.evaluate(counts, numbers) == ["0", "999", "1.2K", "12K", "123.5M"]
        assert await bob.evaluate(counts, numbers) == ["0", "999", "1234", "1.2万", "1.2亿"]

    async def test_logged_out_taps_go_to_login(self, new_tab: Any, clip: Path, database: Database,
                                               settings: Settings) -> None:
        creator: Tab = await new_tab()
        await sign_up(creator.page, "alice")
        vid = await post_as(database, settings, "alice", clip, "早安")
        visitor: Tab = await new_tab(locale="en")
        page = visitor.page
        await wait_for_feed(page)
        await page.locator('#feed .slide [data-action="like"]').first.click()
        await expect(page).to_have_url(re.compile(rf"/login\?next=%2Fv%2F{vid}$"))
        await page.goto("/")
        await page.locator('#feed .slide [data-action="comments"]').first.click()
        await expect(page).to_have_url(re.compile(rf"/login\?next=%2Fv%2F{vid}$"))

    async def test_favourite_then_find_it_on_my_page(self, new_tab: Any, clip: Path, database: Database,
                                                     settings: Settings) -> None:
        creator: Tab = await new_tab()
        await sign_up(creator.page, "alice")
        vid = await post_as(database, settings, "alice", clip, "收藏这条")
        tab: Tab = await new_tab()
        page = tab.page
        await sign_up(page, "bob")
        await wait_for_feed(page)
        star = page.locator('#feed .slide [data-action="favourite"]').first
        await star.click()
        await expect(star).to_have_attribute("aria-pressed", "true")
        await expect(star.locator("[data-count]")).to_have_text("1")
        await expect(page.locator("#toast")).to_have_text("已收藏")
        await star.click(delay=800)  # a long press chooses the collection
        chooser = page.locator("#folders-sheet")
        await expect(chooser).to_be_visible()
        await expect(chooser.locator(".folder-choice")).to_have_text([re.compile("收藏\\s*1")])
        await expect(star).to_have_attribute("aria-pressed", "true")  # the press did not unfavourite
        await chooser.get_by_label("新建收藏夹").fill("猫猫")
        await snap(page, "zh-CN-engage-choose-collection")
        await chooser.get_by_role("button", name="创建").click()
        await expect(page.locator("#toast")).to_have_text("已收藏到「猫猫」")
        await expect(chooser).to_be_hidden()
        await expect(star.locator("[data-count]")).to_have_text("1")

        await page.goto("/me")
        await page.get_by_role("link", name="收藏", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/me/favourites$"))
        await expect(page.locator(".folder")).to_have_text([re.compile("收藏\\s*0"), re.compile("猫猫\\s*1")])
        await expect(page.get_by_text("还没有收藏")).to_be_visible()
        await page.locator(".folder", has_text="猫猫").click()
        await expect(page.locator("#favourites a")).to_have_attribute("href", f"/v/{vid}")
        await page.get_by_label("新建收藏夹").fill("旅行")
        await page.get_by_role("button", name="创建").click()
        await expect(page).to_have_url(re.compile(r"/me/favourites\?c=\d+$"))
        await expect(page.locator(".folder--on")).to_contain_text("旅行")
        await page.locator(".folder", has_text="猫猫").click()
        await snap(page, "zh-CN-engage-favourites")
