"""Followers, following, friends, follow requests and the block list: newest first, keyset-paged
on (since, user id), never showing anyone hidden from the viewer by a block."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core.errors import InvalidRequest
from shua.core.ids import parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.social import graph
from shua.social.errors import ListsPrivate
from shua.social.models import ACTIVE, PENDING, Block, Follow, Friendship

ListKind = Literal["followers", "following", "friends", "requests", "blocked"]
OWN_ONLY = {"requests", "blocked"}


@dataclass(frozen=True)
class Entry:
    user_id: int
    since: datetime


@dataclass(frozen=True)
class ListPage:
    entries: list[Entry]
    next_cursor: str | None


def _source(kind: ListKind, owner_id: int) -> tuple[Any, Any, list[Any]]:
    """(the other user's column, the time column, filters) for one list."""
    if kind == "followers":
        return Follow.follower_id, Follow.created_at, [Follow.followee_id == owner_id, Follow.status == ACTIVE]
    if kind == "following":
        return Follow.followee_id, Follow.created_at, [Follow.follower_id == owner_id, Follow.status == ACTIVE]
    if kind == "requests":
        return Follow.follower_id, Follow.created_at, [Follow.followee_id == owner_id, Follow.status == PENDING]
    if kind == "friends":
        return Friendship.friend_id, Friendship.created_at, [Friendship.user_id == owner_id]
    return Block.blocked_id, Block.created_at, [Block.blocker_id == owner_id]


def _after(cursor: str | None) -> tuple[datetime, int] | None:
    state = decode_cursor(cursor)
    if state is None:
        return None
    try:
        since, user_id = datetime.fromisoformat(str(state["t"])), parse_id(state["id"])
    except (KeyError, ValueError) as exc:
        raise InvalidRequest("The cursor is not valid", field="cursor") from exc
    if user_id is None or since.tzinfo is None:
        raise InvalidRequest("The cursor is not valid", field="cursor")
    return since, user_id


async def list_people(
    db: AsyncSession, *, kind: ListKind, owner_id: int, viewer_id: int | None, cursor: str | None, limit: int = 20,
) -> ListPage:
    """One page of a user's list, if the viewer may read it."""
    if viewer_id != owner_id:
        if kind in OWN_ONLY or not await graph.visible_to(db, viewer_id=viewer_id, owner_id=owner_id):
            raise ListsPrivate()
        if (await graph.privacy_of(db, owner_id)).lists_private:
            raise ListsPrivate()
    other, since, filters = _source(kind, owner_id)
    query = select(other, since).where(*filters).order_by(since.desc(), other.desc()).limit(limit)
    if viewer_id is not None and kind != "blocked":
        query = query.where(other.not_in(graph.hidden_user_ids(viewer_id)))
    after = _after(cursor)
    if after is not None:
        query = query.where(or_(since < after[0], and_(since == after[0], other < after[1])))
    rows = (await db.execute(query)).all()
    entries = [Entry(user_id=user_id, since=at) for user_id, at in rows]
    more = len(entries) == limit
    next_cursor = encode_cursor({"t": entries[-1].since.isoformat(), "id": str(entries[-1].user_id)}) if more else None
    return ListPage(entries=entries, next_cursor=next_cursor)
