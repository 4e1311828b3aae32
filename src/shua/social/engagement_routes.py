"""HTTP routes of likes, favourites and collections, shares and comments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.core.ids import ID
from shua.media import videos
from shua.media.models import Video
from shua.media.routes import VideoRead, video_reads
from shua.runtime import Runtime
from shua.social import comments, engagement
from shua.social.engagement_models import Comment
from shua.social.engagement_schemas import (
    CollectionCreate,
    CollectionRead,
    CollectionsPage,
    CollectionUpdate,
    CommentCreate,
    CommentLikeRead,
    CommentPage,
    CommentRead,
    EngagementRead,
    FavouriteCreate,
    MentionRead,
    ShareCreate,
    VideoMeRead,
    VideoStatsRead,
)
from shua.social.routes import PROBLEMS, Ref, visible_user
from shua.web.deps import DB, CurrentAuth, MaybeAuth, RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["engagement"])
Cursor = Annotated[str | None, Query(max_length=300)]


class FavouriteVideosPage(BaseModel):
    items: list[VideoRead]
    next_cursor: str | None


async def _like_limit(runtime: Runtime, user_id: int) -> None:
    await runtime.limiter.hit(runtime.settings.like_rate, "like", str(user_id))


async def engagement_read(db: AsyncSession, *, viewer_id: int | None, video: Video) -> EngagementRead:
    """A video's counters, how the viewer engaged with it and whether they may comment."""
    stats = (await engagement.stats_of_many(db, [video.id]))[video.id]
    me = (await engagement.viewer_states(db, viewer_id=viewer_id, video_ids=[video.id]))[video.id]
    return EngagementRead(
        video_id=video.id,
        stats=VideoStatsRead(likes=stats.likes, comments=stats.comments, shares=stats.shares,
                             favourites=stats.favourites),
        me=VideoMeRead(liked=me.liked, favourited=me.favourited, collection_id=me.collection_id),
        comments_off=not video.allow_comments,
        can_comment=await comments.can_comment(db, user_id=viewer_id, video=video),
    )


@router.get("/videos/{video_id}/engagement", responses=PROBLEMS)
async def read_engagement(video_id: ID, auth: MaybeAuth, db: DB) -> EngagementRead:
    """A video's likes, comments, shares and favourites, and whether you liked or favourited it."""
    viewer_id = auth.user.id if auth else None
    video = await videos.get_video(db, viewer_id=viewer_id, video_id=video_id)
    return await engagement_read(db, viewer_id=viewer_id, video=video)


