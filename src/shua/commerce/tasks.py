"""Background work of the shop: orders paid (from Shua Pay's event) and payment windows ending."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shua import runtime
from shua.commerce import fulfilment, logistics, orders, photos
from shua.commerce.errors import OrderNotCancelable, OrderNotConfirmable, OrderNotFound
from shua.core import clock
from shua.core.db import Database
from shua.core.jobs import enqueue, subscribe, task

RECHECK = timedelta(minutes=5)


@task("commerce.intent_succeeded", max_attempts=20, backoff_seconds=10)
async def intent_succeeded(database: Database, payload: dict[str, Any]) -> None:
    order_id = orders.order_of_reference(str(payload.get("reference") or ""))
    if order_id is None:
        return  # a payment for something else
    async with database.transaction() as db:
        await orders.mark_paid(db, order_id=order_id)


@task(orders.EXPIRE_TASK, max_attempts=20, backoff_seconds=30)
async def expire_order(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        try:
            await orders.cancel(db, order_id=int(payload["order_id"]))
        except OrderNotCancelable as refused:
            if refused.details.get("state") == "processing":
                # A card payment the bank has not answered yet: look again later rather than
                # leave the stock held for ever if the bank then declines it.
                await enqueue(db, orders.EXPIRE_TASK, payload, run_at=clock.utcnow() + RECHECK)
        except OrderNotFound:
            return


@task(logistics.STEP_TASK, max_attempts=20, backoff_seconds=30)
async def carrier_step(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        await fulfilment.carrier_step(db, order_id=int(payload["order_id"]), step=int(payload["step"]),
                                      confirm_days=runtime.current().settings.order_confirm_days)


@task(fulfilment.CONFIRM_TASK, max_attempts=20, backoff_seconds=60)
async def auto_confirm(database: Database, payload: dict[str, Any]) -> None:
    """Delivered and not confirmed within the window: completed as if the buyer had."""
    async with database.transaction() as db:
        try:
            await fulfilment.confirm_receipt(db, order_id=int(payload["order_id"]),
                                             fee_bps=runtime.current().settings.platform_fee_bps)
        except (OrderNotConfirmable, OrderNotFound):
            return  # confirmed already (or after-sales took it elsewhere)


@task(photos.EXPIRE_TASK, max_attempts=10, backoff_seconds=60)
async def expire_photo(database: Database, payload: dict[str, Any]) -> None:
    """A photo uploaded and never attached (a form left unsent) is deleted after a day."""
    async with database.transaction() as db:
        await photos.expire(db, runtime.current().storage, photo_id=int(payload["photo_id"]))


subscribe("payments.intent_succeeded", "commerce.intent_succeeded")
