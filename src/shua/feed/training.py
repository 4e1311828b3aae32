"""Training the recommender: interactions in, a `FeedModel` (item and user vectors plus a learned
ranker) out. `shua feed train` calls `train()` with the app's watch events; `shua feed eval`
calls it with a public dataset; serving loads what it returns.

What `weight` means (one row per interaction; several rows for one user and item add up):

- `weight > 0` — a positive of that strength: a watch ratio (1.0 = watched once to the end), a
  like is a strong positive (the caller adds e.g. 2.0), a 4-5 star rating is 1.0. A pair whose
  summed weight stays below `min_positive` (default 1.0: not even one full watch) is a skip and
  counts as seen only — treating every short look as a positive teaches the model what people
  were shown, not what they liked.
- `weight == 0` — seen, no signal: excluded from that user's recommendations, not learned from.
- `weight < 0` — negative ("not interested", a low rating): if any row of a (user, item) pair is
  negative the pair is a negative, whatever else happened. ALS learns it as "preference 0 with
  high confidence" (implicit's negative-confidence convention) and the item is never shown again.

From the app's event log, one row per event is enough: a play's watch ratio (watch_ms over the
duration, replays included), like +2.0, share or favourite +1.0, not_interested −1.0, an
impression with no play 0.0 (so it is not served again). Set `watch_ratio` and `liked` too:
they feed the completion and like rates. Timestamps are unix seconds.

The embeddings are implicit-feedback ALS (Hu, Koren & Volinsky 2008) on the user × item matrix
of confidences `1 + alpha·|w|`, with two options tuned on validation: older interactions of
each user can count less (`half_life_days`), and the items' categories enter as pseudo-users
(`side_weight`), which pulls sparse and new items of one category together. Vectors are stored
unit-length (the `FeedModel` contract) by the inner-product → cosine reduction
(`as_unit_vectors`), so serving's cosine top-k is exactly ALS's ranking.

The ranker is a LightGBM LambdaRank model over `features.FEATURES`. Its labels come from the
future: the last `label_fraction` of each user's interactions (by time) are held back, vectors
are fitted on the rest, candidates are generated as serving would generate them, and each
candidate's label is the grade of what the user then did with it. The final vectors are then
refitted on everything.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence, Set
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shua.feed import features
from shua.feed.model import FeedModel

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float32]
Times = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
# Label grades for the ranker: aggregated weight ≤ 0 → 0, > 0 → 1, ≥ 1 → 2, ≥ 2 → 3, ≥ 4 → 4
# (and 0 below `min_positive`).
GRADES = (1e-9, 1.0, 2.0, 4.0)
MAX_WEIGHT = 10.0  # rewatching a clip 50 times is not 50× the evidence


@dataclass(frozen=True)
class Interactions:
    """Columns of equal length, one row per interaction."""

    user: Ints
    item: Ints
    weight: Floats
    timestamp: Times  # unix seconds
    watch_ratio: Floats | None = None  # NaN where unknown
    liked: Bools | None = None

    def __post_init__(self) -> None:
        cast = {"user": np.int64, "item": np.int64, "weight": np.float32, "timestamp": np.float64,
                "watch_ratio": np.float32, "liked": np.bool_}
        for name, dtype in cast.items():
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.ascontiguousarray(value, dtype=dtype).reshape(-1))
        n = len(self.user)
        if any(len(c) != n for c in (self.item, self.weight, self.timestamp, self.watch_ratio, self.liked)
               if c is not None):
            raise ValueError("interaction columns differ in length")
        if not np.isfinite(self.timestamp).all() or not np.isfinite(self.weight).all():
            raise ValueError("timestamps and weights must be finite")

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, rows: npt.NDArray[Any]) -> Interactions:
        def pick(c: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
            return None if c is None else c[rows]

        return Interactions(self.user[rows], self.item[rows], self.weight[rows], self.timestamp[rows],
                            pick(self.watch_ratio), pick(self.liked))


@dataclass(frozen=True)
class Catalogue:
    """Side information about items: categories (dense indexes, -1 padded), publish time,
    duration and creator, each aligned on `item`. Any of them may be missing."""

    item: Ints
    categories: Ints  # [m, c]
    n_categories: int
    created: Times | None = None
    duration: Floats | None = None  # seconds
    creator: Ints | None = None
    category_names: tuple[str, ...] = ()

    @classmethod
    def build(cls, item: Sequence[int] | Ints, categories: Sequence[Sequence[Hashable]], *,
              created: Sequence[float] | Times | None = None, duration: Sequence[float] | Floats | None = None,
              creator: Sequence[int] | Ints | None = None) -> Catalogue:
        """From raw category labels per item (any hashable: ids or names), numbered densely."""
        codes: dict[Hashable, int] = {}
        width = max((len(c) for c in categories), default=0)
        table = np.full((len(categories), max(width, 1)), -1, np.int64)
        for row, labels in enumerate(categories):
            for col, label in enumerate(labels):
                table[row, col] = codes.setdefault(label, len(codes))
        return cls(item=np.asarray(item, np.int64), categories=table, n_categories=len(codes),
                   created=None if created is None else np.asarray(created, np.float64),
                   duration=None if duration is None else np.asarray(duration, np.float32),
                   creator=None if creator is None else np.asarray(creator, np.int64),
                   category_names=tuple(str(c) for c in codes))

    def align(self, item_ids: Ints) -> Catalogue:
        """Rows for `item_ids` in that order; items it does not know get nothing (NaN, -1)."""
        order = np.argsort(self.item, kind="stable")
        sorted_items = self.item[order]
        pos = np.clip(np.searchsorted(sorted_items, item_ids), 0, max(len(order) - 1, 0))
        found = sorted_items[pos] == item_ids if len(order) else np.zeros(len(item_ids), bool)
        rows = order[pos] if len(order) else np.zeros(len(item_ids), np.int64)

        def take(col: npt.NDArray[Any] | None, missing: float) -> npt.NDArray[Any] | None:
            if col is None:
                return None
            out = col[rows] if len(order) else np.full(len(item_ids), missing, col.dtype)
            out[~found] = missing
            return out

        cats = self.categories[rows] if len(order) else np.full((len(item_ids), 1), -1, np.int64)
        cats[~found] = -1
        return Catalogue(item=np.asarray(item_ids, np.int64), categories=cats, n_categories=self.n_categories,
                         created=take(self.created, np.nan), duration=take(self.duration, np.nan),
                         creator=take(self.creator, -1), category_names=self.category_names)


@dataclass(frozen=True)
class TrainParams:
    """Everything `train()` can be told besides the dimension; defaults are the values chosen
    on ml-100k's validation split (BENCHMARKS.md). `regularization` scales with the data: retune
    it with `shua feed eval` on a dump of the app's own log when that grows."""

    min_positive: float = 1.0
    regularization: float = 30.0
    alpha: float = 5.0
    iterations: int = 15
    half_life_days: float | None = None
    side_weight: float = 1.0
    ranker: bool = True
    ranker_min_users: int = 30
    ranker_users: int = 5_000
    ranker_rounds: int = 150
    ranker_leaves: int = 31
    ranker_learning_rate: float = 0.05
    ranker_objective: str = "binary"  # or "lambdarank" (graded labels); chosen on validation
    ranker_negatives: float = 0.3  # share of unlabelled candidates kept as training rows
    candidates: int = 100
    trending_candidates: int = 20
    label_fraction: float = 0.2
    threads: int = 2
    seed: int = 0


