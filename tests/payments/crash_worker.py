"""A client process for the crash test: four concurrent clients work through a fixed list of
keyed transfers and payments (every third item: a payment intent created and paid from the
wallet into the payee's escrow), retrying each until it has an answer, and the test SIGKILLs the
process at random moments.

    python -m tests.payments.crash_worker DATABASE_URL WALLET_IDS COUNT SEED
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

import shua.contexts
from shua.core import idempotency
from shua.core.db import Database
from shua.core.errors import ShuaError
from shua.payments import intents, ledger
from shua.payments.models import LedgerAccount


def plan(wallets: list[int], count: int, seed: int) -> list[tuple[str, int, int, int]]:
    rng = random.Random(seed)
    return [(f"crash-{seed}-{n}", *rng.sample(wallets, 2), rng.randint(1, 3_000)) for n in range(count)]


def is_payment(key: str) -> bool:
    return int(key.rsplit("-", 1)[1]) % 3 == 2


LANES = 4  # concurrent clients in the process, each working through its share of the plan in order


async def main(url: str, wallets: list[int], count: int, seed: int) -> None:
    shua.contexts.load_all()
    database = Database(url)
    steps = plan(wallets, count, seed)
    await asyncio.gather(*(lane(database, steps[n::LANES]) for n in range(LANES)))
    print("done", flush=True)
    await database.dispose()


async def lane(database: Database, steps: list[tuple[str, int, int, int]]) -> None:
    for key, source, target, amount in steps:
        async def work(db: AsyncSession, source: int = source, target: int = target, amount: int = amount,
                       key: str = key) -> tuple[int, Any]:
            if is_payment(key):
                payer, payee = (await db.get(LedgerAccount, source)), (await db.get(LedgerAccount, target))
                assert payer is not None and payee is not None and payer.owner_id and payee.owner_id
                intent = await intents.create(db, payee_id=payee.owner_id, payer_id=payer.owner_id, amount=amount,
                                              reference=key)
                await intents.confirm(db, user_id=payer.owner_id, intent_id=intent.id, method="wallet")
                return 201, {"intent_id": str(intent.id)}
            posted = await ledger.post(db, kind="transfer", currency="CNY", reference=key,
                                       legs=[ledger.Leg(source, -amount), ledger.Leg(target, amount)])
            return 201, {"transfer_id": str(posted.transfer.id)}

        while True:
            try:
                await idempotency.run(database, scope="crash", key=key, body=[source, target, amount], work=work)
                break
            except idempotency.InFlight:
                await asyncio.sleep(0.2)  # the claim of an attempt that was killed: wait for its lease
            except ShuaError:
                break  # a definite answer (insufficient funds): stored, replayed on retry
        print(key, flush=True)


if __name__ == "__main__":
    idempotency.LEASE = timedelta(seconds=1)  # a killed attempt's claim lapses quickly in the test
    asyncio.run(main(sys.argv[1], [int(w) for w in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])))
