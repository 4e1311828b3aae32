"""In Chromium: a new user opens 钱包 from 我, binds a bank card with the code from the dev
inbox, sets a payment password; a wrong card number is told apart from a wrong code."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from sqlalchemy import select

from shua.core.db import Database
from shua.core.notify import DevMessage
from tests.web.conftest import Tab
from tests.web.test_browser import sign_up, snap

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import expect


async def code_for(database: Database, phone: str) -> str:
    async with database.transaction(write=False) as db:
        text = await db.scalar(select(DevMessage.text).where(DevMessage.to == phone).order_by(DevMessage.id.desc()))
    found = re.search(r"\b(\d{6})\b", text or "")
    assert found, text
    return found.group(1)


class TestWallet:
    async def test_bind_a_card_and_set_a_payment_password(self, tab: Tab, app: Any, database: Database) -> None:
        page = tab.page
        await sign_up(page, "payer", nickname="付款人")
        await page.get_by_role("link", name="钱包").click()
        await expect(page).to_have_url(re.compile(r"/wallet$"))
        await expect(page.locator("#wallet-balance")).to_have_text("¥0.00")
        await expect(page.locator("#cards-status")).to_have_text("还没有绑定银行卡。")

        await page.get_by_role("button", name="添加银行卡").click()
        await page.get_by_label("卡号").fill("6222 0212 3456 7895")  # one digit off
        await page.get_by_label("持卡人姓名").fill("张三")
        await page.get_by_label("银行预留手机号").fill("13800138000")
        await page.get_by_label("月").fill("12")
        await page.get_by_label("年", exact=True).fill("2030")
        await page.get_by_role("button", name="获取验证码").click()
        await expect(page.locator("#card-form .form-error")).to_have_text("卡号有误，请核对。")
        await page.get_by_label("卡号").fill("6222 0212 3456 7894")
        await snap(page, "zh-CN-wallet-bind")
        await page.get_by_role("button", name="获取验证码").click()
        await expect(page.locator("#code-sent")).to_have_text("验证码已发送至 138****8000。")
        await page.get_by_label("验证码", exact=True).fill(await code_for(database, "13800138000"))
        await page.get_by_role("button", name="确认绑卡").click()
        row = page.locator("#cards > li").first
        await expect(row).to_contain_text("银联 ••••7894")
        await expect(row).to_contain_text("默认")

        await page.get_by_label("新的 6 位支付密码").fill("123456")
        await page.get_by_role("button", name="保存支付密码").click()
        await expect(page.locator("#pin-form .form-error")).to_have_text("请输入 6 位数字，不能全部相同或连续。")
        await page.get_by_label("新的 6 位支付密码").fill("258147")
        await page.get_by_role("button", name="保存支付密码").click()
        await expect(page.locator("#pin-status")).to_have_text("已设置，付款时需要输入。")
        await expect(page.get_by_label("当前支付密码")).to_be_visible()
        await snap(page, "zh-CN-wallet")

    async def test_a_forgotten_payment_password_is_reset_by_code(self, tab: Tab, database: Database) -> None:
        from tests.web.test_browser_pay import bind_card_and_pin

        page = tab.page
        await sign_up(page, "forgetful", nickname="健忘")
        await bind_card_and_pin(page, database, "13800138000")
        await page.get_by_role("button", name="发送验证码到银行预留手机").click()
        await expect(page.locator("#pin-reset-sent")).to_have_text("验证码已发送至 138****8000。")
        await page.get_by_label("重设验证码").fill(await code_for(database, "13800138000"))
        await page.get_by_label("重设后的支付密码（6 位）").fill("369258")
        await page.get_by_role("button", name="重设支付密码").click()
        await expect(page.locator("#toast")).to_have_text("支付密码已重设。")
        await expect(page.locator("#pin-reset-form")).to_be_hidden()
