"""A/B experiments: stable bucketing by weight, parameters for the mixer, a readout computed by hand
on a made-up event log, and the `shua experiments` commands and admin API doing the same."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from shua import cli
from shua.accounts import service
from shua.accounts.models import User
from shua.config import get_settings
from shua.core.db import Database
from shua.core.ids import new_id
from shua.feed import experiments
from shua.feed.experiments import Arm
from shua.feed.models import Experiment, FeedEvent
from shua.media.models import Video
from shua.social.engagement_models import Like
from tests.factories import make_user, make_video
from tests.helpers import PASSWORD, Browser, assert_problem

FOLLOW = [Arm("control", 50, {"follow_share": 0.10}), Arm("more_follow", 50, {"follow_share": 0.30})]


def fake(key: str, arms: list[Arm]) -> Experiment:
    return Experiment(key=key, arms=[a.as_json() for a in arms], status="running")


async def create(database: Database, key: str = "follow-share", arms: list[Arm] = FOLLOW) -> Experiment:
    async with database.transaction() as db:
        return await experiments.create(db, key=key, arms=arms, description="follow share 10 % vs 30 %")


class TestBucketing:
    def test_the_same_user_always_lands_in_the_same_arm(self) -> None:
        first, again = fake("follow-share", FOLLOW), fake("follow-share", list(FOLLOW))
        assert all(experiments.arm_for(u, first) == experiments.arm_for(u, again) for u in range(1, 2000))
        other = fake("other-test", FOLLOW)  # another key buckets independently
        same = sum(experiments.arm_for(u, first) == experiments.arm_for(u, other) for u in range(1, 10_001))
        assert 4700 < same < 5300

    @pytest.mark.parametrize("weights", [(50, 50), (10, 30, 60), (1, 99), (0, 70, 30)])
    def test_weights_are_respected_over_ten_thousand_users(self, weights: tuple[int, ...]) -> None:
        arms = [Arm(f"arm{i}", w) for i, w in enumerate(weights)]
        experiment = fake("weights", arms)
        ids = [new_id() for _ in range(10_000)]  # real, time-ordered ids: consecutive ones differ in few bits
        counts = Counter(experiments.arm_for(u, experiment) for u in ids)
        for arm in arms:
            share = counts[arm.name] / len(ids)
            assert abs(share - arm.weight / sum(weights)) < 0.015, (arm.name, share)
        assert counts["arm0"] == 0 if weights[0] == 0 else True

    def test_arms_are_parsed_and_validated(self) -> None:
        arm = experiments.parse_arm("more_follow:30:follow_share=0.30,label=wide,boost=2,on=true")
        assert arm == Arm("more_follow", 30, {"follow_share": 0.3, "label": "wide", "boost": 2, "on": True})
        for bad in ("nope", "x:many", "x:5:follow_share"):
            with pytest.raises(experiments.ExperimentInvalid):
                experiments.parse_arm(bad)
        for arms in ([Arm("a", 50)], [Arm("a", 50), Arm("a", 50)], [Arm("a", 0), Arm("b", 0)],
                     [Arm("a", 50), Arm("B", 50)], [Arm("a", 50), Arm("b", 10_001)],
                     [Arm("a", 50, {"follow_share": 1.5}), Arm("b", 50)],
                     [Arm("a", 50, {"follow_share": True}), Arm("b", 50)],
                     [Arm("a", 50, {"Bad-Name": 1}), Arm("b", 50)]):
            with pytest.raises(experiments.ExperimentInvalid):
                experiments.validate_arms(arms)


class TestParams:
    async def test_running_experiments_set_the_users_parameters(self, database: Database) -> None:
        async with database.transaction() as db:
            users = [await make_user(db, f"user{i:02d}") for i in range(30)]
        experiment = await create(database)
        await create(database, "ranker", [Arm("old", 1, {"ranker": "v1"}), Arm("new", 1, {"ranker": "v2"})])
        async with database.transaction(write=False) as db:
            for user in users:
                params = await experiments.params_for(db, user.id)
                arm = experiments.arm_for(user.id, experiment)
                assert params["follow_share"] == (0.10 if arm == "control" else 0.30)
                assert params["ranker"] in ("v1", "v2")
                assert set(await experiments.assignments(db, user.id)) == {"follow-share", "ranker"}
        async with database.transaction() as db:
            await experiments.stop(db, key="follow-share")
            assert set(await experiments.params_for(db, users[0].id)) == {"ranker"}

    async def test_two_running_experiments_may_not_set_one_parameter(self, database: Database) -> None:
        await create(database)
        with pytest.raises(experiments.ExperimentClash):
            await create(database, "follow-again", [Arm("a", 1, {"follow_share": 0.2}), Arm("b", 1)])
        with pytest.raises(experiments.ExperimentExists):
            await create(database)
        async with database.transaction() as db:
            await experiments.stop(db, key="follow-share")
        await create(database, "follow-again", [Arm("a", 1, {"follow_share": 0.2}), Arm("b", 1)])


# The readout, on a log made by hand ------------------------------------------------------------
START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 4, 12, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


async def by_arm(database: Database, experiment: Experiment) -> dict[str, list[User]]:
    """Two users in each arm (arms are a hash: make users until both arms have two)."""
    found: dict[str, list[User]] = {"control": [], "more_follow": []}
    async with database.transaction() as db:
        for i in range(100):
            user = await make_user(db, f"person{i:03d}")
            arm = found[experiments.arm_for(user.id, experiment)]
            if len(arm) < 2:
                arm.append(user)
            if all(len(v) == 2 for v in found.values()):
                return found
    raise AssertionError("hashing put nearly everyone in one arm")


async def hand_made_log(database: Database) -> Experiment:
    experiment = await create(database)
    async with database.transaction() as db:
        await db.execute(update(Experiment).where(Experiment.id == experiment.id).values(started_at=START))
        experiment.started_at = START
        owner = await make_user(db, "creator")
        clips = [await make_video(db, owner) for _ in range(4)]
    arms = await by_arm(database, experiment)
    (c1, c2), (t1, t2) = arms["control"], arms["more_follow"]
    log: list[tuple[User, str, datetime, int]] = [
        # c1: three sessions (10:00, 11:00 after a 59-minute gap, the next morning): 39 s, 4 plays, 2 completes
        (c1, "play", at(1, 10), 0), (c1, "watch", at(1, 10, 0, 30), 10_000), (c1, "complete", at(1, 10, 0, 31), 0),
        (c1, "play", at(1, 10, 1), 0), (c1, "watch", at(1, 10, 1, 10), 5_000),
        (c1, "play", at(1, 11), 0), (c1, "watch", at(1, 11, 0, 25), 20_000), (c1, "complete", at(1, 11, 0, 26), 0),
        (c1, "play", at(2, 9), 0), (c1, "watch", at(2, 9, 0, 5), 4_000),
        # c2: one session of 30 s the first evening, nothing the next day; one event before the start
        (c2, "play", datetime(2026, 10, 31, 23, tzinfo=UTC), 0),
        (c2, "play", at(1, 20), 0), (c2, "watch", at(1, 20, 0, 40), 30_000), (c2, "complete", at(1, 20, 0, 41), 0),
        # t1: a session on the 2nd (a 19-minute gap is the same session), back on the 3rd
        (t1, "play", at(2, 10), 0), (t1, "watch", at(2, 10, 0, 10), 8_000), (t1, "complete", at(2, 10, 0, 11), 0),
        (t1, "play", at(2, 10, 20), 0), (t1, "skip", at(2, 10, 20, 2), 2_000),
        (t1, "play", at(3, 10), 0), (t1, "watch", at(3, 10, 0, 6), 6_000),
        # t2: first seen on the 3rd, so its next day has not ended; one event after the readout
        (t2, "play", at(3, 8), 0), (t2, "watch", at(3, 8, 0, 12), 12_000), (t2, "impression", at(4, 12, 30), 0),
        (t2, "like", at(3, 8, 1), 0),  # client-side context: not a like, the engagement context's are
    ]
    likes = [(c1, 0, at(1, 10, 2)), (c1, 1, at(2, 9, 1)), (t2, 0, at(3, 8, 1)),
             (t2, 1, datetime(2026, 10, 30, tzinfo=UTC)), (t2, 2, at(4, 13))]  # before the start, after now
    async with database.transaction() as db:
        for user, kind, when, ms in log:
            db.add(FeedEvent(id=new_id(), user_id=user.id, event_id=str(uuid.uuid4()), video_id=clips[0].id,
                             kind=kind, watch_ms=ms, replays=0, duration_ms=60_000, at=when, received_at=when))
        for user, clip, when in likes:
            db.add(Like(user_id=user.id, video_id=clips[clip].id, created_at=when))
    return experiment


class TestReadout:
    async def test_numbers_per_arm(self, database: Database) -> None:
        await hand_made_log(database)
        async with database.transaction(write=False) as db:
            result = await experiments.readout(db, key="follow-share", now=NOW, page=5)
        control, more = result.arms
        assert (control.arm, control.users, control.sessions, control.dwell_ms) == ("control", 2, 4, 69_000)
        assert control.dwell_per_session_s == pytest.approx(17.25)
        assert (control.plays, control.completes, control.completion_rate) == (5, 3, pytest.approx(0.6))
        assert (control.likes, control.likes_per_session) == (2, pytest.approx(0.5))
        assert (control.retention_eligible, control.retained, control.next_day_retention) == (2, 1, 0.5)
        assert (more.arm, more.users, more.sessions, more.dwell_ms) == ("more_follow", 2, 3, 28_000)
        assert more.dwell_per_session_s == pytest.approx(28 / 3)
        assert (more.plays, more.completes, more.completion_rate) == (4, 1, 0.25)
        assert more.likes_per_session == pytest.approx(1 / 3)
        assert (more.retention_eligible, more.retained, more.next_day_retention) == (1, 1, 1.0)

    async def test_a_stopped_experiment_reads_out_its_run_only(self, database: Database) -> None:
        await hand_made_log(database)
        async with database.transaction() as db:
            await db.execute(update(Experiment).values(status="stopped", stopped_at=at(2, 0)))
            result = await experiments.readout(db, key="follow-share", now=NOW)
        control, more = result.arms
        assert (control.users, control.sessions, control.dwell_ms, control.likes) == (2, 3, 65_000, 1)
        assert (control.retention_eligible, more.users) == (0, 0)  # the 2nd had not ended when it stopped
        assert more.next_day_retention is None

    async def test_an_unknown_experiment(self, database: Database) -> None:
        async with database.transaction(write=False) as db:
            with pytest.raises(experiments.ExperimentNotFound):
                await experiments.readout(db, key="nope")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("SHUA_DATABASE_URL", database_url)
    monkeypatch.setenv("SHUA_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SHUA_LOG_JSON", "false")
    monkeypatch.delenv("SHUA_REDIS_URL", raising=False)
    monkeypatch.setattr(cli.console, "width", 160)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def shua(*args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, cli.app, ["experiments", *args])


def rows(output: str) -> dict[str, list[str]]:
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines() if line.startswith("│")]
    return {row[0]: row[1:] for row in cells if row and row[0]}


class TestCommands:
    async def test_create_list_readout_stop(self, env: None, database: Database) -> None:
        result = await shua("create", "follow-share", "--arm", "control:50:follow_share=0.10",
                            "--arm", "more_follow:50:follow_share=0.30", "--description", "follow share")
        assert result.exit_code == 0, result.output
        assert "follow-share running" in result.output
        again = await shua("create", "follow-share", "--arm", "a:1", "--arm", "b:1")
        assert again.exit_code == 1 and "feed.experiment_exists" in again.output
        bad = await shua("create", "bad-arms", "--arm", "a:1:follow_share=2", "--arm", "b:1")
        assert bad.exit_code == 1 and "feed.experiment_invalid" in bad.output
        for hostile in (["--arm", "a:1:label=x\x00y", "--arm", "b:1"], ["--arm", "a:1", "--arm", "b:1",
                                                                      "--description", "a\x00b"]):
            nul = await shua("create", "nul", *hostile)
            assert nul.exit_code == 1 and "feed.experiment_invalid" in nul.output, nul.output

        listed = await shua("list")
        assert listed.exit_code == 0, listed.output
        assert rows(listed.output)["follow-share"][0] == "running"
        assert "follow_share" in rows(listed.output)["follow-share"][1]

        async with database.transaction() as db:  # a tiny log: one user, one session of 12 s
            experiment = await experiments.get(db, key="follow-share")
            owner = await make_user(db, "creator")
            clip: Video = await make_video(db, owner)
            viewer = await make_user(db, "viewer")
            now = experiment.started_at  # the run began a moment ago
            for kind, ms in (("play", 0), ("watch", 12_000), ("complete", 0)):
                db.add(FeedEvent(id=new_id(), user_id=viewer.id, event_id=str(uuid.uuid4()), video_id=clip.id,
                                 kind=kind, watch_ms=ms, replays=0, duration_ms=12_000, at=now, received_at=now))
            db.add(Like(user_id=viewer.id, video_id=clip.id, created_at=now))
            arm = experiments.arm_for(viewer.id, experiment)
        readout = await shua("readout", "follow-share")
        assert readout.exit_code == 0, readout.output
        table = rows(readout.output)
        assert table[arm] == ["1", "1", "12.0", "100.0%", "1.00", "–"], readout.output
        other = "control" if arm == "more_follow" else "more_follow"
        assert table[other] == ["0", "0", "0.0", "0.0%", "0.00", "–"]

        stopped = await shua("stop", "follow-share")
        assert stopped.exit_code == 0 and "stopped" in stopped.output
        assert rows((await shua("list")).output)["follow-share"][0] == "stopped"
        missing = await shua("stop", "nope")
        assert missing.exit_code == 1 and "feed.experiment_not_found" in missing.output
        assert (await shua("readout", "nope")).exit_code == 1
        assert (await shua("stop", "x\x00")).exit_code == 1  # not found, not a database error


class TestAdminApi:
    async def admin(self, client: httpx2.AsyncClient, database: Database) -> Browser:
        browser = Browser(client)
        await browser.signup("root")
        async with database.transaction() as db:
            await service.ensure_admin(db, username="root", password=PASSWORD)
        return browser

    async def test_only_administrators(self, client: httpx2.AsyncClient) -> None:
        user = Browser(client)
        await user.signup("someone")
        assert_problem(await user.get("/api/v1/admin/experiments"), 403, "auth.admin_required")
        r = await user.post("/api/v1/admin/experiments", json={"key": "x", "arms": []})
        assert r.status_code in (403, 422)

    async def test_create_list_stop_readout(self, client: httpx2.AsyncClient, database: Database) -> None:
        root = await self.admin(client, database)
        body = {"key": "follow-share", "description": "关注占比", "arms": [
            {"name": "control", "weight": 50, "params": {"follow_share": 0.1}},
            {"name": "more_follow", "weight": 50, "params": {"follow_share": 0.3}}]}
        r = await root.post("/api/v1/admin/experiments", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "running" and r.json()["arms"][1]["params"] == {"follow_share": 0.3}
        assert_problem(await root.post("/api/v1/admin/experiments", json=body), 409, "feed.experiment_exists")
        clash = {**body, "key": "again"}
        assert_problem(await root.post("/api/v1/admin/experiments", json=clash), 409, "feed.experiment_clash")
        bad = {**body, "key": "bad", "arms": [{"name": "a", "weight": 1, "params": {"follow_share": 3}},
                                              {"name": "b", "weight": 1}]}
        assert_problem(await root.post("/api/v1/admin/experiments", json=bad), 422, "feed.experiment_invalid")
        nan = '{"key": "nan", "arms": [{"name": "a", "weight": 1, "params": {"x": NaN}}, {"name": "b", "weight": 1}]}'
        r = await client.post("/api/v1/admin/experiments", content=nan,
                              headers={**root.headers(), "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        listed = (await root.get("/api/v1/admin/experiments")).json()
        assert [e["key"] for e in listed["items"]] == ["follow-share"] and listed["next_cursor"] is None
        readout = await root.get("/api/v1/admin/experiments/follow-share/readout")
        assert readout.status_code == 200 and [a["arm"] for a in readout.json()["arms"]] == ["control", "more_follow"]
        r = await root.post("/api/v1/admin/experiments/follow-share/stop")
        assert r.status_code == 200 and r.json()["status"] == "stopped" and r.json()["stopped_at"]
        assert_problem(await root.post("/api/v1/admin/experiments/nope/stop"), 404, "feed.experiment_not_found")
        for hostile in ("x%00", "%00", "Bad", "x" * 41):
            assert_problem(await root.get(f"/api/v1/admin/experiments/{hostile}/readout"), 422, "request.invalid")
        assert_problem(await root.get("/api/v1/admin/experiments", params={"cursor": "e30x"}), 422,
                       "request.invalid")

    async def test_pages_of_experiments(self, client: httpx2.AsyncClient, database: Database) -> None:
        root = await self.admin(client, database)
        for i in range(5):
            await create(database, f"exp{i}", [Arm("a", 1, {f"p{i}": 1}), Arm("b", 1)])
        keys, cursor = [], None
        while True:
            page = (await root.get("/api/v1/admin/experiments", params={"limit": 2, **(
                {"cursor": cursor} if cursor else {})})).json()
            keys += [e["key"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert keys == [f"exp{i}" for i in reversed(range(5))]
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor or "x")