@dataclass
class Index:
    """Dense numbering of the users and items a model knows (sorted ids → row numbers)."""

    users: Ints
    items: Ints
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, interactions: Interactions) -> Index:
        return cls(users=np.unique(interactions.user), items=np.unique(interactions.item))

    def user_rows(self, ids: Ints) -> Ints:
        return np.searchsorted(self.users, ids).astype(np.int64)

    def item_rows(self, ids: Ints) -> Ints:
        return np.searchsorted(self.items, ids).astype(np.int64)


def split_by_time(interactions: Interactions, fraction: float = 0.2) -> tuple[Bools, Interactions, Interactions]:
    """Per user, sorted by (timestamp, item), the last max(1, round(fraction·n)) interactions are
    held out (users with a single interaction keep it). Returns (held-out mask, earlier, later):
    for every user, everything earlier happened no later than anything held out."""
    order = np.lexsort((interactions.item, interactions.timestamp, interactions.user))
    users = interactions.user[order]
    _, starts, inverse, counts = np.unique(users, return_index=True, return_inverse=True, return_counts=True)
    rank = np.arange(len(order)) - starts[inverse]
    n = counts[inverse]
    held = np.where(n >= 2, np.maximum(1, np.round(fraction * n)), 0)
    mask = np.zeros(len(order), bool)
    mask[order] = rank >= n - held
    return mask, interactions.subset(~mask), interactions.subset(mask)


