"""Idempotency keys, the way Stripe does them: a client sends `Idempotency-Key` with a write
that moves money or creates an order and may retry it as often as it likes.

- same key, same body → the stored response, replayed (for 24 hours);
- same key, another body → 422 `idempotency.key_reused`;
- same key while the first request is still running → 409 `idempotency.in_flight`.

How it stays right through crashes: the key is claimed in a short transaction of its own
(`in_flight`, with a lease), then the business transaction does its work and marks the key
`done` with the response *in that same transaction* — both commit or neither does. A request
that fails with a domain error stores that error as its response (a retry gets the same
answer). A process that dies mid-request leaves the claim to lapse: after the lease a retry
takes it over, and since the dead transaction never committed, running the work again is safe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, Database, UTCDateTime, id_column, insert_ignore
from shua.core.errors import Conflict, InvalidRequest, ShuaError
from shua.core.ids import new_id

TTL = timedelta(hours=24)
LEASE = timedelta(seconds=60)  # how long a claim is honoured before a retry may take it over
IN_FLIGHT, DONE = "in_flight", "done"


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = id_column()
    scope: Mapped[str] = mapped_column(String(60))  # whose key and for what: "user:42:wallet.transfer"
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical request body
    state: Mapped[str] = mapped_column(String(10))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(BigInteger, default=1)


class KeyReused(InvalidRequest):
    code = "idempotency.key_reused"
    title = "This Idempotency-Key was used with a different request"


class InFlight(Conflict):
    code = "idempotency.in_flight"
    title = "A request with this Idempotency-Key is still being processed; retry shortly"


class InvalidKey(InvalidRequest):
    code = "idempotency.invalid_key"
    title = "Idempotency-Key must be 1–255 visible ASCII characters"


def fingerprint(body: Any) -> str:
    """The same request, whatever its key order or whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if key is None or not 1 <= len(key) <= 255 or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidKey()
    return key


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any
    replayed: bool


@dataclass(frozen=True)
class _Claim:
    id: int
    locked_at: datetime


async def _claim(database: Database, scope: str, key: str, print_: str) -> _Claim | Outcome:
    async with database.transaction() as db:
        now = clock.utcnow()
        await insert_ignore(db, IdempotencyKey, id=new_id(), scope=scope, key=key, fingerprint=print_,
                            state=IN_FLIGHT, locked_at=now, created_at=now, expires_at=now + TTL, attempts=0)
        row = await db.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
                              .with_for_update())
        assert row is not None
        if row.expires_at <= now:  # an old key: start afresh
            row.fingerprint, row.state, row.response_status, row.response_body = print_, IN_FLIGHT, None, None
            row.created_at, row.expires_at, row.attempts = now, now + TTL, 0
        elif row.fingerprint != print_:
            raise KeyReused()
        elif row.state == DONE:
            return Outcome(status=row.response_status or 200, body=row.response_body, replayed=True)
        elif row.attempts > 0 and row.locked_at > now - LEASE:
            raise InFlight()
        row.locked_at, row.attempts = now, row.attempts + 1  # ours now (first try, or a lapsed one)
        return _Claim(row.id, now)


async def _finish(db: AsyncSession, claim: _Claim, status: int, body: Any) -> None:
    done = await db.execute(update(IdempotencyKey).where(
        IdempotencyKey.id == claim.id, IdempotencyKey.state == IN_FLIGHT, IdempotencyKey.locked_at == claim.locked_at,
    ).values(state=DONE, response_status=status, response_body=body))
    if not getattr(done, "rowcount", 0):
        # Our lease lapsed and another attempt took the key over: let this transaction roll back.
        raise InFlight()


async def run(database: Database, *, scope: str, key: str, body: Any,
              work: Callable[[AsyncSession], Awaitable[tuple[int, Any]]]) -> Outcome:
    """Do `work` (which returns the response's status and JSON body) at most once per key: its
    transaction also records the response, so a committed result is always found by a retry."""
    claim = await _claim(database, scope, check_key(key), fingerprint(body))
    if isinstance(claim, Outcome):
        return claim
    try:
        async with database.transaction() as db:
            status, response = await work(db)
            await _finish(db, claim, status, response)
        return Outcome(status=status, body=response, replayed=False)
    except InFlight:
        raise
    except ShuaError as error:
        # A definite answer (insufficient funds, a frozen account): the same retry gets the same.
        async with database.transaction() as db:
            await _finish(db, claim, error.status, {"code": error.code, "title": error.title,
                                                    "detail": error.message, **error.details})
        raise
    except BaseException:
        # Anything else (a bug, a lost connection, cancellation): nothing was committed; free the
        # key so a retry runs the work instead of waiting out the lease.
        async with database.transaction() as db:
            await db.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim.id,
                                                          IdempotencyKey.locked_at == claim.locked_at,
                                                          IdempotencyKey.state == IN_FLIGHT))
        raise


async def purge_expired(db: AsyncSession, *, limit: int = 10_000) -> int:
    ids = list((await db.scalars(select(IdempotencyKey.id).where(IdempotencyKey.expires_at <= clock.utcnow())
                                 .limit(limit))).all())
    if ids:
        await db.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))
    return len(ids)
