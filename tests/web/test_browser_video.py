"""Posting a video in headless Chromium: the "+" page's tus upload (and its resumes), the video
page from processing to playing, and the creator's grid on /me. The app runs its in-process
job worker here, so the real media.process job transcodes the clip while the browser waits."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shua.config import Settings
from shua.media import pipeline
from shua.media.synth import synthesize
from tests.web.conftest import SCREENSHOTS, Tab
from tests.web.test_browser import sign_up, snap

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):  # without it the fixtures skip (or fail) with the reason
    from playwright.async_api import Page, Request, Route, expect

CHUNK = 16 * 1024  # forced with /create?chunk=…: the clip then goes up in about eight PATCHes


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with the job worker on, polling often."""
    return settings.model_copy(update={"run_jobs_in_process": True, "job_poll_seconds": 0.1})


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "第一条.mp4"
    synthesize(path, duration=2, width=320, height=568, fps=24, audio=True, caption="刷")
    return path


@pytest.fixture
def processing_gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Hold media.process until the test has seen "processing"; set() lets it run."""
    gate, finished = threading.Event(), threading.Event()
    real = pipeline.process_video

    async def gated(*args: Any, **kwargs: Any) -> None:
        await asyncio.to_thread(gate.wait, 60)
        if not finished.is_set():  # after the test: let the job end without transcoding
            await real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "process_video", gated)
    yield gate
    finished.set()
    gate.set()


class Traffic:
    """The tus requests a page sends: (method, Upload-Offset or None)."""

    def __init__(self, page: Page) -> None:
        self.seen: list[tuple[str, int | None]] = []
        page.on("request", self.on_request)

    def on_request(self, request: Request) -> None:
        if "/api/v1/uploads" in request.url:
            offset = request.headers.get("upload-offset")
            self.seen.append((request.method, int(offset) if offset is not None else None))

    def methods(self) -> list[str]:
        return [method for method, _ in self.seen]


async def post_clip(page: Page, clip: Path, caption: str) -> None:
    await page.locator("#create-file").set_input_files(clip)
    await expect(page.locator("#create-upload-state")).to_have_text("上传完成", timeout=20_000)
    await page.get_by_label("作品描述").fill(caption)
    await page.get_by_role("button", name="发布", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/v/\d+$"))


class TestPostVideo:
    async def test_new_user_posts_a_video_that_plays(
        self, tab: Tab, clip: Path, processing_gate: threading.Event
    ) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page = tab.page
        await sign_up(page, "creator", nickname="小刷")
        await page.get_by_role("link", name="发布", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/create$"))
        await snap(page, "zh-CN-create-empty")

        await page.locator("#create-file").set_input_files(clip)
        await expect(page.locator("#create-preview")).to_be_visible()
        await expect(page.locator("#create-upload-state")).to_have_text("上传完成", timeout=20_000)
        await expect(page.locator("#create-percent")).to_have_text("100%")
        await page.get_by_label("作品描述").fill("第一条视频 #猫咪日常 和 @creator 一起 #猫咪日常")
        await expect(page.locator("#create-tags li")).to_have_text(["#猫咪日常", "@creator"])
        await expect(page.locator("#create-cover-field")).to_be_visible()
        await page.locator("#create-cover").fill("1000")
        await expect(page.locator("#create-cover-time")).to_have_text("1.0s")
        await page.get_by_text("允许合拍").click()  # off
        await snap(page, "zh-CN-create-ready")
        await page.get_by_role("button", name="发布", exact=True).click()

        await expect(page).to_have_url(re.compile(r"/v/\d+$"))
        video_id = page.url.rsplit("/", 1)[1]
        await expect(page.get_by_role("status").filter(has_text="处理中…")).to_be_visible()
        await expect(page.locator("#watch-caption")).to_have_text("第一条视频 #猫咪日常 和 @creator 一起 #猫咪日常")
        await expect(page.locator("#watch-caption .watch__tag").first).to_have_text("#猫咪日常")
        await snap(page, "zh-CN-video-processing")
        await page.goto("/me")
        await expect(page.locator("#works .badge")).to_have_text("处理中…")
        await snap(page, "zh-CN-me-processing")
        api = await (await page.request.get(f"/api/v1/videos/{video_id}")).json()
        assert (api["allow_duets"], api["allow_comments"], api["hashtags"]) == (False, True, ["猫咪日常"])

        processing_gate.set()
        await page.goto(f"/v/{video_id}")
        player = page.locator("#player")
        await expect(player).to_be_attached(timeout=90_000)  # the page reloads itself when ready
        await page.wait_for_function("""() => {
            const v = document.getElementById("player");
            if (v && v.paused) v.play().catch(() => {});
            return v && v.readyState >= 2 && v.currentTime > 0;
        }""", timeout=30_000)
        src = await player.evaluate("v => v.currentSrc")
        assert re.search(r"/media/videos/\d+/", src), src
        await snap(page, "zh-CN-video-playing")

        await page.goto("/me")
        tile = page.locator("#works a")
        await expect(tile).to_have_count(1)
        await expect(tile).to_have_attribute("href", f"/v/{video_id}")
        await expect(page.locator("#works .badge:not(.badge--pool)")).to_have_count(0)  # no "processing"
        await expect(page.locator("#works .badge--pool")).to_have_text(["初始池"])  # its traffic-pool stage
        await expect(page.locator("#works img")).to_have_js_property("complete", True)
        assert await page.locator("#works img").evaluate("img => img.naturalWidth") > 0
        await snap(page, "zh-CN-me-videos")

    async def test_owner_edits_and_deletes(self, tab: Tab, clip: Path, processing_gate: threading.Event) -> None:
        page = tab.page
        await sign_up(page, "creator")
        await page.goto("/create")
        await post_clip(page, clip, "原来的描述")
        await page.get_by_label("作品描述").fill("新的描述 #日常")
        await page.locator("label[for=video-vis-private]").click()
        await page.get_by_role("button", name="保存").click()
        await expect(page.locator("#toast")).to_have_text("作品已保存")
        await expect(page.locator("#watch-caption")).to_have_text("新的描述 #日常")
        await expect(page.locator(".watch__chips")).to_contain_text("仅自己可见")
        async def accept(dialog: Any) -> None:
            await dialog.accept()

        page.once("dialog", accept)
        await page.get_by_role("button", name="删除作品").click()
        await expect(page).to_have_url(re.compile(r"/me$"))
        await expect(page.locator("#toast")).to_have_text("作品已删除")
        await expect(page.locator("#works")).to_have_count(0)

    async def test_not_a_video_is_refused_before_uploading(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "creator")
        await page.goto("/create")
        await page.locator("#create-file").set_input_files(
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": "不是视频".encode()})
        await expect(page.get_by_role("alert")).to_have_text("这个文件不是视频。")
        await expect(page.locator("#create-upload")).to_be_hidden()
        await snap(page, "zh-CN-create-error")


class TestResume:
    async def test_network_error_mid_upload_resumes_from_the_servers_offset(
        self, tab: Tab, clip: Path, processing_gate: threading.Event
    ) -> None:
        page = tab.page
        size = len(await asyncio.to_thread(clip.read_bytes))
        await sign_up(page, "creator")
        patches = 0

        async def flaky(route: Route) -> None:
            nonlocal patches
            if route.request.method == "PATCH":
                patches += 1
                if patches == 3:
                    await route.abort("connectionreset")
                    return
            await route.continue_()

        await page.route("**/api/v1/uploads/*", flaky)
        traffic = Traffic(page)
        await page.goto(f"/create?chunk={CHUNK}")
        await page.locator("#create-file").set_input_files(clip)
        await expect(page.locator("#create-upload-state")).to_have_text("网络中断，正在重新连接…")
        await snap(page, "zh-CN-create-retrying")
        await expect(page.locator("#create-upload-state")).to_have_text("上传完成", timeout=20_000)
        methods = traffic.methods()
        assert methods[0] == "POST" and methods.count("POST") == 1, methods
        assert "HEAD" in methods, methods
        after = traffic.seen[methods.index("HEAD") + 1]
        assert after == ("PATCH", 2 * CHUNK), traffic.seen  # the aborted chunk never reached the server
        assert all(offset % CHUNK == 0 for m, offset in traffic.seen if m == "PATCH")
        assert patches == -(-size // CHUNK) + 1
        await page.get_by_role("button", name="发布", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/v/\d+$"))

    async def test_reload_mid_upload_resumes_the_same_upload(
        self, tab: Tab, clip: Path, processing_gate: threading.Event
    ) -> None:
        page = tab.page
        await sign_up(page, "creator")
        held, release = asyncio.Event(), asyncio.Event()
        patches = 0

        async def stall(route: Route) -> None:
            nonlocal patches
            if route.request.method == "PATCH":
                patches += 1
                if patches >= 4:  # the fourth chunk hangs until the page goes away
                    held.set()
                    await release.wait()
                    with contextlib.suppress(Exception):  # the page that sent it is gone
                        await route.abort()
                    return
            await route.continue_()

        await page.route("**/api/v1/uploads/*", stall)
        await page.goto(f"/create?chunk={CHUNK}")
        await page.locator("#create-file").set_input_files(clip)
        await asyncio.wait_for(held.wait(), 20)
        await expect(page.locator("#create-upload-state")).to_have_text("上传中…")
        percent = int((await page.locator("#create-percent").text_content() or "0%").rstrip("%"))
        assert 0 < percent < 100
        # Not snap(): the hung chunk keeps the network busy, so "networkidle" never comes.
        await page.screenshot(path=str(SCREENSHOTS / "zh-CN-create-uploading.png"))
        stored = await page.evaluate("Object.entries(localStorage).filter(([k]) => k.startsWith('shua.tus:'))")
        assert len(stored) == 1 and re.fullmatch(r"/api/v1/uploads/\d+", stored[0][1]), stored

        await page.unroute("**/api/v1/uploads/*")
        traffic = Traffic(page)
        await page.goto(f"/create?chunk={CHUNK}")  # the same as a reload, without the hung request
        release.set()
        await page.locator("#create-file").set_input_files(clip)
        await expect(page.locator("#create-upload-state")).to_have_text("上传完成", timeout=20_000)
        assert traffic.seen[0] == ("HEAD", None), traffic.seen  # no new upload: it asks where to go on
        # It goes on from the server's offset: three chunks were acknowledged; the held fourth may
        # or may not have reached the server before the page went away (a race with unroute).
        assert traffic.seen[1] in {("PATCH", 3 * CHUNK), ("PATCH", 4 * CHUNK)}, traffic.seen
        assert "POST" not in traffic.methods()
        await page.get_by_label("作品描述").fill("续传成功 #续传")
        await page.get_by_role("button", name="发布", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/v/\d+$"))
        remaining = await page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('shua.tus:'))")
        assert remaining == []  # forgotten once posted
