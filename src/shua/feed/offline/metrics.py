"""Top-K ranking metrics, the definitions used in the collaborative-filtering literature that
our baselines come from (Liang et al. 2018, Steck 2019):

- recall@K = relevant items in the top K / min(K, relevant items of the user), so a perfect
  list scores 1 even when a user has more than K relevant items;
- NDCG@K = DCG@K / ideal DCG@K with DCG = Σ gain_i / log2(i + 1) over positions i = 1..K, the
  ideal being the user's own gains sorted high to low (binary gains for ratings, watch ratio on
  KuaiRec).

Both are averaged over the users who have at least one relevant held-out item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def discounts(k: int) -> Array:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def recall_at(hits: npt.NDArray[np.bool_], n_relevant: npt.NDArray[np.int64], k: int) -> Array:
    """Per user: hits [users, ≥k] (is the item at each position relevant), n_relevant [users]."""
    found = hits[:, :k].sum(axis=1).astype(np.float64)
    out: Array = found / np.maximum(np.minimum(k, n_relevant), 1)
    return out


def ndcg_at(gains: Array, ideal: Array, k: int) -> Array:
    """Per user: gains [users, ≥k] of the ranked items, ideal [users, ≥k] the best gains in order."""
    d = discounts(k)
    best = (ideal[:, :k] * d[: ideal[:, :k].shape[1]]).sum(axis=1)
    dcg = (gains[:, :k] * d[: gains[:, :k].shape[1]]).sum(axis=1)
    out: Array = np.divide(dcg, best, out=np.zeros_like(dcg), where=best > 0)
    return out


def recall(ranked: Sequence[int], relevant: Sequence[int], k: int) -> float:
    """recall@k of one ranked list."""
    hits = np.array([[item in set(relevant) for item in ranked]], bool).reshape(1, -1)
    return float(recall_at(np.pad(hits, ((0, 0), (0, max(0, k - hits.shape[1])))), np.array([len(set(relevant))]),
                           k)[0])


def ndcg(ranked: Sequence[int], gains: Mapping[int, float], k: int) -> float:
    """NDCG@k of one ranked list, gains by item (missing = 0)."""
    got = np.array([[gains.get(item, 0.0) for item in ranked[:k]]], np.float64).reshape(1, -1)
    ideal = np.array([sorted(gains.values(), reverse=True)[:k]], np.float64).reshape(1, -1)
    return float(ndcg_at(got, ideal, k)[0])
