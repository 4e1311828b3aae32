"""Checkout benchmark (issue 9): orders per second through the shop's checkout — stock held by
guarded UPDATEs, prices re-checked, the order, its items and Shua Pay intent written, the expiry
job queued — with 32 concurrent buyers over 1,000 SKUs, next to the ledger's raw transfer rate
measured in the same run on the same database (the anchor); and the contended case, the last 10
items of one SKU to 200 buyers at once, which must sell exactly 10.

    .venv/bin/python bench/checkout.py                      # PostgreSQL and SQLite
    .venv/bin/python bench/checkout.py --backend sqlite --seconds 10

Printed: checkouts/s, the anchor's transfers/s, their ratio, and the contended case's sales and
time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from shua.core import loop  # noqa: E402 - the uvloop the API runs on, when installed

PRICE = 1_990


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def seed(database: object, skus: int, buyers: int) -> tuple[list[int], list[tuple[int, int]], int]:
    """A shop with `skus` SKUs (ample stock), `buyers` buyers with an address each, and one SKU
    with exactly 10 left for the contended case."""
    from shua.accounts.models import User
    from shua.commerce import addresses, shops
    from shua.core import clock
    from shua.core.ids import new_id

    async def user(db: object, handle: str) -> int:
        now = clock.utcnow()
        row = User(id=new_id(), handle=handle, nickname=handle, password_hash="!", bio="", role="user",
                   status="active", created_at=now, updated_at=now)
        db.add(row)  # type: ignore[attr-defined]
        await db.flush()  # type: ignore[attr-defined]
        return row.id

    async with database.transaction() as db:  # type: ignore[attr-defined]
        seller = await user(db, "bench_seller")
        await shops.open_shop(db, owner_id=seller, name="bench", kind="business")
        sku_ids: list[int] = []
        for n in range(0, skus, 10):
            _, made = await shops.add_product(db, owner_id=seller, title=f"商品 {n // 10}", description="",
                                              skus=[(f"规格 {k}", PRICE, 1_000_000) for k in range(min(10, skus - n))])
            sku_ids += [s.id for s in made]
        _, last = await shops.add_product(db, owner_id=seller, title="限量款", description="",
                                          skus=[("最后", PRICE, 10)])
        people = []
        for n in range(buyers):
            buyer = await user(db, f"bench_buyer_{n}")
            address = await addresses.add(db, user_id=buyer, name="买家", phone="13800138000", region="上海",
                                          detail=f"{n} 号")
            people.append((buyer, address.id))
    return sku_ids, people, last[0].id


async def checkout_rate(database: object, skus: list[int], people: list[tuple[int, int]], clients: int,
                        seconds: float) -> tuple[float, int]:
    from shua.commerce import orders
    from shua.core.errors import ShuaError

    done = refused = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal done, refused
        rng = random.Random(n)
        buyer, address = people[n % len(people)]
        while time.perf_counter() < deadline:
            quantity = rng.randint(1, 3)
            try:
                async with database.transaction() as db:  # type: ignore[attr-defined]
                    await orders.checkout(db, buyer_id=buyer, address_id=address, expected_total=PRICE * quantity,
                                          lines=[orders.Line(rng.choice(skus), quantity)])
                done += 1
            except ShuaError:
                refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return done / (time.perf_counter() - started), refused


async def contended(database: object, sku: int, people: list[tuple[int, int]], buyers: int) -> tuple[int, float]:
    from shua.commerce import orders
    from shua.commerce.errors import OutOfStock

    sold = 0

    async def attempt(n: int) -> None:
        nonlocal sold
        buyer, address = people[n % len(people)]
        try:
            async with database.transaction() as db:  # type: ignore[attr-defined]
                await orders.checkout(db, buyer_id=buyer, address_id=address, expected_total=PRICE,
                                      lines=[orders.Line(sku, 1)])
            sold += 1
        except OutOfStock:
            pass

    started = time.perf_counter()
    await asyncio.gather(*(attempt(n) for n in range(buyers)))
    return sold, time.perf_counter() - started


async def measure(url: str, backend: str, args: argparse.Namespace) -> tuple[float, float, int, float]:
    import ledger as ledger_bench

    from shua.core.db import Database

    database = Database(url)
    try:
        log(f"{backend}: seeding {args.skus} SKUs and {args.buyers} buyers")
        skus, people, last = await seed(database, args.skus, args.buyers)
        log(f"{backend}: {args.clients} buyers checking out for {args.seconds:.0f} s")
        ours, refused = await checkout_rate(database, skus, people, args.clients, args.seconds)
        log(f"  {ours:,.0f} checkouts/s ({refused} refused)")
        wallets = await ledger_bench.seed(database, 1_000)
        log(f"{backend}: the anchor, ledger transfers with the same clients for {args.seconds:.0f} s")
        anchor, _ = await ledger_bench.shua_rate(database, wallets, args.clients, args.seconds)
        log(f"  {anchor:,.0f} transfers/s")
        sold, took = await contended(database, last, people, 200)
        log(f"{backend}: the last 10 items to 200 buyers at once: {sold} sold in {took * 1000:,.0f} ms")
        if sold != 10:
            raise SystemExit(f"oversold or undersold: {sold} of 10")
        return ours, anchor, sold, took
    finally:
        await database.dispose()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--skus", type=int, default=1_000)
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    import shua.contexts

    shua.contexts.load_all()
    log(f"{platform.node() or 'machine'}: {os.cpu_count()} cores, Python {platform.python_version()}")
    results = []
    if args.backend in ("postgres", "both"):
        from social import fresh_database

        async with fresh_database(args.database_url, "shua_bench_checkout") as url:
            results.append(("PostgreSQL", *await measure(url, "postgres", args)))
    if args.backend in ("sqlite", "both"):
        from shua.core.migrate import upgrade_async

        folder = Path(tempfile.mkdtemp(prefix="shua-bench-checkout-"))
        try:
            url = f"sqlite+aiosqlite:///{folder / 'checkout.db'}"
            await upgrade_async(url)
            results.append(("SQLite", *await measure(url, "sqlite", args)))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    for backend, ours, anchor, sold, took in results:
        print(f"\n{backend}")
        print(f"  checkouts                 {ours:9,.0f} /s")
        print(f"  ledger transfers (anchor) {anchor:9,.0f} /s")
        print(f"  ratio (ours/anchor)       {ours / anchor:9.2f} ×")
        print(f"  last 10 to 200 buyers     {sold} sold in {took * 1000:,.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(loop.run(main()))
