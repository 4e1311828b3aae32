"""The new-video traffic pools (流量池): staged exposure that a video earns.

Every public post enters stage 0 with a small impression budget. When a stage's budget is used
up, `feed.promote` compares the video with its stage's cohort: it moves up a stage (a budget ten
times larger; stage 3 is unbounded, "recommended widely") only if the Wilson lower bounds of its
completion rate and its like rate both beat the cohort's averages; otherwise it settles there
and the pool stops giving it traffic (the other sources still may). Stages, budgets and
thresholds are documented in ARCHITECTURE.md and set in config (`feed_pool_*`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock
from shua.core.db import insert_ignore
from shua.feed import events
from shua.feed.models import REMOVED, SETTLED, TESTING, PoolEntry
from shua.media import videos
from shua.media.models import POST
from shua.social import engagement

TOP_STAGE = 3
PROMOTE_TASK = "feed.promote"


@dataclass(frozen=True)
class PoolRules:
    budgets: tuple[int, ...] = (200, 2000, 20000)  # stages 0..len-1; the next stage is unbounded
    min_plays: int = 50
    z: float = 1.28
    min_cohort: int = 5
    baseline_completion: float = 0.30
    baseline_like: float = 0.03
    cohort_sample: int = 1000

    def budget(self, stage: int) -> int | None:
        return self.budgets[stage] if stage < len(self.budgets) else None


@dataclass(frozen=True)
class Stage:
    stage: int
    status: str  # testing | settled
    impressions: int  # at this stage
    budget: int | None  # None: unbounded


def wilson_lower(successes: int, trials: int, z: float) -> float:
    """The Wilson score interval's lower bound for a rate: what it at least is, at confidence z."""
    if trials <= 0:
        return 0.0
    p = min(successes, trials) / trials
    centre = p + z * z / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z * z / trials))


async def enter(db: AsyncSession, *, video_id: int, rules: PoolRules) -> bool:
    """Put a public post into stage 0 (once: entering again does nothing). True if it entered."""
    try:
        video = await videos.get_video(db, viewer_id=None, video_id=video_id)  # as a stranger sees it
    except videos.VideoNotFound:
        return False
    if video.purpose != POST:
        return False
    now = clock.utcnow()
    if await insert_ignore(db, PoolEntry, video_id=video.id, owner_id=video.owner_id, stage=0, status=TESTING,
                           budget=rules.budget(0), stage_impressions=0, entered_at=now, stage_entered_at=now):
        return True
    # A moderator restored a video taken down: it goes on testing from the stage it had reached.
    back = await db.execute(update(PoolEntry).where(PoolEntry.video_id == video.id, PoolEntry.status == REMOVED)
                            .values(status=TESTING, stage_entered_at=now))
    return bool(getattr(back, "rowcount", 0))


async def leave(db: AsyncSession, *, video_id: int) -> None:
    """A deleted or taken-down video leaves the pools (its row stays, for the record)."""
    await db.execute(update(PoolEntry).where(PoolEntry.video_id == video_id).values(status=REMOVED))


async def stage_of_many(db: AsyncSession, video_ids: list[int]) -> dict[int, Stage]:
    """The pool stage of those videos that are in the pools, in one query."""
    if not video_ids:
        return {}
    rows = await db.scalars(select(PoolEntry).where(PoolEntry.video_id.in_(set(video_ids)),
                                                    PoolEntry.status != REMOVED))
    return {r.video_id: Stage(stage=r.stage, status=r.status, impressions=r.stage_impressions, budget=r.budget)
            for r in rows}


async def pool_candidates(db: AsyncSession, stage: int, limit: int, exclude: set[int] | frozenset[int] = frozenset(),
                          *, spread: int = 4) -> list[int]:
    """Videos of a stage still under their budget, for the pool candidate source. Fair rotation:
    the least-shown come first (impressions are folded every few seconds, so between folds the
    pick is drawn at random from the `spread` × `limit` least-shown, not the same few each time).
    The caller still applies the viewer's filters (blocks, private accounts, seen items)."""
    if limit <= 0:
        return []
    under = (PoolEntry.budget.is_(None)) | (PoolEntry.stage_impressions < PoolEntry.budget)
    query = (select(PoolEntry.video_id).where(PoolEntry.stage == stage, PoolEntry.status == TESTING, under)
             .order_by(PoolEntry.stage_impressions, PoolEntry.video_id.desc()).limit(limit * spread + len(exclude)))
    ids = [vid for vid in (await db.scalars(query)).all() if vid not in exclude][:limit * spread]
    if len(ids) <= limit:
        return ids
    return random.sample(ids, limit)  # noqa: S311 - rotation, not a secret


