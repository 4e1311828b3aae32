"""The ledger's tables. An account holds money of one currency; a transfer moves it between
accounts as postings that sum to zero; postings are never updated or deleted. An account's
`balance` is a cache of the sum of its postings, kept in the same transaction as each posting
and checked against them by `shua payments verify`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column

# What an account is for. Users' wallets and merchants' money may never go below zero; the bank
# clearing account mirrors money that came in from (or went out to) banks and goes negative as
# users top up; the promotions budget is funded by the operator and may not be overspent.
WALLET, ESCROW, MERCHANT, FEES, BANK_CLEARING, PROMOTIONS = (
    "wallet", "escrow", "merchant", "fees", "bank_clearing", "promotions")
KINDS = (WALLET, ESCROW, MERCHANT, FEES, BANK_CLEARING, PROMOTIONS)
MAY_GO_NEGATIVE = frozenset({BANK_CLEARING})


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (Index("ix_ledger_accounts_owner", "owner_id", "kind"),
                      CheckConstraint("allow_negative OR balance >= 0", name="balance_not_negative"))

    id: Mapped[int] = id_column()
    # Stable and unique: "wallet:<user id>:CNY", "fees:CNY", "bank_clearing:CNY".
    code: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)  # minor units (fen)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class LedgerTransfer(Base):
    """One business operation's movement of money: a top-up, a payment, a refund, a fee."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (Index("ix_ledger_transfers_reference", "reference"),)

    id: Mapped[int] = id_column()
    kind: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)  # the sum of its credits (= of its debits)
    reference: Mapped[str] = mapped_column(String(80), default="")  # what it was for: "intent:123"
    memo: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class LedgerPosting(Base):
    """One leg of a transfer: `amount` is added to the account (negative takes money out)."""

    __tablename__ = "ledger_postings"
    __table_args__ = (Index("ix_ledger_postings_account", "account_id", "id"),
                      Index("ix_ledger_postings_transfer", "transfer_id"),
                      CheckConstraint("amount <> 0", name="amount_not_zero"))

    id: Mapped[int] = id_column()
    transfer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_transfers.id"))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)  # the account's balance after it: statements
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


PENDING, ACTIVE, REMOVED = "pending", "active", "removed"


class PaymentCard(Base):
    """A bank card bound to a user (绑卡): the bank's token, brand and last four, never the
    number. `fingerprint` (keyed hash of the number) lets one card be bound by one user only;
    binding waits in `pending` until the code sent to the card's phone comes back."""

    __tablename__ = "payment_cards"
    __table_args__ = (
        Index("ix_payment_cards_user", "user_id", "status"),
        Index("uq_payment_cards_active_fingerprint", "fingerprint", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str] = mapped_column(String(12))
    last4: Mapped[str] = mapped_column(String(4))
    holder: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20))  # where the bank's codes go
    expiry_month: Mapped[int] = mapped_column(Integer)
    expiry_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    code_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# A bank operation's life: created here (and committed) → submitted to the bank (it answered with
# its reference) → succeeded | failed when its webhook comes back.
CREATED, SUBMITTED, SUCCEEDED, FAILED = "created", "submitted", "succeeded", "failed"
CHARGE, PAYOUT = "charge", "payout"  # money in from a card; money out to one
TOPUP, WITHDRAWAL, INTENT, REFUND = "topup", "withdrawal", "intent", "refund"  # what it was for


class BankOperation(Base):
    """Money asked of (or sent to) a bank for a bound card. Committed before the bank is called,
    so a crash between the two leaves a row a retry can resubmit under the same reference (the
    bank treats one reference as one operation)."""

    __tablename__ = "bank_operations"
    __table_args__ = (Index("ix_bank_operations_user", "user_id", "id"),
                      Index("ix_bank_operations_status", "status", "created_at"),
                      CheckConstraint("amount > 0", name="amount_positive"))

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(BigInteger)
    card_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("payment_cards.id"))
    kind: Mapped[str] = mapped_column(String(8))  # charge | payout
    purpose: Mapped[str] = mapped_column(String(12))  # topup | withdrawal | intent | refund
    purpose_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the intent or refund
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default=CREATED)
    bank_ref: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    failure_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BankWebhookEvent(Base):
    """Every webhook event id the bank ever sent us, so a repeat is recognised and ignored."""

    __tablename__ = "bank_webhook_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    operation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class SimulatedBankOperation(Base):
    """The simulated bank's own book (it would live in the bank's systems): what it was asked,
    what it decided, when it settled. Its daily report is read from here for reconciliation."""

    __tablename__ = "simbank_operations"

    bank_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(80), unique=True)  # the caller's: one operation per reference
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    outcome: Mapped[str] = mapped_column(String(10))
    failure_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


# A payment intent's states (Stripe's, trimmed): waiting for the payer, the card is being charged,
# and the three ends. Money sits in the payee's escrow from `succeeded` until it is released.
REQUIRES_CONFIRMATION, PROCESSING, CANCELED = "requires_confirmation", "processing", "canceled"
INTENT_FINAL = frozenset({SUCCEEDED, FAILED, CANCELED})


class PaymentIntent(Base):
    """One payment for something: an order, a payment request. Created by (or for) the payee;
    the payer confirms it with wallet balance or a bound card."""

    __tablename__ = "payment_intents"
    __table_args__ = (Index("ix_payment_intents_payer", "payer_id", "id"),
                      Index("ix_payment_intents_payee", "payee_id", "id"),
                      CheckConstraint("amount > 0", name="amount_positive"),
                      CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount", name="refunds_within"))

    id: Mapped[int] = id_column()
    payee_id: Mapped[int] = mapped_column(BigInteger)
    payer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # open requests: who pays first
    secret: Mapped[str] = mapped_column(String(32))  # lets a payer open an open request's link
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(80), default="")  # the payee's: "order:123"
    status: Mapped[str] = mapped_column(String(24), default=REQUIRES_CONFIRMATION)
    method: Mapped[str | None] = mapped_column(String(8), nullable=True)  # wallet | card
    card_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    failure_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    fee: Mapped[int] = mapped_column(BigInteger, default=0)  # the platform's, taken at release
    # Released by itself after the escrow period (a payment request); an order's waits for its
    # completion instead.
    auto_release: Mapped[bool] = mapped_column(Boolean, default=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class IntentShare(Base):
    """Someone else's cut of a released payment (a creator's 带货 commission on an order from
    their video): what they were paid, and how much of it refunds took back since."""

    __tablename__ = "payment_intent_shares"
    __table_args__ = (CheckConstraint("amount_reversed BETWEEN 0 AND amount", name="reversed_within_amount"),)

    intent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("payment_intents.id"), primary_key=True,
                                           autoincrement=False)
    owner_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_reversed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # What a refund could not take back (their wallet held less, or was frozen): the payee bore it.
    amount_unrecovered: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class PaymentRefund(Base):
    """Money given back on a succeeded intent, in full or in part: its own object with its own
    state (a refund to a card waits for the bank)."""

    __tablename__ = "payment_refunds"
    __table_args__ = (Index("ix_payment_refunds_intent", "intent_id"),
                      CheckConstraint("amount > 0", name="amount_positive"))

    id: Mapped[int] = id_column()
    intent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("payment_intents.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(24))  # processing (to a card) | succeeded
    destination: Mapped[str] = mapped_column(String(8))  # wallet | card (a card the bank failed → wallet)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
