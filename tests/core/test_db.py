"""The unit of work on both backends; SQLite writers must not fail under concurrency."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from shua.core.db import Database

PROCESSES = 4
INCREMENTS = 40


async def _increment_many(url: str, n: int, pause: float = 0.0) -> int:
    """Read-then-write increments, the pattern that fails under SQLite's deferred BEGIN."""
    database = Database(url)
    errors = 0
    try:
        for _ in range(n):
            try:
                async with database.transaction() as db:
                    # FOR UPDATE makes PostgreSQL serialise too; SQLite ignores it (BEGIN IMMEDIATE does it).
                    value = await db.scalar(text("SELECT value FROM test_counter WHERE id = 1 FOR UPDATE")
                                            if not database.is_sqlite else
                                            text("SELECT value FROM test_counter WHERE id = 1"))
                    await asyncio.sleep(pause)  # widen the read-then-write window
                    await db.execute(text("UPDATE test_counter SET value = :v WHERE id = 1"), {"v": value + 1})
            except Exception:
                errors += 1
    finally:
        await database.dispose()
    return errors


def _worker(url: str, n: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    results.put(asyncio.run(_increment_many(url, n, pause=0.002)))


@pytest.fixture
async def counter(database: Database):  # type: ignore[no-untyped-def]
    async with database.transaction() as db:
        await db.execute(text(
            "CREATE TABLE IF NOT EXISTS test_counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"))
        await db.execute(text("DELETE FROM test_counter"))
        await db.execute(text("INSERT INTO test_counter (id, value) VALUES (1, 0)"))
    yield
    async with database.transaction() as db:
        await db.execute(text("DROP TABLE test_counter"))


class TestConcurrentWriters:
    @pytest.mark.slow
    async def test_processes_increment_exactly(self, database: Database, database_url: str, counter: None) -> None:
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(database_url, INCREMENTS, results)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        errors = [await asyncio.to_thread(results.get, True, 120) for _ in procs]
        for p in procs:
            await asyncio.to_thread(p.join, 30)
        assert errors == [0] * PROCESSES
        async with database.transaction(write=False) as db:
            assert await db.scalar(text("SELECT value FROM test_counter WHERE id = 1")) == PROCESSES * INCREMENTS

    async def test_tasks_in_one_process_increment_exactly(self, database: Database, database_url: str,
                                                          counter: None) -> None:
        errors = await asyncio.gather(*(_increment_many(database_url, 25) for _ in range(4)))
        assert list(errors) == [0, 0, 0, 0]
        async with database.transaction(write=False) as db:
            assert await db.scalar(text("SELECT value FROM test_counter WHERE id = 1")) == 100


class TestUnitOfWork:
    async def test_rolls_back_on_error(self, database: Database, counter: None) -> None:
        with pytest.raises(RuntimeError):
            async with database.transaction() as db:
                await db.execute(text("UPDATE test_counter SET value = 99 WHERE id = 1"))
                raise RuntimeError("boom")
        async with database.transaction(write=False) as db:
            assert await db.scalar(text("SELECT value FROM test_counter WHERE id = 1")) == 0

    async def test_read_transaction_never_commits(self, database: Database, counter: None) -> None:
        async with database.transaction(write=False) as db:
            await db.execute(text("UPDATE test_counter SET value = 7 WHERE id = 1"))
        async with database.transaction(write=False) as db:
            assert await db.scalar(text("SELECT value FROM test_counter WHERE id = 1")) == 0

    async def test_pool_keeps_as_many_connections_as_configured(self, database_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
        if database_url.startswith("sqlite"):
            pytest.skip("PostgreSQL only: SQLite's engines open a file, not a server connection")
        from shua.config import Settings

        monkeypatch.setenv("SHUA_DATABASE_POOL_SIZE", "12")
        database = Database(database_url, pool_size=Settings().database_pool_size)
        try:
            async def hold() -> None:
                async with database.transaction(write=False) as db:
                    await db.execute(text("SELECT pg_sleep(0.05)"))

            await asyncio.gather(*(hold() for _ in range(12)))
            # Twelve at once, then handed back: all twelve stay open, none closed as overflow
            # (with the old fixed pool of ten, two were closed and reopened at every peak).
            assert database.writer.pool.checkedin() == 12  # type: ignore[attr-defined]
        finally:
            await database.dispose()

    async def test_sqlite_pragmas(self, database: Database) -> None:
        if not database.is_sqlite:
            pytest.skip("SQLite only")
        async with database.transaction(write=False) as db:
            assert (await db.scalar(text("PRAGMA journal_mode"))).lower() == "wal"
            assert await db.scalar(text("PRAGMA foreign_keys")) == 1
            assert await db.scalar(text("PRAGMA busy_timeout")) >= 5000


class TestUTCDateTime:
    async def test_round_trips_as_aware_utc(self, database: Database) -> None:
        from shua.core.jobs import OutboxEvent

        moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8)))
        async with database.transaction() as db:
            db.add(OutboxEvent(id=1, topic="t", payload={}, created_at=moment))
        async with database.transaction(write=False) as db:
            got = (await db.get(OutboxEvent, 1)).created_at  # type: ignore[union-attr]
        assert got == moment
        assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
        assert got.hour == 19 and got.tzinfo == UTC

    async def test_naive_datetime_refused(self, database: Database) -> None:
        from shua.core.jobs import OutboxEvent

        with pytest.raises(Exception, match="naive"):
            async with database.transaction() as db:
                db.add(OutboxEvent(id=2, topic="t", payload={}, created_at=datetime(2026, 1, 1)))
                await db.flush()
