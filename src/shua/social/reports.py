"""Reports of users and content, kept for moderation. Each kind of target registers how to find
it for a reporter (so nobody reports what they cannot see) and who owns it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.errors import UserNotFound
from shua.core import audit, clock, jobs
from shua.core.errors import NotFound
from shua.core.ids import new_id, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.media import videos
from shua.social import graph, moments
from shua.social.models import Report

# kind → (db, reporter id, target id) → the owner's user id; raises a NotFound if not visible.
Resolver = Callable[[AsyncSession, int, int], Awaitable[int]]
TARGETS: dict[str, Resolver] = {}


class ReportTargetNotFound(NotFound):
    code = "social.report_target_not_found"
    title = "There is nothing like that to report"


async def _user_target(db: AsyncSession, reporter_id: int, target_id: int) -> int:
    user = await accounts.get_user(db, ref=str(target_id))
    if not await graph.visible_to(db, viewer_id=reporter_id, owner_id=user.id):
        raise UserNotFound()
    return user.id


async def _video_target(db: AsyncSession, reporter_id: int, target_id: int) -> int:
    return (await videos.get_video(db, viewer_id=reporter_id, video_id=target_id)).owner_id


async def _daily_target(db: AsyncSession, reporter_id: int, target_id: int) -> int:
    return (await moments.get_daily(db, viewer_id=reporter_id, post_id=target_id)).author_id


async def _mood_target(db: AsyncSession, reporter_id: int, target_id: int) -> int:
    mood = await moments.mood_by_id(db, viewer_id=reporter_id, mood_id=target_id)
    if mood is None:
        raise ReportTargetNotFound()
    return mood.user_id


TARGETS.update(user=_user_target, video=_video_target, daily=_daily_target, mood=_mood_target)


async def report(db: AsyncSession, *, reporter_id: int, target_kind: str, target_id: int, reason: str,
                 detail: str = "") -> Report:
    """Report something for moderation; reporting the same thing again updates the open report."""
    resolver = TARGETS.get(target_kind)
    if resolver is None:
        raise ReportTargetNotFound(kind=target_kind)
    try:
        owner_id = await resolver(db, reporter_id, target_id)
    except NotFound as exc:
        raise ReportTargetNotFound(kind=target_kind) from exc
    existing = await db.scalar(select(Report).where(
        Report.reporter_id == reporter_id, Report.target_kind == target_kind, Report.target_id == target_id,
        Report.status == "open"))
    if existing is not None:
        existing.reason, existing.detail = reason, detail
        return existing
    row = Report(id=new_id(), reporter_id=reporter_id, target_kind=target_kind, target_id=target_id,
                 target_owner_id=owner_id, reason=reason, detail=detail, status="open", created_at=clock.utcnow())
    db.add(row)
    await jobs.publish(db, "social.reported", {"report_id": str(row.id), "target_kind": target_kind,
                                               "target_id": str(target_id)})
    return row


OPEN, ACTIONED, DISMISSED = "open", "actioned", "dismissed"


async def dismiss(db: AsyncSession, *, report_id: int, actor_id: int) -> Report:
    """A moderator found nothing wrong: the report is closed (audited), the target untouched."""
    row = await db.get(Report, report_id)
    if row is None:
        raise ReportTargetNotFound(kind="report")
    if row.status == OPEN:
        row.status = DISMISSED
        await audit.record(db, actor_id=actor_id, action="social.report_dismiss", target=f"report:{row.id}",
                           target_kind=row.target_kind, target_id=str(row.target_id))
    return row


async def close_for_target(db: AsyncSession, *, target_kind: str, target_id: int) -> int:
    """The reported thing was acted on (a video taken down): every open report of it is closed."""
    result = await db.execute(update(Report).where(
        Report.target_kind == target_kind, Report.target_id == target_id, Report.status == OPEN,
    ).values(status=ACTIONED))
    return int(getattr(result, "rowcount", 0) or 0)


async def list_reports(db: AsyncSession, *, status: str = "open", cursor: str | None,
                       limit: int = 50) -> tuple[list[Report], str | None]:
    """Reports for operators, newest first."""
    query = select(Report).where(Report.status == status).order_by(Report.id.desc()).limit(limit)
    before = (decode_cursor(cursor) or {}).get("before")
    before_id = parse_id(before) if isinstance(before, str) else None
    if before_id is not None:
        query = query.where(Report.id < before_id)
    rows = list((await db.scalars(query)).all())
    return rows, encode_cursor({"before": str(rows[-1].id)}) if len(rows) == limit else None
