"""The 朋友 Friends tab: friends' videos (public and friends-only), daily posts and moods, newest
first in one list, with a "new" marker for what arrived since the last visit.

Each source is read with the same `id < before` bound and the pages are merged by id: ids are
time-ordered, so the merge is chronological and the cursor is just the last id shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shua.core.ids import parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.media import videos
from shua.media.models import Video
from shua.social import graph, moments
from shua.social.moments_models import DailyPost, Mood

PAGE_SIZE = 10


@dataclass(frozen=True)
class FriendsItem:
    kind: str  # "video" | "daily" | "mood"
    id: int
    user_id: int
    created_at: datetime
    video: Video | None = None
    daily: DailyPost | None = None
    mood: Mood | None = None


@dataclass(frozen=True)
class FriendsPage:
    items: list[FriendsItem]
    next_cursor: str | None
    last_visit_at: datetime | None


async def friends_feed(db: AsyncSession, *, viewer_id: int, cursor: str | None, limit: int = PAGE_SIZE) -> FriendsPage:
    """One page of the Friends tab for `viewer_id`."""
    state = decode_cursor(cursor) or {}
    before = parse_id(state.get("before")) if "before" in state else None
    friends = await graph.friend_ids(db, viewer_id)
    items: list[FriendsItem] = []
    if friends:
        for video in await videos.list_published(db, viewer_id=viewer_id, before_id=before, owner_ids=friends,
                                                 friend_ids=friends, limit=limit):
            items.append(FriendsItem("video", video.id, video.owner_id, video.created_at, video=video))
        for post in await moments.live_posts(db, author_ids=friends, before_id=before, limit=limit):
            items.append(FriendsItem("daily", post.id, post.author_id, post.created_at, daily=post))
        for mood in await moments.live_moods(db, user_ids=friends, before_id=before, limit=limit):
            items.append(FriendsItem("mood", mood.id, mood.user_id, mood.created_at, mood=mood))
    items.sort(key=lambda item: item.id, reverse=True)
    page = items[:limit]
    # More may follow if the merge left items over, or any source filled its page.
    more = len(items) > limit or any(sum(i.kind == k for i in items) == limit for k in ("video", "daily", "mood"))
    next_cursor = encode_cursor({"before": str(page[-1].id)}) if page and more else None
    stats = await graph.stats_of(db, viewer_id)
    return FriendsPage(items=page, next_cursor=next_cursor, last_visit_at=stats.friends_seen_at)
