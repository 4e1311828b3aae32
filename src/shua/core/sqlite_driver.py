"""SQLite under asyncio with one thread hand-off per statement.

aiosqlite runs every sqlite3 call on the connection's own thread and hands the result back to
the event loop. SQLAlchemy's adapter for it makes three or four such calls per statement
(make a cursor, execute, fetch the rows, close the cursor) and one more for every commit or
rollback, even with no transaction open (the pool rolls back each connection it takes back).
On the 2-core VM a hand-off costs ~100 µs of wall time and ~85 µs of CPU — far more than most
statements: a ledger transfer made 38 of them (5 ms), a search ~13.

Here a statement is one hand-off: the function that runs on aiosqlite's thread executes it,
reads the rows, the description, rowcount and lastrowid, and closes its cursor. A transaction's
BEGIN (core/db.py's "begin" hook) waits and goes with its first statement; a commit or rollback
with no transaction open is answered without a hand-off. Everything else (connecting,
server-side cursors for streamed results, errors) is SQLAlchemy's own aiosqlite adapter, which
this subclasses; `make_engine` passes it as the engine's DBAPI module.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid


def _execute(connection: sqlite3.Connection, begin: str | None, operation: str,
             parameters: Sequence[Any] | None) -> Outcome:
    """On aiosqlite's thread: the transaction's BEGIN if it waits, then the whole statement."""
    cursor = connection.cursor()
    try:
        if begin:
            cursor.execute(begin)
        cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _executemany(connection: sqlite3.Connection, begin: str | None, operation: str,
                 rows: Sequence[Sequence[Any]]) -> int:
    cursor = connection.cursor()
    try:
        if begin:
            cursor.execute(begin)
        cursor.executemany(operation, rows)
        return cursor.rowcount
    finally:
        cursor.close()


_BEGINS = frozenset({"BEGIN", "BEGIN IMMEDIATE", "BEGIN DEFERRED", "BEGIN EXCLUSIVE"})


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A DBAPI cursor whose statement runs in one hand-off; it holds the outcome, not a sqlite3
    cursor, so closing it costs nothing."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        if operation in _BEGINS and not parameters:
            # Sent with the transaction's first statement, in its hand-off (a hop saved).
            self._adapt_connection._pending_begin = operation  # type: ignore[attr-defined]
            self._description, self._rowcount, self._lastrowid = None, -1, None
            self._rows = collections.deque()
            return
        try:
            outcome = await_(self._in_thread(_execute, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            self._rowcount = await_(self._in_thread(_executemany, operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, self._lastrowid = None, None
        self._rows = collections.deque()

    async def _in_thread(self, function: Any, operation: Any, parameters: Any) -> Any:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        async with adapted._execute_mutex:
            begin, adapted._pending_begin = adapted._pending_begin, None
            return await connection._execute(  # type: ignore[no-untyped-call]
                function, connection._conn, begin, operation, parameters)

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_pending_begin",)
    _cursor_cls = OneHopCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._pending_begin: str | None = None  # a BEGIN not yet sent (see OneHopCursor.execute)

    def _open_transaction(self) -> bool:
        if self._pending_begin is not None:  # begun and ended with no statement: nothing to end
            self._pending_begin = None
            return False
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        # sqlite3 answers this from the connection's state (no statement): safe off its thread
        # while nothing else runs on the connection, which SQLAlchemy guarantees.
        return connection._connection is not None and connection.in_transaction

    def rollback(self) -> None:
        if self._open_transaction():
            super().rollback()

    def commit(self) -> None:
        if self._open_transaction():
            super().commit()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's adapter: never keep the process alive
        return OneHopConnection(self, await_(connection))


def dbapi() -> OneHopDBAPI:
    return OneHopDBAPI(aiosqlite, sqlite3)
