"""The social graph: follow, unfollow, follow requests, friends (mutual follows), blocks, and the
visibility rule every other context asks ("may this viewer see that owner's content?").

Every operation on a pair of users first locks both users' counter rows in id order (on
PostgreSQL; SQLite already runs one writer at a time). Without it, A following B while B follows
A could each miss the other's uncommitted follow and neither would make the friendship.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Select, and_, delete, exists, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts.errors import UserNotFound
from shua.accounts.models import User
from shua.core import clock, jobs
from shua.core.db import insert_ignore
from shua.social.errors import CannotBlockSelf, CannotFollowSelf, FollowRequestNotFound, YouBlockedThem
from shua.social.models import (
    ACTIVE,
    EVERYONE,
    FRIENDS,
    NOBODY,
    PENDING,
    Block,
    Follow,
    Friendship,
    Privacy,
    UserStats,
)

PRIVATE_VISIBILITY, FRIENDS_VISIBILITY = "private", "friends"


@dataclass(frozen=True)
class Relationship:
    """How the viewer stands with another user, for a follow button and a profile."""

    following: str  # "none" | "pending" | "active"
    followed_by: bool
    friends: bool
    blocking: bool  # the viewer blocked them


NO_RELATIONSHIP = Relationship(following="none", followed_by=False, friends=False, blocking=False)


def default_privacy(user_id: int) -> Privacy:
    return Privacy(user_id=user_id, private_account=False, lists_private=False, who_can_comment=EVERYONE,
                   who_can_message=EVERYONE, findable_by_phone=False, updated_at=clock.utcnow())


async def privacy_of(db: AsyncSession, user_id: int) -> Privacy:
    """The user's privacy settings (the defaults if they never changed any)."""
    return await db.get(Privacy, user_id) or default_privacy(user_id)


async def update_privacy(db: AsyncSession, *, user_id: int, **changes: Any) -> Privacy:
    """Change privacy settings. Making a private account public approves its pending requests."""
    row = await db.get(Privacy, user_id)
    if row is None:
        row = default_privacy(user_id)
        db.add(row)
    was_private = row.private_account
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = clock.utcnow()
    if was_private and not row.private_account:
        pending = (await db.scalars(select(Follow).where(Follow.followee_id == user_id,
                                                         Follow.status == PENDING))).all()
        for request in pending:
            await approve_request(db, user_id=user_id, follower_id=request.follower_id)
    return row


async def ensure_stats(db: AsyncSession, *user_ids: int) -> None:
    for user_id in user_ids:
        await insert_ignore(db, UserStats, user_id=user_id, followers=0, following=0, friends=0,
                            likes_received=0, pending_requests=0)


async def bump(db: AsyncSession, user_id: int, **deltas: int) -> None:
    """Add to a user's counters atomically (`SET n = n + d`), never below zero."""
    await ensure_stats(db, user_id)
    values = {name: getattr(UserStats, name) + delta for name, delta in deltas.items() if delta}
    if values:
        await db.execute(update(UserStats).where(UserStats.user_id == user_id).values(**values))


async def _lock_pair(db: AsyncSession, a: int, b: int) -> None:
    await _lock(db, [a, b])


async def _lock_existing_pair(db: AsyncSession, follower_id: int, followee_id: int) -> None:
    """Lock the pair only if the follow exists: the ids came from a request and may name nobody."""
    if await db.get(Follow, (follower_id, followee_id)) is not None:
        await _lock_pair(db, follower_id, followee_id)


async def _lock(db: AsyncSession, user_ids: list[int]) -> None:
    # Always in id order, inserts included (an INSERT waits for another transaction's uncommitted
    # insert of the same key): two transactions locking the same users can then never deadlock.
    ordered = sorted(set(user_ids))
    await ensure_stats(db, *ordered)
    if db.get_bind().dialect.name != "sqlite":
        query = select(UserStats.user_id).where(UserStats.user_id.in_(ordered)).order_by(UserStats.user_id)
        await db.execute(query.with_for_update())


