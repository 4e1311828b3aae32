"""The baselines Shua's model is measured against, each fitted on a binary user × item matrix of
positives and scoring every item for a batch of users (training items are masked by the caller):

- most popular — positives per item;
- ItemKNN — cosine similarity of item columns (co-occurrence normalised by both items' counts),
  each item keeping its `neighbours` most similar items (Sarwar et al. 2001; Deshpande & Karypis 2004);
- ALS — implicit's weighted matrix factorisation (Hu, Koren & Volinsky 2008), raw dot product;
- EASE — the closed-form linear item-item model with zero diagonal (Steck 2019), B = I − P·diag(1/diag P)
  with P = (XᵀX + λI)⁻¹.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shua.feed.training import Ints

Scores = npt.NDArray[np.float32]
EASE_MAX_ITEMS = 30_000  # a dense items × items inverse: 30 k items is 7 GB


class Baseline(Protocol):
    name: str

    def fit(self, positives: sp.csr_matrix) -> None: ...

    def scores(self, users: Ints) -> Scores: ...


class MostPopular:
    name = "most popular"

    def __init__(self, threads: int = 2) -> None:
        self.counts: Scores = np.zeros(0, np.float32)

    def fit(self, positives: sp.csr_matrix) -> None:
        self.counts = np.asarray(positives.sum(axis=0), np.float32).ravel()

    def scores(self, users: Ints) -> Scores:
        return np.broadcast_to(self.counts, (len(users), len(self.counts))).copy()


class ItemKNN:
    name = "ItemKNN"

    def __init__(self, neighbours: int = 100, threads: int = 2) -> None:
        self.neighbours, self.threads = neighbours, threads
        self.x: sp.csr_matrix = sp.csr_matrix((0, 0))
        self.sim: sp.csr_matrix = sp.csr_matrix((0, 0))

    def fit(self, positives: sp.csr_matrix) -> None:
        x = sp.csr_matrix(positives, dtype=np.float32)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0).astype(np.float32)
        xt = sp.csc_matrix(x)
        n = x.shape[1]
        keep = min(self.neighbours, max(n - 1, 1))
        rows, cols, vals = [], [], []
        with threadpool_limits(self.threads, "blas"):
            for lo in range(0, n, 2048):
                block = np.asarray((xt.T @ xt[:, lo:lo + 2048]).todense(), np.float32)  # items × block
                block *= inv[:, None] * inv[lo:lo + 2048][None, :]
                block[np.arange(lo, lo + block.shape[1]), np.arange(block.shape[1])] = 0.0
                top = np.argpartition(-block, keep - 1, axis=0)[:keep]
                for j in range(block.shape[1]):
                    nb = top[:, j][block[top[:, j], j] > 0]
                    rows.append(nb)
                    cols.append(np.full(len(nb), lo + j))
                    vals.append(block[nb, j])
        self.sim = sp.csr_matrix((np.concatenate(vals) if vals else [], (np.concatenate(rows) if rows else [],
                                  np.concatenate(cols) if cols else [])), shape=(n, n), dtype=np.float32)
        self.x = x

    def scores(self, users: Ints) -> Scores:
        return np.asarray((self.x[users] @ self.sim).todense(), np.float32)


class ALS:
    name = "ALS"

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0, iterations: int = 15,
                 threads: int = 2, seed: int = 0) -> None:
        self.params: dict[str, Any] = {"factors": factors, "regularization": regularization, "alpha": alpha,
                                       "iterations": iterations}
        self.threads, self.seed = threads, seed
        self.users: Scores = np.zeros((0, 0), np.float32)
        self.items: Scores = np.zeros((0, 0), np.float32)

    def fit(self, positives: sp.csr_matrix) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(**self.params, num_threads=self.threads, random_state=self.seed)
            model.fit(sp.csr_matrix(positives, dtype=np.float32), show_progress=False)
        self.users, self.items = np.asarray(model.user_factors), np.asarray(model.item_factors)

    def scores(self, users: Ints) -> Scores:
        return np.asarray(self.users[users] @ self.items.T, np.float32)


class EASE:
    name = "EASE"

    def __init__(self, lam: float = 500.0, threads: int = 2, gram: npt.NDArray[np.float64] | None = None) -> None:
        self.lam, self.threads, self.gram = lam, threads, gram
        self.x: sp.csr_matrix = sp.csr_matrix((0, 0))
        self.b: Scores = np.zeros((0, 0), np.float32)

    @staticmethod
    def gram_of(positives: sp.csr_matrix) -> npt.NDArray[np.float64]:
        x = sp.csr_matrix(positives, dtype=np.float64)
        return np.asarray((x.T @ x).todense())

    def fit(self, positives: sp.csr_matrix) -> None:
        n = positives.shape[1]
        if n > EASE_MAX_ITEMS:
            raise ValueError(f"EASE needs a dense {n}×{n} inverse; more than {EASE_MAX_ITEMS} items is too many")
        with threadpool_limits(self.threads, "blas"):
            g = (self.gram if self.gram is not None else self.gram_of(positives)).copy()
            g[np.diag_indices(n)] += self.lam
            p = np.linalg.inv(g)
            b = -p / np.diag(p)[None, :]
            b[np.diag_indices(n)] = 0.0
        self.x = sp.csr_matrix(positives, dtype=np.float32)
        self.b = b.astype(np.float32)

    def scores(self, users: Ints) -> Scores:
        with threadpool_limits(self.threads, "blas"):
            return np.asarray(self.x[users] @ self.b, np.float32)
