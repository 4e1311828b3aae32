"""Reviews (评价): one per order item, by its buyer, once the order is completed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce import photos
from shua.commerce.models import COMPLETED, REVIEW_PHOTO, Order, OrderItem, Review
from shua.core import clock, jobs
from shua.core.db import insert_ignore
from shua.core.errors import Conflict, NotFound
from shua.core.ids import new_id


class ItemNotFound(NotFound):
    code = "commerce.item_not_found"
    title = "No such item among your orders"


class NotYetReceived(Conflict):
    code = "commerce.not_yet_received"
    title = "Review an item once you have confirmed receiving it"


class AlreadyReviewed(Conflict):
    code = "commerce.already_reviewed"
    title = "You have reviewed this item already"


async def write(db: AsyncSession, *, buyer_id: int, item_id: object, stars: int, text: str,
                photo_ids: list[int] | None = None) -> Review:
    item = await db.get(OrderItem, item_id) if isinstance(item_id, int) else None
    order = await db.get(Order, item.order_id) if item else None
    if item is None or order is None or order.buyer_id != buyer_id:
        raise ItemNotFound()
    if order.status != COMPLETED:
        raise NotYetReceived(state=order.status)
    review_id = new_id()
    if not await insert_ignore(db, Review, id=review_id, order_item_id=item.id, product_id=item.product_id,
                               buyer_id=buyer_id, stars=stars, text=text, created_at=clock.utcnow()):
        raise AlreadyReviewed()
    review = await db.get(Review, review_id)
    assert review is not None
    await photos.attach(db, owner_id=buyer_id, purpose=REVIEW_PHOTO, target_id=review_id, photo_ids=photo_ids or [])
    await jobs.publish(db, "commerce.reviewed", {"review_id": str(review_id), "product_id": str(item.product_id),
                                                 "shop_id": str(order.shop_id), "stars": stars})
    return review


@dataclass(frozen=True)
class Summary:
    count: int
    average: float | None


async def of_product(db: AsyncSession, *, product_id: int, limit: int = 20) -> tuple[Summary, list[Review]]:
    count, average = (await db.execute(select(func.count(), func.avg(Review.stars))
                                       .where(Review.product_id == product_id))).one()
    latest = list((await db.scalars(select(Review).where(Review.product_id == product_id)
                                    .order_by(Review.id.desc()).limit(limit))).all())
    return Summary(count=int(count), average=round(float(average), 1) if average is not None else None), latest


async def reviewed_items(db: AsyncSession, *, item_ids: list[int]) -> set[int]:
    if not item_ids:
        return set()
    return set((await db.scalars(select(Review.order_item_id).where(Review.order_item_id.in_(item_ids)))).all())
