"""The bank test: a process of four concurrent clients moves money between wallets and pays
payment intents through idempotency keys while it is SIGKILLed at random moments, and restarted,
like a client that retries. Afterwards no money appeared or vanished, every balance matches its
postings, each key moved money at most once, every intent is in a final state with its money in
escrow, and replaying every key changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

from sqlalchemy import func, select

from shua.core.db import Database
from shua.payments import ledger
from shua.payments.models import LedgerAccount, LedgerTransfer, PaymentIntent
from tests.payments.crash_worker import is_payment
from tests.payments.crash_worker import main as replay
from tests.payments.test_ledger import wallets

ROOT = Path(__file__).resolve().parents[2]
COUNT = 60


async def start(url: str, ids: list[int]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.payments.crash_worker", url, ",".join(map(str, ids)), str(COUNT), "7",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"})


async def test_kill_the_client_at_random_moments(database: Database, database_url: str) -> None:
    ids = await wallets(database, 5, funded=5_000)
    rng = random.Random(11)
    kills = 0
    for _ in range(6):  # start, let it answer a few keys, SIGKILL it at a random moment after
        worker = await start(database_url, ids)
        assert worker.stdout is not None
        for _ in range(rng.randint(1, 6)):
            if not await asyncio.wait_for(worker.stdout.readline(), timeout=60):
                break
        await asyncio.sleep(rng.uniform(0, 0.03))  # somewhere inside the next transfers, or between them
        if worker.returncode is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        await worker.wait()
    async with database.transaction(write=False) as db:
        before_end = int(await db.scalar(select(func.count()).select_from(LedgerTransfer)
                                         .where(LedgerTransfer.kind == "transfer")) or 0)
    assert 0 < before_end < COUNT  # the kills came while it was working
    worker = await start(database_url, ids)  # and once to the end
    out, err = await asyncio.wait_for(worker.communicate(), timeout=240)
    assert worker.returncode == 0, err.decode()[-2000:]
    assert kills >= 3 and out.decode().split()[-1] == "done"

    async def state() -> tuple[int, dict[str, int]]:
        async with database.transaction(write=False) as db:
            per_key = dict((await db.execute(select(LedgerTransfer.reference, func.count())
                                              .where(LedgerTransfer.kind == "transfer")
                                              .group_by(LedgerTransfer.reference))).all())
            paid = (await db.execute(select(PaymentIntent.reference, func.count()).group_by(PaymentIntent.reference)
                                     )).all()
            per_key.update({str(reference): int(n) for reference, n in paid})
            total = int(await db.scalar(select(func.sum(LedgerAccount.balance))
                                        .where(LedgerAccount.kind.in_(("wallet", "escrow")))) or 0)
            return total, per_key

    total, per_key = await state()
    assert total == 25_000  # nothing appeared or vanished
    assert per_key and max(per_key.values()) == 1  # no key moved money (or paid) twice
    assert any(is_payment(key) for key in per_key) and any(not is_payment(key) for key in per_key)
    async with database.transaction(write=False) as db:
        found = (await db.scalars(select(PaymentIntent))).all()
        escrow = int(await db.scalar(select(func.sum(LedgerAccount.balance))
                                     .where(LedgerAccount.kind == "escrow")) or 0)
    assert {i.status for i in found} == {"succeeded"}  # created and paid in one transaction: never half
    assert escrow == sum(i.amount for i in found)
    async with database.transaction(write=False) as db:
        check = await ledger.verify(db)
    assert check.ok, check

    await replay(database_url, ids, COUNT, 7)  # every request again, as a client retrying after the fact
    assert await state() == (total, per_key)
