"""Routes that move money or create orders answer through `respond`: the request's
`Idempotency-Key` (required) makes retries safe (core/idempotency.py), and a replayed answer —
a success or a stored problem — says so in `Idempotent-Replayed: true`."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse, Response

from shua.core import idempotency
from shua.runtime import Runtime
from shua.web.errors import problem

IdempotencyKeyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=255,
    description="Required. Any unique string (a UUID): a retry with the same key and body gets the first answer.")]


SCOPE_LENGTH = 60  # idempotency_keys.scope


def scope_of(user_id: int, action: str) -> str:
    """Whose key and for what, within the column's 60 characters (two 18-digit ids and an action
    do not fit: the tail is replaced by its hash, which keeps scopes apart)."""
    scope = f"user:{user_id}:{action}"
    if len(scope) <= SCOPE_LENGTH:
        return scope
    return scope[:SCOPE_LENGTH - 21] + ":" + hashlib.sha256(scope.encode()).hexdigest()[:20]


async def respond(request: Request, runtime: Runtime, *, user_id: int, action: str, key: str | None,
                  body: dict[str, Any], work: Callable[[AsyncSession], Awaitable[tuple[int, Any]]]) -> Response:
    """Run `work` once per (user, action, key). `body` is what the request asked for, minus
    secrets (a payment password must never be kept, even hashed, with the key)."""
    outcome = await idempotency.run(runtime.database, scope=scope_of(user_id, action), key=key or "", body=body,
                                    work=work)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    if outcome.status >= 400:
        stored = dict(outcome.body or {})
        code, title = str(stored.pop("code", "error")), str(stored.pop("title", "Error"))
        detail = stored.pop("detail", None)
        extra = {k: v for k, v in stored.items() if k not in ("type", "status", "instance", "request_id", "headers")}
        return problem(request, status=outcome.status, code=code, title=title, detail=detail, headers=headers, **extra)
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
