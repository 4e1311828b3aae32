"""Search relevance on real Chinese text: Shua's ranking against plain bm25 on unsegmented text.

    .venv/bin/python bench/search_relevance.py                     # ../shared/data
    .venv/bin/python bench/search_relevance.py --data /path/to/data

Two labelled corpora from ../shared/data (read their SOURCE.txt): THUCNews headlines (10 000,
ten classes) and KuaiRec captions (first-level category). Each is split in half by a seeded
shuffle. From the first half, the words most typical of each class (jieba words of two or more
characters, by smoothed log-odds of the class against the rest, seen at least 15 times) become
queries: the top five words of each class alone, and the first with the third as a two-word
query. The second half is indexed three ways in one SQLite file and every query is run on each:

    shua        Shua's documents and ranking (search.service.text_ranked: jieba words, bigrams
                and characters, pinyin, OR of terms, bm25 per column, the all-parts boost)
    unsegmented plain FTS5 bm25 over the raw text (unicode61: a run of Chinese is one token)
    trigram     FTS5's trigram tokenizer over the raw text (a stronger baseline; it cannot
                match queries shorter than three characters)

A result is relevant when its class is the query's class. Printed per corpus and method:
precision@10 and NDCG@10 (binary gains), averaged over queries, and the share of queries with
no result at all. Popularity and freshness are not part of this check (no engagement here).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import math
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

K = 10


@dataclass
class Doc:
    id: int
    text: str
    label: str


def thucnews(data: Path) -> list[Doc]:
    folder = data / "thucnews-titles"
    classes = (folder / "class.txt").read_text(encoding="utf-8").split()
    docs = []
    for n, line in enumerate((folder / "dev.txt").read_text(encoding="utf-8").splitlines()):
        text, _, label = line.rpartition("\t")
        if text and label.isdigit():
            docs.append(Doc(id=n + 1, text=text, label=classes[int(label)]))
    return docs


def kuairec(data: Path) -> list[Doc]:
    docs = []
    with (data / "kuairec-side" / "captions_clean_shared.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = " ".join(t for t in (row["caption"], row["manual_cover_text"]) if t and t != "UNKNOWN")
            label = row["first_level_category_name"]
            if len(text) >= 4 and label and label != "UNKNOWN":
                docs.append(Doc(id=int(row["video_id"]) + 1, text=text, label=label))
    labels = Counter(d.label for d in docs)
    return [d for d in docs if labels[d.label] >= 40]  # classes big enough to judge ten results


def make_queries(train: list[Doc], *, per_class: int = 5, min_count: int = 15) -> list[tuple[str, str]]:
    from shua.search.analysis import SEGMENTER, STOP_WORDS

    in_class: dict[str, Counter[str]] = defaultdict(Counter)
    overall: Counter[str] = Counter()
    for doc in train:
        words = {w for w in SEGMENTER.tokenizer().cut(doc.text) if len(w) >= 2 and w not in STOP_WORDS
                 and any("\u4e00" <= c <= "\u9fff" for c in w)}
        in_class[doc.label].update(words)
        overall.update(words)
    total = sum(overall.values())
    queries = []
    for label, counts in sorted(in_class.items()):
        size = sum(counts.values())

        def odds(word: str, counts: Counter[str] = counts, size: int = size) -> float:
            inside, outside = counts[word] + 0.5, overall[word] - counts[word] + 0.5
            return math.log(inside / (size - inside + 1)) - math.log(outside / (total - size - outside + 1))

        best = sorted((w for w in counts if overall[w] >= min_count), key=odds, reverse=True)[:per_class]
        queries += [(w, label) for w in best]
        if len(best) >= 3:
            queries.append((f"{best[0]} {best[2]}", label))
    return queries


def scores(ranked: list[str], label: str) -> tuple[float, float]:
    gains = [1.0 if r == label else 0.0 for r in ranked[:K]]
    precision = sum(gains) / K
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(K))
    return precision, dcg / ideal


def fts_query(text: str) -> str:
    return " OR ".join('"' + part.replace('"', '""') + '"' for part in text.split())


async def evaluate(name: str, docs: list[Doc]) -> dict[str, tuple[float, float, float]]:
    from sqlalchemy import insert

    from shua.core.db import Database
    from shua.core.migrate import upgrade_async
    from shua.search import index, service
    from shua.search.models import VIDEO, SearchDoc

    rng = random.Random(2026)
    shuffled = docs[:]
    rng.shuffle(shuffled)
    train, test = shuffled[: len(docs) // 2], shuffled[len(docs) // 2:]
    queries = make_queries(train)
    label_of = {d.id: d.label for d in test}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "relevance.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_async(url)
        database = Database(url)
        async with database.transaction() as db:
            rows = []
            for d in test:
                tokens = index.text_tokens(d.text)
                rows.append(dict(id=d.id, kind=VIDEO, visibility="public", tags=tokens.tags, words=tokens.words,
                                 pinyin=tokens.pinyin, grams=tokens.grams))
            await db.execute(insert(SearchDoc), rows)
        raw = sqlite3.connect(path)
        raw.execute("CREATE VIRTUAL TABLE raw_fts USING fts5(body)")
        raw.execute("CREATE VIRTUAL TABLE tri_fts USING fts5(body, tokenize='trigram')")
        raw.executemany("INSERT INTO raw_fts(rowid, body) VALUES (?, ?)", [(d.id, d.text) for d in test])
        raw.executemany("INSERT INTO tri_fts(rowid, body) VALUES (?, ?)", [(d.id, d.text) for d in test])
        raw.commit()
        results: dict[str, list[tuple[float, float, bool]]] = defaultdict(list)
        for query, label in queries:
            async with database.transaction(write=False) as db:
                ours = await service.text_ranked(db, query, limit=K)
            results["shua"].append((*scores([label_of[i] for i in ours], label), not ours))
            for method, table in (("unsegmented", "raw_fts"), ("trigram", "tri_fts")):
                ids = [r[0] for r in raw.execute(
                    f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY bm25({table}) LIMIT {K}",  # noqa: S608
                    (fts_query(query),))]
                results[method].append((*scores([label_of[i] for i in ids], label), not ids))
        raw.close()
        await database.dispose()
    print(f"\n{name}: {len(test)} documents indexed, {len(queries)} queries over "
          f"{len({lbl for _, lbl in queries})} classes (e.g. {', '.join(q for q, _ in queries[:4])})")
    print(f"  {'method':<12} {'P@10':>6} {'NDCG@10':>8} {'no result':>10}")
    summary = {}
    for method, rows in results.items():
        p = sum(r[0] for r in rows) / len(rows)
        n = sum(r[1] for r in rows) / len(rows)
        empty = sum(r[2] for r in rows) / len(rows)
        summary[method] = (p, n, empty)
        print(f"  {method:<12} {p:>6.3f} {n:>8.3f} {empty:>9.0%}")
    return summary


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    if not (args.data / "thucnews-titles").exists() or not (args.data / "kuairec-side").exists():
        print(f"no data at {args.data}: pass --data (a folder with thucnews-titles/ and kuairec-side/)")
        return 2
    started = time.perf_counter()
    from shua.search.analysis import SEGMENTER

    SEGMENTER.tokenizer()
    await evaluate("THUCNews headlines", thucnews(args.data))
    await evaluate("KuaiRec captions", kuairec(args.data))
    print(f"\n({time.perf_counter() - started:.0f} s, {time.strftime('%Y-%m-%d')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
