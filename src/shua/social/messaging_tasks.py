"""Background work of messages and notifications: notifications made from other contexts' events,
and what blocks and deleted accounts change in inboxes. Every handler is idempotent: a
notification is keyed by its fact, so a re-delivered event changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shua import runtime
from shua.accounts import service as accounts
from shua.accounts.errors import UserNotFound
from shua.accounts.service import EXPORTERS
from shua.core.db import Database
from shua.core.ids import parse_id
from shua.core.jobs import subscribe, task
from shua.media import videos
from shua.social import messaging, notifications, reports
from shua.social.messaging_views import push_notification, push_unread


@dataclass(frozen=True)
class Notice:
    user_id: int
    kind: str
    actor_id: int
    subject_kind: str
    subject_id: int
    data: dict[str, Any] = field(default_factory=dict)
    video_id: int | None = None  # only people who may see this video are told


def _id(payload: dict[str, Any], key: str) -> int | None:
    return parse_id(payload.get(key))


async def _may_see(db: AsyncSession, user_id: int, video_id: int | None) -> bool:
    if video_id is None:
        return True
    try:
        await videos.get_video(db, viewer_id=user_id, video_id=video_id)
    except videos.VideoNotFound:
        return False
    return True


async def _deliver(database: Database, notices: list[Notice]) -> None:
    rt = runtime.current()
    async with database.transaction() as db:
        for notice in notices:
            if not await _may_see(db, notice.user_id, notice.video_id):
                continue
            created = await notifications.notify(
                db, user_id=notice.user_id, kind=notice.kind, actor_id=notice.actor_id,
                subject_kind=notice.subject_kind, subject_id=notice.subject_id, data=notice.data)
            if created is not None:
                await push_notification(db, rt, created)


@task("social.notify_followed", max_attempts=10, backoff_seconds=10)
async def notify_followed(database: Database, payload: dict[str, Any]) -> None:
    follower, followee = _id(payload, "follower_id"), _id(payload, "followee_id")
    if follower is None or followee is None:
        return
    notices = [Notice(followee, "new_follower", follower, "user", follower)]
    if payload.get("friends") is True:
        notices += [Notice(followee, "friend_added", follower, "user", follower),
                    Notice(follower, "friend_added", followee, "user", followee)]
    await _deliver(database, notices)


@task("social.notify_follow_requested", max_attempts=10, backoff_seconds=10)
async def notify_follow_requested(database: Database, payload: dict[str, Any]) -> None:
    follower, followee = _id(payload, "follower_id"), _id(payload, "followee_id")
    if follower is not None and followee is not None:
        await _deliver(database, [Notice(followee, "follow_request", follower, "user", follower)])


@task("social.notify_liked", max_attempts=10, backoff_seconds=10)
async def notify_liked(database: Database, payload: dict[str, Any]) -> None:
    liker, video_id, owner = _id(payload, "user_id"), _id(payload, "video_id"), _id(payload, "owner_id")
    if liker is not None and video_id is not None and owner is not None:
        await _deliver(database, [Notice(owner, "like", liker, "video", video_id, video_id=video_id)])


@task("social.notify_commented", max_attempts=10, backoff_seconds=10)
async def notify_commented(database: Database, payload: dict[str, Any]) -> None:
    comment_id, video_id, author = _id(payload, "comment_id"), _id(payload, "video_id"), _id(payload, "author_id")
    if comment_id is None or video_id is None or author is None:
        return
    parent = _id(payload, "parent_id")
    data = {"video_id": str(video_id), "parent_id": str(parent) if parent else None}
    notices: list[Notice] = []
    told: set[int] = set()

    def tell(user_id: int | None, kind: str) -> None:
        # One notification per person per comment: a reply to the owner is a reply, not also a comment.
        if user_id is not None and user_id not in told:
            told.add(user_id)
            notices.append(Notice(user_id, kind, author, "comment", comment_id, data, video_id=video_id))

    tell(_id(payload, "reply_to_user_id"), "reply")
    tell(_id(payload, "video_owner_id"), "comment")
    for mentioned in payload.get("mentions") or []:
        tell(parse_id(mentioned), "mention")
    await _deliver(database, notices)


@task("social.notify_comment_liked", max_attempts=10, backoff_seconds=10)
async def notify_comment_liked(database: Database, payload: dict[str, Any]) -> None:
    liker, comment_id = _id(payload, "user_id"), _id(payload, "comment_id")
    author, video_id = _id(payload, "comment_author_id"), _id(payload, "video_id")
    if liker is not None and comment_id is not None and author is not None:
        await _deliver(database, [Notice(author, "comment_like", liker, "comment", comment_id,
                                         {"video_id": str(video_id) if video_id else None}, video_id=video_id)])


@task("social.notify_video_mentions", max_attempts=10, backoff_seconds=10)
async def notify_video_mentions(database: Database, payload: dict[str, Any]) -> None:
    """A published video's @mentions: each mentioned user who may see the video is told."""
    video_id, owner = _id(payload, "video_id"), _id(payload, "owner_id")
    if video_id is None or owner is None:
        return
    async with database.transaction(write=False) as db:
        try:
            handles = list((await videos.own_video(db, owner_id=owner, video_id=video_id)).mentions)
        except videos.VideoNotFound:
            return
        mentioned = []
        for handle in handles:
            try:
                mentioned.append((await accounts.get_user(db, ref=handle)).id)
            except UserNotFound:
                continue
    await _deliver(database, [Notice(uid, "mention", owner, "video", video_id, video_id=video_id)
                              for uid in mentioned])


@task("social.inbox_blocked", max_attempts=10, backoff_seconds=10)
async def inbox_blocked(database: Database, payload: dict[str, Any]) -> None:
    """A block: the pair's conversation and notifications stop counting as unread for both."""
    blocker, blocked = _id(payload, "blocker_id"), _id(payload, "blocked_id")
    if blocker is None or blocked is None:
        return
    async with database.transaction() as db:
        changed = set(await messaging.on_block(db, a=blocker, b=blocked))
        changed |= set(await notifications.forget_pair(db, a=blocker, b=blocked))
        for user_id in sorted(changed):
            await push_unread(db, runtime.current(), user_id)


@task("social.inbox_account_deleted", max_attempts=10, backoff_seconds=30)
async def inbox_account_deleted(database: Database, payload: dict[str, Any]) -> None:
    """A deleted account stops notifying anyone. Its conversations stay with the other side, who
    see the account as deleted (the rows outlive the purge: they hold plain ids)."""
    user_id = _id(payload, "user_id")
    if user_id is None:
        return
    async with database.transaction() as db:
        for changed in await notifications.forget_actor(db, actor_id=user_id):
            await push_unread(db, runtime.current(), changed)


subscribe("social.followed", "social.notify_followed")
subscribe("social.follow_requested", "social.notify_follow_requested")
subscribe("social.liked", "social.notify_liked")
subscribe("social.commented", "social.notify_commented")
subscribe("social.comment_liked", "social.notify_comment_liked")
subscribe("video.ready", "social.notify_video_mentions")
subscribe("social.blocked", "social.inbox_blocked")
subscribe("account.deleted", "social.inbox_account_deleted")


async def _message_target(db: AsyncSession, reporter_id: int, target_id: int) -> int:
    return await messaging.message_owner(db, reporter_id, target_id)


reports.TARGETS["message"] = _message_target
EXPORTERS["messages"] = messaging.export_messages
EXPORTERS["notifications"] = notifications.export_notifications
