"""End-to-end journeys in headless Chromium at 360×640 against the real app (see conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from shua.accounts import service
from shua.core import clock, jobs
from shua.core.ids import new_id
from tests.helpers import PASSWORD
from tests.web.conftest import SCREENSHOTS, Tab

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):  # without it the fixtures skip (or fail) with the reason
    from playwright.async_api import Page, expect


async def sign_up(page: Page, handle: str = "alice", nickname: str = "") -> None:
    await page.goto("/signup")
    await page.get_by_label("用户名", exact=True).fill(handle)
    if nickname:
        await page.get_by_label("昵称").fill(nickname)
    await page.get_by_label("密码", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="注册", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/me$"))


async def log_in(page: Page, login: str, password: str = PASSWORD) -> None:
    await page.get_by_label("用户名或手机号").fill(login)
    await page.get_by_label("密码", exact=True).fill(password)
    await page.get_by_role("button", name="登录", exact=True).click()


class TestAccountJourneys:
    async def test_sign_up_lands_on_profile(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice", nickname="爱丽丝")
        await expect(page.get_by_role("heading", name="爱丽丝")).to_be_visible()
        await expect(page.get_by_text("@alice")).to_be_visible()
        await expect(page.locator("#toast")).to_have_text("欢迎来到刷！")
        await expect(page.get_by_role("link", name="我")).to_have_attribute("aria-current", "page")

    async def test_sign_up_with_phone_number(self, tab: Tab) -> None:
        page = tab.page
        await page.goto("/signup")
        await page.get_by_text("手机号注册", exact=True).click()
        await page.get_by_label("手机号", exact=True).fill("138 0013 8000")
        await page.get_by_label("密码", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="注册", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/me$"))
        await expect(page.get_by_text(re.compile(r"^@u8000\d{6}$"))).to_be_visible()

    async def test_sign_up_errors_are_translated(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice")
        await page.context.clear_cookies()
        await page.goto("/signup")
        await page.get_by_label("用户名", exact=True).fill("alice")
        await page.get_by_label("密码", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="注册", exact=True).click()
        await expect(page.get_by_role("alert")).to_have_text("这个用户名已被占用。")
        await page.get_by_label("用户名", exact=True).fill("bob")
        await page.get_by_label("密码", exact=True).fill("password123")
        await page.get_by_role("button", name="注册", exact=True).click()
        await expect(page.get_by_role("alert")).to_have_text("密码太常见或太简单，换一个吧。")
        await page.get_by_label("用户名", exact=True).fill("9bob")
        await page.get_by_role("button", name="注册", exact=True).click()
        await expect(page.get_by_role("alert")).to_contain_text("以字母开头")
        await expect(page.get_by_label("用户名", exact=True)).to_have_attribute("aria-invalid", "true")

    async def test_edit_profile_shows_on_me(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice")
        await page.get_by_role("link", name="编辑资料").click()
        await expect(page).to_have_url(re.compile(r"/me/edit$"))
        await page.get_by_label("昵称").fill("小明同学")
        await page.get_by_label("简介").fill("喜欢拍日常\n也爱写心情")
        await page.get_by_label("生日").fill("1995-08-20")
        await page.get_by_role("button", name="保存").click()
        await expect(page).to_have_url(re.compile(r"/me$"))
        await expect(page.get_by_role("heading", name="小明同学")).to_be_visible()
        await expect(page.locator(".profile__bio")).to_have_text("喜欢拍日常\n也爱写心情")
        await expect(page.get_by_text("1995年8月20日")).to_be_visible()
        await expect(page.locator("#toast")).to_have_text("资料已保存")

    async def test_avatar_upload(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice")
        await page.goto("/me/edit")
        png = io.BytesIO()
        Image.new("RGB", (300, 200), (254, 44, 85)).save(png, "PNG")
        await page.locator("#avatar-file").set_input_files(
            {"name": "me.png", "mimeType": "image/png", "buffer": png.getvalue()})
        await expect(page.locator("#avatar-status")).to_have_text("头像已更新")
        await page.goto("/me")
        avatar = page.locator(".profile img.avatar__img")
        await expect(avatar).to_have_attribute("src", re.compile(r"^/media/avatars/"))
        assert await avatar.evaluate("img => img.naturalWidth") == 256

    async def test_log_out_then_log_in_again(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice")
        await page.goto("/settings")
        await page.get_by_role("button", name="退出登录").click()
        await expect(page).to_have_url(re.compile(r"/$"))
        await expect(page.locator("#toast")).to_have_text("已退出登录")
        await page.goto("/me")
        await expect(page).to_have_url(re.compile(r"/login\?next=%2Fme$"))
        await log_in(page, "alice", "wrong-password-1")
        await expect(page.get_by_role("alert")).to_have_text("账号或密码错误。")
        await log_in(page, "ALICE")
        await expect(page).to_have_url(re.compile(r"/me$"))
        await expect(page.get_by_text("@alice")).to_be_visible()

    async def test_switch_language_to_english(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice")
        await page.goto("/settings")
        await page.get_by_role("button", name="English").click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.get_by_role("heading", name="Settings")).to_be_visible()
        await expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
        await page.get_by_role("link", name="Home").click()
        await expect(page.get_by_role("heading", name="No videos yet")).to_be_visible()
        cookies = {c["name"]: c for c in await page.context.cookies()}
        assert cookies["shua_lang"]["value"] == "en" and cookies["shua_lang"]["sameSite"] == "Lax"
        me = await page.request.get("/api/v1/me")
        assert (await me.json())["locale"] == "en"  # remembered on the account for other devices

    async def test_language_switch_when_logged_out(self, tab: Tab) -> None:
        page = tab.page
        await page.goto("/login")
        await page.get_by_role("button", name="English").click()
        await expect(page.get_by_role("heading", name="Log in to Shua")).to_be_visible()

    async def test_revoke_another_session(self, new_tab: Any) -> None:
        phone, laptop = await new_tab(), await new_tab()
        await sign_up(phone.page, "alice")
        await laptop.page.goto("/login")
        await log_in(laptop.page, "alice")
        await expect(laptop.page).to_have_url(re.compile(r"/me$"))

        page = phone.page
        await page.goto("/settings")
        rows = page.locator("#sessions > li")
        await expect(rows).to_have_count(2)
        await expect(rows.filter(has_text="本机")).to_have_count(1)
        await expect(rows.filter(has_text="本机").get_by_role("button")).to_have_count(0)
        await rows.filter(has_not_text="本机").get_by_role("button", name=re.compile("^退出")).click()
        await expect(rows).to_have_count(1)
        await expect(page.locator("#toast")).to_have_text("已让该设备退出登录")

        await laptop.page.goto("/me")
        await expect(laptop.page).to_have_url(re.compile(r"/login\?next=%2Fme$"))
        await page.reload()
        await expect(page.locator("#sessions > li")).to_have_count(1)

    async def test_change_password(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice")
        await page.goto("/settings")
        await page.get_by_label("当前密码").fill("not-my-password")
        await page.get_by_label("新密码", exact=True).fill("Another-Horse-43")
        await page.get_by_label("再次输入新密码").fill("Another-Horse-44")
        await page.get_by_role("button", name="修改密码").click()
        await expect(page.get_by_role("alert").first).to_have_text("两次输入的新密码不一致")
        await page.get_by_label("再次输入新密码").fill("Another-Horse-43")
        await page.get_by_role("button", name="修改密码").click()
        await expect(page.get_by_role("alert").first).to_have_text("当前密码不正确")
        await page.get_by_label("当前密码").fill(PASSWORD)
        await page.get_by_role("button", name="修改密码").click()
        await expect(page.locator("#toast")).to_have_text(re.compile("密码已修改"))

    async def test_download_my_data(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice", nickname="爱丽丝")
        await page.goto("/settings")
        async with page.expect_download() as info:
            await page.get_by_role("link", name="下载我的数据").click()
        download = await info.value
        assert download.suggested_filename == "shua-export-alice.json"
        data = json.loads(await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8"))
        assert data["account"]["nickname"] == "爱丽丝"

    async def test_delete_account(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice")
        await page.goto("/settings")
        await page.get_by_text("注销账号", exact=True).click()
        await page.get_by_label("输入密码以确认").fill(PASSWORD)
        await page.get_by_role("button", name="注销我的账号").click()
        await expect(page).to_have_url(re.compile(r"/$"))
        await expect(page.locator("#toast")).to_have_text("账号已注销")
        response = await page.goto("/u/alice")
        assert response is not None and response.status == 404


class TestAdmin:
    async def test_admin_sees_users_and_retries_a_failed_job(self, tab: Tab, database: Any) -> None:
        async with database.transaction() as db:
            await service.ensure_admin(db, username="root", password=PASSWORD)
            await service.signup(db, username="viewer1", password=PASSWORD, nickname="观众一号")
            now = clock.utcnow()
            db.add(jobs.Job(id=new_id(), name="accounts.delete_file", payload={"key": "avatars/1/x.jpg"},
                            status=jobs.FAILED, attempts=5, max_attempts=5, run_at=now, finished_at=now,
                            last_error="OSError: [Errno 28] No space left on device"))
        page = tab.page
        await page.goto("/admin")
        await log_in(page, "root")
        await expect(page).to_have_url(re.compile(r"/admin$"))
        await expect(page.locator("#users > li")).to_have_count(2)
        await expect(page.locator("#users")).to_contain_text("观众一号 @viewer1")
        job = page.locator("#jobs > li")
        await expect(job).to_contain_text("No space left on device")
        await job.get_by_role("button", name=re.compile("^重试")).click()
        await expect(job).to_have_count(0)
        await expect(page.locator("#jobs-status")).to_have_text("没有失败的任务，一切正常。")

    async def test_non_admin_sees_403(self, tab: Tab) -> None:
        page = tab.page
        await sign_up(page, "alice")
        response = await page.goto("/admin")
        assert response is not None and response.status == 403
        await expect(page.get_by_role("heading", name="仅限管理员")).to_be_visible()


class TestLooks:
    async def test_screenshots_of_every_page(self, new_tab: Any, database: Any) -> None:
        """Not an assertion of taste: the pictures in tests/screenshots/ are for people to look at.
        It does check that Chinese renders with a real CJK font and nothing overflows sideways."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        async with database.transaction() as db:
            await service.ensure_admin(db, username="root", password=PASSWORD)
            now = clock.utcnow()
            db.add(jobs.Job(id=new_id(), name="accounts.delete_file", payload={"key": "avatars/1/x.jpg"},
                            status=jobs.FAILED, attempts=5, max_attempts=5, run_at=now, finished_at=now,
                            last_error="OSError: [Errno 28] No space left on device"))
        for locale in ("zh-CN", "en"):
            tab = await new_tab(locale)
            page = tab.page
            for name, path in (("home-logged-out", "/"), ("login", "/login"), ("signup", "/signup")):
                await shoot(page, path, f"{locale}-{name}")
            await page.locator("#signup-username").fill("9")
            await page.locator("#signup-password").fill("short")
            await page.locator("#signup-form button[type=submit]").click()
            await snap(page, f"{locale}-signup-error")
            await page.goto("/signup")
            await sign_up_any(page, f"user_{locale[:2]}", "小明" if locale == "zh-CN" else "Ming")
            await page.request.patch("/api/v1/me", data={"bio": "喜欢拍日常，也爱写心情。\nLoves daily posts.",
                                                          "birthday": "1995-08-20"},
                                     headers={"X-CSRF-Token": await csrf(page)})
            pages = [("home", "/"), ("friends", "/friends"), ("create", "/create"), ("inbox", "/inbox"),
                     ("me", "/me"), ("me-edit", "/me/edit"), ("settings", "/settings"),
                     ("profile", f"/u/user_{locale[:2]}"), ("admin-403", "/admin"), ("not-found", "/u/nobody")]
            for name, path in pages:
                await shoot(page, path, f"{locale}-{name}")
            await page.context.clear_cookies()
            await page.goto("/login")
            await log_in_any(page, "root")
            await shoot(page, "/admin", f"{locale}-admin")
        wide = await new_tab("zh-CN", {"width": 1280, "height": 800})
        await shoot(wide.page, "/", "desktop-home")
        await shoot(wide.page, "/login", "desktop-login")


