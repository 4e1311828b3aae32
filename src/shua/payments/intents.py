"""Payment intents: one payment for something, as a state machine —

    requires_confirmation ──confirm(wallet)──────────────→ succeeded
            │            ──confirm(card)──→ processing ──→ succeeded | failed (the bank's webhook)
            └──cancel──→ canceled

A succeeded intent's money sits in the payee's escrow account until it is released (the payer
confirms, an operator does, or the escrow period ends): then the platform's fee goes to the fees
account and the rest to the payee's wallet. Refunds are their own objects, in full or in part,
never more than was paid (the running total is reserved on the intent row, under its lock, and a
CHECK constraint stands behind it): from escrow before release, from the payee's wallet after;
back to the payer's wallet, or to their card through the bank.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock, jobs
from shua.core.db import locked_row
from shua.core.errors import Conflict, InvalidRequest, NotFound
from shua.payments import banking, binding, ledger
from shua.payments.models import (
    BANK_CLEARING,
    CANCELED,
    CHARGE,
    ESCROW,
    FAILED,
    FEES,
    INTENT,
    PAYOUT,
    PROCESSING,
    REFUND,
    REQUIRES_CONFIRMATION,
    SUCCEEDED,
    WALLET,
    BankOperation,
    IntentShare,
    PaymentIntent,
    PaymentRefund,
)

RELEASE_TASK = "payments.release_intent"
ESCROW_DAYS = 7  # a payer who never confirms: the payee is paid anyway after this long
METHODS = ("wallet", "card")


class IntentNotFound(NotFound):
    code = "payments.intent_not_found"
    title = "No such payment"


class IntentNotPayable(Conflict):
    code = "payments.intent_not_payable"
    title = "This payment can no longer be paid or canceled"


class PayingYourself(InvalidRequest):
    code = "payments.paying_yourself"
    title = "You cannot pay yourself"


class RefundExceedsPayment(InvalidRequest):
    code = "payments.refund_exceeds_payment"
    title = "That is more than is left to refund of this payment"


class NotRefundable(Conflict):
    code = "payments.not_refundable"
    title = "Only a succeeded payment can be refunded"


class ReleasedWithItsOrder(Conflict):
    code = "payments.released_with_order"
    title = "This payment is paid out when its order completes (confirm receipt on the order)"


class AlreadyReleased(Conflict):
    code = "payments.already_released"
    title = "This payment has already been released to the payee"


def fee_of(amount: int, fee_bps: int) -> int:
    """The platform's commission in whole fen, rounded down (the payee never pays a part-fen)."""
    return amount * fee_bps // 10_000


async def create(db: AsyncSession, *, payee_id: int, amount: int, currency: str = "CNY", description: str = "",
                 reference: str = "", payer_id: int | None = None, auto_release: bool = True) -> PaymentIntent:
    """A payment waiting for its payer: named (an order's buyer) or, left open, whoever pays
    first through its link (a payment request, 收款)."""
    ledger.check_amount(amount, currency)
    if payer_id == payee_id:
        raise PayingYourself()
    now = clock.utcnow()
    intent = PaymentIntent(payee_id=payee_id, payer_id=payer_id, secret=secrets.token_urlsafe(16)[:22],
                           amount=amount, currency=currency, description=description[:200],
                           reference=reference[:80], status=REQUIRES_CONFIRMATION, amount_refunded=0, fee=0,
                           auto_release=auto_release, created_at=now, updated_at=now)
    db.add(intent)
    await db.flush()
    await jobs.publish(db, "payments.intent_created", {"intent_id": str(intent.id), "payee_id": str(payee_id),
                                                       "amount": amount, "reference": intent.reference})
    return intent


async def _locked(db: AsyncSession, intent_id: int) -> PaymentIntent | None:
    return await locked_row(db, PaymentIntent, intent_id)


async def readable(db: AsyncSession, *, user_id: int, intent_id: object, secret: str | None = None,
                   lock: bool = False) -> PaymentIntent:
    """The intent if this user is its payee or payer — or it is still open and they hold its
    link's secret. Anyone else gets the same 404 as for an id that does not exist."""
    intent = None
    if isinstance(intent_id, int):
        intent = await (_locked(db, intent_id) if lock else db.get(PaymentIntent, intent_id))
    if intent is None:
        raise IntentNotFound()
    if user_id in (intent.payee_id, intent.payer_id):
        return intent
    if intent.payer_id is None and secret and secrets.compare_digest(secret.encode(), intent.secret.encode()):
        return intent
    raise IntentNotFound()


