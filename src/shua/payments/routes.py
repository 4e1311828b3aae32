"""The wallet over HTTP: balance, bank cards (bound with the code sent to the card's phone),
the payment password, top-ups and withdrawals, paying another user, the history, receipts and
monthly statements. Everything that moves money takes an `Idempotency-Key` and the payment
password."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.core.errors import InvalidRequest, NotFound
from shua.core.ids import ID
from shua.core.text import Line
from shua.payments import banking, binding, ledger, pin, pin_reset, wallet
from shua.payments.connectors import bank_of, notifier_of
from shua.payments.models import WALLET, BankOperation, PaymentCard
from shua.runtime import Runtime
from shua.web.deps import DB, CurrentAuth, RuntimeDep, StreamingAuth
from shua.web.idempotent import IdempotencyKeyHeader, respond

router = APIRouter(prefix="/api/v1/wallet", tags=["wallet"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}}
    for code in (400, 401, 402, 403, 404, 409, 422, 429)
}

CardNumber = Annotated[str, StringConstraints(min_length=12, max_length=30, pattern=r"^[0-9 \-]+$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{7,15}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Pin = Annotated[str, StringConstraints(min_length=1, max_length=12)]
Amount = Annotated[int, Field(gt=0, le=ledger.MAX_AMOUNT, description="Minor units (fen): 1234 is ¥12.34")]
Month = Annotated[str, StringConstraints(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]


class CardCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: CardNumber = Field(description="As printed; spaces and dashes are fine. Never stored.")
    holder: Line(60, min_length=1)  # type: ignore[valid-type]
    phone: Phone = Field(description="The phone the bank knows for this card: the code goes there")
    expiry_month: int = Field(ge=1, le=12)
    expiry_year: int = Field(ge=2000, le=2100)


class CardConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code


class CardRead(BaseModel):
    id: ID
    brand: str
    last4: str
    holder: str
    phone: str = Field(description="Masked: 138****5678")
    expiry: str = Field(description="MM/YYYY")
    status: str = Field(description="pending (waiting for the code) or active")
    preferred: bool
    created_at: datetime


class PinUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: Pin
    current: Pin | None = None


class PinReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    pin: Pin


class PinResetSent(BaseModel):
    phone: str = Field(description="Where the code went, masked")


class WalletRead(BaseModel):
    currency: str
    balance: int = Field(description="Minor units (fen)")
    cards: int
    pin_set: bool


def card_read(card: PaymentCard) -> CardRead:
    return CardRead(id=card.id, brand=card.brand, last4=card.last4, holder=card.holder,
                    phone=binding.masked_phone(card.phone), expiry=f"{card.expiry_month:02d}/{card.expiry_year}",
                    status=card.status, preferred=card.preferred, created_at=card.created_at)


@router.get("", responses=PROBLEMS)
async def read_wallet(auth: CurrentAuth, db: DB) -> WalletRead:
    """Your wallet: balance, how many cards are bound, whether a payment password is set."""
    wallet = await ledger.find_account(db, WALLET, owner_id=auth.user.id)
    return WalletRead(currency="CNY", balance=wallet.balance if wallet else 0,
                      cards=len(await binding.list_cards(db, user_id=auth.user.id)),
                      pin_set=await db.get(pin.PaymentPassword, auth.user.id) is not None)


@router.get("/cards", responses=PROBLEMS)
async def list_cards(auth: CurrentAuth, db: DB) -> list[CardRead]:
    """Your bound cards, the preferred one first."""
    return [card_read(c) for c in await binding.list_cards(db, user_id=auth.user.id)]


@router.post("/cards", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def bind_card(body: CardCreate, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> CardRead:
    """Start binding a card: it is checked, tokenised by the bank and a 6-digit code is sent to
    the phone; confirm with the code to finish. The number is never stored or logged."""
    await runtime.limiter.hit(runtime.settings.card_bind_rate, "card-bind", str(auth.user.id))
    card = await binding.start(db, bank=bank_of(runtime), notifier=notifier_of(runtime),
                               secret=runtime.settings.secret_key, user_id=auth.user.id, number=body.number,
                               holder=body.holder, phone=body.phone, expiry_month=body.expiry_month,
                               expiry_year=body.expiry_year)
    return card_read(card)


@router.post("/cards/{card_id}/confirmation", responses=PROBLEMS)
async def confirm_card(card_id: ID, body: CardConfirm, auth: StreamingAuth, runtime: RuntimeDep) -> CardRead:
    """Finish binding with the code; five wrong codes end the attempt."""
    card = await binding.confirm(runtime.database, secret=runtime.settings.secret_key, user_id=auth.user.id,
                                 card_id=card_id, code=body.code)
    return card_read(card)


@router.put("/cards/{card_id}/preferred", responses=PROBLEMS)
async def prefer_card(card_id: ID, auth: CurrentAuth, db: DB) -> CardRead:
    """Pay with this card first."""
    return card_read(await binding.prefer(db, user_id=auth.user.id, card_id=card_id))


@router.delete("/cards/{card_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def unbind_card(card_id: ID, auth: CurrentAuth, db: DB) -> Response:
    """Unbind a card (or abandon a binding not yet confirmed)."""
    await binding.unbind(db, user_id=auth.user.id, card_id=card_id)
    return Response(status_code=204)


@router.put("/pin", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def set_pin(body: PinUpdate, auth: StreamingAuth, runtime: RuntimeDep) -> Response:
    """Set the 6-digit payment password; changing it needs the current one."""
    await pin.set_pin(runtime.database, user_id=auth.user.id, pin=body.pin, current=body.current)
    return Response(status_code=204)


@router.post("/pin/reset", status_code=status.HTTP_202_ACCEPTED, responses=PROBLEMS)
async def start_pin_reset(auth: StreamingAuth, runtime: RuntimeDep) -> PinResetSent:
    """Forgot (or locked) the payment password: a code goes to your preferred card's phone."""
    await runtime.limiter.hit(runtime.settings.card_bind_rate, "pin-reset", str(auth.user.id))
    phone = await pin_reset.start(runtime.database, notifier=notifier_of(runtime), secret=runtime.settings.secret_key,
                                  user_id=auth.user.id)
    return PinResetSent(phone=phone)


