"""Plain factory functions for tests: rows made directly, with keyword overrides. They skip the
slow parts (password hashing, transcoding) that the end-to-end tests exercise for real."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts.models import ACTIVE, User
from shua.core import clock
from shua.core.ids import new_id
from shua.media.models import PUBLIC, READY, Video, VideoFile

# Not a hash of anything: these users log in through the API only when a test signs them up.
UNUSABLE_HASH = "!factory"


async def make_user(db: AsyncSession, handle: str, **overrides: Any) -> User:
    now = clock.utcnow()
    values: dict[str, Any] = dict(id=new_id(), handle=handle, nickname=handle, password_hash=UNUSABLE_HASH, bio="",
                                  role="user", status=ACTIVE, created_at=now, updated_at=now)
    user = User(**{**values, **overrides})
    db.add(user)
    await db.flush()
    return user


async def make_video(db: AsyncSession, owner: User, *, caption: str = "", visibility: str = PUBLIC,
                     status: str = READY, playable: bool = True, created_at: datetime | None = None,
                     **overrides: Any) -> Video:
    """A processed video with one 360p rendition and a poster on record (no files on disk)."""
    now = created_at or clock.utcnow()
    video = Video(
        id=new_id(), owner_id=owner.id, caption=caption, hashtags=overrides.pop("hashtags", []),
        mentions=overrides.pop("mentions", []),
        visibility=visibility,
        allow_comments=True, allow_duets=True, status=status, process_attempts=1,
        duration_ms=overrides.pop("duration_ms", 2000),
        width=360, height=640, cover_ms=0, created_at=now, updated_at=now,
        playable_at=now if playable else None, ready_at=now if playable and status == READY else None,
        **overrides,
    )
    db.add(video)
    await db.flush()
    if playable:
        prefix = f"videos/{video.id}/"
        db.add_all([
            VideoFile(video_id=video.id, kind="mp4", name="360p", key=f"{prefix}360p.mp4", width=360, height=640,
                      bit_rate=600_000, size_bytes=1),
            VideoFile(video_id=video.id, kind="poster", name="poster", key=f"{prefix}poster.jpg", width=360,
                      height=640, size_bytes=1),
        ])
        await db.flush()
    return video
