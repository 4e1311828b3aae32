"""Approximate nearest neighbours for big catalogues: an inverted-file index (faiss `IndexIVFFlat`,
inner product) over the item vectors, built when a model is saved and stored beside it.

An exact scan (`IndexFlatIP`) reads every vector for every query: at a million 64-d items that is
~260 MB and tens of milliseconds per query on a small box, and For You asks several queries a page
(the viewer's taste and "more like" each recent like). The IVF index clusters the items into
√n lists (k-means on a sample) and a query scans only the `nprobe` lists nearest to it; recall
against the exact top-k is measured by `bench/feed.py`. Below `IVF_MIN_ITEMS` the exact scan is
cheap and exact, and no index file is written. Building takes seconds at a million items, so it
happens in training, never on a request.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger("shua.feed")
IVF_MIN_ITEMS = 100_000
IVF_FILE = "items.ivf"
TRAIN_PER_LIST = 64  # k-means sample: this many vectors per list (faiss wants ≥ 39)


def ivf_params(n_items: int) -> tuple[int, int]:
    """(lists, lists probed per query) for a catalogue of `n_items`."""
    nlist = max(16, round(math.sqrt(n_items)))
    return nlist, max(8, nlist // 20)  # at a million: 1000 lists, 50 probed, recall@200 ≈ 0.9, ~2 ms


def build_ivf(vectors: npt.NDArray[np.float32], path: Path, *, seed: int = 0) -> dict[str, Any]:
    """Write an IVF index over `vectors` (row i is item i) to `path`; its parameters for meta.json."""
    import faiss

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    nlist, nprobe = ivf_params(len(data))
    quantizer = faiss.IndexFlatIP(data.shape[1])
    index = faiss.IndexIVFFlat(quantizer, data.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = data[rng.choice(len(data), size=min(len(data), nlist * TRAIN_PER_LIST), replace=False)]
    index.train(sample)
    index.add(data)
    index.nprobe = nprobe
    faiss.write_index(index, str(path))
    return {"kind": "ivf", "lists": nlist, "probe": nprobe}


def load_ivf(path: Path, n_items: int) -> Any | None:
    """The stored index if it is there, readable and covers exactly `n_items` items, else None
    (the caller scans exactly instead: slower, never wrong)."""
    import faiss

    if not path.exists():
        return None
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        log.warning("feed: unreadable vector index %s (%s); searching exactly", path, str(exc).splitlines()[0])
        return None
    if index.ntotal != n_items:
        log.warning("feed: vector index %s has %s items, the model %s; searching exactly", path, index.ntotal, n_items)
        return None
    return index
