"""Public datasets, loaded as they are published, into `Interactions` plus what counts as
relevant when evaluating:

- **ml-100k** (MovieLens 100K): `ratings_shared.tsv` / RecBole `ml-100k.inter` / GroupLens `u.data`,
  genres from `ml-100k.item` / `u.item`. Implicit positives are ratings ≥ 4 (weight 1, like);
  lower ratings are "seen" (weight 0): never recommended again, not learned from.
- **kuairec** (the official KuaiRec 2.0 release): `small_matrix.csv` or `big_matrix.csv`
  (in the folder or its `data/`), tags from `item_categories.csv`, first-level categories from
  `kuairec_caption_category.csv` when present. Weight = watch ratio; "liked" (relevant for
  recall) = watch ratio > 2.0, the KuaiRec README's own suggestion; NDCG gain = watch ratio
  capped at 5 (a clip left looping 100× should not decide a user's score).
- **kuairec-side** (`captions_clean_shared.csv` / `kuairec_caption_category.csv` alone): captions
  and categories without any interactions — `load_captions` reads them for demo videos; there is
  nothing to evaluate.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from shua.feed.training import Bools, Catalogue, Floats, Interactions

Kind = Literal["auto", "ml-100k", "kuairec", "kuairec-side"]
LIKE_RATIO = 2.0
GAIN_CAP = 5.0
ML_RATINGS = ("ratings_shared.tsv", "ml-100k.inter", "u.data")
CAPTIONS = ("kuairec_caption_category.csv", "captions_clean_shared.csv")
MATRICES = ("small_matrix.csv", "big_matrix.csv")


class DatasetError(Exception):
    """The folder is not a dataset we can read, or has nothing to evaluate."""


@dataclass(frozen=True)
class Dataset:
    name: str
    interactions: Interactions
    relevant: Bools  # per row: counts for recall
    gain: Floats  # per row: NDCG gain
    catalogue: Catalogue | None
    positive_weight: float  # baselines learn from pairs whose weight exceeds this
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class VideoCaption:
    video_id: int
    caption: str
    cover_text: str | None
    tags: tuple[str, ...]
    categories: tuple[str, ...]  # first, second, third level names that are known


def _find(folder: Path, names: tuple[str, ...]) -> Path | None:
    for base in (folder, folder / "data"):
        for name in names:
            if (base / name).is_file():
                return base / name
    return None


def detect(folder: Path) -> Kind:
    if _find(folder, ML_RATINGS):
        return "ml-100k"
    if _find(folder, MATRICES):
        return "kuairec"
    if _find(folder, CAPTIONS):
        return "kuairec-side"
    raise DatasetError(f"{folder}: no ratings (ml-100k), interaction matrix (KuaiRec) or captions found")


def load(folder: Path, kind: Kind = "auto", *, matrix: Literal["small", "big"] | None = None) -> Dataset:
    """The dataset at `folder`, of the given kind or the one its files show."""
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder")
    kind = detect(folder) if kind == "auto" else kind
    if kind == "ml-100k":
        return load_ml100k(folder)
    if kind == "kuairec":
        return load_kuairec(folder, matrix=matrix)
    raise DatasetError(
        f"{folder} holds KuaiRec side tables (captions, categories, user features) but no interaction matrix, "
        "so there is nothing to evaluate. Download the official KuaiRec 2.0 release (small_matrix.csv, "
        "big_matrix.csv) to evaluate on KuaiRec; the captions seed the demo videos.")


def _columns(path: Path, delimiter: str, wanted: Mapping[str, tuple[str, ...]], *, header: bool = True,
             positions: dict[str, int] | None = None) -> dict[str, npt.NDArray[np.float64]]:
    """Numeric columns by name (first alias found in the header), or by position without one.
    Empty fields are NaN. Uses numpy's C parser: millions of rows in seconds."""
    if header:
        with path.open(encoding="utf-8", newline="") as f:
            names = [n.split(":")[0].strip() for n in next(csv.reader(f, delimiter=delimiter))]
        where = {}
        for key, aliases in wanted.items():
            found = next((names.index(a) for a in aliases if a in names), None)
            if found is None:
                raise DatasetError(f"{path.name}: no column {' or '.join(aliases)}")
            where[key] = found
    else:
        where = dict(positions or {})
    cols = sorted(set(where.values()))

    def number(text: str) -> float:
        return float(text) if text.strip() else math.nan

    options = {"delimiter": delimiter, "skiprows": 1 if header else 0, "usecols": cols, "dtype": np.float64,
               "ndmin": 2, "encoding": "utf-8"}
    try:
        table = np.loadtxt(path, **options)  # type: ignore[call-overload]
    except ValueError:
        try:  # some fields are empty: the slower per-field path turns them into NaN
            table = np.loadtxt(path, converters=dict.fromkeys(cols, number), **options)  # type: ignore[call-overload]
        except ValueError as exc:
            raise DatasetError(f"{path.name}: {exc}") from exc
    return {key: table[:, cols.index(col)] for key, col in where.items()}


def _genres_ml(folder: Path) -> Catalogue | None:
    recbole, grouplens = _find(folder, ("ml-100k.item",)), _find(folder, ("u.item",))
    items: list[int] = []
    genres: list[list[str]] = []
    if recbole:
        with recbole.open(encoding="utf-8", errors="replace", newline="") as f:
            reader = csv.reader(f, delimiter="\t")
            head = [n.split(":")[0] for n in next(reader)]
            at, cls = head.index("item_id"), head.index("class")
            for row in reader:
                if len(row) > max(at, cls):
                    items.append(int(row[at]))
                    genres.append(row[cls].split())
    elif grouplens:
        names = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
                 "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
                 "War", "Western"]
        with grouplens.open(encoding="latin-1", newline="") as f:
            for row in csv.reader(f, delimiter="|"):
                if len(row) >= 24:
                    items.append(int(row[0]))
                    genres.append([n for n, flag in zip(names, row[-19:], strict=True) if flag == "1"])
    return Catalogue.build(items, genres) if items else None


