"""Posting, reading, editing and deleting videos. Processing lives in pipeline.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import audit, clock, jobs
from shua.core.db import on_sqlite, one_of
from shua.core.errors import Conflict, NotFound
from shua.core.ids import new_id, parse_id
from shua.media.models import (
    DAILY,
    DELETED,
    FAILED,
    FRIENDS,
    POST,
    PUBLIC,
    UPLOADED,
    Upload,
    Video,
    VideoFile,
    is_watchable,
)
from shua.media.uploads import UploadNotFound
from shua.social import graph

# Hashtags may be Chinese (#猫咪日常); they end at whitespace or punctuation.
HASHTAG_RE = re.compile(r"#([\w\u4e00-\u9fff]{1,40})")
MENTION_RE = re.compile(r"@([a-z][a-z0-9_.]{2,23})", re.IGNORECASE)


class Unset:
    """An argument left out, as opposed to one set to None."""


UNSET = Unset()


class VideoNotFound(NotFound):
    code = "media.video_not_found"
    title = "No such video"


class UploadNotReady(Conflict):
    code = "media.upload_not_ready"
    title = "The upload is not finished yet"


class UploadAlreadyPosted(Conflict):
    code = "media.upload_already_posted"
    title = "This upload has already been posted"


def parse_caption(caption: str) -> tuple[list[str], list[str]]:
    """Hashtags and @mentions, in order, without repeats."""
    tags = list(dict.fromkeys(HASHTAG_RE.findall(caption)))
    mentions = list(dict.fromkeys(m.lower() for m in MENTION_RE.findall(caption)))
    return tags[:30], mentions[:30]


async def post_video(
    db: AsyncSession, *, owner_id: int, upload_id: int, caption: str, visibility: str = PUBLIC,
    allow_comments: bool = True, allow_duets: bool = True, cover_ms: int = 0, purpose: str = POST,
    category: str | None = None, cover_text: str = "",
) -> Video:
    """Post a finished upload; it shows "processing" until the renditions are ready. A daily
    clip (`purpose="daily"`) is friends-only and stays out of grids and feeds."""
    upload = await db.get(Upload, upload_id)
    if upload is None or upload.owner_id != owner_id:
        raise UploadNotFound()
    if upload.completed_at is None:
        raise UploadNotReady(offset=upload.offset, length=upload.length)
    if await db.scalar(select(Video.id).where(Video.upload_id == upload_id)) is not None:
        raise UploadAlreadyPosted()
    tags, mentions = parse_caption(caption)
    now = clock.utcnow()
    video = Video(
        id=new_id(), owner_id=owner_id, upload_id=upload_id, caption=caption, hashtags=tags, mentions=mentions,
        visibility=visibility, allow_comments=allow_comments, allow_duets=allow_duets, status=UPLOADED,
        cover_ms=cover_ms, process_attempts=0, created_at=now, updated_at=now, purpose=purpose,
        category=category, cover_text=cover_text,
    )
    if purpose == DAILY:
        video.visibility, video.allow_duets = FRIENDS, False
    db.add(video)
    await jobs.enqueue(db, "media.process", {"video_id": str(video.id)})
    return video


async def get_video(db: AsyncSession, *, viewer_id: int | None, video_id: object) -> Video:
    """A video the viewer may see (the social context's rule: private, friends-only, private
    accounts, blocks); anything else, or a deleted video, is reported as not found."""
    parsed = parse_id(video_id)
    video = await db.get(Video, parsed) if parsed else None
    if video is None or video.status == DELETED:
        raise VideoNotFound()
    if video.owner_id != viewer_id and not (is_watchable(video) and await graph.may_see_content(
            db, viewer_id=viewer_id, owner_id=video.owner_id, visibility=video.visibility)):
        raise VideoNotFound()
    return video


async def own_video(db: AsyncSession, *, owner_id: int, video_id: object) -> Video:
    parsed = parse_id(video_id)
    video = await db.get(Video, parsed) if parsed else None
    if video is None or video.owner_id != owner_id or video.status == DELETED:
        raise VideoNotFound()
    return video


async def list_own_videos(db: AsyncSession, *, owner_id: int, limit: int = 50) -> list[Video]:
    query = (select(Video).where(Video.owner_id == owner_id, Video.status != DELETED, Video.purpose == POST)
             .order_by(Video.id.desc()).limit(limit))
    return list((await db.scalars(query)).all())


async def files_of(db: AsyncSession, *, video_id: int) -> list[VideoFile]:
    return list((await db.scalars(select(VideoFile).where(VideoFile.video_id == video_id))).all())


async def files_of_many(db: AsyncSession, *, video_ids: list[int]) -> dict[int, list[VideoFile]]:
    """The stored files of several videos in one query (a feed page, a profile grid)."""
    found: dict[int, list[VideoFile]] = {vid: [] for vid in video_ids}
    if video_ids:
        for f in (await db.scalars(select(VideoFile).where(VideoFile.video_id.in_(video_ids)))).all():
            found[f.video_id].append(f)
    return found


async def list_published(
    db: AsyncSession, *, viewer_id: int | None, before_id: int | None = None, owner_ids: list[int] | None = None,
    friend_ids: list[int] | None = None, limit: int = 10,
) -> list[Video]:
    """Published videos (playable, not deleted) the viewer may watch, newest first: public ones,
    minus owners the social rule hides from the viewer (blocks, private accounts not followed),
    plus friends-only ones of `friend_ids`. `owner_ids` narrows to some creators."""
    visible = Video.visibility == PUBLIC
    if friend_ids:
        visible = or_(visible, and_(Video.visibility == FRIENDS, Video.owner_id.in_(friend_ids)))
    # Newest first. For several creators, order by an expression PostgreSQL cannot read off the
    # primary key: walking the whole table backwards hoping to meet their videos (what it plans
    # for a LIMIT) took 14 ms at a million videos; their own index and a top-N sort take 1.
    newest = (Video.id + 0) if owner_ids is not None and len(owner_ids) > 1 else Video.id
    query = (select(Video).where(visible, Video.purpose == POST, Video.status.not_in((DELETED, FAILED)),
                                 Video.playable_at.is_not(None), Video.removed_at.is_(None))
             .order_by(newest.desc()).limit(limit))
    if viewer_id is not None:
        query = query.where(Video.owner_id.not_in(graph.hidden_user_ids(viewer_id)))
    query = query.where(Video.owner_id.not_in(graph.private_account_ids_not_followed(viewer_id)))
    if before_id is not None:
        query = query.where(Video.id < before_id)
    if owner_ids is not None:
        query = query.where(Video.owner_id.in_(owner_ids))
    return list((await db.scalars(query)).all())


async def visible_by_id(db: AsyncSession, *, viewer_id: int | None, video_ids: list[int],
                        friends: list[int] | None = None) -> dict[int, Video]:
    """Those of `video_ids` the viewer may watch, in one query (a favourites page): the same rule
    as `get_video` — the viewer's own videos, and published ones the social rule lets them see.
    `friends`: the viewer's friends (`graph.friend_ids`), when the caller has just read them."""
    if not video_ids:
        return {}
    if friends is None:
        friends = await graph.friend_ids(db, viewer_id) if viewer_id is not None else []
    query = _visible_query(is_sqlite=on_sqlite(db), signed_in=viewer_id is not None, with_friends=bool(friends))
    rows = await db.scalars(query, {"ids": list(set(video_ids)), "viewer": viewer_id, "friends": friends})
    return {video.id: video for video in rows}


