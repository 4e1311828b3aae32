"""For You end to end on a small world: trained on the event log it shows people their taste;
a like or "not interested" changes the very next page; a broken model falls back to trending."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from shua.accounts.models import User
from shua.config import Settings
from shua.core import clock
from shua.core.db import Database
from shua.feed import events, learning
from shua.feed.events import EventIn, Limits
from tests.factories import make_user, make_video
from tests.social.test_graph import sign_up

TOPICS = ("cats", "food", "sport")


@pytest.fixture(autouse=True)
def _no_model_left_behind(settings: Settings) -> Any:
    """The var folder lives for the whole run: each test starts and ends without a model."""
    import shutil

    folder = learning.model_folder(settings.var_dir)
    shutil.rmtree(folder, ignore_errors=True)
    yield
    shutil.rmtree(folder, ignore_errors=True)


async def world(database: Database, *, per_topic: int = 12, fans: int = 12) -> dict[str, Any]:
    """Videos of three topics by three creators each, and fans who watch only their topic."""
    made: dict[str, list[int]] = {t: [] for t in TOPICS}
    people: dict[str, list[User]] = {t: [] for t in TOPICS}
    async with database.transaction() as db:
        for t in TOPICS:
            creators = [await make_user(db, f"{t}maker{i}") for i in range(3)]
            for i in range(per_topic):
                video = await make_video(db, creators[i % 3], caption=f"#{t} {i}", hashtags=[t],
                                         duration_ms=10_000, created_at=clock.utcnow() - timedelta(hours=i))
                made[t].append(video.id)
            people[t] = [await make_user(db, f"{t}fan{i}") for i in range(fans)]
    async with database.transaction() as db:
        for t in TOPICS:
            for n, fan in enumerate(people[t]):
                watched = made[t][n % 9: n % 9 + 4]  # every video of the topic has fans, each fan 4
                batch = [EventIn(event_id=uuid.uuid4(), video_id=v, kind="watch", at=clock.utcnow(),
                                 watch_ms=10_000) for v in watched]
                batch += [EventIn(event_id=uuid.uuid4(), video_id=v, kind="complete", at=clock.utcnow())
                          for v in watched]
                other = made[TOPICS[(TOPICS.index(t) + 1) % 3]][n % 5]
                batch.append(EventIn(event_id=uuid.uuid4(), video_id=other, kind="watch", at=clock.utcnow(),
                                     watch_ms=500))
                result = await events.ingest(db, user_id=fan.id, events=batch, limits=Limits())
                assert result.accepted == len(batch), result
    return {"videos": made, "people": people}


def topic_of(item: dict[str, Any]) -> str:
    return str(item["video"]["hashtags"][0])


async def as_user(client: httpx2.AsyncClient, app: Any, user: User) -> dict[str, str]:
    """A bearer token for a factory-made user (they have no password)."""
    from shua.accounts import service as accounts

    async with app.state.runtime.database.transaction() as db:
        _, token = await accounts.create_session(db, user=user, kind="api", user_agent="t", ip="127.0.0.1", days=1)
    return {"Authorization": f"Bearer {token}"}


class TestLearnedFeed:
    async def test_trained_on_the_log_it_shows_each_fan_their_topic(
        self, client: httpx2.AsyncClient, app: Any, database: Database, settings: Settings
    ) -> None:
        built = await world(database)
        model = await learning.retrain(database, settings.var_dir, days=30, dim=16)
        assert model is not None and set(model.meta["categories"]) == set(TOPICS)
        for t in TOPICS:
            fan = built["people"][t][0]
            page = (await client.get("/api/v1/feed", headers=await as_user(client, app, fan))).json()["items"]
            share = sum(topic_of(i) == t for i in page) / len(page)
            assert share >= 0.5, (t, [topic_of(i) for i in page])  # a third without the model

    async def test_a_like_pulls_similar_videos_into_the_next_page(
        self, client: httpx2.AsyncClient, app: Any, database: Database, settings: Settings
    ) -> None:
        built = await world(database)
        await learning.retrain(database, settings.var_dir, days=30, dim=16)
        newcomer = await sign_up(client, "newcomer")
        liked = built["videos"]["sport"][0]
        assert (await newcomer.post(f"/api/v1/videos/{liked}/like")).status_code in (200, 201)
        page = (await newcomer.get("/api/v1/feed")).json()["items"]
        sources = {i["video"]["id"]: i["source"] for i in page}
        similar = [topic_of(i) for i in page if i["source"] == "similar"]
        assert similar and all(t == "sport" for t in similar), sources

    async def test_likes_lean_the_next_page_to_their_topic_without_any_model(
        self, client: httpx2.AsyncClient, database: Database
    ) -> None:
        built = await world(database, fans=1)
        viewer = await sign_up(client, "sporty")
        before = [topic_of(i) for i in (await viewer.get("/api/v1/feed")).json()["items"]]
        for liked in built["videos"]["sport"][:2]:
            assert (await viewer.post(f"/api/v1/videos/{liked}/like")).status_code in (200, 201)
        items = (await viewer.get("/api/v1/feed")).json()["items"]
        after = [topic_of(i) for i in items]
        assert after.count("sport") >= len(after) * 3 / 4, (before, after)
        assert after.count("sport") > before.count("sport"), (before, after)
        assert "category" in {i["source"] for i in items}  # the hashtag-affinity source brought them

    async def test_not_interested_removes_that_creator_and_topic_at_once(
        self, client: httpx2.AsyncClient, database: Database
    ) -> None:
        built = await world(database, fans=1)
        viewer = await sign_up(client, "picky")
        refused = built["videos"]["food"][0]
        r = await viewer.post("/api/v1/feed/events", json={"events": [
            {"event_id": str(uuid.uuid4()), "video_id": str(refused), "kind": "not_interested",
             "at": clock.utcnow().isoformat()}]})
        assert r.status_code == 202, r.text
        seen_topics = set()
        cursor = None
        for _ in range(4):
            r = await viewer.get("/api/v1/feed", params={"cursor": cursor} if cursor else {})
            seen_topics |= {topic_of(i) for i in r.json()["items"]}
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert "food" not in seen_topics and seen_topics  # the topic is gone, the feed is not empty


class TestFallback:
    @pytest.mark.parametrize("damage", ["missing", "garbage", "truncated"])
    async def test_a_missing_or_corrupt_model_serves_trending(
        self, client: httpx2.AsyncClient, database: Database, settings: Settings, damage: str
    ) -> None:
        await world(database, fans=2)
        folder: Path = learning.model_folder(settings.var_dir)
        if damage != "missing":
            await learning.retrain(database, settings.var_dir, days=30, dim=8)
            if damage == "garbage":
                (folder / "meta.json").write_text("{not json")
            else:
                (folder / "item_vectors.npy").write_bytes(b"\x93NUMPY")
        viewer = await sign_up(client, f"viewer{damage}")
        r = await viewer.get("/api/v1/feed")
        assert r.status_code == 200
        assert r.json()["items"] and {i["source"] for i in r.json()["items"]} <= {"trending", "fresh", "pool"}


class TestFollowShareKnob:
    @pytest.mark.parametrize(("share", "expected"), [(0.0, 0), (0.5, 5), (1.0, 10)])
    async def test_an_experiment_arm_sets_the_share_of_followed_creators(
        self, client: httpx2.AsyncClient, database: Database, share: float, expected: int
    ) -> None:
        from shua.feed import experiments

        viewer = await sign_up(client, "follower")
        async with database.transaction() as db:
            followed = [await make_user(db, f"star{i}") for i in range(12)]
            others = [await make_user(db, f"other{i}") for i in range(12)]
            for i, owner in enumerate(followed + others):
                await make_video(db, owner, caption=f"#t{i % 5}", hashtags=[f"t{i % 5}"])
            await experiments.create(db, key="follow-share", arms=[  # everyone lands in "all"
                experiments.Arm(name="all", weight=100, params={"follow_share": share}),
                experiments.Arm(name="none", weight=0, params={"follow_share": 0.1})])
        for star in followed:
            await viewer.follow(star.handle)
        page = (await viewer.get("/api/v1/feed")).json()["items"]
        assert len(page) == 8
        in_network = sum(item["source"] == "following" for item in page)
        assert in_network == round(expected * 8 / 10), [item["source"] for item in page]
