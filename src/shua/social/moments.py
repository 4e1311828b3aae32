"""Daily posts (拍日常) and moods (写心情). Both last 24 hours (SHUA_DAILY_HOURS): a job deletes
them when they expire, and every read also checks the clock, so a late job never shows
yesterday's post. Daily posts are for friends only; a mood is for friends, or for everyone
who can see the profile when its author says so."""

from __future__ import annotations

import contextlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock, jobs
from shua.core.db import insert_ignore
from shua.core.errors import InvalidRequest, NotFound
from shua.core.ids import new_id, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.core.storage import Storage
from shua.media import images, videos
from shua.media.models import DAILY, FRIENDS
from shua.social import graph
from shua.social.moments_models import PHOTO, VIDEO, DailyPost, DailyView, Mood

# The mood tags people pick from, with the emoji shown next to them (labels are translated).
MOOD_TAGS: dict[str, str] = {
    "happy": "😊", "excited": "🤩", "chill": "😌", "love": "😍", "tired": "😴", "sad": "😢",
    "busy": "💼", "study": "📚", "workout": "🏃", "hungry": "🍜", "travel": "✈️", "party": "🎉",
}


class DailyNotFound(NotFound):
    code = "social.daily_not_found"
    title = "This daily post is gone or not for you"


class InvalidPhoto(InvalidRequest):
    code = "social.invalid_photo"
    title = "The file is not a supported photo (JPEG, PNG, WebP or GIF)"


def normalise_photo(data: bytes) -> bytes:
    try:
        return images.normalise_photo(data)
    except images.NotAPhoto as exc:
        raise InvalidPhoto() from exc


def is_live(post: DailyPost, now: datetime | None = None) -> bool:
    return post.deleted_at is None and post.expires_at > (now or clock.utcnow())


async def _schedule_expiry(db: AsyncSession, post: DailyPost) -> None:
    await jobs.enqueue(db, "social.expire_daily", {"post_id": str(post.id)}, run_at=post.expires_at)
    await jobs.publish(db, "social.daily_posted", {"post_id": str(post.id), "author_id": str(post.author_id)})


async def post_daily_photo(db: AsyncSession, storage: Storage, *, author_id: int, data: bytes, caption: str,
                           hours: float) -> DailyPost:
    """Post a photo for friends to see today."""
    import asyncio

    jpeg = await asyncio.to_thread(normalise_photo, data)
    now = clock.utcnow()
    post = DailyPost(id=new_id(), author_id=author_id, kind=PHOTO, caption=caption, created_at=now,
                     expires_at=now + timedelta(hours=hours))
    # An unguessable name: the file is only ever handed out through an access-checked route.
    post.photo_key = f"daily/{author_id}/{post.id}-{secrets.token_hex(8)}.jpg"
    await storage.put(post.photo_key, jpeg, content_type="image/jpeg")
    db.add(post)
    await _schedule_expiry(db, post)
    return post


async def post_daily_video(db: AsyncSession, *, author_id: int, upload_id: int, caption: str,
                           hours: float) -> DailyPost:
    """Post a finished upload as today's clip; it plays once processed, like any video."""
    clip = await videos.post_video(db, owner_id=author_id, upload_id=upload_id, caption="", visibility=FRIENDS,
                                   allow_comments=False, allow_duets=False, purpose=DAILY)
    now = clock.utcnow()
    post = DailyPost(id=new_id(), author_id=author_id, kind=VIDEO, video_id=clip.id, caption=caption,
                     created_at=now, expires_at=now + timedelta(hours=hours))
    db.add(post)
    await _schedule_expiry(db, post)
    return post


async def _may_see(db: AsyncSession, viewer_id: int | None, author_id: int) -> bool:
    if viewer_id == author_id:
        return True
    return viewer_id is not None and await graph.are_friends(db, viewer_id, author_id) \
        and not await graph.blocked_between(db, viewer_id, author_id)


async def get_daily(db: AsyncSession, *, viewer_id: int | None, post_id: object) -> DailyPost:
    """A live daily post the viewer may see: its author, or a friend of theirs."""
    parsed = parse_id(post_id)
    post = await db.get(DailyPost, parsed) if parsed else None
    if post is None or not is_live(post) or not await _may_see(db, viewer_id, post.author_id):
        raise DailyNotFound()
    return post


