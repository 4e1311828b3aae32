"""Request and response types of feed events, traffic-pool stages and experiments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shua.core.ids import ID
from shua.core.text import Line

Kind = Literal["impression", "play", "watch", "complete", "replay", "skip", "not_interested",
               "like", "share", "follow", "comment"]
DropReason = Literal["video_unavailable", "own_video", "future", "too_old", "watch_exceeds_duration"]
SourceText = Line(32)
RequestText = Line(64)
MAX_WATCH_MS = 86_400_000  # a day: beyond any video; the per-video bound is checked against its duration


class EventCreate(BaseModel):
    """One thing that happened to one item of a feed page, as the client saw it."""

    model_config = ConfigDict(extra="forbid")
    event_id: uuid.UUID = Field(description="A UUID the client makes per event; resending it counts once")
    video_id: ID
    kind: Kind = Field(description="impression, play, watch (on leaving, with watch_ms), complete, replay, skip, "
                       "not_interested; like/share/follow/comment only attribute the action to its source")
    at: AwareDatetime = Field(description="When it happened, by the client's clock (with its offset)")
    watch_ms: int = Field(0, ge=0, le=MAX_WATCH_MS, description="Watched this view, replays included")
    replays: int = Field(0, ge=0, le=1000, description="Times it looped during this view")
    source: SourceText | None = Field(  # type: ignore[valid-type]
        None, description="The candidate source the feed named for the item (empty: none)")
    request_id: RequestText | None = Field(  # type: ignore[valid-type]
        None, description="The request id of the feed page it was on (empty: none)")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventCreate] = Field(min_length=1, description="At most `feed_max_batch` (200) events")


class DroppedEvent(BaseModel):
    event_id: str
    reason: DropReason


class EventsAccepted(BaseModel):
    """What became of a batch: written, already known (a resent id), or dropped and why."""

    accepted: int
    duplicates: int
    dropped: list[DroppedEvent]


class PoolStageRead(BaseModel):
    """Where the video is in the new-video traffic pools (流量池), for its creator."""

    stage: int = Field(description="0 starter pool, 1 and 2 larger pools, 3 recommended widely")
    status: Literal["testing", "settled"] = Field(
        description="testing: getting this stage's impressions; settled: stays at this stage")
    impressions: int = Field(description="Impressions at this stage so far")
    budget: int | None = Field(description="This stage's impressions; null: unbounded")


ArmName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,29}$")]
ParamName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
# JSON's numbers only: NaN and Infinity (which Python's parser accepts) are refused.
ShortText = Line(100)
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class ArmSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ArmName
    weight: int = Field(ge=0, le=10_000)
    params: dict[ParamName, bool | int | FiniteFloat | ShortText] = Field(  # type: ignore[valid-type]
        default_factory=dict, max_length=20)


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,39}$")]
    description: Line(200) = ""  # type: ignore[valid-type]
    arms: list[ArmSpec] = Field(min_length=2, max_length=10)


class ArmRead(BaseModel):
    name: str
    weight: int
    params: dict[str, bool | int | float | str]


class ExperimentRead(BaseModel):
    key: str
    description: str
    arms: list[ArmRead]
    status: Literal["running", "stopped"]
    started_at: datetime
    stopped_at: datetime | None


class ArmReadoutRead(BaseModel):
    arm: str
    users: int
    sessions: int
    dwell_per_session_s: float
    completion_rate: float
    likes_per_session: float
    next_day_retention: float | None = Field(description="null until some user's next day has begun")
    retention_eligible: int


class ReadoutRead(BaseModel):
    key: str
    since: datetime
    until: datetime
    arms: list[ArmReadoutRead]
