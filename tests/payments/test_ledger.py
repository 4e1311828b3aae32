"""The double-entry ledger on SQLite and PostgreSQL: balanced transfers only, balances that
never go negative where that is the rule (also under parallel transfers), frozen accounts,
bad amounts that change nothing, and `verify` recomputing everything from the postings.
Property tests (hypothesis) drive random sequences of transfers against a model."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from shua.core.db import Database
from shua.core.errors import ShuaError
from shua.payments import ledger
from shua.payments.errors import (
    AccountFrozen,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    UnbalancedTransfer,
)
from shua.payments.ledger import Leg
from shua.payments.models import BANK_CLEARING, FEES, WALLET, LedgerAccount, LedgerPosting, LedgerTransfer


async def wallets(database: Database, count: int, *, funded: int = 0) -> list[int]:
    """`count` wallets, each topped up with `funded` fen from the bank clearing account."""
    ids = []
    async with database.transaction() as db:
        bank = await ledger.account(db, BANK_CLEARING)
        for owner in range(1, count + 1):
            wallet = await ledger.account(db, WALLET, owner_id=owner)
            if funded:
                await ledger.move(db, kind="top_up", source=bank, target=wallet, amount=funded)
            ids.append(wallet.id)
    return ids


async def balances(database: Database) -> dict[str, int]:
    async with database.transaction(write=False) as db:
        return {a.code: a.balance for a in (await db.scalars(select(LedgerAccount))).all()}


async def counts(database: Database) -> tuple[int, int]:
    async with database.transaction(write=False) as db:
        return (int(await db.scalar(select(func.count()).select_from(LedgerTransfer)) or 0),
                int(await db.scalar(select(func.count()).select_from(LedgerPosting)) or 0))


async def pay(database: Database, source: int, target: int, amount: Any) -> None:
    async with database.transaction() as db:
        accounts = {a.id: a for a in (await db.scalars(select(LedgerAccount).where(
            LedgerAccount.id.in_([source, target])))).all()}
        await ledger.move(db, kind="transfer", source=accounts[source], target=accounts[target], amount=amount)


class TestTransfers:
    async def test_a_top_up_and_a_payment_balance_to_zero(self, database: Database) -> None:
        alice, bob = await wallets(database, 2, funded=10_000)
        await pay(database, alice, bob, 2_550)
        seen = await balances(database)
        assert seen == {"bank_clearing:CNY": -20_000, "wallet:1:CNY": 7_450, "wallet:2:CNY": 12_550}
        async with database.transaction(write=False) as db:
            postings = (await db.scalars(select(LedgerPosting).where(LedgerPosting.account_id == alice)
                                         .order_by(LedgerPosting.id))).all()
            assert [(p.amount, p.balance_after) for p in postings] == [(10_000, 10_000), (-2_550, 7_450)]
            check = await ledger.verify(db)
        assert check.ok and check.totals == {"CNY": 0} and check.transfers == 3 and check.postings == 6

    async def test_accounts_open_once(self, database: Database) -> None:
        async with database.transaction() as db:
            first = await ledger.account(db, WALLET, owner_id=7)
            again = await ledger.account(db, WALLET, owner_id=7)
            usd = await ledger.account(db, WALLET, "USD", owner_id=7)
        assert first.id == again.id != usd.id and first.code == "wallet:7:CNY" and usd.code == "wallet:7:USD"
        assert not first.allow_negative

    async def test_a_split_payment_with_a_fee(self, database: Database) -> None:
        buyer, seller = await wallets(database, 2, funded=1_000)
        async with database.transaction() as db:
            fees = await ledger.account(db, FEES)
            await ledger.post(db, kind="payment", currency="CNY", legs=[
                Leg(buyer, -1_000), Leg(seller, 950), Leg(fees.id, 50)])
        seen = await balances(database)
        assert (seen["wallet:1:CNY"], seen["wallet:2:CNY"], seen["fees:CNY"]) == (0, 1_950, 50)

    async def test_an_account_in_several_legs_keeps_a_running_balance(self, database: Database) -> None:
        alice, bob = await wallets(database, 2, funded=1_000)
        async with database.transaction() as db:
            fees = await ledger.account(db, FEES)
            posted = await ledger.post(db, kind="payment", currency="CNY", legs=[
                Leg(alice, -700), Leg(bob, 650), Leg(fees.id, 50), Leg(alice, 100), Leg(bob, -100)])
        expected = [(alice, -700, 300), (bob, 650, 1_650), (fees.id, 50, 50), (alice, 100, 400), (bob, -100, 1_550)]
        assert [(p.account_id, p.amount, p.balance_after) for p in posted.postings] == expected
        async with database.transaction(write=False) as db:
            stored = (await db.scalars(select(LedgerPosting).where(LedgerPosting.transfer_id == posted.transfer.id)
                                       .order_by(LedgerPosting.id))).all()
            check = await ledger.verify(db)
        assert [(p.account_id, p.amount, p.balance_after) for p in stored] == expected
        assert posted.transfer.amount == 800 and check.ok
        seen = await balances(database)
        assert (seen["wallet:1:CNY"], seen["wallet:2:CNY"], seen["fees:CNY"]) == (400, 1_550, 50)


class TestNothingChangesOnBadInput:
    @pytest.mark.parametrize("amount", [0, -1, -10_000, 1.5, 0.01, True, "100", None, 10**13 + 1, 2**63])
    async def test_bad_amounts(self, database: Database, amount: Any) -> None:
        alice, bob = await wallets(database, 2, funded=10_000)
        before, written = await balances(database), await counts(database)
        with pytest.raises(InvalidAmount):
            await pay(database, alice, bob, amount)
        assert await balances(database) == before and await counts(database) == written

    async def test_unbalanced_one_legged_and_same_account(self, database: Database) -> None:
        alice, bob = await wallets(database, 2, funded=100)
        before, written = await balances(database), await counts(database)
        for legs in ([Leg(alice, -100), Leg(bob, 99)], [Leg(alice, -100)], []):
            with pytest.raises(UnbalancedTransfer):
                async with database.transaction() as db:
                    await ledger.post(db, kind="x", currency="CNY", legs=legs)
        with pytest.raises(UnbalancedTransfer):
            await pay(database, alice, alice, 10)
        assert await balances(database) == before and await counts(database) == written

    async def test_currency_mismatch(self, database: Database) -> None:
        (alice,) = await wallets(database, 1, funded=100)
        async with database.transaction() as db:
            usd = await ledger.account(db, WALLET, "USD", owner_id=2)
        with pytest.raises(CurrencyMismatch):
            await pay(database, alice, usd.id, 50)
        with pytest.raises(CurrencyMismatch):
            async with database.transaction() as db:
                await ledger.post(db, kind="x", currency="XYZ", legs=[Leg(alice, -1), Leg(usd.id, 1)])
        assert (await balances(database))["wallet:1:CNY"] == 100

    async def test_insufficient_funds_and_the_database_constraint(self, database: Database) -> None:
        alice, bob = await wallets(database, 2, funded=100)
        with pytest.raises(InsufficientFunds) as raised:
            await pay(database, alice, bob, 101)
        assert raised.value.status == 402
        await pay(database, alice, bob, 100)  # to the last fen is fine
        assert (await balances(database))["wallet:1:CNY"] == 0
        with pytest.raises(Exception, match="(?i)check|constraint"):  # even a bypass of the service fails
            async with database.transaction() as db:
                await db.execute(update(LedgerAccount).where(LedgerAccount.id == alice).values(balance=-1))

    async def test_a_frozen_account_receives_but_cannot_pay(self, database: Database) -> None:
        alice, bob = await wallets(database, 2, funded=100)
        async with database.transaction() as db:
            await ledger.set_frozen(db, account_id=alice, frozen=True)
        with pytest.raises(AccountFrozen):
            await pay(database, alice, bob, 10)
        await pay(database, bob, alice, 10)
        async with database.transaction() as db:
            await ledger.set_frozen(db, account_id=alice, frozen=False)
        await pay(database, alice, bob, 10)
        assert (await balances(database))["wallet:1:CNY"] == 100


class TestConcurrency:
    async def test_parallel_transfers_keep_the_total_and_never_overdraw(self, database: Database) -> None:
        ids = await wallets(database, 6, funded=1_000)
        rng = random.Random(8)
        outcomes: list[str] = []

        async def client(n: int) -> None:
            for _ in range(15):
                source, target = rng.sample(ids, 2)
                try:
                    await pay(database, source, target, rng.randint(1, 600))
                    outcomes.append("ok")
                except InsufficientFunds:
                    outcomes.append("refused")

        await asyncio.gather(*(client(n) for n in range(8)))
        seen = await balances(database)
        assert sum(v for k, v in seen.items() if k.startswith("wallet:")) == 6_000
        assert all(v >= 0 for k, v in seen.items() if k.startswith("wallet:"))
        assert len(outcomes) == 120 and "ok" in outcomes
        async with database.transaction(write=False) as db:
            assert (await ledger.verify(db)).ok

    async def test_the_last_yuan_is_spent_once(self, database: Database) -> None:
        source, target = await wallets(database, 2)
        async with database.transaction() as db:
            bank = await ledger.account(db, BANK_CLEARING)
            wallet = await db.get(LedgerAccount, source)
            assert wallet is not None
            await ledger.move(db, kind="top_up", source=bank, target=wallet, amount=100)
        results = await asyncio.gather(*(pay(database, source, target, 10) for _ in range(25)),
                                       return_exceptions=True)
        assert sum(r is None for r in results) == 10
        assert all(r is None or isinstance(r, InsufficientFunds) for r in results)
        assert (await balances(database))["wallet:1:CNY"] == 0


class TestVerify:
    async def test_finds_a_tampered_balance_and_an_unbalanced_transfer(self, database: Database) -> None:
        alice, bob = await wallets(database, 2, funded=100)
        async with database.transaction() as db:
            await db.execute(update(LedgerAccount).where(LedgerAccount.id == bob).values(balance=150))
            transfer = (await db.scalars(select(LedgerTransfer))).first()
            assert transfer is not None
            await db.execute(update(LedgerPosting).where(LedgerPosting.transfer_id == transfer.id,
                                                         LedgerPosting.amount > 0).values(amount=70))
        seen: list[tuple[int, int]] = []
        async with database.transaction(write=False) as db:
            check = await ledger.verify(db, progress=lambda d, t: seen.append((d, t)), batch=2)
        assert not check.ok
        assert ("wallet:2:CNY", 150, 100) in check.balance_mismatches
        assert [(t, s) for t, _, s in check.unbalanced_transfers] == [(transfer.id, -30)]
        assert check.totals["CNY"] == -30 and seen[-1] == (3, 3)


OPS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(-5, 400)), max_size=25)


class TestProperties:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(OPS)
    def test_random_transfers_agree_with_a_model(self, database_url: str, ops: list[tuple[int, int, int]]) -> None:
        asyncio.run(_against_model(database_url, ops))


async def _against_model(url: str, ops: list[tuple[int, int, int]]) -> None:
    database = Database(url)
    try:
        async with database.transaction() as db:
            for model in (LedgerPosting, LedgerTransfer, LedgerAccount):
                await db.execute(delete(model))
        ids = await wallets(database, 3, funded=300)
        async with database.transaction() as db:
            ids.append((await ledger.account(db, BANK_CLEARING)).id)
        model = {ids[0]: 300, ids[1]: 300, ids[2]: 300, ids[3]: -900}
        for s, t, amount in ops:
            source, target = ids[s], ids[t]
            expected_ok = source != target and amount > 0 and (source == ids[3] or model[source] >= amount)
            try:
                await pay(database, source, target, amount)
                ok = True
            except ShuaError:
                ok = False
            assert ok == expected_ok, (s, t, amount, model)
            if ok:
                model[source] -= amount
                model[target] += amount
        async with database.transaction(write=False) as db:
            stored = {a.id: a.balance for a in (await db.scalars(select(LedgerAccount))).all()}
            check = await ledger.verify(db)
        assert stored == model and check.ok and sum(stored.values()) == 0
    finally:
        async with database.transaction() as db:
            for table in (LedgerPosting, LedgerTransfer, LedgerAccount):
                await db.execute(delete(table))
        await database.dispose()