async def stats_of(db: AsyncSession, user_id: int) -> UserStats:
    return await db.get(UserStats, user_id) or UserStats(
        user_id=user_id, followers=0, following=0, friends=0, likes_received=0, pending_requests=0)


async def _blocks(db: AsyncSession, blocker_id: int, blocked_id: int) -> bool:
    return await db.get(Block, (blocker_id, blocked_id)) is not None


async def has_blocked(db: AsyncSession, *, blocker_id: int, blocked_id: int) -> bool:
    return await _blocks(db, blocker_id, blocked_id)


async def blocked_between(db: AsyncSession, a: int, b: int) -> bool:
    """Either of the two blocked the other."""
    query = select(exists().where(or_(and_(Block.blocker_id == a, Block.blocked_id == b),
                                      and_(Block.blocker_id == b, Block.blocked_id == a))))
    return bool(await db.scalar(query))


def hidden_user_ids(viewer_id: int | BindParameter[int]) -> Select[Any]:
    """A subquery of the users the viewer must never see or be seen by (blocks, both ways), for
    other contexts to exclude in their own queries without reading this context's tables."""
    return select(union(select(Block.blocked_id.label("user_id")).where(Block.blocker_id == viewer_id),
                        select(Block.blocker_id.label("user_id")).where(Block.blocked_id == viewer_id))
                  .subquery().c.user_id)


def private_account_ids_not_followed(viewer_id: int | BindParameter[int] | None) -> Select[Any]:
    """Owners whose public videos this viewer may not see: private accounts they do not follow."""
    query = select(Privacy.user_id).where(Privacy.private_account.is_(True))
    if viewer_id is not None:
        followed = select(Follow.followee_id).where(Follow.follower_id == viewer_id, Follow.status == ACTIVE)
        query = query.where(Privacy.user_id != viewer_id, Privacy.user_id.not_in(followed))
    return query


async def private_accounts_among(db: AsyncSession, user_ids: list[int]) -> set[int]:
    if not user_ids:
        return set()
    query = select(Privacy.user_id).where(Privacy.user_id.in_(set(user_ids)), Privacy.private_account.is_(True))
    return set((await db.scalars(query)).all())


async def are_friends(db: AsyncSession, a: int, b: int) -> bool:
    return await db.get(Friendship, (a, b)) is not None


async def relationship(db: AsyncSession, *, viewer_id: int | None, other_id: int) -> Relationship:
    if viewer_id is None or viewer_id == other_id:
        return NO_RELATIONSHIP
    mine = await db.get(Follow, (viewer_id, other_id))
    theirs = await db.get(Follow, (other_id, viewer_id))
    return Relationship(
        following=mine.status if mine else "none",
        followed_by=theirs is not None and theirs.status == ACTIVE,
        friends=await are_friends(db, viewer_id, other_id),
        blocking=await _blocks(db, viewer_id, other_id),
    )


async def relationships(db: AsyncSession, *, viewer_id: int | None, other_ids: list[int]) -> dict[int, Relationship]:
    """Relationships to many users in three queries (the follow buttons of a list)."""
    if viewer_id is None or not other_ids:
        return {other: NO_RELATIONSHIP for other in other_ids}
    mine = dict((await db.execute(select(Follow.followee_id, Follow.status).where(
        Follow.follower_id == viewer_id, Follow.followee_id.in_(other_ids)))).all())
    theirs = set((await db.scalars(select(Follow.follower_id).where(
        Follow.followee_id == viewer_id, Follow.follower_id.in_(other_ids), Follow.status == ACTIVE))).all())
    blocking = set((await db.scalars(select(Block.blocked_id).where(
        Block.blocker_id == viewer_id, Block.blocked_id.in_(other_ids)))).all())
    return {other: Relationship(following=mine.get(other, "none"), followed_by=other in theirs,
                                friends=mine.get(other) == ACTIVE and other in theirs, blocking=other in blocking)
            for other in other_ids}


async def visible_to(db: AsyncSession, *, viewer_id: int | None, owner_id: int) -> bool:
    """The owner exists for the viewer: neither blocked the other."""
    return viewer_id is None or viewer_id == owner_id or not await blocked_between(db, viewer_id, owner_id)


