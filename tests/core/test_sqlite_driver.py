"""core/sqlite_driver.py: one thread hand-off per statement, a transaction's BEGIN sent with its
first statement (and still taking the write lock before it runs), nothing sent to end a
transaction that never ran a statement, and SQLAlchemy's errors and results unchanged."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shua.core.db import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield db
    await db.dispose()


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the functions run on aiosqlite's thread, in order."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield seen


class TestHandOffs:
    async def test_a_statement_and_its_commit_are_two(self, database: Database, hand_offs: list[str]) -> None:
        async with database.transaction() as db:
            assert (await db.execute(text("INSERT INTO t (name) VALUES ('a') RETURNING id"))).scalar_one() == 1
        assert hand_offs == ["_execute", "commit"]  # BEGIN IMMEDIATE went with the INSERT

    async def test_a_read_is_two_and_rows_come_back(self, database: Database, hand_offs: list[str]) -> None:
        async with database.transaction() as db:
            await db.execute(text("INSERT INTO t (name) VALUES ('a'), ('b')"))
        async with database.transaction(write=False) as db:  # the reader's connection, opened
            await db.execute(text("SELECT 1"))
        hand_offs.clear()
        async with database.transaction(write=False) as db:
            rows = (await db.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
        assert rows == ["a", "b"] and hand_offs == ["_execute", "rollback"]

    async def test_a_transaction_without_statements_sends_nothing(self, database: Database,
                                                                   hand_offs: list[str]) -> None:
        async with database.transaction():
            pass
        async with database.transaction(write=False):
            pass
        assert hand_offs == []


class TestSemantics:
    async def test_the_write_lock_is_held_from_the_first_statement(self, database: Database, tmp_path: Path) -> None:
        other = sqlite3.connect(tmp_path / "driver.db", timeout=0, isolation_level=None)
        try:
            async with database.transaction() as db:
                await db.execute(text("SELECT 1"))  # a read: BEGIN IMMEDIATE went before it
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # committed: the lock is free again
            other.execute("ROLLBACK")
        finally:
            other.close()

    async def test_an_error_is_sqlalchemys_and_rolls_back(self, database: Database) -> None:
        with pytest.raises(IntegrityError):
            async with database.transaction() as db:
                await db.execute(text("INSERT INTO t (name) VALUES ('x')"))
                await db.execute(text("INSERT INTO t (name) VALUES ('x')"))
        async with database.transaction(write=False) as db:
            assert (await db.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0

    async def test_rowcount_and_executemany(self, database: Database) -> None:
        async with database.transaction() as db:
            await db.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": n} for n in "abc"])
            changed = await db.execute(text("UPDATE t SET name = name || '!' WHERE name <> 'b'"))
            assert changed.rowcount == 2  # type: ignore[attr-defined]
        async with database.transaction(write=False) as db:
            assert (await db.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all() == ["a!", "b", "c!"]
