"""The double-entry ledger. Every change of a balance is a posting of a transfer whose postings
sum to zero, written in the caller's transaction together with the business change it pays for
(one DB transaction per business operation: both happen or neither does).

Concurrency: a transfer's one UPDATE locks the rows it changes and decides "balance ≥ amount"
against the latest committed balance (PostgreSQL re-evaluates the WHERE after waiting for a
row lock; a CTE takes the rows in id order first, so two transfers never wait on each other in
a circle);
on SQLite every write transaction already holds the database's single write lock from its first
statement (`BEGIN IMMEDIATE`, core/db.py). Nobody can change those balances before it commits.

Invariants are checked on every transfer, in production too: the legs balance to zero, each
account is of the transfer's currency, no account that must stay non-negative goes below zero
(also a CHECK constraint in the database), and no frozen account pays. `verify` recomputes every
balance from the postings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NoReturn, TypeGuard

from sqlalchemy import ColumnElement, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from shua.core import clock, jobs
from shua.core.db import insert_ignore
from shua.core.ids import new_id
from shua.core.money import MINOR_UNITS
from shua.payments.errors import (
    AccountFrozen,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    LedgerAccountNotFound,
    UnbalancedTransfer,
)
from shua.payments.models import KINDS, MAY_GO_NEGATIVE, LedgerAccount, LedgerPosting, LedgerTransfer

# No single amount above 10^13 fen (a hundred billion yuan): far beyond any real payment, and
# sums of many stay far inside a signed 64-bit integer.
MAX_AMOUNT = 10**13


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount: int  # minor units added to the account; negative takes money out


def account_code(kind: str, currency: str, owner_id: int | None = None) -> str:
    return f"{kind}:{owner_id}:{currency}" if owner_id is not None else f"{kind}:{currency}"


def _whole_fen(amount: object) -> TypeGuard[int]:
    """An int of minor units (never a float, never a bool), not zero, not absurdly large."""
    return isinstance(amount, int) and not isinstance(amount, bool) and 0 < abs(amount) <= MAX_AMOUNT


def check_amount(amount: object, currency: str) -> int:
    """An amount to move: positive whole minor units of a known currency."""
    if currency not in MINOR_UNITS:
        raise CurrencyMismatch(currency=currency)
    if not _whole_fen(amount) or amount <= 0:
        raise InvalidAmount(amount=str(amount))
    return amount


async def account(db: AsyncSession, kind: str, currency: str = "CNY", owner_id: int | None = None) -> LedgerAccount:
    """The account of that kind, currency and owner, opened on first use (race-free: two openers
    of one account insert one row)."""
    if kind not in KINDS or currency not in MINOR_UNITS:
        raise LedgerAccountNotFound(kind=kind, currency=currency)
    code = account_code(kind, currency, owner_id)
    found = await db.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    if found is not None:
        return found
    await insert_ignore(db, LedgerAccount, id=new_id(), code=code, kind=kind, owner_id=owner_id, currency=currency,
                        balance=0, allow_negative=kind in MAY_GO_NEGATIVE, frozen=False, created_at=clock.utcnow())
    opened = await db.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    assert opened is not None
    return opened


async def find_account(db: AsyncSession, kind: str, currency: str = "CNY",
                       owner_id: int | None = None) -> LedgerAccount | None:
    """The account if it was ever opened (reads never open one)."""
    return await db.scalar(select(LedgerAccount).where(LedgerAccount.code == account_code(kind, currency, owner_id)))


async def _locked(db: AsyncSession, account_ids: Sequence[int]) -> dict[int, LedgerAccount]:
    query = (select(LedgerAccount).where(LedgerAccount.id.in_(sorted(set(account_ids))))
             .order_by(LedgerAccount.id).execution_options(populate_existing=True))
    if db.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return {a.id: a for a in (await db.scalars(query)).all()}


@dataclass
class Posted:
    transfer: LedgerTransfer
    postings: list[LedgerPosting] = field(default_factory=list)


async def post(db: AsyncSession, *, kind: str, currency: str, legs: Sequence[Leg], reference: str = "",
               memo: str = "") -> Posted:
    """Post one balanced transfer. Raises (and the caller's transaction then rolls back) if the
    legs do not sum to zero, an account is missing, of another currency or frozen while paying,
    or would go negative.

    Four statements whatever the number of legs: one UPDATE moves every balance, locking the
    rows (in id order, so transfers never deadlock) and
    refusing, in its WHERE, any row that would break a rule; one INSERT of the transfer, one of
    its postings (returning what was written, summed again), one of the outbox event."""
    if len(legs) < 2:
        raise UnbalancedTransfer(legs=len(legs))
    for leg in legs:
        if not _whole_fen(leg.amount):
            raise InvalidAmount(amount=str(leg.amount))
    if sum(leg.amount for leg in legs) != 0:
        raise UnbalancedTransfer(total=sum(leg.amount for leg in legs))
    if currency not in MINOR_UNITS:
        raise CurrencyMismatch(currency=currency)
    net: dict[int, int] = {}
    for leg in legs:
        net[leg.account_id] = net.get(leg.account_id, 0) + leg.amount
    change = case(net, value=LedgerAccount.id, else_=0)
    after = LedgerAccount.balance + change
    chosen: ColumnElement[bool]
    if db.get_bind().dialect.name == "sqlite":
        chosen = LedgerAccount.id.in_(sorted(net))  # the single writer: nobody else is updating
    else:
        # An UPDATE locks rows in the order it meets them (physical order, which updates keep
        # changing), so two transfers over the same pair could each hold one row and wait for
        # the other. Lock them in id order first, in the same statement.
        locked = (select(LedgerAccount.id).where(LedgerAccount.id.in_(sorted(net))).order_by(LedgerAccount.id)
                  .with_for_update().cte("locked"))
        chosen = LedgerAccount.id == locked.c.id
    moved = await db.execute(
        update(LedgerAccount)
        .where(chosen, LedgerAccount.currency == currency,
               or_(LedgerAccount.allow_negative, after >= 0), or_(LedgerAccount.frozen.is_(False), change >= 0))
        .values(balance=after)
        .returning(LedgerAccount.id, LedgerAccount.balance)
        .execution_options(synchronize_session=False))
    balances = {account_id: int(balance) for account_id, balance in moved.all()}
    if len(balances) != len(net):
        await _refusal(db, net, currency)  # raises: which rule, for which account
    _refresh_loaded(db, balances)
    now = clock.utcnow()
    transfer_row = {"id": new_id(), "kind": kind, "currency": currency, "reference": reference[:80],
                    "memo": memo[:200], "amount": sum(leg.amount for leg in legs if leg.amount > 0), "created_at": now}
    await db.execute(insert(LedgerTransfer).values(**transfer_row))
    running = {account_id: balances[account_id] - total for account_id, total in net.items()}
    posting_rows = []
    for leg in legs:
        running[leg.account_id] += leg.amount
        posting_rows.append({"id": new_id(), "transfer_id": transfer_row["id"], "account_id": leg.account_id,
                             "amount": leg.amount, "balance_after": running[leg.account_id], "created_at": now})
    written = await db.execute(insert(LedgerPosting).returning(LedgerPosting.amount), posting_rows)
    transfer = LedgerTransfer(**transfer_row)
    postings = [LedgerPosting(**row) for row in posting_rows]
    # Belt and braces, on in production: what was written balances, as the database returned it.
    total = sum(int(amount) for (amount,) in written.all())
    if total != 0:
        raise UnbalancedTransfer(transfer_id=str(transfer.id), total=total)
    await jobs.publish(db, "payments.transfer_posted", {
        "transfer_id": str(transfer.id), "kind": kind, "currency": currency, "amount": transfer.amount,
        "accounts": [str(a) for a in net]})
    return Posted(transfer, postings)


async def _refusal(db: AsyncSession, net: dict[int, int], currency: str) -> NoReturn:
    """The UPDATE left some account alone: say why (this runs on the error path only)."""
    found = {a.id: a for a in (await db.scalars(select(LedgerAccount).where(LedgerAccount.id.in_(sorted(net)))
                                                .execution_options(populate_existing=True))).all()}
    for account_id, change in net.items():
        acct = found.get(account_id)
        if acct is None:
            raise LedgerAccountNotFound(account_id=str(account_id))
        if acct.currency != currency:
            raise CurrencyMismatch(account=acct.code, currency=currency)
        if change < 0 and acct.frozen:
            raise AccountFrozen(account=acct.code)
    for account_id, change in net.items():
        acct = found[account_id]
        # Balances here may already include this transfer's other legs: report the shortfall.
        if change < 0 and not acct.allow_negative:
            raise InsufficientFunds(account=acct.code, needed=-change)
    raise InsufficientFunds()


def _refresh_loaded(db: AsyncSession, balances: dict[int, int]) -> None:
    """Accounts this session already holds see their new balance (without marking them dirty)."""
    for account_id, value in balances.items():
        loaded = db.identity_map.get(identity_key(LedgerAccount, account_id))
        if loaded is not None:
            set_committed_value(loaded, "balance", value)


async def move(db: AsyncSession, *, kind: str, source: LedgerAccount, target: LedgerAccount, amount: int,
               reference: str = "", memo: str = "") -> Posted:
    """The common two-leg transfer: `amount` from `source` to `target`."""
    check_amount(amount, source.currency)
    if source.id == target.id:
        raise UnbalancedTransfer(reason="same account")
    return await post(db, kind=kind, currency=source.currency, reference=reference, memo=memo,
                      legs=[Leg(source.id, -amount), Leg(target.id, amount)])


async def set_frozen(db: AsyncSession, *, account_id: int, frozen: bool) -> LedgerAccount:
    acct = (await _locked(db, [account_id])).get(account_id)
    if acct is None:
        raise LedgerAccountNotFound(account_id=str(account_id))
    acct.frozen = frozen
    return acct


@dataclass
class Verification:
    accounts: int = 0
    transfers: int = 0
    postings: int = 0
    balance_mismatches: list[tuple[str, int, int]] = field(default_factory=list)  # (code, cached, from postings)
    unbalanced_transfers: list[tuple[int, str, int]] = field(default_factory=list)  # (id, currency, sum)
    negative_accounts: list[tuple[str, int]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)  # currency → sum of all balances (must be 0)

    @property
    def ok(self) -> bool:
        return not (self.balance_mismatches or self.unbalanced_transfers or self.negative_accounts
                    or any(self.totals.values()))


async def verify(db: AsyncSession, *, progress: Callable[[int, int], None] | None = None,
                 batch: int = 1000) -> Verification:
    """Recompute every balance from the postings, re-add every transfer, and check the totals:
    the whole ledger of each currency sums to zero (a trial balance)."""
    result = Verification()
    result.transfers = int(await db.scalar(select(func.count()).select_from(LedgerTransfer)) or 0)
    result.postings = int(await db.scalar(select(func.count()).select_from(LedgerPosting)) or 0)
    unbalanced = await db.execute(
        select(LedgerPosting.transfer_id, LedgerTransfer.currency, func.sum(LedgerPosting.amount))
        .join(LedgerTransfer, LedgerTransfer.id == LedgerPosting.transfer_id)
        .group_by(LedgerPosting.transfer_id, LedgerTransfer.currency)
        .having(func.sum(LedgerPosting.amount) != 0))
    result.unbalanced_transfers = [(int(t), c, int(s)) for t, c, s in unbalanced.all()]
    total = int(await db.scalar(select(func.count()).select_from(LedgerAccount)) or 0)
    sums = (select(LedgerPosting.account_id, func.sum(LedgerPosting.amount).label("total"))
            .group_by(LedgerPosting.account_id).subquery())
    after = 0
    while True:
        rows = (await db.execute(
            select(LedgerAccount, func.coalesce(sums.c.total, 0))
            .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
            .where(LedgerAccount.id > after).order_by(LedgerAccount.id).limit(batch))).all()
        for acct, from_postings in rows:
            result.accounts += 1
            if acct.balance != from_postings:
                result.balance_mismatches.append((acct.code, acct.balance, int(from_postings)))
            if not acct.allow_negative and from_postings < 0:
                result.negative_accounts.append((acct.code, int(from_postings)))
            result.totals[acct.currency] = result.totals.get(acct.currency, 0) + int(from_postings)
        if progress:
            progress(result.accounts, total)
        if len(rows) < batch:
            return result
        after = rows[-1][0].id


async def balance(db: AsyncSession, account_id: int) -> int:
    return int(await db.scalar(select(LedgerAccount.balance).where(LedgerAccount.id == account_id)) or 0)


@dataclass(frozen=True)
class KindTotal:
    currency: str
    kind: str
    accounts: int
    balance: int  # the sum of their balances


async def trial_balance(db: AsyncSession) -> list[KindTotal]:
    """Balances summed by currency and kind: each currency's rows sum to zero, always."""
    rows = await db.execute(select(LedgerAccount.currency, LedgerAccount.kind, func.count(),
                                   func.coalesce(func.sum(LedgerAccount.balance), 0))
                            .group_by(LedgerAccount.currency, LedgerAccount.kind)
                            .order_by(LedgerAccount.currency, LedgerAccount.kind))
    return [KindTotal(currency=c, kind=k, accounts=int(n), balance=int(b)) for c, k, n, b in rows.all()]


async def accounts(db: AsyncSession, *, kind: str | None = None, owner_id: int | None = None, after: int | None = None,
                   limit: int = 50) -> list[LedgerAccount]:
    """The chart of accounts, in id order (a keyset page after `after`)."""
    query = select(LedgerAccount)
    if kind:
        query = query.where(LedgerAccount.kind == kind)
    if owner_id is not None:
        query = query.where(LedgerAccount.owner_id == owner_id)
    if after is not None:
        query = query.where(LedgerAccount.id > after)
    return list((await db.scalars(query.order_by(LedgerAccount.id).limit(limit))).all())