async def confirm(db: AsyncSession, *, user_id: int, intent_id: object, method: str, card_id: object = None,
                  secret: str | None = None) -> PaymentIntent:
    """The payer pays: from the wallet at once, or by card (processing until the bank answers).
    The caller has checked the payer's payment password."""
    intent = await readable(db, user_id=user_id, intent_id=intent_id, secret=secret, lock=True)
    if user_id == intent.payee_id:
        raise PayingYourself()
    if intent.status != REQUIRES_CONFIRMATION:
        raise IntentNotPayable(state=intent.status)
    intent.payer_id, intent.method, intent.updated_at = user_id, method, clock.utcnow()
    escrow = await ledger.account(db, ESCROW, intent.currency, owner_id=intent.payee_id)
    if method == "wallet":
        wallet = await ledger.account(db, WALLET, intent.currency, owner_id=user_id)
        await ledger.move(db, kind="payment", source=wallet, target=escrow, amount=intent.amount,
                          reference=f"intent:{intent.id}", memo=intent.description)
        await _succeeded(db, intent)
    else:
        card = await binding.own_card(db, user_id=user_id, card_id=card_id)
        intent.card_id, intent.status = card.id, PROCESSING
        await banking.open_operation(db, user_id=user_id, card_id=card.id, kind=CHARGE, purpose=INTENT,
                                     amount=intent.amount, purpose_id=intent.id)
    return intent


async def _succeeded(db: AsyncSession, intent: PaymentIntent) -> None:
    intent.status, intent.updated_at = SUCCEEDED, clock.utcnow()
    if intent.auto_release:
        await jobs.enqueue(db, RELEASE_TASK, {"intent_id": str(intent.id)},
                           run_at=clock.utcnow() + timedelta(days=ESCROW_DAYS))
    await jobs.publish(db, "payments.intent_succeeded", {
        "intent_id": str(intent.id), "payer_id": str(intent.payer_id), "payee_id": str(intent.payee_id),
        "amount": intent.amount, "reference": intent.reference})


async def _card_charge_settled(db: AsyncSession, operation: BankOperation, succeeded: bool) -> None:
    intent = await _locked(db, operation.purpose_id or 0)
    if intent is None or intent.status != PROCESSING:
        return
    if succeeded:
        clearing = await ledger.account(db, BANK_CLEARING, intent.currency)
        escrow = await ledger.account(db, ESCROW, intent.currency, owner_id=intent.payee_id)
        await ledger.move(db, kind="payment", source=clearing, target=escrow, amount=intent.amount,
                          reference=f"intent:{intent.id}", memo=intent.description)
        await _succeeded(db, intent)
    else:
        intent.status, intent.failure_code, intent.updated_at = FAILED, operation.failure_code, clock.utcnow()
        await jobs.publish(db, "payments.intent_failed", {"intent_id": str(intent.id),
                                                          "failure_code": operation.failure_code})


async def cancel(db: AsyncSession, *, user_id: int, intent_id: object) -> PaymentIntent:
    intent = await readable(db, user_id=user_id, intent_id=intent_id, lock=True)
    if intent.status != REQUIRES_CONFIRMATION:
        raise IntentNotPayable(state=intent.status)
    intent.status, intent.updated_at = CANCELED, clock.utcnow()
    return intent


