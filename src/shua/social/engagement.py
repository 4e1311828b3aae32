"""Likes, favourites (collections), shares and the counters about a video.

Counters (`video_stats`, and the creator's `user_stats.likes_received`) move in the same
transaction as the fact, with atomic `SET n = n + d`, and only when the fact really changed:
liking is an `INSERT … ON CONFLICT DO NOTHING` whose row count decides whether to count, and
unliking a `DELETE` whose row count does. So a double tap, a retry or twenty people at once
all count exactly. Within a transaction locks are taken in one order — the fact's row, then the
video's counters, then the creator's — so two transactions never wait on each other in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock, jobs
from shua.core.db import insert_ignore
from shua.core.errors import Conflict, InvalidRequest, NotFound
from shua.core.ids import new_id, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.media import videos
from shua.media.models import Video
from shua.social import graph
from shua.social.engagement_models import (
    DEFAULT_COLLECTION_NAME,
    Collection,
    Favourite,
    Like,
    Share,
    VideoStats,
)

MAX_COLLECTIONS = 100


class CollectionNotFound(NotFound):
    code = "social.collection_not_found"
    title = "No such collection"


class DefaultCollectionLocked(Conflict):
    code = "social.default_collection"
    title = "The default collection cannot be deleted"


class TooManyCollections(Conflict):
    code = "social.too_many_collections"
    title = "You have too many collections"


@dataclass(frozen=True)
class Stats:
    likes: int = 0
    comments: int = 0
    shares: int = 0
    favourites: int = 0


@dataclass(frozen=True)
class ViewerState:
    liked: bool = False
    favourited: bool = False
    collection_id: int | None = None


NO_STATS, NOBODY = Stats(), ViewerState()


async def ensure_stats(db: AsyncSession, video_id: int) -> None:
    await insert_ignore(db, VideoStats, video_id=video_id, likes=0, comments=0, shares=0, favourites=0)


async def bump(db: AsyncSession, video_id: int, **deltas: int) -> None:
    """Add to a video's counters atomically (`SET n = n + d`)."""
    await ensure_stats(db, video_id)
    values = {name: getattr(VideoStats, name) + delta for name, delta in deltas.items() if delta}
    if values:
        await db.execute(update(VideoStats).where(VideoStats.video_id == video_id).values(**values))


async def lock_video(db: AsyncSession, video_id: int) -> None:
    """Serialise changes to one video's comments (pins, deletions) on PostgreSQL; SQLite already
    runs one writer at a time. Everything that touches the counters row does so before any
    comment row, so this lock never closes a circle."""
    await ensure_stats(db, video_id)
    if db.get_bind().dialect.name != "sqlite":
        await db.execute(select(VideoStats.video_id).where(VideoStats.video_id == video_id).with_for_update())


async def stats_of_many(db: AsyncSession, video_ids: list[int]) -> dict[int, Stats]:
    """The counters of several videos in one query (zeros for a video nobody touched yet)."""
    found = {vid: NO_STATS for vid in video_ids}
    if video_ids:
        rows = await db.scalars(select(VideoStats).where(VideoStats.video_id.in_(set(video_ids))))
        for row in rows:
            found[row.video_id] = Stats(likes=row.likes, comments=row.comments, shares=row.shares,
                                        favourites=row.favourites)
    return found


async def viewer_states(db: AsyncSession, *, viewer_id: int | None, video_ids: list[int]) -> dict[int, ViewerState]:
    """Whether the viewer liked and favourited each video: two queries for a whole page."""
    states = {vid: NOBODY for vid in video_ids}
    if viewer_id is None or not video_ids:
        return states
    wanted = set(video_ids)
    liked = set((await db.scalars(select(Like.video_id).where(Like.user_id == viewer_id,
                                                              Like.video_id.in_(wanted)))).all())
    faved = dict((await db.execute(select(Favourite.video_id, Favourite.collection_id).where(
        Favourite.user_id == viewer_id, Favourite.video_id.in_(wanted)))).all())
    for vid in video_ids:
        states[vid] = ViewerState(liked=vid in liked, favourited=vid in faved, collection_id=faved.get(vid))
    return states


