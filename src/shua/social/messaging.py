"""Direct messages: one conversation per pair of users, message requests from non-friends, read
receipts, and unread counts kept in the same transaction as each message.

Who may message whom, checked on every send: nobody, across a block either way. A member who has
accepted the conversation hears from the peer. Otherwise the recipient's `who_can_message`
decides: everyone (friends talk directly; anyone else opens a message request, at most three
messages until it is accepted), friends, or nobody (no new conversations). Sending accepts your
own side, so replying to a request accepts it; an ignored request stays hidden, and its sender is
never told.

Every change to a conversation first locks its row (on PostgreSQL; SQLite runs one writer at a
time), then touches its members, then the users' unread counters: one order everywhere, so no
deadlocks, and concurrent sends to one conversation each count exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.core import clock
from shua.core.db import insert_ignore
from shua.core.errors import Conflict, Forbidden, InvalidRequest, NotFound
from shua.core.ids import new_id, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.media import videos
from shua.social import engagement, graph, inbox
from shua.social.errors import NotAllowed, YouBlockedThem
from shua.social.messaging_models import TEXT, VIDEO, Conversation, ConversationMember, Message
from shua.social.models import FRIENDS, NOBODY

REQUEST_LIMIT = 3  # messages a non-friend may send before the request is accepted


class ConversationNotFound(NotFound):
    code = "messages.conversation_not_found"
    title = "No such conversation"


class MessageNotFound(NotFound):
    code = "messages.message_not_found"
    title = "No such message"


class CannotMessageSelf(InvalidRequest):
    code = "messages.self"
    title = "You cannot message yourself"


class RequestLimitReached(Forbidden):
    code = "messages.request_limit"
    title = "Wait until they accept your message request"


class AccountDeleted(Conflict):
    code = "messages.account_deleted"
    title = "This account has been deleted"


class ClientIdReused(Conflict):
    code = "messages.client_id_reused"
    title = "This client_id was already used for another message"


class NotARequest(Conflict):
    code = "messages.not_a_request"
    title = "This conversation is not a message request"


@dataclass(frozen=True)
class Thread:
    """A conversation as one member sees it."""

    conversation: Conversation
    me: ConversationMember
    peer: ConversationMember | None  # None once the peer's account is purged
    last_message: Message | None

    @property
    def id(self) -> int:
        return self.conversation.id

    @property
    def peer_id(self) -> int:
        return self.me.peer_id

    @property
    def is_request(self) -> bool:
        return not self.me.accepted

    @property
    def peer_last_read_id(self) -> int | None:
        # Read receipts are shown only once the peer accepted: reading a request tells nothing.
        return self.peer.last_read_message_id if self.peer is not None and self.peer.accepted else None


@dataclass(frozen=True)
class Sent:
    message: Message
    created: bool  # False: a retry with the same client_id, nothing new happened
    thread: Thread  # the sender's view after the send
    delivered: bool  # the recipient sees it (not when they ignored the request)


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


async def _conversation(db: AsyncSession, conversation_id: int, *, lock: bool) -> Conversation:
    query = select(Conversation).where(Conversation.id == conversation_id).execution_options(populate_existing=True)
    if lock and db.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    conversation = await db.scalar(query)
    if conversation is None:
        raise ConversationNotFound()
    return conversation


async def _members(db: AsyncSession, conversation_id: int) -> dict[int, ConversationMember]:
    query = (select(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
             .execution_options(populate_existing=True))
    return {m.user_id: m for m in (await db.scalars(query)).all()}


async def _thread(db: AsyncSession, *, user_id: int, conversation_id: object, lock: bool = False) -> Thread:
    parsed = parse_id(conversation_id)
    if parsed is None:
        raise ConversationNotFound()
    conversation = await _conversation(db, parsed, lock=lock)
    members = await _members(db, conversation.id)
    me = members.get(user_id)
    if me is None:  # someone else's conversation does not exist for you
        raise ConversationNotFound()
    last = await db.get(Message, conversation.last_message_id) if conversation.last_message_id else None
    return Thread(conversation=conversation, me=me, peer=members.get(me.peer_id), last_message=last)


async def get_thread(db: AsyncSession, *, user_id: int, conversation_id: object) -> Thread:
    """One of the user's conversations; anyone else's is not found."""
    return await _thread(db, user_id=user_id, conversation_id=conversation_id)


async def _refusal(db: AsyncSession, *, sender_id: int, recipient_id: int,
                   recipient: ConversationMember | None) -> Exception | None:
    if await graph.has_blocked(db, blocker_id=sender_id, blocked_id=recipient_id):
        return YouBlockedThem()
    if await graph.has_blocked(db, blocker_id=recipient_id, blocked_id=sender_id):
        return NotAllowed()  # the same answer as a privacy setting: a block is not disclosed
    if recipient is not None and recipient.accepted:
        return None
    setting = (await graph.privacy_of(db, recipient_id)).who_can_message
    if setting == NOBODY or (setting == FRIENDS and not await graph.are_friends(db, sender_id, recipient_id)):
        return NotAllowed()
    return None


async def open_conversation(db: AsyncSession, *, user_id: int, peer_id: int) -> Thread:
    """The conversation with `peer_id`, created if new (idempotent), if you may message them."""
    if user_id == peer_id:
        raise CannotMessageSelf()
    low, high = _pair(user_id, peer_id)
    existing = await db.scalar(select(Conversation.id).where(Conversation.user_low_id == low,
                                                             Conversation.user_high_id == high))
    if existing is not None:
        thread = await _thread(db, user_id=user_id, conversation_id=existing)
        refusal = await _refusal(db, sender_id=user_id, recipient_id=peer_id, recipient=thread.peer)
        if refusal is not None:
            raise refusal
        return thread
    refusal = await _refusal(db, sender_id=user_id, recipient_id=peer_id, recipient=None)
    if refusal is not None:
        raise refusal
    now = clock.utcnow()
    # Two first messages at once: the pair's unique key lets exactly one row in, both use it.
    await insert_ignore(db, Conversation, id=new_id(), user_low_id=low, user_high_id=high, created_by_id=user_id,
                        created_at=now)
    conversation_id = await db.scalar(select(Conversation.id).where(Conversation.user_low_id == low,
                                                                    Conversation.user_high_id == high))
    # Opening a conversation accepts your side (you asked for it); the peer's waits for a message.
    for member, peer in ((user_id, peer_id), (peer_id, user_id)):
        await insert_ignore(db, ConversationMember, conversation_id=conversation_id, user_id=member, peer_id=peer,
                            accepted=member == user_id, ignored=False, hidden=False, unread_count=0,
                            sent_unaccepted=0, joined_at=now)
    return await _thread(db, user_id=user_id, conversation_id=conversation_id)


async def _read_up_to(db: AsyncSession, conversation: Conversation, member: ConversationMember, up_to: int) -> bool:
    """Move the member's read mark forward and recount what is left unread after it."""
    if member.last_read_message_id is not None and up_to <= member.last_read_message_id:
        return False
    remaining = 0
    if conversation.last_message_id is not None and up_to < conversation.last_message_id:
        remaining = int(await db.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation.id, Message.id > up_to,
            Message.sender_id != member.user_id)) or 0)
    delta = member.unread_count - remaining
    member.last_read_message_id, member.unread_count = up_to, remaining
    if delta and not member.ignored:
        await inbox.bump(db, member.user_id, **{"messages" if member.accepted else "requests": -delta})
    return True


