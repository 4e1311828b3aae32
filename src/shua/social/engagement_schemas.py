"""Request and response types of likes, favourites, shares and comments."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shua.accounts.schemas import UserRead
from shua.core.ids import ID
from shua.core.text import Line, Paragraph

CommentBody = Paragraph(500)
CollectionName = Line(20, min_length=1)


class VideoStatsRead(BaseModel):
    likes: int = 0
    comments: int = 0
    shares: int = 0
    favourites: int = 0


class VideoMeRead(BaseModel):
    """How the viewer engaged with the video (all false when logged out)."""

    liked: bool = False
    favourited: bool = False
    collection_id: ID | None = Field(None, description="The collection holding the favourite")


class EngagementRead(BaseModel):
    video_id: ID
    stats: VideoStatsRead
    me: VideoMeRead
    comments_off: bool = Field(description="The creator turned comments off for this video")
    can_comment: bool = Field(description="You may comment (logged in, allowed by the creator's settings)")


class FavouriteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collection_id: ID | None = Field(None, description="Omit for the default collection (收藏)")


class ShareCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["link", "dm", "other"] = "link"


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: CommentBody = Field(description="Up to 500 characters; @handle mentions people")  # type: ignore[valid-type]
    reply_to_id: ID | None = Field(None, description="The comment this answers (a reply joins its thread)")

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value


class MentionRead(BaseModel):
    id: ID
    handle: str


class CommentRead(BaseModel):
    id: ID
    video_id: ID
    author: UserRead | None = Field(description="Absent for a deleted comment")
    body: str = Field(description="Empty for a deleted comment (a placeholder kept for its replies)")
    deleted: bool
    root_id: ID | None = Field(description="The thread's top-level comment; absent for top-level comments")
    reply_to_id: ID | None
    reply_to_user: UserRead | None = Field(description="Whom a reply answers")
    mentions: list[MentionRead]
    likes: int
    replies: int = Field(description="Live replies in this thread (top-level comments)")
    pinned: bool
    liked: bool = Field(description="You liked it")
    can_delete: bool = Field(description="You wrote it, or it is on your video")
    can_pin: bool = Field(description="It is a top-level comment on your video")
    created_at: datetime
    first_replies: list[CommentRead] = Field(default_factory=list, description="The thread's first replies")
    replies_cursor: str | None = Field(None, description="Pass to …/replies for the rest of the thread")


class CommentPage(BaseModel):
    items: list[CommentRead]
    next_cursor: str | None
    total: int = Field(description="All live comments of the video, replies included")
    comments_off: bool
    can_comment: bool


class CommentLikeRead(BaseModel):
    comment_id: ID
    likes: int
    liked: bool


class CollectionRead(BaseModel):
    id: ID
    name: str
    is_default: bool
    is_private: bool
    count: int
    created_at: datetime


class CollectionsPage(BaseModel):
    items: list[CollectionRead]
    next_cursor: str | None


class CollectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: CollectionName  # type: ignore[valid-type]
    is_private: bool = True


class CollectionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: CollectionName | None = None  # type: ignore[valid-type]
    is_private: bool | None = None
