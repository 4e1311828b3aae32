"""Shipping templates (运费模板): a fee per order, free from a goods total, regions not delivered
to; the order pays the highest fee among its products' templates, the total the buyer confirms
includes it, and the money (escrow, refunds) follows the total."""

from __future__ import annotations

from typing import Any

import httpx2

from shua.core.db import Database
from tests.commerce.test_orders import PIN, buyer_with_money, keyed, line, merchant_with, stock
from tests.helpers import assert_problem
from tests.social.test_graph import User, sign_up


async def template(seller: User, **body: Any) -> dict[str, Any]:
    r = await seller.post("/api/v1/shops/mine/shipping-templates", json={"name": "普通快递", "fee": 800, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


class TestShipping:
    async def test_the_fee_is_charged_until_the_free_shipping_total(self, client: httpx2.AsyncClient,
                                                                     database: Database) -> None:
        seller, product = await merchant_with(client)  # 9,900 a piece
        rule = await template(seller, free_over=19_800)
        r = await seller.patch(f"/api/v1/products/{product['id']}", json={"shipping_template_id": rule["id"]})
        assert r.json()["shipping"] == {"id": rule["id"], "name": "普通快递", "fee": 800, "free_over": 19_800,
                                        "excluded_regions": []}
        buyer = await buyer_with_money(client, database, "buyer", 50_000)
        assert_problem(await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 9_900}), 409,
                       "commerce.price_changed")  # the goods alone: the shipping is missing
        assert await stock(client, product) == 5
        one = await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 10_700})
        assert (one.json()["total"], one.json()["shipping_fee"]) == (10_700, 800), one.text
        two = await keyed(buyer, "/api/v1/orders", {"items": [line(product, quantity=2)], "expected_total": 19_800})
        assert (two.json()["total"], two.json()["shipping_fee"]) == (19_800, 0), two.text  # free from 198
        paid = await keyed(buyer, f"/api/v1/payments/intents/{one.json()['intent_id']}/confirmation",
                           {"method": "wallet", "pin": PIN})
        assert paid.json()["amount"] == 10_700
        page = await client.get(f"/p/{product['id']}")
        assert "运费 ¥8.00" in page.text or "Shipping ¥8.00" in page.text
        await seller.patch(f"/api/v1/products/{product['id']}", json={"shipping_template_id": None})
        assert (await client.get(f"/api/v1/products/{product['id']}")).json()["shipping"] is None  # free again

    async def test_regions_left_out_are_refused_with_nothing_held(self, client: httpx2.AsyncClient,
                                                                  database: Database) -> None:
        seller, product = await merchant_with(client)
        rule = await template(seller, fee=0, excluded_regions=["新疆", "四川省"])
        await seller.patch(f"/api/v1/products/{product['id']}", json={"shipping_template_id": rule["id"]})
        buyer = await buyer_with_money(client, database, "buyer", 50_000)  # ships to 四川省 成都市
        assert_problem(await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 9_900}), 409,
                       "commerce.region_not_served")
        assert await stock(client, product) == 5

    async def test_the_highest_fee_of_an_orders_products_applies(self, client: httpx2.AsyncClient,
                                                                 database: Database) -> None:
        seller, product = await merchant_with(client)
        cheap, dear = await template(seller, fee=500), await template(seller, name="冷链", fee=2_000)
        second = (await seller.post("/api/v1/shops/mine/products", json={
            "title": "咖啡豆", "skus": [{"name": "250g", "price": 6_800, "stock": 9}],
            "shipping_template_id": dear["id"]})).json()
        await seller.patch(f"/api/v1/products/{product['id']}", json={"shipping_template_id": cheap["id"]})
        buyer = await buyer_with_money(client, database, "buyer", 50_000)
        r = await keyed(buyer, "/api/v1/orders", {"items": [line(product), line(second)],
                                                  "expected_total": 9_900 + 6_800 + 2_000})
        assert r.json()["shipping_fee"] == 2_000, r.text

    async def test_bad_templates_and_other_shops_templates(self, client: httpx2.AsyncClient) -> None:
        seller, product = await merchant_with(client)
        other = await sign_up(client, "other")
        await other.post("/api/v1/shops", json={"name": "别家", "kind": "individual"})
        theirs = await template(other)
        assert_problem(await seller.patch(f"/api/v1/products/{product['id']}",
                                          json={"shipping_template_id": theirs["id"]}), 404,
                       "commerce.shipping_template_not_found")
        url = "/api/v1/shops/mine/shipping-templates"
        for bad in ({"name": "", "fee": 1}, {"name": "x", "fee": -1}, {"name": "x", "fee": 1.5},
                    {"name": "x", "fee": 1, "free_over": 0}, {"name": "x", "fee": 1, "excluded_regions": [""]},
                    {"name": "x", "fee": 1, "excluded_regions": ["区"] * 41}):
            assert_problem(await seller.post(url, json=bad), 422, "request.invalid")
        stranger = await sign_up(client, "stranger")
        assert_problem(await stranger.post(url, json={"name": "x", "fee": 1}), 404, "commerce.shop_not_found")
        assert [t["id"] for t in (await other.get(url)).json()] == [theirs["id"]]
