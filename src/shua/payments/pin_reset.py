"""Forgot the payment password, or locked it out: a 6-digit code goes to the phone of the
user's preferred bound card (the phone the bank knows — a second factor a thief with only the
login does not have); the code and a new password set it and lift the lock. Five wrong codes
end the attempt, counted in their own transaction like every guess."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from shua.core import clock, security
from shua.core.db import Database
from shua.core.errors import Conflict, Forbidden, InvalidRequest
from shua.core.notify import Notifier
from shua.payments import binding
from shua.payments.pin import PaymentPassword, PinNotSet, check_format

CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5


class ResetNeedsCard(Conflict):
    code = "payments.pin_reset_needs_card"
    title = "Bind a bank card first: the reset code goes to its phone"


class ResetCodeWrong(InvalidRequest):
    code = "payments.pin_reset_code_wrong"
    title = "Wrong code"


class ResetCodeExpired(Forbidden):
    code = "payments.pin_reset_code_expired"
    title = "This code has expired or was tried too often; ask for a new one"


def _digest(secret: str, user_id: int, code: str) -> str:
    return hmac.new(secret.encode(), f"pin-reset:{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


async def start(database: Database, *, notifier: Notifier, secret: str, user_id: int) -> str:
    """Send the code; returns the masked phone it went to."""
    async with database.transaction() as db:
        row = await db.get(PaymentPassword, user_id)
        if row is None:
            raise PinNotSet()
        cards = await binding.list_cards(db, user_id=user_id)
        if not cards:
            raise ResetNeedsCard()
        card = cards[0]  # the preferred one comes first
        code = f"{secrets.randbelow(10**6):06d}"
        row.reset_digest, row.reset_attempts = _digest(secret, user_id, code), 0
        row.reset_expires_at = clock.utcnow() + CODE_TTL
        await notifier.send(db, to=card.phone, text=(
            f"【刷刷支付】验证码 {code}，用于重设支付密码，10 分钟内有效。如非本人操作请忽略。"
            f" Shua Pay code {code} to reset your payment password."))
        return binding.masked_phone(card.phone)


async def confirm(database: Database, *, secret: str, user_id: int, code: str, pin: str) -> None:
    check_format(pin)
    async with database.transaction() as db:
        row = await db.get(PaymentPassword, user_id)
        if row is None:
            raise PinNotSet()
        if row.reset_digest is None or row.reset_expires_at is None or row.reset_expires_at <= clock.utcnow() \
                or row.reset_attempts >= CODE_ATTEMPTS:
            raise ResetCodeExpired()
        right = hmac.compare_digest(row.reset_digest, _digest(secret, user_id, code))
        if not right:
            row.reset_attempts += 1
            left = CODE_ATTEMPTS - row.reset_attempts
    if not right:
        raise ResetCodeWrong(attempts_left=left)
    hashed = await security.hash_password(pin)
    async with database.transaction() as db:
        row = await db.get(PaymentPassword, user_id)
        assert row is not None
        row.password_hash, row.failed_attempts, row.locked_until = hashed, 0, None
        row.reset_digest, row.reset_expires_at, row.reset_attempts = None, None, 0
        row.updated_at = clock.utcnow()
