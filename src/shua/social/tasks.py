"""Background work of the social context: keep friend search in step with accounts."""

from __future__ import annotations

from typing import Any

from shua.accounts import service as accounts
from shua.accounts.errors import UserNotFound
from shua.core.db import Database
from shua.core.jobs import subscribe, task
from shua.social import graph, people


@task("social.index_person", max_attempts=10, backoff_seconds=10)
async def index_person(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        try:
            user = await accounts.get_user(db, ref=str(payload["user_id"]))
        except UserNotFound:
            await people.unindex_user(db, int(payload["user_id"]))
            return
        await people.index_user(db, user)


@task("social.forget_account", max_attempts=10, backoff_seconds=30)
async def forget_account(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        await people.unindex_user(db, int(payload["user_id"]))
        await graph.forget_user(db, user_id=int(payload["user_id"]))


subscribe("account.created", "social.index_person")
subscribe("account.updated", "social.index_person")
subscribe("account.deleted", "social.forget_account")
