"""Idempotency keys: a retry storm moves money once; the same key with the same body replays the
stored answer (errors included), with another body is refused, and while the first is running
is told to wait; a crashed attempt's key can be retried. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock, idempotency
from shua.core.db import Database
from shua.core.idempotency import IdempotencyKey, InFlight, InvalidKey, KeyReused
from shua.payments import ledger
from shua.payments.errors import InsufficientFunds
from shua.payments.models import BANK_CLEARING, WALLET, LedgerTransfer


async def transfers(database: Database) -> int:
    async with database.transaction(write=False) as db:
        return int(await db.scalar(select(func.count()).select_from(LedgerTransfer)) or 0)


def top_up(amount: int, calls: list[int] | None = None, gate: asyncio.Event | None = None) -> Any:
    async def work(db: AsyncSession) -> tuple[int, Any]:
        if calls is not None:
            calls.append(1)
        if gate is not None:
            await gate.wait()
        bank, wallet = await ledger.account(db, BANK_CLEARING), await ledger.account(db, WALLET, owner_id=1)
        posted = await ledger.move(db, kind="top_up", source=bank, target=wallet, amount=amount)
        return 201, {"transfer_id": str(posted.transfer.id), "amount": amount}
    return work


def spend(amount: int, calls: list[int]) -> Any:
    async def work(db: AsyncSession) -> tuple[int, Any]:
        calls.append(1)
        wallet, bank = await ledger.account(db, WALLET, owner_id=1), await ledger.account(db, BANK_CLEARING)
        await ledger.move(db, kind="withdrawal", source=wallet, target=bank, amount=amount)
        return 201, {}
    return work


async def run(database: Database, key: str, body: Any, work: Any, scope: str = "user:1:top_up") -> Any:
    return await idempotency.run(database, scope=scope, key=key, body=body, work=work)


class TestReplay:
    async def test_same_key_same_body_replays_without_running_again(self, database: Database) -> None:
        calls: list[int] = []
        first = await run(database, "k-1", {"amount": 500, "card": "c1"}, top_up(500, calls))
        again = await run(database, "k-1", {"card": "c1", "amount": 500}, top_up(500, calls))  # key order differs
        assert first.status == 201 and not first.replayed
        assert again.replayed and again.body == first.body and again.status == 201
        assert calls == [1] and await transfers(database) == 1

    async def test_another_body_is_refused_and_changes_nothing(self, database: Database) -> None:
        await run(database, "k-1", {"amount": 500}, top_up(500))
        with pytest.raises(KeyReused) as raised:
            await run(database, "k-1", {"amount": 501}, top_up(501))
        assert raised.value.status == 422 and await transfers(database) == 1

    async def test_keys_belong_to_their_scope(self, database: Database) -> None:
        await run(database, "same", {"amount": 1}, top_up(1), scope="user:1:top_up")
        await run(database, "same", {"amount": 2}, top_up(2), scope="user:2:top_up")
        assert await transfers(database) == 2

    async def test_a_domain_error_is_the_stored_answer(self, database: Database) -> None:
        calls: list[int] = []
        with pytest.raises(InsufficientFunds):
            await run(database, "k-2", {"amount": 100}, spend(100, calls))
        again = await run(database, "k-2", {"amount": 100}, spend(100, calls))
        assert again.replayed and again.status == 402 and again.body["code"] == "payments.insufficient_funds"
        assert calls == [1]

    async def test_keys_expire_after_a_day(self, database: Database) -> None:
        await run(database, "k-3", {"amount": 5}, top_up(5))
        clock.travel(24 * 3600 + 1)
        fresh = await run(database, "k-3", {"amount": 6}, top_up(6))  # a new request by now
        assert not fresh.replayed and await transfers(database) == 2
        async with database.transaction() as db:
            assert await idempotency.purge_expired(db) == 0  # the renewed key is not expired

    @pytest.mark.parametrize("key", ["", "x" * 256, "has space", "中文", "tab\t", None])
    async def test_invalid_keys(self, database: Database, key: Any) -> None:
        with pytest.raises(InvalidKey):
            await run(database, key, {"amount": 1}, top_up(1))
        assert await transfers(database) == 0


class TestConcurrentAndCrashed:
    async def test_a_duplicate_while_the_first_runs_is_told_to_wait(self, database: Database) -> None:
        gate = asyncio.Event()
        first = asyncio.create_task(run(database, "k-4", {"amount": 9}, top_up(9, gate=gate)))
        while True:  # until the first has claimed the key
            async with database.transaction(write=False) as db:
                if await db.scalar(select(IdempotencyKey.attempts).where(IdempotencyKey.key == "k-4")):
                    break
            await asyncio.sleep(0.01)
        with pytest.raises(InFlight) as raised:
            await run(database, "k-4", {"amount": 9}, top_up(9))
        assert raised.value.status == 409
        gate.set()
        assert (await first).status == 201
        assert (await run(database, "k-4", {"amount": 9}, top_up(9))).replayed

    async def test_a_retry_storm_moves_money_once(self, database: Database) -> None:
        calls: list[int] = []
        results = await asyncio.gather(*(run(database, "storm", {"amount": 700}, top_up(700, calls))
                                         for _ in range(20)), return_exceptions=True)
        done = [r for r in results if not isinstance(r, BaseException)]
        assert all(isinstance(r, InFlight) for r in results if isinstance(r, BaseException))
        assert done and len({r.body["transfer_id"] for r in done}) == 1
        assert calls == [1] and await transfers(database) == 1
        async with database.transaction(write=False) as db:
            assert (await ledger.account(db, WALLET, owner_id=1)).balance == 700

    async def test_an_attempt_that_crashed_frees_its_key(self, database: Database) -> None:
        async def crash(db: AsyncSession) -> tuple[int, Any]:
            await top_up(50)(db)
            raise RuntimeError("connection lost")  # after the writes, before the commit

        with pytest.raises(RuntimeError):
            await run(database, "k-5", {"amount": 50}, crash)
        assert await transfers(database) == 0  # rolled back
        assert (await run(database, "k-5", {"amount": 50}, top_up(50))).status == 201
        assert await transfers(database) == 1

    async def test_a_dead_process_s_claim_lapses(self, database: Database) -> None:
        # What a process killed mid-request leaves: the key claimed, its transaction never committed.
        calls: list[int] = []
        async with database.transaction() as db:
            now = clock.utcnow()
            db.add(IdempotencyKey(scope="user:1:top_up", key="k-6", fingerprint=idempotency.fingerprint({"amount": 8}),
                                  state=idempotency.IN_FLIGHT, locked_at=now, created_at=now,
                                  expires_at=now + idempotency.TTL, attempts=1))
        with pytest.raises(InFlight):
            await run(database, "k-6", {"amount": 8}, top_up(8, calls))
        clock.travel(idempotency.LEASE.total_seconds() + 1)
        assert (await run(database, "k-6", {"amount": 8}, top_up(8, calls))).status == 201
        assert calls == [1] and await transfers(database) == 1


def test_scopes_fit_their_column_and_stay_apart() -> None:
    from shua.web.idempotent import SCOPE_LENGTH, scope_of

    long_a = scope_of(386278000000000000, "after_sale.receive:386279000000000001")
    long_b = scope_of(386278000000000000, "after_sale.receive:386279000000000002")
    assert len(long_a) == len(long_b) == SCOPE_LENGTH and long_a != long_b
    assert scope_of(1, "wallet.transfer") == "user:1:wallet.transfer"
