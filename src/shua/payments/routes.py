"""Shua Pay over HTTP, so far: the wallet's balance, binding and unbinding bank cards (with the
code sent to the card's phone), the preferred card, and the payment password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shua.core.ids import ID
from shua.core.notify import DevInbox, Notifier
from shua.core.text import Line
from shua.payments import binding, ledger, pin
from shua.payments.bank import BankConnector, SimulatedBank
from shua.payments.models import WALLET, PaymentCard
from shua.runtime import Runtime
from shua.web.deps import DB, CurrentAuth, RuntimeDep, StreamingAuth

router = APIRouter(prefix="/api/v1/wallet", tags=["wallet"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}}
    for code in (400, 401, 402, 403, 404, 409, 422, 429)
}

CardNumber = Annotated[str, StringConstraints(min_length=12, max_length=30, pattern=r"^[0-9 \-]+$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{7,15}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Pin = Annotated[str, StringConstraints(min_length=1, max_length=12)]


def bank_of(runtime: Runtime) -> BankConnector:
    """The bank connector: the simulated bank unless a deployment installed a real one."""
    found = runtime.extras.get("bank")
    if found is None:
        found = runtime.extras["bank"] = SimulatedBank(secret=runtime.settings.secret_key + ":bank-webhooks")
    return found  # type: ignore[return-value]


def notifier_of(runtime: Runtime) -> Notifier:
    found = runtime.extras.get("notifier")
    if found is None:
        found = runtime.extras["notifier"] = DevInbox()
    return found  # type: ignore[return-value]


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
