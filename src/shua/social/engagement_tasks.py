"""Background work and registrations of likes, favourites and comments: a deleted account's
engagement is taken back (so others' counts stay right); comments are reportable; likes,
comments and collections go into the data export.

A deleted video needs no clean-up here: its rows stay until the video row goes, and every read
goes through `videos.get_video` (or `visible_by_id`), which reports it as not found."""

from __future__ import annotations

from typing import Any

from shua.accounts.service import EXPORTERS
from shua.core.db import Database
from shua.core.jobs import subscribe, task
from shua.social import comments, engagement
from shua.social.reports import TARGETS


@task("social.forget_engagement", max_attempts=10, backoff_seconds=30)
async def forget_engagement(database: Database, payload: dict[str, Any]) -> None:
    user_id = int(payload["user_id"])
    async with database.transaction() as db:
        await comments.forget_user(db, user_id=user_id)
    async with database.transaction() as db:
        await engagement.forget_user(db, user_id=user_id)


subscribe("account.deleted", "social.forget_engagement")
TARGETS["comment"] = comments.report_target
EXPORTERS["likes"] = engagement.export_likes
EXPORTERS["comments"] = comments.export_comments
EXPORTERS["collections"] = engagement.export_collections