async def _accept(db: AsyncSession, member: ConversationMember) -> None:
    if member.accepted and not member.ignored:
        return
    if member.unread_count and not member.ignored:
        await inbox.bump(db, member.user_id, requests=-member.unread_count, messages=member.unread_count)
    member.accepted, member.ignored = True, False


async def _by_client_id(db: AsyncSession, sender_id: int, client_id: str) -> Message | None:
    return await db.scalar(select(Message).where(Message.sender_id == sender_id, Message.client_id == client_id))


async def send_message(db: AsyncSession, *, sender_id: int, conversation_id: object, kind: str = TEXT,
                       body: str = "", video_id: int | None = None, client_id: str | None = None) -> Sent:
    """Send a text or share a video. A retry with the same `client_id` returns the first message."""
    thread = await _thread(db, user_id=sender_id, conversation_id=conversation_id, lock=True)
    conversation, me, peer = thread.conversation, thread.me, thread.peer
    if client_id is not None and (earlier := await _by_client_id(db, sender_id, client_id)) is not None:
        if earlier.conversation_id != conversation.id:
            raise ClientIdReused()
        return Sent(message=earlier, created=False, thread=thread, delivered=True)
    if peer is None or not await accounts.users_by_id(db, ids=[me.peer_id]):
        raise AccountDeleted()
    refusal = await _refusal(db, sender_id=sender_id, recipient_id=peer.user_id, recipient=peer)
    if refusal is not None:
        raise refusal
    if kind == VIDEO:
        await videos.get_video(db, viewer_id=sender_id, video_id=video_id)  # you share only what you can see
    await _accept(db, me)
    if not peer.accepted:
        if await graph.are_friends(db, sender_id, peer.user_id):
            await _accept(db, peer)
        elif me.sent_unaccepted >= REQUEST_LIMIT:
            raise RequestLimitReached(limit=REQUEST_LIMIT)
        else:
            me.sent_unaccepted = ConversationMember.sent_unaccepted + 1
    now = clock.utcnow()
    message_id = new_id()
    values: dict[str, Any] = dict(id=message_id, conversation_id=conversation.id, sender_id=sender_id, kind=kind,
                                  body=body, video_id=video_id if kind == VIDEO else None, client_id=client_id,
                                  created_at=now)
    if not await insert_ignore(db, Message, **values):
        raise ClientIdReused()  # the same client_id raced in through another conversation
    conversation.last_message_id, conversation.last_message_at = message_id, now
    me.last_activity_at, me.hidden = now, False
    await _read_up_to(db, conversation, me, message_id)  # you have read what you answer
    delivered = not peer.ignored
    if delivered:
        peer.unread_count = ConversationMember.unread_count + 1
        peer.last_activity_at, peer.hidden = now, False
        await inbox.bump(db, peer.user_id, **{"messages" if peer.accepted else "requests": 1})
    await db.flush()
    if kind == VIDEO and video_id is not None:
        await video_shared(db, sender_id=sender_id, recipient_id=peer.user_id, video_id=video_id,
                           conversation_id=conversation.id)
    message = await db.get(Message, message_id)
    assert message is not None
    return Sent(message=message, created=True, delivered=delivered,
                thread=await _thread(db, user_id=sender_id, conversation_id=conversation.id))


