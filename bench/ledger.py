"""Ledger benchmark: wallet-to-wallet transfers per second through Shua Pay's ledger, next to an
anchor measured in the same run on the same server.

    .venv/bin/python bench/ledger.py                        # PostgreSQL and SQLite
    .venv/bin/python bench/ledger.py --backend postgres --clients 32 --seconds 20 [--processes 1]

PostgreSQL: a fresh migrated database with `--wallets` funded wallets; `--clients` concurrent
asyncio clients, each transfer its own transaction through `payments.ledger.post` (row locks on
both wallets in id order, balance check, a transfer and two postings, the balances moved, the
sum read back, an outbox event) for `--seconds`. The clients are spread over `--processes` OS
processes, one per core by default — as `shua serve --workers N` runs the API, and as pgbench
runs its clients on `-j 2` threads — each with a connection pool of its clients' size
(SHUA_DATABASE_POOL_SIZE) and its startup objects frozen out of the collector, as a serving
process has. Anchor: pgbench's built-in TPC-B script
(`-b tpcb-like`: three UPDATEs, a SELECT and an INSERT per transaction) with the same number of
clients and seconds, on a pgbench schema (`-i -s 10`) in the same database.

SQLite: the same clients on one database file (WAL, the app's pragmas; writers take turns
through `BEGIN IMMEDIATE`). Anchor: the same writes as plain SQL on one sqlite3 connection —
BEGIN IMMEDIATE, two balance UPDATEs, a transfer and two posting INSERTs, COMMIT — in a loop.

Printed: transfers/s of each and ours/anchor (goal on PostgreSQL ≥ 0.5×).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from shua.core import loop  # noqa: E402 - the uvloop the API runs on, when installed


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def seed(database: object, wallets: int) -> list[int]:
    from shua.payments import ledger
    from shua.payments.models import BANK_CLEARING, WALLET

    ids = []
    async with database.transaction() as db:  # type: ignore[attr-defined]
        bank = await ledger.account(db, BANK_CLEARING)
        for owner in range(1, wallets + 1):
            wallet = await ledger.account(db, WALLET, owner_id=owner)
            await ledger.move(db, kind="top_up", source=bank, target=wallet, amount=10_000_000)
            ids.append(wallet.id)
    return ids


async def shua_rate(database: object, ids: list[int], clients: int, seconds: float) -> tuple[float, int]:
    """Transfers per second (and how many were refused for lack of funds: should be none)."""
    from shua.payments import ledger
    from shua.payments.errors import InsufficientFunds

    done = refused = 0
    deadline = time.perf_counter() + seconds

    async def client(seed_: int) -> None:
        nonlocal done, refused
        rng = random.Random(seed_)
        while time.perf_counter() < deadline:
            source, target = rng.sample(ids, 2)
            amount = rng.randint(1, 5_000)
            try:
                async with database.transaction() as db:  # type: ignore[attr-defined]
                    await ledger.post(db, kind="transfer", currency="CNY",
                                      legs=[ledger.Leg(source, -amount), ledger.Leg(target, amount)])
                done += 1
            except InsufficientFunds:
                refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return done / (time.perf_counter() - started), refused


async def empty_rate(url: str, clients: int, seconds: float) -> float:
    """The floor under any write: empty read-write transactions (BEGIN, SELECT 1, COMMIT) through
    the app's `Database.transaction()`, with the same clients."""
    from shua.core.db import Database

    database = Database(url, pool_size=clients)
    done, deadline = 0, time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with database.transaction() as db:
                await (await db.connection()).exec_driver_sql("SELECT 1")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    await database.dispose()
    return done / (time.perf_counter() - started)


async def measure(url: str, backend: str, wallets: int, clients: int, seconds: float,
                  processes: int = 1) -> tuple[float, list[int]]:
    """Shua's rate on the database at `url`: seed the wallets, run the clients (spread over
    `processes` OS processes, like API workers), verify the ledger."""
    from shua.core.db import Database

    database = Database(url, pool_size=clients)  # a connection per client, as SHUA_DATABASE_POOL_SIZE sets
    try:
        ids = await seed(database, wallets)
        log(f"{backend}: {wallets} wallets; {clients} clients in {processes} process(es) for {seconds:.0f} s"
            " through payments.ledger")
        if processes == 1:
            await connect(database, clients)
            cpu = time.process_time()
            ours, refused = await shua_rate(database, ids, clients, seconds)
            log(f"  client process CPU: {(time.process_time() - cpu) / (ours * seconds) * 1e6:,.0f} µs per transfer")
        else:
            ours, refused = await _in_processes(url, ids, clients, seconds, processes)
        log(f"  {ours:,.0f} transfers/s ({refused} refused)")
        await check(database)
        return ours, ids
    finally:
        await database.dispose()


