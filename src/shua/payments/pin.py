"""The 6-digit payment password (支付密码) that confirms every payment. Hashed like a login
password (argon2id); weak ones (one digit repeated, a run like 123456) refused; five wrong tries
lock it for an hour, and the count survives the failed request (each check commits its own
transaction, so a caller rolling back cannot reset it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock, security
from shua.core.db import Base, Database, UTCDateTime
from shua.core.errors import Forbidden, InvalidRequest, NotFound

MAX_ATTEMPTS = 5
LOCKOUT = timedelta(hours=1)


class PaymentPassword(Base):
    __tablename__ = "payment_passwords"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    # Forgotten or locked: a code sent to a bound card's phone lets its owner set a new one.
    reset_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reset_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reset_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PinInvalid(InvalidRequest):
    code = "payments.pin_invalid"
    title = "The payment password is 6 digits, not one digit repeated and not a run like 123456"


class PinNotSet(NotFound):
    code = "payments.pin_not_set"
    title = "Set a payment password first"


class PinWrong(Forbidden):
    code = "payments.pin_wrong"
    title = "Wrong payment password"


class PinLocked(Forbidden):
    code = "payments.pin_locked"
    title = "Too many wrong payment passwords: locked for now"


def check_format(pin: str) -> str:
    if not (len(pin) == 6 and pin.isascii() and pin.isdigit()):
        raise PinInvalid()
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    if len(set(pin)) == 1 or steps in ({1}, {-1}):
        raise PinInvalid(reason="too easy to guess")
    return pin


async def set_pin(database: Database, *, user_id: int, pin: str, current: str | None = None) -> None:
    """Set the payment password; changing it takes the current one (checked like any use)."""
    check_format(pin)
    async with database.transaction(write=False) as db:
        exists = await db.get(PaymentPassword, user_id) is not None
    if exists:
        await verify(database, user_id=user_id, pin=current or "")
    hashed = await security.hash_password(pin)
    async with database.transaction() as db:
        row = await db.get(PaymentPassword, user_id)
        if row is None:
            db.add(PaymentPassword(user_id=user_id, password_hash=hashed, failed_attempts=0, updated_at=clock.utcnow()))
        else:
            row.password_hash, row.failed_attempts, row.locked_until = hashed, 0, None
            row.updated_at = clock.utcnow()


async def verify(database: Database, *, user_id: int, pin: str) -> None:
    """Raise unless `pin` is the user's payment password and it is not locked."""
    async with database.transaction(write=False) as db:
        row = await db.get(PaymentPassword, user_id)
    if row is None:
        raise PinNotSet()
    now = clock.utcnow()
    if row.locked_until is not None and row.locked_until > now:
        raise PinLocked(until=row.locked_until.isoformat())
    if await security.verify_password(row.password_hash, pin):
        if row.failed_attempts or row.locked_until:
            async with database.transaction() as db:
                fresh = await db.get(PaymentPassword, user_id)
                if fresh is not None:
                    fresh.failed_attempts, fresh.locked_until = 0, None
        return
    async with database.transaction() as db:  # committed before we answer: a retry sees the count
        fresh = await db.get(PaymentPassword, user_id)
        assert fresh is not None
        if fresh.locked_until is not None and fresh.locked_until <= now:
            fresh.failed_attempts, fresh.locked_until = 0, None  # the last lock ran out: count afresh
        fresh.failed_attempts += 1
        left = MAX_ATTEMPTS - fresh.failed_attempts
        if left <= 0:
            fresh.locked_until = now + LOCKOUT
    if left <= 0:
        raise PinLocked(until=(now + LOCKOUT).isoformat())
    raise PinWrong(attempts_left=left)
