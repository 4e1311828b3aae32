"""The social graph: who follows whom, who are friends (mutual follows), who blocked whom, each
user's privacy settings and their denormalised counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime

ACTIVE, PENDING = "active", "pending"
EVERYONE, FRIENDS, NOBODY = "everyone", "friends", "nobody"


def _user_fk() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Follow(Base):
    """`follower_id` follows `followee_id`. Pending until approved when the followee's account is
    private; only active follows count and make friends."""

    __tablename__ = "follows"
    __table_args__ = (Index("ix_follows_followee", "followee_id", "status", "created_at"),
                      Index("ix_follows_follower", "follower_id", "status", "created_at"))

    follower_id: Mapped[int] = _user_fk()
    followee_id: Mapped[int] = _user_fk()
    status: Mapped[str] = mapped_column(String(8), default=ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Friendship(Base):
    """Mutual follows, kept as two rows (one per side) the moment the second follow lands, so a
    friends list, "are we friends" and friends-of-friends are plain index lookups."""

    __tablename__ = "friendships"
    __table_args__ = (Index("ix_friendships_user", "user_id", "created_at"),)

    user_id: Mapped[int] = _user_fk()
    friend_id: Mapped[int] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Block(Base):
    """`blocker_id` blocked `blocked_id`: neither can find, follow, message or see the other."""

    __tablename__ = "blocks"
    __table_args__ = (Index("ix_blocks_blocked", "blocked_id"),)

    blocker_id: Mapped[int] = _user_fk()
    blocked_id: Mapped[int] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Privacy(Base):
    """A user's privacy choices. No row means the defaults."""

    __tablename__ = "privacy_settings"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    private_account: Mapped[bool] = mapped_column(Boolean, default=False)  # follows need approval
    lists_private: Mapped[bool] = mapped_column(Boolean, default=False)  # followers/following hidden
    who_can_comment: Mapped[str] = mapped_column(String(8), default=EVERYONE)
    who_can_message: Mapped[str] = mapped_column(String(8), default=EVERYONE)  # non-friends: requests
    findable_by_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class UserStats(Base):
    """Counters shown on a profile, changed in the same transaction as the fact they count
    (`UPDATE … SET n = n + 1` is atomic on both backends); `shua social recount` rebuilds them."""

    __tablename__ = "user_stats"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    followers: Mapped[int] = mapped_column(Integer, default=0)
    following: Mapped[int] = mapped_column(Integer, default=0)
    friends: Mapped[int] = mapped_column(Integer, default=0)
    likes_received: Mapped[int] = mapped_column(Integer, default=0)
    pending_requests: Mapped[int] = mapped_column(Integer, default=0)
    friends_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # the 朋友 tab's "new"


class Report(Base):
    """A user's report of a user, video, comment, daily post, mood or message, for moderation."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_status", "status", "created_at"),
                      Index("ix_reports_target", "target_kind", "target_id"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reporter_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    target_kind: Mapped[str] = mapped_column(String(12))
    target_id: Mapped[int] = mapped_column(BigInteger)
    target_owner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class PeopleIndex(Base):
    """What friend search matches a user by: handle, nickname and the nickname's pinyin (full
    syllables from every syllable on, and initials), all lower case. Kept up to date from the
    accounts context's events; `shua social reindex` rebuilds it."""

    __tablename__ = "people_index"
    __table_args__ = (Index("ix_people_index_handle", "handle"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    handle: Mapped[str] = mapped_column(String(24))
    nickname: Mapped[str] = mapped_column(String(60))
    pinyin: Mapped[str] = mapped_column(String(600), default="")  # " zhangsan san " (space-delimited)
    initials: Mapped[str] = mapped_column(String(200), default="")  # " zs "
