"""The unread counters behind the 消息 badge: one row per user, changed with atomic increments in
the same transaction as the message, read or notification they count, and read in one lookup."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core.db import insert_ignore
from shua.social.messaging_models import InboxStats

COUNTERS = ("messages", "requests", "followers", "interactions")


@dataclass(frozen=True)
class Unread:
    messages: int = 0  # in accepted conversations
    requests: int = 0  # in message requests
    followers: int = 0  # new followers, follow requests, new friends
    interactions: int = 0  # likes, comments, replies, mentions

    @property
    def notifications(self) -> int:
        return self.followers + self.interactions

    @property
    def total(self) -> int:
        return self.messages + self.requests + self.notifications


async def bump(db: AsyncSession, user_id: int, **deltas: int) -> None:
    """Add to a user's unread counters (`messages=1`, `requests=-3`) atomically."""
    values = {f"unread_{name}": getattr(InboxStats, f"unread_{name}") + delta
              for name, delta in deltas.items() if delta}
    if not values:
        return
    await insert_ignore(db, InboxStats, user_id=user_id, unread_messages=0, unread_requests=0,
                        unread_followers=0, unread_interactions=0)
    await db.execute(update(InboxStats).where(InboxStats.user_id == user_id).values(**values)
                     .execution_options(synchronize_session=False))


async def unread_of(db: AsyncSession, user_id: int) -> Unread:
    """The user's unread counts (zeros before their first message or notification)."""
    row = (await db.execute(select(InboxStats.unread_messages, InboxStats.unread_requests,
                                   InboxStats.unread_followers, InboxStats.unread_interactions)
                            .where(InboxStats.user_id == user_id))).first()
    if row is None:
        return Unread()
    # Never show a negative badge, whatever happened to the row.
    return Unread(*(max(0, int(n)) for n in row))