# Missing glyphs all render as the same box: two different characters drawing the same
# pixels means the page font has no Chinese.
DISTINCT_CJK_GLYPHS = """() => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  const ctx = canvas.getContext("2d");
  ctx.font = `40px ${getComputedStyle(document.body).fontFamily}`;
  const draw = (ch) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.fillText(ch, 2, 42);
    return ctx.getImageData(0, 0, 48, 48).data.join();
  };
  return draw("中") !== draw("国");
}"""


async def csrf(page: Page) -> str:
    return str(await page.locator('meta[name="csrf-token"]').get_attribute("content"))


async def sign_up_any(page: Page, handle: str, nickname: str) -> None:
    await page.locator("#signup-username").fill(handle)
    await page.locator("#signup-nickname").fill(nickname)
    await page.locator("#signup-password").fill(PASSWORD)
    await page.locator("#signup-form button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/me$"))


async def log_in_any(page: Page, login: str) -> None:
    await page.locator("#login-name").fill(login)
    await page.locator("#login-password").fill(PASSWORD)
    await page.locator("#login-form button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/me$"))


async def shoot(page: Page, path: str, name: str) -> None:
    await page.goto(path)
    await snap(page, name)


async def snap(page: Page, name: str) -> None:
    await page.wait_for_load_state("networkidle")
    await page.evaluate("document.fonts.ready")
    # Nothing may stick out sideways at 360 px (the classic mobile bug).
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (name, overflow)
    if name.startswith("zh"):
        assert await page.evaluate(DISTINCT_CJK_GLYPHS), f"{name}: Chinese renders as boxes"
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-full.png"), full_page=True)
