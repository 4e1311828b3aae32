"""Direct messages, notifications and the unread counters behind the 消息 badge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column

TEXT, VIDEO = "text", "video"


class Conversation(Base):
    """One conversation per pair of users, the smaller id first. The pair has no foreign keys: when
    an account is purged, the other side keeps the conversation (and sees the account as deleted)."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("user_low_id", "user_high_id", name="uq_conversations_pair"),)

    id: Mapped[int] = id_column()
    user_low_id: Mapped[int] = mapped_column(BigInteger)
    user_high_id: Mapped[int] = mapped_column(BigInteger)
    created_by_id: Mapped[int] = mapped_column(BigInteger)
    last_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class ConversationMember(Base):
    """One side of a conversation, with everything that differs per side: whether this member has
    accepted it (a message request until then), ignored or hid it, how far they have read, and the
    unread count, kept in the same transaction as each message (never counted when read)."""

    __tablename__ = "conversation_members"
    __table_args__ = (Index("ix_conversation_members_list", "user_id", "accepted", "last_activity_at"),)

    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    peer_id: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)  # False: a request waiting for this member
    ignored: Mapped[bool] = mapped_column(Boolean, default=False)  # the request was ignored (the sender isn't told)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)  # removed from the list until the next message
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    last_read_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Messages this member sent while the peer had not accepted: a request allows only a few.
    sent_unaccepted: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # None: no message yet
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Message(Base):
    """A text, or a shared video with an optional line. `client_id` makes a retried send
    idempotent. The sender and video are plain ids: the message outlives both."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation", "conversation_id", "id"),
                      UniqueConstraint("sender_id", "client_id", name="uq_messages_client_id"))

    id: Mapped[int] = id_column()
    conversation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8), default=TEXT)
    body: Mapped[str] = mapped_column(String(1000), default="")
    video_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InboxStats(Base):
    """A user's unread totals for the 消息 badge, changed with atomic `SET n = n + d` in the same
    transaction as the message, read or notification they count."""

    __tablename__ = "inbox_stats"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unread_messages: Mapped[int] = mapped_column(Integer, default=0)  # in accepted conversations
    unread_requests: Mapped[int] = mapped_column(Integer, default=0)  # in message requests
    unread_followers: Mapped[int] = mapped_column(Integer, default=0)  # new followers, requests, friends
    unread_interactions: Mapped[int] = mapped_column(Integer, default=0)  # likes, comments, mentions


class Notification(Base):
    """Something that happened to a user ("小明 关注了你"). The unique fact key (recipient, kind,
    actor, subject) means a re-delivered event, or the same like twice, never notifies twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "actor_id", "subject_kind", "subject_id", name="uq_notifications_fact"),
        Index("ix_notifications_user", "user_id", "category", "id"),
        Index("ix_notifications_actor", "actor_id"),
    )

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(12))  # "followers" | "interactions"
    actor_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    subject_kind: Mapped[str] = mapped_column(String(12))  # "user" | "video" | "comment"
    subject_id: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
