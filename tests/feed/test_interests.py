"""Cold start: the interests a new viewer picks shape their first For You, and fade as they watch."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest

from shua.core import clock
from shua.core.db import Database
from shua.feed import interests, service
from tests.factories import make_user, make_video
from tests.helpers import assert_problem
from tests.social.test_graph import sign_up

TOPICS = ("猫咪日常", "成都美食", "健身打卡", "旅行", "穿搭", "游戏")


class TestCatalogue:
    @pytest.mark.parametrize(("tags", "expected"), [
        (["成都美食", "火锅"], {"food"}), (["Caturday"], {"pets"}), (["健身打卡"], {"fitness"}),
        (["travel", "yunnan"], {"travel"}), (["ootd"], {"fashion"}), (["新人报到"], set()), ([], set()),
        (["猫咪", "vlog"], {"pets", "daily"}),
    ])
    def test_hashtags_map_to_topics(self, tags: list[str], expected: set[str]) -> None:
        assert interests.topics_of(tags) == expected

    def test_every_topic_has_a_label_in_both_languages(self) -> None:
        from shua.core.i18n import catalog

        for locale in ("en", "zh-CN"):
            assert all(f"interest.{key}" in catalog(locale) for key in interests.CATALOGUE), locale


class TestInterestsApi:
    async def test_pick_change_and_say_none(self, client: httpx2.AsyncClient) -> None:
        assert_problem(await client.get("/api/v1/feed/interests"), 401, "auth.required")
        alice = await sign_up(client, "alice")
        first = (await alice.get("/api/v1/feed/interests")).json()
        assert first["chosen"] is None  # never answered: the client offers the picker
        assert [t["key"] for t in first["available"]] == list(interests.CATALOGUE)
        assert first["available"][0]["labels"] == {"en": "Food", "zh-CN": "美食"}
        r = await alice.put("/api/v1/feed/interests", json={"interests": ["pets", "food", "pets"]})
        assert r.status_code == 200, r.text
        assert r.json()["chosen"] == ["food", "pets"]  # deduplicated, catalogue order
        assert (await alice.get("/api/v1/feed/interests")).json()["chosen"] == ["food", "pets"]
        assert (await alice.put("/api/v1/feed/interests", json={"interests": []})).json()["chosen"] == []
        assert (await alice.get("/api/v1/feed/interests")).json()["chosen"] == []  # "none" is an answer

    async def test_bad_input_changes_nothing(self, client: httpx2.AsyncClient) -> None:
        alice = await sign_up(client, "alice")
        await alice.put("/api/v1/feed/interests", json={"interests": ["games"]})
        body = assert_problem(await alice.put("/api/v1/feed/interests", json={"interests": ["games", "astrology"]}),
                              422, "feed.unknown_interest")
        assert "astrology" in body["detail"]
        for bad in ({"interests": ["food"] * 13}, {"interests": "food"}, {"interests": [1]}, {},
                    {"interests": ["x" * 41]}):
            assert_problem(await alice.put("/api/v1/feed/interests", json=bad), 422, "request.invalid")
        assert (await alice.get("/api/v1/feed/interests")).json()["chosen"] == ["games"]

    async def test_each_viewer_has_their_own(self, client: httpx2.AsyncClient) -> None:
        alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
        await alice.put("/api/v1/feed/interests", json={"interests": ["cars"]})
        assert (await bob.get("/api/v1/feed/interests")).json()["chosen"] is None


async def _catalogue(database: Database, per_topic: int = 10) -> None:
    """Six topics by two creators each, all about as fresh and as liked (nothing to learn from)."""
    async with database.transaction() as db:
        for n, topic in enumerate(TOPICS):
            creators = [await make_user(db, f"maker{n}{i}") for i in range(2)]
            for i in range(per_topic):
                await make_video(db, creators[i % 2], caption=f"#{topic} {i}", hashtags=[topic],
                                 created_at=clock.utcnow() - timedelta(minutes=5 * i + n))


class TestColdStart:
    async def test_a_new_viewer_sees_what_they_picked_first(self, app, client: httpx2.AsyncClient,  # type: ignore[no-untyped-def]
                                                            database: Database) -> None:
        await _catalogue(database)
        newcomer = await sign_up(client, "newcomer")

        async def first_page_topics() -> list[str]:
            app.state.runtime.extras.get("feed", service.Services).forget() if "feed" in app.state.runtime.extras \
                else None
            r = await newcomer.get("/api/v1/feed")
            assert r.status_code == 200, r.text
            return [item["video"]["hashtags"][0] for item in r.json()["items"]]

        spread = await first_page_topics()
        assert len(set(spread)) >= 4, spread  # no interests: a spread of topics
        await newcomer.put("/api/v1/feed/interests", json={"interests": ["pets", "fitness"]})
        picked = await first_page_topics()
        assert sum(t in ("猫咪日常", "健身打卡") for t in picked) >= len(picked) * 3 / 4, picked
        r = await newcomer.get("/api/v1/feed")
        assert {item["source"] for item in r.json()["items"]} & {"interest"}

    def test_the_lift_fades_with_views(self) -> None:
        fresh = service.Signals(interests=frozenset({"pets"}))
        assert fresh.interest_lift() == 1.0
        halfway = service.Signals(interests=frozenset({"pets"}), seen=set(range(service.COLD_START_VIEWS // 2)))
        assert halfway.interest_lift() == pytest.approx(0.5)
        done = service.Signals(interests=frozenset({"pets"}), seen=set(range(service.COLD_START_VIEWS)))
        assert done.interest_lift() == 0.0
        assert service.Signals().interest_lift() == 0.0  # nothing picked: nothing lifted
