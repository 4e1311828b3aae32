"""The operators' audit log: who did what to which object, when, and with what details.
Written in the same transaction as the change it records, never updated or deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = id_column()
    actor_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(60))  # "search.hot_pin"
    target: Mapped[str] = mapped_column(String(200))  # what it was done to
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


async def record(db: AsyncSession, *, actor_id: int | None, action: str, target: str, **details: Any) -> AuditEntry:
    entry = AuditEntry(actor_id=actor_id, action=action, target=target[:200], details=details, at=clock.utcnow())
    db.add(entry)
    return entry


async def entries(db: AsyncSession, *, action_prefix: str = "", limit: int = 100) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(AuditEntry.action.startswith(action_prefix))
    return list((await db.scalars(query)).all())
