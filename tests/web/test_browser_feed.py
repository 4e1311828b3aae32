"""The For You swipe player in headless Chromium: a new user posts a video, opens the feed and
swipes to it playing; the next video is preloaded; sound and pause respond to taps."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from shua.config import Settings
from shua.core.db import Database
from shua.media.models import Video
from shua.media.synth import synthesize
from shua.media.uploads import import_file
from shua.media.videos import post_video
from tests.factories import make_user
from tests.web.conftest import Tab
from tests.web.test_browser import sign_up, snap
from tests.web.test_browser_video import post_clip

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import Page, expect


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"run_jobs_in_process": True, "job_poll_seconds": 0.1})


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("feed-clips")
    return (synthesize(folder / "mine.mp4", duration=2, width=320, height=568, fps=24, caption="我的"),
            synthesize(folder / "cat.mp4", duration=2, width=320, height=568, fps=24, caption="橘猫",
                       tone_hz=330.0, seed=3))


async def post_as(database: Database, settings: Settings, handle: str, clip: Path, caption: str) -> None:
    """Another creator's video, posted behind the browser's back; the app's worker processes it."""
    async with database.transaction() as db:
        owner = await make_user(db, handle, nickname="猫猫")
        upload = await import_file(db, owner_id=owner.id, source=clip, var_dir=settings.var_dir,
                                   ttl=timedelta(hours=1))
        await post_video(db, owner_id=owner.id, upload_id=upload.id, caption=caption)


PLAYING = """(index) => {
    const v = document.querySelectorAll("#feed video")[index];
    return v && !v.paused && v.readyState >= 2 && v.currentTime > 0;
}"""


