"""In Chromium, the whole of Shua Pay a person meets: bind a demo card, top up (the bank settles
it a moment later), pay another user and get a receipt, pay someone's payment link from the
wallet, be refunded part of it by the payee, and read it all in the history and the month's
statement; the operator's ledger page shows the books balanced."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from shua.accounts import service as accounts
from shua.core import jobs
from shua.core.db import Database
from shua.payments.models import BankOperation
from tests.web.conftest import Tab
from tests.web.test_browser import sign_up, sign_up_any, snap
from tests.web.test_browser_wallet import code_for

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import Page, expect

PIN = "258147"


async def bind_card_and_pin(page: Page, database: Database, phone: str) -> None:
    await page.goto("/wallet")
    await page.get_by_role("button", name="添加银行卡").click()
    await page.get_by_label("卡号").fill("6222 0212 3456 7894" if phone.endswith("8000") else "4111 1111 1111 1111")
    await page.get_by_label("持卡人姓名").fill("张三")
    await page.get_by_label("银行预留手机号").fill(phone)
    await page.get_by_label("月").fill("12")
    await page.get_by_label("年", exact=True).fill("2030")
    await page.get_by_role("button", name="获取验证码").click()
    await expect(page.locator("#code-sent")).to_be_visible()
    await page.get_by_label("验证码", exact=True).fill(await code_for(database, phone))
    await page.get_by_role("button", name="确认绑卡").click()
    await expect(page.locator("#cards > li").first).to_contain_text("••••")
    await page.get_by_label("新的 6 位支付密码").fill(PIN)
    await page.get_by_role("button", name="保存支付密码").click()
    await expect(page.locator("#pin-status")).to_have_text("已设置，付款时需要输入。")


async def settle_bank(database: Database) -> None:
    """The worker's part: submit to the simulated bank and deliver its webhook, until every bank
    operation has settled (the live server runs no jobs of its own)."""
    for _ in range(100):
        await jobs.drain(database)
        async with database.transaction(write=False) as db:
            waiting = await db.scalar(select(func.count()).select_from(BankOperation)
                                      .where(BankOperation.status.in_(("created", "submitted"))))
        if not waiting:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the bank operations did not settle")


async def top_up(page: Page, database: Database, yuan: str) -> None:
    """充值 on the wallet page, then the worker's and the bank's part, until the balance shows it."""
    await page.get_by_role("button", name="充值", exact=True).click()
    await page.locator("#topup-amount").fill(yuan)
    await page.locator("#topup-pin").fill(PIN)
    await page.get_by_role("button", name="从银行卡充值").click()
    await expect(page.locator("#money-status")).to_have_text("银行处理中…")  # asked: now the bank's turn
    await settle_bank(database)
    await expect(page.locator("#money-status")).to_have_text(f"已充值 ¥{float(yuan):.2f}。", timeout=15_000)


class TestPayJourney:
    async def test_top_up_pay_a_user_pay_a_link_and_get_a_refund(self, new_tab: Any, database: Database) -> None:
        payer_tab: Tab = await new_tab()
        payer = payer_tab.page
        await sign_up(payer, "payer", nickname="付款人")
        await bind_card_and_pin(payer, database, "13800138000")

        await top_up(payer, database, "200")
        await expect(payer.locator("#wallet-balance")).to_have_text("¥200.00")

        seller_tab: Tab = await new_tab()
        seller = seller_tab.page
        await sign_up(seller, "seller", nickname="卖家")
        await seller.goto("/wallet")
        await seller.get_by_role("button", name="收款", exact=True).click()
        await seller.locator("#request-amount").fill("88.8")
        await seller.get_by_label("收款说明（选填）").fill("二手书《三体》")
        await seller.get_by_role("button", name="生成收款链接").click()
        await expect(seller).to_have_url(re.compile(r"/pay/\d+$"))
        await expect(seller.locator("#pay-status")).to_have_text("待付款")
        link = await seller.locator("#pay-link").input_value()
        assert re.search(r"/pay/\d+\?s=", link), link
        await snap(seller, "zh-CN-pay-request")

        # The payer pays a friend directly (转账) and gets a receipt.
        await payer.get_by_role("button", name="转账", exact=True).click()
        await payer.locator("#transfer-to").fill("seller")
        await payer.locator("#transfer-amount").fill("10")
        await payer.get_by_label("备注（选填）").fill("奶茶钱")
        await payer.locator("#transfer-pin").fill(PIN)
        await payer.get_by_role("button", name="确认转账").click()
        await expect(payer).to_have_url(re.compile(r"/wallet/receipts/\d+$"))
        await expect(payer.locator("#receipt-amount")).to_have_text("−¥10.00")
        await expect(payer.get_by_text("奶茶钱")).to_be_visible()
        await snap(payer, "zh-CN-pay-receipt")

        # …then opens the seller's link and pays it from the wallet.
        await payer.goto(link)
        await expect(payer.get_by_role("heading", name="向 卖家 付款")).to_be_visible()
        await expect(payer.locator("#pay-amount")).to_have_text("¥88.80")
        await payer.get_by_label("支付密码").fill("111111")
        await payer.get_by_role("button", name="付款 ¥88.80").click()
        await expect(payer.locator("#pay-form .form-error")).to_contain_text("支付密码")
        await payer.get_by_label("支付密码").fill(PIN)
        await snap(payer, "zh-CN-pay-checkout")
        await payer.get_by_role("button", name="付款 ¥88.80").click()
        await expect(payer.locator("#pay-status")).to_have_text("已付款")
        await expect(payer.get_by_text("担保中：确认后结算给收款方")).to_be_visible()

        # The seller refunds part of it; the money goes back to the payer's wallet.
        await seller.reload()
        await expect(seller.locator("#pay-status")).to_have_text("已付款")
        await seller.get_by_label("金额").fill("20")
        await seller.get_by_label("退款原因（选填）").fill("书角有折痕")
        await seller.get_by_role("button", name="确认退款").click()
        await expect(seller.locator("#pay-refunds")).to_contain_text("¥20.00 · 退回钱包")
        await expect(seller.locator("#pay-refunded")).to_have_text("¥20.00")
        await snap(seller, "zh-CN-pay-refunded")

        await payer.goto("/wallet")
        await expect(payer.locator("#wallet-balance")).to_have_text("¥121.20")  # 200 − 10 − 88.80 + 20
        first = payer.locator("#history > li").first
        await expect(first).to_contain_text("退款 · 卖家")
        await expect(first).to_contain_text("+¥20.00")
        await payer.locator("#history-filter").select_option(label="支出")
        await expect(payer.locator("#history > li")).to_have_count(2)
        await snap(payer, "zh-CN-wallet-history")

        await payer.get_by_role("link", name="月度账单").click()
        await expect(payer.locator("#statement-closing")).to_have_text("¥121.20")
        await expect(payer.locator(".statement__table tbody tr")).to_have_count(4)
        await snap(payer, "zh-CN-wallet-statement")

    async def test_the_operator_sees_the_books_balance(self, tab: Tab, database: Database) -> None:
        page = tab.page
        await sign_up(page, "boss", nickname="运营")
        await bind_card_and_pin(page, database, "13800138000")
        await top_up(page, database, "50")
        await expect(page.locator("#wallet-balance")).to_have_text("¥50.00")
        async with database.transaction() as db:
            user = await accounts.get_user(db, ref="boss")
            await accounts.set_role(db, user_id=user.id, role="admin")
        await page.goto("/admin")
        await page.get_by_role("link", name="资金账本与对账").click()
        await expect(page.locator("[data-total=CNY]")).to_contain_text("¥0.00")
        await expect(page.locator("[data-total=CNY]")).to_contain_text("平衡")
        await expect(page.locator("#recon-summary")).to_contain_text("全部一致")
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept("风控核查")))
        await page.get_by_role("button", name="冻结 wallet:").first.click()
        await expect(page.locator("#ledger-accounts")).to_contain_text("已冻结")
        await expect(page.locator("#pay-audit")).to_contain_text("payments.account_freeze")
        await snap(page, "zh-CN-admin-payments")

    async def test_the_wallet_fits_a_phone_in_english(self, new_tab: Any) -> None:
        tab: Tab = await new_tab(locale="en")
        page = tab.page
        await page.goto("/signup")
        await sign_up_any(page, "walleteer", "Walleteer")
        await page.goto("/wallet")
        await expect(page.get_by_role("button", name="Pay someone")).to_be_visible()
        await page.get_by_role("button", name="Request", exact=True).click()
        await expect(page.get_by_role("button", name="Create payment link")).to_be_visible()
        await snap(page, "en-wallet")  # nothing sticks out sideways at 360 px