@router.post("/videos/{video_id}/like", responses=PROBLEMS)
async def like_video(video_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> EngagementRead:
    """Like a video (点赞). Liking twice is liking once."""
    await _like_limit(runtime, auth.user.id)
    video = await videos.get_video(db, viewer_id=auth.user.id, video_id=video_id)
    await engagement.like(db, user_id=auth.user.id, video=video)
    return await engagement_read(db, viewer_id=auth.user.id, video=video)


@router.delete("/videos/{video_id}/like", responses=PROBLEMS)
async def unlike_video(video_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> EngagementRead:
    """Take your like back (harmless if there was none)."""
    await _like_limit(runtime, auth.user.id)
    video = await videos.get_video(db, viewer_id=auth.user.id, video_id=video_id)
    await engagement.unlike(db, user_id=auth.user.id, video=video)
    return await engagement_read(db, viewer_id=auth.user.id, video=video)


@router.post("/videos/{video_id}/favourite", responses=PROBLEMS)
async def favourite_video(video_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep,
                          body: FavouriteCreate | None = None) -> EngagementRead:
    """Favourite a video (收藏) into your default collection or one you name; again into another
    collection moves it."""
    await _like_limit(runtime, auth.user.id)
    video = await videos.get_video(db, viewer_id=auth.user.id, video_id=video_id)
    await engagement.favourite(db, user_id=auth.user.id, video=video,
                               collection_id=body.collection_id if body else None)
    return await engagement_read(db, viewer_id=auth.user.id, video=video)


@router.delete("/videos/{video_id}/favourite", responses=PROBLEMS)
async def unfavourite_video(video_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> EngagementRead:
    """Remove a video from your favourites."""
    await _like_limit(runtime, auth.user.id)
    video = await videos.get_video(db, viewer_id=auth.user.id, video_id=video_id)
    await engagement.unfavourite(db, user_id=auth.user.id, video_id=video.id)
    return await engagement_read(db, viewer_id=auth.user.id, video=video)


@router.post("/videos/{video_id}/shares", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def share_video(video_id: ID, body: ShareCreate, auth: CurrentAuth, db: DB,
                      runtime: RuntimeDep) -> EngagementRead:
    """Record a share (a copied link, or another app); sending in a message records its own."""
    await runtime.limiter.hit(runtime.settings.share_rate, "share", str(auth.user.id))
    await engagement.record_share(db, user_id=auth.user.id, video_id=video_id, channel=body.channel)
    video = await videos.get_video(db, viewer_id=auth.user.id, video_id=video_id)
    return await engagement_read(db, viewer_id=auth.user.id, video=video)


# Comments ------------------------------------------------------------------------------------


async def comment_reads(db: AsyncSession, *, viewer_id: int | None, video: Video,
                        threads: list[comments.Thread]) -> list[CommentRead]:
    """Comments (with their first replies) as the API shows them: authors, whom they answer,
    mentions and the viewer's likes fetched for the whole page at once."""
    everyone = [t.comment for t in threads] + [r for t in threads for r in t.replies]
    user_ids = {uid for c in everyone for uid in (c.author_id, c.reply_to_user_id, *c.mentions) if uid}
    users = await accounts.users_by_id(db, ids=list(user_ids))
    liked = await comments.liked_among(db, viewer_id=viewer_id, comment_ids=[c.id for c in everyone])

    def read(c: Comment) -> CommentRead:
        gone = c.deleted_at is not None
        author = users.get(c.author_id) if c.author_id and not gone else None
        answered = users.get(c.reply_to_user_id) if c.reply_to_user_id else None
        return CommentRead(
            id=c.id, video_id=c.video_id, author=accounts.to_user_read(author) if author else None,
            body="" if gone else c.body, deleted=gone, root_id=c.root_id, reply_to_id=c.reply_to_id,
            reply_to_user=accounts.to_user_read(answered) if answered else None,
            mentions=[MentionRead(id=uid, handle=users[uid].handle) for uid in c.mentions if uid in users],
            likes=c.likes, replies=c.replies, pinned=c.pinned_at is not None and not gone,
            liked=c.id in liked, created_at=c.created_at,
            can_delete=not gone and viewer_id is not None and viewer_id in (c.author_id, video.owner_id),
            can_pin=not gone and c.root_id is None and viewer_id == video.owner_id,
        )

    return [read(t.comment).model_copy(update={"first_replies": [read(r) for r in t.replies],
                                               "replies_cursor": t.replies_cursor})
            for t in threads]


async def _page(db: AsyncSession, *, viewer_id: int | None, video: Video, threads: list[comments.Thread],
                next_cursor: str | None) -> CommentPage:
    stats = (await engagement.stats_of_many(db, [video.id]))[video.id]
    return CommentPage(items=await comment_reads(db, viewer_id=viewer_id, video=video, threads=threads),
                       next_cursor=next_cursor, total=stats.comments, comments_off=not video.allow_comments,
                       can_comment=await comments.can_comment(db, user_id=viewer_id, video=video))


@router.get("/videos/{video_id}/comments", responses=PROBLEMS)
async def list_comments(video_id: ID, auth: MaybeAuth, db: DB, cursor: Cursor = None,
                        sort: comments.Sort = "top") -> CommentPage:
    """A video's top-level comments, the pinned one first, then most liked (`top`) or newest
    (`new`), each with its first two replies."""
    viewer_id = auth.user.id if auth else None
    page = await comments.list_comments(db, viewer_id=viewer_id, video_id=video_id, sort=sort, cursor=cursor)
    return await _page(db, viewer_id=viewer_id, video=page.video, threads=page.threads,
                       next_cursor=page.next_cursor)


@router.get("/comments/{comment_id}/replies", responses=PROBLEMS)
async def list_replies(comment_id: ID, auth: MaybeAuth, db: DB, cursor: Cursor = None) -> CommentPage:
    """The replies in a comment's thread, oldest first."""
    viewer_id = auth.user.id if auth else None
    video, rows, next_cursor = await comments.list_replies(db, viewer_id=viewer_id, comment_id=comment_id,
                                                           cursor=cursor)
    threads = [comments.Thread(comment=r, replies=[], replies_cursor=None) for r in rows]
    return await _page(db, viewer_id=viewer_id, video=video, threads=threads, next_cursor=next_cursor)


@router.post("/videos/{video_id}/comments", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def post_comment(video_id: ID, body: CommentCreate, auth: CurrentAuth, db: DB,
                       runtime: RuntimeDep) -> CommentRead:
    """Comment on a video, or reply to a comment (`reply_to_id`); @handles mention people."""
    await runtime.limiter.hit(runtime.settings.comment_rate, "comment", str(auth.user.id))
    row = await comments.post_comment(db, author_id=auth.user.id, video_id=video_id, body=body.body,
                                      reply_to_id=body.reply_to_id)
    video = await videos.get_video(db, viewer_id=auth.user.id, video_id=video_id)
    thread = comments.Thread(comment=row, replies=[], replies_cursor=None)
    return (await comment_reads(db, viewer_id=auth.user.id, video=video, threads=[thread]))[0]


@router.delete("/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def delete_comment(comment_id: ID, auth: CurrentAuth, db: DB) -> None:
    """Delete your comment, or any comment on your video."""
    await comments.delete_comment(db, user_id=auth.user.id, comment_id=comment_id)


async def _one(db: AsyncSession, viewer_id: int, row: Comment) -> CommentRead:
    _, video = await comments.visible_comment(db, viewer_id=viewer_id, comment_id=row.id)
    thread = comments.Thread(comment=row, replies=[], replies_cursor=None)
    return (await comment_reads(db, viewer_id=viewer_id, video=video, threads=[thread]))[0]


@router.put("/comments/{comment_id}/pin", responses=PROBLEMS)
async def pin_comment(comment_id: ID, auth: CurrentAuth, db: DB) -> CommentRead:
    """Pin a top-level comment on your video (置顶); the previously pinned one is unpinned."""
    row = await comments.pin_comment(db, user_id=auth.user.id, comment_id=comment_id)
    return await _one(db, auth.user.id, row)


@router.delete("/comments/{comment_id}/pin", responses=PROBLEMS)
async def unpin_comment(comment_id: ID, auth: CurrentAuth, db: DB) -> CommentRead:
    """Unpin a comment on your video."""
    row = await comments.unpin_comment(db, user_id=auth.user.id, comment_id=comment_id)
    return await _one(db, auth.user.id, row)


@router.post("/comments/{comment_id}/like", responses=PROBLEMS)
async def like_comment(comment_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> CommentLikeRead:
    """Like a comment (twice is once)."""
    await _like_limit(runtime, auth.user.id)
    row = await comments.like_comment(db, user_id=auth.user.id, comment_id=comment_id)
    return CommentLikeRead(comment_id=row.id, likes=row.likes, liked=True)


@router.delete("/comments/{comment_id}/like", responses=PROBLEMS)
async def unlike_comment(comment_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> CommentLikeRead:
    """Take back your like of a comment."""
    await _like_limit(runtime, auth.user.id)
    row = await comments.unlike_comment(db, user_id=auth.user.id, comment_id=comment_id)
    return CommentLikeRead(comment_id=row.id, likes=row.likes, liked=False)


# Collections ---------------------------------------------------------------------------------


def _collection_read(view: engagement.CollectionView) -> CollectionRead:
    c = view.collection
    return CollectionRead(id=c.id, name=c.name, is_default=c.is_default, is_private=c.is_private,
                          count=view.count, created_at=c.created_at)


@router.get("/users/{ref}/collections", responses=PROBLEMS)
async def list_collections(ref: Ref, auth: MaybeAuth, db: DB, cursor: Cursor = None) -> CollectionsPage:
    """A user's collections of favourites: all of your own, only the public ones of others."""
    viewer_id = auth.user.id if auth else None
    user = await visible_user(db, viewer_id=viewer_id, ref=ref)
    views, next_cursor = await engagement.list_collections(db, owner_id=user.id, viewer_id=viewer_id,
                                                           cursor=cursor)
    return CollectionsPage(items=[_collection_read(v) for v in views], next_cursor=next_cursor)


@router.get("/me/collections", responses=PROBLEMS)
async def list_my_collections(auth: CurrentAuth, db: DB, cursor: Cursor = None) -> CollectionsPage:
    """Your collections, the default one first (for choosing where a favourite goes)."""
    views, next_cursor = await engagement.list_collections(db, owner_id=auth.user.id, viewer_id=auth.user.id,
                                                           cursor=cursor)
    return CollectionsPage(items=[_collection_read(v) for v in views], next_cursor=next_cursor)


@router.post("/me/collections", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_collection(body: CollectionCreate, auth: CurrentAuth, db: DB) -> CollectionRead:
    """Make a collection (private unless you say otherwise)."""
    row = await engagement.create_collection(db, owner_id=auth.user.id, name=body.name, is_private=body.is_private)
    return _collection_read(engagement.CollectionView(row, 0))


@router.patch("/me/collections/{collection_id}", responses=PROBLEMS)
async def update_collection(collection_id: ID, body: CollectionUpdate, auth: CurrentAuth, db: DB) -> CollectionRead:
    """Rename a collection or change who may see it."""
    row = await engagement.update_collection(db, owner_id=auth.user.id, collection_id=collection_id,
                                             **body.model_dump(exclude_none=True))
    return _collection_read(await engagement.collection_view(db, row))


@router.delete("/me/collections/{collection_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def delete_collection(collection_id: ID, auth: CurrentAuth, db: DB) -> None:
    """Delete a collection and unfavourite its videos (not the default collection)."""
    await engagement.delete_collection(db, owner_id=auth.user.id, collection_id=collection_id)


async def _favourites_page(db: AsyncSession, runtime: Runtime, *, viewer_id: int | None, owner_id: int,
                           collection_id: int | None, cursor: str | None) -> FavouriteVideosPage:
    page = await engagement.list_favourites(db, viewer_id=viewer_id, owner_id=owner_id,
                                            collection_id=collection_id, cursor=cursor)
    return FavouriteVideosPage(items=await video_reads(db, runtime, page.videos, viewer_id=viewer_id),
                               next_cursor=page.next_cursor)


@router.get("/collections/{collection_id}/videos", responses=PROBLEMS)
async def list_collection_videos(collection_id: ID, auth: MaybeAuth, db: DB, runtime: RuntimeDep,
                                 cursor: Cursor = None) -> FavouriteVideosPage:
    """The videos in a collection, newest favourite first (yours, or someone's public one)."""
    viewer_id = auth.user.id if auth else None
    row = await engagement.readable_collection(db, viewer_id=viewer_id, collection_id=collection_id)
    return await _favourites_page(db, runtime, viewer_id=viewer_id, owner_id=row.owner_id,
                                  collection_id=row.id, cursor=cursor)


@router.get("/me/favourites", responses=PROBLEMS)
async def list_my_favourites(auth: CurrentAuth, db: DB, runtime: RuntimeDep,
                             cursor: Cursor = None) -> FavouriteVideosPage:
    """Everything you favourited, in any collection, newest first."""
    return await _favourites_page(db, runtime, viewer_id=auth.user.id, owner_id=auth.user.id,
                                  collection_id=None, cursor=cursor)
