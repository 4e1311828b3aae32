"""HTTP routes for daily posts, moods and the Friends tab."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.core.errors import BodyTooLarge
from shua.core.ids import ID
from shua.core.text import Line
from shua.media import videos
from shua.media.routes import video_reads
from shua.runtime import Runtime
from shua.social import friends_feed, graph, moments
from shua.social.moments_models import DailyPost, Mood
from shua.social.routes import PROBLEMS, visible_user
from shua.social.schemas import (
    DailyRead,
    DailyStripItem,
    DailyVideoCreate,
    DailyViewerRead,
    DailyViewersPage,
    FriendsFeedRead,
    FriendsItemRead,
    MoodRead,
    MoodUpdate,
)
from shua.web.deps import DB, CurrentAuth, MaybeAuth, RuntimeDep
from shua.web.media import access_checked_photo

router = APIRouter(prefix="/api/v1", tags=["moments"])
media_router = APIRouter(tags=["moments"])
Ref = Annotated[str, Path(max_length=64, description="A user id or handle")]
Cursor = Annotated[str | None, Query(max_length=300)]


def mood_read(mood: Mood) -> MoodRead:
    return MoodRead(id=mood.id, user_id=mood.user_id, tag=mood.tag, emoji=moments.MOOD_TAGS.get(mood.tag, ""),
                    text=mood.text, visibility=mood.visibility, created_at=mood.created_at,
                    expires_at=mood.expires_at)


async def daily_reads(db: AsyncSession, runtime: Runtime, *, viewer_id: int | None,
                      posts: list[DailyPost]) -> list[DailyRead]:
    """API views of daily posts: author, photo URL or processed clip, whether the viewer saw each."""
    authors = await accounts.users_by_id(db, ids=[p.author_id for p in posts])
    rows = []
    for post in posts:
        if post.video_id is not None:
            try:  # friends see the clip once it plays; its author sees it processing too
                rows.append(await videos.get_video(db, viewer_id=viewer_id, video_id=post.video_id))
            except videos.VideoNotFound:
                continue
    clips = {read.id: read for read in await video_reads(db, runtime, rows, viewer_id=viewer_id)}
    posts = [p for p in posts if p.video_id is None or p.video_id in clips or p.author_id == viewer_id]
    own = [p.id for p in posts if p.author_id == viewer_id]
    counts = await moments.view_counts(db, own)
    seen = await moments.seen_by(db, viewer_id=viewer_id, post_ids=[p.id for p in posts]) if viewer_id else set()
    return [DailyRead(
        id=p.id, author=accounts.to_user_read(authors[p.author_id]), kind=p.kind,
        caption=p.caption, photo_url=f"/media/daily/{p.id}.jpg" if p.photo_key else None,
        video=clips.get(p.video_id) if p.video_id is not None else None, created_at=p.created_at,
        expires_at=p.expires_at, seen=p.author_id == viewer_id or p.id in seen,
        view_count=counts.get(p.id, 0) if p.author_id == viewer_id else None,
    ) for p in posts if p.author_id in authors]


@router.post("/daily/photo", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def post_daily_photo(
    auth: CurrentAuth, db: DB, runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")],
    caption: Annotated[Line(100), Form()] = "",  # type: ignore[valid-type]
) -> DailyRead:
    """Post a photo for your friends; it disappears after 24 hours."""
    limit = runtime.settings.max_daily_photo_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge(limit=limit)
    post = await moments.post_daily_photo(db, runtime.storage, author_id=auth.user.id, data=data, caption=caption,
                                          hours=runtime.settings.daily_hours)
    return (await daily_reads(db, runtime, viewer_id=auth.user.id, posts=[post]))[0]


@router.post("/daily/video", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def post_daily_video(body: DailyVideoCreate, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> DailyRead:
    """Post a finished upload (tus, as for any video) as today's clip for your friends."""
    post = await moments.post_daily_video(db, author_id=auth.user.id, upload_id=body.upload_id, caption=body.caption,
                                          hours=runtime.settings.daily_hours)
    await db.flush()
    return (await daily_reads(db, runtime, viewer_id=auth.user.id, posts=[post]))[0]


@router.get("/daily/{post_id}", responses=PROBLEMS)
async def read_daily(post_id: ID, auth: MaybeAuth, db: DB, runtime: RuntimeDep) -> DailyRead:
    """A daily post, for its author and their friends, until it expires."""
    viewer_id = auth.user.id if auth else None
    post = await moments.get_daily(db, viewer_id=viewer_id, post_id=post_id)
    shown = await daily_reads(db, runtime, viewer_id=viewer_id, posts=[post])
    if not shown:  # a friend's clip that is still processing
        raise moments.DailyNotFound()
    return shown[0]


