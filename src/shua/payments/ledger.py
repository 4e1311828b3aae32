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

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NoReturn, TypeGuard, cast

from sqlalchemy import Table, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from shua.core import clock, jobs
from shua.core.db import for_update, insert_ignore
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

# The tables for Core statements on the hot path (see `post`).
ACCOUNTS, TRANSFERS, POSTINGS = (cast(Table, m.__table__) for m in (LedgerAccount, LedgerTransfer, LedgerPosting))

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
    query = for_update(db, select(LedgerAccount).where(LedgerAccount.id.in_(sorted(set(account_ids))))
                       .order_by(LedgerAccount.id))  # id order: two transfers never wait in a circle
    return {a.id: a for a in (await db.scalars(query)).all()}


@dataclass(frozen=True)
class TransferRecord:
    """A transfer as written (plain values: building ORM objects for rows nobody reloads cost a
    tenth of a transfer's Python time)."""

    id: int
    kind: str
    currency: str
    amount: int
    reference: str
    memo: str
    created_at: datetime


@dataclass(frozen=True)
class PostingRecord:
    id: int
    transfer_id: int
    account_id: int
    amount: int
    balance_after: int
    created_at: datetime


@dataclass
class Posted:
    transfer: TransferRecord
    postings: list[PostingRecord] = field(default_factory=list)


async def post(db: AsyncSession, *, kind: str, currency: str, legs: Sequence[Leg], reference: str = "",
               memo: str = "") -> Posted:
    """Post one balanced transfer. Raises (and the caller's transaction then rolls back) if the
    legs do not sum to zero, an account is missing, of another currency or frozen while paying,
    or would go negative.

    On PostgreSQL one statement whatever the number of legs (see `_STATEMENT`); on SQLite
    four: the UPDATE that moves every balance and refuses, in its WHERE, any row that would
    break a rule, the INSERTs of the transfer, its postings (returning what was written, summed
    again) and the outbox event."""
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
    now = clock.utcnow()
    transfer_row: dict[str, Any] = {"id": new_id(), "kind": kind, "currency": currency, "reference": reference[:80],
                    "memo": memo[:200], "amount": sum(leg.amount for leg in legs if leg.amount > 0), "created_at": now}
    posting_ids = [new_id() for _ in legs]
    event = {"transfer_id": str(transfer_row["id"]), "kind": kind, "currency": currency,
             "amount": transfer_row["amount"], "accounts": [str(a) for a in net]}
    if db.get_bind().dialect.name == "postgresql":
        event_id = new_id()
        balances, written, count = await _post_in_one_statement(db, net, legs, transfer_row, posting_ids, event_id,
                                                                event)
    else:
        balances, written, count = await _post_in_statements(db, net, legs, transfer_row, posting_ids)
    if len(balances) != len(net):
        await _refusal(db, net, currency)  # raises: which rule, for which account
    # Belt and braces, on in production: what was written balances, as the database returned it.
    if written != 0 or count != len(legs):
        raise UnbalancedTransfer(transfer_id=str(transfer_row["id"]), total=written, postings=count)
    _refresh_loaded(db, balances)
    transfer = TransferRecord(**transfer_row)
    postings = [PostingRecord(**row) for row in _posting_rows(transfer_row, legs, posting_ids, net, balances)]
    if db.get_bind().dialect.name == "postgresql":
        await jobs.deliver_to_subscribers(db, event_id, "payments.transfer_posted", event)
    else:
        await jobs.publish(db, "payments.transfer_posted", event)
    return Posted(transfer, postings)


def _posting_rows(transfer_row: dict[str, Any], legs: Sequence[Leg], ids: list[int], net: dict[int, int],
                  balances: dict[int, int]) -> list[dict[str, Any]]:
    """Each leg's row, its balance-after counted forward from the account's balance before."""
    running = {account_id: balances.get(account_id, 0) - total for account_id, total in net.items()}
    rows = []
    for leg, posting_id in zip(legs, ids, strict=True):
        running[leg.account_id] += leg.amount
        rows.append({"id": posting_id, "transfer_id": transfer_row["id"], "account_id": leg.account_id,
                     "amount": leg.amount, "balance_after": running[leg.account_id],
                     "created_at": transfer_row["created_at"]})
    return rows


async def _post_in_statements(db: AsyncSession, net: dict[int, int], legs: Sequence[Leg],
                              transfer_row: dict[str, Any], ids: list[int]) -> tuple[dict[int, int], int, int]:
    """SQLite (one writer at a time, so no locking order to mind): Core statements on the
    tables — the ORM's bulk paths cost more Python than the database spends on a transfer."""
    accounts = ACCOUNTS.c
    change = case(net, value=accounts.id, else_=0)
    after = accounts.balance + change
    moved = await db.execute(
        update(ACCOUNTS)
        .where(accounts.id.in_(sorted(net)), accounts.currency == transfer_row["currency"],
               or_(accounts.allow_negative, after >= 0), or_(accounts.frozen.is_(False), change >= 0))
        .values(balance=after)
        .returning(accounts.id, accounts.balance))
    balances = {account_id: int(balance) for account_id, balance in moved.all()}
    if len(balances) != len(net):
        return balances, 0, 0
    await db.execute(insert(TRANSFERS), [transfer_row])
    written = await db.execute(insert(POSTINGS).returning(POSTINGS.c.amount),
                               _posting_rows(transfer_row, legs, ids, net, balances))
    amounts = [int(amount) for (amount,) in written.all()]
    return balances, sum(amounts), len(amounts)