async def like(db: AsyncSession, *, user_id: int, video: Video) -> bool:
    """Like a video the user may see (the caller got it from `videos.get_video`). Idempotent:
    True only when this call made the like."""
    if not await insert_ignore(db, Like, user_id=user_id, video_id=video.id, created_at=clock.utcnow()):
        return False
    await bump(db, video.id, likes=1)
    await graph.bump(db, video.owner_id, likes_received=1)
    await jobs.publish(db, "social.liked", {"user_id": str(user_id), "video_id": str(video.id),
                                            "owner_id": str(video.owner_id)})
    return True


async def recent_likes(db: AsyncSession, *, user_id: int, limit: int = 20) -> list[int]:
    """The videos the user liked most recently, newest first (the feed's "more like this")."""
    query = select(Like.video_id).where(Like.user_id == user_id).order_by(Like.created_at.desc()).limit(limit)
    return list((await db.scalars(query)).all())
async def likes_by(db: AsyncSession, *, user_ids: list[int], since: datetime | None = None,
                   until: datetime | None = None, limit: int | None = None) -> list[tuple[int, int, datetime]]:
    """The current likes of some users as (user_id, video_id, liked_at), newest first (the
    feed's online freshness and its experiment readouts)."""
    if not user_ids:
        return []
    query = select(Like.user_id, Like.video_id, Like.created_at).where(Like.user_id.in_(set(user_ids)))
    if since is not None:
        query = query.where(Like.created_at >= since)
    if until is not None:
        query = query.where(Like.created_at < until)
    query = query.order_by(Like.created_at.desc())
    if limit is not None:
        query = query.limit(limit)
    return [(user_id, video_id, at) for user_id, video_id, at in (await db.execute(query)).all()]


async def unlike(db: AsyncSession, *, user_id: int, video: Video) -> bool:
    """Take a like back; unliking what was never liked changes nothing."""
    result = await db.execute(delete(Like).where(Like.user_id == user_id, Like.video_id == video.id))
    if not getattr(result, "rowcount", 0):
        return False
    await bump(db, video.id, likes=-1)
    await graph.bump(db, video.owner_id, likes_received=-1)
    await jobs.publish(db, "social.unliked", {"user_id": str(user_id), "video_id": str(video.id)})
    return True


async def default_collection(db: AsyncSession, *, owner_id: int) -> Collection:
    """The user's default collection, made on first use (two first favourites at once make one)."""
    query = select(Collection).where(Collection.owner_id == owner_id, Collection.is_default.is_(True))
    found = await db.scalar(query)
    if found is not None:
        return found
    await insert_ignore(db, Collection, id=new_id(), owner_id=owner_id, name=DEFAULT_COLLECTION_NAME,
                        is_default=True, is_private=True, created_at=clock.utcnow())
    made = await db.scalar(query)
    assert made is not None
    return made


async def own_collection(db: AsyncSession, *, owner_id: int, collection_id: object) -> Collection:
    parsed = parse_id(collection_id)
    row = await db.get(Collection, parsed) if parsed else None
    if row is None or row.owner_id != owner_id:
        raise CollectionNotFound()
    return row


async def favourite(db: AsyncSession, *, user_id: int, video: Video, collection_id: int | None = None) -> bool:
    """Favourite a video into a collection (the default one unless named). Favouriting again
    into another collection moves it; True only when the video was not a favourite before."""
    folder = (await own_collection(db, owner_id=user_id, collection_id=collection_id) if collection_id
              else await default_collection(db, owner_id=user_id))
    now = clock.utcnow()
    if not await insert_ignore(db, Favourite, user_id=user_id, video_id=video.id, collection_id=folder.id,
                               created_at=now):
        await db.execute(update(Favourite).where(Favourite.user_id == user_id, Favourite.video_id == video.id,
                                                 Favourite.collection_id != folder.id)
                         .values(collection_id=folder.id, created_at=now))
        return False
    await bump(db, video.id, favourites=1)
    await jobs.publish(db, "social.favourited", {"user_id": str(user_id), "video_id": str(video.id)})
    return True


async def unfavourite(db: AsyncSession, *, user_id: int, video_id: int) -> bool:
    result = await db.execute(delete(Favourite).where(Favourite.user_id == user_id, Favourite.video_id == video_id))
    if not getattr(result, "rowcount", 0):
        return False
    await bump(db, video_id, favourites=-1)
    await jobs.publish(db, "social.unfavourited", {"user_id": str(user_id), "video_id": str(video_id)})
    return True


