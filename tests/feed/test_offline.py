"""Offline evaluation: the metrics against hand-computed values, the time split, each baseline on
data whose right answer is known, the dataset loaders, and `shua feed eval` end to end on the
synthetic KuaiRec fixture (and on MovieLens-100K when the shared data is on this machine)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from shua import cli
from shua.feed.offline import baselines, datasets, evaluate
from shua.feed.offline.metrics import ndcg, ndcg_at, recall, recall_at
from shua.feed.training import Interactions, split_by_time

FIXTURE = Path(__file__).parent / "fixtures" / "kuairec"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ML100K = SHARED / "ml-100k"


def interactions(rows: list[tuple[int, int, float, float]]) -> Interactions:
    user, item, weight, ts = zip(*rows, strict=True)
    return Interactions(user=np.array(user), item=np.array(item), weight=np.array(weight), timestamp=np.array(ts))


class TestMetrics:
    def test_recall_is_normalised_by_min_of_k_and_relevant(self) -> None:
        assert recall([1, 2, 3, 4], [2, 4, 9], k=2) == pytest.approx(1 / 2)
        assert recall([1, 2, 3, 4], [2, 4, 9], k=4) == pytest.approx(2 / 3)
        assert recall([5, 6], [9], k=2) == 0.0

    def test_binary_ndcg(self) -> None:
        expected = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
        assert ndcg([1, 2, 3], {2: 1.0, 3: 1.0}, k=3) == pytest.approx(expected)
        assert ndcg([2, 3, 1], {2: 1.0, 3: 1.0}, k=3) == pytest.approx(1.0)

    def test_graded_ndcg_prefers_the_bigger_gain_first(self) -> None:
        expected = (1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3))
        assert ndcg([7, 8], {8: 3.0, 7: 1.0}, k=2) == pytest.approx(expected)
        assert ndcg([8, 7], {8: 3.0, 7: 1.0}, k=2) == pytest.approx(1.0)

    def test_batched_forms_match_per_user(self) -> None:
        hits = np.array([[True, False, True], [False, False, False]])
        assert recall_at(hits, np.array([4, 1]), 3).tolist() == pytest.approx([2 / 3, 0.0])
        gains = np.array([[0.0, 2.0, 0.0]])
        ideal = np.array([[2.0, 0.0, 0.0]])
        assert ndcg_at(gains, ideal, 3)[0] == pytest.approx(1 / math.log2(3))


class TestSplitByTime:
    def test_last_fifth_of_each_user_is_held_out_and_never_earlier(self) -> None:
        rng = np.random.default_rng(3)
        rows = [(u, int(i), 1.0, float(t)) for u in range(20) for i, t in
                zip(rng.permutation(50)[: 5 + u], rng.integers(0, 1000, 5 + u), strict=False)]
        data = interactions(rows)
        mask, early, late = split_by_time(data, 0.2)
        assert len(early) + len(late) == len(data) and mask.sum() == len(late)
        for u in range(20):
            n = 5 + u
            assert (late.user == u).sum() == max(1, round(0.2 * n))
            before = early.timestamp[early.user == u].max()
            after = late.timestamp[late.user == u].min()
            assert before <= after
            # no held-out (user, item) pair is in the earlier part
            assert not set(late.item[late.user == u]) & set(early.item[early.user == u])

    def test_ties_are_broken_by_item_and_single_interactions_stay(self) -> None:
        data = interactions([(1, 9, 1.0, 5.0), (1, 3, 1.0, 5.0), (1, 4, 1.0, 1.0), (1, 5, 1.0, 2.0),
                             (1, 6, 1.0, 3.0), (2, 1, 1.0, 0.0)])
        _, early, late = split_by_time(data, 0.2)
        assert late.item.tolist() == [9]  # same time as item 3, higher id: later
        assert 1 in early.item and 2 in early.user


def positives(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    r = [u for u, items in enumerate(rows) for _ in items]
    c = [i for items in rows for i in items]
    return sp.csr_matrix((np.ones(len(c), np.float32), (r, c)), shape=(len(rows), n_items))


def rank_unseen(model: baselines.Baseline, x: sp.csr_matrix, user: int) -> list[int]:
    scores = model.scores(np.array([user]))[0]
    scores[x[user].indices] = -np.inf
    return [int(i) for i in np.argsort(-scores, kind="stable") if np.isfinite(scores[i])]


BLOCKS = [[0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1], [3, 4, 5], [3, 4, 5], [3, 4, 5], [3, 4]]


class TestBaselines:
    def test_most_popular_orders_by_positives(self) -> None:
        x = positives([[0, 2], [2], [2, 1], [0]], 4)
        model = baselines.MostPopular()
        model.fit(x)
        assert rank_unseen(model, x, 1)[:2] == [0, 1]

    def test_item_knn_recommends_the_co_occurring_item(self) -> None:
        x = positives([[0, 1], [0, 1], [2, 3], [2, 3], [2, 3], [0]], 4)
        model = baselines.ItemKNN(neighbours=2)
        model.fit(x)
        assert rank_unseen(model, x, 5)[0] == 1
        assert model.sim[0, 0] == 0 and model.sim[0, 1] == pytest.approx(2 / math.sqrt(3 * 2))

    @pytest.mark.parametrize("make", [lambda: baselines.ALS(factors=4, alpha=20.0, iterations=10),
                                      lambda: baselines.EASE(lam=1.0)], ids=["ALS", "EASE"])
    def test_completes_the_users_block(self, make: object) -> None:
        x = positives(BLOCKS, 6)
        model = make()  # type: ignore[operator]
        model.fit(x)
        assert rank_unseen(model, x, 3)[0] == 2
        assert rank_unseen(model, x, 7)[0] == 5

    def test_ease_has_a_zero_diagonal_and_matches_its_closed_form(self) -> None:
        x = positives(BLOCKS, 6)
        model = baselines.EASE(lam=2.0)
        model.fit(x)
        assert np.allclose(np.diag(model.b), 0)
        # Column j of B solves min ||X_j - X B_j||² + λ||B_j||² with B_jj = 0: check it directly.
        dense = x.toarray().astype(np.float64)
        for j in range(6):
            others = [i for i in range(6) if i != j]
            a = dense[:, others]
            direct = np.linalg.solve(a.T @ a + 2.0 * np.eye(5), a.T @ dense[:, j])
            assert np.allclose(model.b[others, j], direct, atol=1e-4)


class TestDatasets:
    def test_kuairec_fixture_loads_in_the_official_schema(self) -> None:
        data = datasets.load(FIXTURE)
        assert data.name == "kuairec (small_matrix)"
        inter = data.interactions
        assert len(inter) == 600 - 2  # two rows have no time
        assert inter.watch_ratio is not None and inter.liked is not None
        assert np.array_equal(data.relevant, inter.watch_ratio > 2.0)
        assert data.gain.max() <= 5.0 and data.positive_weight == 2.0
        cat = data.catalogue
        assert cat is not None and cat.duration is not None
        row = int(np.flatnonzero(cat.item == 4)[0])  # video 4: tags [27, 9] and first-level 高新数码
        names = {cat.category_names[c] for c in cat.categories[row] if c >= 0}
        assert names == {"tag:27", "tag:9", "cat:高新数码"}
        assert cat.duration[row] > 0

    def test_captions_for_the_demo(self) -> None:
        videos = datasets.load_captions(FIXTURE)
        assert len(videos) == 24
        first = videos[0]
        assert first.tags == ("高新数码", "合成") and first.categories == ("高新数码",)
        assert first.cover_text == "封面0" and videos[1].cover_text is None

    def test_shared_kuairec_side_captions(self) -> None:
        side = SHARED / "kuairec-side"
        if not side.exists():
            pytest.skip(f"{side} is not on this machine (the shared KuaiRec side tables)")
        videos = datasets.load_captions(side)
        assert len(videos) == 8582
        assert all(v.video_id % 5 for v in videos)
        assert sum(1 for v in videos if v.categories) > 8000

    def test_side_tables_alone_have_nothing_to_evaluate(self, tmp_path: Path) -> None:
        shutil.copy(FIXTURE / "kuairec_caption_category.csv", tmp_path)
        assert datasets.detect(tmp_path) == "kuairec-side"
        with pytest.raises(datasets.DatasetError, match="no interaction matrix"):
            datasets.load(tmp_path)

    def test_an_unknown_folder_is_a_clear_error(self, tmp_path: Path) -> None:
        with pytest.raises(datasets.DatasetError, match="no ratings"):
            datasets.load(tmp_path)

    def test_movielens_grouplens_layout(self, tmp_path: Path) -> None:
        (tmp_path / "u.data").write_text("1\t10\t5\t100\n1\t11\t2\t200\n2\t10\t4\t150\n", encoding="utf-8")
        genres = ["0"] * 19
        genres[1] = genres[5] = "1"
        (tmp_path / "u.item").write_text("10|A movie|01-Jan-1995||http://x|" + "|".join(genres) + "\n",
                                         encoding="latin-1")
        data = datasets.load(tmp_path)
        assert data.name == "ml-100k"
        assert data.interactions.weight.tolist() == [1.0, 0.0, 1.0]
        assert data.relevant.tolist() == [True, False, True]
        assert data.catalogue is not None and set(data.catalogue.category_names) == {"Action", "Comedy"}


class TestMakeSplit:
    def test_what_counts_as_relevant(self) -> None:
        # user 1 trained on items 10, 11; held out: 11 again (already seen), 12 (liked), 13 (not liked),
        # 99 (an item nobody trained on). User 2 has nothing relevant held out: not evaluated.
        train = interactions([(1, 10, 1.0, 0.0), (1, 11, 1.0, 1.0), (2, 12, 1.0, 0.0), (2, 13, 1.0, 0.0)])
        held = interactions([(1, 11, 1.0, 5.0), (1, 12, 1.0, 5.0), (1, 13, 0.0, 5.0), (1, 99, 1.0, 6.0),
                             (2, 10, 0.0, 5.0)])
        relevant = np.array([True, True, False, True, False])
        split = evaluate.make_split("validation", train, held, relevant, relevant.astype(np.float32),
                                    positive_weight=0.0, kmax=3)
        assert split.users.tolist() == [0]  # user 1's row
        assert split.n_relevant.tolist() == [2]  # 12 and the unseen 99; not 11 (seen), not 13
        items = split.index.items.tolist()
        assert split.relevant.toarray()[0].tolist() == [float(i == 12) for i in items]
        assert split.ideal[0].tolist() == [1.0, 1.0, 0.0]
        # the best possible ranking finds 12 but can never find 99
        ranked = np.array([[items.index(12), items.index(13), -1]])
        assert evaluate.measure(split, ranked, (3,))["recall@3"] == pytest.approx(0.5)


class TestEvaluate:
    def test_kuairec_fixture_end_to_end(self) -> None:
        report = evaluate.evaluate(datasets.load(FIXTURE), ks=(5, 10), tune=False)
        names = [r.name for r in report.results]
        assert names == ["most popular", "ItemKNN", "ALS", "EASE", "Shua"]
        for result in report.results:
            assert result.test is not None
            for value in [*result.validation.values(), *result.test.values()]:
                assert 0.0 <= value <= 1.0
        by_name = {r.name: r for r in report.results}
        # Every user prefers one tag group: learning that must beat ranking by popularity.
        shua, popular = by_name["Shua"], by_name["most popular"]
        assert shua.validation["ndcg@10"] > popular.validation["ndcg@10"]
        assert report.splits["validation"]["users"] > 20
        body = report.to_json()
        assert body["selection"] == "ndcg@10" and len(body["methods"]) == 5

    def test_tuning_tries_the_grid_on_validation(self) -> None:
        ease = next(m for m in evaluate.METHODS if m.name == "EASE")
        seen: list[str] = []
        report = evaluate.evaluate(datasets.load(FIXTURE), ks=(5,), tune=True, test=False, methods=[ease],
                                   progress=seen.append)
        result = report.results[0]
        assert result.tried == len(ease.grid) and result.test is None
        assert len(seen) == evaluate.steps(tune=True, test=False, methods=[ease])
        assert result.params in ease.grid

    def test_movielens_shua_beats_the_best_baseline_on_validation(self) -> None:
        if not ML100K.exists():
            pytest.skip(f"{ML100K} is not on this machine (MovieLens-100K may not be redistributed)")
        report = evaluate.evaluate(datasets.load(ML100K), tune=False, test=False)
        best = report.best_baseline
        assert best is not None and report.shua is not None
        assert report.beats_best_baseline(), (report.shua.validation, best.name, best.validation)
        margins = report.margins()
        assert margins["ndcg@20"] > 0 and margins["recall@20"] > 0, margins


runner = CliRunner()


class TestFeedEvalCommand:
    def test_prints_the_table_and_writes_json(self, tmp_path: Path) -> None:
        out = tmp_path / "eval.json"
        result = runner.invoke(cli.app, ["feed", "eval", "--data", str(FIXTURE), "--no-tune", "--k", "5", "--k", "10",
                                         "--json", str(out)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "Shua" in result.output and "EASE" in result.output and "recall@5" in result.output
        body = json.loads(out.read_text(encoding="utf-8"))
        assert body["ks"] == [5, 10] and body["dataset"] == "kuairec (small_matrix)"
        assert {m["name"] for m in body["methods"]} >= {"most popular", "ItemKNN", "ALS", "EASE"}

    def test_side_tables_say_there_is_nothing_to_evaluate(self, tmp_path: Path) -> None:
        shutil.copy(FIXTURE / "kuairec_caption_category.csv", tmp_path)
        result = runner.invoke(cli.app, ["feed", "eval", "--data", str(tmp_path)], env={"COLUMNS": "200"})
        assert result.exit_code == 1
        assert "no interaction matrix" in result.output

    def test_bad_options(self, tmp_path: Path) -> None:
        result = runner.invoke(cli.app, ["feed", "eval", "--data", str(FIXTURE), "--k", "0"])
        assert result.exit_code == 2
        result = runner.invoke(cli.app, ["feed", "eval", "--data", str(tmp_path / "missing")])
        assert result.exit_code == 1 and "not a folder" in result.output
