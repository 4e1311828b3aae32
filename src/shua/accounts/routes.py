"""HTTP routes of the accounts context: parse, call one service function, return a typed model."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile, status

from shua.accounts import service
from shua.accounts.schemas import (
    AdminUserRead,
    DeletionRequest,
    LoginRequest,
    MeRead,
    PasswordChange,
    ProfileUpdate,
    RoleUpdate,
    SessionCreated,
    SessionRead,
    SignupRequest,
    UserRead,
)
from shua.core.errors import BodyTooLarge
from shua.core.ids import ID
from shua.core.pagination import Page
from shua.web.deps import (
    DB,
    SESSION_COOKIE,
    AdminAuth,
    CurrentAuth,
    MaybeAuth,
    RuntimeDep,
    client_ip,
    csrf_token_for,
)

router = APIRouter(prefix="/api/v1", tags=["accounts"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}


def _start_session(
    response: Response, runtime: RuntimeDep, session_id: int, token: str, kind: str, expires: Any,
    me: MeRead,
) -> SessionCreated:
    if kind == "api":
        return SessionCreated(user=me, session_id=session_id, expires_at=expires, token=token)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=runtime.settings.session_days * 86400, httponly=True,
        samesite="lax", secure=runtime.settings.cookie_secure, path="/",
    )
    return SessionCreated(user=me, session_id=session_id, expires_at=expires,
                          csrf_token=csrf_token_for(runtime, session_id))


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_account(
    body: SignupRequest, request: Request, response: Response, db: DB, runtime: RuntimeDep
) -> SessionCreated:
    """Sign up with a username (your handle) or a phone number, and a password."""
    await runtime.limiter.hit(runtime.settings.signup_rate, "signup", client_ip(request))
    user = await service.signup(
        db, username=body.username, phone=body.phone, password=body.password, nickname=body.nickname
    )
    session, token = await service.create_session(
        db, user=user, kind=body.session_kind, user_agent=request.headers.get("user-agent", ""),
        ip=client_ip(request), days=runtime.settings.session_days,
    )
    return _start_session(response, runtime, session.id, token, body.session_kind, session.expires_at,
                          service.to_me_read(user))


@router.post("/auth/login", responses=PROBLEMS)
async def log_in(
    body: LoginRequest, request: Request, response: Response, db: DB, runtime: RuntimeDep
) -> SessionCreated:
    """Log in with handle or phone and password; limited per account and per client address."""
    rate = runtime.settings.login_rate
    await runtime.limiter.hit(rate, "login-ip", client_ip(request), message="Too many login attempts")
    await runtime.limiter.hit(rate, "login-account", service.login_key(body.login), message="Too many login attempts")
    user = await service.authenticate(db, login=body.login, password=body.password)
    session, token = await service.create_session(
        db, user=user, kind=body.session_kind, user_agent=request.headers.get("user-agent", ""),
        ip=client_ip(request), days=runtime.settings.session_days,
    )
    return _start_session(response, runtime, session.id, token, body.session_kind, session.expires_at,
                          service.to_me_read(user))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def log_out(auth: CurrentAuth, db: DB, response: Response) -> None:
    """End the current session."""
    await service.revoke_session(db, user=auth.user, session_id=auth.session.id)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", responses=PROBLEMS)
async def read_me(auth: CurrentAuth) -> MeRead:
    """Your own profile."""
    return service.to_me_read(auth.user)


@router.get("/me/csrf", responses=PROBLEMS)
async def read_csrf(auth: CurrentAuth, runtime: RuntimeDep) -> dict[str, str]:
    """The CSRF token to send as X-CSRF-Token with cookie-authenticated writes."""
    return {"csrf_token": csrf_token_for(runtime, auth.session.id)}


@router.patch("/me", responses=PROBLEMS)
async def update_me(body: ProfileUpdate, auth: CurrentAuth, db: DB) -> MeRead:
    """Edit nickname, handle, bio, birthday or language."""
    user = await service.update_profile(db, user=auth.user, **body.model_dump(exclude_unset=True))
    return service.to_me_read(user)


@router.put("/me/avatar", responses=PROBLEMS)
async def upload_avatar(
    auth: CurrentAuth, db: DB, runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")],
) -> MeRead:
    """Upload a new avatar; it is cropped square and re-encoded."""
    data = await file.read(runtime.settings.max_avatar_bytes + 1)
    if len(data) > runtime.settings.max_avatar_bytes:
        raise BodyTooLarge(limit=runtime.settings.max_avatar_bytes)
    user = await service.set_avatar(db, runtime.storage, user=auth.user, data=data)
    return service.to_me_read(user)


@router.delete("/me/avatar", responses=PROBLEMS)
async def delete_avatar(auth: CurrentAuth, db: DB) -> MeRead:
    """Go back to the default avatar."""
    return service.to_me_read(await service.remove_avatar(db, user=auth.user))


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def change_password(body: PasswordChange, auth: CurrentAuth, db: DB) -> None:
    """Change your password; every other device is logged out."""
    await service.change_password(
        db, user=auth.user, current_password=body.current_password, new_password=body.new_password,
        keep_session=auth.session.id,
    )


@router.get("/me/sessions", responses=PROBLEMS)
async def list_sessions(auth: CurrentAuth, db: DB) -> list[SessionRead]:
    """Devices where you are logged in."""
    sessions = await service.list_sessions(db, user=auth.user)
    return [
        SessionRead(
            id=s.id, kind=s.kind, user_agent=s.user_agent, ip=s.ip, created_at=s.created_at,
            last_seen_at=s.last_seen_at, expires_at=s.expires_at, current=s.id == auth.session.id,
        )
        for s in sessions
    ]


@router.delete("/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def revoke_session(session_id: ID, auth: CurrentAuth, db: DB) -> None:
    """Log out one of your devices."""
    await service.revoke_session(db, user=auth.user, session_id=session_id)


@router.get("/me/export", responses=PROBLEMS)
async def export_me(auth: CurrentAuth, db: DB) -> Response:
    """Download everything Shua holds about you as JSON."""
    data = await service.export_data(db, user=auth.user)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2), media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="shua-export-{auth.user.handle}.json"'},
    )


@router.post("/me/deletion", status_code=status.HTTP_202_ACCEPTED, responses=PROBLEMS)
async def delete_me(body: DeletionRequest, auth: CurrentAuth, db: DB, runtime: RuntimeDep,
                    response: Response) -> dict[str, str]:
    """Delete your account: hidden and logged out now, erased after the grace period."""
    await service.request_deletion(db, user=auth.user, password=body.password,
                                   grace_days=runtime.settings.account_purge_days)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"status": "deleted", "purge_after_days": str(runtime.settings.account_purge_days)}


@router.get("/users/{ref}", responses=PROBLEMS)
async def read_user(ref: Annotated[str, Path(max_length=64)], db: DB, auth: MaybeAuth) -> UserRead:
    """A public profile by id or handle (not found for someone who blocked you)."""
    from shua.social.routes import visible_user  # social builds on accounts; imported late

    return service.to_user_read(await visible_user(db, viewer_id=auth.user.id if auth else None, ref=ref))


admin = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@admin.get("/users", responses=PROBLEMS)
async def list_users(
    _admin: AdminAuth, db: DB, cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[AdminUserRead]:
    """Every account, newest first (administrators only)."""
    users, next_cursor = await service.list_users(db, cursor=cursor, limit=limit)
    return Page(items=[service.to_admin_read(u) for u in users], next_cursor=next_cursor)


@admin.put("/users/{user_id}/role", responses=PROBLEMS)
async def set_role(user_id: ID, body: RoleUpdate, _admin: AdminAuth, db: DB) -> AdminUserRead:
    """Make a user an administrator, or take it back."""
    return service.to_admin_read(await service.set_role(db, user_id=user_id, role=body.role))