def load_ml100k(folder: Path) -> Dataset:
    path = _find(folder, ML_RATINGS)
    if path is None:
        raise DatasetError(f"{folder}: no ratings file ({', '.join(ML_RATINGS)})")
    names = {"user": ("user_id",), "item": ("item_id",), "rating": ("rating",), "timestamp": ("timestamp",)}
    if path.name == "u.data":
        cols = _columns(path, "\t", names, header=False, positions={"user": 0, "item": 1, "rating": 2, "timestamp": 3})
    else:
        cols = _columns(path, "\t", names)
    rating = cols["rating"]
    keep = ~np.isnan(rating) & ~np.isnan(cols["timestamp"])
    liked = rating[keep] >= 4
    interactions = Interactions(user=cols["user"][keep].astype(np.int64), item=cols["item"][keep].astype(np.int64),
                                weight=liked.astype(np.float32),
                                timestamp=cols["timestamp"][keep], liked=liked)
    return Dataset(
        name="ml-100k", interactions=interactions, relevant=liked, gain=liked.astype(np.float32),
        catalogue=_genres_ml(folder), positive_weight=0.0,
        notes=(f"{path.name}: {len(interactions):,} ratings; positives = rating ≥ 4 "
               f"({liked.mean():.1%}); lower ratings count as seen (excluded), not as signal",
               "side information: genres"))


def _bracket_list(text: str) -> list[str]:
    inner = text.strip().strip("[]")
    return [p.strip().strip("'\"") for p in inner.split(",") if p.strip().strip("'\"")]


def _kuairec_catalogue(folder: Path, videos: npt.NDArray[np.int64], durations: dict[int, float]) -> Catalogue:
    labels: dict[int, list[str]] = {int(v): [] for v in videos}
    tags = _find(folder, ("item_categories.csv",))
    if tags:
        with tags.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                vid = int(row.get("video_id") or row.get("photo_id") or -1)
                if vid in labels:
                    labels[vid] += [f"tag:{t}" for t in _bracket_list(row.get("feat", ""))]
    captions = _find(folder, ("kuairec_caption_category.csv",))
    if captions:
        for video in load_captions(captions.parent):
            if video.video_id in labels and video.categories:
                labels[video.video_id].append(f"cat:{video.categories[0]}")
    order = sorted(labels)
    return Catalogue.build(order, [labels[v] for v in order], duration=[durations.get(v, np.nan) for v in order])


def load_kuairec(folder: Path, *, matrix: Literal["small", "big"] | None = None) -> Dataset:
    names = (f"{matrix}_matrix.csv",) if matrix else MATRICES
    path = _find(folder, names)
    if path is None:
        raise DatasetError(f"{folder}: no {' or '.join(names)}")
    cols = _columns(path, ",", {"user": ("user_id",), "item": ("video_id", "photo_id"),
                                "duration": ("video_duration", "photo_duration"), "timestamp": ("timestamp",),
                                "watch_ratio": ("watch_ratio",)})
    ratio, ts = cols["watch_ratio"], cols["timestamp"]
    keep = ~np.isnan(ratio) & ~np.isnan(ts)
    ratio = ratio[keep]
    interactions = Interactions(user=cols["user"][keep].astype(np.int64), item=cols["item"][keep].astype(np.int64),
                                weight=ratio.astype(np.float32),
                                timestamp=ts[keep], watch_ratio=ratio.astype(np.float32), liked=ratio > LIKE_RATIO)
    timed = ~np.isnan(cols["duration"][keep])
    videos, first = np.unique(interactions.item[timed], return_index=True)
    durations = dict(zip(videos.tolist(), (cols["duration"][keep][timed][first] / 1000.0).tolist(), strict=True))
    dropped = int((~keep).sum())
    return Dataset(
        name=f"kuairec ({path.stem})", interactions=interactions, relevant=ratio > LIKE_RATIO,
        gain=np.minimum(ratio, GAIN_CAP).astype(np.float32),
        catalogue=_kuairec_catalogue(folder, np.unique(interactions.item), durations), positive_weight=LIKE_RATIO,
        notes=(f"{path.name}: {len(interactions):,} plays" + (f" ({dropped:,} without a time dropped)" if dropped
                                                            else ""),
               f"liked (recall) = watch ratio > {LIKE_RATIO:g}; NDCG gain = min(watch ratio, {GAIN_CAP:g}); "
               "baselines learn from liked plays, Shua from every watch ratio"))


def load_captions(folder: Path) -> list[VideoCaption]:
    """KuaiRec's captions, hashtags and 3-level categories (for realistic demo videos)."""
    path = _find(folder, CAPTIONS)
    if path is None:
        raise DatasetError(f"{folder}: no {' or '.join(CAPTIONS)}")

    def known(value: str | None) -> str | None:
        value = (value or "").strip()
        return None if not value or value == "UNKNOWN" else value

    out: list[VideoCaption] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            try:
                vid = int(row["video_id"])
            except (KeyError, TypeError, ValueError):
                continue
            cats = [known(row.get(f"{level}_level_category_name")) for level in ("first", "second", "third")]
            out.append(VideoCaption(video_id=vid, caption=(row.get("caption") or "").replace("\r", " ").strip(),
                                    cover_text=known(row.get("manual_cover_text")),
                                    tags=tuple(_bracket_list(row.get("topic_tag") or "")),
                                    categories=tuple(c for c in cats if c)))
    return out

