"""In Chromium, the shop's first loop: a merchant opens 我的小店 and lists a product with two
SKUs, a photo and a formatted description; a buyer opens the product page, asks a question the
merchant answers, adds an address, picks a SKU and quantity, buys now, pays on Shua Pay's page
with the wallet; the merchant ships it, the carrier's steps arrive, the buyer confirms receipt and
reviews it with a photo, the merchant's wallet holds the money less the commission; an after-sales
refund (with a photo of the damage) flows back to the buyer, and the operator's GMV dashboard
counts the sale net of it."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import pytest
from PIL import Image

from shua.accounts import service as accounts
from shua.core import jobs
from shua.core.db import Database
from tests.factories import make_video
from tests.web.conftest import Tab
from tests.web.test_browser import sign_up, snap
from tests.web.test_browser_pay import PIN, bind_card_and_pin, settle_bank, top_up

pytestmark = pytest.mark.browser

with contextlib.suppress(ImportError):
    from playwright.async_api import expect


def picture(colour: tuple[int, int, int]) -> dict[str, Any]:
    """A photo as Playwright hands it to a file input."""
    out = io.BytesIO()
    Image.new("RGB", (640, 640), colour).save(out, "PNG")
    return {"name": "photo.png", "mimeType": "image/png", "buffer": out.getvalue()}


async def photos_loaded(page: Any, selector: str, expected: int = 1) -> int:
    """How many of the images at `selector` the browser decoded (a broken one has no width),
    once `expected` of them did or five seconds passed; they load lazily, so they are scrolled to."""
    await page.locator(selector).first.scroll_into_view_if_needed()
    with contextlib.suppress(Exception):
        await page.wait_for_function("([s, n]) => [...document.querySelectorAll(s)].filter("
                                     "e => e.complete && e.naturalWidth > 0).length >= n", arg=[selector, expected],
                                     timeout=5_000)
    return int(await page.eval_on_selector_all(selector, "els => els.filter(e => e.complete && e.naturalWidth > 0)"
                                                         ".length"))


class TestShopJourney:
    async def test_list_buy_pay_and_see_the_order(self, new_tab: Any, database: Database) -> None:
        seller_tab: Tab = await new_tab()
        seller = seller_tab.page
        await sign_up(seller, "shopkeeper", nickname="店主")
        await seller.get_by_role("link", name="小店", exact=True).click()
        await seller.get_by_label("店铺名称").fill("小林的杂货铺")
        await seller.get_by_role("button", name="立即开店").click()
        await expect(seller.locator("#shop-status")).to_have_text("营业中")
        await seller.get_by_text("新建运费模板").click()  # ¥10 a parcel, free from ¥100, not to 西藏
        await seller.get_by_label("模板名称").fill("普通快递")
        await seller.get_by_label("每单运费（元）").fill("10")
        await seller.get_by_label("满多少元包邮（选填）").fill("100")
        await seller.get_by_label("不配送地区（用逗号分隔，选填）").fill("西藏")
        await seller.get_by_role("button", name="保存模板").click()
        await expect(seller.locator("#shipping-templates")).to_contain_text(
            "运费 ¥10.00 · 满 ¥100.00 包邮 · 不配送：西藏")
        await seller.get_by_label("运费", exact=True).select_option(label="普通快递 · ¥10.00")
        await seller.get_by_label("商品标题").fill("手冲咖啡壶")
        await seller.get_by_label("商品描述").fill("304 不锈钢\n<b>送滤纸</b><script>alert(1)</script>")
        await seller.get_by_label("图片（最多 9 张）").set_input_files([picture((180, 120, 60))])
        await expect(seller.locator("#product-form [data-photo-preview] img")).to_have_count(1)
        await seller.locator("#sku-0-name").fill("银色 600ml")
        await seller.locator("#sku-0-price").fill("99")
        await seller.locator("#sku-0-stock").fill("5")
        await seller.locator("#sku-1-name").fill("黑色 600ml")
        await seller.locator("#sku-1-price").fill("109.5")
        await seller.locator("#sku-1-stock").fill("1")
        await seller.get_by_role("button", name="上架", exact=True).click()
        await expect(seller.locator("#shop-products")).to_contain_text("手冲咖啡壶")
        await seller.get_by_text("改价 / 补货").click()  # three more black ones came in
        await seller.get_by_label("库存 黑色 600ml").fill("4")
        await seller.locator("form[data-sku]").nth(1).get_by_role("button", name="保存修改").click()
        await expect(seller.locator("#shop-products")).to_contain_text("黑色 600ml ¥109.50 · 库存 4")
        await snap(seller, "zh-CN-shop")
        await seller.get_by_role("link", name="手冲咖啡壶").click()
        await expect(seller).to_have_url(re.compile(r"/p/\d+$"))
        product_url = seller.url
        await expect(seller.locator(".photos--gallery img")).to_have_count(1)
        assert await photos_loaded(seller, ".photos--gallery img") == 1
        # …and hangs it on the yellow cart of one of their videos.
        async with database.transaction() as db:
            owner = await accounts.get_user(db, ref="shopkeeper")
            video = await make_video(db, owner, caption="早上一杯手冲 #咖啡")
        await seller.goto(f"/v/{video.id}")
        await seller.get_by_label("商品编号").fill(product_url.rsplit("/", 1)[1])
        await seller.get_by_role("button", name="挂到视频上").click()
        await expect(seller.locator("#watch-cart")).to_contain_text("手冲咖啡壶 · ¥99.00")

        buyer_tab: Tab = await new_tab()
        buyer = buyer_tab.page
        await sign_up(buyer, "shopper", nickname="买家")
        await bind_card_and_pin(buyer, database, "13800138000")
        await top_up(buyer, database, "300")
        await expect(buyer.locator("#wallet-balance")).to_have_text("¥300.00")

        await buyer.goto(f"/v/{video.id}")
        await snap(buyer, "zh-CN-video-cart")
        await buyer.locator("#watch-cart").click()  # the yellow cart → the product page
        await expect(buyer).to_have_url(re.compile(r"/p/\d+\?v=\d+$"))
        await expect(buyer.get_by_role("heading", name="手冲咖啡壶")).to_be_visible()
        await buyer.get_by_label("收货人").fill("王小明")
        await buyer.get_by_label("手机号").fill("13800138000")
        await buyer.get_by_label("所在地区（省 市 区）").fill("四川省 成都市 武侯区")
        await buyer.get_by_label("详细地址").fill("人民南路四段 1 号")
        await buyer.get_by_role("button", name="保存地址").click()
        await expect(buyer.get_by_label("寄送至")).to_contain_text("王小明")
        await expect(buyer.locator(".product__description b")).to_have_text("送滤纸")  # kept: a bare <b>
        await expect(buyer.locator(".product__description")).not_to_contain_text("alert")  # the script is gone
        await expect(buyer.locator("#product-returns")).to_have_text("支持7天无理由退货")
        await buyer.get_by_label("向店家提问").fill("能用电磁炉吗？")
        await buyer.get_by_role("button", name="提问", exact=True).click()
        await expect(buyer.locator("#product-questions")).to_contain_text("等待店家回答")
        await seller.goto("/shop")
        await seller.get_by_label("能用电磁炉吗？").fill("可以，底部是复合钢")
        await seller.get_by_role("button", name="发送回答").click()
        await expect(seller.locator("#shop-questions")).to_have_count(0)  # nothing left to answer
        await buyer.reload()
        await expect(buyer.locator("#product-questions")).to_contain_text("可以，底部是复合钢")
        await buyer.get_by_label("银色 600ml").check()
        await expect(buyer.locator("#product-shipping")).to_have_text("运费 ¥10.00 · 满 ¥100.00 包邮 · 不配送：西藏")
        await expect(buyer.locator("#buy-total")).to_have_text("合计 ¥109.00")  # one: under ¥100 with the fee
        await buyer.get_by_label("数量").fill("2")
        await expect(buyer.locator("#buy-total")).to_have_text("合计 ¥198.00")  # two: ships free
        await snap(buyer, "zh-CN-product")
        await buyer.get_by_role("button", name="立即购买").click()
        await expect(buyer).to_have_url(re.compile(r"/pay/\d+$"))
        await expect(buyer.locator("#pay-amount")).to_have_text("¥198.00")
        await buyer.get_by_label("支付密码").fill(PIN)
        await buyer.get_by_role("button", name="付款 ¥198.00").click()
        await expect(buyer.locator("#pay-status")).to_have_text("已付款")
        await settle_bank(database)  # the worker's part: the payment's event marks the order paid
        await buyer.goto("/orders")
        await expect(buyer.locator("#orders > li").first).to_contain_text("手冲咖啡壶 · 银色 600ml ×2")
        await expect(buyer.locator("#orders [data-status]").first).to_have_text("已付款")

        await seller.goto("/orders?role=seller")
        await expect(seller.get_by_role("heading", name="店铺订单")).to_be_visible()
        await expect(seller.locator("#orders [data-status]").first).to_have_text("已付款")
        await seller.get_by_label("快递公司").select_option(label="顺丰速运")
        await seller.get_by_label("运单号").fill("SF1234567890")
        await seller.get_by_role("button", name="发货").click()
        await expect(seller.locator("#orders [data-status]").first).to_have_text("已发货")
        await settle_bank(database)  # the simulated carrier's steps
        await buyer.reload()
        await expect(buyer.locator("#orders [data-status]").first).to_have_text("已签收")
        await expect(buyer.locator(".orders__timeline")).to_contain_text("已签收")
        await snap(buyer, "zh-CN-orders-delivered")
        await buyer.get_by_role("button", name="确认收货").click()
        await expect(buyer.locator("#orders [data-status]").first).to_have_text("已完成")
        await buyer.get_by_label("评分").select_option(label="★★★★★")
        await buyer.get_by_placeholder("说说使用感受（选填）").fill("出水很稳，颜值高")
        await buyer.locator("form[data-review] input[name=photos]").set_input_files([picture((40, 90, 160))])
        await buyer.get_by_role("button", name="发表评价").click()
        await expect(buyer.locator("form[data-review]")).to_have_count(0)  # reviewed: the form is gone
        await buyer.goto(product_url)
        await expect(buyer.locator("#product-reviews")).to_contain_text("出水很稳，颜值高")
        await expect(buyer.locator("#product-reviews")).to_contain_text("已购")
        assert await photos_loaded(buyer, "#product-reviews img") == 1
        await snap(buyer, "zh-CN-product-reviewed")
        await buyer.locator("#product-shop").click()  # the shop's storefront, its score and products
        await expect(buyer.get_by_role("heading", name="小林的杂货铺")).to_be_visible()
        await expect(buyer.locator("#store-score-parts")).to_contain_text("评价 5.0")
        await expect(buyer.locator("#store-products")).to_contain_text("手冲咖啡壶")
        await snap(buyer, "zh-CN-storefront")
        await seller.goto("/wallet")
        await expect(seller.locator("#wallet-balance")).to_have_text("¥196.02")  # ¥198 less the 1 % commission

        # A scratch on the spout: the buyer asks for ¥20 back, the merchant agrees, the money flows back.
        await buyer.goto("/orders")
        await buyer.get_by_text("申请售后（退款 / 退货 / 换货）").click()
        await buyer.get_by_label("售后类型").select_option(label="仅退款")
        await buyer.get_by_label("原因").select_option(label="商品破损")
        await buyer.get_by_label("退款金额（不填则全部）").fill("20")
        await buyer.get_by_label("问题描述（选填）").fill("壶嘴有划痕")
        await buyer.locator("form[data-after-sale-form] input[name=photos]").set_input_files([picture((200, 200, 200))])
        await buyer.get_by_role("button", name="提交申请").click()
        await expect(buyer.locator("[data-after-sale-status]")).to_have_text("待商家处理")
        await seller.goto("/orders?role=seller")
        assert await photos_loaded(seller, "[data-after-sale] img") == 1  # the shop sees the evidence
        await seller.get_by_role("button", name="同意").click()
        await expect(seller.locator("[data-after-sale-status]")).to_have_text("已退款")
        await buyer.goto("/wallet")
        await expect(buyer.locator("#wallet-balance")).to_have_text("¥122.00")  # 300 − 198 + 20
        await seller.goto(product_url)
        await expect(seller.get_by_text("这是你的商品。")).to_be_visible()
        async with database.transaction() as db:
            await accounts.set_role(db, user_id=owner.id, role="admin")
        await seller.goto("/admin/shop")
        await expect(seller.locator("#gmv-total")).to_have_text("¥178.00")  # the closed-loop sale, net of the refund
        await expect(seller.locator("#gmv-external")).to_have_text("0")
        await snap(seller, "zh-CN-admin-gmv")

    async def test_add_to_cart_and_check_out_from_it(self, tab: Tab, database: Database) -> None:
        from shua.commerce import shipping, shops

        async with database.transaction() as db:
            seller = await accounts.signup(db, username="cartshop", password="Correct-Horse-42")
            shop = await shops.open_shop(db, owner_id=seller.id, name="文具小铺", kind="individual")
            rule = await shipping.add(db, shop=shop, name="快递", fee=600, free_over=10_000, excluded_regions=[])
            product, _ = await shops.add_product(db, owner_id=seller.id, title="钢笔", description="",
                                                 skus=[("黑色", 3_500, 10), ("蓝色", 3_500, 10)],
                                                 shipping_template_id=rule.id)
        await jobs.drain(database)  # the product's search document
        page = tab.page
        await sign_up(page, "cartbuyer", nickname="加购")
        await page.goto("/search?q=gangbi&tab=products")  # found by its pinyin, in the 商品 tab
        await expect(page.locator(".product-results")).to_contain_text("钢笔")
        await expect(page.locator(".product-results")).to_contain_text("¥35.00 · 文具小铺")
        await snap(page, "zh-CN-search-products")
        await page.locator(".product-result").first.click()
        await expect(page).to_have_url(re.compile(rf"/p/{product.id}$"))
        await page.get_by_label("收货人").fill("王小明")
        await page.get_by_label("手机号").fill("13800138000")
        await page.get_by_label("所在地区（省 市 区）").fill("北京市 海淀区")
        await page.get_by_label("详细地址").fill("中关村大街 1 号")
        await page.get_by_role("button", name="保存地址").click()
        await page.get_by_label("蓝色").check()
        await page.get_by_label("数量").fill("2")
        await page.get_by_role("button", name="加入购物车").click()
        await expect(page.locator("#toast")).to_have_text("已加入购物车。")
        await page.goto("/cart")
        await expect(page.get_by_role("heading", name="文具小铺")).to_be_visible()
        await expect(page.locator("[data-shipping]")).to_have_text("运费 ¥6.00")  # ¥70 is under the ¥100
        await expect(page.locator("[data-total]")).to_have_text("合计 ¥76.00")
        await snap(page, "zh-CN-cart")
        await page.get_by_role("button", name="去结算").click()
        await expect(page).to_have_url(re.compile(r"/pay/\d+$"))
        await expect(page.locator("#pay-amount")).to_have_text("¥76.00")
        await page.goto("/cart")
        await expect(page.get_by_text("购物车是空的。")).to_be_visible()
        # The address book: a second address, made the default, the first one deleted.
        await page.goto("/me")
        await page.get_by_role("link", name="收货地址").click()
        await expect(page.locator("#addresses")).to_contain_text("北京市 海淀区 中关村大街 1 号")
        await page.get_by_label("收货人").fill("李小红")
        await page.get_by_label("手机号").fill("13900139000")
        await page.get_by_label("所在地区（省 市 区）").fill("上海市 浦东新区")
        await page.get_by_label("详细地址").fill("世纪大道 100 号")
        await page.get_by_role("button", name="保存地址").click()
        await expect(page.locator("#addresses > li")).to_have_count(2)
        await page.get_by_role("button", name="设为默认").click()
        await expect(page.locator("#addresses > li").first).to_contain_text("李小红")
        await expect(page.locator("#addresses > li").first).to_contain_text("默认")
        await snap(page, "zh-CN-addresses")
        await page.get_by_role("button", name="删除 王小明").click()
        await expect(page.locator("#addresses > li")).to_have_count(1)
