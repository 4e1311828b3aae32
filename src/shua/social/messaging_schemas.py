"""Request and response types of messages, notifications and live events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shua.accounts.schemas import UserRead
from shua.core.ids import ID
from shua.core.text import Paragraph

ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
                                description="Your own id for this send; a retry with it returns the first message")]


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1, max_length=64, description="A user id or handle")


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["text", "video"] = "text"
    body: Paragraph(1000) = ""  # type: ignore[valid-type]
    video_id: ID | None = Field(None, description="The video to share (kind video)")
    client_id: ClientId | None = None

    @model_validator(mode="after")
    def _shape(self) -> MessageCreate:
        if self.kind == "text" and (not self.body or self.video_id is not None):
            raise ValueError("a text message needs a body and no video_id")
        if self.kind == "video" and self.video_id is None:
            raise ValueError("a video message needs a video_id")
        return self


class ReadUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    up_to: ID = Field(description="The newest message you have seen")


class VideoCardRead(BaseModel):
    id: ID
    owner_id: ID
    caption: str
    poster_url: str | None


class MessageRead(BaseModel):
    id: ID
    conversation_id: ID
    sender_id: ID
    mine: bool
    kind: Literal["text", "video"]
    body: str = Field(description="As sent: render it as text, never as HTML")
    video: VideoCardRead | None = Field(description="The shared video, if you may see it")
    video_unavailable: bool = Field(description="A shared video that is gone or not visible to you")
    client_id: str | None
    created_at: datetime


class MessagePage(BaseModel):
    items: list[MessageRead] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Loads older messages")


class ConversationRead(BaseModel):
    id: ID
    peer: UserRead | None = Field(description="Absent when the account was deleted")
    peer_id: ID
    is_request: bool = Field(description="A message request you have not accepted yet")
    unread_count: int
    last_message: MessageRead | None
    last_activity_at: datetime | None
    last_read_id: ID | None = Field(description="The newest message you have read")
    peer_last_read_id: ID | None = Field(description="The newest message they have read (已读)")


class ConversationPage(BaseModel):
    items: list[ConversationRead]
    next_cursor: str | None


class UnreadRead(BaseModel):
    messages: int = Field(description="Unread messages in your conversations")
    requests: int = Field(description="Unread messages in message requests")
    followers: int = Field(description="Unread new followers, follow requests and friends")
    interactions: int = Field(description="Unread likes, comments, replies and mentions")
    notifications: int
    total: int = Field(description="The 消息 badge")


NotificationKind = Literal["new_follower", "follow_request", "friend_added", "like", "comment", "reply", "mention",
                           "comment_like"]


class NotificationRead(BaseModel):
    id: ID
    kind: NotificationKind
    category: Literal["followers", "interactions"]
    actor: UserRead
    subject_kind: str
    subject_id: ID
    video_id: ID | None = Field(description="The video it is about, if any")
    data: dict[str, Any]
    read: bool
    created_at: datetime


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    next_cursor: str | None


class NotificationsRead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Literal["all", "followers", "interactions"] = "all"
