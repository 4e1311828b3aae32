"""Feed benchmark: a For You page at a million videos, against the raw vector search under it.

    .venv/bin/python bench/feed.py                                  # PostgreSQL at 127.0.0.1; 1M videos, 100k users
    .venv/bin/python bench/feed.py --videos 100000 --users 10000    # smaller

A fresh PostgreSQL database is created, migrated and filled with COPY: `--users` accounts, each
following ~20 creators, and `--videos` published public videos by them (hashtags from 50 topics).
A model with 64-d unit vectors for every video and user is generated (clustered by topic, so the
neighbours are meaningful) and saved where serving reads it, through `FeedModel.save` as training
does (which builds the IVF index at this size); serving loads it as in production.

Each of the `--samples` users measured has a week of history (`--history` viewed videos: impression
and watch events, a third completed, a tenth liked), so the signals path — recent events, likes,
dedupe against earlier impressions, "more like this" searches — does its real work.

Then, for those users, one after the other:
- **ours**: `feed.service.for_you(...)` — the whole service: the viewer's events and likes, follows,
  every candidate source (vector search for the viewer and for recent likes in one batch,
  trending, pools, fresh, following), the visibility filter, dedupe, scoring, the mixer;
- **anchor**: the raw exact top-k (k = 200, the personal source's) for the same user vector over the
  same vectors (faiss `IndexFlatIP`), nothing else; also printed, the raw top-k on the index
  serving uses (the IVF index stored with models of 100k+ items, feed.ann) and its recall@200
  against the exact one.
Printed: p50/p99 of both and the goal `p99(ours) ≤ 2 × p99(anchor) + 10 ms`.

Also the mixer's follow share: 10,000 pages of 10 through `feed.mixer.mix` with a realistic
candidate list (a fifth from followed creators), measured against the knob (goal ±1 pp), for
0.10 and 0.30.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import secrets
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent / "src"))
sys.path.insert(0, str(BENCH_DIR))

from social import NoDatabase, dsn_of, fresh_database, log, pct  # noqa: E402

TOPICS = 50
DIM = 64
FOLLOWS_PER_USER = 20


def topic_vectors(rng: np.random.Generator, n: int, topics: np.ndarray, spread: float) -> np.ndarray:
    centres = rng.normal(size=(TOPICS, DIM)).astype(np.float32)
    vectors = centres[topics] + spread * rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


async def generate(conn: object, args: argparse.Namespace, var_dir: Path) -> list[int]:
    import asyncpg

    assert isinstance(conn, asyncpg.Connection)
    from shua.core.ids import new_id
    from shua.feed.learning import model_folder
    from shua.feed.model import FeedModel

    rng = np.random.default_rng(args.seed)
    now = datetime.now(UTC)
    user_ids = np.array([new_id() for _ in range(args.users)], np.int64)
    log(f"users: {args.users:,}")
    await conn.copy_records_to_table("users", columns=[
        "id", "handle", "password_hash", "nickname", "bio", "role", "status", "created_at", "updated_at"],
        records=((int(uid), f"u{i:07d}", "!bench", f"用户{i}", "", "user", "active", now, now)
                 for i, uid in enumerate(user_ids)))
    log(f"videos: {args.videos:,}")
    video_ids = np.array([new_id() for _ in range(args.videos)], np.int64)
    creators = user_ids[rng.integers(0, max(1, args.users // 10), size=args.videos)]  # a tenth create
    video_topics = rng.integers(0, TOPICS, size=args.videos)

    def rows() -> object:
        for vid, owner, topic in zip(video_ids, creators, video_topics, strict=True):
            tag = f'["t{topic}"]'
            yield (int(vid), int(owner), f"#t{topic}", tag, "[]", "public", True, True, "ready", 1, 12000, 720, 1280,
                   0, now, now, now, now, "post")

    await conn.copy_records_to_table("videos", columns=[
        "id", "owner_id", "caption", "hashtags", "mentions", "visibility", "allow_comments", "allow_duets", "status",
        "process_attempts", "duration_ms", "width", "height", "cover_ms", "created_at", "updated_at", "playable_at",
        "ready_at", "purpose"], records=rows())
    log(f"follows: {args.users * FOLLOWS_PER_USER:,}")
    creator_pool = np.unique(creators)
    pairs = set()
    for uid in user_ids:
        for c in rng.choice(creator_pool, size=min(FOLLOWS_PER_USER, len(creator_pool)), replace=False):
            if int(c) != int(uid):
                pairs.add((int(uid), int(c)))
    await conn.copy_records_to_table("follows", columns=["follower_id", "followee_id", "status", "created_at"],
                                     records=((a, b, "active", now - timedelta(days=1)) for a, b in pairs))
    await conn.execute("ANALYZE")
    log("model: item and user vectors by topic, saved for serving")
    items = topic_vectors(rng, args.videos, video_topics, spread=0.6)
    users = topic_vectors(rng, args.users, rng.integers(0, TOPICS, size=args.users), spread=0.3)
    FeedModel(item_ids=video_ids, item_vectors=items, user_ids=user_ids, user_vectors=users,
              meta={"categories": [f"t{t}" for t in range(TOPICS)], "generated": "bench/feed.py"}).save(
        model_folder(var_dir))
    sample = [int(u) for u in rng.choice(user_ids, size=args.samples, replace=False)]
    log(f"history: {args.history} viewed videos (impression, watch, a third completed, a tenth liked) "
        f"for each of the {len(sample)} sampled users")
    events, likes = [], []
    for uid in sample:
        for k, vid in enumerate(rng.choice(video_ids, size=args.history, replace=False)):
            at = now - timedelta(minutes=int(rng.integers(1, 7 * 24 * 60)))
            kinds = ["impression", "watch"] + (["complete"] if k % 3 == 0 else [])
            events += [(new_id(), uid, str(uuid.uuid4()), int(vid), kind, 12000 if kind == "watch" else 0, 0,
                        12000, "personal", "", at, at) for kind in kinds]
            if k % 10 == 0:
                likes.append((uid, int(vid), at))
    await conn.copy_records_to_table("feed_events", columns=[
        "id", "user_id", "event_id", "video_id", "kind", "watch_ms", "replays", "duration_ms", "source",
        "request_id", "at", "received_at"], records=events)
    await conn.copy_records_to_table("likes", columns=["user_id", "video_id", "created_at"], records=likes)
    await conn.execute("ANALYZE")
    return sample


async def measure(args: argparse.Namespace, url: str, var_dir: Path, sample: list[int]) -> dict[str, float]:
    from shua.config import Settings
    from shua.feed import service
    from shua.web.app import create_app

    app = create_app(Settings(var_dir=var_dir, database_url=url, secret_key=secrets.token_urlsafe(16),
                              run_jobs_in_process=False, log_level="WARNING", _env_file=None),  # type: ignore[call-arg]
                     configure_logs=False)
    runtime = app.state.runtime
    services = service.services_of(runtime.extras, var_dir=var_dir, redis_url="")
    started = time.perf_counter()
    assert services.model.current() is not None
    log(f"model loaded into faiss in {time.perf_counter() - started:.1f} s")
    from shua.core.loop import freeze_startup_objects

    freeze_startup_objects()  # as `shua serve` does once its app is built
    import faiss

    serving = services.model.index
    assert serving is not None
    model = services.model.current()
    assert model is not None
    exact = faiss.IndexFlatIP(model.dim)  # the anchor: a raw exact top-k over the same vectors
    exact.add(np.ascontiguousarray(model.item_vectors, dtype=np.float32))
    log(f"serving index: {serving.kind} {model.meta.get('index')}")
    ours, anchor, served_raw, recalls, sizes = [], [], [], [], []
    import gc

    pauses: list[float] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:  # how much of the tail is the collector
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif info.get("generation") == 2:
            pauses.append((time.perf_counter() - gc_started[0]) * 1000)

    gc.callbacks.append(on_gc)
    for n, uid in enumerate(sample):
        vector = services.model.user_vector(uid)
        assert vector is not None
        query = vector.reshape(1, -1)
        t0 = time.perf_counter()
        _, truth = exact.search(query, 200)
        t1 = time.perf_counter()
        _, rows = serving.search(query, 200)
        t2 = time.perf_counter()
        async with runtime.database.transaction(write=False) as db:
            page = await service.for_you(db, services, viewer_id=uid, cursor=None, follow_share=0.1, limit=10)
        t3 = time.perf_counter()
        if n >= args.warmup:
            anchor.append((t1 - t0) * 1000)
            served_raw.append((t2 - t1) * 1000)
            ours.append((t3 - t2) * 1000)
            recalls.append(len(set(truth[0]) & set(rows[0])) / 200)
            sizes.append(len(page.items))
    gc.callbacks.remove(on_gc)
    log(f"full garbage collections while measuring: {len(pauses)}, longest {max(pauses, default=0):.1f} ms")
    await runtime.close()
    return {"ours_p50": pct(ours, 0.5), "ours_p99": pct(ours, 0.99), "anchor_p50": pct(anchor, 0.5),
            "anchor_p99": pct(anchor, 0.99), "index_p50": pct(served_raw, 0.5), "index_p99": pct(served_raw, 0.99),
            "recall": float(np.mean(recalls)), "kind": serving.kind, "page": float(np.mean(sizes))}


def follow_share(knob: float, pages: int = 10_000, seed: int = 1) -> float:
    from shua.feed.mixer import Candidate, MixState, mix

    rng = random.Random(seed)
    state, placed, followed = MixState(), 0, 0
    for _ in range(pages):
        ranked = [Candidate(video_id=i, owner_id=rng.randrange(500), score=rng.random(),
                            source="following" if i < 20 else "personal", in_network=i < 20,
                            topic=f"t{rng.randrange(TOPICS)}") for i in range(100)]
        ranked.sort(key=lambda c: c.score, reverse=True)
        state = MixState.from_json(state.to_json())
        page = mix(ranked, size=10, follow_share=knob, state=state)
        placed += len(page)
        followed += sum(c.in_network for c in page)
    return followed / placed


async def run(args: argparse.Namespace) -> int:
    import asyncpg

    var_dir = Path(tempfile.mkdtemp(prefix="shua-bench-feed-"))
    try:
        async with fresh_database(args.database_url, "shua_bench_feed", keep=args.keep_database) as url:
            conn = await asyncpg.connect(dsn_of(url))
            started = time.perf_counter()
            sample = await generate(conn, args, var_dir)
            await conn.close()
            log(f"generated in {time.perf_counter() - started:.0f} s")
            if args.profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
                results = await measure(args, url, var_dir, sample)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats("src/shua", 40)
            else:
                results = await measure(args, url, var_dir, sample)
    except NoDatabase as exc:
        print(exc, file=sys.stderr)
        return 2
    shares = {knob: follow_share(knob) for knob in (0.10, 0.30)}
    goal = 2 * results["anchor_p99"] + 10
    print(f"\nmachine: {platform.node()} {os.cpu_count()} CPUs, CPython {platform.python_version()}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{args.videos:,} videos × {DIM}-d, {args.users:,} users; {len(sample) - args.warmup} measured pages "
          f"of {results['page']:.1f} items\n")
    print(f"{'':<34}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'For You page (service, end to end)':<34}{results['ours_p50']:>10.2f}{results['ours_p99']:>10.2f}")
    print(f"{'raw exact top-200 (anchor)':<34}{results['anchor_p50']:>10.2f}{results['anchor_p99']:>10.2f}")
    print(f"{'raw top-200 on the serving index':<34}{results['index_p50']:>10.2f}{results['index_p99']:>10.2f}"
          f"   ({results['kind']}; recall@200 vs exact {results['recall']:.3f})")
    verdict = "met" if results["ours_p99"] <= goal else "MISSED"
    print(f"ratio p50 ours/anchor: {results['ours_p50'] / results['anchor_p50']:.2f}×, "
          f"p99: {results['ours_p99'] / results['anchor_p99']:.2f}×")
    print(f"goal p99 ≤ 2 × {results['anchor_p99']:.2f} + 10 = {goal:.2f} ms: {verdict}")
    for knob, share in shares.items():
        ok = "met" if abs(share - knob) <= 0.01 else "MISSED"
        print(f"follow share over 10,000 pages: knob {knob:.2f} → measured {share:.4f} (±1 pp: {ok})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--videos", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--history", type=int, default=100, help="viewed videos per sampled user")
    parser.add_argument("--keep-database", action="store_true", help="leave the generated database (to EXPLAIN)")
    parser.add_argument("--profile", action="store_true", help="print where the service's time goes (cProfile)")
    parser.add_argument("--seed", type=int, default=2026)
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