async def video_shared(db: AsyncSession, *, sender_id: int, recipient_id: int, video_id: int,
                       conversation_id: int) -> None:
    """A video was sent to a friend in a message: it counts as a share ("dm") on the video."""
    await engagement.record_share(db, user_id=sender_id, video_id=video_id, channel="dm")


async def mark_read(db: AsyncSession, *, user_id: int, conversation_id: object, up_to: int) -> tuple[Thread, bool]:
    """Read up to a message (never backwards); returns the thread and whether anything changed."""
    thread = await _thread(db, user_id=user_id, conversation_id=conversation_id, lock=True)
    last = thread.conversation.last_message_id or 0
    changed = await _read_up_to(db, thread.conversation, thread.me, min(up_to, last)) if last else False
    await db.flush()
    return thread, changed


async def accept(db: AsyncSession, *, user_id: int, conversation_id: object) -> Thread:
    """Accept a message request: it becomes a normal conversation (idempotent)."""
    thread = await _thread(db, user_id=user_id, conversation_id=conversation_id, lock=True)
    await _accept(db, thread.me)
    thread.me.hidden = False
    await db.flush()
    return thread


async def ignore(db: AsyncSession, *, user_id: int, conversation_id: object) -> Thread:
    """Ignore a message request: it disappears for you, and the sender is not told."""
    thread = await _thread(db, user_id=user_id, conversation_id=conversation_id, lock=True)
    me = thread.me
    if me.accepted:
        raise NotARequest()
    if not me.ignored:
        if me.unread_count:
            await inbox.bump(db, me.user_id, requests=-me.unread_count)
        me.ignored, me.unread_count = True, 0
        await db.flush()
    return thread


async def hide(db: AsyncSession, *, user_id: int, conversation_id: object) -> Thread:
    """Remove a conversation from your list (it comes back with the next message); marks it read."""
    thread = await _thread(db, user_id=user_id, conversation_id=conversation_id, lock=True)
    if thread.conversation.last_message_id:
        await _read_up_to(db, thread.conversation, thread.me, thread.conversation.last_message_id)
    thread.me.hidden = True
    await db.flush()
    return thread


def _after(cursor: str | None) -> tuple[datetime, int] | None:
    state = decode_cursor(cursor)
    if state is None:
        return None
    try:
        at, conversation_id = datetime.fromisoformat(str(state["t"])), parse_id(state["id"])
    except (KeyError, ValueError) as exc:
        raise InvalidRequest("The cursor is not valid", field="cursor") from exc
    if conversation_id is None or at.tzinfo is None:
        raise InvalidRequest("The cursor is not valid", field="cursor")
    return at, conversation_id


