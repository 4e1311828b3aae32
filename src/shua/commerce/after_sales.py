"""After-sales (售后): the buyer asks for a refund only, a return and refund, or an exchange, with
a reason, while the order is under way or within the window after it completed; the merchant
approves or rejects; a rejected buyer may take it to the platform, whose operator decides
(audited). Money moves only through Shua Pay refunds — the request records the refund object
that paid it, and nothing is "refunded" without one.

    requested ─approve─→ (refund only) refunded
              │        → (return) awaiting_return ─buyer ships back─→ returned ─merchant receives─→ refunded | exchanged
              └reject──→ rejected ─buyer appeals─→ arbitration ─operator─→ approved path | closed
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce import orders, photos
from shua.commerce.models import (
    AFTER_SALE_KINDS,
    AFTER_SALE_PHOTO,
    AFTER_SALE_REASONS,
    ARBITRATION,
    AWAITING_RETURN,
    CANCELED,
    CLOSED,
    COMPLETED,
    DELIVERED,
    EXCHANGE,
    EXCHANGED,
    PAID,
    REFUND_ONLY,
    REFUNDED,
    REJECTED,
    REQUESTED,
    RETURNED,
    SHIPPED,
    AfterSale,
    Order,
    OrderItem,
    Product,
    Shop,
)
from shua.core import audit, clock, jobs
from shua.core.errors import Conflict, InvalidRequest, NotFound
from shua.core.ids import new_id
from shua.payments import intents

WINDOW = timedelta(days=7)  # for a fault, after completion; before it, any time
CHANGED_MIND = "changed_mind"


class AfterSaleNotFound(NotFound):
    code = "commerce.after_sale_not_found"
    title = "No such after-sales request"


class AfterSaleClosed(Conflict):
    code = "commerce.after_sale_not_allowed"
    title = "After-sales is not open for this order (not paid, or past its window)"


class NoReasonReturnsRefused(Conflict):
    code = "commerce.no_reason_returns_refused"
    title = "This product takes returns only for a fault, not for a change of mind"


class AfterSaleOpen(Conflict):
    code = "commerce.after_sale_open"
    title = "This order already has an after-sales request under way"


class AfterSaleWrongState(Conflict):
    code = "commerce.after_sale_wrong_state"
    title = "That step does not fit where this request stands"


async def _return_days(db: AsyncSession, order_id: int) -> int:
    """The most generous return policy among the order's products (七天无理由: days after receipt)."""
    days = await db.scalar(select(func.max(Product.return_days)).join(OrderItem, OrderItem.product_id == Product.id)
                           .where(OrderItem.order_id == order_id))
    return int(days or 0)


async def request(db: AsyncSession, *, buyer_id: int, order_id: object, kind: str, reason: str, detail: str,
                  amount: int | None, photo_ids: list[int] | None = None) -> AfterSale:
    """Open a request. A fault (damaged, wrong, not as described…) may be claimed until WINDOW
    after completion, or the products' return days if longer; changing your mind only within
    the return days, and not at all once shipped when the products take no returns without a
    fault (a paid order not yet shipped may always be refunded)."""
    order = await db.get(Order, order_id) if isinstance(order_id, int) else None
    if order is None or order.buyer_id != buyer_id:
        raise AfterSaleNotFound()
    if kind not in AFTER_SALE_KINDS or reason not in AFTER_SALE_REASONS:
        raise InvalidRequest(field="kind" if kind not in AFTER_SALE_KINDS else "reason")
    return_days = await _return_days(db, order.id)
    no_reason = reason == CHANGED_MIND
    if no_reason and order.status != PAID and return_days == 0:
        raise NoReasonReturnsRefused()
    window = timedelta(days=return_days) if no_reason else max(WINDOW, timedelta(days=return_days))
    open_now = order.status in (PAID, SHIPPED, DELIVERED) or (
        order.status == COMPLETED and order.completed_at is not None and clock.utcnow() - order.completed_at <= window)
    if not open_now:
        raise AfterSaleClosed(state=order.status)
    pending = await db.scalar(select(AfterSale.id).where(
        AfterSale.order_id == order.id, AfterSale.status.not_in((REFUNDED, EXCHANGED, CLOSED, REJECTED))))
    if pending is not None:
        raise AfterSaleOpen()
    left = order.total - (await intents.refunded_of(db, intent_ids=[order.intent_id or 0])).get(order.intent_id or 0, 0)
    if kind == EXCHANGE:
        amount = 0
    else:
        amount = left if amount is None else amount
        if not 0 < amount <= left:
            raise intents.RefundExceedsPayment(left=left)
    now = clock.utcnow()
    row = AfterSale(id=new_id(), order_id=order.id, shop_id=order.shop_id, buyer_id=buyer_id, kind=kind, reason=reason,
                    detail=detail[:500], amount=amount, status=REQUESTED, created_at=now, updated_at=now)
    db.add(row)
    await db.flush()
    await photos.attach(db, owner_id=buyer_id, purpose=AFTER_SALE_PHOTO, target_id=row.id, photo_ids=photo_ids or [])
    await jobs.publish(db, "commerce.after_sale_requested", {"after_sale_id": str(row.id), "order_id": str(order.id),
                                                             "kind": kind})
    return row