def pair_weights(interactions: Interactions, index: Index, *, half_life_days: float | None = None,
                 min_positive: float = 0.0) -> sp.csr_matrix:
    """The learning signal, one value per (user, item) pair: the sum of positive weights (each
    decayed by its age behind the user's latest interaction, capped; below `min_positive`
    before decay: dropped), or the most negative weight if there is any. Seen-only pairs are not
    stored: see `seen`."""
    weight = interactions.weight.astype(np.float64)
    rows, cols = index.user_rows(interactions.user), index.item_rows(interactions.item)
    shape = (len(index.users), len(index.items))
    decay = np.ones(len(weight))
    if half_life_days:
        last = np.full(len(index.users), -np.inf)
        np.maximum.at(last, rows, interactions.timestamp)
        age_days = (last[rows] - interactions.timestamp) / features.DAY
        decay = 0.5 ** (age_days / half_life_days)
    positive = sp.csr_matrix((np.clip(weight, 0, None), (rows, cols)), shape=shape)
    if min_positive > 0:
        positive.data[positive.data < min_positive] = 0.0
        positive.eliminate_zeros()
    if half_life_days:
        decayed = sp.csr_matrix((np.clip(weight, 0, None) * decay, (rows, cols)), shape=shape)
        positive = sp.csr_matrix(decayed.multiply(positive > 0))
    negative = sp.csr_matrix((np.clip(weight, None, 0), (rows, cols)), shape=shape)
    positive.data = np.minimum(positive.data, MAX_WEIGHT)
    negative.data = np.maximum(negative.data, -MAX_WEIGHT)
    negative.eliminate_zeros()
    vetoed = negative.copy()
    vetoed.data = np.ones_like(vetoed.data)
    combined = sp.csr_matrix(positive - positive.multiply(vetoed) + negative)
    combined.eliminate_zeros()
    return combined


def seen(interactions: Interactions, index: Index) -> sp.csr_matrix:
    """Every (user, item) pair with any interaction, whatever its weight: never recommended again."""
    rows, cols = index.user_rows(interactions.user), index.item_rows(interactions.item)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(index.users), len(index.items)))
    matrix.data[:] = 1.0
    return matrix


def fit_als(weights: sp.csr_matrix, factors: int, params: TrainParams,
            side: sp.csr_matrix | None = None) -> tuple[Floats, Floats]:
    """ALS factors (users, items) on confidences 1 + alpha·|w|, negatives as negative confidence."""
    from implicit.cpu.als import AlternatingLeastSquares

    matrix = weights.astype(np.float64)
    matrix.data = np.sign(matrix.data) * (1.0 + params.alpha * np.abs(matrix.data))
    if side is not None and side.nnz:
        matrix = sp.vstack([matrix, side]).tocsr()
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=factors, regularization=params.regularization, alpha=1.0,
                                        iterations=params.iterations, num_threads=params.threads,
                                        random_state=params.seed, calculate_training_loss=False)
        model.fit(matrix.astype(np.float32), show_progress=False)
    # A row or column with no signal keeps its random start: make it zero (unknown), not noise.
    users = np.asarray(model.user_factors, np.float32).copy()
    items = np.asarray(model.item_factors, np.float32).copy()
    users[np.diff(matrix.indptr) == 0] = 0.0
    items[np.bincount(matrix.indices, minlength=matrix.shape[1]) == 0] = 0.0
    return users[: weights.shape[0]], items


