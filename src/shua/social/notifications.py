"""Notifications: "小明 关注了你", likes, comments, replies and mentions, made by job handlers from
other contexts' events (social/messaging_tasks.py). Each is one row keyed by the fact it reports,
so a re-delivered event never notifies twice; nobody is told about their own actions, and nothing
crosses a block. Unread counts per category live in the user's inbox counters."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.core import clock
from shua.core.db import insert_ignore
from shua.core.errors import InvalidRequest, NotFound
from shua.core.ids import new_id, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.social import graph, inbox
from shua.social.messaging_models import Notification

FOLLOWERS, INTERACTIONS = "followers", "interactions"
CATEGORY = {
    "new_follower": FOLLOWERS, "follow_request": FOLLOWERS, "friend_added": FOLLOWERS,
    "like": INTERACTIONS, "comment": INTERACTIONS, "reply": INTERACTIONS, "mention": INTERACTIONS,
    "comment_like": INTERACTIONS,
}
Category = Literal["all", "followers", "interactions"]


class NotificationNotFound(NotFound):
    code = "notifications.not_found"
    title = "No such notification"


def _categories(category: str) -> tuple[str, ...]:
    return (FOLLOWERS, INTERACTIONS) if category == "all" else (category,)


async def notify(db: AsyncSession, *, user_id: int, kind: str, actor_id: int, subject_kind: str, subject_id: int,
                 data: dict[str, Any] | None = None) -> Notification | None:
    """Record a notification; None when it is about yourself, crosses a block, comes from an
    account that is gone, or was recorded before (a re-delivered event, a second like)."""
    category = CATEGORY[kind]
    if user_id == actor_id or await graph.blocked_between(db, user_id, actor_id):
        return None
    if len(await accounts.users_by_id(db, ids=[user_id, actor_id])) < 2:
        return None
    notification_id = new_id()
    inserted = await insert_ignore(db, Notification, id=notification_id, user_id=user_id, kind=kind,
                                   category=category, actor_id=actor_id, subject_kind=subject_kind,
                                   subject_id=subject_id, data=data or {}, created_at=clock.utcnow())
    if not inserted:
        return None
    await inbox.bump(db, user_id, **{category: 1})
    return await db.get(Notification, notification_id)


async def list_notifications(db: AsyncSession, *, user_id: int, category: str = "all", cursor: str | None = None,
                             limit: int = 20) -> tuple[list[Notification], str | None]:
    """The user's notifications in a category, newest first, never from someone hidden by a block."""
    query = (select(Notification).where(Notification.user_id == user_id,
                                        Notification.category.in_(_categories(category)),
                                        Notification.actor_id.not_in(graph.hidden_user_ids(user_id)))
             .order_by(Notification.id.desc()).limit(limit))
    before = (decode_cursor(cursor) or {}).get("before")
    if before is not None:
        before_id = parse_id(before)
        if before_id is None:
            raise InvalidRequest("The cursor is not valid", field="cursor")
        query = query.where(Notification.id < before_id)
    rows = list((await db.scalars(query)).all())
    return rows, encode_cursor({"before": str(rows[-1].id)}) if len(rows) == limit else None


async def _uncount(db: AsyncSession, categories: list[tuple[int, str]]) -> list[int]:
    """Take rows that stopped being unread off their owners' counters, owners in id order."""
    per_user: dict[int, dict[str, int]] = {}
    for user_id, category in categories:
        counts = per_user.setdefault(user_id, {})
        counts[category] = counts.get(category, 0) - 1
    for user_id in sorted(per_user):
        await inbox.bump(db, user_id, **per_user[user_id])
    return sorted(per_user)


async def mark_read(db: AsyncSession, *, user_id: int, notification_id: int) -> None:
    """Mark one of your notifications read (again is harmless); anyone else's is not found."""
    if await db.scalar(select(Notification.id).where(Notification.id == notification_id,
                                                     Notification.user_id == user_id)) is None:
        raise NotificationNotFound()
    # RETURNING says which rows this statement changed: a concurrent "mark all" cannot count twice.
    changed = await db.execute(
        update(Notification).where(Notification.id == notification_id, Notification.read_at.is_(None))
        .values(read_at=clock.utcnow()).returning(Notification.user_id, Notification.category)
        .execution_options(synchronize_session=False))
    await _uncount(db, [(uid, category) for uid, category in changed.all()])


async def mark_all_read(db: AsyncSession, *, user_id: int, category: str = "all") -> int:
    """Mark every notification of a category read; returns how many were unread."""
    changed = await db.execute(
        update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None),
                                   Notification.category.in_(_categories(category)))
        .values(read_at=clock.utcnow()).returning(Notification.user_id, Notification.category)
        .execution_options(synchronize_session=False))
    rows = [(uid, cat) for uid, cat in changed.all()]
    await _uncount(db, rows)
    return len(rows)


async def _delete_where(db: AsyncSession, condition: Any) -> list[int]:
    gone = await db.execute(delete(Notification).where(condition)
                            .returning(Notification.user_id, Notification.category, Notification.read_at)
                            .execution_options(synchronize_session=False))
    return await _uncount(db, [(uid, category) for uid, category, read_at in gone.all() if read_at is None])


async def forget_pair(db: AsyncSession, *, a: int, b: int) -> list[int]:
    """A block: notifications between the two go, both ways. Returns whose counters changed."""
    return await _delete_where(db, or_(and_(Notification.user_id == a, Notification.actor_id == b),
                                       and_(Notification.user_id == b, Notification.actor_id == a)))


async def forget_actor(db: AsyncSession, *, actor_id: int) -> list[int]:
    """An account was deleted: what it did stops notifying anyone. Returns whose counters changed."""
    return await _delete_where(db, Notification.actor_id == actor_id)


async def export_notifications(db: AsyncSession, user_id: int) -> list[dict[str, object]]:
    """The user's notifications, for their data export."""
    rows = (await db.scalars(select(Notification).where(Notification.user_id == user_id)
                             .order_by(Notification.id))).all()
    return [{"id": str(n.id), "kind": n.kind, "actor_id": str(n.actor_id), "subject_kind": n.subject_kind,
             "subject_id": str(n.subject_id), "data": n.data, "created_at": n.created_at.isoformat(),
             "read_at": n.read_at.isoformat() if n.read_at else None} for n in rows]
