"""Request-scoped dependencies: the unit of work, the current user, CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts import service as accounts
from shua.accounts.errors import AdminRequired, CsrfFailed, SessionInvalid
from shua.accounts.models import AuthSession, User
from shua.core import clock, security
from shua.core.errors import Unauthenticated
from shua.runtime import Runtime

SESSION_COOKIE = "shua_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOUCH_EVERY = timedelta(minutes=5)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def _unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    # Writes begin IMMEDIATE on SQLite; reads never take the write lock.
    runtime = get_runtime(request)
    async with runtime.database.transaction(write=request.method not in SAFE_METHODS) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is an error response.
DB = Annotated[AsyncSession, Depends(_unit_of_work, scope="function")]


@dataclass
class Auth:
    user: User
    session: AuthSession
    via_cookie: bool


def csrf_token_for(runtime: Runtime, session_id: int) -> str:
    return security.sign(runtime.settings.secret_key, f"csrf:{session_id}")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _authenticate(request: Request, db: AsyncSession, *, in_write: bool) -> Auth | None:
    runtime = get_runtime(request)
    bearer = _bearer(request)
    token = bearer or request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    resolved = await accounts.resolve_session(db, token=token)
    if resolved is None:
        raise SessionInvalid()
    session, user = resolved
    via_cookie = bearer is None
    if via_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not security.constant_time_equal(sent, csrf_token_for(runtime, session.id)):
            raise CsrfFailed()
    if clock.utcnow() - session.last_seen_at > TOUCH_EVERY:
        if in_write:
            # A write already holds SQLite's write lock; a second writer would wait out the busy
            # timeout and fail. Touch inside the request's own transaction instead.
            await accounts.touch_session(db, session_id=session.id)
        else:
            # A read's transaction is rolled back, so the touch needs its own.
            async with runtime.database.transaction() as touch:
                await accounts.touch_session(touch, session_id=session.id)
    request.state.user_id = user.id
    return Auth(user=user, session=session, via_cookie=via_cookie)


async def _spend_write_budget(request: Request, auth: Auth) -> None:
    if request.method not in SAFE_METHODS:
        # Every authenticated write spends from a per-user budget (a stolen token too);
        # anonymous writes (signup, login) have their own, stricter limits.
        runtime = get_runtime(request)
        await runtime.limiter.hit(runtime.settings.api_write_rate, "write", str(auth.user.id))


async def _optional_auth(request: Request, db: DB) -> Auth | None:
    return await _authenticate(request, db, in_write=request.method not in SAFE_METHODS)


async def _required_auth(request: Request, auth: Annotated[Auth | None, Depends(_optional_auth)]) -> Auth:
    if auth is None:
        raise Unauthenticated()
    await _spend_write_budget(request, auth)
    return auth


async def _streaming_auth(request: Request) -> Auth:
    """Authentication for routes that stream a long body (uploads): it must not hold a write
    transaction, and with it SQLite's write lock, while the bytes trickle in."""
    async with get_runtime(request).database.transaction(write=False) as db:
        auth = await _authenticate(request, db, in_write=False)
    if auth is None:
        raise Unauthenticated()
    await _spend_write_budget(request, auth)
    return auth


async def _admin_auth(auth: Annotated[Auth, Depends(_required_auth)]) -> Auth:
    if not auth.user.is_admin:
        raise AdminRequired()
    return auth


MaybeAuth = Annotated[Auth | None, Depends(_optional_auth)]
CurrentAuth = Annotated[Auth, Depends(_required_auth)]
AdminAuth = Annotated[Auth, Depends(_admin_auth)]
StreamingAuth = Annotated[Auth, Depends(_streaming_auth)]


def client_ip(request: Request) -> str:
    # Behind a proxy, uvicorn's --proxy-headers/--forwarded-allow-ips sets request.client.
    return request.client.host if request.client else "unknown"
