"""HTTP routes of the social graph: profiles, follows, lists, requests, blocks, privacy, friend
search, suggestions and reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.errors import UserNotFound
from shua.accounts.models import User
from shua.core.ids import ID
from shua.core.pagination import Page
from shua.runtime import Runtime
from shua.social import graph, lists, people, reports
from shua.social.schemas import (
    FollowResult,
    PeoplePage,
    PersonRead,
    PrivacyRead,
    PrivacyUpdate,
    ProfileRead,
    RelationshipRead,
    ReportCreate,
    ReportRead,
    StatsRead,
)
from shua.web.deps import DB, AdminAuth, CurrentAuth, MaybeAuth, RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["social"])
admin = APIRouter(prefix="/api/v1/admin", tags=["admin"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}
Ref = Annotated[str, Path(max_length=64, description="A user id or handle")]
Cursor = Annotated[str | None, Query(max_length=300)]


def _relationship(rel: graph.Relationship) -> RelationshipRead:
    return RelationshipRead(following=rel.following, followed_by=rel.followed_by,
                            friends=rel.friends, blocking=rel.blocking)


async def visible_user(db: AsyncSession, *, viewer_id: int | None, ref: str) -> User:
    """The user behind `ref` as the viewer may see them: someone who blocked you does not exist
    (someone you blocked does: their profile is where you unblock them)."""
    user = await accounts.get_user(db, ref=ref)
    if viewer_id is not None and await graph.has_blocked(db, blocker_id=user.id, blocked_id=viewer_id):
        raise UserNotFound()
    return user


async def people_reads(db: AsyncSession, *, viewer_id: int | None, user_ids: list[int],
                       extra: dict[int, dict[str, Any]] | None = None,
                       known: dict[int, graph.Relationship] | None = None) -> list[PersonRead]:
    """Users as list rows with the viewer's follow state, in the given order (gone users dropped).
    `known` relationships are used as they are instead of being looked up."""
    users = await accounts.users_by_id(db, ids=user_ids)
    rels = known if known is not None else await graph.relationships(db, viewer_id=viewer_id, other_ids=list(users))
    return [PersonRead(user=accounts.to_user_read(users[uid]),
                       relationship=_relationship(rels[uid]) if viewer_id and viewer_id != uid else None,
                       **(extra or {}).get(uid, {}))
            for uid in user_ids if uid in users]


async def _follow_limit(runtime: Runtime, user_id: int) -> None:
    await runtime.limiter.hit(runtime.settings.follow_rate, "follow", str(user_id))


async def profile_read(db: AsyncSession, *, viewer_id: int | None, user: User) -> ProfileRead:
    """A profile as the viewer sees it (shared with the profile page)."""
    stats, privacy = await graph.stats_of(db, user.id), await graph.privacy_of(db, user.id)
    rel = await graph.relationship(db, viewer_id=viewer_id, other_id=user.id)
    return ProfileRead(
        user=accounts.to_user_read(user),
        stats=StatsRead(followers=stats.followers, following=stats.following, friends=stats.friends,
                        likes_received=stats.likes_received),
        relationship=_relationship(rel) if viewer_id and viewer_id != user.id else None,
        private_account=privacy.private_account, lists_private=privacy.lists_private,
        can_see_videos=await graph.may_see_content(db, viewer_id=viewer_id, owner_id=user.id, visibility="public"),
    )


@router.get("/users/{ref}/profile", responses=PROBLEMS)
async def read_profile(ref: Ref, auth: MaybeAuth, db: DB) -> ProfileRead:
    """A profile with its counts and how you stand with them."""
    viewer_id = auth.user.id if auth else None
    return await profile_read(db, viewer_id=viewer_id, user=await visible_user(db, viewer_id=viewer_id, ref=ref))


@router.post("/users/{ref}/follow", responses=PROBLEMS)
async def follow_user(ref: Ref, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> FollowResult:
    """Follow someone; a private account gets a request to approve. Following twice is harmless."""
    await _follow_limit(runtime, auth.user.id)
    user = await visible_user(db, viewer_id=auth.user.id, ref=ref)
    state = await graph.follow(db, follower_id=auth.user.id, followee=user)
    rel = await graph.relationship(db, viewer_id=auth.user.id, other_id=user.id)
    return FollowResult(status=state, relationship=_relationship(rel))


@router.delete("/users/{ref}/follow", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def unfollow_user(ref: Ref, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> None:
    """Stop following someone, or withdraw a follow request."""
    await _follow_limit(runtime, auth.user.id)
    user = await accounts.get_user(db, ref=ref)
    await graph.unfollow(db, follower_id=auth.user.id, followee_id=user.id)


async def _people_list(db: AsyncSession, *, kind: lists.ListKind, owner_id: int, viewer_id: int | None,
                       cursor: str | None) -> PeoplePage:
    page = await lists.list_people(db, kind=kind, owner_id=owner_id, viewer_id=viewer_id, cursor=cursor)
    items = await people_reads(db, viewer_id=viewer_id, user_ids=[e.user_id for e in page.entries],
                               extra={e.user_id: {"since": e.since} for e in page.entries})
    return PeoplePage(items=items, next_cursor=page.next_cursor)


@router.get("/users/{ref}/followers", responses=PROBLEMS)
async def list_followers(ref: Ref, auth: MaybeAuth, db: DB, cursor: Cursor = None) -> PeoplePage:
    """Who follows this user, newest first (unless they keep their lists private)."""
    viewer_id = auth.user.id if auth else None
    user = await visible_user(db, viewer_id=viewer_id, ref=ref)
    return await _people_list(db, kind="followers", owner_id=user.id, viewer_id=viewer_id, cursor=cursor)


@router.get("/users/{ref}/following", responses=PROBLEMS)
async def list_following(ref: Ref, auth: MaybeAuth, db: DB, cursor: Cursor = None) -> PeoplePage:
    """Whom this user follows, newest first (unless they keep their lists private)."""
    viewer_id = auth.user.id if auth else None
    user = await visible_user(db, viewer_id=viewer_id, ref=ref)
    return await _people_list(db, kind="following", owner_id=user.id, viewer_id=viewer_id, cursor=cursor)


@router.get("/users/{ref}/friends", responses=PROBLEMS)
async def list_friends(ref: Ref, auth: MaybeAuth, db: DB, cursor: Cursor = None) -> PeoplePage:
    """This user's friends (mutual follows), newest friendship first."""
    viewer_id = auth.user.id if auth else None
    user = await visible_user(db, viewer_id=viewer_id, ref=ref)
    return await _people_list(db, kind="friends", owner_id=user.id, viewer_id=viewer_id, cursor=cursor)


