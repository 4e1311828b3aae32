"""The hot-search list (热搜榜): what is rising now, not what is big.

Volume per term and hour comes from searches (folded from the log: each person counts once per
term per fold, so one user repeating a query does not make it hot) and from engagement with
videos carrying the term as a hashtag (likes, comments, shares; ENGAGEMENT_WEIGHT each).

For each term, over the last RECENT_HOURS against the BASELINE_HOURS before them:
    recent_rate, baseline_rate = volume per hour in each window
    heat = (recent_rate - baseline_rate) / sqrt(baseline_rate + 1)
a surprise score: a term searched 100 times an hour all day has heat 0; one going from nothing
to 15 an hour has heat 15. Terms need MIN_RECENT volume and MIN_HEAT to enter. The top TOP_N by heat form
the list, refreshed every REFRESH_SECONDS while anything happens; a term with no baseline is
"new", one with heat ≥ HOT_HEAT is "hot". Operators pin a term at a position or remove it; both
are audited and apply to every refresh until undone.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import audit, clock, jobs
from shua.core.db import Database, insert_ignore
from shua.search.models import (
    HOT,
    NEW,
    PIN,
    HotEntry,
    HotOverride,
    SearchDoc,
    SearchLog,
    SearchState,
    SearchTerm,
    TrendCount,
)
from shua.social.people import pinyin_keys

RECENT_HOURS, BASELINE_HOURS = 2, 24
MIN_RECENT = 3.0
MIN_HEAT = 1.0  # noise: a steady term wobbles a little above its baseline
HOT_HEAT = 10.0
TOP_N = 50
ENGAGEMENT_WEIGHT = 0.2
REFRESH_SECONDS = 180
FOLD_BATCH = 5000
SUGGEST_MIN_SEARCHERS = 3  # a query is offered to others once this many people searched it
REFRESH_TASK, FOLD = "search.refresh_hot", "fold"


@dataclass(frozen=True)
class HotItem:
    rank: int
    term: str
    heat: float
    badge: str | None
    pinned: bool = False


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def topic_of(query: str) -> str:
    """The term a query or hashtag counts for: "#猫咪" and "猫咪" are one topic."""
    return query.strip().lstrip("#").strip()[:100]


async def _bump(db: AsyncSession, term: str, hour: datetime, *, searches: int = 0, engagement: int = 0) -> None:
    await insert_ignore(db, TrendCount, term=term, hour=hour, searches=0, engagement=0)
    await db.execute(update(TrendCount).where(TrendCount.term == term, TrendCount.hour == hour).values(
        searches=TrendCount.searches + searches, engagement=TrendCount.engagement + engagement))


async def claim_refresh(db: AsyncSession) -> bool:
    """True for exactly one caller once a refresh is due; queues it."""
    await insert_ignore(db, SearchState, name=REFRESH_TASK, watermark=0, at=None)
    now = clock.utcnow()
    claimed = await db.execute(update(SearchState).where(
        SearchState.name == REFRESH_TASK, or_(SearchState.at.is_(None), SearchState.at <= now))
        .values(at=now + timedelta(seconds=REFRESH_SECONDS)))
    if getattr(claimed, "rowcount", 0):
        await jobs.enqueue(db, REFRESH_TASK, {})
        return True
    return False


async def count_engagement(db: AsyncSession, *, video_id: int, amount: int = 1) -> None:
    """A like, comment or share on a video: its hashtags' topics gain engagement volume."""
    doc = await db.get(SearchDoc, video_id)
    if doc is None:
        return
    hour = hour_of(clock.utcnow())
    for tag in dict.fromkeys(t for t in doc.tags.split() if t.startswith("#")):
        await _bump(db, topic_of(tag), hour, engagement=amount)
    await claim_refresh(db)


async def fold_searches(database: Database, *, batch: int = FOLD_BATCH) -> int:
    """Fold new log rows into hourly volume and suggestion counts; returns rows folded."""
    async with database.transaction() as db:
        await insert_ignore(db, SearchState, name=FOLD, watermark=0, at=None)
        state = (await db.scalars(select(SearchState).where(SearchState.name == FOLD).with_for_update())).one()
        rows = (await db.execute(select(SearchLog.id, SearchLog.user_id, SearchLog.query, SearchLog.results,
                                        SearchLog.at).where(SearchLog.id > state.watermark)
                                 .order_by(SearchLog.id).limit(batch))).all()
        if not rows:
            return 0
        people: dict[tuple[str, datetime], set[object]] = defaultdict(set)
        found: dict[str, set[object]] = defaultdict(set)
        for log_id, user_id, query, results, at in rows:
            term = topic_of(query)
            if not term:
                continue
            who = user_id if user_id is not None else f"anon-{log_id}"
            people[(term, hour_of(at))].add(who)
            if results > 0:
                found[query].add(who)
        for (term, hour), searchers in sorted(people.items()):
            await _bump(db, term, hour, searches=len(searchers))
        for query, searchers in sorted(found.items()):
            await _count_searchers(db, query, len(searchers))
        state.watermark = rows[-1][0]
        return len(rows)


