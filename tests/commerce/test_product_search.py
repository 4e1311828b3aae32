"""Products are searchable (title, description, variants, shop name; Chinese, pinyin) in their
own tab and on the 综合 tab, leave search when taken off sale, are hidden from someone the shop
blocked, rank by units sold; and a purchase from a video's cart is a taste signal for the feed."""

from __future__ import annotations

from typing import Any

import httpx2
from sqlalchemy import select

from shua.core import jobs
from shua.core.db import Database
from tests.commerce.test_orders import PIN, buyer_with_money, keyed, line, merchant_with
from tests.social.test_graph import sign_up


async def found(client: httpx2.AsyncClient, q: str, tab: str = "products", **kw: Any) -> list[str]:
    r = await client.get("/api/v1/search", params={"q": q, "tab": tab}, **kw)
    assert r.status_code == 200, r.text
    return [p["title"] for p in r.json()["products"]]


class TestProductSearch:
    async def test_found_by_title_pinyin_description_and_variant(self, client: httpx2.AsyncClient,
                                                                   database: Database) -> None:
        seller, product = await merchant_with(client)  # 手冲咖啡壶, "不锈钢", 银色 / 黑色 600ml
        await jobs.drain(database)
        for q in ("咖啡壶", "手冲", "kafei", "不锈钢", "银色", "小林的杂货铺"):
            assert await found(client, q) == ["手冲咖啡壶"], q
        assert await found(client, "蓝牙耳机") == []
        all_tab = (await client.get("/api/v1/search", params={"q": "咖啡壶"})).json()
        assert [p["title"] for p in all_tab["products"]] == ["手冲咖啡壶"]
        assert all_tab["products"][0]["url"] == f"/p/{product['id']}"
        page = await client.get("/search", params={"q": "咖啡壶", "tab": "products"})
        assert "手冲咖啡壶" in page.text and f'href="/p/{product["id"]}"' in page.text
        await seller.patch(f"/api/v1/products/{product['id']}", json={"on_sale": False})
        await jobs.drain(database)
        assert await found(client, "咖啡壶") == []  # off sale: out of search

    async def test_a_blocked_viewer_does_not_find_the_shop(self, client: httpx2.AsyncClient,
                                                           database: Database) -> None:
        seller, _ = await merchant_with(client)
        viewer = await sign_up(client, "viewer")
        await jobs.drain(database)
        assert await found(client, "咖啡壶", headers=viewer.headers) == ["手冲咖啡壶"]
        assert (await seller.post(f"/api/v1/users/{viewer.handle}/block")).status_code in (200, 201, 204)
        assert await found(client, "咖啡壶", headers=viewer.headers) == []

    async def test_units_sold_rank_and_a_purchase_from_a_video_steers_the_feed(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        from shua.feed.models import PURCHASE, FeedEvent
        from tests.media.test_moderation import published

        seller, product = await merchant_with(client, stock=20)
        second = (await seller.post("/api/v1/shops/mine/products", json={
            "title": "便携咖啡壶", "skus": [{"name": "白", "price": 5_000, "stock": 9}]})).json()
        video = await published(database, seller, "早上一杯手冲 #咖啡")
        await seller.put(f"/api/v1/videos/{video.id}/cart", json={"product_id": second["id"]})
        buyer = await buyer_with_money(client, database, "buyer", 90_000)
        order = (await keyed(buyer, "/api/v1/orders", {"items": [line(second, quantity=3)], "expected_total": 15_000,
                                                       "source_video_id": str(video.id)})).json()
        await keyed(buyer, f"/api/v1/payments/intents/{order['intent_id']}/confirmation", {"method": "wallet",
                                                                                           "pin": PIN})
        await jobs.drain(database)
        hits = (await client.get("/api/v1/search", params={"q": "咖啡壶", "tab": "products"})).json()["products"]
        assert [(p["title"], p["sold"]) for p in hits][0] == ("便携咖啡壶", 3)
        assert {p["title"] for p in hits} == {"便携咖啡壶", "手冲咖啡壶"}
        async with database.transaction(write=False) as db:
            events = (await db.scalars(select(FeedEvent).where(FeedEvent.kind == PURCHASE))).all()
        assert [(e.user_id, e.video_id) for e in events] == [(int(buyer.id), video.id)]
        assert product["id"]  # the other product stays listed, ranked after the one that sells
