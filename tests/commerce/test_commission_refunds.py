"""A refund after an order from a creator's video completed takes the creator's commission back
in proportion, as the merchant's part and the platform's fee are: nobody is left paying for
goods that came back. A creator who spent the commission already gives back what their wallet
holds; the rest is recorded, and no wallet goes negative."""

from __future__ import annotations

from typing import Any

import httpx2
from sqlalchemy import select

from shua.core import jobs
from shua.core.db import Database
from shua.payments import ledger
from shua.payments.models import BANK_CLEARING, WALLET, IntentShare
from tests.commerce.test_orders import PIN, buyer_with_money, keyed, line, wallet_of
from tests.social.test_graph import User, sign_up


async def completed_from_a_video(app: Any, client: httpx2.AsyncClient,
                                 database: Database) -> tuple[User, User, User, dict[str, Any], int]:
    """A 20,000-fen order with a 10 % commission, bought off a creator's video and completed."""
    from tests.media.test_moderation import published

    seller = await sign_up(client, "seller")
    await seller.post("/api/v1/shops", json={"name": "店", "kind": "individual"})
    product = (await seller.post("/api/v1/shops/mine/products", json={
        "title": "蓝牙耳机", "affiliate_bps": 1_000, "skus": [{"name": "白", "price": 20_000, "stock": 9}]})).json()
    creator = await sign_up(client, "creator")
    video = await published(database, creator, "开箱 #数码")
    await creator.put(f"/api/v1/videos/{video.id}/cart", json={"product_id": product["id"]})
    buyer = await buyer_with_money(client, database, "buyer", 50_000)
    order = (await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 20_000,
                                                   "source_video_id": str(video.id)})).json()
    await keyed(buyer, f"/api/v1/payments/intents/{order['intent_id']}/confirmation", {"method": "wallet", "pin": PIN})
    await jobs.drain(database)
    await seller.post(f"/api/v1/orders/{order['id']}/shipment", json={"carrier": "zto", "tracking_number": "ZTO7700"})
    await jobs.drain(database)
    assert (await buyer.post(f"/api/v1/orders/{order['id']}/receipt")).json()["status"] == "completed"
    fee = 20_000 * app.state.runtime.settings.platform_fee_bps // 10_000
    assert (await wallet_of(creator), await wallet_of(seller)) == (2_000, 20_000 - fee - 2_000)
    return seller, buyer, creator, order, fee


async def refund_after_sale(seller: User, buyer: User, order: dict[str, Any], amount: int) -> None:
    r = await buyer.post(f"/api/v1/orders/{order['id']}/after-sales",
                         json={"kind": "refund_only", "reason": "quality", "amount": amount})
    assert r.status_code == 201, r.text
    r = await keyed(seller, f"/api/v1/after-sales/{r.json()['id']}/decision", {"approve": True})
    assert r.json()["status"] == "refunded", r.text


class TestCommissionOnRefunds:
    async def test_a_partial_then_a_full_refund_take_the_commission_back_exactly(
            self, app: Any, client: httpx2.AsyncClient, database: Database) -> None:
        seller, buyer, creator, order, fee = await completed_from_a_video(app, client, database)
        await refund_after_sale(seller, buyer, order, 5_000)  # a quarter back
        assert await wallet_of(creator) == 2_000 - 500
        assert await wallet_of(buyer) == 50_000 - 20_000 + 5_000
        fee_back = fee * 5_000 // 20_000
        assert await wallet_of(seller) == 20_000 - fee - 2_000 - (5_000 - fee_back - 500)
        await refund_after_sale(seller, buyer, order, 15_000)  # the rest
        assert (await wallet_of(creator), await wallet_of(seller), await wallet_of(buyer)) == (0, 0, 50_000)
        async with database.transaction(write=False) as db:
            share = await db.scalar(select(IntentShare))
            assert share is not None and (share.amount, share.amount_reversed, share.amount_unrecovered) \
                == (2_000, 2_000, 0)
            assert (await ledger.verify(db)).ok

    async def test_a_creator_who_spent_it_gives_back_what_they_hold(
            self, app: Any, client: httpx2.AsyncClient, database: Database) -> None:
        seller, buyer, creator, order, fee = await completed_from_a_video(app, client, database)
        await creator.client.put("/api/v1/wallet/pin", json={"pin": PIN}, headers=creator.headers)
        r = await keyed(creator, "/api/v1/wallet/transfers", {"to": buyer.handle, "amount": 1_500, "pin": PIN})
        assert r.status_code == 201, r.text  # 1,500 of the 2,000 spent
        async with database.transaction() as db:  # the merchant has other takings to refund from
            await ledger.move(db, kind="top_up", source=await ledger.account(db, BANK_CLEARING), amount=5_000,
                              target=await ledger.account(db, WALLET, owner_id=int(seller.id)))
        await refund_after_sale(seller, buyer, order, 20_000)  # all of it back
        assert await wallet_of(creator) == 0  # never below zero
        async with database.transaction(write=False) as db:
            share = await db.scalar(select(IntentShare))
            assert share is not None and (share.amount_reversed, share.amount_unrecovered) == (500, 1_500)
            assert (await ledger.verify(db)).ok
        # The merchant gave back their part and bore the 1,500 the creator could not.
        assert await wallet_of(seller) == 5_000 + (20_000 - fee - 2_000) - (20_000 - fee - 500)
