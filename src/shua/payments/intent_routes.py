"""Payment intents over HTTP — a payment request (收款) anyone holding its link can pay, paid
with the wallet or a bound card, released from escrow by the payer, refunded by the payee —
and the bank's webhook endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.core.ids import ID
from shua.core.text import Line
from shua.payments import banking, intents, pin
from shua.payments.connectors import bank_of
from shua.payments.models import PaymentIntent, PaymentRefund
from shua.payments.routes import PROBLEMS, Amount, Party, Pin
from shua.web.deps import DB, CurrentAuth, RuntimeDep, StreamingAuth
from shua.web.idempotent import IdempotencyKeyHeader, respond

router = APIRouter(prefix="/api/v1/payments", tags=["payments"])
Secret = Annotated[str, Field(min_length=1, max_length=64)]


class IntentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount
    description: Line(200) = ""  # type: ignore[valid-type]


class IntentConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["wallet", "card"]
    card_id: ID | None = Field(default=None, description="With method=card")
    pin: Pin
    secret: Secret | None = Field(default=None, description="The link's secret, when paying someone's request")


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount | None = Field(default=None, description="Omit to refund all that is left")
    reason: Line(200) = ""  # type: ignore[valid-type]


class RefundRead(BaseModel):
    id: ID
    amount: int
    reason: str
    status: str = Field(description="processing (back to a card) or succeeded")
    destination: str = Field(description="wallet or card")
    created_at: datetime


class IntentRead(BaseModel):
    id: ID
    amount: int
    currency: str
    description: str
    status: str = Field(description="requires_confirmation → processing → succeeded | failed | canceled")
    method: str | None
    failure_code: str | None
    amount_refunded: int
    fee: int
    released: bool = Field(description="Paid out of escrow to the payee")
    payer_releases: bool = Field(description="The payer releases it (a payment request); an order's goes with "
                                             "the order")
    payee: Party | None
    payer: Party | None
    you_are: str = Field(description="payee, payer, or viewer (holding the link)")
    link: str | None = Field(description="For the payee of an open request: the page where it is paid")
    refunds: list[RefundRead]
    created_at: datetime


def refund_read(row: PaymentRefund) -> RefundRead:
    return RefundRead(id=row.id, amount=row.amount, reason=row.reason, status=row.status,
                      destination=row.destination, created_at=row.created_at)


async def intent_read(db: AsyncSession, intent: PaymentIntent, user_id: int) -> IntentRead:
    users = await accounts.users_by_id(db, ids=[i for i in (intent.payee_id, intent.payer_id) if i])

    def party(user_id: int | None) -> Party | None:
        found = users.get(user_id or 0)
        return Party(id=found.id, handle=found.handle, nickname=found.nickname) if found else None

    you = "payee" if user_id == intent.payee_id else "payer" if user_id == intent.payer_id else "viewer"
    link = f"/pay/{intent.id}?s={intent.secret}" if you == "payee" and intent.payer_id is None else None
    return IntentRead(id=intent.id, amount=intent.amount, currency=intent.currency, description=intent.description,
                      status=intent.status, method=intent.method, failure_code=intent.failure_code,
                      amount_refunded=intent.amount_refunded, fee=intent.fee, released=intent.released_at is not None,
                      payer_releases=intent.auto_release,
                      payee=party(intent.payee_id), payer=party(intent.payer_id), you_are=you, link=link,
                      refunds=[refund_read(r) for r in await intents.refunds_of(db, intent_id=intent.id)],
                      created_at=intent.created_at)


@router.post("/intents", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_intent(body: IntentCreate, auth: CurrentAuth, db: DB) -> IntentRead:
    """Ask to be paid (收款): an open payment anyone you send its `link` to can pay."""
    intent = await intents.create(db, payee_id=auth.user.id, amount=body.amount, description=body.description)
    return await intent_read(db, intent, auth.user.id)


@router.get("/intents", responses=PROBLEMS)
async def list_intents(auth: CurrentAuth, db: DB, role: Literal["payer", "payee", "any"] = "any",
                       before: ID | None = None, limit: Annotated[int, Query(ge=1, le=50)] = 20) -> list[IntentRead]:
    """Payments you made or received, newest first."""
    found = await intents.list_for(db, user_id=auth.user.id, role=role, before=before, limit=limit)
    return [await intent_read(db, i, auth.user.id) for i in found]


@router.get("/intents/{intent_id}", responses=PROBLEMS)
async def read_intent(intent_id: ID, auth: CurrentAuth, db: DB,
                      s: Annotated[str | None, Query(max_length=64, description="The link's secret")] = None,
                      ) -> IntentRead:
    """A payment you are part of, or an open request whose link you hold; any other id is 404."""
    intent = await intents.readable(db, user_id=auth.user.id, intent_id=intent_id, secret=s)
    return await intent_read(db, intent, auth.user.id)


@router.post("/intents/{intent_id}/confirmation", response_model=IntentRead, responses=PROBLEMS)
async def confirm_intent(intent_id: ID, body: IntentConfirm, request: Request, auth: StreamingAuth,
                         runtime: RuntimeDep, idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Pay it: from the wallet at once, or by card (`processing` until the bank answers)."""
    await runtime.limiter.hit(runtime.settings.payment_rate, "payment", str(auth.user.id))
    await pin.verify(runtime.database, user_id=auth.user.id, pin=body.pin)

    async def work(db: AsyncSession) -> tuple[int, Any]:
        intent = await intents.confirm(db, user_id=auth.user.id, intent_id=intent_id, method=body.method,
                                       card_id=body.card_id, secret=body.secret)
        return 200, (await intent_read(db, intent, auth.user.id)).model_dump(mode="json")

    return await respond(request, runtime, user_id=auth.user.id, action=f"intent.confirm:{intent_id}",
                         key=idempotency_key, body=body.model_dump(mode="json", exclude={"pin"}), work=work)


