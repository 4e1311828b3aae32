"""Serving feed pages. Until the recommender lands (the feed issue), For You is the newest
public videos: a real, paginated source that the ranking will later replace, so the swipe
player, preloading and resuming are built against the same API they will keep."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.models import User
from shua.core.ids import parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.media import videos
from shua.media.models import Video

PAGE_SIZE = 8


@dataclass
class FeedPage:
    items: list[tuple[Video, User]]
    next_cursor: str | None


async def latest(db: AsyncSession, *, viewer_id: int | None, cursor: str | None, limit: int = PAGE_SIZE) -> FeedPage:
    """The newest public videos the viewer may watch whose creators are active, after `cursor`."""
    state = decode_cursor(cursor) or {}
    before = parse_id(state.get("before")) if "before" in state else None
    page = await videos.list_published(db, viewer_id=viewer_id, before_id=before, limit=limit)
    creators = await accounts.users_by_id(db, ids=[v.owner_id for v in page])
    items = [(v, creators[v.owner_id]) for v in page if v.owner_id in creators]
    more = len(page) == limit
    return FeedPage(items=items, next_cursor=encode_cursor({"before": str(page[-1].id)}) if more else None)
