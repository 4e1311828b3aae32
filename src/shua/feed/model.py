"""The recommender's trained state, as the serving path reads it: item and user embeddings (one
row per id, L2-normalised, float32) for vector search, plus an optional learned ranker.

Written by training (`shua feed train`, and `shua feed eval` for offline runs), read by serving,
so its layout is the contract between the two. A model is a folder:

    meta.json          version, trained_at, dims, feature names, metrics, what it was trained on
    item_ids.npy       int64 [n_items]           video ids (or dataset item ids offline)
    item_vectors.npy   float32 [n_items, dim]    unit vectors
    user_ids.npy       int64 [n_users]
    user_vectors.npy   float32 [n_users, dim]
    ranker.txt         optional LightGBM model (text format) over `meta["features"]`
    items.ivf          optional faiss IVF index over item_vectors, for catalogues of
                       `ann.IVF_MIN_ITEMS` or more (meta["index"] says its parameters)

`save` writes to a temporary folder and renames it into place, so a reader never sees half a
model; `load` memory-maps the arrays and validates shapes, so a corrupt or missing model is an
exception the caller turns into a fallback (trending), never a 500.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shua.feed import ann

FORMAT = 1


class ModelUnavailable(Exception):
    """No model, or one that cannot be read: serve without it."""


class _Lookup:
    """id → row by binary search over the sorted ids: numpy arrays, not a Python dict of a
    million entries (which a full garbage collection walks on every request it interrupts)."""

    def __init__(self, ids: npt.NDArray[np.int64]) -> None:
        self.order = np.argsort(ids, kind="stable")
        self.sorted = np.asarray(ids)[self.order]

    def row(self, key: int) -> int | None:
        at = int(np.searchsorted(self.sorted, key))
        if at < len(self.sorted) and int(self.sorted[at]) == int(key):
            return int(self.order[at])
        return None


@dataclass
class FeedModel:
    item_ids: npt.NDArray[np.int64]
    item_vectors: npt.NDArray[np.float32]
    user_ids: npt.NDArray[np.int64]
    user_vectors: npt.NDArray[np.float32]
    ranker_text: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    _item_index: _Lookup | None = field(default=None, repr=False)
    _user_index: _Lookup | None = field(default=None, repr=False)

    @property
    def dim(self) -> int:
        return int(self.item_vectors.shape[1]) if self.item_vectors.ndim == 2 else 0

    def item_row(self, item_id: int) -> int | None:
        if self._item_index is None:
            self._item_index = _Lookup(self.item_ids)
        return self._item_index.row(item_id)

    def user_row(self, user_id: int) -> int | None:
        if self._user_index is None:
            self._user_index = _Lookup(self.user_ids)
        return self._user_index.row(user_id)

    def save(self, folder: Path) -> Path:
        """Write atomically: a reader sees the old model or the new one, never a mix."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            np.save(staging / "item_ids.npy", np.ascontiguousarray(self.item_ids, dtype=np.int64))
            np.save(staging / "item_vectors.npy", np.ascontiguousarray(self.item_vectors, dtype=np.float32))
            np.save(staging / "user_ids.npy", np.ascontiguousarray(self.user_ids, dtype=np.int64))
            np.save(staging / "user_vectors.npy", np.ascontiguousarray(self.user_vectors, dtype=np.float32))
            if self.ranker_text is not None:
                (staging / "ranker.txt").write_text(self.ranker_text, encoding="utf-8")
            index: dict[str, Any] = {"kind": "exact"}
            if len(self.item_ids) >= ann.IVF_MIN_ITEMS:
                index = ann.build_ivf(np.asarray(self.item_vectors), staging / ann.IVF_FILE)
            meta = {"format": FORMAT, "trained_at": datetime.now(UTC).isoformat(), "dim": self.dim,
                    "items": int(len(self.item_ids)), "users": int(len(self.user_ids)), **self.meta,
                    "index": index}
            (staging / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
            if folder.exists():
                old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
                folder.rename(old)
                staging.rename(folder)
                shutil.rmtree(old, ignore_errors=True)
            else:
                staging.rename(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: Path) -> FeedModel:
        """Read a saved model; ModelUnavailable with the reason if it is missing or inconsistent."""
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                raise ModelUnavailable(f"model format {meta.get('format')!r}, expected {FORMAT}")
            arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                      for name in ("item_ids", "item_vectors", "user_ids", "user_vectors")}
            ranker = folder / "ranker.txt"
            ranker_text = ranker.read_text(encoding="utf-8") if ranker.exists() else None
        except ModelUnavailable:
            raise
        except (OSError, ValueError, json.JSONDecodeError) as exc:
            raise ModelUnavailable(f"cannot read the model at {folder}: {exc}") from exc
        items, vectors = arrays["item_ids"], arrays["item_vectors"]
        users, user_vectors = arrays["user_ids"], arrays["user_vectors"]
        if (items.ndim != 1 or vectors.ndim != 2 or len(items) != len(vectors) or users.ndim != 1
                or user_vectors.ndim != 2 or len(users) != len(user_vectors)
                or (len(users) and user_vectors.shape[1] != vectors.shape[1])):
            raise ModelUnavailable(f"the model at {folder} has inconsistent shapes")
        return cls(item_ids=items, item_vectors=vectors, user_ids=users, user_vectors=user_vectors,
                   ranker_text=ranker_text, meta=meta)