async def list_threads(db: AsyncSession, *, user_id: int, requests: bool = False, cursor: str | None = None,
                       limit: int = 20) -> tuple[list[Thread], str | None]:
    """Your conversations (or message requests), latest activity first. Conversations with
    someone you blocked, or who blocked you, are not listed."""
    M = ConversationMember  # noqa: N806 - reads like the table
    query = (select(M).where(M.user_id == user_id, M.last_activity_at.is_not(None), M.hidden.is_(False),
                             M.peer_id.not_in(graph.hidden_user_ids(user_id)))
             .order_by(M.last_activity_at.desc(), M.conversation_id.desc()).limit(limit))
    query = query.where(M.accepted.is_(False), M.ignored.is_(False)) if requests else query.where(M.accepted.is_(True))
    after = _after(cursor)
    if after is not None:
        query = query.where(or_(M.last_activity_at < after[0],
                                and_(M.last_activity_at == after[0], M.conversation_id < after[1])))
    mine = list((await db.scalars(query)).all())
    ids = [m.conversation_id for m in mine]
    if not ids:
        return [], None
    conversations = {c.id: c for c in (await db.scalars(select(Conversation).where(Conversation.id.in_(ids))))}
    peers = {m.conversation_id: m for m in (await db.scalars(select(M).where(M.conversation_id.in_(ids),
                                                                             M.user_id != user_id)))}
    last_ids = [c.last_message_id for c in conversations.values() if c.last_message_id]
    lasts = {m.id: m for m in (await db.scalars(select(Message).where(Message.id.in_(last_ids))))}
    threads = [Thread(conversation=conversations[m.conversation_id], me=m, peer=peers.get(m.conversation_id),
                      last_message=lasts.get(conversations[m.conversation_id].last_message_id or 0))
               for m in mine]
    last, next_cursor = mine[-1], None
    if len(mine) == limit and last.last_activity_at is not None:
        next_cursor = encode_cursor({"t": last.last_activity_at.isoformat(), "id": str(last.conversation_id)})
    return threads, next_cursor


async def has_requests(db: AsyncSession, *, user_id: int) -> bool:
    """Whether any message request waits for you (the inbox shows its entry only then)."""
    M = ConversationMember  # noqa: N806
    query = select(M.conversation_id).where(M.user_id == user_id, M.accepted.is_(False), M.ignored.is_(False),
                                            M.hidden.is_(False), M.last_activity_at.is_not(None),
                                            M.peer_id.not_in(graph.hidden_user_ids(user_id))).limit(1)
    return await db.scalar(query) is not None


async def list_messages(db: AsyncSession, *, user_id: int, conversation_id: object, cursor: str | None = None,
                        limit: int = 30) -> tuple[Thread, list[Message], str | None]:
    """A conversation's messages, newest first; the cursor loads older ones."""
    thread = await _thread(db, user_id=user_id, conversation_id=conversation_id)
    query = (select(Message).where(Message.conversation_id == thread.id, Message.deleted_at.is_(None))
             .order_by(Message.id.desc()).limit(limit))
    before = (decode_cursor(cursor) or {}).get("before")
    if before is not None:
        before_id = parse_id(before)
        if before_id is None:
            raise InvalidRequest("The cursor is not valid", field="cursor")
        query = query.where(Message.id < before_id)
    rows = list((await db.scalars(query)).all())
    next_cursor = encode_cursor({"before": str(rows[-1].id)}) if len(rows) == limit else None
    return thread, rows, next_cursor


async def message_owner(db: AsyncSession, reporter_id: int, message_id: int) -> int:
    """The sender of a message the reporter took part in (reports); anything else is not found."""
    message = await db.get(Message, message_id)
    if message is None or message.deleted_at is not None:
        raise MessageNotFound()
    member = await db.get(ConversationMember, (message.conversation_id, reporter_id))
    if member is None:
        raise MessageNotFound()
    return message.sender_id


async def on_block(db: AsyncSession, *, a: int, b: int) -> list[int]:
    """A block between two users: their conversation stops counting as unread for either of
    them (it is hidden from both lists). Returns whose counters changed."""
    low, high = _pair(a, b)
    conversation_id = await db.scalar(select(Conversation.id).where(Conversation.user_low_id == low,
                                                                    Conversation.user_high_id == high))
    if conversation_id is None:
        return []
    conversation = await _conversation(db, conversation_id, lock=True)
    changed = []
    for member in (await _members(db, conversation_id)).values():
        if conversation.last_message_id and await _read_up_to(db, conversation, member, conversation.last_message_id):
            changed.append(member.user_id)
    await db.flush()
    return changed


async def export_messages(db: AsyncSession, user_id: int) -> list[dict[str, object]]:
    """The user's conversations and their messages, for their data export."""
    M = ConversationMember  # noqa: N806
    mine = (await db.scalars(select(M).where(M.user_id == user_id).order_by(M.conversation_id))).all()
    out: list[dict[str, object]] = []
    for member in mine:
        rows = (await db.scalars(select(Message).where(Message.conversation_id == member.conversation_id)
                                 .order_by(Message.id))).all()
        out.append({
            "conversation_id": str(member.conversation_id), "with_user_id": str(member.peer_id),
            "accepted": member.accepted, "ignored": member.ignored,
            "messages": [{"id": str(m.id), "from_me": m.sender_id == user_id, "kind": m.kind, "body": m.body,
                          "video_id": str(m.video_id) if m.video_id else None,
                          "created_at": m.created_at.isoformat()} for m in rows],
        })
    return out
