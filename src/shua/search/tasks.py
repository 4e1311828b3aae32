"""Search's background work: documents follow the outbox (a video ready, edited or deleted; a
creator renamed; a product listed, edited or sold), engagement feeds the hot list, the hot list
refreshes, and a purged account's searches are anonymised. Each handler reads current state, so
retries and reordering are safe."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts.service import EXPORTERS
from shua.core.db import Database
from shua.core.ids import parse_id
from shua.core.jobs import subscribe, task
from shua.search import hot, index
from shua.search.models import SearchClick, SearchHistory, SearchLog


@task("search.index_video", max_attempts=10, backoff_seconds=15)
async def index_video(database: Database, payload: dict[str, Any]) -> None:
    video_id = parse_id(payload.get("video_id"))
    if video_id is None:
        return
    async with database.transaction() as db:
        await index.index_video(db, video_id)


@task("search.index_product", max_attempts=10, backoff_seconds=15)
async def index_product(database: Database, payload: dict[str, Any]) -> None:
    """A product listed, edited or sold (its sales rank it): the named products' documents."""
    ids = [parse_id(payload.get("product_id")), *(parse_id(i) for i in payload.get("product_ids") or [])]
    async with database.transaction() as db:
        for product_id in sorted({i for i in ids if i is not None}):
            await index.index_product(db, product_id)


@task("search.index_creator", max_attempts=10, backoff_seconds=30, timeout_seconds=1800)
async def index_creator(database: Database, payload: dict[str, Any]) -> None:
    """A creator's name is in their videos' documents: reindex them when it changed."""
    user_id = parse_id(payload.get("user_id"))
    if user_id is not None and payload.get("renamed", True):
        await index.index_creator(database, user_id)


# What each engagement event does to a video's popularity, and whether it is hot-list volume.
ENGAGEMENT = {"social.liked": (1, True), "social.shared": (1, True), "social.favourited": (1, False),
              "social.commented": (0, True), "social.unliked": (-1, False), "social.unfavourited": (-1, False)}


@task("search.count_engagement", max_attempts=5, backoff_seconds=30)
async def count_engagement(database: Database, payload: dict[str, Any]) -> None:
    video_id = parse_id(payload.get("video_id"))
    popularity, volume = ENGAGEMENT.get(str(payload.get("topic")), (0, False))
    if video_id is None:
        return
    async with database.transaction() as db:
        if popularity:
            await index.add_popularity(db, video_id=video_id, amount=popularity)
        if volume:
            await hot.count_engagement(db, video_id=video_id)


@task(hot.REFRESH_TASK, max_attempts=3, backoff_seconds=60, timeout_seconds=600)
async def refresh_hot(database: Database, payload: dict[str, Any]) -> None:
    await hot.refresh(database)


@task("search.forget_user", max_attempts=10, backoff_seconds=30)
async def forget_user(database: Database, payload: dict[str, Any]) -> None:
    """A purged account: its history goes with the user row; the log keeps the queries (the hot
    list's past) without saying whose they were."""
    user_id = parse_id(payload.get("user_id"))
    if user_id is None:
        return
    async with database.transaction() as db:
        await db.execute(update(SearchLog).where(SearchLog.user_id == user_id).values(user_id=None))
        await db.execute(update(SearchClick).where(SearchClick.user_id == user_id).values(user_id=None))


async def export_history(db: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await db.scalars(select(SearchHistory).where(SearchHistory.user_id == user_id)
                            .order_by(SearchHistory.searched_at.desc()))
    return [{"query": r.query, "searched_at": r.searched_at.isoformat()} for r in rows]


for topic in ("video.ready", "video.updated", "video.deleted", "video.removed"):
    subscribe(topic, "search.index_video")
subscribe("account.updated", "search.index_creator")
for topic in ("commerce.product_listed", "commerce.product_updated", "commerce.order_paid"):
    subscribe(topic, "search.index_product")
for topic in ENGAGEMENT:
    subscribe(topic, "search.count_engagement")
subscribe("account.purged", "search.forget_user")
EXPORTERS["search_history"] = export_history
