"""Background work of the feed's event side: fold the event log into counters (a chain that
re-enqueues itself), retrain the recommender when it is due, promote videos through the traffic
pools, enter new posts into them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shua import runtime
from shua.accounts.service import EXPORTERS
from shua.config import Settings
from shua.core import jobs
from shua.core.db import Database
from shua.core.ids import parse_id
from shua.core.jobs import subscribe, task
from shua.feed import events, learning, pools

RETRAIN, RETRAIN_TASK = "retrain", "feed.retrain"


def rules_of(settings: Settings) -> pools.PoolRules:
    return pools.PoolRules(
        budgets=tuple(settings.feed_pool_budgets), min_plays=settings.feed_pool_min_plays, z=settings.feed_pool_z,
        min_cohort=settings.feed_pool_min_cohort, baseline_completion=settings.feed_pool_baseline_completion,
        baseline_like=settings.feed_pool_baseline_like)


@task(events.AGGREGATE_TASK, max_attempts=5, timeout_seconds=300, backoff_seconds=10)
async def aggregate(database: Database, payload: dict[str, Any]) -> None:
    """Fold new events, queue a pool evaluation when budgets ran out, and schedule the next run
    (sooner while events arrive, later while idle). A stale chain's run folds, then ends."""
    settings = runtime.current().settings
    batch, batches = settings.feed_aggregate_batch, 20
    folded = await events.aggregate(database, batch=batch, settle_ms=settings.feed_aggregate_settle_ms,
                                    max_batches=batches)
    idle = 0 if folded else int(payload.get("idle", 0)) + 1
    async with database.transaction() as db:
        if folded and await pools.any_due(db):
            await jobs.enqueue(db, pools.PROMOTE_TASK, {})
        if folded and settings.feed_retrain_hours > 0 and await events.claim_due(
                db, RETRAIN, every=timedelta(hours=settings.feed_retrain_hours)):
            await jobs.enqueue(db, RETRAIN_TASK, {})
        delay = events.next_delay(settings.feed_aggregate_seconds, folded, idle, backlog=folded >= batch * batches)
        await events.reschedule(db, events.AGGREGATE, events.AGGREGATE_TASK, token=parse_id(payload.get("token")),
                                after=delay, payload={"idle": idle})


@task(RETRAIN_TASK, max_attempts=2, timeout_seconds=3600, backoff_seconds=600)
async def retrain(database: Database, payload: dict[str, Any]) -> None:
    """Rebuild the embeddings, the ranker and the vector index from the log, as `shua feed train`
    does; serving processes pick the new model up within seconds (feed.vectors)."""
    await learning.retrain(database, runtime.current().settings.var_dir)


@task(pools.PROMOTE_TASK, max_attempts=5, timeout_seconds=300, backoff_seconds=30)
async def promote(database: Database, payload: dict[str, Any]) -> None:
    """Promote or settle every video whose stage budget is used (idempotent: each decision is
    conditional on the video still testing at that stage)."""
    rules = rules_of(runtime.current().settings)
    while True:
        async with database.transaction() as db:
            decided = await pools.promote_due(db, rules=rules, limit=500)
        if len(decided) < 500:
            return


@task("feed.enter_pool", max_attempts=10, backoff_seconds=30)
async def enter_pool(database: Database, payload: dict[str, Any]) -> None:
    """A post became ready, or was made public: it enters stage 0 if strangers may watch it."""
    video_id = parse_id(payload.get("video_id"))
    if video_id is None:
        return
    async with database.transaction() as db:
        await pools.enter(db, video_id=video_id, rules=rules_of(runtime.current().settings))


@task("feed.leave_pool", max_attempts=10, backoff_seconds=30)
async def leave_pool(database: Database, payload: dict[str, Any]) -> None:
    video_id = parse_id(payload.get("video_id"))
    if video_id is None:
        return
    async with database.transaction() as db:
        await pools.leave(db, video_id=video_id)


@task("feed.search_click", max_attempts=10, backoff_seconds=30)
async def search_click(database: Database, payload: dict[str, Any]) -> None:
    """A viewer opened a search result: it steers their For You like a like (query → video)."""
    user_id, video_id, click_id = (parse_id(payload.get(k)) for k in ("user_id", "video_id", "click_id"))
    if user_id is None or video_id is None or click_id is None:
        return  # signed out: nothing to personalise
    async with database.transaction() as db:
        await events.record_search_click(db, user_id=user_id, video_id=video_id, click_id=click_id)


@task("feed.purchase", max_attempts=10, backoff_seconds=30)
async def purchase(database: Database, payload: dict[str, Any]) -> None:
    """An order paid from a video's cart: the buyer's taste, like a like (a shopping signal)."""
    user_id, video_id, order_id = (parse_id(payload.get(k)) for k in ("buyer_id", "source_video_id", "order_id"))
    if user_id is None or video_id is None or order_id is None:
        return  # not bought from a video
    async with database.transaction() as db:
        await events.record_purchase(db, user_id=user_id, video_id=video_id, order_id=order_id)


EXPORTERS["feed_events"] = events.export_events
subscribe("video.ready", "feed.enter_pool")
subscribe("video.updated", "feed.enter_pool")
subscribe("video.deleted", "feed.leave_pool")
subscribe("video.removed", "feed.leave_pool")  # taken down by a moderator
subscribe("search.clicked", "feed.search_click")
subscribe("commerce.order_paid", "feed.purchase")
