"""Shua Pay for operators: the chart of accounts, the trial balance, freezing an account, the
day's reconciliation against the bank, and the audit log of all of it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from shua.core import audit, clock
from shua.core.ids import ID
from shua.core.text import Line
from shua.payments import ledger, reconcile
from shua.payments.connectors import bank_of
from shua.payments.models import KINDS, LedgerAccount
from shua.payments.routes import PROBLEMS
from shua.web.deps import DB, AdminAuth, RuntimeDep

admin = APIRouter(prefix="/api/v1/admin/payments", tags=["admin"])


class AccountRead(BaseModel):
    id: ID
    code: str
    kind: str
    owner_id: ID | None
    currency: str
    balance: int
    allow_negative: bool
    frozen: bool
    created_at: datetime


class AccountsPage(BaseModel):
    items: list[AccountRead]
    next: str | None


class KindTotalRead(BaseModel):
    currency: str
    kind: str
    accounts: int
    balance: int


class TrialBalanceRead(BaseModel):
    rows: list[KindTotalRead]
    totals: dict[str, int] = Field(description="Per currency: always 0 in a sound ledger")
    balanced: bool


class FreezeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Line(200, min_length=1)  # type: ignore[valid-type]


class MismatchRead(BaseModel):
    problem: str
    reference: str
    ours: int | None
    bank: int | None
    detail: str


class ReconciliationRead(BaseModel):
    day: date
    bank_lines: int
    matched: int
    bank_total: int
    our_total: int
    ok: bool
    mismatches: list[MismatchRead]


class AuditRead(BaseModel):
    id: ID
    actor_id: ID | None
    action: str
    target: str
    details: dict[str, object]
    at: datetime


def account_read(a: LedgerAccount) -> AccountRead:
    return AccountRead(id=a.id, code=a.code, kind=a.kind, owner_id=a.owner_id, currency=a.currency, balance=a.balance,
                       allow_negative=a.allow_negative, frozen=a.frozen, created_at=a.created_at)


@admin.get("/accounts", responses=PROBLEMS)
async def chart_of_accounts(_admin: AdminAuth, db: DB,
                            kind: Annotated[str | None, Query(pattern="^(" + "|".join(KINDS) + ")$")] = None,
                            owner_id: ID | None = None, after: ID | None = None,
                            limit: Annotated[int, Query(ge=1, le=200)] = 50) -> AccountsPage:
    """Every ledger account (科目): kind, owner, balance, frozen or not."""
    found = await ledger.accounts(db, kind=kind, owner_id=owner_id, after=after, limit=limit)
    return AccountsPage(items=[account_read(a) for a in found], next=str(found[-1].id) if len(found) == limit else None)


@admin.get("/trial-balance", responses=PROBLEMS)
async def trial_balance(_admin: AdminAuth, db: DB) -> TrialBalanceRead:
    """Balances by kind; each currency's sum is zero or the ledger is broken."""
    rows = await ledger.trial_balance(db)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.currency] = totals.get(row.currency, 0) + row.balance
    return TrialBalanceRead(rows=[KindTotalRead(**vars(r)) for r in rows], totals=totals,
                            balanced=not any(totals.values()))


@admin.put("/accounts/{account_id}/freeze", responses=PROBLEMS)
async def freeze(account_id: ID, body: FreezeRequest, auth: AdminAuth, db: DB) -> AccountRead:
    """Freeze an account: it can receive but not pay (fraud, a court order). Audited."""
    account = await ledger.set_frozen(db, account_id=account_id, frozen=True)
    await audit.record(db, actor_id=auth.user.id, action="payments.account_freeze", target=account.code,
                       reason=body.reason)
    return account_read(account)


@admin.delete("/accounts/{account_id}/freeze", responses=PROBLEMS)
async def unfreeze(account_id: ID, auth: AdminAuth, db: DB) -> AccountRead:
    account = await ledger.set_frozen(db, account_id=account_id, frozen=False)
    await audit.record(db, actor_id=auth.user.id, action="payments.account_unfreeze", target=account.code)
    return account_read(account)


@admin.get("/reconciliation", responses=PROBLEMS)
async def reconciliation(_admin: AdminAuth, db: DB, runtime: RuntimeDep, day: date | None = None) -> ReconciliationRead:
    """The bank's report for `day` (UTC; today by default) against our operations."""
    found = await reconcile.reconcile(db, bank_of(runtime), day=day or clock.utcnow().date())
    return ReconciliationRead(day=found.day, bank_lines=found.bank_lines, matched=found.matched,
                              bank_total=found.bank_total, our_total=found.our_total, ok=found.ok,
                              mismatches=[MismatchRead(**vars(m)) for m in found.mismatches])


@admin.get("/audit", responses=PROBLEMS)
async def audit_log(_admin: AdminAuth, db: DB, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[AuditRead]:
    """What operators did to money: freezes, refunds they made."""
    return [AuditRead(id=e.id, actor_id=e.actor_id, action=e.action, target=e.target, details=e.details, at=e.at)
            for e in await audit.entries(db, action_prefix="payments.", limit=limit)]
