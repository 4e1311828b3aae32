"""`shua social recount`: counters knocked off by hand come back to the truth, the command says
how many rows were off, and a recount racing live likes loses none of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from shua import cli
from shua.config import get_settings
from shua.core.db import Database
from shua.social import engagement, graph, recount
from shua.social.engagement_models import Comment, VideoStats
from shua.social.models import UserStats
from tests.factories import make_user, make_video
from tests.social.test_comments import comment
from tests.social.test_engagement import engagement_of, video_of
from tests.social.test_graph import sign_up_all


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("SHUA_DATABASE_URL", database_url)
    monkeypatch.setenv("SHUA_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SHUA_LOG_JSON", "false")
    monkeypatch.delenv("SHUA_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def report(output: str) -> dict[str, list[str]]:
    """The table's rows: counters → [rows checked, rows off]."""
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines() if line.startswith("│")]
    return {row[0]: row[1:] for row in cells if row and row[0] in recount.KINDS}


class TestRecount:
    async def test_the_command_repairs_and_reports_drift(self, env: None, client: httpx2.AsyncClient,
                                                         database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        await bob.follow(alice)
        await alice.follow(bob)
        vid = await video_of(database, alice)
        await bob.post(f"/api/v1/videos/{vid}/like")
        await carol.post(f"/api/v1/videos/{vid}/like")
        top = await comment(bob, vid, "top")
        await comment(carol, vid, "reply", reply_to=top["id"])
        await carol.post(f"/api/v1/comments/{top['id']}/like")
        async with database.transaction() as db:  # a bug, or a careless manual repair
            await db.execute(update(VideoStats).values(likes=99, comments=0, favourites=3))
            await db.execute(update(UserStats).where(UserStats.user_id == int(alice.id))
                             .values(likes_received=-4, followers=7))
            await db.execute(update(Comment).where(Comment.id == int(top["id"])).values(likes=5, replies=0))

        result = await asyncio.to_thread(CliRunner().invoke, cli.app, ["social", "recount"])
        assert result.exit_code == 0, result.output
        assert report(result.output) == {"video_stats": ["1", "1"], "user_stats": ["2", "1"],
                                         "comments": ["2", "1"]}, result.output
        assert (await engagement_of(bob, vid))["stats"] == {"likes": 2, "comments": 2, "shares": 0, "favourites": 0}
        assert await alice.stats() == {"followers": 1, "following": 1, "friends": 1, "likes_received": 2}
        thread = (await bob.get(f"/api/v1/videos/{vid}/comments")).json()["items"][0]
        assert (thread["likes"], thread["replies"]) == (1, 1)

        result = await asyncio.to_thread(CliRunner().invoke, cli.app, ["social", "recount"])
        assert result.exit_code == 0
        assert report(result.output) == {"video_stats": ["1", "0"], "user_stats": ["2", "0"],
                                         "comments": ["2", "0"]}, result.output

    async def test_a_recount_racing_likes_loses_none(self, database: Database) -> None:
        async with database.transaction() as db:
            star = await make_user(db, "star")
            fans = [await make_user(db, f"fan{i:02d}") for i in range(16)]
            video = await make_video(db, star)
        async with database.transaction() as db:
            await engagement.ensure_stats(db, video.id)
            await db.execute(update(VideoStats).values(likes=50))  # off before the race starts

        async def like(fan_id: int) -> None:
            async with database.transaction() as db:
                row = await db.get(type(video), video.id)
                assert row is not None
                await engagement.like(db, user_id=fan_id, video=row)

        async def fix() -> None:
            async with database.transaction() as db:
                await recount.fix_video(db, video.id)

        await asyncio.gather(*(like(f.id) for f in fans[:8]), fix(), *(like(f.id) for f in fans[8:]), fix())
        async with database.transaction(write=False) as db:
            likes = (await engagement.stats_of_many(db, [video.id]))[video.id].likes
            drift = await recount.drifted_videos(db)
        assert likes == 16 and drift.ids == []  # every like counted once, the bogus 50 gone
        async with database.transaction(write=False) as db:
            assert (await graph.stats_of(db, star.id)).likes_received == 16