async def record_view(db: AsyncSession, *, viewer_id: int, post_id: object) -> DailyPost:
    """A friend looked at the post (once counts; the author's own looks do not)."""
    post = await get_daily(db, viewer_id=viewer_id, post_id=post_id)
    if viewer_id != post.author_id:
        await insert_ignore(db, DailyView, post_id=post.id, viewer_id=viewer_id, viewed_at=clock.utcnow())
    return post


async def viewers(db: AsyncSession, *, author_id: int, post_id: object, cursor: str | None,
                  limit: int = 50) -> tuple[list[DailyView], str | None]:
    """Who saw your daily post, latest first. Nobody else may ask."""
    post = await get_daily(db, viewer_id=author_id, post_id=post_id)
    if post.author_id != author_id:
        raise DailyNotFound()
    query = (select(DailyView).where(DailyView.post_id == post.id)
             .order_by(DailyView.viewed_at.desc(), DailyView.viewer_id.desc()).limit(limit))
    state = decode_cursor(cursor)
    if state:
        try:
            at, who = datetime.fromisoformat(str(state["t"])), parse_id(state["id"])
        except (KeyError, ValueError) as exc:
            raise InvalidRequest("The cursor is not valid", field="cursor") from exc
        if at.tzinfo is None or who is None:
            raise InvalidRequest("The cursor is not valid", field="cursor")
        query = query.where(or_(DailyView.viewed_at < at, and_(DailyView.viewed_at == at, DailyView.viewer_id < who)))
    rows = list((await db.scalars(query)).all())
    more = len(rows) == limit
    return rows, encode_cursor({"t": rows[-1].viewed_at.isoformat(), "id": str(rows[-1].viewer_id)}) if more else None


async def view_counts(db: AsyncSession, post_ids: list[int]) -> dict[int, int]:
    from sqlalchemy import func

    if not post_ids:
        return {}
    query = select(DailyView.post_id, func.count()).where(DailyView.post_id.in_(post_ids)).group_by(DailyView.post_id)
    return {pid: int(n) for pid, n in (await db.execute(query)).all()}


async def seen_by(db: AsyncSession, *, viewer_id: int, post_ids: list[int]) -> set[int]:
    if not post_ids:
        return set()
    query = select(DailyView.post_id).where(DailyView.viewer_id == viewer_id, DailyView.post_id.in_(post_ids))
    return set((await db.scalars(query)).all())


async def delete_daily(db: AsyncSession, *, author_id: int, post_id: object) -> None:
    """Take a daily post down before its time."""
    post = await get_daily(db, viewer_id=author_id, post_id=post_id)
    if post.author_id != author_id:
        raise DailyNotFound()
    post.deleted_at = clock.utcnow()
    await jobs.enqueue(db, "social.expire_daily", {"post_id": str(post.id)})


async def expire_daily(db: AsyncSession, storage: Storage, *, post_id: int) -> None:
    """Remove an expired or deleted post's media. Idempotent; early deliveries wait their turn."""
    post = await db.get(DailyPost, post_id)
    if post is None or is_live(post):
        return
    if post.deleted_at is None:
        post.deleted_at = post.expires_at
    if post.photo_key:
        await storage.delete(post.photo_key)
        post.photo_key = None
    if post.video_id is not None:
        with contextlib.suppress(videos.VideoNotFound):  # already gone
            await videos.delete_video(db, owner_id=post.author_id, video_id=post.video_id)
        post.video_id = None


async def live_posts(db: AsyncSession, *, author_ids: list[int], before_id: int | None = None,
                     limit: int = 50) -> list[DailyPost]:
    """Live daily posts of these authors, newest first (callers decide who may see them)."""
    if not author_ids:
        return []
    query = (select(DailyPost).where(DailyPost.author_id.in_(author_ids), DailyPost.deleted_at.is_(None),
                                     DailyPost.expires_at > clock.utcnow())
             .order_by(DailyPost.id.desc()).limit(limit))
    if before_id is not None:
        query = query.where(DailyPost.id < before_id)
    return list((await db.scalars(query)).all())