async def may_see_content(db: AsyncSession, *, viewer_id: int | None, owner_id: int, visibility: str) -> bool:
    """The one visibility rule: private is the owner's, friends-only is friends', public is
    everyone's unless the owner's account is private (then approved followers'); blocks hide all."""
    if viewer_id == owner_id:
        return True
    if visibility == PRIVATE_VISIBILITY or not await visible_to(db, viewer_id=viewer_id, owner_id=owner_id):
        return False
    if visibility == FRIENDS_VISIBILITY:
        return viewer_id is not None and await are_friends(db, viewer_id, owner_id)
    if (await privacy_of(db, owner_id)).private_account:
        follow = await db.get(Follow, (viewer_id, owner_id)) if viewer_id else None
        return follow is not None and follow.status == ACTIVE
    return True


async def may_interact(db: AsyncSession, *, actor_id: int, owner_id: int, setting: str) -> bool:
    """Whether `actor` passes an everyone / friends / nobody setting of `owner`'s."""
    if actor_id == owner_id:
        return True
    if await blocked_between(db, actor_id, owner_id) or setting == NOBODY:
        return False
    return setting == EVERYONE or (setting == FRIENDS and await are_friends(db, actor_id, owner_id))


async def follow(db: AsyncSession, *, follower_id: int, followee: User) -> str:
    """Follow someone (idempotent). Active at once, or pending when their account is private."""
    if follower_id == followee.id:
        raise CannotFollowSelf()
    await _lock_pair(db, follower_id, followee.id)
    if await _blocks(db, followee.id, follower_id):
        raise UserNotFound()  # to someone they blocked, they do not exist
    if await _blocks(db, follower_id, followee.id):
        raise YouBlockedThem()
    existing = await db.get(Follow, (follower_id, followee.id))
    if existing is not None:
        return existing.status
    status = PENDING if (await privacy_of(db, followee.id)).private_account else ACTIVE
    await insert_ignore(db, Follow, follower_id=follower_id, followee_id=followee.id, status=status,
                        created_at=clock.utcnow())
    if status == ACTIVE:
        await _activate(db, follower_id, followee.id)
    else:
        await bump(db, followee.id, pending_requests=1)
        await jobs.publish(db, "social.follow_requested", {"follower_id": str(follower_id),
                                                           "followee_id": str(followee.id)})
    return status


async def _activate(db: AsyncSession, follower_id: int, followee_id: int) -> None:
    await bump(db, follower_id, following=1)
    await bump(db, followee_id, followers=1)
    reverse = await db.get(Follow, (followee_id, follower_id))
    friends = reverse is not None and reverse.status == ACTIVE
    if friends:
        now = clock.utcnow()
        await insert_ignore(db, Friendship, user_id=follower_id, friend_id=followee_id, created_at=now)
        await insert_ignore(db, Friendship, user_id=followee_id, friend_id=follower_id, created_at=now)
        await bump(db, follower_id, friends=1)
        await bump(db, followee_id, friends=1)
    await jobs.publish(db, "social.followed", {"follower_id": str(follower_id), "followee_id": str(followee_id),
                                               "friends": friends})


async def _drop(db: AsyncSession, row: Follow) -> None:
    follower_id, followee_id = row.follower_id, row.followee_id
    if row.status == ACTIVE:
        await bump(db, follower_id, following=-1)
        await bump(db, followee_id, followers=-1)
        if await are_friends(db, follower_id, followee_id):
            await db.execute(delete(Friendship).where(or_(
                and_(Friendship.user_id == follower_id, Friendship.friend_id == followee_id),
                and_(Friendship.user_id == followee_id, Friendship.friend_id == follower_id))))
            await bump(db, follower_id, friends=-1)
            await bump(db, followee_id, friends=-1)
    else:
        await bump(db, followee_id, pending_requests=-1)
    await db.delete(row)
    await db.flush()
    await jobs.publish(db, "social.unfollowed", {"follower_id": str(follower_id), "followee_id": str(followee_id)})


