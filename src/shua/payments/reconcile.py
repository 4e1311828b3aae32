"""Daily reconciliation: what the bank says it settled on a day, line by line against our bank
operations. Anything that does not agree is listed for an operator — never corrected silently."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.payments.bank import BankConnector, ReportLine
from shua.payments.banking import _operation_id, reference_of
from shua.payments.models import SUCCEEDED, BankOperation


@dataclass(frozen=True)
class Mismatch:
    problem: str  # missing_here | missing_at_bank | status | amount
    reference: str
    ours: int | None  # amount in fen, or None
    bank: int | None
    detail: str = ""


@dataclass
class Reconciliation:
    day: date
    bank_lines: int = 0
    matched: int = 0
    bank_total: int = 0
    our_total: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


async def reconcile(db: AsyncSession, bank: BankConnector, *, day: date) -> Reconciliation:
    result = Reconciliation(day=day)
    lines = await bank.report(day)
    # Settlement near midnight can fall on either side of it in the two books: look a day around.
    nearby: dict[str, ReportLine] = {}
    for other in (day - timedelta(days=1), day + timedelta(days=1)):
        nearby.update({line.reference: line for line in await bank.report(other)})
    ids = [i for i in (_operation_id(line.reference) for line in lines) if i is not None]
    ours = {op.id: op for op in (await db.scalars(select(BankOperation).where(BankOperation.id.in_(ids)))).all()}
    reported = set()
    for line in lines:
        result.bank_lines += 1
        result.bank_total += line.amount
        reported.add(line.reference)
        op = ours.get(_operation_id(line.reference) or 0)
        if op is None:
            result.mismatches.append(Mismatch("missing_here", line.reference, None, line.amount))
        elif op.amount != line.amount:
            result.mismatches.append(Mismatch("amount", line.reference, op.amount, line.amount))
        elif op.status != SUCCEEDED:
            result.mismatches.append(Mismatch("status", line.reference, op.amount, line.amount, op.status))
        else:
            result.matched += 1
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    settled = (await db.scalars(select(BankOperation).where(
        BankOperation.status == SUCCEEDED, BankOperation.settled_at >= start,
        BankOperation.settled_at < start + timedelta(days=1)))).all()
    for op in settled:
        result.our_total += op.amount
        reference = reference_of(op.id)
        if reference not in reported and reference not in nearby:
            result.mismatches.append(Mismatch("missing_at_bank", reference, op.amount, None))
    return result