async def _count_searchers(db: AsyncSession, query: str, searchers: int) -> None:
    if await db.get(SearchTerm, query) is None:
        full, initials = pinyin_keys(query)
        await insert_ignore(db, SearchTerm, term=query, pinyin=full, initials=initials, searchers=0, videos=0,
                            updated_at=clock.utcnow())
    await db.execute(update(SearchTerm).where(SearchTerm.term == query).values(
        searchers=SearchTerm.searchers + searchers, updated_at=clock.utcnow()))


def heat_of(recent: float, baseline: float) -> float:
    recent_rate, baseline_rate = recent / RECENT_HOURS, baseline / BASELINE_HOURS
    return (recent_rate - baseline_rate) / math.sqrt(baseline_rate + 1)


def _badge(heat: float, baseline: float) -> str | None:
    if baseline == 0:
        return NEW
    return HOT if heat >= HOT_HEAT else None


async def refresh(database: Database, *, now: datetime | None = None) -> list[HotItem]:
    """Fold what is new, recompute the list and store it (replacing the last one)."""
    while await fold_searches(database) >= FOLD_BATCH:
        pass
    now = now or clock.utcnow()
    current = hour_of(now)
    recent_from = current - timedelta(hours=RECENT_HOURS - 1)
    baseline_from = recent_from - timedelta(hours=BASELINE_HOURS)
    async with database.transaction() as db:
        volume = TrendCount.searches + ENGAGEMENT_WEIGHT * TrendCount.engagement
        rows = (await db.execute(select(TrendCount.term, TrendCount.hour, volume)
                                 .where(TrendCount.hour >= baseline_from, TrendCount.hour <= current))).all()
        recent: dict[str, float] = defaultdict(float)
        baseline: dict[str, float] = defaultdict(float)
        for term, hour, total in rows:
            (recent if hour >= recent_from else baseline)[term] += float(total or 0)
        rising = sorted(((heat_of(v, baseline[t]), t) for t, v in recent.items() if v >= MIN_RECENT), reverse=True)
        items = [HotItem(rank=i + 1, term=t, heat=round(h, 3), badge=_badge(h, baseline[t]))
                 for i, (h, t) in enumerate([x for x in rising if x[0] >= MIN_HEAT][:TOP_N])]
        await db.execute(delete(HotEntry))
        db.add_all([HotEntry(rank=i.rank, term=i.term, heat=i.heat, badge=i.badge, refreshed_at=now) for i in items])
        # Hourly counts older than both windows are no longer read.
        await db.execute(delete(TrendCount).where(TrendCount.hour < baseline_from - timedelta(hours=24)))
    return items


async def hot_list(db: AsyncSession, *, limit: int = TOP_N) -> list[HotItem]:
    """The list as people see it: the computed entries minus removed terms, pinned terms at
    their positions."""
    overrides = {o.term: o for o in await db.scalars(select(HotOverride))}
    entries = [HotItem(rank=0, term=e.term, heat=e.heat, badge=e.badge)
               for e in await db.scalars(select(HotEntry).order_by(HotEntry.rank))
               if e.term not in overrides]
    pins = sorted((o for o in overrides.values() if o.action == PIN), key=lambda o: (o.position or 1, o.created_at))
    for pin in pins:
        entries.insert(min(max((pin.position or 1) - 1, 0), len(entries)),
                       HotItem(rank=0, term=pin.term, heat=0.0, badge=HOT, pinned=True))
    return [HotItem(rank=i + 1, term=e.term, heat=e.heat, badge=e.badge, pinned=e.pinned)
            for i, e in enumerate(entries[:limit])]


async def override(db: AsyncSession, *, actor_id: int, term: str, action: str, position: int | None = None) -> None:
    """Pin `term` at `position` (1-based) or remove it from the list; audited."""
    term = topic_of(term)
    row = await db.get(HotOverride, term)
    if row is None:
        db.add(HotOverride(term=term, action=action, position=position, actor_id=actor_id, created_at=clock.utcnow()))
    else:
        row.action, row.position, row.actor_id, row.created_at = action, position, actor_id, clock.utcnow()
    await audit.record(db, actor_id=actor_id, action=f"search.hot_{action}", target=term,
                       **({"position": position} if action == PIN else {}))


async def clear_override(db: AsyncSession, *, actor_id: int, term: str) -> bool:
    term = topic_of(term)
    row = await db.get(HotOverride, term)
    if row is None:
        return False
    await db.delete(row)
    await audit.record(db, actor_id=actor_id, action="search.hot_restore", target=term, was=row.action)
    return True

