"""Social benchmark: the Friends tab page and "people you may know" on a big graph.

    .venv/bin/python bench/social.py                                   # PostgreSQL at 127.0.0.1, 100k users, 5M follows
    .venv/bin/python bench/social.py --users 20000 --follows 1000000   # smaller
    .venv/bin/python bench/social.py --database-url postgresql+asyncpg://postgres@host:5432/postgres

A fresh PostgreSQL database is created (and dropped at the end), migrated with Alembic, and
filled with COPY: `--users` accounts, `--follows` follow edges (each user follows ~follows/users
others, popular accounts drawn from a Zipf-like law, a share of edges followed back so there are
friends), the friendships and counters those imply, three videos per user, and live moods and
daily posts for a fraction of users.

Then, for `--samples` random users who have friends, each call is timed end to end through the
real app (FastAPI in process over ASGI, bearer token, JSON out) — GET /api/v1/friends/feed and
GET /api/v1/people/suggestions — and the same result's core query, written by hand as one SQL
statement, is timed on a bare asyncpg connection: the anchor. Printed: p50 and p99 of each and
the ratio ours/anchor (lower is better; it is the price of the service layer, visibility rules,
blocks, and serialisation over the bare query).

Exit status 0 after a complete run, 2 when PostgreSQL is unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YEAR_S = 365 * 86400
sys.path.insert(0, str(ROOT / "src"))

FRIENDS_SQL = """
SELECT kind, id FROM (
  (SELECT 'video' AS kind, v.id FROM videos v JOIN friendships f ON f.friend_id = v.owner_id
    WHERE f.user_id = $1 AND v.visibility IN ('public', 'friends') AND v.purpose = 'post'
      AND v.status NOT IN ('deleted', 'failed') AND v.playable_at IS NOT NULL
    ORDER BY v.id DESC LIMIT 10)
  UNION ALL
  (SELECT 'daily', d.id FROM daily_posts d JOIN friendships f ON f.friend_id = d.author_id
    WHERE f.user_id = $1 AND d.deleted_at IS NULL AND d.expires_at > now() ORDER BY d.id DESC LIMIT 10)
  UNION ALL
  (SELECT 'mood', m.id FROM moods m JOIN friendships f ON f.friend_id = m.user_id
    WHERE f.user_id = $1 AND m.cleared_at IS NULL AND m.expires_at > now() ORDER BY m.id DESC LIMIT 10)
) merged ORDER BY id DESC LIMIT 10
"""
SUGGEST_SQL = """
SELECT f2.friend_id, count(*) AS mutual
FROM friendships f1 JOIN friendships f2 ON f2.user_id = f1.friend_id
WHERE f1.user_id = $1 AND f2.friend_id <> $1
  AND NOT EXISTS (SELECT 1 FROM follows x WHERE x.follower_id = $1 AND x.followee_id = f2.friend_id)