async def unfollow(db: AsyncSession, *, follower_id: int, followee_id: int) -> None:
    """Stop following (or withdraw a request); idempotent."""
    await _lock_pair(db, follower_id, followee_id)
    row = await db.get(Follow, (follower_id, followee_id))
    if row is not None:
        await _drop(db, row)


async def approve_request(db: AsyncSession, *, user_id: int, follower_id: int) -> None:
    """Let someone who asked follow your private account."""
    await _lock_existing_pair(db, follower_id, user_id)
    row = await db.get(Follow, (follower_id, user_id))
    if row is None or row.status != PENDING:
        raise FollowRequestNotFound()
    row.status = ACTIVE
    await bump(db, user_id, pending_requests=-1)
    await db.flush()
    await _activate(db, follower_id, user_id)


async def reject_request(db: AsyncSession, *, user_id: int, follower_id: int) -> None:
    await _lock_existing_pair(db, follower_id, user_id)
    row = await db.get(Follow, (follower_id, user_id))
    if row is None or row.status != PENDING:
        raise FollowRequestNotFound()
    await _drop(db, row)


async def remove_follower(db: AsyncSession, *, user_id: int, follower_id: int) -> None:
    """Make someone stop following you (they are not told); idempotent."""
    await _lock_existing_pair(db, follower_id, user_id)
    row = await db.get(Follow, (follower_id, user_id))
    if row is not None:
        await _drop(db, row)


async def block(db: AsyncSession, *, blocker_id: int, blocked_id: int) -> None:
    """Block someone: follows both ways end, and neither can find, follow, message or see the other."""
    if blocker_id == blocked_id:
        raise CannotBlockSelf()
    await _lock_pair(db, blocker_id, blocked_id)
    if not await insert_ignore(db, Block, blocker_id=blocker_id, blocked_id=blocked_id, created_at=clock.utcnow()):
        return
    for pair in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
        row = await db.get(Follow, pair)
        if row is not None:
            await _drop(db, row)
    await jobs.publish(db, "social.blocked", {"blocker_id": str(blocker_id), "blocked_id": str(blocked_id)})


async def unblock(db: AsyncSession, *, blocker_id: int, blocked_id: int) -> None:
    await db.execute(delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id))


async def friend_ids(db: AsyncSession, user_id: int) -> list[int]:
    return list((await db.scalars(select(Friendship.friend_id).where(Friendship.user_id == user_id))).all())


async def follow_map(db: AsyncSession, user_ids: list[int]) -> dict[int, set[int]]:
    """Whom each of these users follows (active follows), for training the recommender."""
    found: dict[int, set[int]] = {uid: set() for uid in user_ids}
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), 10_000):
        query = select(Follow.follower_id, Follow.followee_id).where(
            Follow.follower_id.in_(ids[start:start + 10_000]), Follow.status == ACTIVE)
        for follower, followee in (await db.execute(query)).all():
            found[follower].add(followee)
    return found


async def following_ids(db: AsyncSession, user_id: int) -> list[int]:
    return list((await db.scalars(select(Follow.followee_id).where(Follow.follower_id == user_id,
                                                                   Follow.status == ACTIVE))).all())


async def friends_seen(db: AsyncSession, *, user_id: int, at: datetime | None = None) -> datetime | None:
    """Record a visit to the 朋友 tab; return the previous one (what counts as "new")."""
    await ensure_stats(db, user_id)
    stats = await db.get(UserStats, user_id)
    assert stats is not None
    previous = stats.friends_seen_at
    stats.friends_seen_at = at or clock.utcnow()
    return previous


async def forget_user(db: AsyncSession, *, user_id: int) -> None:
    """An account was deleted: its follows end both ways (so others' counts stay right)."""
    rows = (await db.scalars(select(Follow).where(or_(Follow.follower_id == user_id,
                                                      Follow.followee_id == user_id)))).all()
    await _lock(db, [user_id] + [r.follower_id for r in rows] + [r.followee_id for r in rows])
    for row in rows:
        await _drop(db, row)
