"""Background work of the media context."""

from __future__ import annotations

from typing import Any

from shua import runtime
from shua.accounts.service import EXPORTERS
from shua.core.db import Database
from shua.core.jobs import subscribe, task
from shua.media import pipeline, uploads, videos


@task("media.expire_upload", max_attempts=5, backoff_seconds=60)
async def expire_upload(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        rt = runtime.current()
        await uploads.expire_upload(db, rt.storage, upload_id=int(payload["upload_id"]), var_dir=rt.settings.var_dir)


@task("media.process", max_attempts=pipeline.MAX_ATTEMPTS, timeout_seconds=3600, backoff_seconds=30)
async def process_video(database: Database, payload: dict[str, Any]) -> None:
    rt = runtime.current()
    await pipeline.process_video(database, rt.storage, rt.settings, video_id=int(payload["video_id"]),
                                 reprocess=bool(payload.get("reprocess", False)))


@task("media.delete_files", max_attempts=10, backoff_seconds=60)
async def delete_files(database: Database, payload: dict[str, Any]) -> None:
    await pipeline.delete_files(database, runtime.current().storage, video_id=int(payload["video_id"]))


@task("media.owner_deleted", max_attempts=10, backoff_seconds=30)
async def owner_deleted(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        await videos.delete_all_of_owner(db, owner_id=int(payload["user_id"]))


subscribe("account.deleted", "media.owner_deleted")
EXPORTERS["videos"] = videos.export_videos