@router.post("/intents/{intent_id}/cancellation", responses=PROBLEMS)
async def cancel_intent(intent_id: ID, auth: CurrentAuth, db: DB) -> IntentRead:
    """Withdraw a request nobody has paid yet (payee) or decline to pay it (payer)."""
    return await intent_read(db, await intents.cancel(db, user_id=auth.user.id, intent_id=intent_id), auth.user.id)


@router.post("/intents/{intent_id}/release", responses=PROBLEMS)
async def release_intent(intent_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> IntentRead:
    """The payer confirms (确认收货): the money leaves escrow for the payee, less the platform's
    fee. Without it, escrow ends by itself after a week."""
    intent = await intents.release(db, intent_id=intent_id, user_id=auth.user.id,
                                   fee_bps=runtime.settings.platform_fee_bps)
    return await intent_read(db, intent, auth.user.id)


@router.post("/intents/{intent_id}/refunds", status_code=status.HTTP_201_CREATED, response_model=RefundRead,
             responses=PROBLEMS)
async def refund_intent(intent_id: ID, body: RefundCreate, request: Request, auth: StreamingAuth,
                        runtime: RuntimeDep, idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Give back all or part of a payment you received; never more than was paid."""
    await runtime.limiter.hit(runtime.settings.payment_rate, "payment", str(auth.user.id))

    async def work(db: AsyncSession) -> tuple[int, Any]:
        row = await intents.refund(db, intent_id=intent_id, amount=body.amount, reason=body.reason,
                                   user_id=auth.user.id)
        return 201, refund_read(row).model_dump(mode="json")

    return await respond(request, runtime, user_id=auth.user.id, action=f"intent.refund:{intent_id}",
                         key=idempotency_key, body=body.model_dump(mode="json"), work=work)


class WebhookAnswer(BaseModel):
    result: str = Field(description="applied, duplicate, stale or unknown")


@router.post("/bank/webhooks", responses=PROBLEMS, openapi_extra={"requestBody": {
    "content": {"application/json": {"schema": {"type": "object"}}}, "required": True}})
async def bank_webhook(request: Request, runtime: RuntimeDep) -> WebhookAnswer:
    """Where the bank reports how an operation ended. Signed (`Shua-Bank-Signature`); a repeat
    or a late webhook changes nothing."""
    bank = bank_of(runtime)
    body = await request.body()
    result = await banking.receive_webhook(runtime.database, secret=bank.secret, body=body,
                                           header=request.headers.get("shua-bank-signature"))
    return WebhookAnswer(result=result)
