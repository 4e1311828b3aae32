"""Request and response types of the social API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shua.accounts.schemas import UserRead
from shua.core.ids import ID
from shua.core.text import Line, Paragraph
from shua.media.routes import VideoRead

Setting = Literal["everyone", "friends", "nobody"]


class RelationshipRead(BaseModel):
    following: Literal["none", "pending", "active"] = Field(description="Whether you follow them")
    followed_by: bool = Field(description="They follow you")
    friends: bool = Field(description="You follow each other (朋友)")
    blocking: bool = Field(description="You blocked them")


class StatsRead(BaseModel):
    followers: int
    following: int
    friends: int
    likes_received: int


class ProfileRead(BaseModel):
    user: UserRead
    stats: StatsRead
    relationship: RelationshipRead | None = Field(description="Absent for yourself and when logged out")
    private_account: bool
    lists_private: bool
    can_see_videos: bool


class FollowResult(BaseModel):
    status: Literal["active", "pending"]
    relationship: RelationshipRead


class PersonRead(BaseModel):
    user: UserRead
    relationship: RelationshipRead | None
    since: datetime | None = Field(None, description="When they followed / became friends / asked")
    mutual_friends: int | None = None
    follows_you: bool | None = None
    interactions: int | None = Field(None, description="Likes and comments on your videos lately")


class PeoplePage(BaseModel):
    items: list[PersonRead]
    next_cursor: str | None


class PrivacyRead(BaseModel):
    private_account: bool
    lists_private: bool
    who_can_comment: Setting
    who_can_message: Setting
    findable_by_phone: bool


class PrivacyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    private_account: bool | None = None
    lists_private: bool | None = None
    who_can_comment: Setting | None = None
    who_can_message: Setting | None = None
    findable_by_phone: bool | None = None


ReportKind = Literal["user", "video", "comment", "daily", "mood", "message"]
ReportReason = Literal["spam", "harassment", "hate", "violence", "sexual", "minor_safety", "scam", "copyright",
                       "other"]


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_kind: ReportKind
    target_id: ID
    reason: ReportReason
    detail: Paragraph(500) = ""  # type: ignore[valid-type]


class ReportRead(BaseModel):
    id: ID
    reporter_id: ID
    target_kind: str
    target_id: ID
    target_owner_id: ID | None
    reason: str
    detail: str
    status: str
    created_at: datetime


MoodTag = Literal["happy", "excited", "chill", "love", "tired", "sad", "busy", "study", "workout", "hungry",
                  "travel", "party"]


class MoodUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag: MoodTag
    text: Line(60) = ""  # type: ignore[valid-type]
    visibility: Literal["friends", "public"] = "friends"


class MoodRead(BaseModel):
    id: ID
    user_id: ID
    tag: str
    emoji: str
    text: str
    visibility: str
    created_at: datetime
    expires_at: datetime


class DailyVideoCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upload_id: ID
    caption: Line(100) = ""  # type: ignore[valid-type]


class DailyRead(BaseModel):
    id: ID
    author: UserRead
    kind: Literal["photo", "video"]
    caption: str
    photo_url: str | None
    video: VideoRead | None = Field(description="The clip, once processed (poll until playable)")
    created_at: datetime
    expires_at: datetime
    seen: bool = Field(description="You have viewed it (always true for your own)")
    view_count: int | None = Field(description="Only for the author")


class DailyViewerRead(BaseModel):
    user: UserRead
    viewed_at: datetime


class DailyViewersPage(BaseModel):
    items: list[DailyViewerRead]
    next_cursor: str | None


class DailyStripItem(BaseModel):
    """A friend (or you) with daily posts today, for the strip atop the Friends tab."""

    user: UserRead
    posts: list[DailyRead]
    unseen: bool


class FriendsItemRead(BaseModel):
    kind: Literal["video", "daily", "mood"]
    id: ID
    user: UserRead
    created_at: datetime
    new: bool = Field(description="Arrived since your previous visit to the Friends tab")
    video: VideoRead | None = None
    daily: DailyRead | None = None
    mood: MoodRead | None = None


class FriendsFeedRead(BaseModel):
    items: list[FriendsItemRead]
    next_cursor: str | None
    last_visit_at: datetime | None
