"""Background work of the media context."""

from __future__ import annotations

from typing import Any

from shua import runtime
from shua.core.db import Database
from shua.core.jobs import task
from shua.media import uploads


@task("media.expire_upload", max_attempts=5, backoff_seconds=60)
async def expire_upload(database: Database, payload: dict[str, Any]) -> None:
    async with database.transaction() as db:
        await uploads.expire_upload(db, upload_id=int(payload["upload_id"]), var_dir=runtime.current().settings.var_dir)
