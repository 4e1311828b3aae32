"""The ranker's feature matrix: each column means what features.py says, NaN when unknown."""

from __future__ import annotations

import numpy as np
import pytest

from shua.feed.features import FEATURES, SOURCES, Candidates, Viewer, feature_matrix, source_index


def candidates(n: int = 2, **overrides: object) -> Candidates:
    values: dict[str, object] = {
        # the last coordinate is the slack that keeps an ALS vector unit length (item 0: less popular)
        "vectors": np.array([[0.6, 0.0, 0.8], [0.0, 1.0, 0.0]], np.float32)[:n],
        "source": np.array([source_index("embedding"), source_index("trending")])[:n],
        "interactions": np.array([0.0, 99.0], np.float32)[:n],
        "recent_interactions": np.array([0.0, 9.0], np.float32)[:n],
        "age_seconds": np.array([86_400.0, np.nan], np.float32)[:n],
        "plays": np.array([10.0, np.nan], np.float32)[:n],
        "completions": np.array([10.0, np.nan], np.float32)[:n],
        "views": np.array([0.0, 100.0], np.float32)[:n],
        "likes": np.array([0.0, 30.0], np.float32)[:n],
        "categories": np.array([[1, 2], [-1, -1]])[:n],
        "followed": np.array([1.0, np.nan], np.float32)[:n],
        "duration": np.array([15.0, np.nan], np.float32)[:n],
    }
    values.update(overrides)
    return Candidates(**values)  # type: ignore[arg-type]


def column(matrix: np.ndarray, name: str) -> list[float]:
    return matrix[:, FEATURES.index(name)].tolist()


class TestFeatureMatrix:
    def test_each_column(self) -> None:
        viewer = Viewer(vector=np.array([0.6, 0.8, 0.0], np.float32), recent=np.array([[1.0, 0.0, 0.0]], np.float32),
                        category_share=np.array([0.5, 0.2, 0.3], np.float32), interactions=9)
        m = feature_matrix(viewer, candidates())
        assert m.shape == (2, len(FEATURES)) and m.dtype == np.float32
        assert column(m, "score") == pytest.approx([0.36, 0.8])
        assert column(m, "recent_sim") == pytest.approx([1.0, 0.0])  # by direction: the slack is left out
        assert column(m, "popularity") == pytest.approx([0.0, np.log(100)])
        assert column(m, "trending") == pytest.approx([0.0, np.log(10)])
        assert column(m, "age_days")[0] == pytest.approx(1.0) and np.isnan(column(m, "age_days")[1])
        # (10 + 0.3·20) / (10 + 20), and unknown plays stay unknown
        assert column(m, "completion_rate")[0] == pytest.approx(16 / 30) and np.isnan(column(m, "completion_rate")[1])
        assert column(m, "like_rate") == pytest.approx([0.05, (30 + 1) / 120])
        assert column(m, "category_affinity")[0] == pytest.approx(0.3) and np.isnan(column(m, "category_affinity")[1])
        assert column(m, "followed")[0] == 1.0 and np.isnan(column(m, "followed")[1])
        assert column(m, "source") == [0.0, float(SOURCES.index("trending"))]
        assert column(m, "user_activity") == pytest.approx([np.log(10)] * 2)

    def test_a_cold_viewer_has_unknown_taste(self) -> None:
        viewer = Viewer(vector=None, recent=np.zeros((0, 3), np.float32), category_share=None, interactions=0)
        m = feature_matrix(viewer, candidates())
        for name in ("score", "recent_sim", "category_affinity"):
            assert np.isnan(column(m, name)).all(), name
        assert column(m, "popularity") == pytest.approx([0.0, np.log(100)])

    def test_no_candidates(self) -> None:
        viewer = Viewer(vector=np.ones(3, np.float32), recent=np.zeros((0, 3), np.float32), category_share=None,
                        interactions=1)
        empty = candidates(0, categories=np.zeros((0, 2), np.int64))
        assert feature_matrix(viewer, empty).shape == (0, len(FEATURES))