async def _mine(db: AsyncSession, after_sale_id: object, *, merchant_id: int | None = None,
                buyer_id: int | None = None) -> AfterSale:
    row = await db.get(AfterSale, after_sale_id) if isinstance(after_sale_id, int) else None
    if row is None:
        raise AfterSaleNotFound()
    if buyer_id is not None and row.buyer_id != buyer_id:
        raise AfterSaleNotFound()
    if merchant_id is not None:
        shop = await db.get(Shop, row.shop_id)
        if shop is None or shop.owner_id != merchant_id:
            raise AfterSaleNotFound()
    return row


async def decide(db: AsyncSession, *, merchant_id: int, after_sale_id: object, approve: bool,
                 note: str = "") -> AfterSale:
    row = await _mine(db, after_sale_id, merchant_id=merchant_id)
    if row.status != REQUESTED:
        raise AfterSaleWrongState(state=row.status)
    row.merchant_note = note[:200]
    if approve:
        await _approved(db, row)
    else:
        row.status = REJECTED
    row.updated_at = clock.utcnow()
    return row


async def _approved(db: AsyncSession, row: AfterSale) -> None:
    if row.kind == REFUND_ONLY:
        await _refund(db, row)
    else:
        row.status = AWAITING_RETURN


async def _refund(db: AsyncSession, row: AfterSale) -> None:
    order = await db.get(Order, row.order_id)
    assert order is not None and order.intent_id is not None
    refund = await intents.refund(db, intent_id=order.intent_id, amount=row.amount, reason=f"售后 {row.reason}")
    row.refund_id, row.status = refund.id, REFUNDED
    refunded = (await intents.refunded_of(db, intent_ids=[order.intent_id]))[order.intent_id]
    if order.status == PAID and refunded == order.total:
        # Refunded in full before it was shipped: nothing will be sent; the stock goes back.
        await orders.give_back_stock(db, order_id=order.id)
        order.status, order.canceled_at = CANCELED, clock.utcnow()
    await jobs.publish(db, "commerce.after_sale_refunded", {"after_sale_id": str(row.id), "order_id": str(order.id),
                                                            "amount": row.amount})


async def ship_back(db: AsyncSession, *, buyer_id: int, after_sale_id: object, tracking_number: str) -> AfterSale:
    row = await _mine(db, after_sale_id, buyer_id=buyer_id)
    if row.status != AWAITING_RETURN:
        raise AfterSaleWrongState(state=row.status)
    row.status, row.return_tracking, row.updated_at = RETURNED, tracking_number, clock.utcnow()
    return row


async def receive_return(db: AsyncSession, *, merchant_id: int, after_sale_id: object) -> AfterSale:
    """The merchant has the goods back: refunded, or (an exchange) the replacement goes out."""
    row = await _mine(db, after_sale_id, merchant_id=merchant_id)
    if row.status != RETURNED:
        raise AfterSaleWrongState(state=row.status)
    if row.kind == EXCHANGE:
        row.status = EXCHANGED
    else:
        await _refund(db, row)
    row.updated_at = clock.utcnow()
    return row


async def appeal(db: AsyncSession, *, buyer_id: int, after_sale_id: object) -> AfterSale:
    row = await _mine(db, after_sale_id, buyer_id=buyer_id)
    if row.status != REJECTED:
        raise AfterSaleWrongState(state=row.status)
    row.status, row.updated_at = ARBITRATION, clock.utcnow()
    return row


async def arbitrate(db: AsyncSession, *, actor_id: int, after_sale_id: object, for_buyer: bool,
                    note: str = "") -> AfterSale:
    row = await _mine(db, after_sale_id)
    if row.status != ARBITRATION:
        raise AfterSaleWrongState(state=row.status)
    await audit.record(db, actor_id=actor_id, action="commerce.after_sale_arbitrate", target=f"after_sale:{row.id}",
                       for_buyer=for_buyer, note=note)
    if for_buyer:
        await _approved(db, row)
    else:
        row.status = CLOSED
    row.updated_at = clock.utcnow()
    return row


async def of_order(db: AsyncSession, *, order_id: int) -> list[AfterSale]:
    return list((await db.scalars(select(AfterSale).where(AfterSale.order_id == order_id)
                                  .order_by(AfterSale.id))).all())


async def in_arbitration(db: AsyncSession, *, limit: int = 50) -> list[AfterSale]:
    return list((await db.scalars(select(AfterSale).where(AfterSale.status == ARBITRATION)
                                  .order_by(AfterSale.id).limit(limit))).all())
