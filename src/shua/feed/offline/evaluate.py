"""`shua feed eval`: Shua's model against the baselines on a time-based split.

The split, per user, sorted by (timestamp, item): the last 20 % of their interactions are the
test set; the last 20 % of what remains is the validation set; the rest ("fit") is what every
method learns from for validation. Hyper-parameters are chosen on validation only (by
`selection`, NDCG at the middle K); each method is then refitted with its chosen values on
fit + validation and measured once on test. A user's training items are never ranked, and a
held-out item the user already had in training is not counted as relevant. Held-out items no
method has seen (new items) stay relevant: nobody can recommend them, which is honest.

"Shua" is `training.train()` ranked through `offline.rerank`: ALS vectors, candidates from the
embedding and trending, the LightGBM ranker over `features.FEATURES` — what the app serves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shua.feed.offline import baselines
from shua.feed.offline.datasets import Dataset
from shua.feed.offline.history import History
from shua.feed.offline.metrics import ndcg_at, recall_at
from shua.feed.offline.rerank import Ranker, recommend
from shua.feed.training import Bools, Floats, Index, Interactions, Ints, TrainParams, seen, split_by_time, train

HELD_OUT = 0.2
BATCH = 512
Progress = Callable[[str], None]
Params = dict[str, Any]


@dataclass
class Split:
    """What methods learn from, and whom and what they are measured on."""

    name: str
    train: Interactions
    index: Index
    seen: sp.csr_matrix
    positives: sp.csr_matrix  # binary, for the baselines
    users: Ints  # index rows of the evaluated users
    n_relevant: Ints
    relevant: sp.csr_matrix  # evaluated users × items
    gains: sp.csr_matrix
    ideal: Floats  # [users, kmax]
    held_out: int
    cache: dict[str, Any] = field(default_factory=dict)


def make_split(name: str, data: Interactions, held: Interactions, relevant: Bools, gain: Floats, *,
               positive_weight: float, kmax: int) -> Split:
    index = Index.of(data)
    train_seen = seen(data, index)
    rows, cols = index.user_rows(data.user), index.item_rows(data.item)
    pair = sp.csr_matrix((data.weight.astype(np.float64), (rows, cols)), shape=train_seen.shape)
    positives = sp.csr_matrix(pair > positive_weight, dtype=np.float32)
    # Held-out pairs: relevant if any row is, gain = the best row; drop what was seen in training.
    known = np.isin(held.user, index.users)
    h_user, h_item = held.user[known], held.item[known]
    h_rel, h_gain = relevant[known], gain[known].astype(np.float64)
    order = np.lexsort((h_item, h_user))
    h_user, h_item, h_rel, h_gain = h_user[order], h_item[order], h_rel[order], h_gain[order]
    starts = np.flatnonzero(np.r_[True, (np.diff(h_user) != 0) | (np.diff(h_item) != 0)]) if len(order) else order
    p_user, p_item = h_user[starts], h_item[starts]
    p_rel = np.logical_or.reduceat(h_rel, starts) if len(starts) else h_rel
    p_gain = np.maximum.reduceat(h_gain, starts) if len(starts) else h_gain
    u = index.user_rows(p_user)
    warm = np.isin(p_item, index.items)
    col = np.where(warm, np.searchsorted(index.items, p_item), -1)
    was_seen = np.zeros(len(u), bool)
    if warm.any():
        was_seen[warm] = np.asarray(train_seen[u[warm], col[warm]]).ravel() > 0
    u, col, p_rel, p_gain = u[~was_seen], col[~was_seen], p_rel[~was_seen], p_gain[~was_seen]
    users = np.unique(u[p_rel])
    n_relevant = np.bincount(np.searchsorted(users, u[p_rel]), minlength=len(users)).astype(np.int64)
    inside = np.isin(u, users)
    u, col, p_rel, p_gain = u[inside], col[inside], p_rel[inside], p_gain[inside]
    r = np.searchsorted(users, u)
    warm = col >= 0
    shape = (len(users), len(index.items))
    rel = sp.csr_matrix((np.ones(int((warm & p_rel).sum()), np.float32), (r[warm & p_rel], col[warm & p_rel])),
                        shape=shape)
    gains = sp.csr_matrix((p_gain[warm].astype(np.float32), (r[warm], col[warm])), shape=shape)
    ideal = np.zeros((len(users), kmax), np.float32)
    by_gain = np.lexsort((-p_gain, r))
    first = np.searchsorted(r[by_gain], np.arange(len(users)))
    rank = np.arange(len(by_gain)) - first[r[by_gain]]
    top = rank < kmax
    ideal[r[by_gain][top], rank[top]] = p_gain[by_gain][top]
    return Split(name=name, train=data, index=index, seen=train_seen, positives=positives, users=users,
                 n_relevant=n_relevant, relevant=rel, gains=gains, ideal=ideal, held_out=len(held))


def measure(split: Split, ranked: Ints, ks: Sequence[int]) -> dict[str, float]:
    """Mean recall@k and NDCG@k over the split's users for their ranked item rows (-1 = none)."""
    valid = ranked >= 0
    safe = np.where(valid, ranked, 0)
    hits = np.zeros(ranked.shape, bool)
    gains = np.zeros(ranked.shape, np.float64)
    for lo in range(0, len(split.users), BATCH):
        part = slice(lo, lo + BATCH)
        rel = split.relevant[part].toarray()
        gain = split.gains[part].toarray()
        hits[part] = np.take_along_axis(rel, safe[part], axis=1) > 0
        gains[part] = np.take_along_axis(gain, safe[part], axis=1)
    hits &= valid
    gains *= valid
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = float(recall_at(hits, split.n_relevant, k).mean()) if len(split.users) else 0.0
    for k in ks:
        out[f"ndcg@{k}"] = float(ndcg_at(gains, split.ideal.astype(np.float64), k).mean()) if len(split.users) else 0.0
    return out