@router.post("/daily/{post_id}/views", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def view_daily(post_id: ID, auth: CurrentAuth, db: DB) -> None:
    """Say you have seen a friend's daily post (its author sees who did)."""
    await moments.record_view(db, viewer_id=auth.user.id, post_id=post_id)


@router.get("/daily/{post_id}/viewers", responses=PROBLEMS)
async def list_daily_viewers(post_id: ID, auth: CurrentAuth, db: DB, cursor: Cursor = None) -> DailyViewersPage:
    """Who saw your daily post (yours only)."""
    rows, next_cursor = await moments.viewers(db, author_id=auth.user.id, post_id=post_id, cursor=cursor)
    users = await accounts.users_by_id(db, ids=[r.viewer_id for r in rows])
    items = [DailyViewerRead(user=accounts.to_user_read(users[r.viewer_id]), viewed_at=r.viewed_at)
             for r in rows if r.viewer_id in users]
    return DailyViewersPage(items=items, next_cursor=next_cursor)


@router.delete("/daily/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def delete_daily(post_id: ID, auth: CurrentAuth, db: DB) -> None:
    """Take your daily post down now."""
    await moments.delete_daily(db, author_id=auth.user.id, post_id=post_id)


@router.get("/users/{ref}/daily", responses=PROBLEMS)
async def list_user_daily(ref: Ref, auth: MaybeAuth, db: DB, runtime: RuntimeDep) -> list[DailyRead]:
    """Someone's daily posts today, oldest first (empty unless you are friends)."""
    viewer_id = auth.user.id if auth else None
    user = await visible_user(db, viewer_id=viewer_id, ref=ref)
    posts = await moments.daily_of(db, viewer_id=viewer_id, author_id=user.id)
    return await daily_reads(db, runtime, viewer_id=viewer_id, posts=posts)


@router.get("/friends/daily", responses=PROBLEMS)
async def daily_strip(auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> list[DailyStripItem]:
    """You and each friend with daily posts today; unseen ones first."""
    me = auth.user.id
    posts = await moments.live_posts(db, author_ids=[me, *await graph.friend_ids(db, me)], limit=500)
    reads = await daily_reads(db, runtime, viewer_id=me, posts=list(reversed(posts)))
    by_author: dict[int, list[DailyRead]] = {}
    for read in reads:
        by_author.setdefault(read.author.id, []).append(read)
    strip = [DailyStripItem(user=group[0].author, posts=group, unseen=any(not r.seen for r in group))
             for group in by_author.values()]
    # yourself first, then friends with something unseen, most recent first
    strip.sort(key=lambda s: (s.user.id != me, not s.unseen, -max(r.id for r in s.posts)))
    return strip


@router.put("/me/mood", responses=PROBLEMS)
async def set_mood(body: MoodUpdate, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> MoodRead:
    """Say how you feel; friends (or everyone) see it for 24 hours."""
    mood = await moments.set_mood(db, user_id=auth.user.id, tag=body.tag, text=body.text, visibility=body.visibility,
                                  hours=runtime.settings.daily_hours)
    return mood_read(mood)


@router.delete("/me/mood", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def clear_mood(auth: CurrentAuth, db: DB) -> None:
    """Clear your mood."""
    await moments.clear_mood(db, user_id=auth.user.id)


@router.get("/users/{ref}/mood", responses=PROBLEMS)
async def read_mood(ref: Ref, auth: MaybeAuth, db: DB) -> MoodRead | None:
    """Someone's mood now, if you may see it (null otherwise)."""
    viewer_id = auth.user.id if auth else None
    user = await visible_user(db, viewer_id=viewer_id, ref=ref)
    mood = await moments.current_mood(db, viewer_id=viewer_id, user_id=user.id)
    return mood_read(mood) if mood else None


@router.get("/friends/feed", responses=PROBLEMS)
async def read_friends_feed(auth: CurrentAuth, db: DB, runtime: RuntimeDep, cursor: Cursor = None) -> FriendsFeedRead:
    """Friends' videos, daily posts and moods, newest first; `new` marks what came since your last visit."""
    page = await friends_feed.friends_feed(db, viewer_id=auth.user.id, cursor=cursor)
    return await friends_feed_read(db, runtime, viewer_id=auth.user.id, page=page)


async def friends_feed_read(db: AsyncSession, runtime: Runtime, *, viewer_id: int,
                            page: friends_feed.FriendsPage) -> FriendsFeedRead:
    users = await accounts.users_by_id(db, ids=[i.user_id for i in page.items])
    video_views = {v.id: v for v in await video_reads(db, runtime, [i.video for i in page.items if i.video],
                                                      viewer_id=viewer_id)}
    daily_views = {d.id: d for d in await daily_reads(db, runtime, viewer_id=viewer_id,
                                                      posts=[i.daily for i in page.items if i.daily])}
    items = []
    for item in page.items:
        if item.user_id not in users:
            continue
        extra: dict[str, Any] = {}
        if item.video is not None:
            extra["video"] = video_views[item.video.id]
        elif item.daily is not None:
            if item.daily.id not in daily_views:
                continue
            extra["daily"] = daily_views[item.daily.id]
        elif item.mood is not None:
            extra["mood"] = mood_read(item.mood)
        items.append(FriendsItemRead(
            kind=item.kind, id=item.id, user=accounts.to_user_read(users[item.user_id]),
            created_at=item.created_at, new=page.last_visit_at is None or item.created_at > page.last_visit_at,
            **extra))
    return FriendsFeedRead(items=items, next_cursor=page.next_cursor, last_visit_at=page.last_visit_at)


@router.post("/friends/seen", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def mark_friends_seen(auth: CurrentAuth, db: DB) -> None:
    """You have looked at the Friends tab: what is there now is no longer new."""
    await graph.friends_seen(db, user_id=auth.user.id)


@media_router.get("/media/daily/{post_id}.jpg", response_class=Response, responses=PROBLEMS)
async def read_daily_photo(post_id: ID, auth: MaybeAuth, db: DB, runtime: RuntimeDep) -> Response:
    """A daily post's photo, for those who may see the post (checked on every request)."""
    post = await moments.get_daily(db, viewer_id=auth.user.id if auth else None, post_id=post_id)
    if not post.photo_key:
        raise moments.DailyNotFound()
    return await access_checked_photo(runtime.storage, post.photo_key, cache="private, max-age=300",
                                      missing=moments.DailyNotFound())
