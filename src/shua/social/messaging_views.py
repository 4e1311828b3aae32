"""API views of conversations, messages and notifications, and the live events that carry them
to open pages (sent after the transaction commits). Shared by the routes, the pages and the job
handlers, so a message looks the same in a list, on a reloaded page and in a live event."""

from __future__ import annotations

import contextlib

from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.core.ids import parse_id
from shua.core.live import Event
from shua.media import videos
from shua.media.models import Video
from shua.media.routes import video_reads
from shua.runtime import Runtime
from shua.social import inbox
from shua.social.messaging import Sent, Thread
from shua.social.messaging_models import VIDEO, Message, Notification
from shua.social.messaging_schemas import (
    ConversationRead,
    MessageRead,
    NotificationRead,
    UnreadRead,
    VideoCardRead,
)


async def message_reads(db: AsyncSession, runtime: Runtime, *, viewer_id: int,
                        messages: list[Message]) -> list[MessageRead]:
    """Messages as the viewer sees them: a shared video only if the viewer may watch it."""
    visible: dict[int, Video] = {}
    for video_id in {m.video_id for m in messages if m.kind == VIDEO and m.video_id}:
        with contextlib.suppress(videos.VideoNotFound):
            visible[video_id] = await videos.get_video(db, viewer_id=viewer_id, video_id=video_id)
    cards = {read.id: VideoCardRead(id=read.id, owner_id=read.owner_id, caption=read.caption,
                                    poster_url=read.poster_url)
             for read in await video_reads(db, runtime, list(visible.values()))}
    return [MessageRead(id=m.id, conversation_id=m.conversation_id, sender_id=m.sender_id,
                        mine=m.sender_id == viewer_id, kind="video" if m.kind == VIDEO else "text", body=m.body,
                        video=cards.get(m.video_id) if m.video_id else None,
                        video_unavailable=m.kind == VIDEO and m.video_id not in cards,
                        client_id=m.client_id if m.sender_id == viewer_id else None, created_at=m.created_at)
            for m in messages]


async def thread_reads(db: AsyncSession, runtime: Runtime, *, viewer_id: int,
                       threads: list[Thread]) -> list[ConversationRead]:
    """Conversations for a list or a chat header; a deleted account's peer is None."""
    users = await accounts.users_by_id(db, ids=[t.peer_id for t in threads])
    lasts = {m.id: m for m in await message_reads(db, runtime, viewer_id=viewer_id,
                                                  messages=[t.last_message for t in threads if t.last_message])}
    return [ConversationRead(
        id=t.id, peer=accounts.to_user_read(users[t.peer_id]) if t.peer_id in users else None, peer_id=t.peer_id,
        is_request=t.is_request, unread_count=max(0, t.me.unread_count),
        last_message=lasts.get(t.last_message.id) if t.last_message else None,
        last_activity_at=t.me.last_activity_at, last_read_id=t.me.last_read_message_id,
        peer_last_read_id=t.peer_last_read_id,
    ) for t in threads]


def _video_of(n: Notification) -> int | None:
    if n.subject_kind == "video":
        return n.subject_id
    raw = n.data.get("video_id")
    return parse_id(raw) if isinstance(raw, str) else None


async def notification_reads(db: AsyncSession, *, rows: list[Notification]) -> list[NotificationRead]:
    """Notifications with their actors (those whose account is gone are left out)."""
    actors = await accounts.users_by_id(db, ids=[n.actor_id for n in rows])
    return [NotificationRead(id=n.id, kind=n.kind, category=n.category,
                             actor=accounts.to_user_read(actors[n.actor_id]), subject_kind=n.subject_kind,
                             subject_id=n.subject_id, video_id=_video_of(n), data=n.data,
                             read=n.read_at is not None, created_at=n.created_at)
            for n in rows if n.actor_id in actors]


def unread_read(unread: inbox.Unread) -> UnreadRead:
    return UnreadRead(messages=unread.messages, requests=unread.requests, followers=unread.followers,
                      interactions=unread.interactions, notifications=unread.notifications, total=unread.total)


async def push_unread(db: AsyncSession, runtime: Runtime, user_id: int) -> UnreadRead:
    """Tell the user's open pages their new unread counts (the 消息 badge)."""
    counts = unread_read(await inbox.unread_of(db, user_id))
    runtime.live.send_after_commit(db, user_id, Event("unread", counts.model_dump(mode="json")))
    return counts


async def push_sent(db: AsyncSession, runtime: Runtime, sent: Sent) -> None:
    """A new message: to the sender's other pages, and to the recipient unless they ignored it."""
    if not sent.created:
        return
    message, thread = sent.message, sent.thread
    for viewer_id, member in ((message.sender_id, thread.me), (thread.peer_id, thread.peer)):
        if member is None or (viewer_id != message.sender_id and not sent.delivered):
            continue
        read = (await message_reads(db, runtime, viewer_id=viewer_id, messages=[message]))[0]
        runtime.live.send_after_commit(db, viewer_id, Event("message", {
            "conversation_id": str(thread.id), "message": read.model_dump(mode="json"),
            "is_request": not member.accepted, "unread_count": max(0, member.unread_count)}))
        await push_unread(db, runtime, viewer_id)


async def push_read(db: AsyncSession, runtime: Runtime, thread: Thread) -> None:
    """A member read further: their other pages update, and the peer sees 已读 (once accepted)."""
    event = Event("read", {"conversation_id": str(thread.id), "reader_id": str(thread.me.user_id),
                           "last_read_id": str(thread.me.last_read_message_id or "") or None})
    runtime.live.send_after_commit(db, thread.me.user_id, event)
    await push_unread(db, runtime, thread.me.user_id)
    if thread.me.accepted and thread.peer is not None:
        runtime.live.send_after_commit(db, thread.peer_id, event)


async def push_notification(db: AsyncSession, runtime: Runtime, notification: Notification) -> None:
    reads = await notification_reads(db, rows=[notification])
    if not reads:
        return
    counts = await push_unread(db, runtime, notification.user_id)
    runtime.live.send_after_commit(db, notification.user_id, Event("notification", {
        "notification": reads[0].model_dump(mode="json"), "unread": counts.model_dump(mode="json")}))