def top_k(split: Split, model: baselines.Baseline, k: int) -> Ints:
    """The k best unseen item rows per evaluated user (-1 past the last finite score)."""
    out = np.full((len(split.users), k), -1, np.int64)
    k = min(k, len(split.index.items))
    for lo in range(0, len(split.users), BATCH):
        users = split.users[lo:lo + BATCH]
        scores = model.scores(users)
        scores[split.seen[users].nonzero()] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        part = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-part, axis=1, kind="stable")
        ranked = np.take_along_axis(top, order, axis=1)
        ranked[~np.isfinite(np.take_along_axis(part, order, axis=1))] = -1
        out[lo:lo + len(users), :k] = ranked
    return out


# -- the methods -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Method:
    name: str
    grid: tuple[Params, ...]  # tried on validation with --tune
    chosen: Params  # the values chosen on ml-100k's validation split (BENCHMARKS.md)
    rank: Callable[[Split, Params, Dataset, int, int], Ints]  # (split, params, dataset, k, threads)
    baseline: bool = True


def _baseline(make: Callable[..., baselines.Baseline]) -> Callable[[Split, Params, Dataset, int, int], Ints]:
    def rank(split: Split, params: Params, dataset: Dataset, k: int, threads: int) -> Ints:
        model = make(**params, threads=threads)
        if isinstance(model, baselines.EASE):
            model.gram = split.cache.setdefault("gram", baselines.EASE.gram_of(split.positives))
        model.fit(split.positives)
        return top_k(split, model, k)

    return rank


def shua_rank(split: Split, params: Params, dataset: Dataset, k: int, threads: int) -> Ints:
    values = dict(params)
    dim = int(values.pop("dim", 64))
    config = replace(TrainParams(), **values, threads=threads)
    model = train(split.train, dim=dim, catalogue=dataset.catalogue, params=config)
    history = History.build(split.train, split.index, catalogue=dataset.catalogue, min_positive=config.min_positive)
    return recommend(history, np.asarray(model.user_vectors), np.asarray(model.item_vectors),
                     Ranker.from_text(model.ranker_text), split.users, k=k, n_embedding=config.candidates,
                     n_trending=config.trending_candidates, threads=threads)


def _grid(**axes: Sequence[Any]) -> tuple[Params, ...]:
    combos: list[Params] = [{}]
    for key, values in axes.items():
        combos = [{**c, key: v} for c in combos for v in values]
    return tuple(combos)


METHODS: tuple[Method, ...] = (
    Method("most popular", ({},), {}, _baseline(baselines.MostPopular)),
    Method("ItemKNN", _grid(neighbours=(10, 20, 50, 100, 200, 500, 1000)), {"neighbours": 200},
           _baseline(baselines.ItemKNN)),
    Method("ALS", _grid(factors=(32, 64, 128), regularization=(0.1, 1.0, 10.0, 30.0, 100.0), alpha=(2.0, 5.0, 20.0)),
           {"factors": 128, "regularization": 30.0, "alpha": 5.0}, _baseline(baselines.ALS)),
    Method("EASE", _grid(lam=(25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)), {"lam": 400.0},
           _baseline(baselines.EASE)),
    Method("Shua",
           _grid(dim=(64,), regularization=(10.0, 30.0), half_life_days=(None, 90.0), side_weight=(0.0, 1.0),
                 ranker_objective=("binary", "lambdarank")),
           {"dim": 64}, shua_rank, baseline=False),
)


# -- the run -------------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    baseline: bool
    params: Params
    validation: dict[str, float]
    test: dict[str, float] | None
    tried: int
    seconds: float
    trials: list[tuple[Params, float]] = field(default_factory=list)  # every configuration: its selection metric