async def slide_state(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await page.evaluate("""() => [...document.querySelectorAll(".slide")].map(s => {
        const v = s.querySelector("video");
        return {id: s.dataset.videoId, active: s.classList.contains("slide--active"), paused: v.paused,
                sources: v.querySelectorAll("source").length, muted: v.muted};
    })""")
    return result


class TestSwipeFeed:
    async def test_new_user_posts_then_a_viewer_swipes_to_it_playing(
        self, new_tab: Any, clips: tuple[Path, Path], database: Database, settings: Settings
    ) -> None:
        creator = (await new_tab()).page
        mine, cat = clips
        await sign_up(creator, "newbie", nickname="新人")
        await creator.goto("/create")
        await post_clip(creator, mine, "我的第一条 #新人报到")
        my_id = creator.url.rsplit("/", 1)[1]
        await expect(creator.locator("#player")).to_be_attached(timeout=90_000)  # published

        await post_as(database, settings, "maomao", cat, "橘猫早安 #猫咪日常 @newbie")
        for _ in range(90):  # the cat video is being transcoded by the app's worker
            async with database.transaction(write=False) as db:
                published = await db.scalar(select(func.count()).select_from(Video)
                                             .where(Video.playable_at.is_not(None)))
            if published == 2:
                break
            await asyncio.sleep(1)
        # Someone else opens the app (one's own videos are not in one's For You).
        page = (await new_tab()).page
        await sign_up(page, "viewer", nickname="观众")
        await page.goto("/")
        slides = page.locator("#feed .slide")
        await expect(slides).to_have_count(2)
        await expect(slides.first.locator(".slide__handle")).to_have_text("@maomao")
        await expect(slides.first.locator(".slide__tag")).to_have_text(["#猫咪日常", "@newbie"])
        await page.wait_for_function(PLAYING, arg=0, timeout=30_000)
        state = await slide_state(page)
        assert state[0]["active"] and state[0]["muted"]  # autoplay starts muted
        assert state[1]["sources"] > 0 and state[1]["paused"]  # the next one is already loading
        await snap(page, "zh-CN-feed-first")

        await page.locator("#feed").hover()
        await page.mouse.wheel(0, 640)  # a swipe up
        await page.wait_for_function(PLAYING, arg=1, timeout=30_000)
        state = await slide_state(page)
        assert state[1]["id"] == my_id and state[1]["active"] and state[0]["paused"], state
        await expect(slides.nth(1).locator(".slide__handle")).to_have_text("@newbie")
        await snap(page, "zh-CN-feed-swiped")

        await page.get_by_role("button", name="已静音").click()
        assert (await slide_state(page))[1]["muted"] is False
        await expect(page.locator("#feed-sound")).to_have_attribute("aria-pressed", "true")
        await slides.nth(1).locator(".slide__tap").click()  # tap pauses
        await expect(slides.nth(1)).to_have_class(re.compile("slide--paused"))
        await snap(page, "zh-CN-feed-paused")

        await page.keyboard.press("ArrowUp")  # back to the cat
        await page.wait_for_function(PLAYING, arg=0, timeout=30_000)
        assert (await slide_state(page))[0]["muted"] is False  # sound stays on once chosen

    async def test_empty_feed_invites_the_first_post(self, new_tab: Any) -> None:
        tab = await new_tab(locale="en")
        await tab.page.goto("/")
        await expect(tab.page.get_by_role("heading", name="No videos yet")).to_be_visible()
        await expect(tab.page.locator("#feed")).to_be_hidden()
        await snap(tab.page, "en-feed-empty")


class TestAdaptivePlayback:
    async def test_chromium_plays_the_hls_ladder(self, tab: Tab, clips: tuple[Path, Path], database: Database,
                                                 settings: Settings) -> None:
        """Chromium 156 plays HLS natively (canPlayType "maybe"), so a ready video is watched through
        the master playlist, not the MP4 fallback."""
        page = tab.page
        await post_as(database, settings, "maomao", clips[1], "橘猫 #猫咪")
        await page.goto("/")
        for _ in range(60):
            r = await page.request.get("/api/v1/feed")
            items = (await r.json())["items"]
            if items and items[0]["video"]["status"] == "ready":
                break
            await page.wait_for_timeout(1000)
        await page.goto(f"/v/{items[0]['video']['id']}")
        await page.wait_for_function("""() => {
            const v = document.getElementById("player");
            if (v && v.paused) v.play().catch(() => {});
            return v && v.readyState >= 2 && v.currentTime > 0;
        }""", timeout=30_000)
        src = await page.locator("#player").evaluate("v => v.currentSrc")
        assert src.endswith("/hls/master.m3u8"), src


class TestNotInterested:
    async def test_long_press_not_interested_removes_the_topic_now_and_later(self, tab: Tab,
                                                                            database: Database) -> None:
        from tests.factories import make_user, make_video

        async with database.transaction() as db:
            for topic in ("cats", "food", "sport"):
                for i in range(3):
                    creator = await make_user(db, f"{topic}{i}")
                    await make_video(db, creator, caption=f"#{topic} {i}", hashtags=[topic], duration_ms=8000)
        page = tab.page
        await sign_up(page, "picky", nickname="挑剔")
        sent: list[dict[str, Any]] = []

        async def capture(route: Any) -> None:
            # Counted once the server has answered (stored them), not when the browser sends
            # them: the page reload below must not overtake the batch (it did on PostgreSQL in CI).
            response = await route.fetch()
            await route.fulfill(response=response)
            sent.extend(route.request.post_data_json["events"])

        await page.route("**/api/v1/feed/events", capture)
        await page.goto("/")
        slides = page.locator("#feed .slide")
        await expect(slides).to_have_count(8)
        first_topic = (await slides.first.locator(".slide__tag").first.text_content() or "").lstrip("#")
        box = await slides.first.bounding_box()
        assert box is not None
        await page.mouse.move(box["x"] + 120, box["y"] + 300)
        await page.mouse.down()
        await page.wait_for_timeout(800)
        await page.mouse.up()
        menu = page.locator("#slide-menu")
        await expect(menu).to_be_visible()
        await snap(page, "zh-CN-feed-long-press")
        await menu.get_by_role("button", name="不感兴趣").click()
        await expect(page.locator("#toast")).to_have_text("好的，将减少此类推荐")
        remaining = await page.locator("#feed .slide .slide__tag").all_text_contents()
        assert all(tag != f"#{first_topic}" for tag in remaining[1:]), remaining  # none ahead of us
        for _ in range(60):  # batches go out every few seconds
            if any(e["kind"] == "not_interested" for e in sent):
                break
            await page.wait_for_timeout(250)
        kinds = {e["kind"] for e in sent}
        assert {"impression", "not_interested"} <= kinds, kinds
        await page.goto("/")  # a new session: the server leaves that topic out too
        await expect(slides.first).to_be_visible()
        tags = await page.locator("#feed .slide .slide__tag").all_text_contents()
        assert f"#{first_topic}" not in tags, tags


class TestColdStartInterests:
    async def test_a_new_viewer_picks_interests_and_the_feed_starts_there(self, tab: Tab,
                                                                         database: Database) -> None:
        from tests.factories import make_user, make_video

        async with database.transaction() as db:
            for n, topic in enumerate(("猫咪", "健身", "美食", "旅行", "游戏")):
                for i in range(4):
                    creator = await make_user(db, f"maker{n}x{i}")
                    await make_video(db, creator, caption=f"#{topic} 第{i}条", hashtags=[topic], duration_ms=8000)
        page = tab.page
        await sign_up(page, "newbie", nickname="新来的")
        await page.goto("/")
        prompt = page.locator("#interest-prompt")
        await expect(prompt).to_contain_text("选择兴趣，推荐更懂你")
        first = await page.locator("#feed .slide .slide__tag").all_text_contents()
        assert len(set(first)) >= 4, first  # knowing nothing: a spread of categories
        await snap(page, "zh-CN-feed-interest-prompt")
        await prompt.get_by_role("link").click()
        await expect(page).to_have_url(re.compile(r"/interests\?next=/$"))
        await page.get_by_text("萌宠").click()
        await page.get_by_text("健身").click()
        await snap(page, "zh-CN-interests")
        await page.get_by_role("button", name="开始刷").click()
        await expect(page).to_have_url(re.compile(r"/$"))
        await expect(page.locator("#toast")).to_have_text("兴趣已保存")
        await expect(page.locator("#interest-prompt")).to_have_count(0)  # answered: not offered again
        tags = await page.locator("#feed .slide .slide__tag").all_text_contents()
        assert sum(tag in ("#猫咪", "#健身") for tag in tags) >= 6, tags  # 8 of 20 videos are those
        await page.goto("/settings")
        await expect(page.get_by_role("link", name="修改兴趣")).to_be_visible()

    async def test_closing_the_prompt_is_an_answer(self, tab: Tab, database: Database) -> None:
        from tests.factories import make_user, make_video

        async with database.transaction() as db:
            await make_video(db, await make_user(db, "maker"), caption="#猫咪", hashtags=["猫咪"], duration_ms=8000)
        page = tab.page
        await sign_up(page, "busy", nickname="没空")
        await page.goto("/")
        await page.get_by_role("button", name="暂不选择").click()
        await expect(page.locator("#interest-prompt")).to_be_hidden()
        for _ in range(20):
            r = await page.request.get("/api/v1/feed/interests")
            if (await r.json())["chosen"] == []:
                break
            await page.wait_for_timeout(100)
        await page.reload()
        await expect(page.locator("#interest-prompt")).to_have_count(0)
