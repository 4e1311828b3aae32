"""The feed API: one page of a tab at a time, resumed with an opaque cursor."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.schemas import UserRead
from shua.core.errors import Unauthenticated
from shua.core.i18n import catalog
from shua.feed import interests, service
from shua.media.routes import VideoRead, video_reads
from shua.runtime import Runtime
from shua.web.deps import DB, CurrentAuth, MaybeAuth, RuntimeDep

router = APIRouter(prefix="/api/v1/feed", tags=["feed"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}} for code in (401, 422, 429)
}


class FeedItem(BaseModel):
    """A video of the feed with its creator; `video.stats` and `video.me` carry the counters
    and the viewer's likes and favourites, fetched for the whole page at once."""

    video: VideoRead
    creator: UserRead
    source: str = Field(description="Which candidate source brought it (send it back with events)")


class FeedPageRead(BaseModel):
    items: list[FeedItem]
    next_cursor: str | None
    request_id: str = Field("", description="Identifies this page in the events the client sends")


Tab = Literal["for_you", "following"]


async def feed_page(db: AsyncSession, runtime: Runtime, *, viewer_id: int | None, cursor: str | None,
                    tab: Tab = "for_you") -> FeedPageRead:
    """A feed page as the API shows it (the home page inlines the first one)."""
    if tab == "following":
        if viewer_id is None:
            raise Unauthenticated()
        page = await service.following_tab(db, viewer_id=viewer_id, cursor=cursor)
    else:
        services = service.services_of(runtime.extras, var_dir=runtime.settings.var_dir,
                                       redis_url=runtime.settings.redis_url)
        page = await service.for_you(db, services, viewer_id=viewer_id, cursor=cursor,
                                     follow_share=runtime.settings.feed_follow_share)
    reads = await video_reads(db, runtime, [video for video, _, _ in page.items], viewer_id=viewer_id)
    return FeedPageRead(
        items=[FeedItem(video=read, creator=accounts.to_user_read(creator), source=source)
               for read, (_, creator, source) in zip(reads, page.items, strict=True)],
        next_cursor=page.next_cursor, request_id=page.request_id,
    )


@router.get("", responses=PROBLEMS)
async def read_feed(
    auth: MaybeAuth, db: DB, runtime: RuntimeDep,
    tab: Tab = "for_you",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> FeedPageRead:
    """A page of For You (recommended) or Following (newest from creators you follow); pass
    `next_cursor` back to continue where it stopped, without repeats."""
    return await feed_page(db, runtime, viewer_id=auth.user.id if auth else None, cursor=cursor, tab=tab)


class InterestRead(BaseModel):
    key: str
    labels: dict[str, str] = Field(description="The topic's name by locale (en, zh-CN)")


class InterestsRead(BaseModel):
    available: list[InterestRead]
    chosen: list[str] | None = Field(description="The viewer's topics; null until they answered (the "
                                                 "client offers the picker), [] when they chose none")


class InterestsUpdate(BaseModel):
    interests: list[Annotated[str, Field(max_length=40)]] = Field(max_length=interests.MAX_CHOSEN)


def _interests_read(chosen: list[str] | None) -> InterestsRead:
    labels = {locale: catalog(locale) for locale in ("en", "zh-CN")}
    return InterestsRead(available=[
        InterestRead(key=key, labels={locale: names.get(f"interest.{key}", key) for locale, names in labels.items()})
        for key in interests.CATALOGUE], chosen=chosen)


@router.get("/interests", responses=PROBLEMS)
async def read_interests(auth: CurrentAuth, db: DB) -> InterestsRead:
    """The topics a viewer can pick for a first For You, and which they picked."""
    return _interests_read(await interests.chosen(db, auth.user.id))


@router.put("/interests", responses=PROBLEMS)
async def choose_interests(body: InterestsUpdate, auth: CurrentAuth, db: DB) -> InterestsRead:
    """Pick the topics (an empty list says "none"); For You leans to them until it knows you."""
    return _interests_read(await interests.choose(db, auth.user.id, body.interests))