async def record_share(db: AsyncSession, *, user_id: int, video_id: int, channel: str) -> Share:
    """Count a share of a video the user may see: "link" (copied), "dm" (sent to a friend in a
    message — the messaging context calls this) or "other" (the system share sheet)."""
    video = await videos.get_video(db, viewer_id=user_id, video_id=video_id)
    if channel not in ("link", "dm", "other"):
        raise InvalidRequest("Unknown share channel", field="channel")
    row = Share(id=new_id(), user_id=user_id, video_id=video.id, channel=channel, created_at=clock.utcnow())
    db.add(row)
    await bump(db, video.id, shares=1)
    await jobs.publish(db, "social.shared", {"user_id": str(user_id), "video_id": str(video.id),
                                             "owner_id": str(video.owner_id), "channel": channel})
    return row


# Collections ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionView:
    collection: Collection
    count: int


async def _counts(db: AsyncSession, collection_ids: list[int]) -> dict[int, int]:
    if not collection_ids:
        return {}
    rows = await db.execute(select(Favourite.collection_id, func.count()).where(
        Favourite.collection_id.in_(collection_ids)).group_by(Favourite.collection_id))
    return {cid: int(n) for cid, n in rows.all()}


async def collection_view(db: AsyncSession, row: Collection) -> CollectionView:
    return CollectionView(row, (await _counts(db, [row.id])).get(row.id, 0))


async def list_collections(db: AsyncSession, *, owner_id: int, viewer_id: int | None, cursor: str | None,
                           limit: int = 50) -> tuple[list[CollectionView], str | None]:
    """A user's collections, the default first then newest; others see only public ones."""
    query = (select(Collection).where(Collection.owner_id == owner_id)
             .order_by(Collection.is_default.desc(), Collection.id.desc()).limit(limit))
    if viewer_id != owner_id:
        query = query.where(Collection.is_private.is_(False))
    state = decode_cursor(cursor)
    if state is not None:
        after = parse_id(state.get("id"))
        if after is None:
            raise InvalidRequest("The cursor is not valid", field="cursor")
        # The default collection is always on the first page; later pages are ordinary ones.
        query = query.where(Collection.is_default.is_(False), Collection.id < after)
    rows = list((await db.scalars(query)).all())
    counts = await _counts(db, [r.id for r in rows])
    more = len(rows) == limit
    return ([CollectionView(r, counts.get(r.id, 0)) for r in rows],
            encode_cursor({"id": str(rows[-1].id)}) if more else None)


async def create_collection(db: AsyncSession, *, owner_id: int, name: str, is_private: bool = True) -> Collection:
    """A new collection; the default one is made for you on your first favourite."""
    await default_collection(db, owner_id=owner_id)
    count = await db.scalar(select(func.count()).select_from(Collection).where(Collection.owner_id == owner_id))
    if int(count or 0) >= MAX_COLLECTIONS:
        raise TooManyCollections(limit=MAX_COLLECTIONS)
    row = Collection(id=new_id(), owner_id=owner_id, name=name, is_default=False, is_private=is_private,
                     created_at=clock.utcnow())
    db.add(row)
    await db.flush()
    return row


async def update_collection(db: AsyncSession, *, owner_id: int, collection_id: int, name: str | None = None,
                            is_private: bool | None = None) -> Collection:
    row = await own_collection(db, owner_id=owner_id, collection_id=collection_id)
    if name is not None:
        row.name = name
    if is_private is not None:
        row.is_private = is_private
    return row


async def delete_collection(db: AsyncSession, *, owner_id: int, collection_id: int) -> None:
    """Delete a collection and unfavourite what was in it (the counters follow)."""
    row = await own_collection(db, owner_id=owner_id, collection_id=collection_id)
    if row.is_default:
        raise DefaultCollectionLocked()
    video_ids = (await db.scalars(select(Favourite.video_id).where(Favourite.collection_id == row.id)
                                  .order_by(Favourite.video_id))).all()
    for video_id in video_ids:
        await unfavourite(db, user_id=owner_id, video_id=video_id)
    await db.delete(row)


async def readable_collection(db: AsyncSession, *, viewer_id: int | None, collection_id: object) -> Collection:
    """A collection the viewer may open: their own, or someone's public one (blocks hide it)."""
    parsed = parse_id(collection_id)
    row = await db.get(Collection, parsed) if parsed else None
    if row is None:
        raise CollectionNotFound()
    if row.owner_id != viewer_id and (row.is_private or not await graph.visible_to(
            db, viewer_id=viewer_id, owner_id=row.owner_id)):
        raise CollectionNotFound()
    return row


