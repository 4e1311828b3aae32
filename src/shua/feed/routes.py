"""The feed API: one page of a tab at a time, resumed with an opaque cursor."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.schemas import UserRead
from shua.feed import service
from shua.media.routes import VideoRead, video_reads
from shua.runtime import Runtime
from shua.web.deps import DB, MaybeAuth, RuntimeDep

router = APIRouter(prefix="/api/v1/feed", tags=["feed"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}} for code in (401, 422, 429)
}


class FeedItem(BaseModel):
    """A video of the feed with its creator; `video.stats` and `video.me` carry the counters
    and the viewer's likes and favourites, fetched for the whole page at once."""

    video: VideoRead
    creator: UserRead


class FeedPageRead(BaseModel):
    items: list[FeedItem]
    next_cursor: str | None


async def feed_page(db: AsyncSession, runtime: Runtime, *, viewer_id: int | None, cursor: str | None) -> FeedPageRead:
    """A feed page as the API shows it (the home page inlines the first one)."""
    page = await service.latest(db, viewer_id=viewer_id, cursor=cursor)
    reads = await video_reads(db, runtime, [video for video, _ in page.items], viewer_id=viewer_id)
    return FeedPageRead(
        items=[FeedItem(video=read, creator=accounts.to_user_read(creator))
               for read, (_, creator) in zip(reads, page.items, strict=True)],
        next_cursor=page.next_cursor,
    )


@router.get("", responses=PROBLEMS)
async def read_feed(
    auth: MaybeAuth, db: DB, runtime: RuntimeDep,
    tab: Literal["for_you"] = "for_you",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> FeedPageRead:
    """A page of the feed; pass `next_cursor` back to continue where it stopped."""
    return await feed_page(db, runtime, viewer_id=auth.user.id if auth else None, cursor=cursor)
