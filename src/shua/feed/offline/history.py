"""What was known at a moment, for replaying serving offline: every item's counters as of any
time (interactions, recent interactions, likes, completions), and each user's past (what they
saw, their latest positives, their categories).

Counters are read "as of" the moment the user asked for the page — their latest training
interaction — so a feature never counts what happened after it, even on a per-user time
split where other users' training rows are later than this user's held-out ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shua.feed import features
from shua.feed.training import Bools, Catalogue, Floats, Index, Interactions, Ints, Times, pair_weights, seen

_SPAN = np.int64(1) << np.int64(33)  # seconds per item in the sorted key: 272 years
RECENT = 10
COMPLETE = 1.0  # a watch ratio of 1 means watched to the end


@dataclass
class History:
    index: Index
    catalogue: Catalogue  # aligned on index.items
    seen: sp.csr_matrix  # users × items
    positives: sp.csr_matrix  # users × items, aggregated positive weight
    now: Times  # [users] the latest interaction of each user
    created: Times  # [items] publish time, or first interaction when unknown
    recent_ptr: Ints
    recent_items: Ints  # per user, latest positives first
    follows: Mapping[int, Set[int]] | None
    completion_prior: float
    like_prior: float
    _t0: float
    _keys: Ints
    _start: Ints
    _likes: npt.NDArray[np.float64] | None
    _plays: npt.NDArray[np.float64] | None
    _completions: npt.NDArray[np.float64] | None
    _times: Times  # every row's time, sorted
    _time_items: Ints  # the item row of each, in that order

    @classmethod
    def build(cls, data: Interactions, index: Index, *, catalogue: Catalogue | None = None,
              follows: Mapping[int, Set[int]] | None = None, min_positive: float = 0.0) -> History:
        """Index `data` (already restricted to what may be known) by item and time; positives
        (recent items, categories) are weights of at least `min_positive`, as in training."""
        rows, cols = index.user_rows(data.user), index.item_rows(data.item)
        n_users, n_items = len(index.users), len(index.items)
        t0 = float(np.floor(data.timestamp.min())) if len(data) else 0.0
        order = np.lexsort((data.timestamp, cols))
        by_clock = np.argsort(data.timestamp, kind="stable")
        keys = cols[order] * _SPAN + np.floor(data.timestamp[order] - t0).astype(np.int64)
        start = np.searchsorted(cols[order], np.arange(n_items + 1)).astype(np.int64)

        def cumulative(values: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64] | None:
            return None if values is None else np.concatenate([[0.0], np.cumsum(values[order])])

        ratio = data.watch_ratio
        known = None if ratio is None else (~np.isnan(ratio)).astype(np.float64)
        complete = None if ratio is None else (np.nan_to_num(ratio) >= COMPLETE).astype(np.float64)
        liked = None if data.liked is None else data.liked.astype(np.float64)
        now = np.full(n_users, np.nan)
        np.fmax.at(now, rows, data.timestamp)
        now = np.where(np.isnan(now), data.timestamp.max() if len(data) else 0.0, now)
        first = np.full(n_items, np.nan)
        np.fmin.at(first, cols, data.timestamp)
        aligned = catalogue.align(index.items) if catalogue is not None else Catalogue(
            item=index.items, categories=np.full((n_items, 1), -1, np.int64), n_categories=0)
        created = first if aligned.created is None else np.where(np.isnan(aligned.created), first, aligned.created)
        # Latest positives per user, newest first.
        pos = np.flatnonzero((data.weight > 0) & (data.weight >= min_positive))
        by_time = pos[np.lexsort((-data.timestamp[pos], rows[pos]))]
        users_sorted = rows[by_time]
        first_of_user = np.searchsorted(users_sorted, np.arange(n_users + 1))
        rank = np.arange(len(by_time)) - first_of_user[users_sorted]
        keep = by_time[rank < RECENT]
        recent_ptr = np.searchsorted(rows[keep], np.arange(n_users + 1)).astype(np.int64)
        signal = pair_weights(data, index, min_positive=min_positive)
        positives = signal.multiply(signal > 0).tocsr()
        return cls(
            index=index, catalogue=aligned, seen=seen(data, index), positives=positives, now=now, created=created,
            recent_ptr=recent_ptr, recent_items=cols[keep], follows=follows,
            completion_prior=_rate(complete, known, 0.3), like_prior=_rate(liked, None if liked is None else
                                                                           np.ones_like(liked), 0.05),
            _t0=t0, _keys=keys, _start=start, _likes=cumulative(liked), _plays=cumulative(known),
            _completions=cumulative(complete), _times=data.timestamp[by_clock], _time_items=cols[by_clock],
        )

    # -- items, as of a time -------------------------------------------------------------------
    def _positions(self, items: Ints, t: npt.NDArray[np.float64] | float) -> Ints:
        """How many rows of the sorted log are for an earlier item, or this item up to t."""
        offset = np.clip(np.floor(np.asarray(t, np.float64) - self._t0), -1, float(_SPAN - 1)).astype(np.int64)
        return np.searchsorted(self._keys, items * _SPAN + offset, side="right").astype(np.int64)

    def counts(self, items: Ints, t: npt.NDArray[np.float64] | float) -> npt.NDArray[np.float64]:
        """Interactions with each item at or before t."""
        return (self._positions(items, t) - self._start[items]).astype(np.float64)

    def window(self, items: Ints, t: npt.NDArray[np.float64] | float, days: float) -> npt.NDArray[np.float64]:
        """Interactions with each item in (t - days, t]."""
        return (self._positions(items, t) - self._positions(items, np.asarray(t) - days * features.DAY)).astype(
            np.float64)

    def trending_order(self, t: float) -> Ints:
        """The items with interactions in the trending window before t, most first (ties: most
        interactions ever). Reads only the window's rows, so it stays cheap with a big catalogue."""
        lo = np.searchsorted(self._times, t - features.TRENDING_DAYS * features.DAY, side="right")
        hi = np.searchsorted(self._times, t, side="right")
        items, recent = np.unique(self._time_items[lo:hi], return_counts=True)
        return items[np.lexsort((-self.counts(items, t), -recent))].astype(np.int64)

    def candidates(self, user: int, items: Ints, sources: Ints, item_vectors: Floats) -> features.Candidates:
        """What serving would know about these items when `user` asks (as of their `now`)."""
        t = float(self.now[user])
        start, at = self._start[items], self._positions(items, t)

        def upto(cum: npt.NDArray[np.float64] | None) -> Floats:
            if cum is None:
                return np.full(len(items), np.nan, np.float32)
            return (cum[at] - cum[start]).astype(np.float32)

        count = (at - start).astype(np.float32)
        created = self.created[items]
        age = np.where(created <= t, t - created, np.nan).astype(np.float32)
        cat = self.catalogue
        followed = np.full(len(items), np.nan, np.float32)
        if self.follows is not None and cat.creator is not None:
            mine = self.follows.get(int(self.index.users[user]), frozenset())
            followed = np.array([float(c in mine) for c in cat.creator[items]], np.float32)
        return features.Candidates(
            vectors=item_vectors[items], source=sources, interactions=count,
            recent_interactions=self.window(items, t, features.TRENDING_DAYS).astype(np.float32),
            age_seconds=age, plays=upto(self._plays), completions=upto(self._completions),
            views=count if self._likes is not None else np.full(len(items), np.nan, np.float32),
            likes=upto(self._likes), categories=cat.categories[items], followed=followed,
            duration=cat.duration[items] if cat.duration is not None else np.full(len(items), np.nan, np.float32),
            completion_prior=self.completion_prior, like_prior=self.like_prior,
        )

    # -- users ---------------------------------------------------------------------------------
    def viewer(self, user: int, user_vectors: Floats, item_vectors: Floats) -> features.Viewer:
        recent = self.recent_items[self.recent_ptr[user]:self.recent_ptr[user + 1]]
        vector = user_vectors[user]
        return features.Viewer(
            vector=vector if np.any(vector) else None, recent=item_vectors[recent],
            category_share=self.category_share(user), interactions=int(self.seen.indptr[user + 1]
                                                                        - self.seen.indptr[user]),
        )

    def category_share(self, user: int) -> Floats | None:
        cat = self.catalogue
        if cat.n_categories == 0:
            return None
        lo, hi = self.positives.indptr[user], self.positives.indptr[user + 1]
        items, weights = self.positives.indices[lo:hi], self.positives.data[lo:hi]
        if len(items) == 0:
            return None
        table = cat.categories[items]
        valid = table >= 0
        share = np.bincount(table[valid], weights=np.broadcast_to(weights[:, None], table.shape)[valid],
                            minlength=cat.n_categories)
        out: Floats = (share / weights.sum()).astype(np.float32)
        return out

    def seen_row(self, user: int) -> Bools:
        row = np.zeros(len(self.index.items), bool)
        row[self.seen.indices[self.seen.indptr[user]:self.seen.indptr[user + 1]]] = True
        return row


def _rate(hits: npt.NDArray[np.float64] | None, total: npt.NDArray[np.float64] | None, default: float) -> float:
    if hits is None or total is None or total.sum() == 0:
        return default
    return float(hits.sum() / total.sum())
