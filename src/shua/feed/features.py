"""The ranker's features: one pure function turns what serving knows about a viewer and a page of
candidate videos into the matrix the LightGBM ranker scores. Training (`feed/training.py`, over
the event log or an offline dataset) and serving call the same function, so a feature can never
mean one thing when learned and another when used.

Every input is something the serving path can compute online: the model's vectors, the
video's counters, its categories and age, the viewer's recent positives and follows. A value
that is not known is NaN (LightGBM learns what missing means) — never a made-up default.

The features, in order (the ranker's columns; `FeedModel.meta["features"]` records them):

    score              viewer vector · video vector (the stored unit vectors; NaN for a cold viewer)
    recent_sim         mean cosine between the video's and the viewer's latest positives' directions
                       (`directions`: the vectors without their last, slack coordinate; NaN if none)
    popularity         log(1 + interactions with the video so far)
    trending           log(1 + interactions in the last `TRENDING_DAYS` days)
    age_days           days since the video was published (or first seen); NaN when unknown
    completion_rate    smoothed share of plays watched to the end; NaN when plays are not known
    like_rate          smoothed share of views that liked it; NaN when likes are not known
    category_affinity  the viewer's share of positives in the video's best-matching category
    followed           1 if the viewer follows the creator, 0 if not, NaN when unknown
    source             which candidate source proposed it (index into SOURCES, categorical)
    duration           video length in seconds; NaN when unknown
    user_activity      log(1 + the viewer's interactions)

Rates are smoothed towards the catalogue-wide rate with `PSEUDO_COUNT` virtual views, so a video
with 2 views and 2 likes does not outrank one with 10,000 views and 3,000 likes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FEATURES: tuple[str, ...] = (
    "score", "recent_sim", "popularity", "trending", "age_days", "completion_rate", "like_rate",
    "category_affinity", "followed", "source", "duration", "user_activity",
)
# Candidate sources, by stable index (append only: a trained ranker knows them by number).
SOURCES: tuple[str, ...] = ("embedding", "similar", "trending", "category", "new", "followed", "friends", "other")
CATEGORICAL: tuple[str, ...] = ("source",)
TRENDING_DAYS = 7.0
PSEUDO_COUNT = 20.0
DAY = 86_400.0

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


def source_index(name: str) -> int:
    return SOURCES.index(name)


@dataclass(frozen=True)
class Viewer:
    """What serving knows about the person asking for a page."""

    vector: Floats | None  # [dim] unit vector, None for a viewer the model has not seen
    recent: Floats  # [r, dim] vectors of their latest positives, newest first (r may be 0)
    category_share: Floats | None  # [n_categories] share of their positives per category
    interactions: int


@dataclass(frozen=True)
class Candidates:
    """What serving knows about each candidate video (one entry per candidate, same order)."""

    vectors: Floats  # [n, dim] the model's unit vectors (zeros for a video it has not seen)
    source: Ints  # [n] index into SOURCES
    interactions: Floats  # [n] all interactions so far
    recent_interactions: Floats  # [n] interactions in the last TRENDING_DAYS days
    age_seconds: Floats  # [n] NaN when unknown
    plays: Floats  # [n] plays with a known watch ratio (NaN: not tracked)
    completions: Floats  # [n] of those, watched to the end
    views: Floats  # [n] views that could have liked (NaN: likes not tracked)
    likes: Floats  # [n]
    categories: Ints  # [n, c] category indexes, padded with -1
    followed: Floats  # [n] 1, 0 or NaN
    duration: Floats  # [n] seconds, NaN when unknown
    completion_prior: float = 0.3
    like_prior: float = 0.05


def _smoothed(hits: Floats, total: Floats, prior: float) -> Floats:
    with np.errstate(invalid="ignore"):
        rate = (hits + prior * PSEUDO_COUNT) / (total + PSEUDO_COUNT)
    return np.where(np.isnan(total), np.nan, rate).astype(np.float32)


def _affinity(share: Floats | None, categories: Ints) -> Floats:
    n = len(categories)
    if share is None or categories.size == 0:
        return np.full(n, np.nan, np.float32)
    valid = (categories >= 0) & (categories < len(share))
    values = np.where(valid, share[np.clip(categories, 0, max(len(share) - 1, 0))], -np.inf)
    best = values.max(axis=1) if values.shape[1] else np.full(n, -np.inf)
    return np.where(np.isfinite(best), best, np.nan).astype(np.float32)


def directions(vectors: Floats) -> Floats:
    """Item-to-item similarity space: a model's vectors keep the ALS norm in their last (slack)
    coordinate (see `training.as_unit_vectors`); without it, the cosine of two items is the
    cosine of their ALS factors — what "similar videos" should use too."""
    return vectors[..., :-1] if vectors.shape[-1] > 1 else vectors


def _recent_similarity(recent: Floats, vectors: Floats) -> Floats:
    recent, vectors = directions(recent), directions(vectors)
    lengths = np.linalg.norm(recent, axis=1)
    if not (lengths > 0).any():
        return np.full(len(vectors), np.nan, np.float32)
    liked = recent[lengths > 0] / lengths[lengths > 0, None]
    norms = np.linalg.norm(vectors, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = (vectors @ liked.T).mean(axis=1) / norms
    return np.where(norms > 0, sim, np.nan).astype(np.float32)


def feature_matrix(viewer: Viewer, candidates: Candidates) -> Floats:
    """The ranker's input for one viewer and their candidates: float32 [n, len(FEATURES)]."""
    n = len(candidates.source)
    vectors = candidates.vectors
    score = (vectors @ viewer.vector).astype(np.float32) if viewer.vector is not None else np.full(n, np.nan)
    columns = {
        "score": score,
        "recent_sim": _recent_similarity(viewer.recent, vectors),
        "popularity": np.log1p(candidates.interactions),
        "trending": np.log1p(candidates.recent_interactions),
        "age_days": candidates.age_seconds / DAY,
        "completion_rate": _smoothed(candidates.completions, candidates.plays, candidates.completion_prior),
        "like_rate": _smoothed(candidates.likes, candidates.views, candidates.like_prior),
        "category_affinity": _affinity(viewer.category_share, candidates.categories),
        "followed": candidates.followed,
        "source": candidates.source.astype(np.float32),
        "duration": candidates.duration,
        "user_activity": np.full(n, np.log1p(viewer.interactions), np.float32),
    }
    return np.column_stack([np.asarray(columns[name], np.float32).reshape(n) for name in FEATURES])
