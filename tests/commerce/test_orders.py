"""The shop's first slice: shops (a brand one waits for an operator), products with SKUs, and
checkout — stock held by one guarded UPDATE so the last item goes to exactly one of many
parallel buyers, prices re-checked, the order paid through Shua Pay's intent (an event) and
canceled by the buyer or its payment window, stock back; bad input refused with nothing held;
nobody reads another buyer's order."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx2
from sqlalchemy import select

from shua.core import clock, jobs
from shua.core.db import Database
from shua.payments import ledger
from shua.payments.models import BANK_CLEARING, ESCROW, WALLET
from tests.helpers import assert_problem
from tests.media.test_moderation import admin as make_admin
from tests.social.test_graph import User, sign_up

PIN = "135790"


async def keyed(user: User, url: str, body: dict[str, Any], key: str | None = None) -> httpx2.Response:
    """POST with an Idempotency-Key; a checkout goes to the buyer's address (a merchant's: none)."""
    if url == "/api/v1/orders":
        body = {"address_id": getattr(user, "address", "1"), **body}
    return await user.client.post(url, json=body, headers={**user.headers, "Idempotency-Key": key or str(uuid.uuid4())})


async def merchant_with(client: httpx2.AsyncClient, stock: int = 5, price: int = 9_900) -> tuple[User, dict[str, Any]]:
    seller = await sign_up(client, "seller")
    r = await seller.post("/api/v1/shops", json={"name": "小林的杂货铺", "kind": "individual"})
    assert r.status_code == 201 and r.json()["status"] == "open", r.text
    r = await seller.post("/api/v1/shops/mine/products", json={
        "title": "手冲咖啡壶", "description": "<script>alert(1)</script> 不锈钢",
        "skus": [{"name": "银色 / 600ml", "price": price, "stock": stock}, {"name": "黑色 / 600ml", "price": price,
                                                                           "stock": 1}]})
    assert r.status_code == 201, r.text
    return seller, r.json()


async def buyer_with_money(client: httpx2.AsyncClient, database: Database, handle: str, amount: int) -> User:
    buyer = await sign_up(client, handle)
    await buyer.client.put("/api/v1/wallet/pin", json={"pin": PIN}, headers=buyer.headers)
    r = await buyer.post("/api/v1/addresses", json={"name": "王小明", "phone": "13800138000",
                                                    "region": "四川省 成都市 武侯区", "detail": "人民南路四段 1 号"})
    assert r.status_code == 201, r.text
    buyer.address = r.json()["id"]  # type: ignore[attr-defined]
    async with database.transaction() as db:
        bank = await ledger.account(db, BANK_CLEARING)
        await ledger.move(db, kind="top_up", source=bank, amount=amount,
                          target=await ledger.account(db, WALLET, owner_id=int(buyer.id)))
    return buyer


def line(product: dict[str, Any], n: int = 0, quantity: int = 1) -> dict[str, Any]:
    return {"product_id": product["id"], "sku_id": product["skus"][n]["id"], "quantity": quantity}


async def stock(client: httpx2.AsyncClient, product: dict[str, Any], n: int = 0) -> int:
    return int((await client.get(f"/api/v1/products/{product['id']}")).json()["skus"][n]["stock"])


class TestCheckout:
    async def test_buy_pay_and_the_order_is_paid(self, client: httpx2.AsyncClient, database: Database) -> None:
        seller, product = await merchant_with(client)
        buyer = await buyer_with_money(client, database, "buyer", 50_000)
        body = {"items": [line(product, quantity=2)], "expected_total": 19_800}
        r = await keyed(buyer, "/api/v1/orders", body, key="checkout-1")
        assert r.status_code == 201, r.text
        order = r.json()
        assert (order["status"], order["total"], order["pay_url"]) == ("created", 19_800, f"/pay/{order['intent_id']}")
        assert (await keyed(buyer, "/api/v1/orders", body, key="checkout-1")).json()["id"] == order["id"]  # replay
        assert await stock(client, product) == 3  # held once, not twice
        r = await keyed(buyer, f"/api/v1/payments/intents/{order['intent_id']}/confirmation",
                        {"method": "wallet", "pin": PIN})
        assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
        await jobs.drain(database)
        assert (await buyer.get(f"/api/v1/orders/{order['id']}")).json()["status"] == "paid"
        assert [o["id"] for o in (await seller.get("/api/v1/orders", params={"role": "seller"})).json()] == [
            order["id"]]
        async with database.transaction(write=False) as db:
            escrow = await ledger.find_account(db, ESCROW, owner_id=int(seller.id))
        assert escrow is not None and escrow.balance == 19_800  # held until the order completes
        stranger = await sign_up(client, "stranger")
        assert_problem(await stranger.get(f"/api/v1/orders/{order['id']}"), 404, "commerce.order_not_found")
        assert_problem(await stranger.post(f"/api/v1/orders/{order['id']}/cancellation"), 404,
                       "commerce.order_not_found")
        assert_problem(await buyer.post(f"/api/v1/orders/{order['id']}/cancellation"), 409,
                       "commerce.order_not_cancelable")

    async def test_refusals_hold_nothing(self, client: httpx2.AsyncClient, database: Database) -> None:
        seller, product = await merchant_with(client)
        _, other = await merchant_with_other(client)
        buyer = await buyer_with_money(client, database, "buyer", 50_000)
        url = "/api/v1/orders"
        assert_problem(await keyed(seller, url, {"items": [line(product)], "expected_total": 9_900}), 404,
                       "commerce.address_not_found")  # no address of theirs
        r = await seller.post("/api/v1/addresses", json={"name": "林", "phone": "13900139000", "region": "北京市",
                                                         "detail": "1 号"})
        seller.address = r.json()["id"]  # type: ignore[attr-defined]
        assert_problem(await keyed(seller, url, {"items": [line(product)], "expected_total": 9_900}), 422,
                       "commerce.own_product")
        assert_problem(await keyed(buyer, url, {"items": [line(product)], "expected_total": 9_900,
                                                "address_id": seller.address}), 404,  # type: ignore[attr-defined]
                       "commerce.address_not_found")  # someone else's address
        assert_problem(await keyed(buyer, url, {"items": [line(product)], "expected_total": 9_000}), 409,
                       "commerce.price_changed")
        wrong = {"product_id": product["id"], "sku_id": other["skus"][0]["id"], "quantity": 1}
        assert_problem(await keyed(buyer, url, {"items": [wrong], "expected_total": 100}), 404,
                       "commerce.sku_not_found")  # a SKU of another product
        assert_problem(await keyed(buyer, url, {"items": [line(product), line(other)], "expected_total": 10_000}), 422,
                       "commerce.one_shop_per_order")
        for quantity in (0, -1, 100):
            r = await keyed(buyer, url, {"items": [line(product, quantity=quantity)], "expected_total": 9_900})
            assert r.status_code == 422, r.text
        assert_problem(await keyed(buyer, url, {"items": [line(product, 1, quantity=2)], "expected_total": 19_800}),
                       409, "commerce.out_of_stock")
        assert await stock(client, product) == 5 and await stock(client, product, 1) == 1
        r = await client.get(f"/api/v1/products/{product['id']}")
        assert r.json()["description"] == "不锈钢"  # the script taken out, with its content
        await seller.client.patch(f"/api/v1/skus/{product['skus'][0]['id']}", json={"price": 8_800},
                                  headers=seller.headers)
        assert_problem(await keyed(buyer, url, {"items": [line(product)], "expected_total": 9_900}), 409,
                       "commerce.price_changed")  # changed between looking and buying: nothing charged
        r = await buyer.client.patch(f"/api/v1/skus/{product['skus'][0]['id']}", json={"stock": 999},
                                     headers=buyer.headers)
        assert_problem(r, 404, "commerce.sku_not_found")

    async def test_the_last_item_goes_to_one_of_many_buyers(self, client: httpx2.AsyncClient,
                                                             database: Database) -> None:
        _, product = await merchant_with(client, stock=1)
        buyers = [await buyer_with_money(client, database, f"buyer{n}", 10_000) for n in range(12)]
        answers = await asyncio.gather(*(keyed(b, "/api/v1/orders", {"items": [line(product)],
                                                                      "expected_total": 9_900}) for b in buyers))
        codes = sorted(r.status_code for r in answers)
        assert codes == [201] + [409] * 11, [r.text for r in answers if r.status_code not in (201, 409)]
        assert await stock(client, product) == 0

    async def test_an_unpaid_order_expires_and_gives_the_stock_back(self, client: httpx2.AsyncClient,
                                                                    database: Database) -> None:
        _, product = await merchant_with(client, stock=2)
        buyer = await buyer_with_money(client, database, "buyer", 50_000)
        first = (await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 9_900})).json()
        second = (await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 9_900})).json()
        assert await stock(client, product) == 0
        r = await buyer.post(f"/api/v1/orders/{second['id']}/cancellation")
        assert r.status_code == 200 and r.json()["status"] == "canceled"
        assert await stock(client, product) == 1
        clock.travel(16 * 60)
        await jobs.drain(database)
        assert (await buyer.get(f"/api/v1/orders/{first['id']}")).json()["status"] == "canceled"
        assert await stock(client, product) == 2
        assert_problem(await keyed(buyer, f"/api/v1/payments/intents/{first['intent_id']}/confirmation",
                                   {"method": "wallet", "pin": PIN}), 409, "payments.intent_not_payable")


async def merchant_with_other(client: httpx2.AsyncClient) -> tuple[User, dict[str, Any]]:
    seller = await sign_up(client, "other_seller")
    await seller.post("/api/v1/shops", json={"name": "另一家", "kind": "business"})
    r = await seller.post("/api/v1/shops/mine/products", json={"title": "帆布袋", "skus": [
        {"name": "白色", "price": 100, "stock": 3}]})
    return seller, r.json()


class TestShops:
    async def test_a_brand_shop_sells_after_verification(self, client: httpx2.AsyncClient,
                                                         database: Database) -> None:
        brand = await sign_up(client, "brand")
        r = await brand.post("/api/v1/shops", json={"name": "刷刷官方旗舰店", "kind": "brand"})
        assert r.json()["status"] == "pending_verification"
        assert_problem(await brand.post("/api/v1/shops", json={"name": "再开一家", "kind": "individual"}), 409,
                       "commerce.shop_exists")
        product = {"title": "T 恤", "skus": [{"name": "M", "price": 5_900, "stock": 10}]}
        assert_problem(await brand.post("/api/v1/shops/mine/products", json=product), 403, "commerce.shop_not_open")
        root = await make_admin(client, database)
        assert_problem(await brand.client.put(f"/api/v1/admin/shops/{r.json()['id']}/verification",
                                              json={"approve": True}, headers=brand.headers), 403,
                       "auth.admin_required")
        v = await root.client.put(f"/api/v1/admin/shops/{r.json()['id']}/verification",
                                  json={"approve": True, "reason": "商标注册证已核验"}, headers=root.headers)
        assert v.status_code == 200 and v.json()["status"] == "open"
        assert (await brand.post("/api/v1/shops/mine/products", json=product)).status_code == 201
        assert_problem(await brand.post("/api/v1/shops", json={"name": "x", "kind": "flea"}), 422,
                       "request.invalid")


async def paid_order(client: httpx2.AsyncClient, database: Database) -> tuple[User, User, dict[str, Any]]:
    seller, product = await merchant_with(client)
    buyer = await buyer_with_money(client, database, "buyer", 50_000)
    order = (await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 9_900})).json()
    r = await keyed(buyer, f"/api/v1/payments/intents/{order['intent_id']}/confirmation",
                    {"method": "wallet", "pin": PIN})
    assert r.status_code == 200, r.text
    await jobs.drain(database)
    return seller, buyer, order


async def wallet_of(user: User) -> int:
    return int((await user.get("/api/v1/wallet")).json()["balance"])


class TestFulfilment:
    async def test_ship_track_deliver_confirm_and_the_merchant_is_paid(self, app: Any, client: httpx2.AsyncClient,
                                                                        database: Database) -> None:
        seller, buyer, order = await paid_order(client, database)
        url = f"/api/v1/orders/{order['id']}"
        assert (await buyer.get(url)).json()["ship_to"]["region"] == "四川省 成都市 武侯区"
        ship = {"carrier": "sf", "tracking_number": "SF1234567890"}
        assert_problem(await buyer.post(f"{url}/shipment", json=ship), 404, "commerce.order_not_found")
        assert_problem(await seller.post(f"{url}/shipment", json={**ship, "carrier": "pigeon"}), 422, "request.invalid")
        assert_problem(await keyed(buyer, f"/api/v1/payments/intents/{order['intent_id']}/release", {}), 409,
                       "payments.released_with_order")  # no paying out around the order
        r = await seller.post(f"{url}/shipment", json=ship)
        assert r.status_code == 200 and r.json()["status"] == "shipped", r.text
        assert_problem(await seller.post(f"{url}/shipment", json=ship), 409, "commerce.order_not_shippable")
        await jobs.drain(database)  # the simulated carrier's four steps
        found = (await buyer.get(url)).json()
        assert found["status"] == "delivered"
        assert [e["status"] for e in found["timeline"]] == ["delivered", "out_for_delivery", "in_transit", "picked_up"]
        assert await wallet_of(seller) == 0  # still in escrow
        r = await buyer.post(f"{url}/receipt")
        assert r.status_code == 200 and r.json()["status"] == "completed"
        fee = 9_900 * app.state.runtime.settings.platform_fee_bps // 10_000
        assert await wallet_of(seller) == 9_900 - fee
        assert_problem(await buyer.post(f"{url}/receipt"), 409, "commerce.order_not_confirmable")
        async with database.transaction(write=False) as db:
            assert (await ledger.verify(db)).ok

    async def test_a_delivered_order_confirms_itself(self, client: httpx2.AsyncClient, database: Database) -> None:
        seller, buyer, order = await paid_order(client, database)
        await seller.post(f"/api/v1/orders/{order['id']}/shipment", json={"carrier": "jd", "tracking_number": "JD0001"})
        await jobs.drain(database)
        clock.travel(8 * 86_400)
        await jobs.drain(database)
        assert (await buyer.get(f"/api/v1/orders/{order['id']}")).json()["status"] == "completed"
        assert await wallet_of(seller) == 9_801


class TestAddresses:
    async def test_the_book_and_its_default(self, client: httpx2.AsyncClient) -> None:
        alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
        base = {"name": "A", "phone": "13800138000", "region": "上海市", "detail": "1 号"}
        first = (await alice.post("/api/v1/addresses", json=base)).json()
        second = (await alice.post("/api/v1/addresses", json={**base, "detail": "2 号", "default": True})).json()
        assert first["is_default"] is True and second["is_default"] is True
        book = (await alice.get("/api/v1/addresses")).json()
        assert [a["id"] for a in book] == [second["id"], first["id"]] and book[1]["is_default"] is False
        assert (await alice.post("/api/v1/addresses", json={**base, "phone": "call me"})).status_code == 422
        assert_problem(await bob.client.delete(f"/api/v1/addresses/{first['id']}", headers=bob.headers), 404,
                       "commerce.address_not_found")
        assert (await alice.client.delete(f"/api/v1/addresses/{first['id']}", headers=alice.headers)).status_code == 204


class TestVideoCarts:
    async def test_a_creators_cart_earns_the_commission_and_links_out_are_counted_apart(
            self, app: Any, client: httpx2.AsyncClient, database: Database) -> None:
        from tests.media.test_moderation import published

        seller = await sign_up(client, "seller")
        await seller.post("/api/v1/shops", json={"name": "店", "kind": "individual"})
        product = (await seller.post("/api/v1/shops/mine/products", json={
            "title": "蓝牙耳机", "affiliate_bps": 1_000, "skus": [{"name": "白", "price": 20_000, "stock": 9}]})).json()
        creator = await sign_up(client, "creator")
        video = await published(database, creator, "开箱 #数码")
        url = f"/api/v1/videos/{video.id}/cart"
        assert_problem(await seller.client.put(url, json={"product_id": product["id"]}, headers=seller.headers), 404,
                       "media.video_not_found")  # not the seller's video
        assert_problem(await creator.client.put(url, json={"external_url": "javascript:alert(1)"},
                                                headers=creator.headers), 422, "commerce.link_invalid")
        r = await creator.client.put(url, json={"product_id": product["id"]}, headers=creator.headers)
        assert r.status_code == 200 and r.json()["product"]["title"] == "蓝牙耳机", r.text
        page = await client.get(f"/v/{video.id}")
        assert f'href="/p/{product["id"]}?v={video.id}"' in page.text  # the yellow cart on the video

        buyer = await buyer_with_money(client, database, "buyer", 50_000)
        order = (await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 20_000,
                                                       "source_video_id": str(video.id)})).json()
        await keyed(buyer, f"/api/v1/payments/intents/{order['intent_id']}/confirmation",
                    {"method": "wallet", "pin": PIN})
        await jobs.drain(database)
        r = await seller.post(f"/api/v1/orders/{order['id']}/shipment", json={"carrier": "zto",
                                                                            "tracking_number": "ZTO7700"})
        assert r.status_code == 200, r.text
        await jobs.drain(database)
        assert (await buyer.post(f"/api/v1/orders/{order['id']}/receipt")).json()["status"] == "completed"
        fee = 20_000 * app.state.runtime.settings.platform_fee_bps // 10_000
        assert await wallet_of(creator) == 2_000  # 10 % of the goods
        assert await wallet_of(seller) == 20_000 - fee - 2_000

        r = await creator.client.put(url, json={"external_url": "https://shop.example.com/item/1",
                                                "external_title": "官网购买"}, headers=creator.headers)
        assert r.json()["external_url"] == f"/go/{video.id}"
        out = await client.get(f"/go/{video.id}")
        assert out.status_code == 302 and out.headers["location"] == "https://shop.example.com/item/1"
        async with database.transaction(write=False) as db:
            from sqlalchemy import func

            from shua.commerce.models import ExternalClick
            assert await db.scalar(select(func.count()).select_from(ExternalClick)) == 1
            assert (await ledger.verify(db)).ok


class TestReviewsAndGmv:
    async def test_review_once_after_receipt_and_gmv_counts_only_closed_loop_sales(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        seller, buyer, order = await paid_order(client, database)
        item = (await buyer.get(f"/api/v1/orders/{order['id']}")).json()["items"][0]
        url = f"/api/v1/order-items/{item['id']}/review"
        assert_problem(await buyer.post(url, json={"stars": 5, "text": "好"}), 409, "commerce.not_yet_received")
        ship = {"carrier": "ems", "tracking_number": "EMS001"}
        await seller.post(f"/api/v1/orders/{order['id']}/shipment", json=ship)
        await jobs.drain(database)
        await buyer.post(f"/api/v1/orders/{order['id']}/receipt")
        assert_problem(await seller.post(url, json={"stars": 5}), 404, "commerce.item_not_found")  # not the buyer
        for stars in (0, 6):
            assert (await buyer.post(url, json={"stars": stars})).status_code == 422
        r = await buyer.post(url, json={"stars": 4, "text": "<img src=x onerror=alert(1)> 出水顺畅"})
        assert r.status_code == 201 and r.json()["verified_purchase"] is True
        assert_problem(await buyer.post(url, json={"stars": 1}), 409, "commerce.already_reviewed")
        product_id = item["product_id"]
        found = (await client.get(f"/api/v1/products/{product_id}/reviews")).json()
        assert (found["count"], found["average"]) == (1, 4.0)
        page = await client.get(f"/p/{product_id}")
        assert "&lt;img src=x" in page.text and "<img src=x" not in page.text  # shown as text
        assert (await buyer.get(f"/api/v1/orders/{order['id']}")).json()["items"][0]["reviewed"] is True

        # An unpaid order is no sale; a refund comes off; taps on links out stay apart.
        _, product = await merchant_with_other(client)
        await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 100})
        r = await keyed(seller, f"/api/v1/payments/intents/{order['intent_id']}/refunds", {"amount": 900,
                                                                                           "reason": "少了滤纸"})
        assert r.status_code == 201, r.text
        root = await make_admin(client, database)
        assert_problem(await buyer.get("/api/v1/admin/commerce/gmv"), 403, "auth.admin_required")
        report = (await root.get("/api/v1/admin/commerce/gmv")).json()
        assert (report["gmv"], report["refunded"], report["orders"], report["external_clicks"]) == (9_000, 900, 1, 0)
        assert report["by_shop"] == [{"shop": "小林的杂货铺", "gmv": 9_000}]
        assert (report["top_products"][0]["title"], report["top_products"][0]["units"]) == ("手冲咖啡壶", 1)
        async with database.transaction(write=False) as db:
            assert (await ledger.verify(db)).ok


class TestCardPaymentsAndTheWindow:
    async def test_an_unanswered_card_payment_keeps_the_order_until_the_bank_declines_it(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        from shua.commerce.tasks import expire_order
        from tests.payments.test_wallet_routes import bind

        _, product = await merchant_with(client, stock=1)
        buyer = await buyer_with_money(client, database, "buyer", 1)  # not enough: pays by card
        card = await bind(buyer, database, number="4000 0000 0000 0002")  # the simulated bank declines it
        order = (await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 9_900})).json()
        r = await keyed(buyer, f"/api/v1/payments/intents/{order['intent_id']}/confirmation",
                        {"method": "card", "card_id": card["id"], "pin": PIN})
        assert r.json()["status"] == "processing"
        clock.travel(16 * 60)
        await expire_order(database, {"order_id": order["id"]})  # the window ends while the bank works
        assert (await buyer.get(f"/api/v1/orders/{order['id']}")).json()["status"] == "created"
        assert await stock(client, product) == 0
        await jobs.drain(database)  # the bank declines; the window's second look cancels the order
        clock.travel(6 * 60)
        await jobs.drain(database)
        assert (await buyer.get(f"/api/v1/orders/{order['id']}")).json()["status"] == "canceled"
        assert await stock(client, product) == 1


class TestAfterSales:
    async def test_refund_only_return_and_refund_and_arbitration(self, client: httpx2.AsyncClient,
                                                                 database: Database) -> None:
        seller, buyer, order = await paid_order(client, database)
        url = f"/api/v1/orders/{order['id']}/after-sales"
        assert_problem(await seller.post(url, json={"kind": "refund_only", "reason": "damaged"}), 404,
                       "commerce.after_sale_not_found")  # not the seller's to ask
        assert (await buyer.post(url, json={"kind": "refund_only", "reason": "bored"})).status_code == 422
        assert_problem(await buyer.post(url, json={"kind": "refund_only", "reason": "damaged", "amount": 9_901}), 422,
                       "payments.refund_exceeds_payment")
        first = (await buyer.post(url, json={"kind": "refund_only", "reason": "damaged", "amount": 1_000,
                                             "detail": "壶嘴有划痕"})).json()
        assert first["status"] == "requested"
        assert_problem(await buyer.post(url, json={"kind": "exchange", "reason": "wrong_item"}), 409,
                       "commerce.after_sale_open")
        decide = f"/api/v1/after-sales/{first['id']}/decision"
        assert_problem(await keyed(buyer, decide, {"approve": True}), 404, "commerce.after_sale_not_found")
        r = await keyed(seller, decide, {"approve": True, "note": "抱歉"}, key="approve-1")
        assert r.status_code == 200 and r.json()["status"] == "refunded", r.text
        assert (await keyed(seller, decide, {"approve": True, "note": "抱歉"}, key="approve-1")).json() == r.json()
        assert await wallet_of(buyer) == 50_000 - 9_900 + 1_000  # back, once

        # A rejected return goes to the platform, which rules for the buyer: the goods come back, the money too.
        second = (await buyer.post(url, json={"kind": "return_refund", "reason": "quality"})).json()
        assert second["amount"] == 8_900  # all that is left
        assert (await keyed(seller, f"/api/v1/after-sales/{second['id']}/decision",
                            {"approve": False, "note": "人为损坏"})).json()["status"] == "rejected"
        assert (await buyer.post(f"/api/v1/after-sales/{second['id']}/appeal")).json()["status"] == "arbitration"
        root = await make_admin(client, database)
        queue = (await root.get("/api/v1/admin/commerce/after-sales")).json()
        assert [a["id"] for a in queue] == [second["id"]]
        assert_problem(await keyed(buyer, f"/api/v1/admin/commerce/after-sales/{second['id']}/ruling",
                                   {"for_buyer": True}), 403, "auth.admin_required")
        r = await keyed(root, f"/api/v1/admin/commerce/after-sales/{second['id']}/ruling", {"for_buyer": True,
                                                                                            "note": "质检报告支持买家"})
        assert r.json()["status"] == "awaiting_return", r.text
        r = await buyer.post(f"/api/v1/after-sales/{second['id']}/return", json={"tracking_number": "SF99990000"})
        assert r.json()["status"] == "returned"
        r = await keyed(seller, f"/api/v1/after-sales/{second['id']}/receipt", {})
        assert r.json()["status"] == "refunded"
        assert await wallet_of(buyer) == 50_000  # every fen back
        found = (await buyer.get(f"/api/v1/orders/{order['id']}")).json()
        assert found["status"] == "canceled" and await stock(client, {"id": found["items"][0]["product_id"]}) == 5
        async with database.transaction(write=False) as db:
            assert (await ledger.verify(db)).ok
        assert_problem(await buyer.post(url, json={"kind": "refund_only", "reason": "other"}), 409,
                       "commerce.after_sale_not_allowed")

    async def test_after_the_window_no_more_after_sales(self, client: httpx2.AsyncClient, database: Database) -> None:
        seller, buyer, order = await paid_order(client, database)
        ship = {"carrier": "sf", "tracking_number": "SF00001"}
        await seller.post(f"/api/v1/orders/{order['id']}/shipment", json=ship)
        await jobs.drain(database)
        await buyer.post(f"/api/v1/orders/{order['id']}/receipt")
        clock.travel(8 * 86_400)
        assert_problem(await buyer.post(f"/api/v1/orders/{order['id']}/after-sales",
                                        json={"kind": "refund_only", "reason": "quality"}), 409,
                       "commerce.after_sale_not_allowed")


class TestShopScore:
    async def test_reviews_and_speed_make_the_score(self, client: httpx2.AsyncClient, database: Database) -> None:
        from shua.commerce import score
        from shua.commerce.models import Shop

        seller, buyer, order = await paid_order(client, database)
        async with database.transaction(write=False) as db:
            shop_id = (await db.scalar(select(Shop.id)))
            assert shop_id is not None
            fresh = await score.of_shop(db, shop_id=shop_id)
        assert fresh.score == 3.5 and fresh.reviews is None  # nothing known yet: neutral
        ship = {"carrier": "sf", "tracking_number": "SF0000001"}
        await seller.post(f"/api/v1/orders/{order['id']}/shipment", json=ship)
        await jobs.drain(database)
        await buyer.post(f"/api/v1/orders/{order['id']}/receipt")
        item = (await buyer.get(f"/api/v1/orders/{order['id']}")).json()["items"][0]
        await buyer.post(f"/api/v1/order-items/{item['id']}/review", json={"stars": 5})
        async with database.transaction(write=False) as db:
            found = await score.of_shop(db, shop_id=shop_id)
        assert (found.reviews, found.shipping, found.after_sales, found.service) == (5.0, 5.0, None, None)
        assert found.score == round(5 * 0.4 + 5 * 0.25 + 3.5 * 0.2 + 3.5 * 0.15, 1)
        page = await client.get(f"/p/{item['product_id']}")
        assert f"体验分 {found.score}" in page.text or f"Shop score {found.score}" in page.text

    def test_speed_scale(self) -> None:
        from shua.commerce.score import _speed

        assert [_speed(h) for h in (None, 2, 24, 48, 72, 500)] == [None, 5.0, 5.0, 2.5, 0.0, 0.0]


class TestCart:
    async def test_add_change_remove_and_checkout_takes_the_lines_out(self, client: httpx2.AsyncClient,
                                                                      database: Database) -> None:
        _, product = await merchant_with(client)
        buyer = await buyer_with_money(client, database, "buyer", 50_000)
        sku = product["skus"][0]["id"]
        assert (await buyer.client.put(f"/api/v1/cart/items/{sku}", json={"quantity": 1},
                                       headers=buyer.headers)).status_code == 204
        await buyer.client.put(f"/api/v1/cart/items/{sku}", json={"quantity": 2}, headers=buyer.headers)
        other = product["skus"][1]["id"]
        await buyer.client.put(f"/api/v1/cart/items/{other}", json={"quantity": 1}, headers=buyer.headers)
        lines = (await buyer.get("/api/v1/cart")).json()
        assert [(line["sku_name"], line["quantity"]) for line in lines] == [("银色 / 600ml", 2), ("黑色 / 600ml", 1)]
        assert (await buyer.client.put(f"/api/v1/cart/items/{sku}", json={"quantity": -1},
                                       headers=buyer.headers)).status_code == 422
        assert_problem(await buyer.client.put("/api/v1/cart/items/42", json={"quantity": 1}, headers=buyer.headers),
                       404, "commerce.sku_not_found")
        r = await keyed(buyer, "/api/v1/orders", {"items": [line(product, quantity=2)], "expected_total": 19_800})
        assert r.status_code == 201
        assert [x["sku_name"] for x in (await buyer.get("/api/v1/cart")).json()] == ["黑色 / 600ml"]  # bought: out
        await buyer.client.put(f"/api/v1/cart/items/{other}", json={"quantity": 0}, headers=buyer.headers)
        assert (await buyer.get("/api/v1/cart")).json() == []
