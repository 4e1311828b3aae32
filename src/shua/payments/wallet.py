"""A user's wallet as they see it: paying another user (转账), the history of every posting
with filters, one transfer's receipt, and monthly statements."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import jobs
from shua.core.errors import NotFound
from shua.payments import ledger
from shua.payments.models import WALLET, LedgerAccount, LedgerPosting, LedgerTransfer
from shua.social.graph import blocked_between

CURRENCY = "CNY"
# The kinds a history can be filtered by (the ledger's transfer kinds a wallet sees).
KINDS = ("top_up", "withdrawal", "withdrawal_returned", "transfer", "payment", "refund", "release")


class TransferNotFound(NotFound):
    code = "payments.transfer_not_found"
    title = "No such transaction in your wallet"


class PayeeUnavailable(NotFound):
    code = "payments.payee_unavailable"
    title = "This user cannot be paid"


async def pay_user(db: AsyncSession, *, payer_id: int, payee_id: int, amount: int, memo: str = "") -> ledger.Posted:
    """Move money from one wallet to another (the caller checked the payer's payment password)."""
    from shua.payments.intents import PayingYourself

    ledger.check_amount(amount, CURRENCY)
    if payer_id == payee_id:
        raise PayingYourself()
    if await blocked_between(db, payer_id, payee_id):
        raise PayeeUnavailable()
    source = await ledger.account(db, WALLET, CURRENCY, owner_id=payer_id)
    target = await ledger.account(db, WALLET, CURRENCY, owner_id=payee_id)
    posted = await ledger.move(db, kind="transfer", source=source, target=target, amount=amount,
                               reference=f"user:{payer_id}", memo=memo)
    await jobs.publish(db, "payments.user_paid", {"transfer_id": str(posted.transfer.id), "payer_id": str(payer_id),
                                                  "payee_id": str(payee_id), "amount": amount})
    return posted


@dataclass(frozen=True)
class Entry:
    """One line of a wallet's history: a posting with its transfer and who was on the other side."""

    transfer_id: int
    posting_id: int
    kind: str
    amount: int  # signed: + came in, − went out
    balance_after: int
    memo: str
    reference: str
    created_at: datetime
    counterparty_id: int | None  # the other user, for transfers, payments and refunds


async def _wallet_id(db: AsyncSession, user_id: int) -> int | None:
    found = await ledger.find_account(db, WALLET, CURRENCY, owner_id=user_id)
    return found.id if found else None


async def history(db: AsyncSession, *, user_id: int, kind: str | None = None, direction: str | None = None,
                  since: datetime | None = None, until: datetime | None = None, before: int | None = None,
                  limit: int = 20) -> list[Entry]:
    """Newest first; `before` is the last page's oldest posting id (a keyset cursor)."""
    wallet_id = await _wallet_id(db, user_id)
    if wallet_id is None:
        return []
    query = (select(LedgerPosting, LedgerTransfer).join(LedgerTransfer, LedgerTransfer.id == LedgerPosting.transfer_id)
             .where(LedgerPosting.account_id == wallet_id))
    if kind:
        query = query.where(LedgerTransfer.kind == kind)
    if direction == "in":
        query = query.where(LedgerPosting.amount > 0)
    elif direction == "out":
        query = query.where(LedgerPosting.amount < 0)
    if since is not None:
        query = query.where(LedgerPosting.created_at >= since)
    if until is not None:
        query = query.where(LedgerPosting.created_at < until)
    if before is not None:
        query = query.where(LedgerPosting.id < before)
    rows = (await db.execute(query.order_by(LedgerPosting.id.desc()).limit(limit))).all()
    others = await _counterparties(db, [t.id for _, t in rows], wallet_id)
    return [Entry(transfer_id=t.id, posting_id=p.id, kind=t.kind, amount=p.amount, balance_after=p.balance_after,
                  memo=t.memo, reference=t.reference, created_at=p.created_at, counterparty_id=others.get(t.id))
            for p, t in rows]


async def _counterparties(db: AsyncSession, transfer_ids: list[int], wallet_id: int) -> dict[int, int]:
    """For each transfer, the owner of its other user-held account (wallet or escrow), if any."""
    if not transfer_ids:
        return {}
    rows = await db.execute(
        select(LedgerPosting.transfer_id, LedgerAccount.owner_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(LedgerPosting.transfer_id.in_(transfer_ids), LedgerPosting.account_id != wallet_id,
               LedgerAccount.owner_id.is_not(None)))
    return {int(t): int(owner) for t, owner in rows.all() if owner is not None}


async def receipt(db: AsyncSession, *, user_id: int, transfer_id: object) -> Entry:
    """One transaction of this user's wallet; any other id (or another user's) is not found."""
    wallet_id = await _wallet_id(db, user_id)
    if wallet_id is None or not isinstance(transfer_id, int):
        raise TransferNotFound()
    row = (await db.execute(
        select(LedgerPosting, LedgerTransfer).join(LedgerTransfer, LedgerTransfer.id == LedgerPosting.transfer_id)
        .where(LedgerPosting.transfer_id == transfer_id, LedgerPosting.account_id == wallet_id)
        .order_by(LedgerPosting.id.desc()).limit(1))).first()
    if row is None:
        raise TransferNotFound()
    posting, transfer = row
    others = await _counterparties(db, [transfer.id], wallet_id)
    return Entry(transfer_id=transfer.id, posting_id=posting.id, kind=transfer.kind, amount=posting.amount,
                 balance_after=posting.balance_after, memo=transfer.memo, reference=transfer.reference,
                 created_at=posting.created_at, counterparty_id=others.get(transfer.id))


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """"2026-12" → its first instant and the next month's (UTC)."""
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (datetime(first.year, first.month, 1, tzinfo=UTC),
            datetime(following.year, following.month, 1, tzinfo=UTC))


@dataclass(frozen=True)
class Statement:
    month: str
    opening: int
    closing: int
    credits: int
    debits: int
    entries: list[Entry]


async def statement(db: AsyncSession, *, user_id: int, month: str, limit: int = 10_000) -> Statement:
    """The month's postings, oldest first, with the opening and closing balance."""
    start, end = month_bounds(month)
    entries = list(reversed(await history(db, user_id=user_id, since=start, until=end, limit=limit)))
    wallet_id = await _wallet_id(db, user_id)
    opening = 0
    if wallet_id is not None:
        before = await db.scalar(select(func.sum(LedgerPosting.amount))
                                 .where(LedgerPosting.account_id == wallet_id, LedgerPosting.created_at < start))
        opening = int(before or 0)
    credits = sum(e.amount for e in entries if e.amount > 0)
    debits = -sum(e.amount for e in entries if e.amount < 0)
    return Statement(month=month, opening=opening, closing=opening + credits - debits, credits=credits,
                     debits=debits, entries=entries)


def statement_csv(found: Statement, names: dict[int, str]) -> str:
    """The statement as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["time_utc", "transaction_id", "kind", "amount_yuan", "balance_after_yuan", "counterparty",
                     "memo"])
    writer.writerow(["", "", "opening_balance", "", _yuan(found.opening), "", ""])
    for e in found.entries:
        writer.writerow([e.created_at.isoformat(timespec="seconds"), str(e.transfer_id), e.kind, _yuan(e.amount),
                         _yuan(e.balance_after), names.get(e.counterparty_id or 0, ""), _safe_cell(e.memo)])
    writer.writerow(["", "", "closing_balance", "", _yuan(found.closing), "", ""])
    return out.getvalue()


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _safe_cell(text: str) -> str:
    # A memo is someone else's text: never let a spreadsheet run it as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
