"""Database engines, the declarative base, portable column types and the unit of work.

The rule (from Polar): the request or job scope owns the transaction; services never commit.
This is the only module that calls `.commit()`.

SQLite is a real backend here (Datasette's lessons): WAL, foreign keys on, a busy timeout, and
write transactions begin with `BEGIN IMMEDIATE`. A deferred BEGIN takes the write lock only at
the first write, and a reader that then wants to write cannot wait its way out (SQLITE_BUSY is
returned at once to avoid deadlock) — under concurrency most such transactions failed with
"database is locked". Taking the lock up front makes writers queue on the busy timeout instead.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, MetaData, Select, any_, bindparam, event, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from sqlalchemy.types import TypeDecorator

from shua.core import sqlite_driver
from shua.core.ids import new_id

SQLITE_MMAP_BYTES = 1 << 30  # address space, not memory: pages are the OS page cache's
SQLITE_CACHE_KIB = 32 * 1024  # per connection
SQLITE_BUSY_TIMEOUT_MS = 30_000

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which stores naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use shua.core.clock.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # asyncpg already returns a timestamptz as an aware datetime in UTC: nothing to do for
        # each of the thousands of them a page of rows carries.
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def id_column(**kwargs: Any) -> Mapped[int]:
    """A time-ordered 64-bit primary key, assigned in Python so it is known before flush."""
    return mapped_column(BigInteger, primary_key=True, autoincrement=False, default=new_id, **kwargs)


_LIKE_SPECIAL = re.compile(r"([\\%_])")


def like_escape(text: str) -> str:
    """`text` for a LIKE pattern with `escape="\\"`: its own %, _ and \\ match literally."""
    return _LIKE_SPECIAL.sub(r"\\\1", text)


def on_sqlite(db: AsyncSession) -> bool:
    """Whether this session's database is SQLite (where the SQL for a thing differs)."""
    return db.get_bind().dialect.name == "sqlite"


def one_of(column: Any, name: str, *, is_sqlite: bool) -> Any:
    """`column IN (…)` with the ids as parameter `name`, for a statement built once and reused.
    On PostgreSQL one array (`= ANY($1::BIGINT[])`): one statement text whatever the number of
    ids, where an expanding IN list is spliced into the SQL on every run and makes a prepared
    statement per length."""
    if is_sqlite:
        return column.in_(bindparam(name, expanding=True))
    return column == any_(bindparam(name, type_=ARRAY(BigInteger)))


async def insert_ignore(db: AsyncSession, model: type[Base], **values: Any) -> bool:
    """INSERT the row unless one with the same key exists (ON CONFLICT DO NOTHING, on both
    backends); True if it was inserted. Two concurrent inserts of one fact: exactly one wins."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = sqlite if on_sqlite(db) else postgresql
    result = await db.execute(dialect.insert(model).values(**values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0))


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the driver so our "begin" hook decides the BEGIN kind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: durable at checkpoint
    # Reads straight from the OS page cache instead of copying every page into SQLite's own
    # (2 MB by default): a search joins its best 150 matches to their documents at random.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def make_engine(url: str, *, write: bool, pool_size: int = 10, null_pool: bool = False) -> AsyncEngine:
    pooling: dict[str, Any] = {"poolclass": NullPool} if null_pool else {}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                                     module=sqlite_driver.dbapi(), **pooling)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        begin_sql = "BEGIN IMMEDIATE" if write else "BEGIN"

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin_sql)

        return engine
    # No JIT: Shua's statements are short, and a plan estimated dear enough (a search for a word
    # in a quarter of all captions) spent 35 ms compiling for a query that runs in 0.5 without.
    # Sent when connecting; behind PgBouncer, add jit to its ignore_startup_parameters and set
    # it on the database instead (ALTER DATABASE … SET jit = off).
    connecting = {"connect_args": {"server_settings": {"jit": "off"}}}
    if null_pool:
        return create_async_engine(url, **pooling, **connecting)
    # No pool_pre_ping: with asyncpg it costs three extra round trips on every checkout, i.e. on
    # every request. A connection cut by a database restart fails its one request instead (a 503,
    # see web/errors.py) and SQLAlchemy then invalidates the whole pool; recycling bounds its age.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800, **connecting)


class Database:
    """A writer and a reader engine. On SQLite they differ in how transactions begin;
    on PostgreSQL they are one engine today (the reader can point at a replica later)."""

    def __init__(self, url: str, *, null_pool: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.writer = make_engine(url, write=True, null_pool=null_pool, pool_size=pool_size)
        self.reader = make_engine(url, write=False, null_pool=null_pool) if self.is_sqlite else self.writer
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """The unit of work: one transaction, committed on success, rolled back on error."""
        maker = self._write_sessions if write else self._read_sessions
        async with maker() as session:
            try:
                yield session
                if write:
                    await session.commit()
                else:
                    # Reads end in a rollback; detach first so loaded objects stay readable.
                    session.expunge_all()
                    await session.rollback()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


S = TypeVar("S", bound=Select[Any])
M = TypeVar("M")


def for_update(db: AsyncSession, query: S) -> S:
    """`query` reading its rows afresh (not the session's copies) and, on PostgreSQL, locking them
    until the transaction ends — the row lock that serialises two writers of one balance, order or
    payment. SQLite lets one writer in at a time, so it needs no lock."""
    query = query.execution_options(populate_existing=True)
    return query if on_sqlite(db) else query.with_for_update()


async def locked_row(db: AsyncSession, model: type[M], row_id: int) -> M | None:
    """The row of `model` with this id, read afresh and locked (see `for_update`)."""
    query: Select[Any] = select(model).where(model.id == row_id)  # type: ignore[attr-defined]
    found: M | None = await db.scalar(for_update(db, query))
    return found
