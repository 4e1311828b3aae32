"""`shua payments verify` (a trial balance from the postings) and `shua payments reconcile` (a day
against the bank's report): exit 1 when anything disagrees."""

from __future__ import annotations

import asyncio

from sqlalchemy import update

from shua.core.db import Database
from shua.payments.models import LedgerAccount
from tests.payments.test_ledger import pay, wallets
from tests.test_cli import env, run  # noqa: F401 - the fixture

__all__ = ["env"]


async def test_verify_passes_then_finds_a_tampered_balance(env: None, database: Database) -> None:  # noqa: F811
    alice, bob = await wallets(database, 2, funded=1_000)
    await pay(database, alice, bob, 250)
    code, out = await asyncio.to_thread(run, "payments", "verify")  # its own event loop
    assert code == 0 and "the ledger balances" in out and "3 account(s), 3 transfer(s), 6 posting(s)" in out, out
    async with database.transaction() as db:
        await db.execute(update(LedgerAccount).where(LedgerAccount.id == bob).values(balance=9_999))
    code, out = await asyncio.to_thread(run, "payments", "verify")
    assert code == 1 and "wallet:2:CNY: balance 9999, postings say 1250" in out, out


async def test_reconcile_agrees_then_lists_a_mismatch(env: None, database: Database) -> None:  # noqa: F811
    from shua.core import clock
    from shua.payments.models import BankOperation, PaymentCard, SimulatedBankOperation
    from tests.factories import make_user

    now = clock.utcnow()
    async with database.transaction() as db:
        user = await make_user(db, "payer")
        card = PaymentCard(user_id=user.id, token="card_1111_" + "0" * 20, fingerprint="f" * 64, brand="visa",
                           last4="1111", holder="Z", phone="13800000000", expiry_month=12, expiry_year=2030,
                           status="active", preferred=True, code_attempts=0, created_at=now)
        db.add(card)
        await db.flush()
        op = BankOperation(user_id=user.id, card_id=card.id, kind="charge", purpose="topup", amount=1_000,
                           currency="CNY", status="succeeded", bank_ref="sim_charge_1", created_at=now, settled_at=now)
        db.add(op)
        await db.flush()
        db.add(SimulatedBankOperation(bank_ref="sim_charge_1", reference=f"bankop:{op.id}", kind="charge",
                                      amount=1_000, currency="CNY", outcome="succeeded", created_at=now,
                                      settled_at=now))
    today = now.date().isoformat()
    code, out = await asyncio.to_thread(run, "payments", "reconcile", "--day", today)
    assert code == 0 and "1 match ours" in out and "agree" in out, out
    async with database.transaction() as db:
        await db.execute(update(BankOperation).values(amount=1_001))
    code, out = await asyncio.to_thread(run, "payments", "reconcile", "--day", today)
    assert code == 1 and "amount" in out and f"bankop:{op.id}" in out, out
    code, out = await asyncio.to_thread(run, "payments", "reconcile", "--day", "yesterday")
    assert code == 2
