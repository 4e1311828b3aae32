"""Training: interaction columns, how weights (positive, seen, negative) become the learning
signal, the as-of-time history, and train() → FeedModel.save → load."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from shua.feed import features
from shua.feed.model import FeedModel
from shua.feed.offline.history import History
from shua.feed.offline.rerank import Ranker, recommend
from shua.feed.training import Catalogue, Index, Interactions, TrainParams, pair_weights, seen, train

FAST = TrainParams(iterations=6, ranker_rounds=20, candidates=20, trending_candidates=5, ranker_min_users=10)


def taste_log(users: int = 60, items: int = 40, seed: int = 1) -> tuple[Interactions, Catalogue]:
    """Each user likes one of four groups of items; watches are spread over ten days."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        group = u % 4
        for n, i in enumerate(rng.permutation(items)[:18]):
            ratio = rng.normal(2.0 if i % 4 == group else 0.4, 0.2)
            rows.append((u, 1000 + i, max(ratio, 0.05), 1_600_000_000 + n * 13_000 + u))
    user, item, ratio, ts = (np.array(c) for c in zip(*rows, strict=True))
    data = Interactions(user=user, item=item, weight=ratio, timestamp=ts, watch_ratio=ratio, liked=ratio > 1.5)
    catalogue = Catalogue.build(np.arange(1000, 1000 + items), [[f"g{i % 4}"] for i in range(items)],
                                duration=np.full(items, 15.0))
    return data, catalogue


class TestInteractions:
    def test_columns_must_agree(self) -> None:
        with pytest.raises(ValueError, match="differ in length"):
            Interactions(user=np.array([1, 2]), item=np.array([1]), weight=np.array([1.0, 1.0]),
                         timestamp=np.array([0.0, 1.0]))
        with pytest.raises(ValueError, match="finite"):
            Interactions(user=np.array([1]), item=np.array([1]), weight=np.array([np.nan]), timestamp=np.array([0.0]))

    def test_dtypes_are_normalised(self) -> None:
        data = Interactions(user=[1], item=[2], weight=[1], timestamp=[3])  # type: ignore[arg-type]
        assert data.user.dtype == np.int64 and data.weight.dtype == np.float32 and data.timestamp.dtype == np.float64


class TestPairWeights:
    def test_positives_add_up_negatives_win_seen_only_is_not_signal(self) -> None:
        data = Interactions(user=np.array([1, 1, 1, 1, 1, 2]), item=np.array([10, 10, 11, 11, 12, 10]),
                            weight=np.array([0.5, 0.75, 3.0, -1.0, 0.0, 20.0]), timestamp=np.zeros(6))
        index = Index.of(data)
        signal = pair_weights(data, index).toarray()
        assert signal[0].tolist() == pytest.approx([1.25, -1.0, 0.0])  # liked twice; not interested; seen only
        assert signal[1, 0] == 10.0  # capped
        assert seen(data, index).toarray()[0].tolist() == [1, 1, 1]

    def test_half_life_discounts_the_users_older_positives(self) -> None:
        day = features.DAY
        data = Interactions(user=np.array([1, 1]), item=np.array([10, 11]), weight=np.array([1.0, 1.0]),
                            timestamp=np.array([0.0, 30 * day]))
        signal = pair_weights(data, Index.of(data), half_life_days=30).toarray()
        assert signal[0].tolist() == pytest.approx([0.5, 1.0])


class TestHistory:
    def test_counters_are_as_of_the_users_moment(self) -> None:
        day = features.DAY
        data = Interactions(user=np.array([1, 2, 3, 3]), item=np.array([7, 7, 7, 8]),
                            weight=np.ones(4), timestamp=np.array([0.0, 5 * day, 20 * day, 21 * day]),
                            liked=np.array([True, False, True, True]))
        history = History.build(data, Index.of(data))
        items = np.array([0, 1])
        assert history.counts(items, 5 * day).tolist() == [2, 0]
        assert history.window(items, 21 * day, 7).tolist() == [1, 1]
        # user 2 (row 1) asks at day 5: user 3's later plays are not counted, item 8 is not out yet
        c = history.candidates(1, items, np.zeros(2, np.int64), np.zeros((2, 0), np.float32))
        assert c.interactions.tolist() == [2, 0] and c.likes.tolist() == [1, 0]
        assert c.age_seconds[0] == pytest.approx(5 * day) and np.isnan(c.age_seconds[1])
        assert history.trending_order(21 * day).tolist() == [0, 1]  # one each this week; item 7 more overall
        assert history.trending_order(27.5 * day).tolist() == [1]  # only item 8 was played this week


    def test_followed_creators_and_categories_of_the_viewer(self) -> None:
        data = Interactions(user=np.array([1, 1, 2]), item=np.array([7, 8, 9]), weight=np.array([1.0, 1.0, 1.0]),
                            timestamp=np.array([0.0, 1.0, 2.0]))
        catalogue = Catalogue.build([7, 8, 9], [["cats"], ["cats"], ["dogs"]], creator=[100, 200, 300])
        history = History.build(data, Index.of(data), catalogue=catalogue, follows={1: {300}}, min_positive=1.0)
        c = history.candidates(0, np.array([1, 2]), np.zeros(2, np.int64), np.zeros((3, 0), np.float32))
        assert c.followed.tolist() == [0.0, 1.0]
        share = history.category_share(0)
        assert share is not None and share.tolist() == [1.0, 0.0]  # user 1 liked two cat videos
        no_follows = History.build(data, Index.of(data), catalogue=catalogue)
        c = no_follows.candidates(0, np.array([1]), np.zeros(1, np.int64), np.zeros((3, 0), np.float32))
        assert np.isnan(c.followed).all()  # not known is not "not followed"