def category_pseudo_users(catalogue: Catalogue | None, n_items: int, strength: float) -> sp.csr_matrix | None:
    """One extra row per category 'liking' its items, so items of a category share a direction."""
    if catalogue is None or strength <= 0 or catalogue.n_categories == 0:
        return None
    rows, cols = np.nonzero(catalogue.categories >= 0)
    cats = catalogue.categories[rows, cols]
    values = np.full(len(rows), 1.0 + strength)
    return sp.csr_matrix((values, (cats, rows)), shape=(catalogue.n_categories, n_items))


def unit(vectors: Floats) -> Floats:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: Floats = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0).astype(np.float32)
    return out


def as_unit_vectors(users: Floats, items: Floats) -> tuple[Floats, Floats]:
    """Unit vectors whose dot product ranks items exactly as the raw ALS dot product does
    (Bachrach et al. 2014, the inner-product → cosine reduction): items x ↦ [x/M, √(1 − |x|²/M²)]
    with M the largest item norm, users q ↦ [q/|q|, 0]. A popular item's longer ALS vector
    still counts, yet every stored vector is unit length; the last coordinate is the slack."""
    norms = np.linalg.norm(items, axis=1)
    top = float(norms.max()) if len(norms) and norms.max() > 0 else 1.0
    slack = np.sqrt(np.clip(1.0 - (norms / top) ** 2, 0.0, 1.0))
    slack[norms == 0] = 0.0  # an item with no signal stays a zero vector: unknown, not average
    item_out = np.hstack([items / top, slack[:, None]]).astype(np.float32)
    user_out = np.hstack([unit(users), np.zeros((len(users), 1), np.float32)]).astype(np.float32)
    return user_out, item_out


def embed(interactions: Interactions, index: Index, dim: int, params: TrainParams,
          catalogue: Catalogue | None = None) -> tuple[Floats, Floats]:
    """Unit user and item vectors of `dim` (ALS with dim − 1 factors plus the slack) in `index` order."""
    weights = pair_weights(interactions, index, half_life_days=params.half_life_days,
                           min_positive=params.min_positive)
    aligned = catalogue.align(index.items) if catalogue is not None else None
    side = category_pseudo_users(aligned, len(index.items), params.side_weight)
    users, items = fit_als(weights, max(dim - 1, 1), params, side)
    return as_unit_vectors(users, items)


def grades(weight: npt.NDArray[np.float64], min_positive: float = 0.0) -> Ints:
    """Ranker labels from what a user did with an item: 0 for nothing, a skip or a negative."""
    grade = np.searchsorted(np.asarray(GRADES), weight, side="right").astype(np.int64)
    return np.where(weight >= max(min_positive, GRADES[0]), grade, 0)


def train(interactions: Interactions, *, dim: int = 64, catalogue: Catalogue | None = None,
          follows: Mapping[int, Set[int]] | None = None, params: TrainParams | None = None) -> FeedModel:
    """Learn item and user vectors and, with enough users, a ranker; deterministic for a seed."""
    from shua.feed.offline import rerank

    params = params or TrainParams()
    if len(interactions) == 0:
        raise ValueError("no interactions to train on")
    index = Index.of(interactions)
    ranker_text: str | None = None
    ranker_info: dict[str, Any] = {}
    with threadpool_limits(params.threads, "blas"):  # a 2-core box: never more BLAS threads than asked
        user_vectors, item_vectors = embed(interactions, index, dim, params, catalogue)
        if params.ranker:
            fitted = rerank.fit_ranker(interactions, index, dim=dim, params=params, catalogue=catalogue,
                                       follows=follows)
            if fitted is not None:
                ranker_text, ranker_info = fitted
    meta = {
        "features": list(features.FEATURES), "sources": list(features.SOURCES),
        "vectors": "unit length; the last coordinate is the slack that keeps ALS's ranking (users: 0), "
                   "leave it out for item-to-item similarity (features.directions)",
        "trending_days": features.TRENDING_DAYS, "params": {"dim": dim, **asdict(params)},
        "trained_on": {"interactions": len(interactions), "users": len(index.users), "items": len(index.items),
                       "from": _iso(interactions.timestamp.min()), "to": _iso(interactions.timestamp.max())},
        "ranker": ranker_info,
    }
    return FeedModel(item_ids=index.items, item_vectors=item_vectors, user_ids=index.users,
                     user_vectors=user_vectors, ranker_text=ranker_text, meta=meta)


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(math.floor(ts), UTC).isoformat()
