"""Serving, replayed offline: for each user, candidates from the embedding (nearest unseen items
to the user's vector) and from trending (as of the user's moment), the features serving would
compute, and the ranker's order. Training uses it to make the ranker's examples; evaluation
uses it to rank exactly the way the app will.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shua.feed import features
from shua.feed.offline.history import History
from shua.feed.training import (
    Catalogue,
    Floats,
    Index,
    Interactions,
    Ints,
    TrainParams,
    embed,
    grades,
    pair_weights,
    split_by_time,
)

EMBEDDING, TRENDING = features.source_index("embedding"), features.source_index("trending")
BATCH = 256
HOUR = 3600.0


@dataclass
class Ranker:
    """A loaded LightGBM booster, or None to order candidates by embedding score."""

    booster: Any | None

    @classmethod
    def from_text(cls, text: str | None) -> Ranker:
        if text is None:
            return cls(None)
        import lightgbm

        return cls(lightgbm.Booster(model_str=text))

    def scores(self, matrix: Floats, threads: int) -> npt.NDArray[np.float64]:
        if self.booster is None:
            return np.nan_to_num(matrix[:, features.FEATURES.index("score")], nan=-np.inf).astype(np.float64)
        return np.asarray(self.booster.predict(matrix, num_threads=threads), np.float64)


@dataclass
class Slate:
    """One user's candidates (item rows), where each came from, and their feature rows."""

    user: int
    items: Ints
    sources: Ints
    matrix: Floats


