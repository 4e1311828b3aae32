"""Training the recommender on the app's own log (`shua feed train`): the viewing events, the
likes, the follows and the videos' hashtags become `training.train()`'s input, and the model it
returns replaces the one serving reads, atomically.

How what people did becomes a weight (`training.py` explains how weights are used):

    watch      the longest view's watch ratio (1.0 = watched once through; replays add up, capped)
    complete   +0.5 on top of the ratio
    like       +2 (and the pair is marked liked)
    skip       left within a few seconds without a like: seen, not liked (weight 0)
    not_interested  −1: a negative that beats any positive, never recommended again

A video's categories for training and for the ranker's category affinity are its first three
hashtags, lower-cased; the model keeps their names (`meta["categories"]`) so serving maps a
video's hashtags to the same numbers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock
from shua.core.db import Database
from shua.feed import events
from shua.feed.model import FeedModel
from shua.feed.training import Catalogue, Interactions, TrainParams, train
from shua.media import videos
from shua.social import engagement, graph

LIKE_WEIGHT, COMPLETE_BONUS, NOT_INTERESTED_WEIGHT, MAX_RATIO = 2.0, 0.5, -1.0, 4.0
CATEGORIES_PER_VIDEO = 3


def model_folder(var_dir: Path) -> Path:
    return var_dir / "feed" / "model"


def categories_of(hashtags: list[str]) -> list[str]:
    return [tag.lower() for tag in hashtags[:CATEGORIES_PER_VIDEO]]


@dataclass(frozen=True)
class TrainingData:
    interactions: Interactions
    catalogue: Catalogue
    follows: dict[int, set[int]]


async def gather(db: AsyncSession, *, days: float) -> TrainingData | None:
    """The last `days` of the log as the trainer's input (None when there is nothing yet)."""
    since = clock.utcnow() - timedelta(days=days)
    rows = await events.training_interactions(db, since)
    pairs: dict[tuple[int, int], list[float]] = {}
    for row in rows:
        if row.not_interested:
            weight = NOT_INTERESTED_WEIGHT
        elif row.skipped and row.watch_ratio < 0.5:
            weight = 0.0
        else:
            weight = min(MAX_RATIO, row.watch_ratio) + (COMPLETE_BONUS if row.completed else 0.0)
        pairs[(row.user_id, row.video_id)] = [weight, row.last_at.timestamp(), 0.0]
    users = sorted({u for u, _ in pairs})
    for user_id, video_id, liked_at in await engagement.likes_by(db, user_ids=users, since=since):
        entry = pairs.setdefault((user_id, video_id), [0.0, liked_at.timestamp(), 0.0])
        if entry[0] >= 0:  # "not interested" stands even over an old like
            entry[0] += LIKE_WEIGHT
        entry[1], entry[2] = max(entry[1], liked_at.timestamp()), 1.0
    if not pairs:
        return None
    keys = list(pairs)
    values = np.array([pairs[k] for k in keys], np.float64)
    interactions = Interactions(user=np.array([u for u, _ in keys]), item=np.array([v for _, v in keys]),
                                weight=values[:, 0].astype(np.float32), timestamp=values[:, 1],
                                liked=values[:, 2] > 0)
    rows_ = await videos.catalogue(db, video_ids=sorted({v for _, v in keys}))
    catalogue = Catalogue.build(
        [r.video_id for r in rows_], [categories_of(r.hashtags) for r in rows_],
        created=[r.created_at.timestamp() for r in rows_],
        duration=[(r.duration_ms or 0) / 1000 or np.nan for r in rows_],
        creator=[r.owner_id for r in rows_])
    follows = await graph.follow_map(db, sorted({u for u, _ in keys}))
    return TrainingData(interactions=interactions, catalogue=catalogue, follows=follows)


# The ranker learns from what each viewer did *next*; with fewer viewers than this its few
# hundred examples teach noise (a demo-sized log made it prefer the most prolific creator over
# the viewer's taste), and serving ranks by the embeddings instead.
RANKER_MIN_USERS = 300


def fit(data: TrainingData, *, dim: int = 32, params: TrainParams | None = None) -> FeedModel:
    """Train, and record what serving needs to speak the model's language."""
    params = params or TrainParams(ranker_min_users=RANKER_MIN_USERS)
    model = train(data.interactions, dim=dim, catalogue=data.catalogue, follows=data.follows, params=params)
    model.meta["categories"] = list(data.catalogue.category_names)
    model.meta["weights"] = {"like": LIKE_WEIGHT, "complete_bonus": COMPLETE_BONUS,
                             "not_interested": NOT_INTERESTED_WEIGHT, "max_ratio": MAX_RATIO}
    return model


async def retrain(database: Database, var_dir: Path, *, days: float = 90.0, dim: int = 32,
                  progress: Callable[[str], None] | None = None) -> FeedModel | None:
    """Gather, train and save; None when the log is still empty."""
    say = progress or (lambda _: None)
    say("reading the event log")
    async with database.transaction(write=False) as db:
        data = await gather(db, days=days)
    if data is None:
        return None
    say(f"training on {len(data.interactions):,} interactions")
    model = await asyncio.to_thread(fit, data, dim=dim)
    say("saving the model")
    await asyncio.to_thread(model.save, model_folder(var_dir))
    return model
