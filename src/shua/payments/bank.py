"""The bank connector: how Shua Pay charges a bound card (a top-up), pays out to one (a
withdrawal) and hears back. Banks answer asynchronously — an operation is `pending` until a
webhook says `succeeded` or `failed` — and their webhooks are signed, may arrive twice, late, or
out of order. The built-in simulated bank behaves that way so the demo and the tests exercise
the real flow; a real bank plugs in behind the same interface.

Webhook signatures (the scheme Stripe uses): header `Shua-Bank-Signature: t=<unix>,v1=<hex>`,
v1 = HMAC-SHA256(secret, "<t>.<raw body>"); a signature older than the tolerance is refused,
so a captured webhook cannot be replayed later (and event ids are kept to ignore repeats).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import select

from shua.core import clock, jobs
from shua.core.db import Database, insert_ignore
from shua.core.errors import InvalidRequest
from shua.payments.models import SimulatedBankOperation

SIGNATURE_HEADER = "Shua-Bank-Signature"
TOLERANCE_SECONDS = 300

Outcome = Literal["succeeded", "failed"]


class WebhookSignatureInvalid(InvalidRequest):
    code = "payments.webhook_signature_invalid"
    title = "The webhook's signature does not verify"
    status = 400


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str | None, *, now: float, tolerance: int = TOLERANCE_SECONDS) -> None:
    """Raise unless `header` is a fresh signature of exactly `body` by `secret`."""
    if not header:
        raise WebhookSignatureInvalid(reason="missing")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    stamp = (parts.get("t") or [""])[0]
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise WebhookSignatureInvalid(reason="timestamp")
    if abs(now - int(stamp)) > tolerance:
        raise WebhookSignatureInvalid(reason="stale")
    expected = sign(secret, body, int(stamp)).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise WebhookSignatureInvalid(reason="mismatch")


@dataclass(frozen=True)
class Operation:
    """What the bank said when asked: its own id, and `pending` (a webhook will follow)."""

    bank_ref: str
    status: Literal["pending", "failed"]
    failure_code: str | None = None


@dataclass(frozen=True)
class ReportLine:
    """One settled operation in the bank's daily report."""

    bank_ref: str
    reference: str
    kind: str
    amount: int
    currency: str


class BankConnector(Protocol):
    """What Shua Pay needs of a bank. `charge`/`payout` must treat one `reference` as one
    operation (a resubmission after a crash returns the first answer)."""

    secret: str  # signs its webhooks

    async def tokenize(self, digits: str, holder: str) -> str: ...
    async def charge(self, *, token: str, amount: int, currency: str, reference: str) -> Operation: ...
    async def payout(self, *, token: str, amount: int, currency: str, reference: str) -> Operation: ...
    async def report(self, day: date) -> list[ReportLine]: ...


# The simulated bank's test cards, by their last four digits (any valid number ending so).
DECLINES = {"0002": "card_declined", "9995": "insufficient_funds", "0119": "processing_error"}
LIMIT = 5_000_000  # fen: the simulated bank refuses a single charge above 50,000 yuan
DELIVER_TASK = "payments.simbank_deliver"


@dataclass
class Webhook:
    event_id: str
    body: bytes
    header: str


@dataclass
class SimulatedBank:
    """A bank for the demo and the tests that behaves like a real one over the network: it
    keeps its own book (a table it alone writes, so API and worker processes share it), answers
    `pending` at once and settles by a signed webhook delivered later by a job — after a random
    delay of up to `delay` seconds (so a batch arrives out of order) and, with chance
    `duplicate`, twice. Declines by test card, by chance (`decline`) and above a per-charge limit. One reference is one
    operation: asking again returns the first answer (what makes resubmitting safe)."""

    secret: str
    database: Database
    delay: float = 0.0
    duplicate: float = 0.0
    decline: float = 0.0  # chance any operation is declined ("card_declined"), on top of the test cards
    rng: random.Random = field(default_factory=random.Random)

    async def tokenize(self, digits: str, holder: str) -> str:
        # The token carries the test card's last four, so the bank can tell how to treat it.
        return f"card_{digits[-4:]}_{secrets.token_hex(10)}"

    def _decide(self, token: str, amount: int) -> str | None:
        found = re.fullmatch(r"card_(\d{4})_[0-9a-f]{20}", token)
        if found is None:
            return "unknown_card"
        if amount > LIMIT:
            return "limit_exceeded"
        if self.decline and self.rng.random() < self.decline:
            return "card_declined"
        return DECLINES.get(found.group(1))

    async def charge(self, *, token: str, amount: int, currency: str, reference: str) -> Operation:
        return await self._start("charge", token, amount, currency, reference)

    async def payout(self, *, token: str, amount: int, currency: str, reference: str) -> Operation:
        return await self._start("payout", token, amount, currency, reference)

    async def _start(self, kind: str, token: str, amount: int, currency: str, reference: str) -> Operation:
        failure = self._decide(token, amount)
        if failure == "unknown_card":
            return Operation(bank_ref=f"sim_{kind}_rejected", status="failed", failure_code=failure)
        async with self.database.transaction() as db:
            now = clock.utcnow()
            first = await insert_ignore(db, SimulatedBankOperation, bank_ref=f"sim_{kind}_{secrets.token_hex(8)}",
                                reference=reference, kind=kind, amount=amount, currency=currency,
                                outcome="failed" if failure else "succeeded", failure_code=failure,
                                created_at=now, settled_at=now + timedelta(seconds=self.delay))
            book = await db.scalar(select(SimulatedBankOperation)
                                   .where(SimulatedBankOperation.reference == reference))
            assert book is not None
            if first:  # asked for the first time: its webhook (maybe two) will follow
                event_id = f"evt_{secrets.token_hex(8)}"
                for _ in range(2 if self.rng.random() < self.duplicate else 1):
                    await jobs.enqueue(db, DELIVER_TASK, {"bank_ref": book.bank_ref, "event_id": event_id},
                                       run_at=now + timedelta(seconds=self.rng.uniform(0, self.delay)))
            return Operation(bank_ref=book.bank_ref, status="pending")

    async def webhook(self, bank_ref: str, event_id: str, *, now: int) -> Webhook:
        """The signed webhook that settles one operation of the book."""
        async with self.database.transaction(write=False) as db:
            book = await db.get(SimulatedBankOperation, bank_ref)
        if book is None:
            raise LookupError(bank_ref)
        payload: dict[str, Any] = {"id": event_id, "type": f"operation.{book.outcome}", "bank_ref": book.bank_ref,
                                   "reference": book.reference, "amount": book.amount, "currency": book.currency,
                                   "failure_code": book.failure_code, "created": now}
        body = json.dumps(payload, separators=(",", ":")).encode()
        return Webhook(event_id=event_id, body=body, header=sign(self.secret, body, now))

    async def report(self, day: date) -> list[ReportLine]:
        """What the bank settled on `day` (UTC): the statement reconciliation checks us against."""
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        async with self.database.transaction(write=False) as db:
            book = SimulatedBankOperation
            rows = (await db.scalars(select(book).where(
                book.settled_at >= start, book.settled_at < start + timedelta(days=1), book.outcome == "succeeded",
            ).order_by(book.settled_at))).all()
        return [ReportLine(bank_ref=r.bank_ref, reference=r.reference, kind=r.kind, amount=r.amount,
                           currency=r.currency) for r in rows]
