"""Threaded comments on videos, like Douyin's: top-level comments, and replies one level under
their root that say whom they answer. Anyone who may see a video may read its comments (minus
authors hidden from them by a block); who may write is the video's switch (`allow_comments`)
and the creator's `who_can_comment` setting. The creator pins one comment and may delete any;
authors delete their own. A deleted comment with live replies stays as a placeholder.

Counters — the video's `comments` (live comments, replies included), a root's `replies` and a
comment's `likes` — move in the same transaction, by atomic `SET n = n ± 1`, and only when a
conditional write really changed a row. Every change to a video's comments takes the video's
counters row before any comment row (the lock order; see engagement.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.core import clock, jobs
from shua.core.db import insert_ignore
from shua.core.errors import Forbidden, InvalidRequest, NotFound
from shua.core.ids import new_id, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.media import videos
from shua.media.models import Video
from shua.media.videos import MENTION_RE
from shua.social import engagement, graph
from shua.social.engagement_models import Comment, CommentLike
from shua.social.errors import NotAllowed

Sort = Literal["top", "new"]
PREVIEW_REPLIES = 2
MAX_MENTIONS = 20


class CommentNotFound(NotFound):
    code = "social.comment_not_found"
    title = "No such comment"


class CommentsOff(Forbidden):
    code = "social.comments_off"
    title = "Comments are turned off for this video"


class CommentForbidden(Forbidden):
    code = "social.comment_forbidden"
    title = "Only the author or the video's creator may delete this comment"


class PinForbidden(Forbidden):
    code = "social.pin_forbidden"
    title = "Only the video's creator may pin comments"


class CannotPinReply(InvalidRequest):
    code = "social.cannot_pin_reply"
    title = "Only a top-level comment can be pinned"


class ReplyToOtherVideo(InvalidRequest):
    code = "social.reply_other_video"
    title = "That comment belongs to another video"


def _not_hidden(viewer_id: int | None) -> Any:
    """Comments whose author the viewer may see (placeholders of purged accounts have none)."""
    if viewer_id is None:
        return True
    return or_(Comment.author_id.is_(None), Comment.author_id.not_in(graph.hidden_user_ids(viewer_id)))


async def visible_comment(db: AsyncSession, *, viewer_id: int | None, comment_id: object) -> tuple[Comment, Video]:
    """A comment (perhaps a deleted placeholder) on a video the viewer may see, by an author not
    hidden from them; anything else is not found."""
    parsed = parse_id(comment_id)
    row = await db.get(Comment, parsed) if parsed else None
    if row is None:
        raise CommentNotFound()
    try:
        video = await videos.get_video(db, viewer_id=viewer_id, video_id=row.video_id)
    except videos.VideoNotFound as exc:
        raise CommentNotFound() from exc
    if (viewer_id is not None and row.author_id is not None and row.author_id != viewer_id
            and await graph.blocked_between(db, viewer_id, row.author_id)):
        raise CommentNotFound()
    return row, video


async def may_comment(db: AsyncSession, *, user_id: int, video: Video) -> None:
    """Raise unless the user may comment on the video (they already may see it)."""
    if not video.allow_comments:
        raise CommentsOff()
    setting = (await graph.privacy_of(db, video.owner_id)).who_can_comment
    if not await graph.may_interact(db, actor_id=user_id, owner_id=video.owner_id, setting=setting):
        raise NotAllowed()


async def can_comment(db: AsyncSession, *, user_id: int | None, video: Video) -> bool:
    if user_id is None:
        return False
    try:
        await may_comment(db, user_id=user_id, video=video)
    except (CommentsOff, NotAllowed):
        return False
    return True


async def _mentions(db: AsyncSession, *, author_id: int, video: Video, body: str) -> list[int]:
    """The @handles that name a user who exists, may see the video and is not blocked either way."""
    handles = list(dict.fromkeys(m.lower() for m in MENTION_RE.findall(body)))[:MAX_MENTIONS]
    # "@alice." at the end of a sentence: the dot may be punctuation, or part of a handle.
    users = await accounts.users_by_handle(db, handles=handles + [h.rstrip(".") for h in handles])
    found: list[int] = []
    for handle in handles:
        user = users.get(handle) or users.get(handle.rstrip("."))
        if user is None or user.id == author_id or user.id in found:
            continue
        if await graph.blocked_between(db, author_id, user.id):
            continue
        if await graph.may_see_content(db, viewer_id=user.id, owner_id=video.owner_id, visibility=video.visibility):
            found.append(user.id)
    return found


async def post_comment(db: AsyncSession, *, author_id: int, video_id: object, body: str,
                       reply_to_id: int | None = None) -> Comment:
    """Comment on a video, or reply to one of its comments (the reply joins the root's thread)."""
    video = await videos.get_video(db, viewer_id=author_id, video_id=video_id)
    await may_comment(db, user_id=author_id, video=video)
    root_id = reply_to_user_id = None
    if reply_to_id is not None:
        parent, _ = await visible_comment(db, viewer_id=author_id, comment_id=reply_to_id)
        if parent.video_id != video.id:
            raise ReplyToOtherVideo(field="reply_to_id")
        if parent.deleted_at is not None:
            raise CommentNotFound()
        root_id, reply_to_user_id = parent.root_id or parent.id, parent.author_id
    mentions = await _mentions(db, author_id=author_id, video=video, body=body)
    await engagement.bump(db, video.id, comments=1)  # the counters row first: the lock order
    comment = Comment(id=new_id(), video_id=video.id, author_id=author_id, root_id=root_id,
                      reply_to_id=reply_to_id, reply_to_user_id=reply_to_user_id, body=body, mentions=mentions,
                      likes=0, replies=0, created_at=clock.utcnow())
    db.add(comment)
    await db.flush()
    if root_id is not None:
        await db.execute(update(Comment).where(Comment.id == root_id).values(replies=Comment.replies + 1))
    await jobs.publish(db, "social.commented", {
        "comment_id": str(comment.id), "video_id": str(video.id), "author_id": str(author_id),
        "video_owner_id": str(video.owner_id), "parent_id": str(root_id) if root_id else None,
        "reply_to_user_id": str(reply_to_user_id) if reply_to_user_id else None,
        "mentions": [str(m) for m in mentions]})
    return comment


async def _soft_delete(db: AsyncSession, row: Comment) -> bool:
    """Delete one comment (the caller holds the video's lock); True if this call deleted it."""
    result = await db.execute(update(Comment).where(Comment.id == row.id, Comment.deleted_at.is_(None))
                              .values(deleted_at=clock.utcnow(), pinned_at=None, body="", mentions=[]))
    if not getattr(result, "rowcount", 0):
        return False
    await engagement.bump(db, row.video_id, comments=-1)
    if row.root_id is not None:
        await db.execute(update(Comment).where(Comment.id == row.root_id).values(replies=Comment.replies - 1))
    await jobs.publish(db, "social.comment_deleted", {"comment_id": str(row.id), "video_id": str(row.video_id)})
    return True


async def delete_comment(db: AsyncSession, *, user_id: int, comment_id: object) -> None:
    """Delete your comment, or any comment on your video; deleting twice is harmless."""
    row, video = await visible_comment(db, viewer_id=user_id, comment_id=comment_id)
    if user_id not in (row.author_id, video.owner_id):
        raise CommentForbidden()
    await engagement.lock_video(db, video.id)
    await _soft_delete(db, row)


async def _pinnable(db: AsyncSession, *, user_id: int, comment_id: object) -> tuple[Comment, Video]:
    row, video = await visible_comment(db, viewer_id=user_id, comment_id=comment_id)
    if video.owner_id != user_id:
        raise PinForbidden()
    await engagement.lock_video(db, video.id)
    await db.refresh(row)  # as it is now that we hold the lock
    if row.deleted_at is not None:
        raise CommentNotFound()
    return row, video


async def pin_comment(db: AsyncSession, *, user_id: int, comment_id: object) -> Comment:
    """Pin a top-level comment on your video; the one pinned before is unpinned."""
    row, video = await _pinnable(db, user_id=user_id, comment_id=comment_id)
    if row.root_id is not None:
        raise CannotPinReply()
    await db.execute(update(Comment).where(Comment.video_id == video.id, Comment.pinned_at.is_not(None),
                                           Comment.id != row.id).values(pinned_at=None))
    if row.pinned_at is None:
        row.pinned_at = clock.utcnow()
    return row


async def unpin_comment(db: AsyncSession, *, user_id: int, comment_id: object) -> Comment:
    row, _ = await _pinnable(db, user_id=user_id, comment_id=comment_id)
    row.pinned_at = None
    return row


async def like_comment(db: AsyncSession, *, user_id: int, comment_id: object) -> Comment:
    """Like a comment (idempotent); returns it with its count."""
    row, video = await visible_comment(db, viewer_id=user_id, comment_id=comment_id)
    if row.deleted_at is not None:
        raise CommentNotFound()
    if await insert_ignore(db, CommentLike, user_id=user_id, comment_id=row.id, created_at=clock.utcnow()):
        await db.execute(update(Comment).where(Comment.id == row.id).values(likes=Comment.likes + 1))
        await jobs.publish(db, "social.comment_liked", {
            "user_id": str(user_id), "comment_id": str(row.id),
            "comment_author_id": str(row.author_id) if row.author_id else None, "video_id": str(video.id)})
    await db.refresh(row)
    return row


async def unlike_comment(db: AsyncSession, *, user_id: int, comment_id: object) -> Comment:
    row, _ = await visible_comment(db, viewer_id=user_id, comment_id=comment_id)
    result = await db.execute(delete(CommentLike).where(CommentLike.user_id == user_id,
                                                        CommentLike.comment_id == row.id))
    if getattr(result, "rowcount", 0):
        await db.execute(update(Comment).where(Comment.id == row.id).values(likes=Comment.likes - 1))
    await db.refresh(row)
    return row


# Reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    comment: Comment
    replies: list[Comment]  # the first few, oldest first
    replies_cursor: str | None  # where `list_replies` continues, when there are more


@dataclass(frozen=True)
class CommentsPage:
    video: Video
    threads: list[Thread]
    next_cursor: str | None


def _cursor_state(cursor: str | None, sort: str) -> dict[str, int] | None:
    state = decode_cursor(cursor)
    if state is None:
        return None
    after, likes = parse_id(state.get("id")), state.get("l", 0)
    if after is None or state.get("s") != sort or not isinstance(likes, int) or isinstance(likes, bool):
        raise InvalidRequest("The cursor is not valid", field="cursor")
    return {"id": after, "l": likes}


async def _first_replies(db: AsyncSession, *, viewer_id: int | None, roots: list[Comment],
                         count: int = PREVIEW_REPLIES) -> dict[int, list[Comment]]:
    """The first `count` live replies of each root, in one query (a window per thread)."""
    found: dict[int, list[Comment]] = {root.id: [] for root in roots}
    wanted = [root.id for root in roots if root.replies > 0]
    if not wanted:
        return found
    place = func.row_number().over(partition_by=Comment.root_id, order_by=Comment.id).label("place")
    ranked = (select(Comment.id, place).where(Comment.root_id.in_(wanted), Comment.deleted_at.is_(None),
                                              _not_hidden(viewer_id)).subquery())
    first = select(ranked.c.id).where(ranked.c.place <= count)
    for reply in (await db.scalars(select(Comment).where(Comment.id.in_(first)).order_by(Comment.id))).all():
        assert reply.root_id is not None
        found[reply.root_id].append(reply)
    return found


def _replies_query(viewer_id: int | None, root_id: int) -> Select[Comment]:
    return (select(Comment).where(Comment.root_id == root_id, Comment.deleted_at.is_(None), _not_hidden(viewer_id))
            .order_by(Comment.id))


async def list_comments(db: AsyncSession, *, viewer_id: int | None, video_id: object, sort: Sort = "top",
                        cursor: str | None = None, limit: int = 20) -> CommentsPage:
    """Top-level comments of a video, the pinned one first, then by likes (`top`) or newest
    (`new`); each with its first replies."""
    video = await videos.get_video(db, viewer_id=viewer_id, video_id=video_id)
    base = select(Comment).where(Comment.video_id == video.id, Comment.root_id.is_(None),
                                 or_(Comment.deleted_at.is_(None), Comment.replies > 0), _not_hidden(viewer_id))
    after = _cursor_state(cursor, sort)
    pinned: list[Comment] = []
    if after is None:  # the pinned comment heads the first page and is left out of the rest
        pinned = list((await db.scalars(base.where(Comment.pinned_at.is_not(None)).limit(1))).all())
    query = base.where(Comment.pinned_at.is_(None)).limit(limit)
    if sort == "top":
        query = query.order_by(Comment.likes.desc(), Comment.id.desc())
        if after is not None:
            query = query.where(or_(Comment.likes < after["l"], and_(Comment.likes == after["l"],
                                                                     Comment.id < after["id"])))
    else:
        query = query.order_by(Comment.id.desc())
        if after is not None:
            query = query.where(Comment.id < after["id"])
    rows = list((await db.scalars(query)).all())
    next_cursor = (encode_cursor({"s": sort, "l": rows[-1].likes, "id": str(rows[-1].id)})
                   if len(rows) == limit else None)
    roots = pinned + rows
    previews = await _first_replies(db, viewer_id=viewer_id, roots=roots)
    threads = [Thread(comment=root, replies=previews[root.id],
                      replies_cursor=encode_cursor({"id": str(previews[root.id][-1].id)})
                      if previews[root.id] and root.replies > len(previews[root.id]) else None)
               for root in roots]
    return CommentsPage(video=video, threads=threads, next_cursor=next_cursor)


async def list_replies(db: AsyncSession, *, viewer_id: int | None, comment_id: object, cursor: str | None = None,
                       limit: int = 20) -> tuple[Video, list[Comment], str | None]:
    """The replies in a comment's thread, oldest first, after `cursor`."""
    row, video = await visible_comment(db, viewer_id=viewer_id, comment_id=comment_id)
    query = _replies_query(viewer_id, row.root_id or row.id).limit(limit)
    state = decode_cursor(cursor)
    if state is not None:
        after = parse_id(state.get("id"))
        if after is None:
            raise InvalidRequest("The cursor is not valid", field="cursor")
        query = query.where(Comment.id > after)
    rows = list((await db.scalars(query)).all())
    return video, rows, encode_cursor({"id": str(rows[-1].id)}) if len(rows) == limit else None


async def liked_among(db: AsyncSession, *, viewer_id: int | None, comment_ids: list[int]) -> set[int]:
    """Which of these comments the viewer liked, in one query."""
    if viewer_id is None or not comment_ids:
        return set()
    query = select(CommentLike.comment_id).where(CommentLike.user_id == viewer_id,
                                                 CommentLike.comment_id.in_(set(comment_ids)))
    return set((await db.scalars(query)).all())


# Reports, export and deleted accounts ----------------------------------------------------------


async def report_target(db: AsyncSession, reporter_id: int, target_id: int) -> int:
    """Reports: a live comment the reporter can see; its author is the owner."""
    row, _ = await visible_comment(db, viewer_id=reporter_id, comment_id=target_id)
    if row.deleted_at is not None or row.author_id is None:
        raise CommentNotFound()
    return row.author_id


async def export_comments(db: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = (await db.scalars(select(Comment).where(Comment.author_id == user_id, Comment.deleted_at.is_(None))
                             .order_by(Comment.id))).all()
    return [{"id": str(c.id), "video_id": str(c.video_id), "body": c.body,
             "reply_to_id": str(c.reply_to_id) if c.reply_to_id else None, "likes": c.likes,
             "created_at": c.created_at.isoformat()} for c in rows]


async def forget_user(db: AsyncSession, *, user_id: int) -> None:
    """An account was deleted: its comments are deleted (placeholders where others replied) and
    its comment likes taken back, so every count others see stays right. Idempotent."""
    mine = list((await db.scalars(select(Comment).where(Comment.author_id == user_id, Comment.deleted_at.is_(None))
                                  .order_by(Comment.video_id, Comment.id))).all())
    for video_id in sorted({c.video_id for c in mine}):
        await engagement.lock_video(db, video_id)
    for comment in mine:
        await _soft_delete(db, comment)
    liked = list((await db.scalars(select(CommentLike.comment_id).where(CommentLike.user_id == user_id)
                                   .order_by(CommentLike.comment_id))).all())
    await db.execute(delete(CommentLike).where(CommentLike.user_id == user_id))
    for comment_id in liked:
        await db.execute(update(Comment).where(Comment.id == comment_id).values(likes=Comment.likes - 1))
