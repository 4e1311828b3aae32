"""Rebuild the social counters from the facts they count: the documented way to reconcile
(`shua social recount`) after a bug, a manual repair or a restore.

Counting is done in two steps so it is both cheap and exact while the app keeps running:
grouped queries find the rows that look off, then each of those is fixed in its own short
transaction that first locks the counter row and only then counts. A like that is committing
meanwhile either finished before the lock (counted, its +1 already applied) or waits for it and
adds its +1 to the corrected value — so no increment is lost or applied twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.media import videos
from shua.social import engagement, graph
from shua.social.engagement_models import Comment, CommentLike, Favourite, Like, Share, VideoStats
from shua.social.models import ACTIVE, PENDING, Follow, Friendship, UserStats

VIDEO_COUNTERS = ("likes", "comments", "shares", "favourites")
USER_COUNTERS = ("followers", "following", "friends", "pending_requests", "likes_received")
COMMENT_COUNTERS = ("likes", "replies")


def _is_pg(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name != "sqlite"


async def _grouped(db: AsyncSession, key: Any, *where: Any, of: Any = None) -> dict[int, int]:
    query = select(key, func.count()).where(*where).group_by(key)
    if of is not None:
        query = query.where(key == of)
    return {int(k): int(n) for k, n in (await db.execute(query)).all() if k is not None}


# The truth, for every row (`of=None`) or for one -------------------------------------------------


async def video_truth(db: AsyncSession, of: int | None = None) -> dict[str, dict[int, int]]:
    return {
        "likes": await _grouped(db, Like.video_id, of=of),
        "comments": await _grouped(db, Comment.video_id, Comment.deleted_at.is_(None), of=of),
        "shares": await _grouped(db, Share.video_id, of=of),
        "favourites": await _grouped(db, Favourite.video_id, of=of),
    }


async def user_truth(db: AsyncSession, of: int | None = None) -> dict[str, dict[int, int]]:
    pairs = videos.owner_pairs().subquery()
    received = select(pairs.c.owner_id, func.count()).join(Like, Like.video_id == pairs.c.video_id)
    if of is not None:
        received = received.where(pairs.c.owner_id == of)
    return {
        "followers": await _grouped(db, Follow.followee_id, Follow.status == ACTIVE, of=of),
        "following": await _grouped(db, Follow.follower_id, Follow.status == ACTIVE, of=of),
        "friends": await _grouped(db, Friendship.user_id, of=of),
        "pending_requests": await _grouped(db, Follow.followee_id, Follow.status == PENDING, of=of),
        "likes_received": {int(k): int(n) for k, n in
                           (await db.execute(received.group_by(pairs.c.owner_id))).all()},
    }


async def comment_truth(db: AsyncSession, of: int | None = None) -> dict[str, dict[int, int]]:
    return {
        "likes": await _grouped(db, CommentLike.comment_id, of=of),
        "replies": await _grouped(db, Comment.root_id, Comment.deleted_at.is_(None), of=of),
    }


@dataclass(frozen=True)
class Drift:
    checked: int
    ids: list[int]  # rows whose counters look off


def _drift(rows: dict[int, tuple[int, ...]], truth: dict[str, dict[int, int]], names: tuple[str, ...]) -> Drift:
    ids = set(k for counts in truth.values() for k in counts)  # facts with no counter row yet
    off = [key for key in ids | set(rows)
           if rows.get(key, (0,) * len(names)) != tuple(truth[n].get(key, 0) for n in names)]
    return Drift(checked=len(ids | set(rows)), ids=sorted(off))


async def drifted_videos(db: AsyncSession) -> Drift:
    rows = {r.video_id: tuple(getattr(r, n) for n in VIDEO_COUNTERS) for r in await db.scalars(select(VideoStats))}
    return _drift(rows, await video_truth(db), VIDEO_COUNTERS)


async def drifted_users(db: AsyncSession) -> Drift:
    rows = {r.user_id: tuple(getattr(r, n) for n in USER_COUNTERS) for r in await db.scalars(select(UserStats))}
    return _drift(rows, await user_truth(db), USER_COUNTERS)


async def drifted_comments(db: AsyncSession) -> Drift:
    found = await db.execute(select(Comment.id, Comment.likes, Comment.replies))
    rows: dict[int, tuple[int, ...]] = {cid: (likes, replies) for cid, likes, replies in found.all()}
    truth = await comment_truth(db)
    truth = {name: {k: n for k, n in counts.items() if k in rows} for name, counts in truth.items()}
    return _drift(rows, truth, COMMENT_COUNTERS)


# Fixing one row under its lock ---------------------------------------------------------------


async def fix_video(db: AsyncSession, video_id: int) -> bool:
    """Set one video's counters to the truth; True if they were off."""
    await engagement.lock_video(db, video_id)
    row = await db.get(VideoStats, video_id, populate_existing=True)
    assert row is not None
    truth = await video_truth(db, of=video_id)
    return _apply(row, {n: truth[n].get(video_id, 0) for n in VIDEO_COUNTERS})


async def fix_user(db: AsyncSession, user_id: int) -> bool:
    await graph.ensure_stats(db, user_id)
    query = select(UserStats).where(UserStats.user_id == user_id).execution_options(populate_existing=True)
    row = await db.scalar(query.with_for_update() if _is_pg(db) else query)
    assert row is not None
    truth = await user_truth(db, of=user_id)
    return _apply(row, {n: truth[n].get(user_id, 0) for n in USER_COUNTERS})


async def fix_comment(db: AsyncSession, comment_id: int) -> bool:
    query = select(Comment).where(Comment.id == comment_id).execution_options(populate_existing=True)
    row = await db.scalar(query.with_for_update() if _is_pg(db) else query)
    if row is None:
        return False
    truth = await comment_truth(db, of=comment_id)
    values = {n: truth[n].get(comment_id, 0) for n in COMMENT_COUNTERS}
    if (row.likes, row.replies) == (values["likes"], values["replies"]):
        return False
    await db.execute(update(Comment).where(Comment.id == comment_id).values(**values))
    return True


def _apply(row: Any, values: dict[str, int]) -> bool:
    if all(getattr(row, name) == value for name, value in values.items()):
        return False
    for name, value in values.items():
        setattr(row, name, value)
    return True


Finder = Callable[[AsyncSession], Awaitable[Drift]]
Fixer = Callable[[AsyncSession, int], Awaitable[bool]]
KINDS: dict[str, tuple[Finder, Fixer]] = {
    "video_stats": (drifted_videos, fix_video),
    "user_stats": (drifted_users, fix_user),
    "comments": (drifted_comments, fix_comment),
}
