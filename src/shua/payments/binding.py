"""Binding a bank card (绑卡): the number is checked and handed to the bank connector for a
token, then the binding waits for the 6-digit code sent to the card's phone. One card may be
bound by one user at a time; a user may unbind it and choose which card pays first."""

from __future__ import annotations

import hmac
import secrets
from datetime import date, timedelta
from hashlib import sha256

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock
from shua.core.db import Database
from shua.core.errors import Conflict, Forbidden, InvalidRequest, NotFound
from shua.core.ids import new_id, parse_id
from shua.core.notify import Notifier
from shua.payments import cards
from shua.payments.bank import BankConnector
from shua.payments.models import ACTIVE, PENDING, REMOVED, PaymentCard

CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5
MAX_CARDS = 10


class CardNotFound(NotFound):
    code = "payments.card_not_found"
    title = "No such card"


class CardAlreadyBound(Conflict):
    code = "payments.card_already_bound"
    title = "This card is already bound to your account"


class CardBoundElsewhere(Conflict):
    code = "payments.card_bound_elsewhere"
    title = "This card is bound to another account"


class TooManyCards(Conflict):
    code = "payments.too_many_cards"
    title = "Unbind a card before binding another"


class CodeWrong(InvalidRequest):
    code = "payments.code_wrong"
    title = "The verification code is wrong"


class CodeExpired(Forbidden):
    code = "payments.code_expired"
    title = "The verification code has expired or was tried too often: start again"


def _code_digest(secret: str, card_id: int, code: str) -> str:
    return hmac.new(secret.encode(), f"card-code:{card_id}:{code}".encode(), sha256).hexdigest()


def masked_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


async def start(db: AsyncSession, *, bank: BankConnector, notifier: Notifier, secret: str, user_id: int,
                number: str, holder: str, phone: str, expiry_month: int, expiry_year: int,
                today: date | None = None) -> PaymentCard:
    """Check the card, get the bank's token, keep brand and last four, send the code."""
    checked = cards.check(number, expiry_month, expiry_year, today=today or clock.utcnow().date())
    mark = cards.fingerprint(secret, checked.digits)
    bound = await db.scalar(select(PaymentCard).where(PaymentCard.fingerprint == mark, PaymentCard.status == ACTIVE))
    if bound is not None:
        raise CardAlreadyBound() if bound.user_id == user_id else CardBoundElsewhere()
    active = list((await db.scalars(select(PaymentCard.id).where(PaymentCard.user_id == user_id,
                                                                  PaymentCard.status == ACTIVE))).all())
    if len(active) >= MAX_CARDS:
        raise TooManyCards()
    # Unfinished attempts at the same card are replaced by this one.
    await db.execute(update(PaymentCard).where(PaymentCard.user_id == user_id, PaymentCard.fingerprint == mark,
                                               PaymentCard.status == PENDING).values(status=REMOVED))
    token = await bank.tokenize(checked.digits, holder)
    card = PaymentCard(id=new_id(), user_id=user_id, token=token, fingerprint=mark, brand=checked.brand,
                       last4=checked.last4, holder=holder, phone=phone, expiry_month=checked.expiry_month,
                       expiry_year=checked.expiry_year, status=PENDING, preferred=False, code_attempts=0,
                       created_at=clock.utcnow())
    code = f"{secrets.randbelow(10**6):06d}"
    card.code_digest = _code_digest(secret, card.id, code)
    card.code_expires_at = clock.utcnow() + CODE_TTL
    db.add(card)
    await notifier.send(db, to=phone, text=(
        f"【刷刷支付】验证码 {code}，用于绑定尾号 {checked.last4} 的银行卡，10 分钟内有效。"
        f" Shua Pay code {code} for the card ending {checked.last4}."))
    return card


async def own_card(db: AsyncSession, *, user_id: int, card_id: object, status: str | None = ACTIVE) -> PaymentCard:
    parsed = parse_id(card_id)
    card = await db.get(PaymentCard, parsed) if parsed else None
    if card is None or card.user_id != user_id or card.status == REMOVED or (status and card.status != status):
        raise CardNotFound()
    return card


async def confirm(database: Database, *, secret: str, user_id: int, card_id: object, code: str) -> PaymentCard:
    """The code came back: the card is bound (and pays first if it is the user's only card).
    A wrong code is counted in a transaction of its own before the answer; five end the attempt."""
    async with database.transaction() as db:
        card = await own_card(db, user_id=user_id, card_id=card_id, status=PENDING)
        if card.code_expires_at is None or card.code_expires_at <= clock.utcnow() \
                or card.code_attempts >= CODE_ATTEMPTS:
            raise CodeExpired()
        right = hmac.compare_digest(card.code_digest or "", _code_digest(secret, card.id, code))
        if not right:
            card.code_attempts += 1
            left = CODE_ATTEMPTS - card.code_attempts
    if not right:
        raise CodeWrong(attempts_left=left)
    async with database.transaction() as db:
        card = await own_card(db, user_id=user_id, card_id=card_id, status=PENDING)
        if await db.scalar(select(PaymentCard.id).where(PaymentCard.fingerprint == card.fingerprint,
                                                        PaymentCard.status == ACTIVE)) is not None:
            raise CardBoundElsewhere()  # someone finished binding the same card first
        others = await db.scalar(select(PaymentCard.id).where(PaymentCard.user_id == user_id,
                                                               PaymentCard.status == ACTIVE))
        card.status, card.verified_at, card.code_digest = ACTIVE, clock.utcnow(), None
        card.preferred = others is None
        try:
            await db.flush()  # the unique index on active fingerprints decides a race between two users
        except IntegrityError as exc:
            raise CardBoundElsewhere() from exc
    return card


async def unbind(db: AsyncSession, *, user_id: int, card_id: object) -> None:
    card = await own_card(db, user_id=user_id, card_id=card_id, status=None)
    was_preferred, card.status, card.preferred = card.preferred, REMOVED, False
    if was_preferred:
        nxt = await db.scalar(select(PaymentCard).where(PaymentCard.user_id == user_id, PaymentCard.status == ACTIVE)
                              .order_by(PaymentCard.verified_at))
        if nxt is not None:
            nxt.preferred = True


async def prefer(db: AsyncSession, *, user_id: int, card_id: object) -> PaymentCard:
    card = await own_card(db, user_id=user_id, card_id=card_id)
    await db.execute(update(PaymentCard).where(PaymentCard.user_id == user_id, PaymentCard.id != card.id)
                     .values(preferred=False))
    card.preferred = True
    return card


async def list_cards(db: AsyncSession, *, user_id: int) -> list[PaymentCard]:
    return list((await db.scalars(select(PaymentCard).where(PaymentCard.user_id == user_id,
                                                            PaymentCard.status == ACTIVE)
                                  .order_by(PaymentCard.preferred.desc(), PaymentCard.verified_at))).all())
