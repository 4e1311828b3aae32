"""A/B experiments on the feed: deterministic bucketing, parameters for the serving path, and a
readout per arm.

A user's arm is `sha256("{key}:{user_id}")` read as a number, taken modulo the arms' total
weight and placed in the weight ranges in the arms' order: no assignment is stored, the same
user always lands in the same arm, and different experiments bucket independently. While an
experiment runs, `params_for` merges its arm's parameters (e.g. `follow_share`) for the mixer;
two running experiments may not set the same parameter.

Readout definitions (also in ARCHITECTURE.md): a *session* is a run of a user's events with no
gap longer than `feed_session_gap_minutes` (30); *dwell* is the watch time (watch and skip
events' `watch_ms`) of a session; *completion rate* is completes per play; *likes per session*
counts the engagement context's likes made during the experiment; *next-day retention* is the
share of users, among those whose first active day D in the experiment is followed by a day D+1
that had ended by the readout's end, who were active again on D+1 (UTC days).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock
from shua.core.errors import Conflict, InvalidRequest, NotFound
from shua.core.ids import new_id, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.feed.models import COMPLETE, CONTEXT_KINDS, PLAY, SKIP, WATCH, Experiment, FeedEvent
from shua.social import engagement

RUNNING, STOPPED = "running", "stopped"
KEY_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")
ARM_RE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
PARAM_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_ARMS = 10
# Parameters the serving path reads, with the range that makes sense; others must be scalars.
KNOWN_PARAMS: dict[str, tuple[float, float]] = {"follow_share": (0.0, 1.0)}
Param = float | int | bool | str


class ExperimentNotFound(NotFound):
    code = "feed.experiment_not_found"
    title = "No such experiment"


class ExperimentExists(Conflict):
    code = "feed.experiment_exists"
    title = "An experiment with this key exists already"


class ExperimentInvalid(InvalidRequest):
    code = "feed.experiment_invalid"
    title = "The experiment's arms are not valid"


class ExperimentClash(Conflict):
    code = "feed.experiment_clash"
    title = "A running experiment already sets this parameter"


@dataclass(frozen=True)
class Arm:
    name: str
    weight: int
    params: dict[str, Param] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "params": dict(self.params)}


def arms_of(experiment: Experiment) -> list[Arm]:
    return [Arm(name=a["name"], weight=int(a["weight"]), params=dict(a.get("params") or {}))
            for a in experiment.arms]


def validate_arms(arms: list[Arm]) -> list[Arm]:
    """Arms as an experiment may hold them: 2–10 distinct names, weights 0–10 000 summing above
    zero, scalar parameters (known ones within their range)."""
    if not 2 <= len(arms) <= MAX_ARMS:
        raise ExperimentInvalid(f"An experiment needs 2 to {MAX_ARMS} arms", arms=len(arms))
    if len({a.name for a in arms}) != len(arms):
        raise ExperimentInvalid("Arm names must differ")
    for arm in arms:
        if not ARM_RE.match(arm.name):
            raise ExperimentInvalid("An arm name is lowercase letters, digits and _", arm=arm.name[:40])
        if not 0 <= arm.weight <= 10_000:
            raise ExperimentInvalid("Weights are whole numbers from 0 to 10000", arm=arm.name)
        for name, value in arm.params.items():
            if not PARAM_RE.match(name):
                raise ExperimentInvalid("A parameter name is lowercase letters, digits and _", param=name[:40])
            if isinstance(value, str) and (len(value) > 100 or not _printable(value)):
                raise ExperimentInvalid("Parameter values are short lines of text", param=name)
            if name in KNOWN_PARAMS:
                low, high = KNOWN_PARAMS[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                    raise ExperimentInvalid(f"{name} is a number from {low} to {high}", param=name)
    if sum(a.weight for a in arms) <= 0:
        raise ExperimentInvalid("At least one arm needs a weight above zero")
    return arms


def _printable(text: str) -> bool:
    return not any(ord(c) < 32 or ord(c) == 127 for c in text)


def parse_arm(spec: str) -> Arm:
    """`control:50:follow_share=0.10,other=x` → an arm (the CLI's syntax)."""
    name, _, rest = spec.partition(":")
    weight_text, _, params_text = rest.partition(":")
    try:
        weight = int(weight_text)
    except ValueError as exc:
        raise ExperimentInvalid("Write an arm as NAME:WEIGHT[:param=value,…]", arm=spec[:60]) from exc
    params: dict[str, Param] = {}
    for pair in filter(None, (p.strip() for p in params_text.split(","))):
        key, eq, raw = pair.partition("=")
        if not eq:
            raise ExperimentInvalid("Write a parameter as name=value", param=pair[:40])
        params[key.strip()] = _scalar(raw.strip())
    return Arm(name=name.strip(), weight=weight, params=params)


def _scalar(raw: str) -> Param:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw


def bucket(key: str, user_id: int, total: int) -> int:
    digest = hashlib.sha256(f"{key}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % total


def arm_for(user_id: int, experiment: Experiment) -> str:
    """The user's arm: a stable hash of the key and user id placed in the weight ranges."""
    arms = arms_of(experiment)
    point = bucket(experiment.key, user_id, sum(a.weight for a in arms))
    for arm in arms:
        if point < arm.weight:
            return arm.name
        point -= arm.weight
    raise AssertionError("unreachable: the point is below the total weight")


async def create(db: AsyncSession, *, key: str, arms: list[Arm], description: str = "") -> Experiment:
    """Define and start an experiment."""
    if not KEY_RE.match(key):
        raise ExperimentInvalid("A key is lowercase letters, digits, '.', '_' and '-'", key=key[:40])
    validate_arms(arms)
    if len(description) > 200 or not _printable(description):
        raise ExperimentInvalid("The description is one line of at most 200 characters")
    if await db.scalar(select(Experiment.id).where(Experiment.key == key)) is not None:
        raise ExperimentExists(key=key)
    mine = {name for arm in arms for name in arm.params}
    for other in await running(db):
        clash = mine & {name for arm in arms_of(other) for name in arm.params}
        if clash:
            raise ExperimentClash(key=other.key, params=sorted(clash))
    now = clock.utcnow()
    experiment = Experiment(id=new_id(), key=key, description=description, arms=[a.as_json() for a in arms],
                            status=RUNNING, created_at=now, started_at=now)
    db.add(experiment)
    await db.flush()
    return experiment


async def get(db: AsyncSession, *, key: str) -> Experiment:
    # A key that cannot exist (NUL, which PostgreSQL refuses in text, say) is simply not found.
    experiment = await db.scalar(select(Experiment).where(Experiment.key == key)) if KEY_RE.match(key) else None
    if experiment is None:
        raise ExperimentNotFound(key=key[:40])
    return experiment


async def list_page(db: AsyncSession, *, cursor: str | None = None,
                    limit: int = 50) -> tuple[list[Experiment], str | None]:
    """Experiments, newest first, a page at a time."""
    state = decode_cursor(cursor) or {}
    query = select(Experiment).order_by(Experiment.id.desc()).limit(limit + 1)
    if "before" in state:
        before = parse_id(state["before"])
        if before is None:
            raise InvalidRequest("The cursor is not valid", field="cursor")
        query = query.where(Experiment.id < before)
    rows = list((await db.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor({"before": str(rows[-1].id)}) if more else None


async def running(db: AsyncSession) -> list[Experiment]:
    query = select(Experiment).where(Experiment.status == RUNNING).order_by(Experiment.started_at, Experiment.id)
    return list((await db.scalars(query)).all())


async def stop(db: AsyncSession, *, key: str) -> Experiment:
    """Stop an experiment (stopping twice is stopping once); its readout stays available."""
    experiment = await get(db, key=key)
    if experiment.status == RUNNING:
        experiment.status, experiment.stopped_at = STOPPED, clock.utcnow()
    return experiment


async def assignments(db: AsyncSession, user_id: int) -> dict[str, str]:
    """The user's arm in each running experiment."""
    return {e.key: arm_for(user_id, e) for e in await running(db)}


async def params_for(db: AsyncSession, user_id: int) -> dict[str, Param]:
    """The serving parameters the user's arms set, merged over running experiments (one query)."""
    return params_of(await running(db), user_id)


def params_of(experiments: list[Experiment], user_id: int) -> dict[str, Param]:
    """`params_for` over an already loaded list of running experiments (serving caches it)."""
    merged: dict[str, Param] = {}
    for experiment in experiments:
        chosen = arm_for(user_id, experiment)
        merged.update(next(a.params for a in arms_of(experiment) if a.name == chosen))
    return merged


# Readout ----------------------------------------------------------------------------------------


@dataclass
class ArmReadout:
    arm: str
    users: int = 0
    sessions: int = 0
    dwell_ms: int = 0
    plays: int = 0
    completes: int = 0
    likes: int = 0
    retention_eligible: int = 0
    retained: int = 0

    @property
    def dwell_per_session_s(self) -> float:
        return self.dwell_ms / self.sessions / 1000 if self.sessions else 0.0

    @property
    def completion_rate(self) -> float:
        return min(self.completes, self.plays) / self.plays if self.plays else 0.0

    @property
    def likes_per_session(self) -> float:
        return self.likes / self.sessions if self.sessions else 0.0

    @property
    def next_day_retention(self) -> float | None:
        return self.retained / self.retention_eligible if self.retention_eligible else None


@dataclass
class Readout:
    key: str
    since: datetime
    until: datetime
    arms: list[ArmReadout]


@dataclass
class _User:
    times: list[datetime] = field(default_factory=list)
    dwell_ms: int = 0
    plays: int = 0
    completes: int = 0


async def readout(db: AsyncSession, *, key: str, session_gap: timedelta = timedelta(minutes=30),
                  now: datetime | None = None, page: int = 10_000) -> Readout:
    """Per arm: users, sessions, dwell per session, completion rate, likes per session and
    next-day retention over the experiment's run (definitions in the module's docstring)."""
    experiment = await get(db, key=key)
    since, until = experiment.started_at, experiment.stopped_at or now or clock.utcnow()
    users: dict[int, _User] = defaultdict(_User)
    after = 0
    while True:  # by id pages: the whole window need not fit one result set
        rows = (await db.execute(
            select(FeedEvent.id, FeedEvent.user_id, FeedEvent.kind, FeedEvent.watch_ms, FeedEvent.at)
            .where(FeedEvent.id > after, FeedEvent.at >= since, FeedEvent.at < until,
                   FeedEvent.kind.not_in(CONTEXT_KINDS))
            .order_by(FeedEvent.id).limit(page))).all()
        for row in rows:
            user = users[row.user_id]
            user.times.append(row.at)
            if row.kind in (WATCH, SKIP):
                user.dwell_ms += row.watch_ms
            elif row.kind == PLAY:
                user.plays += 1
            elif row.kind == COMPLETE:
                user.completes += 1
        if len(rows) < page:
            break
        after = rows[-1].id
    likes: dict[int, int] = defaultdict(int)
    people = sorted(users)
    for start in range(0, len(people), 5000):  # a bounded IN list per query
        for user_id, _video, _at in await engagement.likes_by(db, user_ids=people[start:start + 5000],
                                                               since=since, until=until):
            likes[user_id] += 1
    arms = {arm.name: ArmReadout(arm=arm.name) for arm in arms_of(experiment)}
    for user_id, user in users.items():
        out = arms[arm_for(user_id, experiment)]
        out.users += 1
        out.sessions += _sessions(user.times, session_gap)
        out.dwell_ms += user.dwell_ms
        out.plays += user.plays
        out.completes += user.completes
        out.likes += likes[user_id]
        days = {t.date() for t in user.times}
        first: date = min(days)
        if datetime.combine(first + timedelta(days=2), time.min, tzinfo=UTC) <= until:  # D+1 has ended
            out.retention_eligible += 1
            out.retained += (first + timedelta(days=1)) in days
    return Readout(key=key, since=since, until=until, arms=list(arms.values()))


def _sessions(times: list[datetime], gap: timedelta) -> int:
    if not times:
        return 0
    ordered = sorted(times)
    return 1 + sum(1 for a, b in zip(ordered, ordered[1:], strict=False) if b - a > gap)
