"""Background work of the accounts context."""

from __future__ import annotations

from typing import Any

from shua import runtime
from shua.accounts import service
from shua.core.db import Database
from shua.core.jobs import task


@task("accounts.purge", max_attempts=10, backoff_seconds=60)
async def purge_account(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        await service.purge(db, runtime.current().storage, user_id=int(payload["user_id"]))


@task("accounts.delete_file", max_attempts=10, backoff_seconds=30)
async def delete_file(database: Database, payload: dict[str, Any]) -> None:
    await runtime.current().storage.delete(str(payload["key"]))
