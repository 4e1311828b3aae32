"""HTTP routes of direct messages, notifications, unread counts and the live event stream."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from shua.accounts import service as accounts
from shua.core.ids import ID
from shua.core.live import Event, Subscription
from shua.runtime import Runtime
from shua.social import inbox, messaging, notifications
from shua.social.messaging_schemas import (
    ConversationCreate,
    ConversationPage,
    ConversationRead,
    MessageCreate,
    MessagePage,
    MessageRead,
    NotificationPage,
    NotificationsRead,
    ReadUpdate,
    UnreadRead,
)
from shua.social.messaging_views import (
    message_reads,
    notification_reads,
    push_read,
    push_sent,
    push_unread,
    thread_reads,
    unread_read,
)
from shua.social.routes import PROBLEMS, Cursor, visible_user
from shua.web.deps import DB, CurrentAuth, RuntimeDep, StreamingAuth

router = APIRouter(prefix="/api/v1", tags=["messages"])


async def _conversation_read(db: DB, runtime: Runtime, user_id: int, thread: messaging.Thread) -> ConversationRead:
    return (await thread_reads(db, runtime, viewer_id=user_id, threads=[thread]))[0]


@router.get("/conversations", responses=PROBLEMS)
async def list_conversations(auth: CurrentAuth, db: DB, runtime: RuntimeDep, cursor: Cursor = None) -> ConversationPage:
    """Your conversations, latest activity first (message requests are listed apart)."""
    threads, next_cursor = await messaging.list_threads(db, user_id=auth.user.id, cursor=cursor)
    return ConversationPage(items=await thread_reads(db, runtime, viewer_id=auth.user.id, threads=threads),
                            next_cursor=next_cursor)


@router.get("/conversations/requests", responses=PROBLEMS)
async def list_message_requests(auth: CurrentAuth, db: DB, runtime: RuntimeDep,
                                cursor: Cursor = None) -> ConversationPage:
    """Messages from people who are not your friends, waiting for you to accept or ignore them."""
    threads, next_cursor = await messaging.list_threads(db, user_id=auth.user.id, requests=True, cursor=cursor)
    return ConversationPage(items=await thread_reads(db, runtime, viewer_id=auth.user.id, threads=threads),
                            next_cursor=next_cursor)


@router.post("/conversations", responses=PROBLEMS)
async def open_conversation(body: ConversationCreate, auth: CurrentAuth, db: DB,
                            runtime: RuntimeDep) -> ConversationRead:
    """Open (or start) your conversation with someone, if they accept messages from you."""
    peer = await visible_user(db, viewer_id=auth.user.id, ref=body.to)
    thread = await messaging.open_conversation(db, user_id=auth.user.id, peer_id=peer.id)
    return await _conversation_read(db, runtime, auth.user.id, thread)


@router.get("/conversations/{conversation_id}", responses=PROBLEMS)
async def read_conversation(conversation_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> ConversationRead:
    """One of your conversations."""
    thread = await messaging.get_thread(db, user_id=auth.user.id, conversation_id=conversation_id)
    return await _conversation_read(db, runtime, auth.user.id, thread)


@router.get("/conversations/{conversation_id}/messages", responses=PROBLEMS)
async def list_messages(conversation_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep,
                        cursor: Cursor = None) -> MessagePage:
    """A conversation's messages, newest first; `next_cursor` loads older ones."""
    _thread, rows, next_cursor = await messaging.list_messages(db, user_id=auth.user.id,
                                                               conversation_id=conversation_id, cursor=cursor)
    return MessagePage(items=await message_reads(db, runtime, viewer_id=auth.user.id, messages=rows),
                       next_cursor=next_cursor)