GROUP BY f2.friend_id ORDER BY mutual DESC, f2.friend_id DESC LIMIT 20
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def dsn_of(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


class NoDatabase(Exception):
    """PostgreSQL cannot be reached: the bench says so and exits 2."""


@contextlib.asynccontextmanager
async def fresh_database(database_url: str, prefix: str, *, keep: bool = False) -> AsyncIterator[str]:
    """A new, migrated PostgreSQL database for one bench run (its URL), dropped afterwards
    unless `keep` (to EXPLAIN what was measured)."""
    import asyncpg

    from shua.core.migrate import upgrade_async

    name = f"{prefix}_{os.getpid()}"
    admin = dsn_of(database_url)
    try:
        conn = await asyncpg.connect(admin)
    except (OSError, asyncpg.PostgresError) as exc:
        raise NoDatabase(f"cannot reach PostgreSQL at {admin}: {exc}") from exc
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = with_database(database_url, name)
    try:
        await upgrade_async(url)
        yield url
    finally:
        if keep:
            log(f"kept the database: {url}")
        else:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


def make_edges(users: int, follows: int, reciprocity: float, rng: random.Random) -> list[tuple[int, int]]:
    """Unique (follower, followee) index pairs, no self-follows, popularity skewed like a real app."""
    popularity = list(range(users))
    rng.shuffle(popularity)  # which user has which popularity rank
    cumulative = list(itertools.accumulate(1.0 / (rank + 20.0) ** 0.75 for rank in range(1, users + 1)))
    one_way = int(follows / (1 + reciprocity))
    followees = [popularity[i] for i in rng.choices(range(users), cum_weights=cumulative, k=one_way)]
    keys: set[int] = set()
    for followee in followees:
        follower = rng.randrange(users)
        if follower == followee:
            continue
        keys.add(follower * users + followee)
        if rng.random() < reciprocity:
            keys.add(followee * users + follower)
        if len(keys) >= follows:
            break
    return [(key // users, key % users) for key in keys]


async def generate(conn: object, args: argparse.Namespace) -> list[int]:
    import asyncpg

    assert isinstance(conn, asyncpg.Connection)
    from shua.core.ids import new_id

    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    ids = [new_id() for _ in range(args.users)]
    log(f"users: {args.users:,}")
    await conn.copy_records_to_table("users", columns=[
        "id", "handle", "password_hash", "nickname", "bio", "role", "status", "created_at", "updated_at"], records=(
        (uid, f"u{i:07d}", "!bench", f"用户{i}", "", "user", "active", now, now) for i, uid in enumerate(ids)))
    log(f"follow edges: generating {args.follows:,}")
    edges = make_edges(args.users, args.follows, args.reciprocity, rng)
    log(f"follow edges: copying {len(edges):,}")
    await conn.copy_records_to_table("follows", columns=["follower_id", "followee_id", "status", "created_at"],
                                     records=((ids[a], ids[b], "active", now - timedelta(seconds=rng.randrange(YEAR_S)))
                                              for a, b in edges))
    log("friendships and counters from the follows")
    await conn.execute("""
        INSERT INTO friendships (user_id, friend_id, created_at)
        SELECT a.follower_id, a.followee_id, greatest(a.created_at, b.created_at)
        FROM follows a JOIN follows b ON b.follower_id = a.followee_id AND b.followee_id = a.follower_id""")
    await conn.execute("""
        INSERT INTO user_stats (user_id, followers, following, friends, likes_received, pending_requests)
        SELECT u.id,
               (SELECT count(*) FROM follows f WHERE f.followee_id = u.id),
               (SELECT count(*) FROM follows f WHERE f.follower_id = u.id),
               (SELECT count(*) FROM friendships f WHERE f.user_id = u.id), 0, 0
        FROM users u""")
    log(f"videos: {3 * args.users:,}; moods and daily posts for a fifth of users")
    video_rows = []
    for uid in ids:
        for _ in range(3):
            vid = new_id()
            visibility = "friends" if rng.random() < 0.1 else "public"
            video_rows.append((vid, uid, "bench", [], [], visibility, True, True, "ready", 1, 15000, 720, 1280, 0,
                               now, now, now, now, "post"))
    await conn.copy_records_to_table("videos", columns=[
        "id", "owner_id", "caption", "hashtags", "mentions", "visibility", "allow_comments", "allow_duets", "status",
        "process_attempts", "duration_ms", "width", "height", "cover_ms", "created_at", "updated_at", "playable_at",
        "ready_at", "purpose"], records=[(*r[:3], "[]", "[]", *r[5:]) for r in video_rows])
    chosen = rng.sample(range(args.users), args.users // 5)
    await conn.copy_records_to_table("moods", columns=[
        "id", "user_id", "tag", "text", "visibility", "created_at", "expires_at"], records=(
        (new_id(), ids[i], "happy", "bench", "friends", now, now + timedelta(hours=24)) for i in chosen))
    await conn.copy_records_to_table("daily_posts", columns=[
        "id", "author_id", "kind", "photo_key", "caption", "created_at", "expires_at"], records=(
        (new_id(), ids[i], "photo", f"daily/{ids[i]}/bench.jpg", "bench", now, now + timedelta(hours=24))
        for i in chosen[: len(chosen) // 2]))
    await conn.execute("ANALYZE")
    rows = await conn.fetch("SELECT user_id FROM user_stats WHERE friends > 0 ORDER BY random() LIMIT $1",
                            args.samples)
    return [r["user_id"] for r in rows]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(args: argparse.Namespace, url: str, sample: list[int]) -> dict[str, dict[str, float]]:
    import asyncpg
    import httpx2

    from shua.accounts import service as accounts
    from shua.config import Settings
    from shua.web.app import create_app

    var = Path(tempfile.mkdtemp(prefix="shua-bench-social-"))
    app = create_app(Settings(var_dir=var, database_url=url, secret_key=secrets.token_urlsafe(16),
                              run_jobs_in_process=False, log_json=True, log_level="WARNING",
                              api_write_rate="100000/minute", _env_file=None),  # type: ignore[call-arg]
                     configure_logs=False)
    runtime = app.state.runtime
    tokens = {}
    async with runtime.database.transaction() as db:
        for uid in sample:
            user = await accounts.get_user(db, ref=str(uid))
            _, tokens[uid] = await accounts.create_session(db, user=user, kind="api", user_agent="bench",
                                                           ip="127.0.0.1", days=1)
    conn = await asyncpg.connect(dsn_of(url))
    results: dict[str, dict[str, float]] = {}
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://bench") as client:
        for name, path, sql in (("friends tab", "/api/v1/friends/feed", FRIENDS_SQL),
                                ("people you may know", "/api/v1/people/suggestions", SUGGEST_SQL)):
            ours, anchor = [], []
            for uid in sample[: min(20, len(sample))]:  # warm both paths and the caches
                await client.get(path, headers={"Authorization": f"Bearer {tokens[uid]}"})
                await conn.fetch(sql, uid)
            for uid in sample:
                started = time.perf_counter()
                r = await client.get(path, headers={"Authorization": f"Bearer {tokens[uid]}"})
                ours.append((time.perf_counter() - started) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{path} answered {r.status_code}: {r.text[:200]}")
                started = time.perf_counter()
                await conn.fetch(sql, uid)
                anchor.append((time.perf_counter() - started) * 1000)
            results[name] = {"p50": pct(ours, 0.5), "p99": pct(ours, 0.99), "anchor_p50": pct(anchor, 0.5),
                             "anchor_p99": pct(anchor, 0.99), "mean": statistics.fmean(ours)}
    await conn.close()
    await runtime.close()
    return results


async def run(args: argparse.Namespace) -> int:
    import asyncpg

    try:
        async with fresh_database(args.database_url, "shua_bench_social") as url:
            conn = await asyncpg.connect(dsn_of(url))
            started = time.perf_counter()
            sample = await generate(conn, args)
            counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}")  # noqa: S608 - fixed table names
                      for t in ("users", "follows", "friendships", "videos")}
            await conn.close()
            log(f"generated in {time.perf_counter() - started:.0f} s: {counts}")
            results = await measure(args, url, sample)
    except NoDatabase as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"\nmachine: {platform.node()} {os.cpu_count()} CPUs, {platform.python_implementation()} "
          f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"graph: {counts['users']:,} users, {counts['follows']:,} follows, {counts['friendships']:,} "
          f"friendship rows, {counts['videos']:,} videos; {len(sample)} sampled users with friends\n")
    print(f"{'call':<22}{'p50 ms':>9}{'p99 ms':>9}{'SQL p50':>9}{'SQL p99':>9}{'p50 ratio':>11}")
    for name_, r in results.items():
        print(f"{name_:<22}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['anchor_p50']:>9.2f}{r['anchor_p99']:>9.2f}"
              f"{r['p50'] / r['anchor_p50']:>10.1f}×")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=5_000_000)
    parser.add_argument("--reciprocity", type=float, default=0.3, help="share of follows that are followed back")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
