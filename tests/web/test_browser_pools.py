"""A creator sees which traffic-pool stage (流量池) their video reached, in Chromium: stage 0 once
it is ready, the next stage after viewers finished and liked it, on the video's page and on the
/me grid, in Chinese and English."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from shua.config import Settings
from shua.core import clock
from shua.core.db import Database
from shua.feed import events, pools
from shua.feed.tasks import rules_of
from shua.media.models import Video
from shua.media.synth import synthesize
from shua.social import engagement
from tests.factories import make_user
from tests.web.conftest import Tab
from tests.web.test_browser import log_in_any, sign_up, snap
from tests.web.test_browser_video import post_clip

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import expect


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"run_jobs_in_process": True, "job_poll_seconds": 0.1,
                                       "feed_pool_budgets": (5, 50, 500), "feed_pool_min_plays": 3})


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("pool-clips") / "pool.mp4", duration=2, width=320, height=568,
                      fps=24, caption="池")


async def in_pool(database: Database, video_id: int) -> pools.Stage:
    for _ in range(600):  # the worker transcodes, then video.ready puts it in the pool
        async with database.transaction(write=False) as db:
            stage = (await pools.stage_of_many(db, [video_id])).get(video_id)
        if stage is not None:
            return stage
        await asyncio.sleep(0.1)
    raise AssertionError("the video never entered the traffic pool")


async def loved_by_five(database: Database, settings: Settings, video_id: int) -> None:
    """Five viewers watch it to the end and like it; the counters fold and the pool decides."""
    async with database.transaction() as db:
        video = await db.get(Video, video_id)
        assert video is not None
        viewers = [await make_user(db, f"fan{i}") for i in range(5)]
    for viewer in viewers:
        async with database.transaction() as db:
            await events.ingest(db, user_id=viewer.id, limits=events.Limits(), events=[
                events.EventIn(event_id=uuid.uuid4(), video_id=video_id, kind=kind, at=clock.utcnow(), **extra)
                for kind, extra in (("impression", {}), ("play", {}), ("complete", {}),
                                    ("watch", {"watch_ms": 2000}))])
            await engagement.like(db, user_id=viewer.id, video=video)
    await events.aggregate(database, settle_ms=0)
    async with database.transaction() as db:
        verdicts = await pools.promote_due(db, rules=rules_of(settings))
    assert [v.promoted for v in verdicts] == [True]


class TestPoolStage:
    async def test_the_creator_sees_the_stage_reached(self, tab: Tab, new_tab: Any, database: Database,
                                                      settings: Settings, clip: Path) -> None:
        page = tab.page
        await sign_up(page, "creator", nickname="小刷")
        await page.goto("/create")
        await post_clip(page, clip, "第一条 #流量池")
        video_id = int(page.url.rsplit("/", 1)[1])
        assert await in_pool(database, video_id) == pools.Stage(stage=0, status="testing", impressions=0, budget=5)

        await page.reload()
        card = page.locator("#pool-stage")
        await expect(card.locator("#pool-title")).to_have_text("流量池 · 初始流量池")
        await expect(card.locator("#pool-status")).to_have_text("测试中：本阶段已曝光 0 / 5 次。")
        await expect(card.locator(".pool__step--current")).to_have_text("初始池")
        await expect(card).to_contain_text("先推荐给约 5 位观众")
        await card.scroll_into_view_if_needed()
        await snap(page, "zh-CN-pool-starter")

        await loved_by_five(database, settings, video_id)
        await page.reload()
        await expect(card.locator("#pool-title")).to_have_text("流量池 · 进阶流量池")
        await expect(card.locator("#pool-status")).to_have_text("测试中：本阶段已曝光 0 / 50 次。")
        await expect(card.locator(".pool__step--done")).to_have_text(["初始池"])
        await card.scroll_into_view_if_needed()
        await snap(page, "zh-CN-pool-bigger")

        await page.goto("/me")
        await expect(page.locator("#works .badge--pool")).to_have_text(["进阶池"])
        await snap(page, "zh-CN-pool-me")

        english = (await new_tab(locale="en")).page
        await english.goto("/login")
        await log_in_any(english, "creator")
        await expect(english.locator("#works .badge--pool")).to_have_text(["Bigger pool"])
        await english.goto(f"/v/{video_id}")
        await expect(english.locator("#pool-title")).to_have_text("Traffic pool · Bigger pool")
        await expect(english.locator("#pool-status")).to_have_text(
            re.compile(r"^Being tested: 0 of 50 impressions at this stage\.$"))
        await english.locator("#pool-stage").scroll_into_view_if_needed()
        await snap(english, "en-pool-bigger")

    async def test_nobody_else_sees_it(self, tab: Tab, new_tab: Any, database: Database, clip: Path) -> None:
        page = tab.page
        await sign_up(page, "creator", nickname="小刷")
        await page.goto("/create")
        await post_clip(page, clip, "别人看不到阶段")
        video_id = int(page.url.rsplit("/", 1)[1])
        await in_pool(database, video_id)
        other = (await new_tab()).page
        await sign_up(other, "viewer", nickname="观众")
        await other.goto(f"/v/{video_id}")
        await expect(other.locator("#watch")).to_be_visible()
        assert await other.locator("#pool-stage").count() == 0
        r = await other.request.get(f"/api/v1/videos/{video_id}")
        assert r.ok and (await r.json())["pool"] is None