@router.delete("/me/followers/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def remove_follower(user_id: ID, auth: CurrentAuth, db: DB) -> None:
    """Make someone stop following you."""
    await graph.remove_follower(db, user_id=auth.user.id, follower_id=user_id)


@router.get("/me/follow-requests", responses=PROBLEMS)
async def list_follow_requests(auth: CurrentAuth, db: DB, cursor: Cursor = None) -> PeoplePage:
    """People asking to follow your private account."""
    return await _people_list(db, kind="requests", owner_id=auth.user.id, viewer_id=auth.user.id, cursor=cursor)


@router.post("/me/follow-requests/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def approve_follow_request(user_id: ID, auth: CurrentAuth, db: DB) -> None:
    """Approve a follow request."""
    await graph.approve_request(db, user_id=auth.user.id, follower_id=user_id)


@router.delete("/me/follow-requests/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def reject_follow_request(user_id: ID, auth: CurrentAuth, db: DB) -> None:
    """Turn down a follow request (they are not told)."""
    await graph.reject_request(db, user_id=auth.user.id, follower_id=user_id)


@router.post("/users/{ref}/block", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def block_user(ref: Ref, auth: CurrentAuth, db: DB) -> None:
    """Block someone: follows both ways end; neither can find, follow, message or see the other."""
    user = await accounts.get_user(db, ref=ref)
    await graph.block(db, blocker_id=auth.user.id, blocked_id=user.id)


@router.delete("/users/{ref}/block", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def unblock_user(ref: Ref, auth: CurrentAuth, db: DB) -> None:
    """Unblock someone (follows do not come back)."""
    user = await accounts.get_user(db, ref=ref)
    await graph.unblock(db, blocker_id=auth.user.id, blocked_id=user.id)


@router.get("/me/blocks", responses=PROBLEMS)
async def list_blocks(auth: CurrentAuth, db: DB, cursor: Cursor = None) -> PeoplePage:
    """Everyone you blocked, newest first."""
    return await _people_list(db, kind="blocked", owner_id=auth.user.id, viewer_id=auth.user.id, cursor=cursor)


def _privacy_read(row: Any) -> PrivacyRead:
    return PrivacyRead(private_account=row.private_account, lists_private=row.lists_private,
                       who_can_comment=row.who_can_comment, who_can_message=row.who_can_message,
                       findable_by_phone=row.findable_by_phone)


@router.get("/me/privacy", responses=PROBLEMS)
async def read_privacy(auth: CurrentAuth, db: DB) -> PrivacyRead:
    """Your privacy settings."""
    return _privacy_read(await graph.privacy_of(db, auth.user.id))


@router.patch("/me/privacy", responses=PROBLEMS)
async def update_privacy(body: PrivacyUpdate, auth: CurrentAuth, db: DB) -> PrivacyRead:
    """Change who may follow, comment on, message and find you."""
    row = await graph.update_privacy(db, user_id=auth.user.id, **body.model_dump(exclude_none=True))
    return _privacy_read(row)


@router.get("/people/search", responses=PROBLEMS)
async def search_people(
    auth: MaybeAuth, db: DB, q: Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[^\x00]*$")],
) -> list[PersonRead]:
    """Find people by handle, nickname, pinyin ("zhangsan" or "zs" finds 张三) or phone number
    (only people who allow it)."""
    viewer_id = auth.user.id if auth else None
    found = await people.search(db, viewer_id=viewer_id, query=q)
    return await people_reads(db, viewer_id=viewer_id, user_ids=found)


@router.get("/people/suggestions", responses=PROBLEMS)
async def suggest_people(auth: CurrentAuth, db: DB,
                         limit: Annotated[int, Query(ge=1, le=50)] = 20) -> list[PersonRead]:
    """People you may know, each with why: friends in common, that they follow you, or that they
    liked or commented on your videos."""
    found = await people.suggestions(db, user_id=auth.user.id, limit=limit)
    # Suggestions exclude anyone you follow, asked to follow or blocked: only "follows you" varies.
    known = {s.user_id: graph.Relationship(following="none", followed_by=s.follows_you, friends=False, blocking=False)
             for s in found}
    return await people_reads(db, viewer_id=auth.user.id, user_ids=[s.user_id for s in found], known=known, extra={
        s.user_id: {"mutual_friends": s.mutual_friends, "follows_you": s.follows_you,
                    "interactions": s.interactions} for s in found})


def _report_read(row: Any) -> ReportRead:
    return ReportRead(id=row.id, reporter_id=row.reporter_id, target_kind=row.target_kind, target_id=row.target_id,
                      target_owner_id=row.target_owner_id, reason=row.reason, detail=row.detail, status=row.status,
                      created_at=row.created_at)


@router.post("/reports", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_report(body: ReportCreate, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> ReportRead:
    """Report a user, video, comment, daily post, mood or message to the moderators."""
    await runtime.limiter.hit(runtime.settings.report_rate, "report", str(auth.user.id))
    row = await reports.report(db, reporter_id=auth.user.id, target_kind=body.target_kind, target_id=body.target_id,
                               reason=body.reason, detail=body.detail)
    return _report_read(row)


@admin.get("/reports", responses=PROBLEMS)
async def list_reports(_admin: AdminAuth, db: DB, cursor: Cursor = None,
                       limit: Annotated[int, Query(ge=1, le=100)] = 50) -> Page[ReportRead]:
    """Open reports, newest first (administrators only)."""
    rows, next_cursor = await reports.list_reports(db, cursor=cursor, limit=limit)
    return Page(items=[_report_read(r) for r in rows], next_cursor=next_cursor)


@admin.post("/reports/{report_id}/dismissal", responses=PROBLEMS)
async def dismiss_report(report_id: ID, auth: AdminAuth, db: DB) -> ReportRead:
    """Close a report without acting on its target (administrators; audited). A video taken
    down through /admin/videos/{id}/removal closes its open reports by itself."""
    return _report_read(await reports.dismiss(db, report_id=report_id, actor_id=auth.user.id))
