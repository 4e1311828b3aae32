"""Vector search for serving: exact for small catalogues, the IVF index stored with big models,
and a broken index file means an exact scan, not an error."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from shua.feed import ann
from shua.feed.model import FeedModel
from shua.feed.vectors import Index, ModelHolder


def clustered(n: int, dim: int = 16, topics: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim))
    vectors = centres[rng.integers(0, topics, size=n)] + 0.5 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def save_model(folder: Path, items: np.ndarray) -> None:
    users = items[:10].copy()
    FeedModel(item_ids=np.arange(1, len(items) + 1, dtype=np.int64), item_vectors=items,
              user_ids=np.arange(1, 11, dtype=np.int64), user_vectors=users).save(folder)


class TestIndex:
    def test_exact_search_matches_numpy(self) -> None:
        items = clustered(3000)
        scores, rows = Index(items).search(items[:3], 10)
        truth = np.argsort(-(items[:3] @ items.T), axis=1)[:, :10]
        assert Index(items).kind == "exact"
        assert (rows == truth).all() and np.allclose(scores[:, 0], 1.0, atol=1e-5)

    def test_a_big_model_is_saved_with_an_ivf_index_that_serving_uses(self, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(ann, "IVF_MIN_ITEMS", 5000)
        items = clustered(8000)
        save_model(tmp_path / "model", items)
        assert (tmp_path / "model" / ann.IVF_FILE).exists()
        holder = ModelHolder(tmp_path / "model")
        model = holder.current()
        assert model is not None and model.meta["index"]["kind"] == "ivf"
        assert holder.index is not None and holder.index.kind == "ivf"
        queries = items[:50]
        _, rows = holder.index.search(queries, 100)
        truth = np.argsort(-(queries @ items.T), axis=1)[:, :100]
        recall = np.mean([len(set(r) & set(t)) / 100 for r, t in zip(rows, truth, strict=True)])
        assert recall >= 0.9, recall
        assert holder.nearest_many([items[0]], 1)[0][0][0] == 1  # ids, not rows

    def test_a_small_model_has_no_index_file(self, tmp_path: Path) -> None:
        save_model(tmp_path / "model", clustered(500))
        assert not (tmp_path / "model" / ann.IVF_FILE).exists()
        holder = ModelHolder(tmp_path / "model")
        assert holder.current() is not None and holder.index is not None and holder.index.kind == "exact"

    @pytest.mark.parametrize("damage", ["garbage", "other catalogue"])
    def test_a_broken_index_file_means_an_exact_scan(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture, damage: str) -> None:
        monkeypatch.setattr(ann, "IVF_MIN_ITEMS", 2000)
        items = clustered(3000)
        save_model(tmp_path / "model", items)
        path = tmp_path / "model" / ann.IVF_FILE
        if damage == "garbage":
            path.write_bytes(b"not a faiss index")
        else:
            ann.build_ivf(clustered(2500, seed=1), path)
        with caplog.at_level(logging.WARNING, logger="shua.feed"):
            holder = ModelHolder(tmp_path / "model")
            assert holder.current() is not None
        assert holder.index is not None and holder.index.kind == "exact"
        assert "searching exactly" in caplog.text
        assert holder.nearest_many([items[7]], 1)[0][0][0] == 8
