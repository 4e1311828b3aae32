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