# PostgreSQL: the whole transfer in one statement (one round trip). The rows are locked in id
# order first (an UPDATE alone locks them in physical order, which updates keep changing: two
# transfers over the same pair could each hold one and wait for the other); the UPDATE then
# refuses, in its WHERE, any row that would break a rule (re-checked against the latest
# committed balance after waiting for the lock); the transfer, its postings and the outbox event
# are written only if every account moved; the postings' amounts come back to be summed again.
#
# The legs are a VALUES list of scalar parameters, one statement text per shape (accounts ×
# legs; two and two for nearly every transfer), not arrays: planning for an array parameter
# assumes a hundred elements, so PostgreSQL found its generic plan dearer than a custom one and
# planned the statement afresh on every execution — 0.5 ms of the server's CPU per transfer,
# more than running it (32 clients on bare asyncpg: 1,250–1,450 → 2,330–2,530 transfers/s).
_STATEMENT = """
WITH legs(account_id, delta) AS (VALUES {legs}
), locked AS (
    SELECT id FROM ledger_accounts WHERE id IN ({accounts}) ORDER BY id FOR UPDATE
), moved AS (
    UPDATE ledger_accounts AS a SET balance = a.balance + legs.delta
    FROM locked, legs
    WHERE a.id = locked.id AND legs.account_id = a.id AND a.currency = $1
      AND (a.allow_negative OR a.balance + legs.delta >= 0) AND (NOT a.frozen OR legs.delta >= 0)
    RETURNING a.id, a.balance
), complete AS (
    SELECT 1 WHERE (SELECT count(*) FROM moved) = {count}
), transfer AS (
    INSERT INTO ledger_transfers (id, kind, currency, amount, reference, memo, created_at)
    SELECT $2, $3, $1, $4, $5, $6, $7 FROM complete
    RETURNING id
), postings AS (
    INSERT INTO ledger_postings (id, transfer_id, account_id, amount, balance_after, created_at)
    SELECT p.id, t.id, p.account_id, p.amount, m.balance - p.later, $7
    FROM (VALUES {postings}) AS p(id, account_id, amount, later)
    JOIN moved AS m ON m.id = p.account_id CROSS JOIN transfer AS t
    RETURNING amount
), event AS (
    INSERT INTO outbox_events (id, topic, payload, created_at)
    SELECT $8, 'payments.transfer_posted', $9::json, $7 FROM transfer
)
SELECT (SELECT coalesce(array_agg(id), '{{}}') FROM moved), (SELECT coalesce(array_agg(balance), '{{}}') FROM moved),
       (SELECT coalesce(sum(amount), 0) FROM postings), (SELECT count(*) FROM postings)
"""
_FIXED_PARAMETERS = 9


@lru_cache(maxsize=64)
def _statement(accounts: int, legs: int) -> str:
    """The statement for `accounts` distinct accounts moved by `legs` postings."""
    n = _FIXED_PARAMETERS
    net = [f"(${n + 1 + 2 * i}::bigint, ${n + 2 + 2 * i}::bigint)" for i in range(accounts)]
    ids = ", ".join(f"${n + 1 + 2 * i}::bigint" for i in range(accounts))
    n += 2 * accounts
    rows = [f"(${n + 1 + 4 * i}::bigint, ${n + 2 + 4 * i}::bigint, ${n + 3 + 4 * i}::bigint, ${n + 4 + 4 * i}::bigint)"
            for i in range(legs)]
    return _STATEMENT.format(legs=", ".join(net), accounts=ids, count=accounts, postings=", ".join(rows))


async def _post_in_one_statement(db: AsyncSession, net: dict[int, int], legs: Sequence[Leg],
                                 transfer_row: dict[str, Any], ids: list[int], event_id: int,
                                 event: dict[str, Any]) -> tuple[dict[int, int], int, int]:
    parameters: list[Any] = [
        transfer_row["currency"], transfer_row["id"], transfer_row["kind"], transfer_row["amount"],
        transfer_row["reference"], transfer_row["memo"], transfer_row["created_at"], event_id,
        json.dumps(event, separators=(",", ":"))]
    for account_id, delta in net.items():
        parameters += (account_id, delta)
    for n, (leg, posting_id) in enumerate(zip(legs, ids, strict=True)):
        # What this account's later legs add: its balance after this leg is the final less that.
        later = sum(other.amount for other in legs[n + 1:] if other.account_id == leg.account_id)
        parameters += (posting_id, leg.account_id, leg.amount, later)
    # One hop into SQLAlchemy's greenlet for the connection and the statement, not two.
    row: Any = await db.run_sync(_one_row, _statement(len(net), len(legs)), tuple(parameters))
    balances = {int(account_id): int(balance) for account_id, balance in zip(row[0], row[1], strict=True)}
    return balances, int(row[2]), int(row[3])


def _one_row(session: Session, statement: str, parameters: tuple[Any, ...]) -> Any:
    return session.connection().exec_driver_sql(statement, parameters).one()


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
    if not db.identity_map:  # nothing loaded (a bare transfer): skip the mapper lookups
        return
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
