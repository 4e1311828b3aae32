"""Money between bound cards and wallets: top-ups (a charge of the card), withdrawals (a payout
to it), and the bank's webhooks that settle both — and card payments of intents and refunds to
cards, whose settlement the intents module registers here.

Every operation is committed as `created` before the bank hears of it and submitted by a job
under its own id as the bank's reference, so a crash anywhere leaves a row that the next attempt
resubmits (the bank answers one reference once). A withdrawal takes the money out of the wallet
when it is asked for (it cannot be spent twice while the bank works) and gives it back if the
bank fails it; a top-up credits the wallet only when the bank says it succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock, jobs
from shua.core.db import Database, insert_ignore, locked_row
from shua.core.errors import InvalidRequest, NotFound
from shua.core.ids import parse_id
from shua.payments import binding, ledger
from shua.payments.bank import BankConnector, verify
from shua.payments.errors import InvalidAmount
from shua.payments.models import (
    BANK_CLEARING,
    CHARGE,
    CREATED,
    FAILED,
    PAYOUT,
    SUBMITTED,
    SUCCEEDED,
    TOPUP,
    WALLET,
    WITHDRAWAL,
    BankOperation,
    BankWebhookEvent,
    PaymentCard,
)

SUBMIT_TASK = "payments.submit_bank_operation"
MAX_TOP_UP = 5_000_000  # fen per operation: 50,000 yuan (the bank may refuse less)
CURRENCY = "CNY"

# How an operation of each purpose settles: (db, operation, succeeded) → None. Intents and
# refunds register theirs (payments/intents.py) so this module need not know them.
Settler = Callable[[AsyncSession, BankOperation, bool], Awaitable[None]]
SETTLERS: dict[str, Settler] = {}


class OperationNotFound(NotFound):
    code = "payments.operation_not_found"
    title = "No such bank operation"


class WebhookMalformed(InvalidRequest):
    code = "payments.webhook_malformed"
    title = "The webhook's body is not a bank event"
    status = 400


def reference_of(operation_id: int) -> str:
    return f"bankop:{operation_id}"


async def _card(db: AsyncSession, user_id: int, card_id: object) -> Any:
    return await binding.own_card(db, user_id=user_id, card_id=card_id)


async def open_operation(db: AsyncSession, *, user_id: int, card_id: object, kind: str, purpose: str,
                         amount: int, purpose_id: int | None = None) -> BankOperation:
    """Record an operation and the job that submits it, in the caller's transaction."""
    card = await _card(db, user_id, card_id)
    operation = BankOperation(user_id=user_id, card_id=card.id, kind=kind, purpose=purpose, purpose_id=purpose_id,
                              amount=amount, currency=CURRENCY, status=CREATED, created_at=clock.utcnow())
    db.add(operation)
    await db.flush()
    await jobs.enqueue(db, SUBMIT_TASK, {"operation_id": str(operation.id)})
    return operation


async def top_up(db: AsyncSession, *, user_id: int, card_id: object, amount: int) -> BankOperation:
    """Ask the bank to charge the card; the wallet is credited when the bank says it succeeded."""
    ledger.check_amount(amount, CURRENCY)
    if amount > MAX_TOP_UP:
        raise InvalidAmount(amount=str(amount), most=MAX_TOP_UP)
    await ledger.account(db, WALLET, CURRENCY, owner_id=user_id)  # opened now: the credit will find it
    return await open_operation(db, user_id=user_id, card_id=card_id, kind=CHARGE, purpose=TOPUP, amount=amount)


async def withdraw(db: AsyncSession, *, user_id: int, card_id: object, amount: int) -> BankOperation:
    """Take the money out of the wallet now and ask the bank to pay it to the card."""
    ledger.check_amount(amount, CURRENCY)
    operation = await open_operation(db, user_id=user_id, card_id=card_id, kind=PAYOUT, purpose=WITHDRAWAL,
                                     amount=amount)
    wallet = await ledger.account(db, WALLET, CURRENCY, owner_id=user_id)
    clearing = await ledger.account(db, BANK_CLEARING, CURRENCY)
    await ledger.move(db, kind="withdrawal", source=wallet, target=clearing, amount=amount,
                      reference=reference_of(operation.id))
    return operation


