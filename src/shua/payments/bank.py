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
from typing import Any, Literal, Protocol

from shua.core.errors import InvalidRequest

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


class BankConnector(Protocol):
    async def tokenize(self, digits: str, holder: str) -> str: ...
    async def charge(self, *, token: str, amount: int, currency: str, reference: str) -> Operation: ...
    async def payout(self, *, token: str, amount: int, currency: str, reference: str) -> Operation: ...


# The simulated bank's test cards, by their last four digits (any valid number ending so).
DECLINES = {"0002": "card_declined", "9995": "insufficient_funds", "0119": "processing_error"}
LIMIT = 5_000_000  # fen: the simulated bank refuses a single charge above 50,000 yuan


@dataclass
class Webhook:
    event_id: str
    body: bytes
    header: str


@dataclass
class SimulatedBank:
    """A bank in memory, for the demo and the tests: cards by token, operations that settle by
    webhook, declines by test card, and (when asked) webhooks delivered twice or out of order."""

    secret: str
    duplicate: float = 0.0  # chance each webhook is delivered twice
    shuffle: bool = False  # deliver a batch in random order
    rng: random.Random = field(default_factory=random.Random)
    outbox: list[tuple[str, Outcome, int, str, str | None]] = field(default_factory=list)

    async def tokenize(self, digits: str, holder: str) -> str:
        # The token carries the test card's last four, so any process (API or worker) can tell
        # how the simulated bank treats it without shared memory.
        return f"card_{digits[-4:]}_{secrets.token_hex(10)}"

    def _decide(self, token: str, amount: int) -> str | None:
        found = re.fullmatch(r"card_(\d{4})_[0-9a-f]{20}", token)
        if found is None:
            return "unknown_card"
        last4 = found.group(1)
        if amount > LIMIT:
            return "limit_exceeded"
        return DECLINES.get(last4)

    async def charge(self, *, token: str, amount: int, currency: str, reference: str) -> Operation:
        return self._start("charge", token, amount, reference)

    async def payout(self, *, token: str, amount: int, currency: str, reference: str) -> Operation:
        return self._start("payout", token, amount, reference)

    def _start(self, kind: str, token: str, amount: int, reference: str) -> Operation:
        bank_ref = f"sim_{kind}_{secrets.token_hex(8)}"
        failure = self._decide(token, amount)
        if failure == "unknown_card":
            return Operation(bank_ref=bank_ref, status="failed", failure_code=failure)
        self.outbox.append((bank_ref, "failed" if failure else "succeeded", amount, reference, failure))
        return Operation(bank_ref=bank_ref, status="pending")

    def deliver(self, *, now: int) -> list[Webhook]:
        """The webhooks due now, signed, in the order (and with the repeats) a real bank might send."""
        hooks = []
        for bank_ref, outcome, amount, reference, failure in self.outbox:
            payload: dict[str, Any] = {"id": f"evt_{secrets.token_hex(8)}", "type": f"operation.{outcome}",
                                       "bank_ref": bank_ref, "reference": reference, "amount": amount,
                                       "failure_code": failure, "created": now}
            body = json.dumps(payload, separators=(",", ":")).encode()
            hook = Webhook(event_id=payload["id"], body=body, header=sign(self.secret, body, now))
            hooks.append(hook)
            if self.rng.random() < self.duplicate:
                hooks.append(hook)
        self.outbox.clear()
        if self.shuffle:
            self.rng.shuffle(hooks)
        return hooks