async def daily_of(db: AsyncSession, *, viewer_id: int | None, author_id: int) -> list[DailyPost]:
    """Someone's live daily posts, oldest first (the order they are watched in), if the viewer may see them."""
    if not await _may_see(db, viewer_id, author_id):
        return []
    return list(reversed(await live_posts(db, author_ids=[author_id])))


# ---- moods -------------------------------------------------------------------------------------

def _live_mood(now: datetime) -> ColumnElement[bool]:
    return and_(Mood.cleared_at.is_(None), Mood.expires_at > now)


async def set_mood(db: AsyncSession, *, user_id: int, tag: str, text: str, visibility: str, hours: float) -> Mood:
    """Say how you feel for the next 24 hours; it replaces the mood before."""
    now = clock.utcnow()
    for old in (await db.scalars(select(Mood).where(Mood.user_id == user_id, _live_mood(now)))).all():
        old.cleared_at = now
    mood = Mood(id=new_id(), user_id=user_id, tag=tag, text=text, visibility=visibility, created_at=now,
                expires_at=now + timedelta(hours=hours))
    db.add(mood)
    await jobs.enqueue(db, "social.expire_moods", {}, run_at=mood.expires_at)
    await jobs.publish(db, "social.mood_set", {"mood_id": str(mood.id), "user_id": str(user_id)})
    return mood


async def clear_mood(db: AsyncSession, *, user_id: int) -> None:
    now = clock.utcnow()
    for old in (await db.scalars(select(Mood).where(Mood.user_id == user_id, _live_mood(now)))).all():
        old.cleared_at = now


async def _may_see_mood(db: AsyncSession, viewer_id: int | None, mood: Mood) -> bool:
    if viewer_id == mood.user_id:
        return True
    if not await graph.visible_to(db, viewer_id=viewer_id, owner_id=mood.user_id):
        return False
    if mood.visibility == "public":
        return await graph.may_see_content(db, viewer_id=viewer_id, owner_id=mood.user_id, visibility="public")
    return viewer_id is not None and await graph.are_friends(db, viewer_id, mood.user_id)


async def current_mood(db: AsyncSession, *, viewer_id: int | None, user_id: int) -> Mood | None:
    """The user's live mood, if the viewer may see it."""
    query = (select(Mood).where(Mood.user_id == user_id, _live_mood(clock.utcnow()))
             .order_by(Mood.id.desc()).limit(1))
    mood = await db.scalar(query)
    return mood if mood is not None and await _may_see_mood(db, viewer_id, mood) else None


async def mood_by_id(db: AsyncSession, *, viewer_id: int | None, mood_id: int) -> Mood | None:
    """A live mood by id, if the viewer may see it."""
    mood = await db.get(Mood, mood_id)
    if mood is None or mood.cleared_at is not None or mood.expires_at <= clock.utcnow():
        return None
    return mood if await _may_see_mood(db, viewer_id, mood) else None


async def live_moods(db: AsyncSession, *, user_ids: list[int], before_id: int | None = None,
                     limit: int = 50) -> list[Mood]:
    """Live moods of these users (friends: both visibilities apply), newest first."""
    if not user_ids:
        return []
    query = (select(Mood).where(Mood.user_id.in_(user_ids), _live_mood(clock.utcnow()))
             .order_by(Mood.id.desc()).limit(limit))
    if before_id is not None:
        query = query.where(Mood.id < before_id)
    return list((await db.scalars(query)).all())


async def expire_moods(db: AsyncSession) -> int:
    """Delete moods whose day is over (the read path already hides them)."""
    from sqlalchemy import delete

    result = await db.execute(delete(Mood).where(or_(Mood.expires_at <= clock.utcnow(), Mood.cleared_at.is_not(None))))
    return int(getattr(result, "rowcount", 0) or 0)


async def export_moments(db: AsyncSession, user_id: int) -> dict[str, object]:
    """The user's live daily posts and moods for their data export."""
    posts = await live_posts(db, author_ids=[user_id])
    moods = await live_moods(db, user_ids=[user_id])
    return {
        "daily_posts": [{"id": str(p.id), "kind": p.kind, "caption": p.caption, "created_at": p.created_at.isoformat(),
                         "expires_at": p.expires_at.isoformat()} for p in posts],
        "moods": [{"tag": m.tag, "text": m.text, "visibility": m.visibility, "created_at": m.created_at.isoformat()}
                  for m in moods],
    }