@router.post("/conversations/{conversation_id}/messages", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def send_message(conversation_id: ID, body: MessageCreate, auth: CurrentAuth, db: DB, runtime: RuntimeDep,
                       response: Response) -> MessageRead:
    """Send a text or share a video. Retrying with the same `client_id` returns the first message (200)."""
    await runtime.limiter.hit(runtime.settings.message_rate, "message", str(auth.user.id))
    sent = await messaging.send_message(db, sender_id=auth.user.id, conversation_id=conversation_id, kind=body.kind,
                                        body=body.body, video_id=body.video_id, client_id=body.client_id)
    if not sent.created:
        response.status_code = status.HTTP_200_OK
    await push_sent(db, runtime, sent)
    return (await message_reads(db, runtime, viewer_id=auth.user.id, messages=[sent.message]))[0]


@router.post("/conversations/{conversation_id}/read", responses=PROBLEMS)
async def mark_conversation_read(conversation_id: ID, body: ReadUpdate, auth: CurrentAuth, db: DB,
                                 runtime: RuntimeDep) -> ConversationRead:
    """You have read up to a message: your unread count drops and they see 已读."""
    thread, changed = await messaging.mark_read(db, user_id=auth.user.id, conversation_id=conversation_id,
                                                up_to=body.up_to)
    if changed:
        await push_read(db, runtime, thread)
    return await _conversation_read(db, runtime, auth.user.id, thread)


@router.post("/conversations/{conversation_id}/accept", responses=PROBLEMS)
async def accept_message_request(conversation_id: ID, auth: CurrentAuth, db: DB,
                                 runtime: RuntimeDep) -> ConversationRead:
    """Accept a message request: it becomes a normal conversation."""
    thread = await messaging.accept(db, user_id=auth.user.id, conversation_id=conversation_id)
    await push_read(db, runtime, thread)
    return await _conversation_read(db, runtime, auth.user.id, thread)


@router.post("/conversations/{conversation_id}/ignore", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def ignore_message_request(conversation_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> None:
    """Ignore a message request: it disappears for you, and the sender is not told."""
    await messaging.ignore(db, user_id=auth.user.id, conversation_id=conversation_id)
    await push_unread(db, runtime, auth.user.id)


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def hide_conversation(conversation_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> None:
    """Remove a conversation from your list; it comes back with the next message."""
    await messaging.hide(db, user_id=auth.user.id, conversation_id=conversation_id)
    await push_unread(db, runtime, auth.user.id)


@router.get("/me/unread", responses=PROBLEMS)
async def read_unread(auth: CurrentAuth, db: DB) -> UnreadRead:
    """Your unread counts: messages, message requests and notifications by category."""
    return unread_read(await inbox.unread_of(db, auth.user.id))


NotificationCategory = Annotated[Literal["all", "followers", "interactions"], Query()]


@router.get("/notifications", responses=PROBLEMS)
async def list_notifications(auth: CurrentAuth, db: DB, category: NotificationCategory = "all",
                             cursor: Cursor = None) -> NotificationPage:
    """Your notifications, newest first: followers (new followers, requests, friends) or
    interactions (likes, comments, replies, mentions)."""
    rows, next_cursor = await notifications.list_notifications(db, user_id=auth.user.id, category=category,
                                                               cursor=cursor)
    return NotificationPage(items=await notification_reads(db, rows=rows), next_cursor=next_cursor)


@router.post("/notifications/read", responses=PROBLEMS)
async def mark_notifications_read(body: NotificationsRead, auth: CurrentAuth, db: DB,
                                  runtime: RuntimeDep) -> UnreadRead:
    """Mark all your notifications of a category read; returns your new unread counts."""
    await notifications.mark_all_read(db, user_id=auth.user.id, category=body.category)
    return await push_unread(db, runtime, auth.user.id)


@router.post("/notifications/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def mark_notification_read(notification_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> None:
    """Mark one notification read."""
    await notifications.mark_read(db, user_id=auth.user.id, notification_id=notification_id)
    await push_unread(db, runtime, auth.user.id)


# ---------- live events (Server-Sent Events) ----------

def _sse(event: Event) -> str:
    # One JSON line: newlines inside strings are escaped, so they can never end the event early.
    return f"event: {event.kind}\ndata: {json.dumps(event.data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class EventStream(StreamingResponse):
    """A text/event-stream response that always lets go of its subscription, however it ends
    (the client left, the session was revoked, the server is shutting down)."""

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], Awaitable[None]]) -> None:
        super().__init__(content, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with contextlib.suppress(Exception):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
            await self._on_close()


def _token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get("shua_session")


async def _signed_in(runtime: Runtime, token: str | None) -> bool:
    if token is None:
        return False
    try:
        async with runtime.database.transaction(write=False) as db:
            return await accounts.resolve_session(db, token=token) is not None
    except Exception:  # the database blinked: keep the stream, look again at the next beat
        return True


async def _events(runtime: Runtime, subscription: Subscription, token: str | None,
                  first: dict[str, Any]) -> AsyncIterator[str]:
    heartbeat = runtime.settings.live_heartbeat_seconds
    yield "retry: 3000\n\n" + _sse(Event("ready", first))
    while True:
        event = await subscription.get(within=heartbeat)
        if event is not None:
            yield _sse(event)
            continue
        # Quiet for a beat: is the session still good? (A revoked one ends the stream.)
        if not await _signed_in(runtime, token):
            yield _sse(Event("signed_out"))
            return
        yield ": heartbeat\n\n"


LIVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEMS, 200: {"description": "An endless text/event-stream", "content": {"text/event-stream": {}}}}


@router.get("/live", response_class=EventStream, status_code=status.HTTP_200_OK, responses=LIVE_RESPONSES)
async def live_events(request: Request, auth: StreamingAuth, runtime: RuntimeDep) -> EventStream:
    """Server-Sent Events for your open pages: `ready` (unread counts, on connect), `message`,
    `read`, `notification`, `unread`, and `resync` (refetch: events were dropped). Holds no
    database transaction while open; ends when you sign out."""
    user_id = auth.user.id
    subscription = runtime.live.subscribe(user_id)
    await subscription.__aenter__()  # before the stream starts: "too many connections" is a proper 429

    async def close() -> None:
        await subscription.__aexit__(None, None, None)

    try:
        # Counted after subscribing: a change in between is in the counts or among the events.
        async with runtime.database.transaction(write=False) as db:
            first = unread_read(await inbox.unread_of(db, user_id)).model_dump(mode="json")
    except BaseException:
        await close()
        raise

    return EventStream(_events(runtime, subscription, _token(request), first), on_close=close)
