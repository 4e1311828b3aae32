"""Scoring For You's candidates: the learned ranker when the model has one (the same
`features.feature_matrix` training used, fed with what serving knows right now), else a
heuristic — each source's own score, weighted, nudged by the video's smoothed completion and
like rates. Either way the mixer then places the page.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from shua.core.ids import id_timestamp_ms
from shua.feed import features
from shua.feed.events import FeedStats
from shua.feed.learning import categories_of
from shua.feed.model import FeedModel
from shua.media.models import Video
from shua.social.engagement import Stats

# Our source names → the feature's source vocabulary (features.SOURCES, by index).
SOURCE_FEATURE = {"personal": "embedding", "similar": "similar", "trending": "trending", "fresh": "new",
                  "pool": "new", "following": "followed", "interest": "category", "category": "category",
                  "again": "other"}
SOURCE_WEIGHTS = {"following": 1.0, "personal": 1.1, "similar": 1.2, "trending": 0.9, "pool": 0.8, "fresh": 0.6,
                  "interest": 1.0, "category": 1.0, "again": 0.0}


@dataclass(frozen=True)
class Scored:
    video: Video
    source: str
    base: float  # the source's own score, 0..1


def _ranker(model: FeedModel) -> Any | None:
    cached = model.meta.get("_booster")
    if cached is None and model.ranker_text:
        import lightgbm

        cached = lightgbm.Booster(model_str=model.ranker_text)
        model.meta["_booster"] = cached
    return cached


AFFINITY_WEIGHT = 2.0
TASTE_WEIGHT = 1.5  # topic share + creator share among the latest positives (0..2): as strong as a close embedding


def heuristic(items: list[Scored], feed_stats: dict[int, FeedStats], stats: dict[int, Stats],
              affinity: dict[int, float] | None = None, taste: dict[int, float] | None = None) -> list[float]:
    """Without a ranker: the source's score, weighted, times how well the video holds viewers,
    plus — when the model knows the viewer — how close the video is to their taste (the
    embedding dot product), whichever source proposed it, plus how much its topic and creator
    are like what the viewer just enjoyed (`taste`, online: a like counts on the next page)."""
    scores = []
    for item in items:
        seen = feed_stats.get(item.video.id)
        liked = stats.get(item.video.id)
        completion = seen.completion_rate() if seen else 0.3
        impressions = seen.impressions if seen else 0
        like_rate = ((liked.likes if liked else 0) + 0.05 * 20) / (impressions + 20)
        score = SOURCE_WEIGHTS.get(item.source, 0.5) * item.base * (0.5 + completion + 2 * like_rate)
        if affinity:
            score += AFFINITY_WEIGHT * max(0.0, affinity.get(item.video.id, 0.0))
        if taste:
            score += TASTE_WEIGHT * taste.get(item.video.id, 0.0)
        scores.append(score)
    return scores


def learned(model: FeedModel, *, viewer_vector: npt.NDArray[np.float32] | None,
            recent: list[npt.NDArray[np.float32]], recent_categories: list[list[str]], interactions: int,
            items: list[Scored], feed_stats: dict[int, FeedStats], stats: dict[int, Stats],
            followed: set[int]) -> list[float] | None:
    """The ranker's scores for the candidates (None when the model has no ranker)."""
    booster = _ranker(model)
    if booster is None or not items:
        return None
    names = {name: i for i, name in enumerate(model.meta.get("categories", []))}
    dim = model.dim
    share = None
    if names and recent_categories:
        counts = np.zeros(len(names), np.float32)
        for labels in recent_categories:
            for label in labels:
                if label in names:
                    counts[names[label]] += 1
        share = counts / counts.sum() if counts.sum() else None
    vectors = np.zeros((len(items), dim), np.float32)
    cats = np.full((len(items), features_width := 3), -1, np.int64)
    now_ms = time.time() * 1000
    cols: dict[str, list[float]] = {k: [] for k in ("inter", "age", "plays", "comp", "views", "likes", "dur")}
    source = np.zeros(len(items), np.int64)
    for i, item in enumerate(items):
        row = model.item_row(item.video.id)
        if row is not None:
            vectors[i] = model.item_vectors[row]
        for j, cat in enumerate(categories_of(item.video.hashtags)[:features_width]):
            cats[i, j] = names.get(cat, -1)
        seen = feed_stats.get(item.video.id)
        liked = stats.get(item.video.id)
        plays = float(seen.plays) if seen else 0.0
        cols["inter"].append(plays + (liked.likes if liked else 0))
        cols["age"].append(max(0.0, (now_ms - id_timestamp_ms(item.video.id)) / 1000))
        cols["plays"].append(plays)
        cols["comp"].append(float(seen.completes) if seen else 0.0)
        cols["views"].append(float(seen.impressions) if seen else 0.0)
        cols["likes"].append(float(liked.likes) if liked else 0.0)
        cols["dur"].append((item.video.duration_ms or 0) / 1000 or math.nan)
        source[i] = features.source_index(SOURCE_FEATURE.get(item.source, "other"))
    viewer = features.Viewer(vector=viewer_vector, recent=np.array(recent, np.float32).reshape(-1, dim),
                             category_share=share, interactions=interactions)
    candidates = features.Candidates(
        vectors=vectors, source=source, interactions=np.array(cols["inter"], np.float32),
        # The viewing counters have no time window yet: the all-time count stands in for "recent".
        recent_interactions=np.array(cols["inter"], np.float32), age_seconds=np.array(cols["age"], np.float32),
        plays=np.array(cols["plays"], np.float32), completions=np.array(cols["comp"], np.float32),
        views=np.array(cols["views"], np.float32), likes=np.array(cols["likes"], np.float32), categories=cats,
        followed=np.array([1.0 if item.video.owner_id in followed else 0.0 for item in items], np.float32),
        duration=np.array(cols["dur"], np.float32))
    matrix = features.feature_matrix(viewer, candidates)
    return [float(s) for s in booster.predict(matrix, num_threads=1)]