def slates(history: History, user_vectors: Floats, item_vectors: Floats, users: Ints, *,
           n_embedding: int, n_trending: int) -> Iterator[Slate]:
    """Candidates and features for each user, in batches (users in the order given)."""
    trending_cache: dict[float, Ints] = {}
    for lo in range(0, len(users), BATCH):
        batch = users[lo:lo + BATCH]
        scores = user_vectors[batch] @ item_vectors.T
        seen = history.seen[batch]
        scores[seen.nonzero()] = -np.inf
        k = min(n_embedding, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k else np.zeros((len(batch), 0), np.int64)
        cold = ~np.any(user_vectors[batch], axis=1)
        for row, user in enumerate(batch):
            found = top[row][np.isfinite(scores[row, top[row]])] if not cold[row] else top[row][:0]
            found = found[np.argsort(-scores[row, found], kind="stable")]
            # Trending lists are shared per hour (the start of the user's hour: never later than them).
            hour = float(np.floor(history.now[user] / HOUR) * HOUR)
            if hour not in trending_cache:
                if len(trending_cache) > 64:
                    trending_cache.clear()
                trending_cache[hour] = history.trending_order(hour)
            order = trending_cache[hour]
            fresh = order[~history.seen_row(int(user))[order]]
            fresh = fresh[~np.isin(fresh, found)][:n_trending]
            items = np.concatenate([found, fresh]).astype(np.int64)
            sources = np.concatenate([np.full(len(found), EMBEDDING), np.full(len(fresh), TRENDING)]).astype(np.int64)
            viewer = history.viewer(int(user), user_vectors, item_vectors)
            matrix = features.feature_matrix(viewer, history.candidates(int(user), items, sources, item_vectors))
            yield Slate(user=int(user), items=items, sources=sources, matrix=matrix)


def recommend(history: History, user_vectors: Floats, item_vectors: Floats, ranker: Ranker, users: Ints, *,
              k: int, n_embedding: int, n_trending: int, threads: int = 2) -> Ints:
    """The top k item rows per user (-1 where fewer candidates), ranked as serving would."""
    out = np.full((len(users), k), -1, np.int64)
    pending: list[tuple[int, Slate]] = []

    def flush() -> None:
        if not pending:
            return
        scores = ranker.scores(np.vstack([s.matrix for _, s in pending]), threads)
        at = 0
        for row, slate in pending:
            mine = scores[at:at + len(slate.items)]
            at += len(slate.items)
            best = slate.items[np.argsort(-mine, kind="stable")[:k]]
            out[row, :len(best)] = best
        pending.clear()

    all_slates = slates(history, user_vectors, item_vectors, users, n_embedding=n_embedding, n_trending=n_trending)
    for row, slate in enumerate(all_slates):
        pending.append((row, slate))
        if len(pending) >= BATCH:
            flush()
    flush()
    return out


def fit_ranker(interactions: Interactions, index: Index, *, dim: int, params: TrainParams,
               catalogue: Catalogue | None = None, follows: Mapping[int, Set[int]] | None = None,
               ) -> tuple[str, dict[str, Any]] | None:
    """LambdaRank on serving's own candidates, labelled by what each user did next; None when
    too few users have a next to learn from."""
    import lightgbm

    _, earlier, later = split_by_time(interactions, params.label_fraction)
    if len(earlier) == 0:
        return None
    labels = pair_weights(later, index)
    strong = labels.multiply(labels >= max(params.min_positive, 1e-9))
    has_positive = np.flatnonzero(np.diff(sp.csr_matrix(strong).indptr) > 0)
    known = np.unique(index.user_rows(earlier.user))
    users = np.intersect1d(has_positive, known)
    if len(users) < params.ranker_min_users:
        return None
    if len(users) > params.ranker_users:
        users = np.sort(np.random.default_rng(params.seed).choice(users, params.ranker_users, replace=False))
    user_vectors, item_vectors = embed(earlier, index, dim, params, catalogue)
    history = History.build(earlier, index, catalogue=catalogue, follows=follows, min_positive=params.min_positive)
    matrices, label_rows, groups = [], [], []
    rng = np.random.default_rng(params.seed)
    for slate in slates(history, user_vectors, item_vectors, users,
                        n_embedding=params.candidates, n_trending=params.trending_candidates):
        grade = grades(np.asarray(labels[slate.user, slate.items].todense(), np.float64).ravel(),
                       params.min_positive)
        if grade.max(initial=0) == 0:
            continue
        # Most candidates are not watched next; a sample of them teaches as much, much faster.
        keep = (grade > 0) | (rng.random(len(grade)) < params.ranker_negatives)
        matrices.append(slate.matrix[keep])
        label_rows.append(grade[keep])
        groups.append(int(keep.sum()))
    if len(groups) < params.ranker_min_users:
        return None
    matrix, label = np.vstack(matrices), np.concatenate(label_rows)
    ranking = params.ranker_objective == "lambdarank"
    # Binary logloss learns "will they like it" from every positive grade (weighted by it);
    # LambdaRank learns the order of grades within each user's slate.
    dataset = lightgbm.Dataset(matrix, label=label if ranking else (label > 0).astype(np.int64),
                               weight=None if ranking else np.where(label > 0, label, 1).astype(np.float64),
                               group=groups if ranking else None, feature_name=list(features.FEATURES),
                               categorical_feature=list(features.CATEGORICAL), free_raw_data=True,
                               params={"verbosity": -1})
    config: dict[str, Any] = {
        "objective": params.ranker_objective, "num_leaves": params.ranker_leaves,
        "learning_rate": params.ranker_learning_rate, "min_data_in_leaf": 50, "feature_fraction": 0.9,
        "bagging_fraction": 0.8, "bagging_freq": 1, "seed": params.seed, "num_threads": params.threads,
        "deterministic": True, "force_row_wise": True, "verbosity": -1,
    }
    if ranking:
        config["lambdarank_truncation_level"] = 20
    booster = lightgbm.train(config, dataset, num_boost_round=params.ranker_rounds)
    gains = booster.feature_importance(importance_type="gain")
    info = {"groups": len(groups), "rows": int(len(label)), "positives": int((label > 0).sum()),
            "rounds": params.ranker_rounds,
            "importance": {name: round(float(g), 1) for name, g in zip(features.FEATURES, gains, strict=True)}}
    return booster.model_to_string(), info
