"""HTTP routes of feed events: the client reports what it showed and how it was watched."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, status

from shua.config import Settings
from shua.feed import events
from shua.feed.events_schemas import DroppedEvent, EventBatch, EventsAccepted
from shua.web.deps import DB, CurrentAuth, RuntimeDep

router = APIRouter(prefix="/api/v1/feed", tags=["feed"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 413, 415, 422, 429)
}


def limits_of(settings: Settings) -> events.Limits:
    return events.Limits(
        max_batch=settings.feed_max_batch, skew=timedelta(seconds=settings.feed_event_skew_seconds),
        max_age=timedelta(hours=settings.feed_event_max_age_hours), watch_slack_ms=settings.feed_watch_slack_ms,
        skip_ms=round(settings.feed_skip_seconds * 1000))


@router.post("/events", status_code=status.HTTP_202_ACCEPTED, responses=PROBLEMS)
async def record_events(body: EventBatch, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> EventsAccepted:
    """Report a batch of viewing events (logged-in viewers). Resending an event id counts once;
    events the server cannot accept (a video gone or not yours to see, a clock far off, more
    watch time than the video plays) are dropped and listed with the reason."""
    settings = runtime.settings
    await runtime.limiter.hit(settings.feed_events_rate, "feed-events", str(auth.user.id))
    result = await events.ingest(
        db, user_id=auth.user.id, limits=limits_of(settings), aggregate_every=settings.feed_aggregate_seconds,
        events=[events.EventIn(event_id=e.event_id, video_id=e.video_id, kind=e.kind, at=e.at, watch_ms=e.watch_ms,
                               replays=e.replays, source=e.source or None, request_id=e.request_id or None)
                for e in body.events])
    return EventsAccepted(accepted=result.accepted, duplicates=result.duplicates,
                          dropped=[DroppedEvent(event_id=event_id, reason=reason)
                                   for event_id, reason in result.dropped])