@dataclass
class Report:
    dataset: str
    notes: tuple[str, ...]
    ks: tuple[int, ...]
    selection: str
    splits: dict[str, dict[str, int]]
    results: list[Result]

    @property
    def best_baseline(self) -> Result | None:
        base = [r for r in self.results if r.baseline]
        return max(base, key=lambda r: r.validation[self.selection]) if base else None

    @property
    def shua(self) -> Result | None:
        return next((r for r in self.results if not r.baseline), None)

    def beats_best_baseline(self, metric: str | None = None) -> bool:
        metric = metric or self.selection
        best, shua = self.best_baseline, self.shua
        return bool(shua and best and shua.validation[metric] > max(r.validation[metric] for r in self.results
                                                                      if r.baseline))

    def margins(self, split: str = "validation") -> dict[str, float]:
        """Per metric: Shua minus the best baseline on that metric (positive = Shua is ahead)."""
        shua = self.shua
        values = [getattr(r, split) for r in self.results if r.baseline and getattr(r, split)]
        if shua is None or not values or getattr(shua, split) is None:
            return {}
        ours = getattr(shua, split)
        return {m: round(ours[m] - max(v[m] for v in values), 4) for m in ours}

    def to_json(self) -> dict[str, Any]:
        best = self.best_baseline
        return {
            "dataset": self.dataset, "notes": list(self.notes), "ks": list(self.ks), "selection": self.selection,
            "splits": self.splits, "best_baseline": best.name if best else None,
            "shua_beats_best_baseline_on_validation": self.beats_best_baseline(),
            "shua_minus_best_baseline": {"validation": self.margins("validation"), "test": self.margins("test")},
            "methods": [{"name": r.name, "baseline": r.baseline, "params": r.params, "validation": r.validation,
                         "test": r.test, "configurations_tried": r.tried, "seconds": round(r.seconds, 1),
                         "trials": [{"params": p, self.selection: round(v, 4)} for p, v in r.trials]}
                        for r in self.results],
        }


def evaluate(dataset: Dataset, *, ks: Sequence[int] = (10, 20, 50), tune: bool = False, test: bool = True,
             methods: Sequence[Method] = METHODS, threads: int = 2, progress: Progress | None = None,
             overrides: dict[str, Params] | None = None) -> Report:
    """Split, tune on validation (with `tune`), refit and measure on test (with `test`)."""
    with threadpool_limits(threads, "blas"):
        return _evaluate(dataset, ks=ks, tune=tune, test=test, methods=methods, threads=threads, progress=progress,
                         overrides=overrides)


def _evaluate(dataset: Dataset, *, ks: Sequence[int], tune: bool, test: bool, methods: Sequence[Method],
              threads: int, progress: Progress | None, overrides: dict[str, Params] | None) -> Report:
    ks = tuple(sorted(set(ks)))
    kmax = max(ks)
    selection = f"ndcg@{ks[len(ks) // 2]}"
    data = dataset.interactions
    test_mask, train_part, test_part = split_by_time(data, HELD_OUT)
    val_mask, fit_part, val_part = split_by_time(train_part, HELD_OUT)
    rel_train, gain_train = dataset.relevant[~test_mask], dataset.gain[~test_mask]
    validation = make_split("validation", fit_part, val_part, rel_train[val_mask], gain_train[val_mask],
                            positive_weight=dataset.positive_weight, kmax=kmax)
    testing = make_split("test", train_part, test_part, dataset.relevant[test_mask], dataset.gain[test_mask],
                         positive_weight=dataset.positive_weight, kmax=kmax) if test else None
    if len(validation.users) == 0:
        raise ValueError("no user has a relevant validation item: too little data to evaluate")
    results = []
    for method in methods:
        grid = method.grid if tune else ((overrides or {}).get(method.name, method.chosen),)
        started = time.perf_counter()
        tried = []
        for params in grid:
            if progress:
                progress(f"{method.name} {_describe(params)} (validation)")
            tried.append((params, measure(validation, method.rank(validation, params, dataset, kmax, threads), ks)))
        best_params, best_metrics = max(tried, key=lambda t: t[1][selection])
        test_metrics = None
        if testing is not None:
            if progress:
                progress(f"{method.name} (test)")
            test_metrics = measure(testing, method.rank(testing, best_params, dataset, kmax, threads), ks)
        results.append(Result(method.name, method.baseline, best_params, best_metrics, test_metrics, len(grid),
                              time.perf_counter() - started, [(p, m[selection]) for p, m in tried]))
    splits = {s.name: {"train_interactions": len(s.train), "held_out": s.held_out, "users": len(s.users),
                       "items": len(s.index.items)} for s in (validation, testing) if s is not None}
    return Report(dataset.name, dataset.notes, ks, selection, splits, results)


def steps(*, tune: bool, test: bool, methods: Sequence[Method] = METHODS) -> int:
    """How many progress ticks `evaluate` will make."""
    return sum((len(m.grid) if tune else 1) + (1 if test else 0) for m in methods)


def _describe(params: Params) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())
