"""Test wiring: one database per run (SQLite file, or a fresh PostgreSQL database when
SHUA_TEST_BACKEND=postgres), migrated with Alembic once; tables emptied after each test."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import hypothesis
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shua.config import Settings
from shua.contexts import load_all
from shua.core import clock
from shua.core.db import Base, Database
from shua.core.migrate import upgrade
from shua.web.app import create_app

load_all()
# Deterministic examples and no per-example deadline: CI machines are shared and slow to warm up.
hypothesis.settings.register_profile("shua", deadline=None, derandomize=True, database=None)
hypothesis.settings.load_profile("shua")
BACKEND = os.environ.get("SHUA_TEST_BACKEND", "sqlite")
TEST_SECRET = "test-secret-key-not-for-production"
PASSWORD = "Correct-Horse-42"


def _admin_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_url(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "postgres":
        base = os.environ.get("SHUA_TEST_POSTGRES_URL")
        if not base:
            pytest.exit("SHUA_TEST_BACKEND=postgres needs SHUA_TEST_POSTGRES_URL", returncode=2)
        name = f"shua_test_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(_pg_admin(base, f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
        asyncio.run(_pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("db") / "shua.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture
def settings(database_url: str, var_dir: Path) -> Settings:
    return Settings(
        var_dir=var_dir, database_url=database_url, secret_key=TEST_SECRET, run_jobs_in_process=False,
        database_null_pool=True, log_json=False, argon2_time_cost=1, argon2_memory_kib=1024,
        signup_rate="1000/minute", api_write_rate="1000/minute",
        feed_retrain_hours=0,  # the var folder is shared by the run: a model trained by one test would steer others
        # `shua demo` (run in-process by the CLI tests) sets SHUA_SIMBANK_DELAY_SECONDS for the
        # servers it starts; tests choose their bank's delays themselves.
        simbank_delay_seconds=0, simbank_duplicate_rate=0, simbank_decline_rate=0, carrier_step_seconds=0,
        _env_file=None,  # type: ignore[call-arg]
    )


# A test that leaves a PostgreSQL transaction open (a task or server thread still holding row
# locks) would make the DELETEs below wait forever and the run end at CI's time limit with no
# clue. Waiting this long instead fails that test, naming the sessions in the way, ends them
# and empties the tables, so the rest of the run goes on.
CLEAN_LOCK_TIMEOUT = "20s"


@pytest.fixture(autouse=True)
async def _clean_tables(database_url: str) -> AsyncIterator[None]:
    yield
    clock.reset()
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        blockers = await _empty_tables(engine)
        if blockers:
            await _empty_tables(engine)
            pytest.fail(f"the test left PostgreSQL sessions holding locks (ended them): {blockers}", pytrace=False)
    finally:
        await engine.dispose()


async def _empty_tables(engine: AsyncEngine) -> list[dict[str, object]]:
    """Delete every row; on PostgreSQL, if a lock wait times out, end the other sessions on this
    database and return what they were doing."""
    from sqlalchemy.exc import DBAPIError

    try:
        async with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                await conn.execute(text(f"SET LOCAL lock_timeout = '{CLEAN_LOCK_TIMEOUT}'"))
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())
        return []
    except DBAPIError as exc:
        if "lock timeout" not in str(exc):
            raise
    async with engine.begin() as conn:
        rows = (await conn.execute(text(
            "SELECT pid, state, application_name, now() - xact_start AS open_for, left(query, 300) AS query,"
            " pg_terminate_backend(pid) AS ended FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"))).mappings().all()
    return [dict(r) for r in rows]


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    return create_app(settings, configure_logs=False)


@pytest.fixture
def database(app) -> Database:  # type: ignore[no-untyped-def]
    db: Database = app.state.runtime.database
    return db


@pytest.fixture
async def client(app) -> AsyncIterator[httpx2.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    await app.state.runtime.close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto's, over HTTP on 127.0.0.1) for the whole run."""
    from tests.core.s3_fixtures import moto_server

    with moto_server() as endpoint:
        yield endpoint


async def table_count(database: Database, table: str) -> int:
    async with database.transaction(write=False) as db:
        return int(await db.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
