"""The trained model in memory, and vector search over its item embeddings.

One `ModelHolder` per process keeps the current `FeedModel` (memory-mapped) and a faiss
inner-product index over its unit item vectors: exact (`IndexFlatIP`) for small catalogues, the
IVF index training stored beside the model for big ones (feed.ann: an exact scan of a million
items costs tens of milliseconds per query, the IVF index about one). It re-reads the model
folder when training replaced it (checked at most every few seconds), and when there is none,
or it is corrupt, it says so once in the log and answers every question with "no opinion", so
the feed falls back to trending instead of failing.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from threading import Lock
from typing import Any

import numpy as np
import numpy.typing as npt

from shua.feed import ann
from shua.feed.model import FeedModel, ModelUnavailable

log = logging.getLogger("shua.feed")
RECHECK_SECONDS = 5.0


class Index:
    """Top-k by inner product over unit vectors: faiss when it imports, numpy otherwise."""

    def __init__(self, vectors: npt.NDArray[np.float32], *, ivf: Path | None = None) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._faiss: Any = None
        self.kind = "numpy"
        try:
            import faiss

            faiss.omp_set_num_threads(1)  # one request's queries at a time; the box has 2 cores
            # Several queries (the viewer's taste, "more like" each recent like) in one blocked
            # matrix product instead of one scan each (faiss's default switches at 20 queries).
            faiss.cvar.distance_compute_blas_threshold = 2
            index = ann.load_ivf(ivf, len(self.vectors)) if ivf is not None else None
            if index is None:
                index = faiss.IndexFlatIP(self.vectors.shape[1])
                index.add(self.vectors)
            self._faiss, self.kind = index, "ivf" if isinstance(index, faiss.IndexIVF) else "exact"
        except ImportError:  # pragma: no cover - faiss is a pinned dependency
            pass

    def search(self, queries: npt.NDArray[np.float32], k: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """(scores, rows) of the k best items for each query row; rows are -1 past the end."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self.vectors)))
        if self._faiss is not None:
            scores, rows = self._faiss.search(queries, k)
            return scores, rows.astype(np.int64)
        scores = queries @ self.vectors.T
        rows = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        picked = np.take_along_axis(scores, rows, axis=1)
        order = np.argsort(-picked, axis=1)
        return np.take_along_axis(picked, order, axis=1), np.take_along_axis(rows, order, axis=1)


class ModelHolder:
    """The process's current model, reloaded when the folder on disk changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.model: FeedModel | None = None
        self.index: Index | None = None
        self._stamp: float | None = None
        self._checked = 0.0
        self._warned: str | None = None
        self._lock = Lock()

    def _mtime(self) -> float | None:
        try:
            return (self.folder / "meta.json").stat().st_mtime
        except OSError:
            return None

    def current(self) -> FeedModel | None:
        """The model to serve with now, or None (with one log line per new reason) to fall back."""
        now = time.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return self.model
        with self._lock:
            self._checked = now
            stamp = self._mtime()
            if stamp is None:
                self._drop("no trained model yet (run `shua feed train`)")
            elif stamp != self._stamp:
                try:
                    model = FeedModel.load(self.folder)
                    index = Index(np.asarray(model.item_vectors),
                                  ivf=self.folder / ann.IVF_FILE) if len(model.item_ids) else None
                except ModelUnavailable as exc:
                    self._drop(str(exc))
                else:
                    self.model, self.index, self._stamp, self._warned = model, index, stamp, None
                    log.info("feed model loaded: %s items, %s users, dim %s",
                             len(model.item_ids), len(model.user_ids), model.dim)
            return self.model

    def _drop(self, reason: str) -> None:
        self.model, self.index, self._stamp = None, None, None
        if reason != self._warned:
            log.warning("feed falls back to trending: %s", reason)
            self._warned = reason

    def user_vector(self, user_id: int | None) -> npt.NDArray[np.float32] | None:
        model = self.current()
        if model is None or user_id is None:
            return None
        row = model.user_row(user_id)
        return None if row is None else np.asarray(model.user_vectors[row], dtype=np.float32)

    def item_vectors(self, item_ids: list[int]) -> dict[int, npt.NDArray[np.float32]]:
        model = self.current()
        if model is None:
            return {}
        found = {}
        for item_id in item_ids:
            row = model.item_row(item_id)
            if row is not None:
                found[item_id] = np.asarray(model.item_vectors[row], dtype=np.float32)
        return found

    def nearest(self, query: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The k items closest to `query` as (video id, score), best first."""
        return self.nearest_many([query], k)[0]

    def nearest_many(self, queries: list[npt.NDArray[np.float32]], k: int) -> list[list[tuple[int, float]]]:
        """`nearest` for several queries in one search (one pass over the index, not one each)."""
        model = self.current()
        if model is None or self.index is None or not queries:
            return [[] for _ in queries]
        scores, rows = self.index.search(np.vstack(queries), k)
        return [[(int(model.item_ids[r]), float(s)) for s, r in zip(srow, rrow, strict=True) if r >= 0]
                for srow, rrow in zip(scores, rows, strict=True)]