async def submit(database: Database, bank: BankConnector, *, operation_id: int) -> None:
    """Tell the bank (again, if a first attempt died): the job behind every operation."""
    async with database.transaction(write=False) as db:
        operation = await db.get(BankOperation, operation_id)
        if operation is None or operation.status != CREATED:
            return
        card = await db.get(PaymentCard, operation.card_id)
        assert card is not None
        token, kind, amount, currency = card.token, operation.kind, operation.amount, operation.currency
    ask = bank.charge if kind == CHARGE else bank.payout
    answer = await ask(token=token, amount=amount, currency=currency, reference=reference_of(operation_id))
    async with database.transaction() as db:
        operation = await _locked(db, operation_id)
        if operation.status != CREATED:
            return  # the webhook was faster than we were
        if answer.status == "failed":
            await _settle(db, operation, succeeded=False, failure_code=answer.failure_code)
        else:
            operation.status, operation.bank_ref = SUBMITTED, answer.bank_ref


async def _locked(db: AsyncSession, operation_id: int) -> BankOperation:
    operation = await locked_row(db, BankOperation, operation_id)
    if operation is None:
        raise OperationNotFound(operation_id=str(operation_id))
    return operation


async def _settle(db: AsyncSession, operation: BankOperation, *, succeeded: bool, failure_code: str | None = None,
                  bank_ref: str | None = None) -> None:
    """The bank's final word on an operation: move the money and close it (once)."""
    operation.status = SUCCEEDED if succeeded else FAILED
    operation.failure_code = None if succeeded else (failure_code or "failed")[:40]
    operation.settled_at = clock.utcnow()
    if bank_ref and not operation.bank_ref:
        operation.bank_ref = bank_ref
    clearing = await ledger.account(db, BANK_CLEARING, operation.currency)
    reference = reference_of(operation.id)
    if operation.purpose == TOPUP and succeeded:
        wallet = await ledger.account(db, WALLET, operation.currency, owner_id=operation.user_id)
        await ledger.move(db, kind="top_up", source=clearing, target=wallet, amount=operation.amount,
                          reference=reference)
    elif operation.purpose == WITHDRAWAL and not succeeded:
        wallet = await ledger.account(db, WALLET, operation.currency, owner_id=operation.user_id)
        await ledger.move(db, kind="withdrawal_returned", source=clearing, target=wallet, amount=operation.amount,
                          reference=reference)
    elif operation.purpose in SETTLERS:
        await SETTLERS[operation.purpose](db, operation, succeeded)
    await jobs.publish(db, "payments.bank_operation_settled", {
        "operation_id": str(operation.id), "user_id": str(operation.user_id), "purpose": operation.purpose,
        "status": operation.status, "amount": operation.amount})


async def receive_webhook(database: Database, *, secret: str, body: bytes, header: str | None) -> str:
    """Check a webhook's signature and apply it once: "applied", "duplicate" (its event id was
    seen), "stale" (the operation had already settled) or "unknown" (not ours)."""
    verify(secret, body, header, now=clock.utcnow().timestamp())
    try:
        event = json.loads(body)
        event_id, kind, reference = str(event["id"]), str(event["type"]), str(event["reference"])
        amount = int(event["amount"])
    except (ValueError, KeyError, TypeError) as error:
        raise WebhookMalformed() from error
    if kind not in ("operation.succeeded", "operation.failed") or not 1 <= len(event_id) <= 64:
        raise WebhookMalformed(event_type=kind[:40])
    async with database.transaction() as db:
        operation_id = _operation_id(reference)
        if not await insert_ignore(db, BankWebhookEvent, event_id=event_id, type=kind, operation_id=operation_id,
                                   received_at=clock.utcnow()):
            return "duplicate"
        if operation_id is None or await db.get(BankOperation, operation_id) is None:
            return "unknown"
        operation = await _locked(db, operation_id)
        if operation.status in (SUCCEEDED, FAILED):
            return "stale"
        if amount != operation.amount:
            # The bank settled another amount than we asked: never guess; reconciliation lists it.
            await _settle(db, operation, succeeded=False, failure_code="amount_mismatch")
            return "applied"
        await _settle(db, operation, succeeded=kind == "operation.succeeded",
                      failure_code=event.get("failure_code"), bank_ref=str(event.get("bank_ref") or "")[:64] or None)
        return "applied"


def _operation_id(reference: str) -> int | None:
    prefix, _, number = reference.partition(":")
    return parse_id(number) if prefix == "bankop" else None


async def own_operation(db: AsyncSession, *, user_id: int, operation_id: object) -> BankOperation:
    operation = await db.get(BankOperation, operation_id) if isinstance(operation_id, int) else None
    if operation is None or operation.user_id != user_id:
        raise OperationNotFound()
    return operation


async def list_operations(db: AsyncSession, *, user_id: int, limit: int = 20) -> list[BankOperation]:
    return list((await db.scalars(select(BankOperation).where(BankOperation.user_id == user_id)
                                  .order_by(BankOperation.id.desc()).limit(limit))).all())