async def any_due(db: AsyncSession) -> bool:
    """Whether some video has used its stage's budget and waits to be evaluated."""
    query = select(PoolEntry.video_id).where(PoolEntry.status == TESTING, PoolEntry.budget.is_not(None),
                                             PoolEntry.stage_impressions >= PoolEntry.budget).limit(1)
    return await db.scalar(query) is not None


@dataclass(frozen=True)
class Rates:
    plays: int
    completes: int
    likes: int

    def completion(self) -> float:
        return min(self.completes, self.plays) / self.plays if self.plays else 0.0

    def like(self) -> float:
        return min(self.likes, self.plays) / self.plays if self.plays else 0.0


async def _rates(db: AsyncSession, video_ids: list[int]) -> dict[int, Rates]:
    feed = await events.stats_of_many(db, video_ids)
    likes = await engagement.stats_of_many(db, video_ids)
    return {vid: Rates(plays=feed[vid].plays, completes=feed[vid].completes, likes=likes[vid].likes)
            for vid in video_ids}


@dataclass(frozen=True)
class Cohort:
    """The per-video rates of a stage's videos with enough plays, summed so that one member's
    own contribution can be taken out (a video is compared with the *others*)."""

    members: dict[int, Rates]
    rules: PoolRules

    def baseline(self, video_id: int) -> tuple[float, float]:
        others = [r for vid, r in self.members.items() if vid != video_id]
        if len(others) < self.rules.min_cohort:
            return self.rules.baseline_completion, self.rules.baseline_like
        return (sum(r.completion() for r in others) / len(others), sum(r.like() for r in others) / len(others))


async def cohort_of(db: AsyncSession, stage: int, rules: PoolRules) -> Cohort:
    """The stage's current cohort: its newest `cohort_sample` videos (a bounded, recent sample
    when the stage holds many) with at least `min_plays` plays."""
    ids = list((await db.scalars(select(PoolEntry.video_id).where(
        PoolEntry.stage == stage, PoolEntry.status.in_((TESTING, SETTLED)))
        .order_by(PoolEntry.video_id.desc()).limit(rules.cohort_sample))).all())
    rates = await _rates(db, ids)
    return Cohort(members={vid: r for vid, r in rates.items() if r.plays >= rules.min_plays}, rules=rules)


@dataclass(frozen=True)
class Verdict:
    video_id: int
    stage: int  # the stage it was evaluated at
    promoted: bool
    completion_lower: float
    like_lower: float
    baseline: tuple[float, float]


def judge(video_id: int, stage: int, rates: Rates, cohort: Cohort, rules: PoolRules) -> Verdict:
    completion_bar, like_bar = cohort.baseline(video_id)
    completion = wilson_lower(rates.completes, rates.plays, rules.z)
    like = wilson_lower(rates.likes, rates.plays, rules.z)
    promoted = rates.plays >= rules.min_plays and completion > completion_bar and like > like_bar
    return Verdict(video_id=video_id, stage=stage, promoted=promoted, completion_lower=completion, like_lower=like,
                   baseline=(completion_bar, like_bar))


async def promote_due(db: AsyncSession, *, rules: PoolRules, limit: int = 500) -> list[Verdict]:
    """Evaluate the videos that used their stage's budget: promote or settle each. Every change
    is conditional on the row still being at that stage and testing, so two runs at once decide
    each video once."""
    due = list((await db.scalars(
        select(PoolEntry).where(PoolEntry.status == TESTING, PoolEntry.budget.is_not(None),
                                PoolEntry.stage_impressions >= PoolEntry.budget)
        .order_by(PoolEntry.video_id).limit(limit))).all())
    if not due:
        return []
    cohorts = {stage: await cohort_of(db, stage, rules) for stage in sorted({e.stage for e in due})}
    rates = await _rates(db, [e.video_id for e in due])
    now, verdicts = clock.utcnow(), []
    for entry in due:
        verdict = judge(entry.video_id, entry.stage, rates[entry.video_id], cohorts[entry.stage], rules)
        still = update(PoolEntry).where(PoolEntry.video_id == entry.video_id, PoolEntry.stage == entry.stage,
                                        PoolEntry.status == TESTING)
        if verdict.promoted:
            nxt = min(entry.stage + 1, TOP_STAGE)
            values: dict[str, object] = dict(stage=nxt, budget=rules.budget(nxt), stage_impressions=0,
                                             stage_entered_at=now, evaluated_at=now)
        else:
            values = dict(status=SETTLED, evaluated_at=now)
        if getattr(await db.execute(still.values(**values)), "rowcount", 0):
            verdicts.append(verdict)
    return verdicts


async def counts_by_stage(db: AsyncSession) -> dict[tuple[int, str], int]:
    """How many videos are at each (stage, status): for operators."""
    rows = await db.execute(select(PoolEntry.stage, PoolEntry.status, func.count())
                            .group_by(PoolEntry.stage, PoolEntry.status))
    return {(stage, status): int(n) for stage, status, n in rows.all()}
