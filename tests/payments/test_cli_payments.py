"""`shua payments verify`: a trial balance from the postings, exit 1 when anything disagrees."""

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