@cache
def _visible_query(*, is_sqlite: bool, signed_in: bool, with_friends: bool) -> Select[Any]:
    """`visible_by_id`'s statement, built once for each of its shapes with its values as
    parameters (ids, viewer, friends): building and keying it anew cost 0.36 ms a call, more
    than the database spends reading a page of rows (a search page, the feed's shortlist)."""
    viewer = bindparam("viewer", type_=BigInteger) if signed_in else None
    published = and_(Video.status.not_in((DELETED, FAILED)), Video.playable_at.is_not(None),
                     Video.removed_at.is_(None),
                     Video.owner_id.not_in(graph.private_account_ids_not_followed(viewer)))
    visible = Video.visibility == PUBLIC
    if viewer is not None:
        if with_friends:
            visible = or_(visible, and_(Video.visibility == FRIENDS,
                                        one_of(Video.owner_id, "friends", is_sqlite=is_sqlite)))
        published = and_(published, Video.owner_id.not_in(graph.hidden_user_ids(viewer)))
    rule = and_(published, visible)
    if viewer is not None:
        rule = or_(and_(Video.owner_id == viewer, Video.status != DELETED), rule)
    return select(Video).where(one_of(Video.id, "ids", is_sqlite=is_sqlite), rule)


@dataclass(frozen=True)
class CatalogueRow:
    video_id: int
    owner_id: int
    hashtags: list[str]
    created_at: datetime
    duration_ms: int | None


async def catalogue(db: AsyncSession, *, video_ids: list[int]) -> list[CatalogueRow]:
    """What the recommender may learn about these videos (deleted ones included: history)."""
    rows: list[CatalogueRow] = []
    ids = sorted(set(video_ids))
    for start in range(0, len(ids), 10_000):  # bounded IN lists (asyncpg binds at most 32,767 values)
        query = select(Video.id, Video.owner_id, Video.hashtags, Video.created_at, Video.duration_ms).where(
            Video.id.in_(ids[start:start + 10_000]))
        rows += [CatalogueRow(video_id=vid, owner_id=owner, hashtags=list(tags or []), created_at=at,
                              duration_ms=duration)
                 for vid, owner, tags, at, duration in (await db.execute(query)).all()]
    return rows


async def by_id(db: AsyncSession, *, video_ids: list[int]) -> dict[int, Video]:
    """Videos by id whatever their state (callers decide what to do with them)."""
    if not video_ids:
        return {}
    return {v.id: v for v in await db.scalars(select(Video).where(Video.id.in_(set(video_ids))))}


def owned_ids(owner_id: int) -> Select[int]:
    """A subquery of the owner's video ids (deleted ones too), for other contexts' own queries."""
    return select(Video.id).where(Video.owner_id == owner_id)