class TestTrain:
    def test_round_trip_through_the_model_folder(self, tmp_path: Path) -> None:
        data, catalogue = taste_log()
        model = train(data, dim=8, catalogue=catalogue, params=FAST)
        assert model.item_vectors.shape == (40, 8) and model.user_vectors.shape == (60, 8)
        assert np.allclose(np.linalg.norm(model.item_vectors, axis=1), 1, atol=1e-5)
        assert model.ranker_text is not None and model.meta["features"] == list(features.FEATURES)
        loaded = FeedModel.load(model.save(tmp_path / "model"))
        assert np.array_equal(loaded.item_ids, model.item_ids) and np.array_equal(loaded.user_ids, model.user_ids)
        assert np.array_equal(loaded.item_vectors, model.item_vectors)
        assert loaded.ranker_text == model.ranker_text
        assert loaded.meta["ranker"]["groups"] >= 10 and loaded.meta["params"]["dim"] == 8
        assert loaded.item_row(1003) == 3

    def test_deterministic_for_a_seed(self) -> None:
        data, catalogue = taste_log()
        a = train(data, dim=8, catalogue=catalogue, params=FAST)
        b = train(data, dim=8, catalogue=catalogue, params=FAST)
        assert np.array_equal(a.item_vectors, b.item_vectors) and a.ranker_text == b.ranker_text

    def test_learns_the_taste_and_never_shows_the_negative(self) -> None:
        data, catalogue = taste_log()
        # user 0 likes group 0; they said "not interested" to item 1004 (group 0) without watching it.
        extra = Interactions(user=np.array([0]), item=np.array([1004]), weight=np.array([-1.0]),
                             timestamp=np.array([data.timestamp.max()]))
        data = Interactions(*(np.concatenate([getattr(data, c), getattr(extra, c)])
                              for c in ("user", "item", "weight", "timestamp")))
        model = train(data, dim=8, catalogue=catalogue, params=replace(FAST, ranker=False))
        assert model.ranker_text is None
        history = History.build(data, Index.of(data), catalogue=catalogue)
        top = recommend(history, np.asarray(model.user_vectors), np.asarray(model.item_vectors), Ranker(None),
                        np.arange(4), k=3, n_embedding=20, n_trending=5)
        items = model.item_ids[top]
        assert 1004 not in items[0]
        assert ((items - 1000) % 4 == np.arange(4)[:, None]).mean() > 0.8  # each user gets their own group

    def test_too_few_users_means_no_ranker(self) -> None:
        data, catalogue = taste_log(users=5)
        model = train(data, dim=4, catalogue=catalogue, params=FAST)
        assert model.ranker_text is None and model.meta["ranker"] == {}

    def test_nothing_to_train_on(self) -> None:
        empty = Interactions(user=np.array([], np.int64), item=np.array([], np.int64), weight=np.array([]),
                             timestamp=np.array([]))
        with pytest.raises(ValueError, match="no interactions"):
            train(empty)


class TestCatalogue:
    def test_align_fills_unknown_items_with_nothing(self) -> None:
        cat = Catalogue.build([5, 3], [["a", "b"], ["b"]], duration=[10.0, 20.0])
        aligned = cat.align(np.array([3, 4, 5]))
        assert aligned.categories.tolist() == [[1, -1], [-1, -1], [0, 1]]
        assert aligned.duration is not None
        assert aligned.duration[0] == 20.0 and np.isnan(aligned.duration[1])