@dataclass(frozen=True)
class FavouritesPage:
    videos: list[Video]
    next_cursor: str | None


def _after(cursor: str | None) -> tuple[datetime, int] | None:
    state = decode_cursor(cursor)
    if state is None:
        return None
    try:
        at, video_id = datetime.fromisoformat(str(state["t"])), parse_id(state["id"])
    except (KeyError, ValueError) as exc:
        raise InvalidRequest("The cursor is not valid", field="cursor") from exc
    if video_id is None or at.tzinfo is None:
        raise InvalidRequest("The cursor is not valid", field="cursor")
    return at, video_id


async def list_favourites(db: AsyncSession, *, viewer_id: int | None, owner_id: int, collection_id: int | None,
                          cursor: str | None, limit: int = 18) -> FavouritesPage:
    """Favourited videos, newest favourite first, of one collection or all of the owner's. Videos
    the viewer may no longer see (deleted, made private, blocked) drop out of the page."""
    query = (select(Favourite.video_id, Favourite.created_at).where(Favourite.user_id == owner_id)
             .order_by(Favourite.created_at.desc(), Favourite.video_id.desc()).limit(limit))
    if collection_id is not None:
        query = query.where(Favourite.collection_id == collection_id)
    after = _after(cursor)
    if after is not None:
        query = query.where(or_(Favourite.created_at < after[0],
                                and_(Favourite.created_at == after[0], Favourite.video_id < after[1])))
    rows = (await db.execute(query)).all()
    visible = await videos.visible_by_id(db, viewer_id=viewer_id, video_ids=[vid for vid, _ in rows])
    more = len(rows) == limit
    next_cursor = encode_cursor({"t": rows[-1][1].isoformat(), "id": str(rows[-1][0])}) if more else None
    return FavouritesPage(videos=[visible[vid] for vid, _ in rows if vid in visible], next_cursor=next_cursor)


# Accounts ------------------------------------------------------------------------------------


async def forget_user(db: AsyncSession, *, user_id: int) -> None:
    """An account was deleted: its likes and favourites are taken back so the counts others see
    stay right (the rows would go with the account anyway). Counters of videos first, in id
    order, then the creators', the same order every like takes."""
    liked = list((await db.scalars(select(Like.video_id).where(Like.user_id == user_id)
                                   .order_by(Like.video_id))).all())
    pairs = videos.owner_pairs().subquery()
    owners = dict((await db.execute(select(pairs.c.video_id, pairs.c.owner_id)
                                    .where(pairs.c.video_id.in_(liked)))).all()) if liked else {}
    await db.execute(delete(Like).where(Like.user_id == user_id))
    for video_id in liked:
        await bump(db, video_id, likes=-1)
    received: dict[int, int] = {}
    for video_id in liked:
        if video_id in owners:
            received[owners[video_id]] = received.get(owners[video_id], 0) + 1
    for owner_id in sorted(received):
        await graph.bump(db, owner_id, likes_received=-received[owner_id])
    faved = list((await db.scalars(select(Favourite.video_id).where(Favourite.user_id == user_id)
                                   .order_by(Favourite.video_id))).all())
    await db.execute(delete(Favourite).where(Favourite.user_id == user_id))
    for video_id in faved:
        await bump(db, video_id, favourites=-1)


async def export_likes(db: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await db.execute(select(Like.video_id, Like.created_at).where(Like.user_id == user_id)
                            .order_by(Like.created_at))
    return [{"video_id": str(vid), "created_at": at.isoformat()} for vid, at in rows.all()]


async def export_collections(db: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    folders = (await db.scalars(select(Collection).where(Collection.owner_id == user_id)
                                .order_by(Collection.id))).all()
    faves = (await db.scalars(select(Favourite).where(Favourite.user_id == user_id)
                              .order_by(Favourite.created_at))).all()
    return [{"id": str(c.id), "name": c.name, "is_default": c.is_default, "is_private": c.is_private,
             "created_at": c.created_at.isoformat(),
             "videos": [{"video_id": str(f.video_id), "created_at": f.created_at.isoformat()}
                        for f in faves if f.collection_id == c.id]}
            for c in folders]
