"""Background work of the social context: friend search follows accounts; daily posts and moods expire."""

from __future__ import annotations

from typing import Any

from shua import runtime
from shua.accounts import service as accounts
from shua.accounts.errors import UserNotFound
from shua.accounts.service import EXPORTERS
from shua.core.db import Database
from shua.core.ids import parse_id
from shua.core.jobs import subscribe, task
from shua.social import graph, moments, people, reports


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


@task("social.expire_daily", max_attempts=10, backoff_seconds=60)
async def expire_daily(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        await moments.expire_daily(db, runtime.current().storage, post_id=int(payload["post_id"]))


@task("social.expire_moods", max_attempts=5, backoff_seconds=60)
async def expire_moods(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        await moments.expire_moods(db)


EXPORTERS["moments"] = moments.export_moments
@task("social.close_video_reports", max_attempts=10, backoff_seconds=30)
async def close_video_reports(database: Database, payload: dict[str, Any]) -> None:
    """A moderator took a video down: its open reports are dealt with."""
    video_id = parse_id(payload.get("video_id"))
    if video_id is not None:
        async with database.transaction() as db:
            await reports.close_for_target(db, target_kind="video", target_id=video_id)


subscribe("account.created", "social.index_person")
subscribe("account.updated", "social.index_person")
subscribe("account.deleted", "social.forget_account")
subscribe("video.removed", "social.close_video_reports")