def owner_pairs() -> Select[int, int]:
    """Every video's (video_id, owner_id), deleted ones included, as a subquery other contexts may
    join in their own queries (recounting the likes a creator received)."""
    return select(Video.id.label("video_id"), Video.owner_id.label("owner_id"))


async def edit_video(
    db: AsyncSession, *, owner_id: int, video_id: object, caption: str | None = None,
    visibility: str | None = None, allow_comments: bool | None = None, allow_duets: bool | None = None,
    category: str | None | Unset = UNSET, cover_text: str | None = None,
) -> Video:
    """Change the caption, category, cover text or who may see and respond to the video
    (`category=None` clears it; leaving it out keeps it)."""
    video = await own_video(db, owner_id=owner_id, video_id=video_id)
    if caption is not None:
        video.caption = caption
        video.hashtags, video.mentions = parse_caption(caption)
    if not isinstance(category, Unset):
        video.category = category
    if cover_text is not None:
        video.cover_text = cover_text
    if visibility is not None:
        video.visibility = visibility
    if allow_comments is not None:
        video.allow_comments = allow_comments
    if allow_duets is not None:
        video.allow_duets = allow_duets
    video.updated_at = clock.utcnow()
    if video.ready_at is not None:
        await jobs.publish(db, "video.updated", {"video_id": str(video.id)})
    return video


async def take_down(db: AsyncSession, *, video_id: object, reason: str, actor_id: int | None) -> Video:
    """A moderator removes a video: it disappears for everyone but its creator at once (every
    read checks `removed_at`), and the event takes it out of search and the pools. Audited."""
    video = await _existing(db, video_id)
    if video.removed_at is None:
        video.removed_at, video.removal_reason, video.updated_at = clock.utcnow(), reason, clock.utcnow()
        await audit.record(db, actor_id=actor_id, action="media.video_take_down", target=f"video:{video.id}",
                           reason=reason, owner_id=str(video.owner_id))
        await jobs.publish(db, "video.removed", {"video_id": str(video.id), "owner_id": str(video.owner_id),
                                                 "reason": reason})
    return video


async def restore(db: AsyncSession, *, video_id: object, actor_id: int | None) -> Video:
    """Undo a takedown (an appeal upheld, a mistake): the video is back where it was."""
    video = await _existing(db, video_id)
    if video.removed_at is not None:
        video.removed_at, video.removal_reason, video.updated_at = None, None, clock.utcnow()
        await audit.record(db, actor_id=actor_id, action="media.video_restore", target=f"video:{video.id}",
                           owner_id=str(video.owner_id))
        await jobs.publish(db, "video.updated", {"video_id": str(video.id)})
    return video


async def _existing(db: AsyncSession, video_id: object) -> Video:
    parsed = parse_id(video_id)
    video = await db.get(Video, parsed) if parsed else None
    if video is None or video.status == DELETED:
        raise VideoNotFound()
    return video


async def delete_video(db: AsyncSession, *, owner_id: int, video_id: object) -> None:
    """Hide the video now; a job removes its files from storage."""
    video = await own_video(db, owner_id=owner_id, video_id=video_id)
    video.status, video.deleted_at, video.updated_at = DELETED, clock.utcnow(), clock.utcnow()
    await jobs.publish(db, "video.deleted", {"video_id": str(video.id), "owner_id": str(owner_id)})
    await jobs.enqueue(db, "media.delete_files", {"video_id": str(video.id)})


def storage_prefix(video_id: int) -> str:
    return f"videos/{video_id}/"



async def request_reprocess(db: AsyncSession, *, video_id: int) -> Video:
    """Queue a video for processing again (new ladder settings, a fixed encoder, a failed video)."""
    video = await _existing(db, video_id)
    video.process_attempts, video.failure_code, video.failure_reason = 0, None, None
    video.updated_at = clock.utcnow()
    await jobs.enqueue(db, "media.process", {"video_id": str(video.id), "reprocess": True})
    return video


async def video_ids(db: AsyncSession, *, status: str | None = None) -> list[int]:
    query = select(Video.id).where(Video.status != DELETED).order_by(Video.id)
    if status is not None:
        query = query.where(Video.status == status)
    return list((await db.scalars(query)).all())


async def delete_all_of_owner(db: AsyncSession, *, owner_id: int) -> int:
    """An account was deleted: its videos disappear now and their files go by job."""
    query = select(Video).where(Video.owner_id == owner_id, Video.status != DELETED)
    owned = list((await db.scalars(query)).all())
    for video in owned:
        await delete_video(db, owner_id=owner_id, video_id=video.id)
    return len(owned)


async def export_videos(db: AsyncSession, owner_id: int) -> list[dict[str, object]]:
    """The user's videos for their data export."""
    return [
        {"id": str(v.id), "caption": v.caption, "hashtags": v.hashtags, "visibility": v.visibility,
         "status": v.status, "created_at": v.created_at.isoformat(), "duration_ms": v.duration_ms}
        for v in await list_own_videos(db, owner_id=owner_id, limit=100_000)
    ]
