"""After payment: the merchant ships (carrier and tracking number), the carrier's steps build the
parcel's timeline until it is delivered, and the buyer confirms receipt — or the confirmation
window passes — which completes the order and pays the merchant out of escrow, less the
platform's commission."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce.errors import OrderNotConfirmable, OrderNotFound, OrderNotShippable, UnknownCarrier
from shua.commerce.logistics import CARRIERS, STEPS, CarrierConnector
from shua.commerce.models import COMPLETED, DELIVERED, PAID, SHIPPED, Order, ShipmentEvent, Shop
from shua.commerce.orders import _locked
from shua.core import clock, jobs
from shua.core.ids import new_id
from shua.payments import intents

CONFIRM_TASK = "commerce.auto_confirm"


async def ship(db: AsyncSession, *, carrier_connector: CarrierConnector, owner_id: int, order_id: object,
               carrier: str, tracking_number: str) -> Order:
    order = await _locked(db, order_id) if isinstance(order_id, int) else None
    shop = await db.get(Shop, order.shop_id) if order else None
    if order is None or shop is None or shop.owner_id != owner_id:
        raise OrderNotFound()
    if carrier not in CARRIERS:
        raise UnknownCarrier(carrier=carrier)
    if order.status != PAID:
        raise OrderNotShippable(state=order.status)
    order.status, order.carrier, order.tracking_number, order.shipped_at = SHIPPED, carrier, tracking_number, \
        clock.utcnow()
    await carrier_connector.register(db, order_id=order.id, carrier=carrier, tracking_number=tracking_number)
    await jobs.publish(db, "commerce.order_shipped", {"order_id": str(order.id), "carrier": carrier})
    return order


async def carrier_step(db: AsyncSession, *, order_id: int, step: int, confirm_days: float) -> None:
    """One step the carrier reported (once: a repeated step adds nothing)."""
    status, description = STEPS[step]
    seen = await db.scalar(select(ShipmentEvent.id).where(ShipmentEvent.order_id == order_id,
                                                          ShipmentEvent.status == status))
    order = await _locked(db, order_id)
    if seen is not None or order is None:
        return
    db.add(ShipmentEvent(id=new_id(), order_id=order_id, status=status, description=description, at=clock.utcnow()))
    if status == "delivered" and order.status == SHIPPED:
        order.status, order.delivered_at = DELIVERED, clock.utcnow()
        await jobs.enqueue(db, CONFIRM_TASK, {"order_id": str(order_id)},
                           run_at=clock.utcnow() + timedelta(days=confirm_days))


async def timeline(db: AsyncSession, *, order_id: int) -> list[ShipmentEvent]:
    return list((await db.scalars(select(ShipmentEvent).where(ShipmentEvent.order_id == order_id)
                                  .order_by(ShipmentEvent.at.desc(), ShipmentEvent.id.desc()))).all())


async def confirm_receipt(db: AsyncSession, *, order_id: object, fee_bps: int, user_id: int | None = None) -> Order:
    """The buyer confirms (确认收货), or the window passed (`user_id` None): completed, and the
    merchant is paid out of escrow less the platform's commission and the creator's, if the order
    came from another creator's video cart."""
    order = await _locked(db, order_id) if isinstance(order_id, int) else None
    if order is None or (user_id is not None and user_id != order.buyer_id):
        raise OrderNotFound()
    if order.status not in (SHIPPED, DELIVERED):
        raise OrderNotConfirmable(state=order.status)
    order.status, order.completed_at = COMPLETED, clock.utcnow()
    if order.intent_id is not None:
        shares = {order.affiliate_id: order.affiliate_amount} if order.affiliate_id else None
        await intents.release(db, intent_id=order.intent_id, fee_bps=fee_bps, shares=shares)
    await jobs.publish(db, "commerce.order_completed", {
        "order_id": str(order.id), "shop_id": str(order.shop_id), "total": order.total,
        "source_video_id": str(order.source_video_id) if order.source_video_id else None})
    return order