async def release(db: AsyncSession, *, intent_id: int, fee_bps: int, user_id: int | None = None,
                  shares: dict[int, int] | None = None) -> PaymentIntent:
    """Pay the payee out of escrow, less the platform's fee. `user_id` (when a person asks): only
    the payer may (confirming they got what they paid for); operators and the escrow timer pass
    None. `shares`: others' cut of the payee's part (a creator's affiliate commission, user id →
    fen of the full amount), reduced in proportion to what was refunded."""
    intent = await _locked(db, intent_id)
    if intent is None or (user_id is not None and user_id != intent.payer_id):
        raise IntentNotFound()
    if intent.status != SUCCEEDED:
        raise NotRefundable(state=intent.status)
    if intent.released_at is not None:
        raise AlreadyReleased()
    if user_id is not None and not intent.auto_release:
        raise ReleasedWithItsOrder()
    kept = intent.amount - intent.amount_refunded
    intent.fee, intent.released_at, intent.updated_at = fee_of(kept, fee_bps), clock.utcnow(), clock.utcnow()
    escrow = await ledger.account(db, ESCROW, intent.currency, owner_id=intent.payee_id)
    legs = [ledger.Leg(escrow.id, -kept)] if kept else []
    payee_part = kept - intent.fee
    for owner, share in (shares or {}).items():
        cut = min(share * kept // intent.amount, payee_part)
        if cut > 0 and owner != intent.payee_id:
            payee_part -= cut
            legs.append(ledger.Leg((await ledger.account(db, WALLET, intent.currency, owner_id=owner)).id, cut))
            db.add(IntentShare(intent_id=intent.id, owner_id=owner, amount=cut, amount_reversed=0,
                               amount_unrecovered=0))
    if payee_part:
        legs.append(ledger.Leg((await ledger.account(db, WALLET, intent.currency, owner_id=intent.payee_id)).id,
                               payee_part))
    if intent.fee:
        legs.append(ledger.Leg((await ledger.account(db, FEES, intent.currency)).id, intent.fee))
    if len(legs) >= 2:
        await ledger.post(db, kind="release", currency=intent.currency, legs=legs, reference=f"intent:{intent.id}",
                          memo=intent.description)
    await jobs.publish(db, "payments.intent_released", {"intent_id": str(intent.id), "fee": intent.fee,
                                                        "payee_id": str(intent.payee_id)})
    return intent


async def refund(db: AsyncSession, *, intent_id: object, amount: int | None = None, reason: str = "",
                 user_id: int | None = None) -> PaymentRefund:
    """Give back `amount` (all that is left, if None) of a succeeded payment. `user_id`: the payee
    asking (None: an operator or the shop's after-sales)."""
    intent = await _locked(db, intent_id) if isinstance(intent_id, int) else None
    if intent is None or (user_id is not None and user_id != intent.payee_id):
        raise IntentNotFound()
    if intent.status != SUCCEEDED:
        raise NotRefundable(state=intent.status)
    left = intent.amount - intent.amount_refunded
    amount = left if amount is None else ledger.check_amount(amount, intent.currency)
    if amount > left or left == 0:
        raise RefundExceedsPayment(left=left)
    intent.amount_refunded += amount
    intent.updated_at = clock.utcnow()
    # Before release the money is all in escrow. After it, the payee gives back what they got, the
    # platform its fee and a creator their commission, each in proportion (the last refund takes
    # whatever is left of each: exact).
    fee_back = 0
    shares_back: list[ledger.Leg] = []
    if intent.released_at is not None:
        fee_back = intent.fee if amount == left else intent.fee * amount // left
        intent.fee -= fee_back
        source = await ledger.account(db, WALLET, intent.currency, owner_id=intent.payee_id)
        shares_back = await _shares_back(db, intent, amount, left)
    else:
        source = await ledger.account(db, ESCROW, intent.currency, owner_id=intent.payee_id)
    to_card = intent.method == "card" and await _card_still_bound(db, intent)
    row = PaymentRefund(intent_id=intent.id, amount=amount, reason=reason[:200], created_at=clock.utcnow(),
                        status=PROCESSING if to_card else SUCCEEDED, destination="card" if to_card else "wallet")
    db.add(row)
    await db.flush()
    assert intent.payer_id is not None
    if to_card:
        target = await ledger.account(db, BANK_CLEARING, intent.currency)
    else:
        target = await ledger.account(db, WALLET, intent.currency, owner_id=intent.payer_id)
    from_payee = amount - fee_back + sum(leg.amount for leg in shares_back)  # share legs are negative
    legs = [ledger.Leg(source.id, -from_payee), ledger.Leg(target.id, amount), *shares_back]
    if fee_back:
        legs.append(ledger.Leg((await ledger.account(db, FEES, intent.currency)).id, -fee_back))
    await ledger.post(db, kind="refund", currency=intent.currency, legs=legs, reference=f"refund:{row.id}",
                      memo=reason)
    if to_card:
        assert intent.card_id is not None
        await banking.open_operation(db, user_id=intent.payer_id, card_id=intent.card_id, kind=PAYOUT, purpose=REFUND,
                                     amount=amount, purpose_id=row.id)
    await jobs.publish(db, "payments.refund_created", {"refund_id": str(row.id), "intent_id": str(intent.id),
                                                       "amount": amount, "reference": intent.reference})
    return row


async def _shares_back(db: AsyncSession, intent: PaymentIntent, amount: int, left: int) -> list[ledger.Leg]:
    """The legs taking back others' cuts in proportion to a refund of `amount` out of `left`. A cut
    is taken back as far as its owner's wallet holds it (wallets never go negative, and a frozen
    one is not touched); the rest stays with the payee's part and is recorded as unrecovered."""
    legs = []
    for share in (await db.scalars(select(IntentShare).where(IntentShare.intent_id == intent.id)
                                   .order_by(IntentShare.owner_id))).all():
        outstanding = share.amount - share.amount_reversed - share.amount_unrecovered
        due = outstanding if amount == left else outstanding * amount // left
        if due <= 0:
            continue
        wallet = await ledger.account(db, WALLET, intent.currency, owner_id=share.owner_id)
        taken = 0 if wallet.frozen else min(due, await ledger.balance(db, wallet.id))
        share.amount_reversed += taken
        share.amount_unrecovered += due - taken
        if taken:
            legs.append(ledger.Leg(wallet.id, -taken))
    return legs


async def _card_still_bound(db: AsyncSession, intent: PaymentIntent) -> bool:
    try:
        await binding.own_card(db, user_id=intent.payer_id or 0, card_id=intent.card_id)
    except binding.CardNotFound:
        return False  # unbound since: the refund goes to the wallet
    return True


async def _card_refund_settled(db: AsyncSession, operation: BankOperation, succeeded: bool) -> None:
    row = await db.get(PaymentRefund, operation.purpose_id or 0)
    if row is None or row.status != PROCESSING:
        return
    row.status = SUCCEEDED
    if not succeeded:  # the card would not take it: the money goes to the payer's wallet instead
        row.destination = "wallet"
        clearing = await ledger.account(db, BANK_CLEARING, operation.currency)
        wallet = await ledger.account(db, WALLET, operation.currency, owner_id=operation.user_id)
        await ledger.move(db, kind="refund", source=clearing, target=wallet, amount=row.amount,
                          reference=f"refund:{row.id}", memo=row.reason)


banking.SETTLERS[INTENT] = _card_charge_settled
banking.SETTLERS[REFUND] = _card_refund_settled


async def refunds_of(db: AsyncSession, *, intent_id: int) -> list[PaymentRefund]:
    return list((await db.scalars(select(PaymentRefund).where(PaymentRefund.intent_id == intent_id)
                                  .order_by(PaymentRefund.id))).all())


async def list_for(db: AsyncSession, *, user_id: int, role: str = "any", limit: int = 20,
                   before: int | None = None) -> list[PaymentIntent]:
    """A user's payments: made (payer), received (payee), or both."""
    who = {"payer": PaymentIntent.payer_id == user_id, "payee": PaymentIntent.payee_id == user_id}.get(
        role, or_(PaymentIntent.payer_id == user_id, PaymentIntent.payee_id == user_id))
    query = select(PaymentIntent).where(who)
    if before is not None:
        query = query.where(PaymentIntent.id < before)
    return list((await db.scalars(query.order_by(PaymentIntent.id.desc()).limit(limit))).all())


async def refunded_of(db: AsyncSession, *, intent_ids: list[int]) -> dict[int, int]:
    """How much of each intent was refunded (for another context's reports: GMV net of refunds)."""
    if not intent_ids:
        return {}
    rows = await db.execute(select(PaymentIntent.id, PaymentIntent.amount_refunded)
                            .where(PaymentIntent.id.in_(intent_ids)))
    return {int(i): int(r) for i, r in rows.all()}
