"""Messages to a person's phone (verification codes), through a pluggable notifier. The built-in
one keeps each message in `dev_messages` and logs it, for the demo's dev inbox page and for
tests; a deployment plugs an SMS gateway in behind the same call (`runtime.extras["notifier"]`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column

log = logging.getLogger("shua.notify")


class DevMessage(Base):
    __tablename__ = "dev_messages"

    id: Mapped[int] = id_column()
    to: Mapped[str] = mapped_column(String(40), index=True)
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Notifier(Protocol):
    async def send(self, db: AsyncSession, *, to: str, text: str) -> None: ...


class DevInbox:
    """Keeps the message where the dev inbox shows it, in the caller's transaction (so a code is
    'sent' exactly when the request that made it commits)."""

    async def send(self, db: AsyncSession, *, to: str, text: str) -> None:
        db.add(DevMessage(to=to, text=text, created_at=clock.utcnow()))
        log.info("message to %s: %s", to, text)  # the demo shows codes in the server log too


async def recent(db: AsyncSession, *, limit: int = 50) -> list[DevMessage]:
    return list((await db.scalars(select(DevMessage).order_by(DevMessage.id.desc()).limit(limit))).all())