@router.post("/pin/reset/confirmation", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def confirm_pin_reset(body: PinReset, auth: StreamingAuth, runtime: RuntimeDep) -> Response:
    """The code and a new payment password: set, and any lock lifted."""
    await pin_reset.confirm(runtime.database, secret=runtime.settings.secret_key, user_id=auth.user.id,
                            code=body.code, pin=body.pin)
    return Response(status_code=204)


class BankMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_id: ID
    amount: Amount
    pin: Pin


class OperationRead(BaseModel):
    id: ID
    kind: str = Field(description="charge (a top-up, a card payment) or payout (a withdrawal, a refund)")
    purpose: str
    amount: int
    currency: str
    status: str = Field(description="created → submitted → succeeded | failed")
    failure_code: str | None
    card_id: ID
    created_at: datetime
    settled_at: datetime | None


def operation_read(op: BankOperation) -> OperationRead:
    return OperationRead(id=op.id, kind=op.kind, purpose=op.purpose, amount=op.amount, currency=op.currency,
                         status=op.status, failure_code=op.failure_code, card_id=op.card_id,
                         created_at=op.created_at, settled_at=op.settled_at)


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Line(64, min_length=1) = Field(description="The payee's id or handle")  # type: ignore[valid-type]
    amount: Amount
    memo: Line(60) = ""  # type: ignore[valid-type]
    pin: Pin


class Party(BaseModel):
    id: ID
    handle: str
    nickname: str


class EntryRead(BaseModel):
    transfer_id: ID
    kind: str
    amount: int = Field(description="Signed minor units: + came in, − went out")
    balance_after: int
    memo: str
    created_at: datetime
    counterparty: Party | None


class HistoryPage(BaseModel):
    items: list[EntryRead]
    next: str | None = Field(description="Pass as `before` for the next (older) page")


class StatementRead(BaseModel):
    month: str
    opening: int
    closing: int
    credits: int
    debits: int
    entries: list[EntryRead]


async def entries_read(db: AsyncSession, entries: list[wallet.Entry]) -> list[EntryRead]:
    users = await accounts.users_by_id(db, ids=[e.counterparty_id for e in entries if e.counterparty_id])
    out = []
    for e in entries:
        other = users.get(e.counterparty_id or 0)
        out.append(EntryRead(transfer_id=e.transfer_id, kind=e.kind, amount=e.amount, balance_after=e.balance_after,
                             memo=e.memo, created_at=e.created_at,
                             counterparty=Party(id=other.id, handle=other.handle, nickname=other.nickname)
                             if other else None))
    return out


async def _money_out(request: Request, runtime: Runtime, auth: Any, *, action: str, pin_text: str,
                     key: str | None, body: dict[str, Any], work: Any) -> Response:
    """The common path of a write that spends: rate limit, payment password, idempotency key."""
    await runtime.limiter.hit(runtime.settings.payment_rate, "payment", str(auth.user.id))
    await pin.verify(runtime.database, user_id=auth.user.id, pin=pin_text)
    return await respond(request, runtime, user_id=auth.user.id, action=action, key=key, body=body, work=work)


@router.post("/top-ups", status_code=status.HTTP_202_ACCEPTED, response_model=OperationRead, responses=PROBLEMS)
async def top_up(body: BankMove, request: Request, auth: StreamingAuth, runtime: RuntimeDep,
                 idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Top up the wallet from a bound card (充值). Accepted as `created`; the bank's webhook
    settles it and the balance grows then. Needs `Idempotency-Key` and the payment password."""
    async def work(db: AsyncSession) -> tuple[int, Any]:
        op = await banking.top_up(db, user_id=auth.user.id, card_id=body.card_id, amount=body.amount)
        return 202, operation_read(op).model_dump(mode="json")

    return await _money_out(request, runtime, auth, action="wallet.top_up", pin_text=body.pin, key=idempotency_key,
                            body=body.model_dump(mode="json", exclude={"pin"}), work=work)


@router.post("/withdrawals", status_code=status.HTTP_202_ACCEPTED, response_model=OperationRead,
             responses=PROBLEMS)
async def withdraw(body: BankMove, request: Request, auth: StreamingAuth, runtime: RuntimeDep,
                   idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Withdraw to a bound card (提现): the money leaves the wallet now and is pending until the
    bank pays it out; a failed payout returns it."""
    async def work(db: AsyncSession) -> tuple[int, Any]:
        op = await banking.withdraw(db, user_id=auth.user.id, card_id=body.card_id, amount=body.amount)
        return 202, operation_read(op).model_dump(mode="json")

    return await _money_out(request, runtime, auth, action="wallet.withdraw", pin_text=body.pin,
                            key=idempotency_key, body=body.model_dump(mode="json", exclude={"pin"}), work=work)


@router.get("/operations", responses=PROBLEMS)
async def list_operations(auth: CurrentAuth, db: DB) -> list[OperationRead]:
    """Your latest top-ups, withdrawals and card payments, and where each stands."""
    return [operation_read(op) for op in await banking.list_operations(db, user_id=auth.user.id)]


@router.get("/operations/{operation_id}", responses=PROBLEMS)
async def read_operation(operation_id: ID, auth: CurrentAuth, db: DB) -> OperationRead:
    return operation_read(await banking.own_operation(db, user_id=auth.user.id, operation_id=operation_id))


@router.post("/transfers", status_code=status.HTTP_201_CREATED, response_model=EntryRead, responses=PROBLEMS)
async def pay_user(body: TransferCreate, request: Request, auth: StreamingAuth, runtime: RuntimeDep,
                   idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Pay another user from your wallet (转账); the answer is your receipt."""
    async def work(db: AsyncSession) -> tuple[int, Any]:
        try:
            payee = await accounts.get_user(db, ref=body.to.lstrip("@"))
        except NotFound as error:
            raise wallet.PayeeUnavailable() from error
        posted = await wallet.pay_user(db, payer_id=auth.user.id, payee_id=payee.id, amount=body.amount,
                                       memo=body.memo)
        entry = await wallet.receipt(db, user_id=auth.user.id, transfer_id=posted.transfer.id)
        return 201, (await entries_read(db, [entry]))[0].model_dump(mode="json")

    return await _money_out(request, runtime, auth, action="wallet.transfer", pin_text=body.pin,
                            key=idempotency_key, body=body.model_dump(mode="json", exclude={"pin"}), work=work)


@router.get("/history", responses=PROBLEMS)
async def history(auth: CurrentAuth, db: DB,
                  kind: Annotated[str | None, Query(pattern="^(" + "|".join(wallet.KINDS) + ")$")] = None,
                  direction: Annotated[Literal["in", "out"] | None, Query()] = None,
                  since: Annotated[datetime | None, Query(description="ISO 8601; without an offset, UTC")] = None,
                  until: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
                  before: ID | None = None,
                  limit: Annotated[int, Query(ge=1, le=100)] = 20) -> HistoryPage:
    """Every movement of your wallet, newest first: filter by kind, direction and time."""
    entries = await wallet.history(db, user_id=auth.user.id, kind=kind, direction=direction, since=_utc(since),
                                   until=_utc(until), before=before, limit=limit)
    return HistoryPage(items=await entries_read(db, entries),
                       next=str(entries[-1].posting_id) if len(entries) == limit else None)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError) as error:  # year 1 minus an offset, year 9999 plus one
        raise InvalidRequest(field="since", reason="out of range") from error


@router.get("/receipts/{transfer_id}", responses=PROBLEMS)
async def receipt(transfer_id: ID, auth: CurrentAuth, db: DB) -> EntryRead:
    """One transaction of your wallet (回单)."""
    return (await entries_read(db, [await wallet.receipt(db, user_id=auth.user.id, transfer_id=transfer_id)]))[0]


@router.get("/statements/{month}", responses=PROBLEMS)
async def statement(month: Month, auth: CurrentAuth, db: DB) -> StatementRead:
    """A month's statement (对账单): opening and closing balance and every movement, oldest first."""
    found = await wallet.statement(db, user_id=auth.user.id, month=month)
    return StatementRead(month=found.month, opening=found.opening, closing=found.closing, credits=found.credits,
                         debits=found.debits, entries=await entries_read(db, found.entries))


@router.get("/statements/{month}/csv", responses={**PROBLEMS, 200: {"content": {"text/csv": {}}}})
async def statement_csv(month: Month, auth: CurrentAuth, db: DB) -> Response:
    """The same statement as a CSV file."""
    found = await wallet.statement(db, user_id=auth.user.id, month=month)
    users = await accounts.users_by_id(db, ids=[e.counterparty_id for e in found.entries if e.counterparty_id])
    text = wallet.statement_csv(found, {u.id: f"@{u.handle}" for u in users.values()})
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="shua-wallet-{month}.csv"'})