async def _in_processes(url: str, ids: list[int], clients: int, seconds: float, processes: int) -> tuple[float, int]:
    """The processes start (import, connect) first and then run together from one signal, so the
    sum of their rates is a rate over one window."""
    share = [clients // processes + (n < clients % processes) for n in range(processes)]
    workers = [await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--worker", url, ",".join(map(str, ids)), str(n), str(seconds),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE) for n in share if n]
    for w in workers:
        assert w.stdout is not None
        if (await w.stdout.readline()).strip() != b"ready":
            raise SystemExit("a client process failed to start")
    outputs = [await w.communicate(b"go\n") for w in workers]
    rates = [line.split() for out, _ in outputs for line in out.decode().splitlines() if line.startswith("rate ")]
    total = sum(float(r[1]) for r in rates)
    log(f"  client processes' CPU: {sum(float(r[3]) for r in rates) / (total * seconds) * 1e6:,.0f} µs per transfer")
    return total, sum(int(r[2]) for r in rates)


async def worker(url: str, ids: list[int], clients: int, seconds: float) -> None:
    import shua.contexts
    from shua.core.db import Database

    shua.contexts.load_all()
    loop.freeze_startup_objects()
    database = Database(url, pool_size=clients)
    await connect(database, clients)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    cpu = time.process_time()
    rate, refused = await shua_rate(database, ids, clients, seconds)
    cpu = time.process_time() - cpu
    await database.dispose()
    print(f"rate {rate} {refused} {cpu}", flush=True)


async def connect(database: object, clients: int) -> None:
    """Open the pool's connections before the clock starts (a serving process has them open)."""
    async def one() -> None:
        async with database.transaction(write=False) as db:  # type: ignore[attr-defined]
            await (await db.connection()).exec_driver_sql("SELECT 1")
            await asyncio.sleep(0.05)  # hold it, so each client opens its own

    await asyncio.gather(*(one() for _ in range(clients)))


async def check(database: object) -> None:
    from shua.payments import ledger

    async with database.transaction(write=False) as db:  # type: ignore[attr-defined]
        result = await ledger.verify(db)
    log(f"verify: {'ok' if result.ok else 'FAILED'} ({result.transfers:,} transfers, totals {result.totals})")
    if not result.ok:
        raise SystemExit(1)


def checkpoint(dsn_parts: dict[str, str]) -> None:
    """Write out what earlier work left dirty, so neither side's run pays for the other's writes
    (both share the server's two cores and disk)."""
    subprocess.run(["psql", "-h", dsn_parts["host"], "-p", dsn_parts["port"], "-U", dsn_parts["user"], "-qc",
                    "CHECKPOINT", dsn_parts["db"]], check=True, capture_output=True)


def pgbench_rate(dsn_parts: dict[str, str], clients: int, seconds: float) -> float:
    base = ["-h", dsn_parts["host"], "-p", dsn_parts["port"], "-U", dsn_parts["user"]]
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", *base, dsn_parts["db"]], check=True, capture_output=True)
    checkpoint(dsn_parts)
    out = subprocess.run(["pgbench", "-b", "tpcb-like", "-c", str(clients), "-j", "2", "-T", str(int(seconds)),
                          "-n", *base, dsn_parts["db"]], check=True, capture_output=True, text=True).stdout
    found = re.search(r"tps = ([\d.]+)", out)
    if not found:
        raise SystemExit(f"pgbench printed no tps:\n{out}")
    return float(found.group(1))


async def run_postgres(url: str, wallets: int, clients: int, seconds: float, processes: int) -> tuple[float, float]:
    from social import fresh_database

    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench is not installed (Debian: apt-get install postgresql-client)")
    async with fresh_database(url, "shua_bench_ledger") as bench_url:
        match = re.match(r"postgresql\+asyncpg://(?P<user>[^@]+)@(?P<host>[^:/]+):(?P<port>\d+)/(?P<db>.+)", bench_url)
        assert match, bench_url
        await asyncio.to_thread(checkpoint, match.groupdict())
        ours, _ = await measure(bench_url, "postgres", wallets, clients, seconds, processes)
        floor = await empty_rate(bench_url, clients, min(seconds, 10))
        log(f"postgres: empty transactions through Database.transaction(): {floor:,.0f} /s (one process)")
        log(f"postgres: pgbench tpcb-like, {clients} clients for {seconds:.0f} s")
        anchor = await asyncio.to_thread(pgbench_rate, match.groupdict(), clients, seconds)
        log(f"  {anchor:,.0f} transactions/s")
    return ours, anchor


def sqlite_anchor(path: Path, ids: list[int], seconds: float) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    rng = random.Random(3)
    done, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    next_id = 9 * 10**17
    while time.perf_counter() < deadline:
        source, target = rng.sample(ids, 2)
        amount = rng.randint(1, 5_000)
        next_id += 3
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE ledger_accounts SET balance = balance - ? WHERE id = ?", (amount, source))
        conn.execute("UPDATE ledger_accounts SET balance = balance + ? WHERE id = ?", (amount, target))
        conn.execute("INSERT INTO ledger_transfers (id, kind, currency, amount, reference, memo, created_at)"
                     " VALUES (?, 'transfer', 'CNY', ?, '', '', '2026-12-01 00:00:00')", (next_id, amount))
        for n, (account, change) in enumerate(((source, -amount), (target, amount)), start=1):
            conn.execute("INSERT INTO ledger_postings (id, transfer_id, account_id, amount, balance_after, created_at)"
                         " VALUES (?, ?, ?, ?, 0, '2026-12-01 00:00:00')", (next_id + n, next_id, account, change))
        conn.execute("COMMIT")
        done += 1
    rate = done / (time.perf_counter() - started)
    conn.close()
    return rate


async def run_sqlite(wallets: int, clients: int, seconds: float) -> tuple[float, float]:
    from shua.core.migrate import upgrade_async

    folder = Path(tempfile.mkdtemp(prefix="shua-bench-ledger-"))
    try:
        url = f"sqlite+aiosqlite:///{folder / 'ledger.db'}"
        await upgrade_async(url)
        ours, ids = await measure(url, "sqlite", wallets, clients, seconds)
        log(f"sqlite: the same writes as bare SQL on one sqlite3 connection for {seconds:.0f} s")
        anchor = sqlite_anchor(folder / "ledger.db", ids, seconds)
        log(f"  {anchor:,.0f} transactions/s")
        return ours, anchor
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(backend: str, anchor_name: str, ours: float, anchor: float) -> None:
    print(f"\n{backend}")
    print(f"  shua ledger transfers   {ours:9,.0f} /s")
    print(f"  {anchor_name:22s}  {anchor:9,.0f} /s")
    print(f"  ratio (ours/anchor)     {ours / anchor:9.2f} ×")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--wallets", type=int, default=1000)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="PostgreSQL: spread the clients over this many processes (as API workers are); "
                             "default one per core")
    args = parser.parse_args()
    import shua.contexts

    shua.contexts.load_all()
    loop.freeze_startup_objects()
    log(f"{platform.node() or 'machine'}: {os.cpu_count()} cores, Python {platform.python_version()}")
    results = []
    if args.backend in ("postgres", "both"):
        results.append(("PostgreSQL", "pgbench tpcb-like", *await run_postgres(
            args.database_url, args.wallets, args.clients, args.seconds, args.processes)))
    if args.backend in ("sqlite", "both"):
        results.append(("SQLite", "bare SQL, one conn", *await run_sqlite(args.wallets, args.clients, args.seconds)))
    for backend, anchor_name, ours, anchor in results:
        report(backend, anchor_name, ours, anchor)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        loop.run(worker(sys.argv[2], [int(i) for i in sys.argv[3].split(",")], int(sys.argv[4]), float(sys.argv[5])))
        raise SystemExit(0)
    raise SystemExit(loop.run(main()))
