"""The shop score (体验分, out of 5): what buyers said (review stars), how fast the shop ships
(paid → shipped: a day or less is full marks, three days or more none), how fast it answers
after-sales requests (requested → decided, the same scale) and how fast its customer service
answers buyers' questions (an hour or less is full marks, a day or more none; a question still
waiting counts for as long as it has waited). Weighted 40 / 25 / 20 / 15; a part with no data yet
counts as neutral (3.5) so a new shop is neither punished nor flattered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce.models import REQUESTED, AfterSale, Order, Product, Question, Review
from shua.core import clock

NEUTRAL = 3.5
FULL_HOURS, ZERO_HOURS = 24.0, 72.0
SERVICE_FULL_HOURS, SERVICE_ZERO_HOURS = 1.0, 24.0


@dataclass(frozen=True)
class ShopScore:
    score: float
    reviews: float | None
    shipping: float | None
    after_sales: float | None
    service: float | None = None


def _speed(hours: float | None, full: float = FULL_HOURS, zero: float = ZERO_HOURS) -> float | None:
    """Hours taken → 0–5: `full` or less is 5, `zero` or more 0, linear between."""
    if hours is None:
        return None
    if hours <= full:
        return 5.0
    return max(0.0, 5.0 * (zero - hours) / (zero - full))


def _hours(pairs: list[tuple[datetime | None, datetime | None]]) -> float | None:
    spans = [(end - start).total_seconds() / 3600 for start, end in pairs if start and end]
    return sum(spans) / len(spans) if spans else None


async def of_shop(db: AsyncSession, *, shop_id: int, recent: int = 200) -> ShopScore:
    stars = await db.scalar(select(func.avg(Review.stars)).join(Product, Product.id == Review.product_id)
                            .where(Product.shop_id == shop_id))
    shipped = (await db.execute(select(Order.paid_at, Order.shipped_at).where(
        Order.shop_id == shop_id, Order.shipped_at.is_not(None)).order_by(Order.id.desc()).limit(recent))).all()
    answered = (await db.execute(select(AfterSale.created_at, AfterSale.updated_at).where(
        AfterSale.shop_id == shop_id, AfterSale.status != REQUESTED).order_by(AfterSale.id.desc()).limit(recent))).all()
    asked = (await db.execute(select(Question.created_at, Question.answered_at).where(
        Question.shop_id == shop_id).order_by(Question.id.desc()).limit(recent))).all()
    now = clock.utcnow()
    reviews = round(float(stars), 2) if stars is not None else None
    shipping = _speed(_hours([(start, end) for start, end in shipped]))
    after_sales = _speed(_hours([(start, end) for start, end in answered]))
    service = _speed(_hours([(start, end or now) for start, end in asked]), SERVICE_FULL_HOURS, SERVICE_ZERO_HOURS)
    parts = [(reviews, 0.4), (shipping, 0.25), (after_sales, 0.2), (service, 0.15)]
    score = sum((value if value is not None else NEUTRAL) * weight for value, weight in parts)
    return ShopScore(score=round(score, 1), reviews=reviews, shipping=shipping, after_sales=after_sales,
                     service=service)
