"""GMV, closed-loop: what buyers paid for orders inside the app, net of refunds — by day, shop,
source video and product — with taps on links out to other stores counted beside it, never in
it. A canceled (unpaid) order is no sale; a paid one counts from the day it was paid."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce.models import COMPLETED, DELIVERED, PAID, SHIPPED, ExternalClick, Order, OrderItem, Shop
from shua.payments import intents

SOLD = (PAID, SHIPPED, DELIVERED, COMPLETED)


@dataclass
class Report:
    since: datetime
    until: datetime
    gmv: int = 0  # fen, net of refunds
    refunded: int = 0
    orders: int = 0
    affiliate: int = 0  # creators' commissions on completed orders
    external_clicks: int = 0
    by_day: dict[date, int] = field(default_factory=dict)
    by_shop: list[tuple[str, int]] = field(default_factory=list)
    by_video: list[tuple[int, int]] = field(default_factory=list)
    top_products: list[tuple[str, int, int]] = field(default_factory=list)  # title, units, fen


async def report(db: AsyncSession, *, since: datetime, until: datetime, top: int = 10) -> Report:
    result = Report(since=since, until=until)
    sold = list((await db.scalars(select(Order).where(Order.status.in_(SOLD), Order.paid_at >= since,
                                                      Order.paid_at < until))).all())
    refunded = await intents.refunded_of(db, intent_ids=[o.intent_id for o in sold if o.intent_id])
    shops = {s.id: s.name for s in (await db.scalars(select(Shop).where(Shop.id.in_({o.shop_id for o in sold}))))}
    days: dict[date, int] = defaultdict(int)
    per_shop: dict[str, int] = defaultdict(int)
    per_video: dict[int, int] = defaultdict(int)
    for order in sold:
        back = refunded.get(order.intent_id or 0, 0)
        net = order.total - back
        result.gmv += net
        result.refunded += back
        result.orders += 1
        if order.status == COMPLETED:
            result.affiliate += order.affiliate_amount
        assert order.paid_at is not None
        days[order.paid_at.date()] += net
        per_shop[shops.get(order.shop_id, str(order.shop_id))] += net
        if order.source_video_id:
            per_video[order.source_video_id] += net
    result.by_day = dict(sorted(days.items()))
    result.by_shop = sorted(per_shop.items(), key=lambda kv: -kv[1])[:top]
    result.by_video = sorted(per_video.items(), key=lambda kv: -kv[1])[:top]
    if sold:
        items = await db.execute(select(OrderItem.title, func.sum(OrderItem.quantity),
                                        func.sum(OrderItem.quantity * OrderItem.price))
                                 .where(OrderItem.order_id.in_([o.id for o in sold]))
                                 .group_by(OrderItem.product_id, OrderItem.title)
                                 .order_by(func.sum(OrderItem.quantity * OrderItem.price).desc()).limit(top))
        result.top_products = [(str(t), int(u), int(f)) for t, u, f in items.all()]
    result.external_clicks = int(await db.scalar(select(func.count()).select_from(ExternalClick).where(
        ExternalClick.at >= since, ExternalClick.at < until)) or 0)
    return result
